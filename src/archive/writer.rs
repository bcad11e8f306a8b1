//! The filesystem side of extraction. Files are created and written on
//! worker threads, so that work (mostly kernel time) overlaps with inflating
//! and hashing the next entries and, on filesystems where inode allocation is
//! slow, proceeds in parallel.

use std::fs::{DirBuilder, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::mpsc::Receiver;

use super::ArchiveError;

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

/// Performs jobs under `dest` until the sender hangs up or a job fails.
pub(super) fn run(dest: &Path, jobs: Receiver<Job>) -> Result<(), ArchiveError> {
    let mut current: Option<(File, PathBuf)> = None;
    for job in jobs {
        match job {
            Job::File { path, mode, chunk } => {
                let path = dest.join(path);
                let file =
                    create_file(&path, mode, &chunk).map_err(|source| ArchiveError::Write {
                        path: path.clone(),
                        source,
                    })?;
                current = Some((file, path));
            }
            Job::Append(chunk) => {
                let Some((file, path)) = current.as_mut() else {
                    return Err(ArchiveError::Write {
                        path: dest.to_path_buf(),
                        source: io::Error::other("internal error: file content without a file"),
                    });
                };
                file.write_all(&chunk)
                    .map_err(|source| ArchiveError::Write {
                        path: path.clone(),
                        source,
                    })?;
            }
        }
    }
    Ok(())
}

/// Directories are created by the entry-reading thread itself, so they exist
/// before any file job inside them is queued.
pub(super) fn create_dir(dest: &Path, relative: &Path, mode: u32) -> Result<(), ArchiveError> {
    let path = dest.join(relative);
    DirBuilder::new()
        .mode(mode)
        .create(&path)
        .map_err(|source| ArchiveError::Write { path, source })
}

/// `create_new` (O_EXCL) never follows or reuses anything already at `path`;
/// the mode is filtered by the process umask.
fn create_file(path: &Path, mode: u32, content: &[u8]) -> io::Result<File> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path)?;
    file.write_all(content)?;
    Ok(file)
}
