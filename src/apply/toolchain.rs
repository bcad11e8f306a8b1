//! Installing one toolchain: open the archive from the first source that has
//! it, verify and extract it in one pass into staging, check its shape, then
//! rename it into place under the transaction.
//!
//! Sources are tried in order: the content-addressed cache
//! (`<root>/cache/<sha256>`), then the lockfile's mirrors. An HTTP mirror's
//! body is extracted while it arrives (no second read of the archive) and
//! teed into `<root>/cache/<sha256>.partial`, which becomes the cache entry
//! once the sha256 matched, for later applies and `golock bundle`.

use std::io::Read;
use std::path::{Path, PathBuf};

use super::{ApplyError, Options};
use crate::apply::manifest::Manifest;
use crate::archive::{self, ArchiveError};
use crate::fetch::{self, FetchError, Http, Limit, ResumingDownload, Source};
use crate::fsx::{self, Context, File, ResultExt};
use crate::host::layout::Layout;
use crate::plan::Action;
use crate::signing::{self, SignatureError, Verifier, VerifyingReader};
use crate::txn::Transaction;
use crate::txn::checkpoint::{self, Checkpoint, FileStep, RenameStep};
use crate::txn::interrupt::{self, Interrupted};

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum ToolchainError {
    #[error("no source has {file}:\n{}", tried.join("\n"))]
    #[diagnostic(code(golock::toolchain::not_found))]
    NotFound {
        file: String,
        tried: Vec<String>,
        #[help]
        help: String,
    },
    #[error("{} is {actual} bytes, golock.toml says {expected}", path.display())]
    #[diagnostic(
        code(golock::toolchain::size_mismatch),
        help(
            "the archive is not the one that was locked; nothing was installed. If it was \
             replaced on purpose, run `golock lock --update` to lock its new checksum"
        )
    )]
    SizeMismatch {
        path: PathBuf,
        expected: u64,
        actual: u64,
    },
    #[error("checksum mismatch for {}:\n  expected sha256 {expected}\n  actual   sha256 {actual}", path.display())]
    #[diagnostic(
        code(golock::toolchain::checksum_mismatch),
        help(
            "the archive is not the one that was locked; nothing was installed. If it was \
             replaced on purpose, run `golock lock --update` to lock its new checksum"
        )
    )]
    ChecksumMismatch {
        path: PathBuf,
        expected: String,
        actual: String,
    },
    #[error("{}: {source}", path.display())]
    #[diagnostic(code(golock::toolchain::archive))]
    Archive {
        path: PathBuf,
        #[source]
        #[diagnostic_source]
        source: ArchiveError,
    },
    #[error("{} is not a Go {version} distribution: {problem}", path.display())]
    #[diagnostic(
        code(golock::toolchain::shape),
        help("a Go archive holds one top-level go/ directory with VERSION and bin/go")
    )]
    Shape {
        path: PathBuf,
        version: String,
        problem: String,
    },
    #[error(
        "No space left on device: cannot write {}\n  the toolchain needs about {needed} bytes ({basis}); {} free",
        path.display(),
        available.map_or("unknown".to_string(), |b| format!("{b} bytes"))
    )]
    #[diagnostic(
        code(golock::toolchain::no_space),
        help(
            "nothing was installed. Free space on the filesystem of {}, or pass --root on a larger one",
            path.display()
        )
    )]
    NoSpace {
        path: PathBuf,
        needed: u64,
        /// What `needed` is: the archive's unpacked size, or its own size.
        basis: &'static str,
        available: Option<u64>,
    },
    #[error(transparent)]
    #[diagnostic(transparent)]
    Signature(#[from] SignatureError),
    #[error(transparent)]
    #[diagnostic(transparent)]
    Fs(#[from] fsx::FsError),
    #[error(transparent)]
    #[diagnostic(transparent)]
    Interrupted(#[from] Interrupted),
}

/// Why one source gave no toolchain.
enum Failed {
    /// Something about this source: the next one may do.
    Source(String),
    /// The source has the file, but not the locked bytes (size or sha256):
    /// the archive may have been replaced on purpose.
    OtherBytes(String),
    /// The signature is missing, malformed, by a key not trusted (or no
    /// longer valid), or does not match the bytes.
    Signature(String),
    /// The local disk (full): no other source can help, so stop.
    Disk(ToolchainError),
}

impl From<ToolchainError> for Failed {
    fn from(e: ToolchainError) -> Failed {
        match e {
            ToolchainError::NoSpace { .. } => Failed::Disk(e),
            ToolchainError::Fs(ref fs) if is_disk_full(&fs.source) => Failed::Disk(e),
            ToolchainError::SizeMismatch { .. } | ToolchainError::ChecksumMismatch { .. } => {
                Failed::OtherBytes(reason(e))
            }
            ToolchainError::Signature(_) => Failed::Signature(reason(e)),
            other => Failed::Source(reason(other)),
        }
    }
}

fn is_disk_full(e: &std::io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::ENOSPC) | Some(libc::EDQUOT))
}

pub fn install(
    action: &Action,
    layout: &Layout,
    opts: &Options,
    txn: &mut Transaction,
) -> Result<(), ApplyError> {
    let (version, file, sha256, size, target, sources, replaces) = match action {
        Action::InstallToolchain {
            version,
            file,
            sha256,
            size,
            target,
            sources,
            replaces,
            ..
        } => (
            version,
            file,
            sha256,
            size,
            target,
            sources,
            replaces.is_some(),
        ),
        Action::ReinstallToolchain {
            version,
            file,
            sha256,
            size,
            target,
            sources,
            ..
        } => (version, file, sha256, size, target, sources, true),
        _ => return Ok(()),
    };
    let dest = txn.staging()?.join(format!("go{version}"));
    let (path, files) = extract_from_first_good(file, sha256, *size, sources, layout, &dest, opts)?;
    check_shape(&path, &dest, version)?;
    let manifest = Manifest::from_written(&files, Path::new("go"));
    crate::apply::settle::sync_data(opts.sync, &dest).map_err(ToolchainError::from)?;
    checkpoint::reach(Checkpoint::AfterStaging);
    interrupt::check()?;
    // The old tree stays aside (restored by a rollback) until commit.
    if replaces && fsx::exists_no_follow(target) {
        txn.move_aside(target, RenameStep::ToolchainAside)?;
    }
    txn.install_tree(&dest.join("go"), target, RenameStep::Toolchain)?;
    let dir_name = format!("go{version}");
    txn.write_file(
        &layout.manifest_file(&dir_name),
        &manifest.to_bytes(),
        FileStep::Manifest,
    )?;
    Ok(())
}

/// Try the content-addressed cache, then every source in order, until one
/// gives an archive whose size and sha256 match; each failure is recorded
/// and the next source tried. Returns the archive's path (for messages) and
/// the files written.
fn extract_from_first_good(
    file: &str,
    sha256: &str,
    size: u64,
    sources: &[Source],
    layout: &Layout,
    dest: &Path,
    opts: &Options,
) -> Result<(PathBuf, Written), ToolchainError> {
    let cached = layout.archive_cache(sha256);
    let mut tried = Tried::default();
    let want = Wanted { file, sha256, size };
    // With signing keys, a cached archive counts only with its signature
    // (kept beside it when it was downloaded): it is checked again.
    let cache_usable = opts.signing_keys.is_empty()
        || signing::signature_paths(&cached).iter().any(|p| p.exists());
    if cache_usable && cached.exists() {
        fresh_dir(dest)?;
        match extract_one(&cached, dest, &want, opts) {
            Ok(files) => return Ok((cached, files)),
            Err(Failed::Disk(full)) => return Err(gave_up(dest, full)),
            // The locked bytes, but a signature refused (a key revoked
            // since): the archive stays, the sources are tried.
            Err(refused @ Failed::Signature(_)) => tried.record(&cached.display(), refused),
            Err(failed) => {
                interrupt::check()?; // stopped, not bad bytes: keep the archive
                let _ = fsx::remove_file_opt(&cached); // never keep bad bytes
                tried.record(&cached.display(), failed);
            }
        }
    }
    for source in sources {
        fresh_dir(dest)?;
        let got = match source {
            Source::Local(path) => {
                extract_one(path, dest, &want, opts).map(|files| (path.clone(), files))
            }
            Source::Http(url) => opts
                .http
                .http()
                .map_err(|e| Failed::Source(e.to_string()))
                .and_then(|client| extract_http(client, url, &cached, dest, &want, opts)),
        };
        match got {
            Ok(found) => return Ok(found),
            Err(Failed::Disk(full)) => return Err(gave_up(dest, full)),
            Err(failed) => {
                interrupt::check()?;
                tried.record(&source.describe(), failed);
            }
        }
    }
    fsx::remove_tree_opt(dest)?;
    if sources.is_empty() {
        tried
            .lines
            .push("  (golock.toml lists no [go] mirrors)".to_string());
    }
    Err(not_found(file, tried))
}

/// The sources that gave no toolchain, with why, for the error.
#[derive(Default)]
struct Tried {
    lines: Vec<String>,
    /// Some source had the file with other bytes than the locked ones.
    other_bytes: bool,
    /// Some source's signature was refused.
    signature: bool,
}

impl Tried {
    /// Record why `source` failed; only [`Failed::Source`] and
    /// [`Failed::OtherBytes`] reach here (a full disk stops the search).
    fn record(&mut self, source: &dyn std::fmt::Display, failed: Failed) {
        let reason = match failed {
            Failed::Source(reason) => reason,
            Failed::OtherBytes(reason) => {
                self.other_bytes = true;
                reason
            }
            Failed::Signature(reason) => {
                self.signature = true;
                reason
            }
            Failed::Disk(full) => full.to_string(),
        };
        self.lines.push(format!("  {source}: {reason}"));
    }
}

/// The error when no source gave the locked archive; when some source had
/// other bytes, the archive may have been replaced on purpose.
fn not_found(file: &str, tried: Tried) -> ToolchainError {
    let mut help = format!("put {file} in one of [go] mirrors, or pass --archive PATH");
    if tried.other_bytes {
        help.push_str(
            "; if the archive was replaced on purpose, run `golock lock --update` to lock its new checksum",
        );
    }
    if tried.signature {
        help.push_str(&format!(
            "; [go] signing_keys is set, so {file} also needs a valid detached signature by one of \
             those keys beside it ({file}.asc or {file}.sig)"
        ));
    }
    ToolchainError::NotFound {
        file: file.to_string(),
        tried: tried.lines,
        help,
    }
}

/// The disk is full: remove what was staged (freeing the space again) and
/// report it as it is.
fn gave_up(dest: &Path, mut full: ToolchainError) -> ToolchainError {
    let _ = fsx::remove_tree_opt(dest);
    if let ToolchainError::NoSpace { available, .. } = &mut full {
        *available = fsx::free_bytes(fsx::parent_of(dest));
    }
    full
}

/// What an extraction wrote, hashed on the way (for the install manifest).
type Written = Vec<archive::WrittenFile>;

/// The archive golock.toml locks: its file name, sha256 (hex) and size
/// (0: unknown).
struct Wanted<'a> {
    file: &'a str,
    sha256: &'a str,
    size: u64,
}

/// The verifier for `want`'s signature, read from `found` (where it came
/// from and its bytes; `None`: nowhere of `looked`); `None` when golock.toml
/// sets no signing keys. Refuses before any of the archive is read.
fn verifier(
    opts: &Options,
    want: &Wanted,
    found: Option<(String, Vec<u8>)>,
    looked: Vec<String>,
) -> Result<Option<Verifier>, SignatureError> {
    if opts.signing_keys.is_empty() {
        return Ok(None);
    }
    let Some((from, bytes)) = found else {
        return Err(SignatureError::Missing {
            file: want.file.to_string(),
            looked,
            keys: signing::describe_keys(&opts.signing_keys),
        });
    };
    Verifier::new(&opts.signing_keys, want.file, &from, &bytes).map(Some)
}

/// The signature beside a local archive: `<path>.asc`, else `<path>.sig`.
fn local_signature(opts: &Options, path: &Path, want: &Wanted) -> Result<Option<Verifier>, Failed> {
    if opts.signing_keys.is_empty() {
        return Ok(None);
    }
    let candidates = signing::signature_paths(path);
    let mut found = None;
    for candidate in &candidates {
        match fsx::read_capped_opt(candidate, signing::MAX_SIGNATURE_BYTES) {
            Ok(Some(bytes)) => {
                found = Some((candidate.display().to_string(), bytes));
                break;
            }
            Ok(None) => {}
            Err(e) => return Err(Failed::Signature(e.to_string())),
        }
    }
    let looked = candidates.iter().map(|p| p.display().to_string()).collect();
    verifier(opts, want, found, looked).map_err(|e| ToolchainError::from(e).into())
}

/// The signature beside an archive on an HTTP mirror: `<url>.asc`, else
/// `<url>.sig`, each capped; `None` when golock.toml sets no signing keys.
fn http_signature(opts: &Options, url: &str) -> Result<Option<HttpSignature>, Failed> {
    if opts.signing_keys.is_empty() {
        return Ok(None);
    }
    let (base, name) = url.rsplit_once('/').unwrap_or(("", url));
    let mirror = [Source::Http(base.to_string())];
    let looked = signing::SIGNATURE_SUFFIXES.map(|suffix| format!("{url}{suffix}"));
    for (suffix, at) in signing::SIGNATURE_SUFFIXES.iter().zip(&looked) {
        let rel = format!("{name}{suffix}");
        let got = fetch::fetch_bytes(&opts.http, &mirror, &rel, signing::MAX_SIGNATURE_BYTES)
            .map_err(|e| Failed::Signature(format!("{at}: {e}")))?;
        if let Some(bytes) = got {
            return Ok(Some(HttpSignature {
                suffix,
                found: Some((at.clone(), bytes)),
                looked: looked.to_vec(),
            }));
        }
    }
    Ok(Some(HttpSignature {
        suffix: "",
        found: None,
        looked: looked.to_vec(),
    }))
}

/// What [`http_signature`] found (or where it looked in vain).
struct HttpSignature {
    suffix: &'static str,
    found: Option<(String, Vec<u8>)>,
    looked: Vec<String>,
}

impl HttpSignature {
    /// A fresh verifier: each try reads the archive from its start.
    fn verifier(&self, opts: &Options, want: &Wanted) -> Result<Option<Verifier>, Failed> {
        verifier(opts, want, self.found.clone(), self.looked.clone())
            .map_err(|e| Failed::from(ToolchainError::from(e)))
    }

    /// Keep a verified archive's signature beside its cache entry
    /// (`<cache>/<sha256>.asc` or `.sig`), so a later apply checks it
    /// again; failing to only costs a download.
    fn keep(&self, cached: &Path) {
        if let Some((_, bytes)) = &self.found {
            let mut name = cached.as_os_str().to_owned();
            name.push(self.suffix);
            let _ = fsx::replace_file(Path::new(&name), bytes);
        }
    }
}

/// Open, size-check and extract one local archive into the empty `dest`,
/// hashing while extracting.
fn extract_one(path: &Path, dest: &Path, want: &Wanted, opts: &Options) -> Result<Written, Failed> {
    let archive = fsx::open(path).map_err(|e| Failed::Source(e.source.to_string()))?;
    check_size(path, &archive, want.size)?;
    let verifier = local_signature(opts, path, want)?;
    let total = archive.metadata().map(|m| m.len()).unwrap_or(0);
    let sizes = Sizes {
        archive: total,
        unpacked: gzip_isize(&archive, total),
    };
    Ok(extract_verified(
        path,
        archive,
        sizes,
        dest,
        want.sha256,
        verifier,
        opts,
    )?)
}

/// The archive's size and, when it can be told without reading it, the
/// size it unpacks to; for the "No space left" message.
#[derive(Clone, Copy)]
struct Sizes {
    archive: u64,
    unpacked: Option<u64>,
}

/// A gzip file's last four bytes (ISIZE): its uncompressed size mod 2^32.
/// Trusted only when not below the compressed size (a tar.gz of a Go
/// toolchain inflates about 4×; a wrapped ISIZE would look smaller).
fn gzip_isize(file: &File, len: u64) -> Option<u64> {
    use std::os::unix::fs::FileExt;
    let mut tail = [0u8; 4];
    file.read_exact_at(&mut tail, len.checked_sub(4)?).ok()?;
    let isize = u64::from(u32::from_le_bytes(tail));
    (isize >= len).then_some(isize)
}

/// Stream `url` straight into verify-and-extract (into the empty `dest`),
/// teeing the bytes into `<cache>/<sha256>.partial` (resumed when an earlier
/// try left one), which becomes `cached` once the sha256 matched. Network
/// failures keep the partial file for the next try; wrong bytes delete it.
/// A stream resumed from such a file that turns out wrong is fetched once
/// more from zero.
fn extract_http(
    http: &Http,
    url: &str,
    cached: &Path,
    dest: &Path,
    want: &Wanted,
    opts: &Options,
) -> Result<(PathBuf, Written), Failed> {
    let partial = fetch::partial_path(cached);
    fsx::create_dir_all(fsx::parent_of(cached)).map_err(ToolchainError::from)?;
    let signature = http_signature(opts, url)?;
    loop {
        let verifier = match &signature {
            Some(signature) => signature.verifier(opts, want)?,
            None => None,
        };
        let limit = match want.size {
            0 => Limit::AtMost(opts.limits.max_unpacked_bytes),
            size => Limit::Exact(size),
        };
        let mut stream = ResumingDownload::open(http, url, &partial, limit)
            .map_err(|e| tee_failure(e, &partial, want))?;
        let resumed = stream.resumed();
        let result = check_announced(stream.total(), want.size)
            .map_err(Failed::OtherBytes)
            .and_then(|()| extract_stream(url, &mut stream, dest, want, verifier, opts));
        let network_failure = stream.failure().map(|e| describe_fetch(e, &partial, want));
        match (result, network_failure) {
            (Ok(files), _) => {
                // Failing to keep a verified copy only costs a re-download.
                let _ = stream.persist(cached);
                if let Some(signature) = &signature {
                    signature.keep(cached);
                }
                return Ok((cached.to_path_buf(), files));
            }
            (Err(Failed::Disk(full)), _) => return Err(Failed::Disk(full)),
            (Err(_), Some(network)) => return Err(network),
            (Err(stopped), None) if interrupt::received().is_some() => return Err(stopped),
            (Err(bad_bytes), None) => {
                drop(stream);
                let _ = fsx::remove_file_opt(&partial); // never keep bad bytes
                if !resumed {
                    return Err(bad_bytes);
                }
                fresh_dir(dest)?;
            }
        }
    }
}

/// A download failure; a full disk under the `.partial` copy is the disk's.
fn tee_failure(e: FetchError, partial: &Path, want: &Wanted) -> Failed {
    describe_fetch(&e, partial, want)
}

fn describe_fetch(e: &FetchError, partial: &Path, want: &Wanted) -> Failed {
    match e {
        FetchError::Io { source, .. } if is_disk_full(source) => Failed::Disk(no_space(
            partial,
            Sizes {
                archive: want.size,
                unpacked: None,
            },
        )),
        other => Failed::Source(other.to_string()),
    }
}

/// The "No space left on device" error for a write to `path`.
fn no_space(path: &Path, sizes: Sizes) -> ToolchainError {
    let (needed, basis) = match sizes.unpacked {
        Some(n) => (n, "the archive's unpacked size"),
        None => (
            sizes.archive,
            "the archive's size; its unpacked size is larger",
        ),
    };
    ToolchainError::NoSpace {
        path: path.to_path_buf(),
        needed,
        basis,
        available: None, // measured once what was staged is gone
    }
}

/// A mirror announcing another size than golock.toml's serves another file.
fn check_announced(total: Option<u64>, expected: u64) -> Result<(), String> {
    match total {
        Some(actual) if expected != 0 && actual != expected => Err(format!(
            "the server announces {actual} bytes, golock.toml says {expected}"
        )),
        _ => Ok(()),
    }
}

fn extract_stream(
    url: &str,
    stream: &mut ResumingDownload,
    dest: &Path,
    want: &Wanted,
    verifier: Option<Verifier>,
    opts: &Options,
) -> Result<Written, Failed> {
    let total = stream.total().unwrap_or(0);
    let sizes = Sizes {
        archive: if want.size != 0 { want.size } else { total },
        unpacked: None,
    };
    let name = Path::new(url.rsplit('/').next().unwrap_or(url));
    Ok(extract_verified(
        name,
        stream,
        sizes,
        dest,
        want.sha256,
        verifier,
        opts,
    )?)
}

/// An empty directory at `dest`, whatever an earlier try left there.
fn fresh_dir(dest: &Path) -> Result<(), ToolchainError> {
    fsx::remove_tree_opt(dest)?;
    Ok(fsx::create_dir_all(dest)?)
}

/// A failed source's line in the final error.
fn reason(e: ToolchainError) -> String {
    match e {
        ToolchainError::ChecksumMismatch {
            expected, actual, ..
        } => format!("checksum mismatch: expected sha256 {expected}, got {actual}"),
        other => other.to_string(),
    }
}

fn check_size(path: &Path, archive: &File, expected: u64) -> Result<(), ToolchainError> {
    let actual = archive.metadata().ctx("stat", path)?.len();
    if expected != 0 && actual != expected {
        return Err(ToolchainError::SizeMismatch {
            path: path.to_path_buf(),
            expected,
            actual,
        });
    }
    Ok(())
}

/// Hash while extracting; with a `verifier`, the same bytes feed the
/// signature check. A mismatch of either removes what was staged. The
/// archive size (0: unknown) sizes the progress bar; a full disk is
/// reported with the space the archive needs.
fn extract_verified(
    path: &Path,
    archive: impl Read,
    sizes: Sizes,
    dest: &Path,
    expected: &str,
    mut verifier: Option<Verifier>,
    opts: &Options,
) -> Result<Written, ToolchainError> {
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    opts.reporter.on_archive_start(&name, sizes.archive);
    let source = VerifyingReader::new(archive, verifier.as_mut());
    let result = archive::extract_tar_gz(source, dest, &opts.limits, &mut |n| {
        opts.reporter.on_archive_progress(n)
    });
    opts.reporter.on_archive_done();
    let failure = match result {
        Ok(done) if hex::encode(done.sha256) == expected => match verifier.map(Verifier::finish) {
            None | Some(Ok(_)) => return Ok(done.files),
            Some(Err(refused)) => ToolchainError::Signature(refused),
        },
        Ok(done) => ToolchainError::ChecksumMismatch {
            path: path.to_path_buf(),
            expected: expected.to_string(),
            actual: hex::encode(done.sha256),
        },
        Err(ArchiveError::Write {
            path: written,
            source,
        }) if is_disk_full(&source) => no_space(&written, sizes),
        Err(source) => ToolchainError::Archive {
            path: path.to_path_buf(),
            source,
        },
    };
    fsx::remove_tree_opt(dest)?;
    Err(failure)
}

fn check_shape(path: &Path, dest: &Path, version: &str) -> Result<(), ToolchainError> {
    let problem = |problem: String| ToolchainError::Shape {
        path: path.to_path_buf(),
        version: version.to_string(),
        problem,
    };
    let top: Vec<String> = fsx::read_dir(dest)
        .with_op("list")?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    if top != ["go"] || !dest.join("go").is_dir() {
        return Err(problem(format!(
            "expected exactly one top-level directory go/, found: {}",
            top.join(", ")
        )));
    }
    let version_file = fsx::read_opt(&dest.join("go/VERSION"))?.unwrap_or_default();
    let first = String::from_utf8_lossy(
        version_file
            .split(|&b| b == b'\n')
            .next()
            .unwrap_or_default(),
    )
    .trim()
    .to_string();
    if first != format!("go{version}") {
        return Err(problem(format!(
            "go/VERSION says {first:?}, expected \"go{version}\""
        )));
    }
    if !dest.join("go/bin/go").is_file() {
        return Err(problem("go/bin/go is missing".to_string()));
    }
    Ok(())
}
