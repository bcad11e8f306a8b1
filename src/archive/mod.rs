//! Go distribution archives: safe, single-pass verify-and-extract.
//!
//! This module owns turning a `.tar.gz` byte stream into a directory tree:
//! it hashes every raw byte (SHA-256) while gunzipping and walking the tar
//! entries, enforces the entry policy (plain relative paths, regular files and
//! directories only, each path once, permission bits only) and the size and
//! count caps, and writes the tree under an empty destination directory.
//! Verifying the hash against the lockfile, cleaning up after errors and
//! syncing the filesystem are the caller's job.
//!
//! Not restored from the archive: owners, timestamps (files get the
//! extraction time), extended attributes.

mod error;
mod policy;
mod stream;
mod writer;

#[cfg(test)]
mod tests;

use std::ffi::OsStr;
use std::io::{BufReader, Read};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, SyncSender};
use std::thread;

use flate2::bufread::GzDecoder;

pub use error::ArchiveError;

use error::display_name;
use policy::{Conflict, EntryKind, PathRegistry};
use stream::{CappedReader, HashingReader};
use writer::Job;
pub use writer::WrittenFile;

/// Size of raw reads from the source and of file content chunks.
const CHUNK_BYTES: usize = 256 * 1024;
/// Threads creating and writing files. Two overlap the kernel's file
/// creation with inflating and hashing, and with each other where inode
/// allocation is slow (measured on ext4); more only adds contention on 2 cores.
const FILE_WRITER_THREADS: usize = 2;
/// Batches in flight per writer thread; a batch holds up to about
/// `2 * CHUNK_BYTES`, so memory stays below
/// `FILE_WRITER_THREADS * JOB_QUEUE_DEPTH * 2 * CHUNK_BYTES` (8 MiB).
const JOB_QUEUE_DEPTH: usize = 8;
/// Files per batch: small files travel together, so handing them to a
/// writer costs one wake-up per batch instead of one per file.
const BATCH_FILES: usize = 32;
/// Decompressed bytes allowed per entry beyond its content: header, padding,
/// and typical PAX / GNU long-name records.
const TAR_OVERHEAD_PER_ENTRY: u64 = 4 * 1024;
/// Decompressed bytes allowed beyond the per-entry overhead: end-of-archive
/// blocks and record padding (GNU tar pads to 10 KiB).
const TAR_OVERHEAD_FIXED: u64 = 1024 * 1024;
/// Mode of directories the archive implies but does not list.
const IMPLIED_DIR_MODE: u32 = 0o755;
/// Owner bits every extracted directory keeps, so extraction can fill it and
/// the caller can delete the tree again.
const DIR_OWNER_BITS: u32 = 0o700;
const PERMISSION_BITS: u32 = 0o777;

/// Caps protecting the host from hostile or broken archives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Cap on the sum of the sizes of all entries.
    pub max_unpacked_bytes: u64,
    /// Cap on the number of files and directories.
    pub max_entries: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_unpacked_bytes: 1024 * 1024 * 1024,
            max_entries: 100_000,
        }
    }
}

impl Limits {
    /// Cap on the whole decompressed tar stream (content plus tar metadata),
    /// derived from the other two caps.
    pub fn max_decompressed_stream_bytes(&self) -> u64 {
        self.max_unpacked_bytes
            .saturating_add(self.max_entries.saturating_mul(TAR_OVERHEAD_PER_ENTRY))
            .saturating_add(TAR_OVERHEAD_FIXED)
    }
}

/// What one successful extraction read and wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extracted {
    /// SHA-256 of every byte of the source, including any after the gzip member.
    pub sha256: [u8; 32],
    /// Bytes read from the source.
    pub compressed_bytes: u64,
    /// Sum of the sizes of all entries.
    pub unpacked_bytes: u64,
    /// Files and directories listed in the archive.
    pub entries: u64,
    /// Every regular file written, with its content hash and mode.
    pub files: Vec<WrittenFile>,
}

/// Reads `source` exactly once, start to EOF: hashes every raw byte (SHA-256),
/// gunzips, walks tar entries and writes them under `dest` (an existing, empty
/// directory). `on_progress` receives the raw bytes read so far.
///
/// On error `dest` may hold partial output; the caller removes it.
pub fn extract_tar_gz<R: Read>(
    source: R,
    dest: &Path,
    limits: &Limits,
    on_progress: &mut dyn FnMut(u64),
) -> Result<Extracted, ArchiveError> {
    let raw = BufReader::with_capacity(CHUNK_BYTES, HashingReader::new(source, on_progress));
    let tar_stream = CappedReader::new(GzDecoder::new(raw), limits.max_decompressed_stream_bytes());
    let (senders, queues): (Vec<_>, Vec<_>) = (0..FILE_WRITER_THREADS)
        .map(|_| mpsc::sync_channel(JOB_QUEUE_DEPTH))
        .unzip();
    // Read before the writers start: reading the umask briefly changes it.
    let umask = (!crate::fsx::has_default_acl(dest)).then(crate::fsx::umask);
    let (produced, written) = thread::scope(|scope| {
        let writers: Vec<_> = queues
            .into_iter()
            .map(|queue| scope.spawn(move || writer::run(dest, queue, umask)))
            .collect();
        let produced = read_all_entries(tar_stream, dest, limits, FileQueues::new(senders));
        // Joins every writer, keeping the first failure.
        let written = writers
            .into_iter()
            .map(|writer| {
                writer
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .try_fold(Vec::new(), |mut all, files| {
                all.extend(files?);
                Ok(all)
            });
        (produced, written)
    });
    let (hashing, totals, files) = match (produced, written) {
        (Ok((hashing, totals)), Ok(files)) => (hashing, totals, files),
        (Err(Stop::Archive(error)), _) | (Ok(_), Err(error)) => return Err(error),
        (Err(Stop::WriterGone), written) => return Err(writer_failure(dest, written)),
    };
    let (sha256, compressed_bytes) = hashing.finish();
    Ok(Extracted {
        sha256,
        compressed_bytes,
        unpacked_bytes: totals.unpacked_bytes,
        entries: totals.entries,
        files,
    })
}

type TarStream<'p, R> = CappedReader<GzDecoder<BufReader<HashingReader<'p, R>>>>;

/// Why reading entries stopped early.
enum Stop {
    Archive(ArchiveError),
    /// A writer thread hung up; its own result says why.
    WriterGone,
}

impl From<ArchiveError> for Stop {
    fn from(error: ArchiveError) -> Self {
        Stop::Archive(error)
    }
}

#[derive(Default)]
struct Totals {
    entries: u64,
    unpacked_bytes: u64,
}

/// Hands batches of files to the writer threads in turn; all chunks of a
/// file go to the writer that created it (a batch is only sent, and the
/// writer switched, between files or when it holds a chunk's worth).
struct FileQueues {
    senders: Vec<SyncSender<Vec<Job>>>,
    current: usize,
    batch: Vec<Job>,
    batch_files: usize,
    batch_bytes: usize,
    /// A batch went to the current writer: the next file goes to the next.
    sent: bool,
}

impl FileQueues {
    fn new(senders: Vec<SyncSender<Vec<Job>>>) -> Self {
        Self {
            senders,
            current: 0,
            batch: Vec::new(),
            batch_files: 0,
            batch_bytes: 0,
            sent: false,
        }
    }

    fn start_file(&mut self, job: Job) -> Result<(), Stop> {
        if self.batch_files >= BATCH_FILES {
            self.flush()?;
        }
        if self.sent {
            self.flush()?; // the rest of the last file stays with its writer
            self.current = (self.current + 1) % self.senders.len();
            self.sent = false;
        }
        self.batch_files += 1;
        self.continue_file(job)
    }

    fn continue_file(&mut self, job: Job) -> Result<(), Stop> {
        self.batch_bytes += match &job {
            Job::File { chunk, .. } | Job::Append(chunk) => chunk.len(),
        };
        self.batch.push(job);
        if self.batch_bytes >= CHUNK_BYTES {
            self.flush()?;
        }
        Ok(())
    }

    /// Send what is batched to the current writer.
    fn flush(&mut self) -> Result<(), Stop> {
        self.batch_files = 0;
        self.batch_bytes = 0;
        if self.batch.is_empty() {
            return Ok(());
        }
        let batch = std::mem::take(&mut self.batch);
        self.sent = true;
        self.senders[self.current]
            .send(batch)
            .map_err(|_| Stop::WriterGone)
    }
}

/// Walks every entry, creating directories and queueing files, then reads
/// the source to EOF.
fn read_all_entries<'p, R: Read>(
    tar_stream: TarStream<'p, R>,
    dest: &Path,
    limits: &Limits,
    mut files: FileQueues,
) -> Result<(HashingReader<'p, R>, Totals), Stop> {
    let mut archive = tar::Archive::new(tar_stream);
    let totals = walk_entries(&mut archive, dest, limits, &mut files)?;
    files.flush()?;
    // Lets the writers finish while the gzip trailer is being read.
    drop(files);
    let hashing = read_to_eof(archive.into_inner())?;
    Ok((hashing, totals))
}

fn walk_entries<S: Read>(
    archive: &mut tar::Archive<S>,
    dest: &Path,
    limits: &Limits,
    files: &mut FileQueues,
) -> Result<Totals, Stop> {
    let mut totals = Totals::default();
    let mut registry = PathRegistry::default();
    let entries = archive.entries().map_err(ArchiveError::from_reader_chain)?;
    for entry in entries {
        crate::txn::interrupt::check().map_err(ArchiveError::from)?;
        let mut entry = entry.map_err(ArchiveError::from_reader_chain)?;
        let raw_name = entry.path_bytes().into_owned();
        let kind = policy::classify(entry.header().entry_type()).map_err(|kind| {
            ArchiveError::UnsupportedEntry {
                path: display_name(&raw_name),
                kind,
            }
        })?;
        if kind == EntryKind::GlobalMetadata {
            continue;
        }
        let size = entry.size();
        count_entry(&mut totals, &raw_name, size, limits)?;
        let name =
            policy::normalise(&raw_name, kind).map_err(|reason| ArchiveError::UnsafePath {
                path: display_name(&raw_name),
                reason,
            })?;
        let mode = entry_mode(entry.header(), &raw_name)?;
        create_dirs(&mut registry, dest, name, kind, mode)?;
        if kind == EntryKind::File {
            queue_file(&mut entry, name, mode, size, files)?;
        }
    }
    Ok(totals)
}

fn count_entry(
    totals: &mut Totals,
    raw_name: &[u8],
    size: u64,
    limits: &Limits,
) -> Result<(), ArchiveError> {
    totals.entries += 1;
    if totals.entries > limits.max_entries {
        return Err(ArchiveError::TooManyEntries {
            path: display_name(raw_name),
            cap: limits.max_entries,
        });
    }
    totals.unpacked_bytes = totals
        .unpacked_bytes
        .checked_add(size)
        .filter(|&total| total <= limits.max_unpacked_bytes)
        .ok_or_else(|| ArchiveError::UnpackedTooLarge {
            path: display_name(raw_name),
            cap: limits.max_unpacked_bytes,
        })?;
    Ok(())
}

/// Permission bits only: setuid, setgid and sticky are dropped.
fn entry_mode(header: &tar::Header, raw_name: &[u8]) -> Result<u32, ArchiveError> {
    let mode = header.mode().map_err(|e| ArchiveError::Corrupt {
        detail: format!(
            "entry {:?} has an unreadable mode: {e}",
            display_name(raw_name)
        ),
    })?;
    Ok(mode & PERMISSION_BITS)
}

/// Claims `name` and creates its missing parent directories and, for a
/// directory entry, the directory itself.
fn create_dirs(
    registry: &mut PathRegistry,
    dest: &Path,
    name: &[u8],
    kind: EntryKind,
    mode: u32,
) -> Result<(), ArchiveError> {
    let claim = registry
        .claim(name, kind)
        .map_err(|conflict| match conflict {
            Conflict::Duplicate => ArchiveError::DuplicatePath {
                path: display_name(name),
            },
            Conflict::UnderFile { ancestor } => ArchiveError::PathUnderFile {
                path: display_name(name),
                ancestor: display_name(&ancestor),
            },
        })?;
    for parent in claim.missing_parents {
        writer::create_dir(dest, &relative_path(&parent), IMPLIED_DIR_MODE)?;
    }
    if kind == EntryKind::Dir && claim.create_entry {
        writer::create_dir(dest, &relative_path(name), mode | DIR_OWNER_BITS)?;
    }
    Ok(())
}

/// Streams the entry's content to the writer in chunks, so memory stays
/// bounded whatever the file size.
fn queue_file(
    entry: &mut impl Read,
    name: &[u8],
    mode: u32,
    size: u64,
    files: &mut FileQueues,
) -> Result<(), Stop> {
    let mut remaining = size;
    let first = read_chunk(entry, &mut remaining, name)?;
    let path = relative_path(name);
    files.start_file(Job::File {
        path,
        mode,
        chunk: first,
    })?;
    while remaining > 0 {
        crate::txn::interrupt::check().map_err(ArchiveError::from)?;
        let chunk = read_chunk(entry, &mut remaining, name)?;
        files.continue_file(Job::Append(chunk))?;
    }
    Ok(())
}

/// Reads the next `min(remaining, CHUNK_BYTES)` bytes of an entry; the entry
/// must deliver every byte its header declares.
fn read_chunk(
    content: &mut impl Read,
    remaining: &mut u64,
    name: &[u8],
) -> Result<Vec<u8>, ArchiveError> {
    let len = usize::try_from(*remaining).map_or(CHUNK_BYTES, |r| r.min(CHUNK_BYTES));
    let mut chunk = vec![0; len];
    content
        .read_exact(&mut chunk)
        .map_err(|e| match ArchiveError::from_reader_chain(e) {
            ArchiveError::Truncated { detail } => ArchiveError::Truncated {
                detail: format!("entry {:?} ends early ({detail})", display_name(name)),
            },
            other => other,
        })?;
    *remaining -= len as u64;
    Ok(chunk)
}

fn relative_path(name: &[u8]) -> PathBuf {
    PathBuf::from(OsStr::from_bytes(name))
}

/// Reads the rest of the gzip member, which is what checks its CRC-32 and
/// length trailer, then any raw bytes after it, so the hash covers the whole
/// source.
fn read_to_eof<'p, R: Read>(
    mut tar_stream: TarStream<'p, R>,
) -> Result<HashingReader<'p, R>, ArchiveError> {
    let mut scratch = vec![0; CHUNK_BYTES];
    stream::drain(&mut tar_stream, &mut scratch).map_err(ArchiveError::from_reader_chain)?;
    let mut raw = tar_stream.into_inner().into_inner();
    stream::drain(&mut raw, &mut scratch).map_err(ArchiveError::from_reader_chain)?;
    Ok(raw.into_inner())
}

fn writer_failure(dest: &Path, written: Result<Vec<WrittenFile>, ArchiveError>) -> ArchiveError {
    match written {
        Err(error) => error,
        // The writer only hangs up early after failing, so this is unreachable
        // in practice; report it rather than panic.
        Ok(_) => ArchiveError::Write {
            path: dest.to_path_buf(),
            source: std::io::Error::other("extraction writer stopped unexpectedly"),
        },
    }
}
