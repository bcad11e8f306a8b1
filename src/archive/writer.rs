//! The filesystem side of extraction. Files are created and written on
//! worker threads, so that work (mostly kernel time) overlaps with inflating
//! and hashing the next entries and, on filesystems where inode allocation is
//! slow, proceeds in parallel.

use std::io::{self, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::mpsc::Receiver;

use sha2::{Digest, Sha256};

use super::ArchiveError;
use crate::fsx::{self, File};

/// Work for a file writer thread, in archive order. Paths are relative to the
/// destination and already validated.
pub(super) enum Job {
    /// Creates a new file and writes its first chunk of content.
    File {
        path: PathBuf,
        mode: u32,
        chunk: Vec<u8>,
    },
    /// More content for the file of the latest `File` job.
    Append(Vec<u8>),
}

/// A file as written: its path relative to the destination, the SHA-256 of
/// its content and its permission bits on disk (after the umask).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrittenFile {
    pub path: PathBuf,
    pub sha256: [u8; 32],
    pub mode: u32,
}

/// The file a writer is filling, hashed as it goes.
struct Open {
    file: File,
    relative: PathBuf,
    full: PathBuf,
    mode: u32,
    hasher: Sha256,
}

impl Open {
    fn finish(self) -> WrittenFile {
        WrittenFile {
            path: self.relative,
            sha256: self.hasher.finalize().into(),
            mode: self.mode,
        }
    }
}

/// Performs batches of jobs under `dest` until the sender hangs up or a job
/// fails; returns what it wrote, so callers need not read the files back.
/// With `umask` known (`Some`: no default ACL decides modes instead), the
/// mode on disk is computed rather than read back with an `fstat` per file.
pub(super) fn run(
    dest: &Path,
    batches: Receiver<Vec<Job>>,
    umask: Option<u32>,
) -> Result<Vec<WrittenFile>, ArchiveError> {
    let mut written = Vec::new();
    let mut current: Option<Open> = None;
    for job in batches.into_iter().flatten() {
        match job {
            Job::File { path, mode, chunk } => {
                written.extend(current.take().map(Open::finish));
                current = Some(start(dest, path, mode, umask, &chunk)?);
            }
            Job::Append(chunk) => {
                let Some(open) = current.as_mut() else {
                    return Err(ArchiveError::Write {
                        path: dest.to_path_buf(),
                        source: io::Error::other("internal error: file content without a file"),
                    });
                };
                open.file
                    .write_all(&chunk)
                    .map_err(|source| ArchiveError::Write {
                        path: open.full.clone(),
                        source,
                    })?;
                open.hasher.update(&chunk);
            }
        }
    }
    written.extend(current.take().map(Open::finish));
    Ok(written)
}

fn start(
    dest: &Path,
    relative: PathBuf,
    mode: u32,
    umask: Option<u32>,
    chunk: &[u8],
) -> Result<Open, ArchiveError> {
    let full = dest.join(&relative);
    let write_error = |source| ArchiveError::Write {
        path: full.clone(),
        source,
    };
    let file = create_file(&full, mode, chunk).map_err(write_error)?;
    let mode = match umask {
        Some(umask) => mode & !umask & 0o7777,
        None => file.metadata().map_err(write_error)?.permissions().mode() & 0o7777,
    };
    let mut hasher = Sha256::new();
    hasher.update(chunk);
    Ok(Open {
        file,
        relative,
        full,
        mode,
        hasher,
    })
}

/// Directories are created by the entry-reading thread itself, so they exist
/// before any file job inside them is queued.
pub(super) fn create_dir(dest: &Path, relative: &Path, mode: u32) -> Result<(), ArchiveError> {
    let path = dest.join(relative);
    fsx::create_dir_with_mode(&path, mode).map_err(|e| ArchiveError::Write {
        path: e.path,
        source: e.source,
    })
}

/// `create_new` (O_EXCL) never follows or reuses anything already at `path`;
/// the mode is filtered by the process umask.
fn create_file(path: &Path, mode: u32, content: &[u8]) -> io::Result<File> {
    let mut file = fsx::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path)
        .map_err(|e| e.source)?;
    file.write_all(content)?;
    Ok(file)
}
