//! Reading a bundle: one streaming pass that writes (or discards) each member
//! while hashing it, then the checks against the manifest found at the end.

use std::cell::Cell;
use std::collections::HashMap;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::Path;
use std::rc::Rc;

use flate2::bufread::GzDecoder;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::fsx::{self, Context, File, FsError, ResultExt};

use super::error::{BundleError, Result};
use super::path::{PathSet, check_member_path};
use super::{
    FORMAT_VERSION, LOCKFILE_MEMBER, Limits, MANIFEST_MEMBER, Manifest, SIGNATURE_MEMBER, sign,
};

/// Size of raw reads from the bundle file and of content chunks.
const CHUNK_BYTES: usize = 256 * 1024;
/// Cap on `manifest.json.minisig` (a real one is about 300 bytes).
const MAX_SIGNATURE_BYTES: u64 = 64 * 1024;
/// Decompressed bytes allowed per entry beyond its content (header,
/// padding, PAX / GNU long-name records).
const TAR_OVERHEAD_PER_ENTRY: u64 = 4 * 1024;
/// Decompressed bytes allowed beyond the per-entry overhead.
const TAR_OVERHEAD_FIXED: u64 = 1024 * 1024;
/// Mode of unpacked members.
const MEMBER_MODE: u32 = 0o644;
/// Lines of the bundle's own golock.toml shown when it is the wrong one.
const HINT_LINES: usize = 6;
const HINT_LINE_CHARS: usize = 100;

/// Read `bundle` in one streaming pass into `dest`, then verify it.
///
/// `dest` must be an empty directory or not exist yet (its parent must).
/// Every member is written to `dest/<member path>` while hashed; files are
/// not synced, so the caller syncs before relying on them. Then the manifest
/// (the last member but its signature) is checked:
///
/// - its minisign signature against `trusted_keys` (minisign public keys, as
///   the second line of a `.pub` file: `RW…`). An unsigned bundle, one signed
///   by another key, or one whose manifest was altered after signing is
///   refused. **When `trusted_keys` is empty, any signature is ignored** and
///   the bundle is only checked for internal consistency;
/// - every member's size and sha256, and that the bundle holds exactly the
///   members listed;
/// - the `golock.toml` member's sha256 against `expected_lockfile_sha256`.
///
/// Unsafe paths, links and special entries, duplicates and size caps are
/// refused as they are met, before anything is written for them. On any
/// error `dest` may hold partial content: the caller discards it.
pub fn unpack_verified(
    bundle: &Path,
    dest: &Path,
    expected_lockfile_sha256: &str,
    trusted_keys: &[String],
    limits: &Limits,
) -> Result<Manifest> {
    prepare_dest(dest)?;
    let scan = scan(bundle, Some(dest), limits)?;
    let manifest_bytes = scan
        .manifest
        .as_deref()
        .ok_or(BundleError::MissingManifest)?;
    sign::verify_manifest(manifest_bytes, scan.signature.as_deref(), trusted_keys)?;
    let manifest = parse_manifest(manifest_bytes)?;
    check_members(&manifest, &scan.seen)?;
    check_lockfile(&manifest, expected_lockfile_sha256, dest)?;
    Ok(manifest)
}

/// Read the manifest of `bundle`, for planning. The whole bundle is read and
/// checked for structure and internal consistency (every member's size and
/// sha256 against the manifest), with default [`Limits`]; nothing is written,
/// and neither the signature nor the lockfile is checked.
#[cfg(test)]
pub fn read_manifest(bundle: &Path) -> Result<Manifest> {
    let scan = scan(bundle, None, &Limits::default())?;
    let manifest_bytes = scan
        .manifest
        .as_deref()
        .ok_or(BundleError::MissingManifest)?;
    let manifest = parse_manifest(manifest_bytes)?;
    check_members(&manifest, &scan.seen)?;
    Ok(manifest)
}

fn prepare_dest(dest: &Path) -> Result<()> {
    match fsx::read_dir(dest) {
        Ok(mut entries) => match entries.next() {
            None => Ok(()),
            Some(_) => Err(BundleError::DestNotEmpty {
                path: dest.to_path_buf(),
            }),
        },
        Err(e) if e.is_not_found() => Ok(fsx::create_dir(dest)?),
        Err(e) => Err(BundleError::from(FsError {
            op: "open directory",
            ..e
        })),
    }
}

/// A content member as found in the bundle.
#[derive(Debug)]
struct Seen {
    path: String,
    size: u64,
    sha256: String,
}

/// What one pass over a bundle found.
#[derive(Debug, Default)]
struct Scan {
    seen: Vec<Seen>,
    manifest: Option<Vec<u8>>,
    signature: Option<Vec<u8>>,
}

/// Where the pass is in the fixed member order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Content,
    AfterManifest,
    AfterSignature,
}

/// Why a read from the stream failed, when it was not the gzip or tar layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    Source,
    Cap,
}

type Faults = Rc<Cell<Option<Fault>>>;

/// The pass state: member order, paths, running totals, output.
struct Scanner<'a> {
    dest: Option<&'a Path>,
    limits: &'a Limits,
    phase: Phase,
    paths: PathSet,
    total: u64,
    scan: Scan,
}

fn scan(bundle: &Path, dest: Option<&Path>, limits: &Limits) -> Result<Scan> {
    let file = fsx::open(bundle)?;
    let faults: Faults = Rc::default();
    let source = BufReader::with_capacity(
        CHUNK_BYTES,
        TaggedReader::new(file, Fault::Source, faults.clone()),
    );
    let decoded = CappedReader::new(GzDecoder::new(source), stream_cap(limits), faults.clone());
    let mut archive = tar::Archive::new(decoded);
    let mut scanner = Scanner {
        dest,
        limits,
        phase: Phase::Content,
        paths: PathSet::default(),
        total: 0,
        scan: Scan::default(),
    };
    let stream_error = |e: io::Error| classify(e, bundle, &faults, limits);
    for entry in archive.entries().map_err(stream_error)? {
        let entry = entry.map_err(stream_error)?;
        scanner.accept(entry, &stream_error)?;
    }
    finish_stream(archive.into_inner(), &stream_error)?;
    Ok(scanner.scan)
}

/// Cap on the decompressed tar stream implied by `limits`.
fn stream_cap(limits: &Limits) -> u64 {
    let entries = limits.max_members.saturating_add(2);
    limits
        .max_total_bytes
        .saturating_add(limits.max_manifest_bytes)
        .saturating_add(MAX_SIGNATURE_BYTES)
        .saturating_add(entries.saturating_mul(TAR_OVERHEAD_PER_ENTRY))
        .saturating_add(TAR_OVERHEAD_FIXED)
}

/// After the tar end marker: only zero padding, then the gzip trailer (read
/// to check its CRC and length), then nothing.
fn finish_stream(
    mut decoded: CappedReader<GzDecoder<BufReader<TaggedReader<File>>>>,
    stream_error: &impl Fn(io::Error) -> BundleError,
) -> Result<()> {
    let mut buf = vec![0u8; CHUNK_BYTES];
    loop {
        let n = decoded.read(&mut buf).map_err(stream_error)?;
        if n == 0 {
            break;
        }
        if buf[..n].iter().any(|&b| b != 0) {
            return Err(corrupt("data after the end of the tar archive"));
        }
    }
    let mut rest = decoded.into_inner().into_inner();
    let trailing = rest.fill_buf().map_err(stream_error)?;
    if !trailing.is_empty() {
        return Err(corrupt("data after the end of the gzip stream"));
    }
    Ok(())
}

fn corrupt(detail: impl Into<String>) -> BundleError {
    BundleError::Corrupt {
        detail: detail.into(),
    }
}

/// Map a stream error onto the layer it came from.
fn classify(e: io::Error, bundle: &Path, faults: &Faults, limits: &Limits) -> BundleError {
    match faults.get() {
        Some(Fault::Source) => BundleError::Read {
            path: bundle.to_path_buf(),
            source: e,
        },
        Some(Fault::Cap) => BundleError::LimitExceeded {
            path: "(whole bundle)".to_owned(),
            detail: format!(
                "the decompressed stream exceeds {} bytes",
                stream_cap(limits)
            ),
        },
        None if is_truncation(&e) => BundleError::Truncated {
            detail: e.to_string(),
        },
        None => corrupt(e.to_string()),
    }
}

fn is_truncation(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::UnexpectedEof
        || e.to_string().contains("failed to read entire block")
}

impl Scanner<'_> {
    fn accept<R: Read>(
        &mut self,
        mut entry: tar::Entry<'_, R>,
        stream_error: &impl Fn(io::Error) -> BundleError,
    ) -> Result<()> {
        let path = entry_path(&entry)?;
        check_entry_kind(entry.header().entry_type(), &path)?;
        let size = entry.size();
        match (self.phase, path.as_str()) {
            (Phase::Content, MANIFEST_MEMBER) => {
                let bytes = read_small(&mut entry, &path, size, self.limits.max_manifest_bytes);
                self.scan.manifest = Some(bytes.map_err(|e| or_stream(e, stream_error))?);
                self.phase = Phase::AfterManifest;
            }
            (Phase::AfterManifest, SIGNATURE_MEMBER) => {
                let bytes = read_small(&mut entry, &path, size, MAX_SIGNATURE_BYTES);
                self.scan.signature = Some(bytes.map_err(|e| or_stream(e, stream_error))?);
                self.phase = Phase::AfterSignature;
            }
            (Phase::Content, _) => self.accept_content(&mut entry, path, size, stream_error)?,
            (Phase::AfterManifest | Phase::AfterSignature, _) => {
                return Err(misplaced(
                    path,
                    "nothing but its signature may follow manifest.json",
                ));
            }
        }
        Ok(())
    }

    fn accept_content<R: Read>(
        &mut self,
        entry: &mut tar::Entry<'_, R>,
        path: String,
        size: u64,
        stream_error: &impl Fn(io::Error) -> BundleError,
    ) -> Result<()> {
        if self.scan.seen.is_empty() && path != LOCKFILE_MEMBER {
            return Err(misplaced(path, "the first member must be golock.toml"));
        }
        if path == SIGNATURE_MEMBER {
            return Err(misplaced(path, "the signature must follow manifest.json"));
        }
        self.paths.insert(&path)?;
        self.check_limits(&path, size)?;
        let target = self.dest.map(|d| d.join(&path));
        let (sha256, read) =
            copy_member(entry, target.as_deref()).map_err(|e| or_stream(e, stream_error))?;
        if read != size {
            return Err(BundleError::Truncated {
                detail: format!("member {path:?} has {read} of its {size} bytes"),
            });
        }
        self.total += size;
        self.scan.seen.push(Seen { path, size, sha256 });
        Ok(())
    }

    fn check_limits(&self, path: &str, size: u64) -> Result<()> {
        let limit = |detail: String| BundleError::LimitExceeded {
            path: path.to_owned(),
            detail,
        };
        let limits = self.limits;
        if self.scan.seen.len() as u64 >= limits.max_members {
            return Err(limit(format!("more than {} members", limits.max_members)));
        }
        if size > limits.max_member_bytes {
            return Err(limit(format!(
                "{size} bytes, over the cap of {} per member",
                limits.max_member_bytes
            )));
        }
        if is_archive_signature(path) && size > crate::signing::MAX_SIGNATURE_BYTES {
            return Err(limit(format!(
                "{size} bytes, over the cap of {} for an archive's signature",
                crate::signing::MAX_SIGNATURE_BYTES
            )));
        }
        if self.total.saturating_add(size) > limits.max_total_bytes {
            return Err(limit(format!(
                "members total more than {} bytes",
                limits.max_total_bytes
            )));
        }
        Ok(())
    }
}

/// An OpenPGP signature of a Go archive (`go/<file>.asc` or `.sig`).
fn is_archive_signature(path: &str) -> bool {
    path.starts_with("go/")
        && crate::signing::SIGNATURE_SUFFIXES
            .iter()
            .any(|suffix| path.ends_with(suffix))
}

fn misplaced(path: String, detail: &str) -> BundleError {
    BundleError::MisplacedMember {
        path,
        detail: detail.to_owned(),
    }
}

/// The entry's path: UTF-8 and safe, exactly as stored (no normalisation).
fn entry_path<R: Read>(entry: &tar::Entry<'_, R>) -> Result<String> {
    let raw = entry.path_bytes();
    let path = std::str::from_utf8(&raw).map_err(|_| BundleError::UnsafePath {
        path: String::from_utf8_lossy(&raw).into_owned(),
        reason: "path is not UTF-8",
    })?;
    check_member_path(path)?;
    Ok(path.to_owned())
}

fn check_entry_kind(kind: tar::EntryType, path: &str) -> Result<()> {
    let name = match kind {
        tar::EntryType::Regular => return Ok(()),
        tar::EntryType::Symlink => "symbolic link".to_owned(),
        tar::EntryType::Link => "hard link".to_owned(),
        tar::EntryType::Directory => "directory".to_owned(),
        tar::EntryType::Char | tar::EntryType::Block => "device".to_owned(),
        tar::EntryType::Fifo => "FIFO".to_owned(),
        other => format!("special entry (type {:?})", other.as_byte() as char),
    };
    Err(BundleError::UnsupportedEntry {
        path: path.to_owned(),
        kind: name,
    })
}

/// A failure while copying a member: from the bundle stream, or writing out.
enum ContentError {
    Stream(io::Error),
    Bundle(BundleError),
}

/// Classify a stream failure by its layer; pass the others through.
fn or_stream(e: ContentError, stream_error: &impl Fn(io::Error) -> BundleError) -> BundleError {
    match e {
        ContentError::Stream(e) => stream_error(e),
        ContentError::Bundle(e) => e,
    }
}

/// Read a small member (manifest, signature) into memory, capped.
fn read_small(
    entry: &mut impl Read,
    path: &str,
    size: u64,
    cap: u64,
) -> std::result::Result<Vec<u8>, ContentError> {
    if size > cap {
        return Err(ContentError::Bundle(BundleError::LimitExceeded {
            path: path.to_owned(),
            detail: format!("{size} bytes, over the cap of {cap}"),
        }));
    }
    let mut bytes = Vec::new();
    entry
        .take(cap)
        .read_to_end(&mut bytes)
        .map_err(ContentError::Stream)?;
    if bytes.len() as u64 != size {
        return Err(ContentError::Stream(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            format!("member {path:?} has {} of its {size} bytes", bytes.len()),
        )));
    }
    Ok(bytes)
}

/// Copy a member to `target` (if any) while hashing; (sha256, bytes read).
fn copy_member(
    entry: &mut impl Read,
    target: Option<&Path>,
) -> std::result::Result<(String, u64), ContentError> {
    let mut out = match target {
        Some(target) => Some(create_member_file(target).map_err(ContentError::Bundle)?),
        None => None,
    };
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; CHUNK_BYTES];
    let mut read = 0u64;
    loop {
        let n = entry.read(&mut buf).map_err(ContentError::Stream)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        read += n as u64;
        if let (Some(out), Some(target)) = (out.as_mut(), target) {
            out.write_all(&buf[..n])
                .ctx("write", target)
                .map_err(|e| ContentError::Bundle(e.into()))?;
        }
    }
    Ok((hex::encode(hasher.finalize()), read))
}

/// Create `target` (never existing: paths are unique and checked) and its
/// parent directories.
fn create_member_file(target: &Path) -> Result<File> {
    if let Some(parent) = target.parent() {
        fsx::create_dir_all(parent)?;
    }
    let file = fsx::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(MEMBER_MODE)
        .open(target);
    Ok(file.with_op("create")?)
}

/// Only `format_version`, read before the rest so a newer format is
/// reported as such rather than as unknown fields.
#[derive(Deserialize)]
struct VersionProbe {
    format_version: u32,
}

/// Parse `manifest.json` and check its own consistency.
fn parse_manifest(bytes: &[u8]) -> Result<Manifest> {
    let bad = |detail: String| BundleError::BadManifest { detail };
    let probe: VersionProbe = serde_json::from_slice(bytes).map_err(|e| bad(e.to_string()))?;
    if probe.format_version != FORMAT_VERSION {
        return Err(BundleError::UnsupportedFormat {
            found: probe.format_version,
            supported: FORMAT_VERSION,
        });
    }
    let manifest: Manifest = serde_json::from_slice(bytes).map_err(|e| bad(e.to_string()))?;
    check_manifest(&manifest)?;
    Ok(manifest)
}

fn check_manifest(manifest: &Manifest) -> Result<()> {
    let bad = |detail: String| BundleError::BadManifest { detail };
    let first = manifest
        .members
        .first()
        .filter(|m| m.path == LOCKFILE_MEMBER)
        .ok_or_else(|| bad("the first member is not golock.toml".to_owned()))?;
    if first.sha256 != manifest.lockfile_sha256 {
        return Err(bad(
            "lockfile_sha256 differs from the golock.toml member's sha256".to_owned(),
        ));
    }
    let mut paths = PathSet::default();
    for member in &manifest.members {
        check_member_path(&member.path)?;
        paths.insert(&member.path)?;
        if member.path == MANIFEST_MEMBER || member.path == SIGNATURE_MEMBER {
            return Err(bad(format!("it lists the reserved name {:?}", member.path)));
        }
        if !is_sha256_hex(&member.sha256) {
            return Err(bad(format!(
                "member {:?} has a malformed sha256",
                member.path
            )));
        }
    }
    Ok(())
}

fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// The bundle holds exactly the manifest's members, each as listed.
fn check_members(manifest: &Manifest, seen: &[Seen]) -> Result<()> {
    let listed: HashMap<&str, _> = manifest
        .members
        .iter()
        .map(|m| (m.path.as_str(), m))
        .collect();
    for found in seen {
        let Some(expected) = listed.get(found.path.as_str()) else {
            return Err(BundleError::ExtraMember {
                path: found.path.clone(),
            });
        };
        if expected.size != found.size || expected.sha256 != found.sha256 {
            return Err(BundleError::MemberMismatch {
                path: found.path.clone(),
                expected_size: expected.size,
                expected_sha256: expected.sha256.clone(),
                actual_size: found.size,
                actual_sha256: found.sha256.clone(),
            });
        }
    }
    let present: HashMap<&str, ()> = seen.iter().map(|s| (s.path.as_str(), ())).collect();
    match manifest
        .members
        .iter()
        .find(|m| !present.contains_key(m.path.as_str()))
    {
        Some(missing) => Err(BundleError::MissingMember {
            path: missing.path.clone(),
        }),
        None => Ok(()),
    }
}

/// The bundle's golock.toml is the one expected.
fn check_lockfile(manifest: &Manifest, expected: &str, dest: &Path) -> Result<()> {
    if manifest
        .lockfile_sha256
        .eq_ignore_ascii_case(expected.trim())
    {
        return Ok(());
    }
    Err(BundleError::WrongLockfile {
        found: manifest.lockfile_sha256.clone(),
        expected: expected.trim().to_ascii_lowercase(),
        hint: lockfile_hint(&dest.join(LOCKFILE_MEMBER)),
    })
}

/// The first lines of the bundle's golock.toml, to help tell which one it is.
fn lockfile_hint(path: &Path) -> String {
    let Ok(file) = fsx::open(path) else {
        return String::new();
    };
    let lines: Vec<String> = BufReader::new(file.take(16 * 1024))
        .lines()
        .map_while(std::result::Result::ok)
        .take(HINT_LINES)
        .map(|l| l.chars().take(HINT_LINE_CHARS).collect())
        .collect();
    if lines.is_empty() {
        return String::new();
    }
    let mut hint = String::from("\nthe bundle's golock.toml begins:");
    for line in lines {
        hint.push_str("\n  | ");
        hint.push_str(&line);
    }
    hint
}

/// Records `fault` in `faults` when a read from `inner` fails.
struct TaggedReader<R> {
    inner: R,
    fault: Fault,
    faults: Faults,
}

impl<R> TaggedReader<R> {
    fn new(inner: R, fault: Fault, faults: Faults) -> Self {
        Self {
            inner,
            fault,
            faults,
        }
    }
}

impl<R: Read> Read for TaggedReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner
            .read(buf)
            .inspect_err(|_| self.faults.set(Some(self.fault)))
    }
}

/// Fails (recording [`Fault::Cap`]) once more than `cap` bytes were read.
struct CappedReader<R> {
    inner: R,
    remaining: u64,
    faults: Faults,
}

impl<R> CappedReader<R> {
    fn new(inner: R, cap: u64, faults: Faults) -> Self {
        Self {
            inner,
            remaining: cap,
            faults,
        }
    }

    fn into_inner(self) -> R {
        self.inner
    }
}

impl<R: Read> Read for CappedReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        match self.remaining.checked_sub(n as u64) {
            Some(rest) => {
                self.remaining = rest;
                Ok(n)
            }
            None => {
                self.faults.set(Some(Fault::Cap));
                Err(io::Error::other("decompressed size cap exceeded"))
            }
        }
    }
}
