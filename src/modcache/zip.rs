//! Module zip checking and extraction into the module cache
//! (x/mod `zip.CheckZip`/`checkZip`/`Unzip`, cmd/go `modfetch.unzip` and
//! `makeDirsReadOnly`).
//!
//! Every entry is checked from the central directory before anything is
//! written; extraction then reads each file once, hashing the bytes as
//! they are written, so the returned `h1:` equals `dirhash.HashZip` of the
//! zip (the go.sum value) without a second pass.
//!
//! Where golock is stricter than x/mod/zip (all cases a zip written by the
//! go command or a conforming proxy never hits):
//! * symbolic links and other non-regular entries (by the unix mode in the
//!   external attributes) are refused; Go would extract a link as a regular
//!   file holding the target path;
//! * encrypted entries and compression methods other than store/deflate are
//!   refused up front instead of failing halfway through extraction;
//! * an Info-ZIP Unicode Path extra field is refused: Go ignores it, the
//!   `zip` crate renames the entry by it, so the two would disagree on names;
//! * a directory entry that declares content is refused (Go's `HashZip`
//!   fails on it);
//! * duplicate names are refused as a whole (x/mod reports each one).

use std::collections::{HashMap, HashSet};
use std::io::{self, BufReader, Cursor, Read, Seek, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use zip::ZipArchive;

use crate::fsx::{self, Context, File, ResultExt};

use super::dirhash::hash1;
use super::error::{EntryProblem, ModError};
use super::escape::check_file_path;
use super::semver::check_version;

/// Size caps for a module zip (x/mod/zip `MaxZipFile`, `MaxGoMod`,
/// `MaxLICENSE`). A cap is exceeded when a size is strictly greater.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ZipLimits {
    /// Size of the zip file itself.
    pub max_zip_size: u64,
    /// Sum of the declared uncompressed sizes of all files.
    pub max_unzipped: u64,
    /// Size of the root `go.mod`.
    pub max_go_mod: u64,
    /// Size of the root `LICENSE`.
    pub max_license: u64,
}

impl Default for ZipLimits {
    fn default() -> Self {
        ZipLimits {
            max_zip_size: 500 << 20,
            max_unzipped: 500 << 20,
            max_go_mod: 16 << 20,
            max_license: 16 << 20,
        }
    }
}

/// What [`check_and_extract`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unzipped {
    /// `h1:` over all zip entries: equal to `dirhash.HashZip` of the zip.
    pub h1: String,
    /// Regular files written.
    pub files: u64,
    /// Bytes written.
    pub bytes: u64,
}

/// Zips up to this size are read into memory in one go; larger ones are
/// read through a buffered file.
const IN_MEMORY_MAX: u64 = 64 << 20;

/// Largest single read/write during extraction; smaller files take exactly
/// one `write_all`.
const CHUNK: usize = 1 << 20;

/// Unix file type bits in a zip entry's mode.
const S_IFMT: u32 = 0o170000;
const S_IFREG: u32 = 0o100000;

/// Checks `zip_file` against the module zip rules for `module_path@version`
/// without extracting anything (x/mod `zip.CheckZip`).
pub fn check_zip(
    zip_file: &Path,
    module_path: &str,
    version: &str,
    limits: &ZipLimits,
) -> Result<(), ModError> {
    let ctx = Ctx::new(zip_file, module_path, version)?;
    let mut archive = open_archive(&ctx, limits)?;
    check_entries(&ctx, &mut archive, limits).map(|_| ())
}

/// Checks every entry of `zip_file` (x/mod/zip rules) before writing
/// anything, then extracts it into `dest`, which must not exist and is
/// created (its parent too, if missing).
///
/// The `h1:` hash is computed from the bytes as they are written. Files are
/// created mode 0444 and directories 0777, both less the umask; after all
/// files are written every directory loses its write bits, children before
/// parents — exactly what cmd/go leaves (0444 files, 0555 dirs under the
/// usual umask 022). No file is fsynced: the caller batches durability.
/// On failure, `dest` is removed again.
pub fn check_and_extract(
    zip_file: &Path,
    module_path: &str,
    version: &str,
    dest: &Path,
    limits: &ZipLimits,
) -> Result<Unzipped, ModError> {
    let ctx = Ctx::new(zip_file, module_path, version)?;
    let mut archive = open_archive(&ctx, limits)?;
    let entries = check_entries(&ctx, &mut archive, limits)?;
    create_dest(&ctx, dest)?;
    let result = extract(&ctx, &mut archive, &entries, dest).and_then(|(out, dirs)| {
        make_dirs_read_only(&dirs)?;
        Ok(out)
    });
    if result.is_err() {
        // Nothing is read-only yet unless the chmod pass itself failed;
        // removal is best effort either way.
        let _ = fsx::remove_dir_all(dest);
    }
    result
}

/// The module and zip being worked on, for checks and error messages.
struct Ctx<'a> {
    zip: &'a Path,
    /// `path@version`.
    module: String,
    /// `path@version/`: every entry name starts with it.
    prefix: String,
}

impl<'a> Ctx<'a> {
    fn new(zip: &'a Path, path: &str, version: &str) -> Result<Self, ModError> {
        check_version(path, version)?;
        let module = format!("{path}@{version}");
        let prefix = format!("{module}/");
        Ok(Ctx {
            zip,
            module,
            prefix,
        })
    }

    fn zip_err(&self, entry: Option<&str>, source: zip::result::ZipError) -> ModError {
        ModError::Zip {
            module: self.module.clone(),
            zip: self.zip.to_path_buf(),
            entry: entry.map(str::to_string),
            source,
        }
    }
}

/// Seekable zip bytes: in memory for ordinary modules, buffered file otherwise.
enum Source {
    Mem(Cursor<Vec<u8>>),
    File(BufReader<File>),
}

impl Read for Source {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Source::Mem(c) => c.read(buf),
            Source::File(f) => f.read(buf),
        }
    }
}

impl Seek for Source {
    fn seek(&mut self, pos: io::SeekFrom) -> io::Result<u64> {
        match self {
            Source::Mem(c) => c.seek(pos),
            Source::File(f) => f.seek(pos),
        }
    }
}

/// Opens the zip after checking its size (x/mod `checkZip`, first part).
fn open_archive(ctx: &Ctx<'_>, limits: &ZipLimits) -> Result<ZipArchive<Source>, ModError> {
    let mut file = fsx::open(ctx.zip)?;
    let size = file.metadata().ctx("stat", ctx.zip)?.len();
    if size > limits.max_zip_size {
        return Err(ModError::ZipTooLarge {
            module: ctx.module.clone(),
            zip: ctx.zip.to_path_buf(),
            size,
            limit: limits.max_zip_size,
        });
    }
    let source = if size <= IN_MEMORY_MAX {
        let mut bytes = Vec::with_capacity(size as usize);
        file.read_to_end(&mut bytes).ctx("read", ctx.zip)?;
        Source::Mem(Cursor::new(bytes))
    } else {
        Source::File(BufReader::with_capacity(CHUNK, file))
    };
    ZipArchive::new(source).map_err(|e| ctx.zip_err(None, e))
}

/// An entry that passed the checks, in zip order.
#[derive(Debug)]
struct Entry {
    index: usize,
    /// Full name as stored (`path@version/rel`), the name hashed into h1.
    name: String,
    kind: EntryKind,
}

#[derive(Debug)]
enum EntryKind {
    /// A regular file at this relative path with this declared size.
    File { rel: String, size: u64 },
    /// A directory entry (or the bare prefix): skipped on extraction,
    /// hashed as an empty file.
    Dir,
}

/// Checks every entry (x/mod `checkZip`, loop over `z.File`) and returns
/// the valid ones; all problems are reported together.
fn check_entries(
    ctx: &Ctx<'_>,
    archive: &mut ZipArchive<Source>,
    limits: &ZipLimits,
) -> Result<Vec<Entry>, ModError> {
    let mut problems = Vec::new();
    if archive.has_duplicate_names() {
        problems.push(EntryProblem {
            entry: ctx.prefix.clone(),
            reason: "zip has multiple entries with the same name".into(),
        });
    }
    let mut collisions = Collisions::default();
    let mut entries = Vec::with_capacity(archive.len());
    let mut total: u64 = 0;
    let mut too_large = false;
    for index in 0..archive.len() {
        let raw = archive
            .by_index_raw(index)
            .map_err(|e| ctx.zip_err(None, e))?;
        let meta = EntryMeta::read(&raw);
        drop(raw);
        match check_entry(ctx, &meta, &mut collisions, limits) {
            Ok(kind) => {
                if let EntryKind::File { size, .. } = &kind {
                    match total.checked_add(*size) {
                        Some(t) if t <= limits.max_unzipped => total = t,
                        _ => too_large = true,
                    }
                }
                entries.push(Entry {
                    index,
                    name: meta.name_lossy(),
                    kind,
                });
            }
            Err(reason) => problems.push(EntryProblem {
                entry: meta.name_lossy(),
                reason,
            }),
        }
    }
    if too_large {
        return Err(ModError::UnzippedTooLarge {
            module: ctx.module.clone(),
            limit: limits.max_unzipped,
        });
    }
    if !problems.is_empty() {
        return Err(ModError::InvalidZip {
            module: ctx.module.clone(),
            zip: ctx.zip.to_path_buf(),
            problems,
        });
    }
    Ok(entries)
}

/// What the checks need from one central directory entry.
struct EntryMeta {
    name: Vec<u8>,
    size: u64,
    unix_mode: Option<u32>,
    encrypted: bool,
    method: zip::CompressionMethod,
    unicode_path: bool,
}

impl EntryMeta {
    fn read<R: Read>(f: &zip::read::ZipFile<'_, R>) -> Self {
        EntryMeta {
            name: f.name_raw().to_vec(),
            size: f.size(),
            unix_mode: f.unix_mode(),
            encrypted: f.encrypted(),
            method: f.compression(),
            unicode_path: f
                .extra_data_fields()
                .any(|x| matches!(x, zip::ExtraField::UnicodePath(_))),
        }
    }

    fn name_lossy(&self) -> String {
        String::from_utf8_lossy(&self.name).into_owned()
    }
}

/// The x/mod/zip rules for one entry; `Err` holds the reason.
fn check_entry(
    ctx: &Ctx<'_>,
    meta: &EntryMeta,
    collisions: &mut Collisions,
    limits: &ZipLimits,
) -> Result<EntryKind, String> {
    if meta.unicode_path {
        return Err("entry is renamed by an Info-ZIP Unicode Path extra field".into());
    }
    let name = std::str::from_utf8(&meta.name).map_err(|_| "invalid UTF-8 in name".to_string())?;
    let rel = name
        .strip_prefix(ctx.prefix.as_str())
        .ok_or_else(|| format!("path does not have prefix {:?}", ctx.prefix))?;
    let (rel, is_dir) = match rel.strip_suffix('/') {
        _ if rel.is_empty() => ("", true),
        Some(dir) => (dir, true),
        None => (rel, false),
    };
    if is_dir && meta.size != 0 {
        return Err("directory entry has content".into());
    }
    if rel.is_empty() {
        // The bare prefix: x/mod skips it; it is still hashed.
        return Ok(EntryKind::Dir);
    }
    if go_path_clean(rel) != rel {
        return Err("file path is not clean".into());
    }
    check_file_path(rel).map_err(|e| match e {
        ModError::InvalidPath { reason, .. } => reason,
        other => other.to_string(),
    })?;
    collisions.check(rel, is_dir)?;
    if is_dir {
        return Ok(EntryKind::Dir);
    }
    check_regular(meta)?;
    check_special_names(rel, meta.size, limits)?;
    Ok(EntryKind::File {
        rel: rel.to_string(),
        size: meta.size,
    })
}

/// golock additions: only plain, readable files.
fn check_regular(meta: &EntryMeta) -> Result<(), String> {
    if let Some(mode) = meta.unix_mode {
        let kind = mode & S_IFMT;
        if kind != 0 && kind != S_IFREG {
            let what = if kind == 0o120000 {
                "a symbolic link"
            } else {
                "not a regular file"
            };
            return Err(format!("entry is {what} (mode {mode:o})"));
        }
    }
    if meta.encrypted {
        return Err("entry is encrypted".into());
    }
    if !matches!(
        meta.method,
        zip::CompressionMethod::Stored | zip::CompressionMethod::Deflated
    ) {
        return Err(format!("unsupported compression method {:?}", meta.method));
    }
    Ok(())
}

/// go.mod only at the root and only in lower case; go.mod and LICENSE caps.
fn check_special_names(rel: &str, size: u64, limits: &ZipLimits) -> Result<(), String> {
    let base = rel.rsplit('/').next().unwrap_or(rel);
    if base.eq_ignore_ascii_case("go.mod") {
        if base != rel {
            return Err("go.mod file not in module root directory".into());
        }
        if rel != "go.mod" {
            return Err("go.mod files must have lowercase names".into());
        }
    }
    if rel == "go.mod" && size > limits.max_go_mod {
        return Err(format!(
            "go.mod file too large (max size is {} bytes)",
            limits.max_go_mod
        ));
    }
    if rel == "LICENSE" && size > limits.max_license {
        return Err(format!(
            "LICENSE file too large (max size is {} bytes)",
            limits.max_license
        ));
    }
    Ok(())
}

/// Case-insensitive collisions and file/directory clashes
/// (x/mod/zip `collisionChecker`): folded path → (original path, is dir).
#[derive(Default)]
struct Collisions(HashMap<String, (String, bool)>);

impl Collisions {
    fn check(&mut self, path: &str, is_dir: bool) -> Result<(), String> {
        let fold = str_to_fold(path);
        match self.0.get(&fold) {
            Some((other, _)) if other != path => {
                return Err(format!(
                    "case-insensitive file name collision: {other:?} and {path:?}"
                ));
            }
            Some((_, other_dir)) if *other_dir != is_dir => {
                return Err(format!("entry {path:?} is both a file and a directory"));
            }
            Some(_) if !is_dir => return Err(format!("multiple entries for file {path:?}")),
            Some(_) => {}
            None => {
                self.0.insert(fold, (path.to_string(), is_dir));
            }
        }
        match path.rsplit_once('/') {
            Some((parent, _)) => self.check(parent, true),
            None => Ok(()),
        }
    }
}

/// A key with `fold(a) == fold(b)` iff `a` and `b` are equal under simple
/// case folding (x/mod/zip `strToFold`, `strings.EqualFold`).
///
/// Go walks each rune's `unicode.SimpleFold` orbit; std has no fold table,
/// so each char is mapped through upper then lower case when both mappings
/// are single chars (which folds `ſ`/`s`/`S`, `K`/`k`, `ς`/`σ`/`Σ` like Go).
/// This can over-report a collision (e.g. `ı` with `i`), which only makes
/// the check stricter.
fn str_to_fold(s: &str) -> String {
    if !s.bytes().any(|b| b >= 0x80 || b.is_ascii_uppercase()) {
        return s.to_string();
    }
    s.chars().map(fold_char).collect()
}

fn fold_char(c: char) -> char {
    let upper = single_char(c.to_uppercase()).unwrap_or(c);
    single_char(upper.to_lowercase()).unwrap_or(upper)
}

/// The only char of `it`, if it yields exactly one.
fn single_char(mut it: impl Iterator<Item = char>) -> Option<char> {
    let first = it.next()?;
    it.next().is_none().then_some(first)
}

/// Go `path.Clean` for slash-separated paths.
fn go_path_clean(p: &str) -> String {
    if p.is_empty() {
        return ".".into();
    }
    let rooted = p.starts_with('/');
    let mut out: Vec<&str> = Vec::new();
    for elem in p.split('/') {
        match elem {
            "" | "." => {}
            ".." => match out.last() {
                Some(&last) if last != ".." => {
                    out.pop();
                }
                _ if !rooted => out.push(".."),
                _ => {}
            },
            e => out.push(e),
        }
    }
    let joined = out.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".into(),
        (false, false) => joined,
    }
}

/// Creates `dest` (not its contents); it must not exist yet.
fn create_dest(ctx: &Ctx<'_>, dest: &Path) -> Result<(), ModError> {
    if let Some(parent) = dest.parent().filter(|p| !p.as_os_str().is_empty()) {
        fsx::create_dir_all(parent)?;
    }
    match fsx::create_dir(dest) {
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Err(ModError::DestExists {
            module: ctx.module.clone(),
            dest: dest.to_path_buf(),
        }),
        other => Ok(other?),
    }
}

/// Writes every checked file under `dest`, hashing as it goes. Returns the
/// result and the directories created (`dest` first).
fn extract(
    ctx: &Ctx<'_>,
    archive: &mut ZipArchive<Source>,
    entries: &[Entry],
    dest: &Path,
) -> Result<(Unzipped, Vec<PathBuf>), ModError> {
    let largest = entries
        .iter()
        .filter_map(|e| match e.kind {
            EntryKind::File { size, .. } => Some(size),
            EntryKind::Dir => None,
        })
        .max()
        .unwrap_or(0);
    let mut buf = vec![0u8; usize::try_from(largest + 1).unwrap_or(CHUNK).min(CHUNK)];
    let mut dirs = DirMaker::new(dest);
    let mut sums: Vec<(&str, [u8; 32])> = Vec::with_capacity(entries.len());
    let (mut files, mut bytes) = (0u64, 0u64);
    for entry in entries {
        let EntryKind::File { rel, size } = &entry.kind else {
            sums.push((&entry.name, Sha256::digest(b"").into()));
            continue;
        };
        crate::txn::interrupt::check()?;
        let target = dirs.prepare(rel)?;
        let sum = extract_file(ctx, archive, entry, *size, &target, &mut buf)?;
        sums.push((&entry.name, sum));
        files += 1;
        bytes += size;
    }
    let h1 = hash1(sums)?;
    Ok((Unzipped { h1, files, bytes }, dirs.created))
}

/// Decompresses one entry into a new 0444 file, enforcing its declared
/// size exactly (reads at most `size + 1` bytes). Returns its sha256.
fn extract_file(
    ctx: &Ctx<'_>,
    archive: &mut ZipArchive<Source>,
    entry: &Entry,
    size: u64,
    target: &Path,
    buf: &mut [u8],
) -> Result<[u8; 32], ModError> {
    let name = entry.name.as_str();
    let reader = archive
        .by_index(entry.index)
        .map_err(|e| ctx.zip_err(Some(name), e))?;
    let mut reader = reader.take(size.saturating_add(1));
    let mut out = fsx::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o444)
        .open(target)
        .with_op("create")?;
    let mut hasher = Sha256::new();
    let mut written: u64 = 0;
    loop {
        crate::txn::interrupt::check()?;
        let n = fill(&mut reader, buf).map_err(|e| ctx.zip_err(Some(name), e.into()))?;
        written += n as u64;
        if written > size {
            break;
        }
        hasher.update(&buf[..n]);
        out.write_all(&buf[..n]).ctx("write", target)?;
        if n < buf.len() {
            break;
        }
    }
    if written != size {
        return Err(ModError::SizeMismatch {
            module: ctx.module.clone(),
            entry: name.to_string(),
            declared: size,
        });
    }
    Ok(hasher.finalize().into())
}

/// Reads until `buf` is full or the reader is exhausted.
fn fill(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// Creates parent directories on demand, remembering what exists.
struct DirMaker<'a> {
    root: &'a Path,
    known: HashSet<String>,
    created: Vec<PathBuf>,
}

impl<'a> DirMaker<'a> {
    fn new(root: &'a Path) -> Self {
        DirMaker {
            root,
            known: HashSet::new(),
            created: vec![root.to_path_buf()],
        }
    }

    /// Ensures the parent directories of `rel` exist; returns its full path.
    fn prepare(&mut self, rel: &str) -> Result<PathBuf, ModError> {
        let mut end = 0;
        while let Some(i) = rel[end..].find('/') {
            end += i;
            let dir = &rel[..end];
            if !self.known.contains(dir) {
                let path = self.root.join(dir);
                fsx::create_dir(&path)?;
                self.known.insert(dir.to_string());
                self.created.push(path);
            }
            end += 1;
        }
        Ok(self.root.join(rel))
    }
}

/// Removes write permission from each directory, children before parents
/// (cmd/go `makeDirsReadOnly`). `dirs` lists parents before children.
fn make_dirs_read_only(dirs: &[PathBuf]) -> Result<(), ModError> {
    for dir in dirs.iter().rev() {
        let mode = fsx::metadata(dir)?.permissions().mode();
        if mode & 0o222 != 0 {
            fsx::set_mode(dir, mode & !0o222).with_op("make read-only")?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modcache::dirhash::{hash_dir, hash_zip};
    use std::os::unix::fs::MetadataExt;
    use zip::write::SimpleFileOptions;

    const M: &str = "example.com/m";
    const V: &str = "v1.0.0";
    const P: &str = "example.com/m@v1.0.0/";

    fn deflated() -> SimpleFileOptions {
        SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated)
    }

    /// Writes a zip of `(name, content)`; a name ending in `/` is a directory.
    fn build(dir: &Path, entries: &[(&str, &[u8])]) -> PathBuf {
        let path = dir.join("m.zip");
        let mut w = zip::ZipWriter::new(fsx::create(&path).unwrap());
        for (name, data) in entries {
            if name.ends_with('/') {
                w.add_directory(*name, deflated()).unwrap();
            } else {
                w.start_file(*name, deflated()).unwrap();
                w.write_all(data).unwrap();
            }
        }
        w.finish().unwrap();
        path
    }

    /// Replaces every occurrence of `from` with `to` (same length) in the file.
    fn patch(path: &Path, from: &[u8], to: &[u8]) {
        assert_eq!(from.len(), to.len());
        let mut bytes = fsx::read(path).unwrap();
        let mut hits = 0;
        let mut i = 0;
        while i + from.len() <= bytes.len() {
            if &bytes[i..i + from.len()] == from {
                bytes[i..i + from.len()].copy_from_slice(to);
                hits += 1;
            }
            i += 1;
        }
        assert!(hits > 0, "pattern not found");
        fsx::write(path, bytes).unwrap();
    }

    /// Sets the declared uncompressed size of every entry (local + central).
    fn patch_declared_size(path: &Path, size: u32) {
        let mut b = fsx::read(path).unwrap();
        for i in 0..b.len().saturating_sub(4) {
            let off = match &b[i..i + 4] {
                [0x50, 0x4b, 0x03, 0x04] => 22,
                [0x50, 0x4b, 0x01, 0x02] => 24,
                _ => continue,
            };
            b[i + off..i + off + 4].copy_from_slice(&size.to_le_bytes());
        }
        fsx::write(path, b).unwrap();
    }

    fn problems(err: ModError) -> Vec<EntryProblem> {
        match err {
            ModError::InvalidZip { problems, .. } => problems,
            other => panic!("want InvalidZip, got {other:?}"),
        }
    }

    fn umask() -> u32 {
        // Read back what a fresh 0777 directory gets.
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("probe");
        fsx::create_dir(&p).unwrap();
        0o777 & !fsx::metadata(&p).unwrap().mode() & 0o777
    }

    #[test]
    fn extracts_hashes_and_seals() {
        let tmp = tempfile::tempdir().unwrap();
        let big = vec![b'x'; CHUNK * 2 + 17];
        let zip = build(
            tmp.path(),
            &[
                (&format!("{P}go.mod"), b"module example.com/m\n"),
                (&format!("{P}LICENSE"), b"MIT"),
                (&format!("{P}a/b/c.go"), b"package b\n"),
                (&format!("{P}a/d.go"), b"package a\n"),
                (&format!("{P}empty"), b""),
                (&format!("{P}big.bin"), &big),
            ],
        );
        let dest = tmp.path().join("cache/example.com/m@v1.0.0");
        let out = check_and_extract(&zip, M, V, &dest, &ZipLimits::default()).unwrap();
        assert_eq!(out.files, 6);
        assert_eq!(out.bytes, (21 + 3 + 10 + 10 + big.len()) as u64);
        assert_eq!(out.h1, hash_zip(&zip).unwrap());
        assert_eq!(out.h1, hash_dir(&dest, "example.com/m@v1.0.0").unwrap());
        assert_eq!(fsx::read(dest.join("a/b/c.go")).unwrap(), b"package b\n");
        assert_eq!(fsx::read(dest.join("big.bin")).unwrap(), big);
        let mask = umask();
        for e in walkdir::WalkDir::new(&dest) {
            let e = e.unwrap();
            let mode = e.metadata().unwrap().mode() & 0o7777;
            let want = if e.file_type().is_dir() { 0o555 } else { 0o444 } & !mask;
            assert_eq!(mode, want, "{}", e.path().display());
        }
        // cmd/go's own RemoveAll has to make dirs writable again; so do we.
        for e in walkdir::WalkDir::new(&dest).into_iter().flatten() {
            if e.file_type().is_dir() {
                fsx::set_permissions(e.path(), fsx::Permissions::from_mode(0o755)).unwrap();
            }
        }
    }

    #[test]
    fn directory_entries_are_hashed_not_created() {
        let tmp = tempfile::tempdir().unwrap();
        let zip = build(
            tmp.path(),
            &[
                (P, b""),
                (&format!("{P}empty/"), b""),
                (&format!("{P}a/"), b""),
                (&format!("{P}a/x.go"), b"package a\n"),
            ],
        );
        let dest = tmp.path().join("out");
        let out = check_and_extract(&zip, M, V, &dest, &ZipLimits::default()).unwrap();
        assert_eq!(out.files, 1);
        assert_eq!(out.h1, hash_zip(&zip).unwrap());
        assert!(!dest.join("empty").exists(), "x/mod/zip ignores empty dirs");
        assert_ne!(out.h1, hash_dir(&dest, "example.com/m@v1.0.0").unwrap());
        fsx::set_permissions(&dest, fsx::Permissions::from_mode(0o755)).unwrap();
        fsx::set_permissions(dest.join("a"), fsx::Permissions::from_mode(0o755)).unwrap();
    }

    /// Hostile or malformed names, each rejected with a reason mentioning `want`.
    #[test]
    fn name_rules() {
        let cases: &[(&str, &str)] = &[
            ("example.com/m@v1.0.1/x.go", "does not have prefix"),
            ("other.com/m@v1.0.0/x.go", "does not have prefix"),
            ("example.com/m@v1.0.0/../../evil", "invalid path element"),
            ("example.com/m@v1.0.0/a/../../evil", "not clean"),
            ("/etc/passwd", "does not have prefix"),
            ("example.com/m@v1.0.0//etc/passwd", "empty path element"),
            ("example.com/m@v1.0.0/./x.go", "not clean"),
            ("example.com/m@v1.0.0/a:b", "invalid char"),
            ("example.com/m@v1.0.0/a\\b", "invalid char"),
            ("example.com/m@v1.0.0/sub/go.mod", "not in module root"),
            ("example.com/m@v1.0.0/GO.MOD", "lowercase"),
            ("example.com/m@v1.0.0/aux.go", "Windows"),
            ("example.com/m@v1.0.0/..", "invalid path element"),
            ("example.com/m@v1.0.0/...", "invalid path element"),
        ];
        for (name, want) in cases {
            let tmp = tempfile::tempdir().unwrap();
            let zip = build(tmp.path(), &[(name, b"x")]);
            let err = check_zip(&zip, M, V, &ZipLimits::default()).unwrap_err();
            let p = problems(err);
            assert!(p[0].reason.contains(want), "{name}: {:?}", p);
            assert_eq!(p[0].entry, *name);
        }
    }

    #[test]
    fn prefix_uses_unescaped_path_and_version() {
        let tmp = tempfile::tempdir().unwrap();
        let m = "github.com/Foo/bar";
        let v = "v1.0.0-RC1";
        let good = build(tmp.path(), &[("github.com/Foo/bar@v1.0.0-RC1/x.go", b"x")]);
        check_zip(&good, m, v, &ZipLimits::default()).unwrap();
        let bad = build(
            tmp.path(),
            &[("github.com/!foo/bar@v1.0.0-!r!c1/x.go", b"x")],
        );
        assert!(check_zip(&bad, m, v, &ZipLimits::default()).is_err());
    }

    #[test]
    fn collisions() {
        let cases: &[(&[&str], &str)] = &[
            (&["A.go", "a.go"], "case-insensitive"),
            (&["Dir/x.go", "dir/y.go"], "case-insensitive"),
            (&["a", "a/b"], "both a file and a directory"),
            (&["a/", "a"], "both a file and a directory"),
            (&["a/b", "a"], "both a file and a directory"),
            (&["stra\u{df}e", "STRASSE"], ""),
            (&["\u{212a}elvin", "kelvin"], "case-insensitive"),
            (&["\u{3c3}x", "\u{3a3}X"], "case-insensitive"),
        ];
        for (names, want) in cases {
            let tmp = tempfile::tempdir().unwrap();
            let full: Vec<String> = names.iter().map(|n| format!("{P}{n}")).collect();
            let entries: Vec<(&str, &[u8])> =
                full.iter().map(|n| (n.as_str(), b"x" as &[u8])).collect();
            let zip = build(tmp.path(), &entries);
            let res = check_zip(&zip, M, V, &ZipLimits::default());
            if want.is_empty() {
                // ß does not simple-fold to "ss": no collision, as in Go.
                res.unwrap();
            } else {
                let p = problems(res.unwrap_err());
                assert!(p[0].reason.contains(want), "{names:?}: {p:?}");
            }
        }
    }

    #[test]
    fn duplicate_names() {
        let tmp = tempfile::tempdir().unwrap();
        let zip = build(
            tmp.path(),
            &[(&format!("{P}aa"), b"1"), (&format!("{P}ab"), b"2")],
        );
        patch(
            &zip,
            format!("{P}ab").as_bytes(),
            format!("{P}aa").as_bytes(),
        );
        let p = problems(check_zip(&zip, M, V, &ZipLimits::default()).unwrap_err());
        assert!(p[0].reason.contains("same name"), "{p:?}");
        assert!(hash_zip(&zip).is_err());
    }

    #[test]
    fn non_utf8_name() {
        let tmp = tempfile::tempdir().unwrap();
        let zip = build(tmp.path(), &[(&format!("{P}aXb"), b"1")]);
        patch(&zip, b"aXb", b"a\xffb");
        let p = problems(check_zip(&zip, M, V, &ZipLimits::default()).unwrap_err());
        assert!(p[0].reason.contains("UTF-8"), "{p:?}");
    }

    #[test]
    fn symlinks_and_special_files() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("m.zip");
        let mut w = zip::ZipWriter::new(fsx::create(&path).unwrap());
        w.add_symlink(format!("{P}link"), "/etc/passwd", deflated())
            .unwrap();
        w.start_file(format!("{P}fifo"), deflated().unix_permissions(0o644))
            .unwrap();
        w.start_file(format!("{P}ok"), deflated().unix_permissions(0o600))
            .unwrap();
        w.write_all(b"fine").unwrap();
        w.finish().unwrap();
        // Turn the 0o100644 regular file into a 0o010644 FIFO.
        patch(
            &path,
            &(0o100644u32 << 16).to_le_bytes(),
            &(0o010644u32 << 16).to_le_bytes(),
        );
        let p = problems(check_zip(&path, M, V, &ZipLimits::default()).unwrap_err());
        assert_eq!(p.len(), 2, "{p:?}");
        assert!(p[0].reason.contains("symbolic link"), "{p:?}");
        assert!(p[1].reason.contains("not a regular file"), "{p:?}");
    }

    #[test]
    fn unsupported_compression() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("m.zip");
        let mut w = zip::ZipWriter::new(fsx::create(&path).unwrap());
        let opts = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
        w.start_file(format!("{P}x"), opts).unwrap();
        w.write_all(b"abc").unwrap();
        w.finish().unwrap();
        // Compression method 0 (stored) → 12 (bzip2) in both headers.
        let mut b = fsx::read(&path).unwrap();
        for i in 0..b.len() - 4 {
            let off = match &b[i..i + 4] {
                [0x50, 0x4b, 0x03, 0x04] => 8,
                [0x50, 0x4b, 0x01, 0x02] => 10,
                _ => continue,
            };
            b[i + off] = 12;
        }
        fsx::write(&path, b).unwrap();
        match check_zip(&path, M, V, &ZipLimits::default()).unwrap_err() {
            ModError::InvalidZip { problems, .. } => {
                assert!(problems[0].reason.contains("compression"), "{problems:?}")
            }
            ModError::Zip { .. } => {} // the zip crate may refuse it first
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn size_caps() {
        let tmp = tempfile::tempdir().unwrap();
        let limits = ZipLimits {
            max_zip_size: 1 << 20,
            max_unzipped: 4096,
            max_go_mod: 10,
            max_license: 10,
        };
        let zip = build(tmp.path(), &[(&format!("{P}go.mod"), &[b'x'; 11])]);
        let p = problems(check_zip(&zip, M, V, &limits).unwrap_err());
        assert!(p[0].reason.contains("go.mod file too large"), "{p:?}");
        let zip = build(tmp.path(), &[(&format!("{P}LICENSE"), &[b'x'; 11])]);
        let p = problems(check_zip(&zip, M, V, &limits).unwrap_err());
        assert!(p[0].reason.contains("LICENSE file too large"), "{p:?}");
        // Only the root LICENSE is capped.
        let zip = build(tmp.path(), &[(&format!("{P}sub/LICENSE"), &[b'x'; 11])]);
        check_zip(&zip, M, V, &limits).unwrap();
        let zip = build(
            tmp.path(),
            &[
                (&format!("{P}a"), &[0; 2048]),
                (&format!("{P}b"), &[0; 2049]),
            ],
        );
        let err = check_zip(&zip, M, V, &limits).unwrap_err();
        assert!(matches!(err, ModError::UnzippedTooLarge { .. }), "{err:?}");
        let small = ZipLimits {
            max_zip_size: 100,
            ..limits
        };
        let zip = build(tmp.path(), &[(&format!("{P}a"), b"hello")]);
        let err = check_zip(&zip, M, V, &small).unwrap_err();
        assert!(matches!(err, ModError::ZipTooLarge { .. }), "{err:?}");
    }

    /// A 16 MiB bomb (about 1000:1): rejected from its declared size before inflating.
    #[test]
    fn zip_bomb_caught_by_declared_size() {
        let tmp = tempfile::tempdir().unwrap();
        let zeros = vec![0u8; 16 << 20];
        let zip = build(tmp.path(), &[(&format!("{P}bomb"), &zeros)]);
        assert!(fsx::metadata(&zip).unwrap().len() < 64 << 10);
        let limits = ZipLimits {
            max_unzipped: 1 << 20,
            ..ZipLimits::default()
        };
        let dest = tmp.path().join("out");
        let err = check_and_extract(&zip, M, V, &dest, &limits).unwrap_err();
        assert!(matches!(err, ModError::UnzippedTooLarge { .. }), "{err:?}");
        assert!(!dest.exists(), "nothing written before the check fails");
    }

    /// A bomb that lies about its size: stopped after declared+1 bytes.
    #[test]
    fn size_lie_is_caught_and_dest_removed() {
        let tmp = tempfile::tempdir().unwrap();
        let zeros = vec![0u8; 16 << 20];
        let zip = build(
            tmp.path(),
            &[
                (&format!("{P}ok.go"), b"package m\n"),
                (&format!("{P}bomb"), &zeros),
            ],
        );
        patch_declared_size(&zip, 10);
        check_zip(&zip, M, V, &ZipLimits::default()).unwrap();
        let dest = tmp.path().join("out");
        let err = check_and_extract(&zip, M, V, &dest, &ZipLimits::default()).unwrap_err();
        // Either our declared+1 guard or the zip crate's own size check fires.
        match &err {
            ModError::SizeMismatch {
                entry, declared, ..
            } => {
                assert_eq!(entry, &format!("{P}bomb"));
                assert_eq!(*declared, 10);
            }
            ModError::Zip { entry, .. } => assert_eq!(entry.as_deref(), Some(&*format!("{P}bomb"))),
            other => panic!("{other:?}"),
        }
        assert!(err.to_string().contains("example.com/m@v1.0.0"));
        assert!(!dest.exists(), "partial extraction removed");
    }

    #[test]
    fn short_data_is_caught() {
        let tmp = tempfile::tempdir().unwrap();
        let zip = build(tmp.path(), &[(&format!("{P}x"), b"0123456789")]);
        patch_declared_size(&zip, 20);
        let dest = tmp.path().join("out");
        let err = check_and_extract(&zip, M, V, &dest, &ZipLimits::default()).unwrap_err();
        assert!(
            matches!(err, ModError::SizeMismatch { .. } | ModError::Zip { .. }),
            "{err:?}"
        );
        assert!(!dest.exists());
    }

    #[test]
    fn dest_must_not_exist() {
        let tmp = tempfile::tempdir().unwrap();
        let zip = build(tmp.path(), &[(&format!("{P}x.go"), b"package m\n")]);
        let dest = tmp.path().join("out");
        fsx::create_dir(&dest).unwrap();
        fsx::write(dest.join("keep"), "mine").unwrap();
        let err = check_and_extract(&zip, M, V, &dest, &ZipLimits::default()).unwrap_err();
        assert!(matches!(err, ModError::DestExists { .. }), "{err:?}");
        assert_eq!(fsx::read_to_string(dest.join("keep")).unwrap(), "mine");
    }

    #[test]
    fn module_version_is_checked() {
        let tmp = tempfile::tempdir().unwrap();
        let zip = build(tmp.path(), &[("example.com/m@v1.0/x", b"x")]);
        let err = check_zip(&zip, M, "v1.0", &ZipLimits::default()).unwrap_err();
        assert!(matches!(err, ModError::InvalidVersion { .. }), "{err:?}");
        let err = check_zip(&zip, "example.com/m/v2", V, &ZipLimits::default()).unwrap_err();
        assert!(matches!(err, ModError::InvalidVersion { .. }), "{err:?}");
    }

    #[test]
    fn all_problems_reported_with_names() {
        let tmp = tempfile::tempdir().unwrap();
        let zip = build(
            tmp.path(),
            &[
                (&format!("{P}ok.go"), b"package m\n"),
                (&format!("{P}sub/go.mod"), b"module x\n"),
                ("evil/../../x", b""),
            ],
        );
        let err = check_zip(&zip, M, V, &ZipLimits::default()).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("example.com/m@v1.0.0"), "{msg}");
        assert!(
            msg.contains("sub/go.mod: go.mod file not in module root"),
            "{msg}"
        );
        assert!(
            msg.contains("evil/../../x: path does not have prefix"),
            "{msg}"
        );
    }

    #[test]
    fn clean_matches_go() {
        for (p, want) in [
            ("", "."),
            ("a/b", "a/b"),
            ("a//b", "a/b"),
            ("a/./b", "a/b"),
            ("a/../b", "b"),
            ("../a", "../a"),
            ("/../a", "/a"),
            ("a/", "a"),
            ("/", "/"),
            ("a/b/../..", "."),
        ] {
            assert_eq!(go_path_clean(p), want, "{p:?}");
        }
    }
}
