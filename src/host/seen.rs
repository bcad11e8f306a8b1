//! `seen-modules`: the locked modules the last apply found present in the
//! module cache, each with a stamp of the directories that list its files,
//! so that a no-op `plan`, `check` or `status` need not reread every
//! module's `.mod` and `.ziphash` (one stat per module instead of seven
//! system calls and two reads).
//!
//! Only apply writes it, holding the host lock; the commands that never
//! write only read it. It can never hide a change to the cache's set of
//! modules: adding or removing any of a module's files (`.mod`, `.zip`,
//! `.ziphash`, `.info`, `.partial`) changes its `@v` directory, and adding
//! or removing its extracted tree changes that tree's parent, so a module
//! is vouched for only while both directories' device, inode, mtime and
//! ctime are what apply recorded, and only for the hashes golock.toml locks
//! now. A stamp younger than [`SETTLE`] when it was recorded is never
//! trusted: a directory changed again within the same timestamp tick would
//! keep it (the racy-git problem). The file is untrusted input: anything
//! malformed makes it count as absent. A module file rewritten in place is
//! `golock verify`'s to find, as before.

use std::collections::HashMap;
use std::io::Read as _;
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::fsx;
use crate::lockfile::{ModuleHashes, ModuleKey};
use crate::modcache::{self, CacheLayout};

const HEADER: &str = "golock-seen-modules 1";

/// How old a directory's stamp must have been when recorded to be trusted:
/// wider than any filesystem's timestamp granularity (FAT's is 2 s).
pub const SETTLE_NS: i128 = 2_000_000_000;

/// The file is a cache: a larger one is ignored rather than read.
const MAX_BYTES: u64 = 64 << 20;

/// What identifies a directory's current entries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stamp {
    dev: u64,
    ino: u64,
    mtime_ns: i128,
    ctime_ns: i128,
}

impl Stamp {
    pub fn of(dir: &Path) -> Option<Stamp> {
        let m = fsx::metadata(dir).ok()?;
        m.is_dir().then(|| Stamp {
            dev: m.dev(),
            ino: m.ino(),
            mtime_ns: i128::from(m.mtime()) * 1_000_000_000 + i128::from(m.mtime_nsec()),
            ctime_ns: i128::from(m.ctime()) * 1_000_000_000 + i128::from(m.ctime_nsec()),
        })
    }

    fn of_stat(st: fsx::DirStat) -> Stamp {
        Stamp {
            dev: st.dev,
            ino: st.ino,
            mtime_ns: st.mtime_ns,
            ctime_ns: st.ctime_ns,
        }
    }

    fn settled_before(&self, written_ns: i128) -> bool {
        self.mtime_ns < written_ns - SETTLE_NS && self.ctime_ns < written_ns - SETTLE_NS
    }

    fn render(&self) -> String {
        format!(
            "{}\t{}\t{}\t{}",
            self.dev, self.ino, self.mtime_ns, self.ctime_ns
        )
    }

    fn parse<'a>(mut fields: impl Iterator<Item = &'a str>) -> Option<Stamp> {
        let stamp = Stamp {
            dev: fields.next()?.parse().ok()?,
            ino: fields.next()?.parse().ok()?,
            mtime_ns: fields.next()?.parse().ok()?,
            ctime_ns: fields.next()?.parse().ok()?,
        };
        fields.next().is_none().then_some(stamp)
    }
}

struct SeenModule {
    zip: Option<String>,
    module: String,
    download_dir: Stamp,
}

/// A loaded `seen-modules` file, for one module cache.
pub struct SeenModules {
    cache: PathBuf,
    written_ns: i128,
    modules: HashMap<String, SeenModule>,
    /// Parents of extracted trees, as recorded.
    parents: HashMap<PathBuf, Stamp>,
    /// Their stamps now, taken once each.
    parents_now: std::cell::RefCell<HashMap<PathBuf, Option<Stamp>>>,
    /// The cache root, held open for the per-module stats.
    root: Option<fsx::OpenDir>,
}

impl SeenModules {
    /// The record for `cache`, if there is a readable one.
    pub fn load(file: &Path, cache: &Path) -> Option<SeenModules> {
        let opened = fsx::open(file).ok()?;
        if !written_by_us(&opened.metadata().ok()?) {
            return None;
        }
        let mut bytes = Vec::new();
        opened.take(MAX_BYTES + 1).read_to_end(&mut bytes).ok()?;
        if bytes.len() as u64 > MAX_BYTES {
            return None;
        }
        let mut seen = parse(std::str::from_utf8(&bytes).ok()?)?;
        if seen.cache != cache {
            return None;
        }
        seen.root = fsx::OpenDir::open(cache).ok();
        Some(seen)
    }

    /// Whether the module is present as locked, by the record alone.
    pub fn vouches(&self, layout: &CacheLayout, key: &ModuleKey, want: &ModuleHashes) -> bool {
        let Some(seen) = self.modules.get(&key.to_string()) else {
            return false;
        };
        if seen.zip != want.zip || seen.module != want.module {
            return false;
        }
        if !self.download_dir_still(layout, &key.path, &seen.download_dir) {
            return false;
        }
        want.zip.is_none() || self.parent_unchanged(layout, key)
    }

    fn download_dir_still(&self, layout: &CacheLayout, path: &str, recorded: &Stamp) -> bool {
        if !recorded.settled_before(self.written_ns) {
            return false;
        }
        let now = match &self.root {
            // Relative to the open cache root: the kernel walks three path
            // elements, not the cache's whole path, for each module.
            Some(root) => match modcache::escape_path(path) {
                Ok(esc) => root
                    .stat_dir(&format!("cache/download/{esc}/@v"))
                    .map(Stamp::of_stat),
                Err(_) => None,
            },
            None => layout.download_dir(path).ok().and_then(|d| Stamp::of(&d)),
        };
        now == Some(*recorded)
    }

    fn parent_unchanged(&self, layout: &CacheLayout, key: &ModuleKey) -> bool {
        let Ok(extracted) = layout.extracted_dir(&key.path, &key.version) else {
            return false;
        };
        let parent = fsx::parent_of(&extracted);
        let Some(recorded) = self.parents.get(parent) else {
            return false;
        };
        let now = *self
            .parents_now
            .borrow_mut()
            .entry(parent.to_path_buf())
            .or_insert_with(|| Stamp::of(parent));
        recorded.settled_before(self.written_ns) && now == Some(*recorded)
    }
}

/// A record someone else could have written could vouch for a damaged
/// module: only our own, writable by no one else, counts.
fn written_by_us(meta: &std::fs::Metadata) -> bool {
    // SAFETY: geteuid has no failure mode.
    let euid = unsafe { libc::geteuid() };
    meta.is_file() && meta.uid() == euid && meta.mode() & 0o022 == 0
}

fn parse(text: &str) -> Option<SeenModules> {
    let mut lines = text.lines();
    if lines.next()? != HEADER {
        return None;
    }
    let written_ns = lines.next()?.strip_prefix("written ")?.parse().ok()?;
    let cache = PathBuf::from(lines.next()?.strip_prefix("cache ")?);
    let mut seen = SeenModules {
        cache,
        written_ns,
        modules: HashMap::new(),
        parents: HashMap::new(),
        parents_now: Default::default(),
        root: None,
    };
    for line in lines {
        let mut fields = line.split('\t');
        match fields.next()? {
            "m" => {
                let key = fields.next()?.to_string();
                let zip = match fields.next()? {
                    "-" => None,
                    z => Some(z.to_string()),
                };
                let module = fields.next()?.to_string();
                let download_dir = Stamp::parse(fields)?;
                seen.modules.insert(
                    key,
                    SeenModule {
                        zip,
                        module,
                        download_dir,
                    },
                );
            }
            "p" => {
                let dir = PathBuf::from(fields.next()?);
                seen.parents.insert(dir, Stamp::parse(fields)?);
            }
            _ => return None,
        }
    }
    Some(seen)
}

/// Builds the file apply writes: the current time first, then the stamps,
/// so that nothing changed after a stamp was taken can look settled.
pub struct Recorder {
    cache: CacheLayout,
    written_ns: i128,
    lines: Vec<String>,
    parents: HashMap<PathBuf, Option<Stamp>>,
}

impl Recorder {
    pub fn new(cache: &Path) -> Recorder {
        let written_ns = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as i128);
        Recorder {
            cache: CacheLayout::new(cache),
            written_ns,
            lines: Vec::new(),
            parents: HashMap::new(),
        }
    }

    /// A module just checked to be present as locked.
    pub fn present(&mut self, key: &ModuleKey, hashes: &ModuleHashes) {
        let Ok(download_dir) = self.cache.download_dir(&key.path) else {
            return;
        };
        let Some(stamp) = Stamp::of(&download_dir) else {
            return;
        };
        if hashes.zip.is_some() && !self.record_parent(key) {
            return;
        }
        let zip = hashes.zip.as_deref().unwrap_or("-");
        let key = key.to_string();
        if [key.as_str(), zip, &hashes.module]
            .iter()
            .any(|f| !plain(f))
        {
            return;
        }
        self.lines.push(format!(
            "m\t{key}\t{zip}\t{}\t{}",
            hashes.module,
            stamp.render()
        ));
    }

    fn record_parent(&mut self, key: &ModuleKey) -> bool {
        let Ok(extracted) = self.cache.extracted_dir(&key.path, &key.version) else {
            return false;
        };
        let parent = fsx::parent_of(&extracted).to_path_buf();
        let recorded = self
            .parents
            .entry(parent.clone())
            .or_insert_with(|| Stamp::of(&parent));
        recorded.is_some() && parent.to_str().is_some_and(plain)
    }

    /// The file's bytes; `None` when the cache's path cannot be written in it.
    pub fn finish(self) -> Option<Vec<u8>> {
        let cache = self.cache.root.to_str().filter(|c| plain(c))?;
        let mut out = format!("{HEADER}\nwritten {}\ncache {cache}\n", self.written_ns);
        let mut parents: Vec<_> = self.parents.into_iter().collect();
        parents.sort_by(|a, b| a.0.cmp(&b.0));
        for (dir, stamp) in parents {
            if let (Some(dir), Some(stamp)) = (dir.to_str().filter(|d| plain(d)), stamp) {
                out.push_str(&format!("p\t{dir}\t{}\n", stamp.render()));
            }
        }
        for line in self.lines {
            out.push_str(&line);
            out.push('\n');
        }
        Some(out.into_bytes())
    }
}

/// Fits in one tab-separated field.
fn plain(field: &str) -> bool {
    !field.is_empty() && !field.contains(['\t', '\n', '\r'])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(path: &str) -> ModuleKey {
        ModuleKey {
            path: path.into(),
            version: "v1.0.0".into(),
        }
    }

    fn hashes() -> ModuleHashes {
        ModuleHashes {
            zip: Some("h1:zip".into()),
            module: "h1:mod".into(),
        }
    }

    fn cache_with(dir: &Path, path: &str) -> CacheLayout {
        let cache = CacheLayout::new(dir);
        fsx::create_dir_all(cache.download_dir(path).unwrap()).unwrap();
        fsx::create_dir_all(cache.extracted_dir(path, "v1.0.0").unwrap()).unwrap();
        cache
    }

    fn recorded(cache: &CacheLayout, written_ns: i128) -> SeenModules {
        let mut rec = Recorder::new(&cache.root);
        rec.written_ns = written_ns;
        rec.present(&key("example.com/a"), &hashes());
        parse(std::str::from_utf8(&rec.finish().unwrap()).unwrap()).unwrap()
    }

    #[test]
    fn a_settled_record_vouches_until_a_directory_changes() {
        let tmp = tempfile::tempdir().unwrap();
        let cache = cache_with(tmp.path(), "example.com/a");
        let later = i128::MAX / 2;
        assert!(recorded(&cache, later).vouches(&cache, &key("example.com/a"), &hashes()));
        let other = ModuleHashes {
            zip: Some("h1:other".into()),
            module: "h1:mod".into(),
        };
        assert!(!recorded(&cache, later).vouches(&cache, &key("example.com/a"), &other));
        let seen = recorded(&cache, later);
        fsx::write(cache.download_dir("example.com/a").unwrap().join("x"), b"").unwrap();
        assert!(!seen.vouches(&cache, &key("example.com/a"), &hashes()));
    }

    #[test]
    fn removing_the_extracted_tree_is_seen() {
        let tmp = tempfile::tempdir().unwrap();
        let cache = cache_with(tmp.path(), "example.com/a");
        let seen = recorded(&cache, i128::MAX / 2);
        fsx::remove_dir(cache.extracted_dir("example.com/a", "v1.0.0").unwrap()).unwrap();
        assert!(!seen.vouches(&cache, &key("example.com/a"), &hashes()));
    }

    #[test]
    fn a_stamp_recorded_within_the_settle_window_is_not_trusted() {
        let tmp = tempfile::tempdir().unwrap();
        let cache = cache_with(tmp.path(), "example.com/a");
        let mut rec = Recorder::new(&cache.root);
        rec.present(&key("example.com/a"), &hashes());
        let seen = parse(std::str::from_utf8(&rec.finish().unwrap()).unwrap()).unwrap();
        assert!(!seen.vouches(&cache, &key("example.com/a"), &hashes()));
    }

    #[test]
    fn malformed_records_count_as_absent() {
        assert!(parse("").is_none());
        assert!(parse("golock-seen-modules 1\nwritten x\ncache /c\n").is_none());
        assert!(parse("golock-seen-modules 1\nwritten 5\ncache /c\nm\ta\n").is_none());
        assert!(parse("golock-seen-modules 1\nwritten 5\ncache /c\nz\n").is_none());
        assert!(parse("golock-seen-modules 1\nwritten 5\ncache /c\n").is_some());
    }
}
