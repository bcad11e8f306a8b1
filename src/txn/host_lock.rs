//! The host lock: an exclusive flock on `<root>/lock`, holding the pid of
//! its owner so that a waiting golock can say whom it waits for.

use std::fs::TryLockError;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crate::fsx::{self, Context, File, ResultExt};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wait {
    /// Block until the holder releases the lock, saying so once.
    Block,
    /// Fail at once when the lock is held.
    No,
}

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum LockError {
    #[error(transparent)]
    #[diagnostic(transparent)]
    Fs(#[from] fsx::FsError),
    #[error("another golock (pid {holder}) holds the lock {}", path.display())]
    #[diagnostic(
        code(golock::lock::held),
        help("wait for it to finish, or run again without --no-wait to wait for it")
    )]
    Held { path: PathBuf, holder: String },
}

/// Held while alive; the kernel releases the flock when the process dies.
pub struct HostLock {
    _file: File,
}

impl HostLock {
    pub fn acquire(
        path: &Path,
        wait: Wait,
        on_wait: impl FnOnce(&str),
    ) -> Result<HostLock, LockError> {
        let mut file = open(path)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let holder = holder_pid(&mut file);
                if wait == Wait::No {
                    return Err(LockError::Held {
                        path: path.to_path_buf(),
                        holder,
                    });
                }
                on_wait(&holder);
                file.lock().ctx("lock", path)?;
            }
            Err(TryLockError::Error(e)) => return Err(e).ctx("lock", path)?,
        }
        record_pid(&mut file, path)?;
        Ok(HostLock { _file: file })
    }

    /// The pid of the golock holding the lock now, if any. Writes nothing:
    /// opens the lock file read-only (when it exists) and probes it with a
    /// shared lock that is dropped at once.
    pub fn holder(path: &Path) -> Result<Option<String>, LockError> {
        let mut file = match fsx::open(path).with_op("open lock file") {
            Ok(f) => f,
            Err(e) if e.is_not_found() => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        match file.try_lock_shared() {
            Ok(()) => Ok(None),
            Err(TryLockError::WouldBlock) => Ok(Some(holder_pid(&mut file))),
            Err(TryLockError::Error(e)) => Err(e).ctx("lock", path)?,
        }
    }

    /// Take the lock only if nobody holds it.
    pub fn try_acquire(path: &Path) -> Result<Option<HostLock>, LockError> {
        match HostLock::acquire(path, Wait::No, |_| {}) {
            Ok(l) => Ok(Some(l)),
            Err(LockError::Held { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

fn open(path: &Path) -> Result<File, LockError> {
    fsx::create_dir_all(fsx::parent_of(path))?;
    Ok(fsx::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .with_op("open lock file")?)
}

fn holder_pid(file: &mut File) -> String {
    let mut text = String::new();
    let _ = file.seek(SeekFrom::Start(0));
    let _ = file.read_to_string(&mut text);
    let pid = text.trim();
    if pid.is_empty() {
        "unknown".to_string()
    } else {
        pid.to_string()
    }
}

fn record_pid(file: &mut File, path: &Path) -> Result<(), LockError> {
    file.set_len(0).ctx("truncate", path)?;
    file.seek(SeekFrom::Start(0)).ctx("seek", path)?;
    write!(file, "{}", std::process::id()).ctx("write", path)?;
    Ok(())
}
