//! Before anything changes: can golock write every path the plan names?
//!
//! Every write golock makes creates an entry in a directory (a temp file
//! renamed over the target, a staged tree renamed into place, a link
//! switched by rename), so a path is writable when the nearest existing
//! directory on its way allows creating entries: `faccessat(W_OK | X_OK)`
//! with the effective ids, and not on a read-only mount (`statvfs`
//! `ST_RDONLY`, which also catches root, whom modes do not stop). Checking
//! first means a read-only HOME fails the plan, instead of failing an apply
//! halfway after the toolchain was installed.

use std::ffi::CString;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use crate::host::layout::Layout;
use crate::plan::{Action, Plan};

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[error("cannot write {what} {}: {} {reason}", path.display(), dir.display())]
#[diagnostic(
    code(golock::host::unwritable),
    help(
        "nothing was changed. Make {} writable (remount it read-write, fix its owner or mode), or run golock as a user who may write it",
        dir.display()
    )
)]
pub struct UnwritableError {
    pub what: String,
    pub path: PathBuf,
    /// The nearest existing directory, where the entry would be created.
    pub dir: PathBuf,
    pub reason: String,
}

/// Fails naming the first path of the plan golock could not write.
pub fn check_writable(plan: &Plan, layout: &Layout) -> Result<(), UnwritableError> {
    if plan.is_empty() {
        return Ok(());
    }
    for (what, path) in planned_writes(plan, layout) {
        let dir = nearest_existing_dir(&path);
        if let Err(reason) = can_create_in(&dir) {
            return Err(UnwritableError {
                what,
                path,
                dir,
                reason,
            });
        }
    }
    Ok(())
}

/// Every path an apply of `plan` writes, in the order it writes them, and
/// then golock's own bookkeeping (journal, staging, state).
fn planned_writes(plan: &Plan, layout: &Layout) -> Vec<(String, PathBuf)> {
    let mut writes = vec![
        ("golock's journal".to_string(), layout.journal_dir()),
        ("golock's staging dir".to_string(), layout.staging_dir()),
    ];
    for action in &plan.actions {
        let (what, path) = match action {
            Action::InstallToolchain { target, .. } | Action::ReinstallToolchain { target, .. } => {
                ("the toolchain", target.clone())
            }
            Action::SwitchLink { link, .. } | Action::RemoveLink { link, .. } => {
                ("the link", link.clone())
            }
            Action::WriteFile { write_path, .. }
            | Action::RemoveBlock { write_path, .. }
            | Action::RemoveFile { write_path, .. } => ("the file", write_path.clone()),
            Action::RemoveToolchain { dir, .. } => ("the toolchain", dir.clone()),
            Action::AddModule { cache, .. } | Action::RemoveModule { cache, .. } => {
                ("the module cache", cache.join("cache"))
            }
        };
        writes.push((what.to_string(), path));
    }
    writes.push(("golock's state".to_string(), layout.state_file()));
    writes
}

/// The directory an entry for `path` is created in, or the first of its
/// ancestors that exists (golock creates the missing ones inside it).
fn nearest_existing_dir(path: &Path) -> PathBuf {
    let mut dir = crate::fsx::parent_of(path);
    loop {
        if dir.is_dir() {
            return dir.to_path_buf();
        }
        match dir.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => dir = parent,
            _ => return PathBuf::from("/"),
        }
    }
}

/// `Err(why)` when no entry can be created in `dir`.
fn can_create_in(dir: &Path) -> Result<(), String> {
    let c_path = CString::new(dir.as_os_str().as_bytes()).map_err(|e| e.to_string())?;
    // SAFETY: `c_path` is a valid NUL-terminated string; `vfs` is written by
    // statvfs before it is read.
    let mut vfs: libc::statvfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::statvfs(c_path.as_ptr(), &mut vfs) } == 0 && vfs.f_flag & libc::ST_RDONLY != 0
    {
        return Err("is on a read-only filesystem".to_string());
    }
    // SAFETY: as above; faccessat only reads the path.
    let allowed = unsafe {
        libc::faccessat(
            libc::AT_FDCWD,
            c_path.as_ptr(),
            libc::W_OK | libc::X_OK,
            libc::AT_EACCESS,
        )
    };
    if allowed != 0 {
        return Err(format!(
            "does not allow creating entries ({})",
            io::Error::last_os_error()
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_existing_dir_walks_up() {
        let tmp = tempfile::tempdir().unwrap();
        let deep = tmp.path().join("a/b/c/file");
        assert_eq!(nearest_existing_dir(&deep), tmp.path());
        assert_eq!(
            nearest_existing_dir(Path::new("/no-such-golock-dir/x")),
            Path::new("/")
        );
    }

    #[test]
    fn a_missing_dir_is_not_a_place_to_create_entries() {
        assert!(can_create_in(Path::new("/no-such-golock-dir")).is_err());
        let tmp = tempfile::tempdir().unwrap();
        assert!(can_create_in(tmp.path()).is_ok());
    }
}
