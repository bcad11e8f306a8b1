//! Where `golock lock` finds the checksums of Go archives, for every locked
//! platform: a go.dev-style release index (`?mode=json&include=all`), then
//! `SHA256SUMS` or `<file>.sha256` files in a mirror, then the archives
//! themselves in a mirror directory (hashed).

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::fetch::{self, Client, Source};
use crate::fsx;
use crate::lockfile::edit::Editor;
use crate::lockfile::{Lockfile, Platform, gomod};

/// The platforms locked when `[go] platforms` is empty.
pub const DEFAULT_PLATFORMS: &[&str] = &[
    "linux-amd64",
    "linux-arm64",
    "darwin-amd64",
    "darwin-arm64",
    "windows-amd64",
];

#[derive(Debug, Clone, PartialEq)]
pub struct Found {
    pub platform: Platform,
    pub file: String,
    pub sha256: String,
    /// 0 when the source gives no size.
    pub size: u64,
    pub from: String,
}

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum ChecksumError {
    #[error("cannot read the release index {what}: {reason}")]
    #[diagnostic(
        code(golock::lock::index),
        help("pass a file saved from https://go.dev/dl/?mode=json&include=all, or its URL")
    )]
    Index { what: String, reason: String },
    #[error("the locked checksum of {what} would change")]
    #[diagnostic(
        code(golock::checksum_changed),
        help(
            "golock never rewrites a locked checksum silently; pass --update if the change is intended"
        )
    )]
    Changed { what: String },
    #[error("no checksum found for {file} (this host's Go archive); looked in: {looked}")]
    #[diagnostic(
        code(golock::lock::no_checksum),
        help(
            "give golock a source for {file}: add a mirror holding it (or its SHA256SUMS) to `[go] mirrors` in golock.toml, or pass `--index` with a file saved from https://go.dev/dl/?mode=json&include=all"
        )
    )]
    NoChecksum { file: String, looked: String },
    #[error(transparent)]
    #[diagnostic(transparent)]
    Signature(#[from] crate::signing::SignatureError),
    #[error(transparent)]
    #[diagnostic(transparent)]
    GoMod(#[from] crate::lockfile::gomod::GoModError),
    #[error(transparent)]
    #[diagnostic(transparent)]
    Edit(#[from] crate::lockfile::edit::EditError),
}

#[derive(Debug, Deserialize)]
struct Release {
    version: String,
    files: Vec<IndexFile>,
}

#[derive(Debug, Deserialize)]
struct IndexFile {
    filename: String,
    os: String,
    arch: String,
    version: String,
    sha256: String,
    #[serde(default)]
    size: u64,
    #[serde(default)]
    kind: String,
}

pub fn platforms(lock: &Lockfile) -> Vec<Platform> {
    if !lock.go.platforms.is_empty() {
        return lock.go.platforms.clone();
    }
    DEFAULT_PLATFORMS
        .iter()
        .filter_map(|p| p.parse().ok())
        .collect()
}

/// The archive's file name for `platform` (Windows archives are zips).
pub fn archive_file(lock: &Lockfile, platform: &Platform) -> String {
    let ext = if platform.os() == "windows" {
        "zip"
    } else {
        "tar.gz"
    };
    format!("{}.{platform}.{ext}", lock.go.version.dir_name())
}

/// Read an index from a file path or an http(s) URL (refused with no
/// `client`: offline).
pub fn load_index(
    what: &str,
    cwd: &Path,
    client: Option<&Client>,
) -> Result<String, ChecksumError> {
    let err = |reason: String| ChecksumError::Index {
        what: what.to_string(),
        reason,
    };
    if what.starts_with("http://") || what.starts_with("https://") {
        let client = client.ok_or_else(|| err("--offline: a URL is not read".into()))?;
        let (base, rel) = what.rsplit_once('/').unwrap_or((what, ""));
        let bytes = fetch::fetch_bytes(client, &[Source::Http(base.to_string())], rel, 64 << 20)
            .map_err(|e| err(e.to_string()))?
            .ok_or_else(|| err("not found".into()))?;
        let text = String::from_utf8(bytes).map_err(|e| err(e.to_string()))?;
        return check_index_shape(text).map_err(err);
    }
    let text = fsx::read_to_string(cwd.join(what)).map_err(|e| err(e.source.to_string()))?;
    check_index_shape(text).map_err(err)
}

/// Refuse, naming the expected shape, an index that is not a JSON array of
/// releases, so the error can still name the file it came from.
fn check_index_shape(text: String) -> Result<String, String> {
    match serde_json::from_str::<Vec<Release>>(&text) {
        Ok(_) => Ok(text),
        Err(e) => Err(format!(
            "expected a JSON array of releases ({INDEX_SHAPE}) but {e}"
        )),
    }
}

const INDEX_SHAPE: &str =
    r#"[{"version": "go1.x.y", "files": [{"filename", "os", "arch", "sha256", "size"}, …]}, …]"#;

/// Every locked platform's checksum, from the first source that has it;
/// the second list names the platforms nothing was found for. With no
/// `client` (offline) HTTP mirrors are not asked.
pub fn find_all(
    lock: &Lockfile,
    index: Option<&str>,
    client: Option<&Client>,
) -> Result<(Vec<Found>, Vec<Platform>), ChecksumError> {
    let releases: Vec<Release> = match index {
        Some(text) => serde_json::from_str(text).map_err(|e| ChecksumError::Index {
            what: "index".into(),
            reason: e.to_string(),
        })?,
        None => Vec::new(),
    };
    let mut found = Vec::new();
    let mut missing = Vec::new();
    for platform in platforms(lock) {
        let file = archive_file(lock, &platform);
        let hit = if lock.go.signing_keys.is_empty() {
            from_index(&releases, lock, &platform, &file)
                .or_else(|| from_sums(lock, &file, client))
                .or_else(|| from_dir(lock, &file))
        } else {
            super::signed::find(lock, &platform, &file, client)?
        };
        match hit {
            Some((sha256, size, from)) => found.push(Found {
                platform,
                file,
                sha256,
                size,
                from,
            }),
            None => missing.push(platform),
        }
    }
    Ok((found, missing))
}

fn from_index(
    releases: &[Release],
    lock: &Lockfile,
    platform: &Platform,
    file: &str,
) -> Option<(String, u64, String)> {
    let version = lock.go.version.dir_name();
    releases
        .iter()
        .filter(|r| r.version == version)
        .flat_map(|r| &r.files)
        .find(|f| {
            f.version == version
                && f.os == platform.os()
                && f.arch == platform.arch()
                && (f.kind.is_empty() || f.kind == "archive")
                && f.filename == file
        })
        .filter(|f| is_sha256(&f.sha256))
        .map(|f| {
            (
                f.sha256.to_ascii_lowercase(),
                f.size,
                "release index".to_string(),
            )
        })
}

/// `SHA256SUMS` (`<hex>  <file>` lines) or `<file>.sha256` in a mirror.
fn from_sums(
    lock: &Lockfile,
    file: &str,
    client: Option<&Client>,
) -> Option<(String, u64, String)> {
    let reachable = |m: &&Source| client.is_some() || matches!(m, Source::Local(_));
    // Offline, only local mirrors are read: this client is never asked to connect.
    let local_only = Client::new(fetch::HttpOptions::default());
    let client = client.unwrap_or(&local_only);
    for mirror in lock.go.mirrors.iter().filter(reachable) {
        let label = mirror.describe();
        let fetch = |rel: &str| {
            fetch::fetch_bytes(client, std::slice::from_ref(mirror), rel, 1 << 20)
                .ok()
                .flatten()
        };
        if let Some(sums) = fetch("SHA256SUMS") {
            let text = String::from_utf8_lossy(&sums);
            let hit = text.lines().find_map(|l| {
                let mut w = l.split_whitespace();
                let (sha, name) = (w.next()?, w.next()?);
                (name.trim_start_matches('*') == file && is_sha256(sha))
                    .then(|| sha.to_ascii_lowercase())
            });
            if let Some(sha) = hit {
                return Some((
                    sha,
                    mirror_size(mirror, file, client),
                    format!("{label}/SHA256SUMS"),
                ));
            }
        }
        if let Some(one) = fetch(&format!("{file}.sha256")) {
            let text = String::from_utf8_lossy(&one);
            if let Some(sha) = text.split_whitespace().next().filter(|s| is_sha256(s)) {
                return Some((
                    sha.to_ascii_lowercase(),
                    mirror_size(mirror, file, client),
                    format!("{label}/{file}.sha256"),
                ));
            }
        }
    }
    None
}

/// The archive's size beside its checksum: stat in a directory, HEAD over
/// HTTP; 0 (size not checked by apply) when the mirror does not say.
fn mirror_size(mirror: &Source, file: &str, client: &Client) -> u64 {
    match mirror {
        Source::Local(d) => fsx::metadata(d.join(file)).map(|m| m.len()).unwrap_or(0),
        Source::Http(u) => {
            let url = format!("{}/{file}", u.trim_end_matches('/'));
            client
                .http()
                .ok()
                .and_then(|h| h.content_length(&url).ok().flatten())
                .unwrap_or(0)
        }
    }
}

/// Hash the archive itself when a mirror directory holds it.
fn from_dir(lock: &Lockfile, file: &str) -> Option<(String, u64, String)> {
    lock.go.mirrors.iter().find_map(|m| match m {
        Source::Local(d) => {
            let path: PathBuf = d.join(file);
            fsx::sha256_file(&path)
                .ok()
                .map(|(sha, size)| (sha, size, format!("hashed {}", path.display())))
        }
        Source::Http(_) => None,
    })
}

fn is_sha256(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::fetch::testserver::{Reply, Server};

    fn client() -> Client {
        Client::new(crate::fetch::HttpOptions::default())
    }

    const SHA: &str = "9a3f5c0e1d2b4a6c8e0f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f";

    fn lock_for(mirror: &str) -> Lockfile {
        let text = format!(
            "schema = 1\n[go]\nversion = \"1.27.3\"\nplatforms = [\"linux-amd64\"]\nmirrors = [\"{mirror}\"]\n"
        );
        crate::lockfile::parse(&text, Path::new("/x/golock.toml"), Path::new("/x")).unwrap()
    }

    /// A checksum from an HTTP mirror's SHA256SUMS comes with the size the
    /// mirror announces for the archive (HEAD), so apply can check it early.
    #[test]
    fn sums_over_http_record_the_size_from_a_head_request() {
        let server = Server::start(|_, req| {
            if req.line.starts_with("GET /go/SHA256SUMS ") {
                Reply::ok(format!("{SHA}  go1.27.3.linux-amd64.tar.gz\n").as_bytes())
            } else if req
                .line
                .starts_with("HEAD /go/go1.27.3.linux-amd64.tar.gz ")
            {
                Reply::ok(b"").length(68_269_522)
            } else {
                Reply::status(404, "Not Found")
            }
        });
        let (found, missing) = find_all(
            &lock_for(&format!("{}/go", server.url())),
            None,
            Some(&client()),
        )
        .unwrap();
        assert!(missing.is_empty(), "{missing:?} {:?}", server.requests());
        assert_eq!(found.len(), 1);
        assert_eq!((found[0].sha256.as_str(), found[0].size), (SHA, 68_269_522));
        assert!(
            found[0].from.ends_with("/go/SHA256SUMS"),
            "{}",
            found[0].from
        );
    }

    /// Offline (`lock --offline`, the pre-commit hook), an HTTP mirror is
    /// never contacted, and the error says it was skipped.
    #[test]
    fn offline_relock_sends_no_request_to_an_http_mirror() {
        let server = Server::start(|_, _| {
            Reply::ok(format!("{SHA}  go1.27.3.linux-amd64.tar.gz\n").as_bytes())
        });
        let lock = lock_for(&format!("{}/go", server.url()));
        let (found, missing) = find_all(&lock, None, None).unwrap();
        assert!(found.is_empty());
        assert_eq!(missing.len(), 1);
        let inputs = RelockInputs {
            go_sum: None,
            index: None,
            update: false,
            client: None,
            host: "linux-amd64".parse().ok(),
        };
        let err = relock(&lock, "", &inputs).unwrap_err();
        assert!(err.to_string().contains("skipped: --offline"), "{err}");
        assert!(server.requests().is_empty(), "{:?}", server.requests());
    }

    /// An index URL is refused offline, before any connection.
    #[test]
    fn offline_refuses_an_index_url() {
        let err = load_index("https://go.dev/dl/?mode=json", Path::new("/"), None).unwrap_err();
        assert!(err.to_string().contains("--offline"), "{err}");
    }

    /// A mirror that refuses HEAD still gives the checksum; the size stays 0
    /// (unchecked), as with a release index entry without a size.
    #[test]
    fn sums_over_http_without_a_size_record_zero() {
        let server = Server::start(|_, req| {
            if req.line.starts_with("GET /go/SHA256SUMS ") {
                Reply::ok(format!("{SHA}  go1.27.3.linux-amd64.tar.gz\n").as_bytes())
            } else {
                Reply::status(405, "Method Not Allowed")
            }
        });
        let (found, _) = find_all(
            &lock_for(&format!("{}/go", server.url())),
            None,
            Some(&client()),
        )
        .unwrap();
        assert_eq!((found[0].sha256.as_str(), found[0].size), (SHA, 0));
    }

    fn relock_with(text: &str, host: Option<Platform>) -> Result<Relock, ChecksumError> {
        let lock =
            crate::lockfile::parse(text, Path::new("/x/golock.toml"), Path::new("/x")).unwrap();
        let client = client();
        let inputs = RelockInputs {
            go_sum: None,
            index: None,
            update: false,
            client: Some(&client),
            host,
        };
        relock(&lock, text, &inputs)
    }

    /// Locking only other platforms than the host's still fails when nothing
    /// at all is found, naming the first platform's file; a host platform
    /// already locked for this version is not looked up again.
    #[test]
    fn relock_fails_when_no_archive_is_locked_at_all() {
        let text = "schema = 1\n[go]\nversion = \"1.27.3\"\nplatforms = [\"darwin-arm64\"]\n";
        let err = relock_with(text, "linux-amd64".parse().ok()).unwrap_err();
        assert!(
            err.to_string()
                .contains("no checksum found for go1.27.3.darwin-arm64.tar.gz"),
            "{err}"
        );
        let locked = format!(
            "{text}[go.archives]\ndarwin-arm64 = {{ file = \"go1.27.3.darwin-arm64.tar.gz\", sha256 = \"{SHA}\", size = 1 }}\n"
        );
        let relocked = relock_with(&locked, "linux-amd64".parse().ok()).unwrap();
        assert_eq!(relocked.text, locked);
        assert!(relocked.unfound.is_empty());
    }
}

/// What `golock lock` would make of golock.toml: the new text, one line per
/// change (`+`, `~`, `-`), and the platforms no checksum was found for.
#[derive(Debug)]
pub struct Relock {
    pub text: String,
    pub changes: Vec<String>,
    pub unfound: Vec<Platform>,
}

/// Where `golock lock` takes checksums from, and whether locked ones may change.
pub struct RelockInputs<'a> {
    /// The go.sum to import modules from; `None` leaves `[modules]` alone.
    pub go_sum: Option<&'a Path>,
    /// A release index's JSON text (`load_index`).
    pub index: Option<&'a str>,
    /// `--update`: a locked checksum may change.
    pub update: bool,
    /// For HTTP mirrors, with the CLI's HTTP options; `None` (`--offline`):
    /// only local mirrors and index files are read.
    pub client: Option<&'a Client>,
    /// This host's platform: `lock` fails when nothing has its checksum.
    pub host: Option<Platform>,
}

/// Recompute golock.toml's checksums from go.sum and the archive sources,
/// keeping its formatting and comments (`text` is golock.toml as read).
pub fn relock(lock: &Lockfile, text: &str, inputs: &RelockInputs) -> Result<Relock, ChecksumError> {
    let mut editor = Editor::parse(text)?;
    let mut changes = Vec::new();
    if let Some(go_sum) = inputs.go_sum {
        let modules = gomod::read_go_sum(go_sum)?;
        changes.extend(module_changes(lock, &modules, inputs.update)?);
        editor.set_modules(&modules)?;
    }
    let (found, missing) = find_all(lock, inputs.index, inputs.client)?;
    let archived = found.len();
    for f in found {
        if let Some(change) = archive_change(lock, &f, inputs.update)? {
            changes.push(change);
            editor.set_archive(f.platform, &f.file, &f.sha256, f.size)?;
        }
    }
    let stale = stale_archives(lock, &missing);
    for (platform, file) in &stale {
        changes.push(format!("- {platform}: {file} (not Go {})", lock.go.version));
        editor.remove_archive(*platform)?;
    }
    let unfound: Vec<Platform> = missing
        .into_iter()
        .filter(|p| !has_current_archive(lock, p))
        .collect();
    let kept = lock.go.archives.len() - stale.len();
    let host_unfound = inputs.host.filter(|h| unfound.contains(h));
    if let Some(platform) = host_unfound.or_else(|| unfound.first().copied())
        && (host_unfound.is_some() || archived + kept == 0)
    {
        return Err(no_checksum(lock, &platform, inputs));
    }
    Ok(Relock {
        text: editor.finish(),
        changes,
        unfound,
    })
}

fn has_current_archive(lock: &Lockfile, platform: &Platform) -> bool {
    lock.go
        .archives
        .get(platform)
        .is_some_and(|a| crate::lockfile::archive_is_for(a, &lock.go.version))
}

/// Locked archives of another Go version that nothing replaces (no checksum
/// found for their platform, or the platform is no longer locked).
fn stale_archives(lock: &Lockfile, missing: &[Platform]) -> Vec<(Platform, String)> {
    let locked = platforms(lock);
    lock.go
        .archives
        .iter()
        .filter(|(p, a)| {
            !crate::lockfile::archive_is_for(a, &lock.go.version)
                && (missing.contains(p) || !locked.contains(p))
        })
        .map(|(p, a)| (*p, a.file.clone()))
        .collect()
}

/// The error for a platform nothing had a checksum for, naming the places looked in.
fn no_checksum(lock: &Lockfile, platform: &Platform, inputs: &RelockInputs) -> ChecksumError {
    let file = archive_file(lock, platform);
    let mut looked = vec![if inputs.index.is_some() {
        "the release index given with --index".to_string()
    } else {
        "a release index (none: --index not given)".to_string()
    }];
    if lock.go.mirrors.is_empty() {
        looked.push("mirrors (none: [go] mirrors is empty)".to_string());
    }
    for mirror in &lock.go.mirrors {
        let tried = match mirror {
            Source::Local(_) => format!("SHA256SUMS, {file}.sha256, {file}"),
            Source::Http(_) if inputs.client.is_none() => "skipped: --offline".to_string(),
            Source::Http(_) => format!("SHA256SUMS, {file}.sha256"),
        };
        looked.push(format!("mirror {} ({tried})", mirror.describe()));
    }
    ChecksumError::NoChecksum {
        file,
        looked: looked.join("; "),
    }
}

type Modules =
    std::collections::BTreeMap<crate::lockfile::ModuleKey, crate::lockfile::ModuleHashes>;

fn module_changes(
    lock: &Lockfile,
    modules: &Modules,
    update: bool,
) -> Result<Vec<String>, ChecksumError> {
    let mut changes = Vec::new();
    for (key, hashes) in modules {
        match lock.modules.require.get(key) {
            Some(old) if old != hashes && !update => {
                return Err(ChecksumError::Changed {
                    what: key.to_string(),
                });
            }
            Some(old) if old != hashes => changes.push(format!("~ {key}")),
            Some(_) => {}
            None => changes.push(format!("+ {key}")),
        }
    }
    let dropped = lock
        .modules
        .require
        .keys()
        .filter(|k| !modules.contains_key(*k));
    changes.extend(dropped.map(|key| format!("- {key}")));
    Ok(changes)
}

/// The change line for an archive checksum found, `None` when golock.toml
/// already says the same.
fn archive_change(
    lock: &Lockfile,
    f: &Found,
    update: bool,
) -> Result<Option<String>, ChecksumError> {
    match lock.go.archives.get(&f.platform) {
        Some(old) if !crate::lockfile::archive_is_for(old, &lock.go.version) => Ok(Some(format!(
            "~ {}: {} replaces {} (from {})",
            f.platform, f.file, old.file, f.from
        ))),
        Some(old) if hex::encode(old.sha256) != f.sha256 && !update => {
            Err(ChecksumError::Changed {
                what: f.file.clone(),
            })
        }
        Some(old) if hex::encode(old.sha256) == f.sha256 && (f.size == 0 || old.size == f.size) => {
            Ok(None)
        }
        _ => Ok(Some(format!(
            "~ {}: {} (from {})",
            f.platform, f.file, f.from
        ))),
    }
}
