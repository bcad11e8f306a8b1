//! Undo records and how each is reversed. A record says exactly what golock
//! made: the identity (dev, inode) of what it renamed into place, the hash of
//! the bytes it wrote, the directories it created. Reversing one removes only
//! what is still golock's: a file or tree whose identity or hash changed, or
//! a directory another program wrote into, is left where it is.

use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::fsx::{self, ResultExt};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "undo", rename_all = "snake_case", deny_unknown_fields)]
pub enum Undo {
    /// The tree `id` was renamed into `path` (a toolchain dir): remove it
    /// if it is still that tree.
    RemoveTree { path: PathBuf, id: Identity },
    /// `path` was moved to `saved`: move it back.
    MoveBack { path: PathBuf, saved: PathBuf },
    /// The link `path` pointed to `old` (`None`: there was no link) and is
    /// switched to `new`; `temp` is where the new link was prepared.
    RestoreLink {
        path: PathBuf,
        old: Option<PathBuf>,
        new: PathBuf,
        temp: PathBuf,
    },
    /// The file `path` held the bytes saved at `backup` (hash `backup_sha256`)
    /// with `mode` (`backup: None`: it did not exist) and is replaced by bytes
    /// hashing to `new_sha256`, prepared at `temp`.
    RestoreFile {
        path: PathBuf,
        backup: Option<PathBuf>,
        backup_sha256: Option<String>,
        new_sha256: String,
        mode: u32,
        temp: PathBuf,
    },
    /// These directories were created: remove each once it is empty. A
    /// golock-private staging dir (`.golock-staging-<txn id>`) goes whole.
    RemoveCreatedDirs { dirs: Vec<PathBuf> },
    /// These paths did not exist and were renamed into place: remove each
    /// that still is what golock renamed there.
    RemovePaths { paths: Vec<Installed> },
}

/// A path golock renamed into place, and what it renamed there.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Installed {
    pub path: PathBuf,
    pub id: Identity,
}

/// Which filesystem object a path is: rename keeps it, any rewrite by
/// another program (new file, new dir) changes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Identity {
    pub dev: u64,
    pub ino: u64,
    pub kind: Kind,
    /// Size of a regular file (0 for the others).
    pub len: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    File,
    Dir,
    Symlink,
}

impl Identity {
    pub fn of(path: &Path) -> Result<Identity, fsx::FsError> {
        let meta = fsx::symlink_metadata(path)?;
        Ok(Identity::from_meta(&meta))
    }

    fn from_meta(meta: &fsx::Metadata) -> Identity {
        let kind = if meta.file_type().is_symlink() {
            Kind::Symlink
        } else if meta.is_dir() {
            Kind::Dir
        } else {
            Kind::File
        };
        Identity {
            dev: meta.dev(),
            ino: meta.ino(),
            kind,
            len: if kind == Kind::File { meta.len() } else { 0 },
        }
    }

    /// Whether `path` is (still) this object; `None` when nothing is there.
    fn found_at(&self, path: &Path) -> Result<Option<bool>, fsx::FsError> {
        match fsx::symlink_metadata(path) {
            Ok(meta) => Ok(Some(Identity::from_meta(&meta) == *self)),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// What reversing one record did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The step had not happened, or was already reversed.
    Nothing,
    Undone(String),
    /// Left alone on purpose: it is not (only) golock's. The host is still
    /// in its old state as far as golock's own things go.
    Kept(String),
    /// Could not be reversed safely; the journal must be kept.
    NotUndone(String),
}

/// The name golock's module staging dir has inside GOMODCACHE for `txn_id`.
pub fn private_staging_name(txn_id: &str) -> String {
    format!(".golock-staging-{txn_id}")
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

impl Undo {
    /// Reverse the step of transaction `txn_id`, whether or not it ran.
    pub fn apply(&self, txn_id: &str) -> Result<Vec<Outcome>, fsx::FsError> {
        Ok(match self {
            Undo::RemoveTree { path, id } => vec![undo_install(path, id, txn_id)?],
            Undo::MoveBack { path, saved } => vec![undo_move_aside(path, saved)?],
            Undo::RestoreLink {
                path,
                old,
                new,
                temp,
            } => vec![undo_link(path, old.as_deref(), new, temp)?],
            Undo::RestoreFile {
                path,
                backup,
                backup_sha256,
                new_sha256,
                mode,
                temp,
            } => vec![undo_write(
                path,
                backup.as_deref().zip(backup_sha256.as_deref()),
                new_sha256,
                *mode,
                temp,
            )?],
            Undo::RemoveCreatedDirs { dirs } => undo_create_dirs(dirs, txn_id)?,
            Undo::RemovePaths { paths } => undo_paths(paths, txn_id)?,
        })
    }

    /// One line for `recover --discard`: what reversing it would do.
    pub fn describe(&self) -> String {
        let list = |ps: &mut dyn Iterator<Item = &PathBuf>| {
            ps.map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        };
        match self {
            Undo::RemoveTree { path, .. } => format!("remove the tree {}", path.display()),
            Undo::MoveBack { path, saved } => {
                format!("move {} back to {}", saved.display(), path.display())
            }
            Undo::RestoreLink { path, old, .. } => match old {
                Some(old) => format!("point {} back at {}", path.display(), old.display()),
                None => format!("remove the link {}", path.display()),
            },
            Undo::RestoreFile { path, backup, .. } => match backup {
                Some(b) => format!("restore {} from {}", path.display(), b.display()),
                None => format!("remove the file {}", path.display()),
            },
            Undo::RemoveCreatedDirs { dirs } => {
                format!("remove the directories {} if empty", list(&mut dirs.iter()))
            }
            Undo::RemovePaths { paths } => {
                format!("remove {}", list(&mut paths.iter().map(|p| &p.path)))
            }
        }
    }
}

/// Remove a file or link that golock may have created; a path that is not
/// there is done, without asking the filesystem to unlink it (on a read-only
/// mount that would fail for a file that never existed).
fn remove_file_if_present(path: &Path) -> Result<bool, fsx::FsError> {
    match fsx::symlink_metadata(path) {
        Err(e) if e.is_not_found() => Ok(false),
        Err(e) => Err(e),
        Ok(m) if m.is_dir() => Ok(false),
        Ok(_) => {
            fsx::remove_file_opt(path)?;
            Ok(true)
        }
    }
}

/// Take a tree out of its final path in one rename, then delete it.
fn remove_whole(path: &Path, txn_id: &str) -> Result<(), fsx::FsError> {
    let doomed = fsx::sibling_temp(path, &format!("removing-{txn_id}"));
    fsx::remove_tree_opt(&doomed)?;
    fsx::rename_durable(path, &doomed)?;
    fsx::remove_tree_opt(&doomed)
}

fn undo_install(path: &Path, id: &Identity, txn_id: &str) -> Result<Outcome, fsx::FsError> {
    match id.found_at(path)? {
        None => Ok(Outcome::Nothing),
        Some(false) => Ok(Outcome::Kept(format!(
            "kept {}: it is not the tree golock installed",
            path.display()
        ))),
        Some(true) => {
            remove_whole(path, txn_id)?;
            Ok(Outcome::Undone(format!("removed {}", path.display())))
        }
    }
}

fn undo_move_aside(path: &Path, saved: &Path) -> Result<Outcome, fsx::FsError> {
    if !fsx::exists_no_follow(saved) {
        return Ok(Outcome::Nothing);
    }
    if fsx::exists_no_follow(path) {
        return Ok(Outcome::NotUndone(format!(
            "cannot move {} back: something golock did not put there is at {}; the original is kept at {}",
            path.display(),
            path.display(),
            saved.display()
        )));
    }
    fsx::rename_durable(saved, path)?;
    Ok(Outcome::Undone(format!("restored {}", path.display())))
}

fn undo_link(
    path: &Path,
    old: Option<&Path>,
    new: &Path,
    temp: &Path,
) -> Result<Outcome, fsx::FsError> {
    remove_file_if_present(temp)?;
    let current = match fsx::symlink_metadata(path) {
        Err(e) if e.is_not_found() => None,
        Err(e) => return Err(e),
        Ok(m) if m.file_type().is_symlink() => fsx::read_link_opt(path)?,
        Ok(_) => {
            return Ok(Outcome::NotUndone(format!(
                "cannot restore the link {}: it was replaced by a file or directory",
                path.display()
            )));
        }
    };
    if current.as_deref() == old {
        return Ok(Outcome::Nothing);
    }
    if current.as_deref().is_some_and(|c| c != new) {
        return Ok(Outcome::NotUndone(format!(
            "left the link {} as is: it now points to {}, not where golock pointed it",
            path.display(),
            current.unwrap_or_default().display()
        )));
    }
    match old {
        Some(target) => {
            fsx::symlink(target, temp)?;
            fsx::rename_durable(temp, path)?;
            Ok(Outcome::Undone(format!(
                "restored link {} -> {}",
                path.display(),
                target.display()
            )))
        }
        None => {
            remove_file_if_present(path)?;
            fsx::fsync_dir(fsx::parent_of(path))?;
            Ok(Outcome::Undone(format!("removed link {}", path.display())))
        }
    }
}

/// `backup`: the saved old bytes' path and their recorded sha256.
fn undo_write(
    path: &Path,
    backup: Option<(&Path, &str)>,
    new_sha256: &str,
    mode: u32,
    temp: &Path,
) -> Result<Outcome, fsx::FsError> {
    remove_file_if_present(temp)?;
    let current = match fsx::symlink_metadata(path) {
        Err(e) if e.is_not_found() => None,
        Err(e) => return Err(e),
        Ok(m) if m.is_file() => fsx::read_opt(path)?.map(|b| sha256_hex(&b)),
        Ok(_) => Some(String::new()), // a link or dir golock did not write
    };
    let ours = current.as_deref() == Some(new_sha256);
    let Some((backup, backup_sha256)) = backup else {
        return match current {
            None => Ok(Outcome::Nothing),
            Some(_) if ours => {
                remove_file_if_present(path)?;
                fsx::fsync_dir(fsx::parent_of(path))?;
                Ok(Outcome::Undone(format!("removed {}", path.display())))
            }
            Some(_) => Ok(Outcome::NotUndone(format!(
                "left {} as is: it is not the file golock wrote",
                path.display()
            ))),
        };
    };
    if current.as_deref() == Some(backup_sha256) {
        return Ok(Outcome::Nothing);
    }
    if current.is_some() && !ours {
        return Ok(Outcome::NotUndone(format!(
            "left {} as is: it changed since golock wrote it (its old content is in {})",
            path.display(),
            backup.display()
        )));
    }
    let Some(old) = fsx::read_opt(backup)? else {
        return Ok(Outcome::NotUndone(format!(
            "cannot restore {}: its backup {} is missing",
            path.display(),
            backup.display()
        )));
    };
    if sha256_hex(&old) != backup_sha256 {
        return Ok(Outcome::NotUndone(format!(
            "cannot restore {}: its backup {} does not match the sha256 recorded when it was taken",
            path.display(),
            backup.display()
        )));
    }
    let meta = fsx::metadata(path).ok();
    fsx::write_new_file(temp, &old, mode)?;
    if let Some(meta) = &meta {
        fsx::copy_owner(temp, meta)?;
    }
    fsx::rename_durable(temp, path)?;
    Ok(Outcome::Undone(format!("restored {}", path.display())))
}

fn undo_paths(paths: &[Installed], txn_id: &str) -> Result<Vec<Outcome>, fsx::FsError> {
    let mut removed = 0;
    let mut out = Vec::new();
    for Installed { path, id } in paths.iter().rev() {
        match id.found_at(path)? {
            None => {}
            Some(false) => out.push(Outcome::Kept(format!(
                "kept {}: another program replaced what golock put there",
                path.display()
            ))),
            Some(true) if id.kind == Kind::Dir => {
                remove_whole(path, txn_id)?;
                removed += 1;
            }
            Some(true) => {
                remove_file_if_present(path)?;
                removed += 1;
            }
        }
    }
    let mut parents: Vec<&Path> = paths.iter().map(|p| fsx::parent_of(&p.path)).collect();
    parents.sort();
    parents.dedup();
    for parent in parents.into_iter().filter(|p| p.is_dir()) {
        fsx::fsync_dir(parent)?;
    }
    if removed > 0 {
        out.insert(
            0,
            Outcome::Undone(format!("removed {removed} installed path(s)")),
        );
    }
    Ok(out)
}

/// Deepest first: rmdir each created dir; a non-empty one stays (another
/// program wrote into it), except golock's own staging dir.
fn undo_create_dirs(dirs: &[PathBuf], txn_id: &str) -> Result<Vec<Outcome>, fsx::FsError> {
    let mut ordered: Vec<&PathBuf> = dirs.iter().collect();
    ordered.sort_by_key(|d| std::cmp::Reverse(d.components().count()));
    let mut removed = Vec::new();
    let mut out = Vec::new();
    for dir in ordered {
        match fsx::symlink_metadata(dir) {
            Err(e) if e.is_not_found() => continue,
            Err(e) => return Err(e),
            Ok(m) if !m.is_dir() => {
                out.push(Outcome::Kept(format!(
                    "kept {}: it is no longer the directory golock made",
                    dir.display()
                )));
                continue;
            }
            Ok(_) => {}
        }
        if dir.file_name().and_then(|n| n.to_str()) == Some(&private_staging_name(txn_id)) {
            fsx::remove_tree_opt(dir)?;
            removed.push(dir.display().to_string());
            continue;
        }
        remove_idle_go_locks(dir)?;
        match fsx::remove_dir(dir) {
            Ok(()) => removed.push(dir.display().to_string()),
            Err(e) if e.kind() == io::ErrorKind::DirectoryNotEmpty => out.push(Outcome::Kept(
                format!("kept {}: it holds files golock did not make", dir.display()),
            )),
            Err(e) => return Err(e).with_op("remove directory"),
        }
        fsx::fsync_dir(fsx::parent_of(dir))?;
    }
    if !removed.is_empty() {
        out.insert(
            0,
            Outcome::Undone(format!("removed directories {}", removed.join(", "))),
        );
    }
    Ok(out)
}

/// cmd/go (and golock, taking its locks) leaves empty `*.lock` files in the
/// module cache. In a directory golock created that holds nothing else, the
/// ones nobody holds are removed with it; a held one (a running go) stays.
fn remove_idle_go_locks(dir: &Path) -> Result<(), fsx::FsError> {
    let Ok(entries) = fsx::read_dir(dir) else {
        return Ok(());
    };
    let mut locks = Vec::new();
    for entry in entries {
        let entry = entry?;
        let path = entry.path();
        let is_lock = path.extension().is_some_and(|x| x == "lock");
        match fsx::symlink_metadata(&path) {
            Ok(m) if is_lock && m.is_file() && m.len() == 0 => locks.push(path),
            _ => return Ok(()), // holds something else: stays anyway
        }
    }
    for path in locks {
        let Ok(file) = fsx::open(&path) else {
            return Ok(());
        };
        if file.try_lock().is_err() {
            return Ok(());
        }
        fsx::remove_file_opt(&path)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmp() -> tempfile::TempDir {
        tempfile::tempdir().unwrap()
    }

    fn write(path: &Path, bytes: &[u8]) {
        fsx::create_dir_all(path.parent().unwrap()).unwrap();
        fsx::write(path, bytes).unwrap();
    }

    fn only_undone(out: &[Outcome]) -> bool {
        out.iter().all(|o| matches!(o, Outcome::Undone(_)))
    }

    #[test]
    fn remove_tree_removes_the_tree_golock_renamed_in() {
        let t = tmp();
        let staged = t.path().join("staged");
        write(&staged.join("bin/go"), b"go");
        let target = t.path().join("toolchains/go1");
        let undo = Undo::RemoveTree {
            path: target.clone(),
            id: Identity::of(&staged).unwrap(),
        };
        assert_eq!(undo.apply("x").unwrap(), vec![Outcome::Nothing]); // never ran
        fsx::create_dir_all(target.parent().unwrap()).unwrap();
        fsx::rename(&staged, &target).unwrap();
        assert!(only_undone(&undo.apply("x").unwrap()));
        assert!(!target.exists());
        assert_eq!(
            fsx::read_dir(t.path().join("toolchains")).unwrap().count(),
            0
        );
    }

    #[test]
    fn remove_tree_keeps_a_tree_someone_else_put_there() {
        let t = tmp();
        let staged = t.path().join("staged");
        fsx::create_dir(&staged).unwrap();
        let id = Identity::of(&staged).unwrap();
        let target = t.path().join("go1");
        write(&target.join("theirs"), b"keep");
        let undo = Undo::RemoveTree {
            path: target.clone(),
            id,
        };
        assert!(matches!(undo.apply("x").unwrap()[..], [Outcome::Kept(_)]));
        assert_eq!(fsx::read(target.join("theirs")).unwrap(), b"keep");
    }

    #[test]
    fn move_back_restores_and_never_overwrites() {
        let t = tmp();
        let path = t.path().join("dir");
        let saved = t.path().join(".dir.golock-aside");
        write(&path.join("f"), b"old");
        let undo = Undo::MoveBack {
            path: path.clone(),
            saved: saved.clone(),
        };
        assert_eq!(undo.apply("x").unwrap(), vec![Outcome::Nothing]);
        fsx::rename(&path, &saved).unwrap();
        assert!(only_undone(&undo.apply("x").unwrap()));
        assert_eq!(fsx::read(path.join("f")).unwrap(), b"old");
        fsx::rename(&path, &saved).unwrap();
        write(&path.join("other"), b"theirs");
        assert!(matches!(
            undo.apply("x").unwrap()[..],
            [Outcome::NotUndone(_)]
        ));
        assert_eq!(fsx::read(path.join("other")).unwrap(), b"theirs");
        assert!(saved.exists());
    }

    #[test]
    fn restore_link_puts_back_the_old_target_only_over_golocks() {
        let t = tmp();
        let link = t.path().join("go");
        let temp = t.path().join(".go.golock-x");
        let (old, new) = (t.path().join("old"), t.path().join("new"));
        fsx::symlink(&old, &link).unwrap();
        let undo = Undo::RestoreLink {
            path: link.clone(),
            old: Some(old.clone()),
            new: new.clone(),
            temp: temp.clone(),
        };
        assert_eq!(undo.apply("x").unwrap(), vec![Outcome::Nothing]);
        fsx::symlink(&new, &temp).unwrap();
        fsx::rename(&temp, &link).unwrap();
        assert!(only_undone(&undo.apply("x").unwrap()));
        assert_eq!(fsx::read_link(&link).unwrap(), old);
        let elsewhere = t.path().join("elsewhere");
        fsx::remove_file(&link).unwrap();
        fsx::symlink(&elsewhere, &link).unwrap();
        assert!(matches!(
            undo.apply("x").unwrap()[..],
            [Outcome::NotUndone(_)]
        ));
        assert_eq!(fsx::read_link(&link).unwrap(), elsewhere);
    }

    fn restore_file(path: &Path, backup: Option<(&Path, &[u8])>, new: &[u8]) -> Undo {
        Undo::RestoreFile {
            path: path.to_path_buf(),
            backup: backup.map(|(p, _)| p.to_path_buf()),
            backup_sha256: backup.map(|(_, b)| sha256_hex(b)),
            new_sha256: sha256_hex(new),
            mode: 0o644,
            temp: fsx::sibling_temp(path, "x"),
        }
    }

    #[test]
    fn restore_file_restores_a_verified_backup_over_golocks_bytes() {
        let t = tmp();
        let path = t.path().join("profile");
        let backup = t.path().join("backup-1");
        write(&path, b"old");
        write(&backup, b"old");
        let undo = restore_file(&path, Some((&backup, b"old")), b"new");
        assert_eq!(undo.apply("x").unwrap(), vec![Outcome::Nothing]);
        write(&path, b"new");
        assert!(only_undone(&undo.apply("x").unwrap()));
        assert_eq!(fsx::read(&path).unwrap(), b"old");
    }

    #[test]
    fn restore_file_refuses_a_tampered_or_missing_backup() {
        let t = tmp();
        let path = t.path().join("profile");
        let backup = t.path().join("backup-1");
        write(&path, b"new");
        write(&backup, b"evil");
        let undo = restore_file(&path, Some((&backup, b"old")), b"new");
        assert!(matches!(
            undo.apply("x").unwrap()[..],
            [Outcome::NotUndone(_)]
        ));
        fsx::remove_file(&backup).unwrap();
        assert!(matches!(
            undo.apply("x").unwrap()[..],
            [Outcome::NotUndone(_)]
        ));
        assert_eq!(fsx::read(&path).unwrap(), b"new");
    }

    #[test]
    fn restore_file_removes_only_the_file_golock_wrote() {
        let t = tmp();
        let path = t.path().join("config.fish");
        let undo = restore_file(&path, None, b"ours");
        assert_eq!(undo.apply("x").unwrap(), vec![Outcome::Nothing]);
        write(&path, b"ours");
        assert!(only_undone(&undo.apply("x").unwrap()));
        assert!(!path.exists());
        write(&path, b"user edited");
        assert!(matches!(
            undo.apply("x").unwrap()[..],
            [Outcome::NotUndone(_)]
        ));
        assert_eq!(fsx::read(&path).unwrap(), b"user edited");
    }

    #[test]
    fn a_temp_that_was_never_created_is_not_unlinked() {
        let t = tmp();
        let dir = t.path().join("ro");
        fsx::create_dir(&dir).unwrap();
        let path = dir.join("profile");
        write(&path, b"old");
        // A missing temp in a dir we may not write to: nothing is asked of it.
        let undo = restore_file(&path, Some((&t.path().join("b"), b"old")), b"new");
        let mut perms = fsx::metadata(&dir).unwrap().permissions();
        std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o555);
        fsx::set_permissions(&dir, perms).unwrap();
        assert_eq!(undo.apply("x").unwrap(), vec![Outcome::Nothing]);
    }

    #[test]
    fn created_dirs_go_only_when_empty() {
        let t = tmp();
        let config = t.path().join(".config");
        let fish = config.join("fish");
        fsx::create_dir_all(&fish).unwrap();
        write(&config.join("myapp/settings.ini"), b"theirs");
        let undo = Undo::RemoveCreatedDirs {
            dirs: vec![config.clone(), fish.clone()],
        };
        let out = undo.apply("x").unwrap();
        assert!(!fish.exists());
        assert_eq!(
            fsx::read(config.join("myapp/settings.ini")).unwrap(),
            b"theirs"
        );
        assert!(out.iter().any(|o| matches!(o, Outcome::Kept(_))), "{out:?}");
        assert!(!out.iter().any(|o| matches!(o, Outcome::NotUndone(_))));
    }

    #[test]
    fn the_private_staging_dir_goes_whole() {
        let t = tmp();
        let cache = t.path().join("cache");
        let staging = cache.join(private_staging_name("abc-1"));
        write(&staging.join("0/zip"), b"z");
        let undo = Undo::RemoveCreatedDirs {
            dirs: vec![cache.clone(), staging.clone()],
        };
        assert!(only_undone(&undo.apply("abc-1").unwrap()));
        assert!(!cache.exists());
        // Another transaction's name is not private to this one.
        write(&staging.join("0/zip"), b"z");
        undo.apply("other-2").unwrap();
        assert!(staging.join("0/zip").exists());
    }

    #[test]
    fn idle_go_lock_files_do_not_keep_a_created_dir() {
        let t = tmp();
        let dir = t.path().join("@v");
        write(&dir.join("v1.0.0.lock"), b"");
        let undo = Undo::RemoveCreatedDirs {
            dirs: vec![dir.clone()],
        };
        let held = fsx::open(dir.join("v1.0.0.lock")).unwrap();
        held.lock().unwrap();
        undo.apply("x").unwrap();
        assert!(dir.join("v1.0.0.lock").exists(), "a held lock stays");
        drop(held);
        // A child another test forks in this process may briefly share the
        // lock's descriptor (until its exec closes it): allow a few tries.
        for _ in 0..100 {
            if !dir.exists() {
                break;
            }
            undo.apply("x").unwrap();
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        assert!(!dir.exists());
    }

    #[test]
    fn remove_paths_removes_only_what_golock_renamed_there() {
        let t = tmp();
        let (a, b) = (t.path().join("a.mod"), t.path().join("m@v1"));
        let (sa, sb) = (t.path().join("sa"), t.path().join("sb"));
        write(&sa, b"mod");
        write(&sb.join("f.go"), b"package m");
        let undo = Undo::RemovePaths {
            paths: vec![
                Installed {
                    path: a.clone(),
                    id: Identity::of(&sa).unwrap(),
                },
                Installed {
                    path: b.clone(),
                    id: Identity::of(&sb).unwrap(),
                },
            ],
        };
        assert!(undo.apply("x").unwrap().is_empty());
        fsx::rename(&sa, &a).unwrap();
        fsx::rename(&sb, &b).unwrap();
        // go replaced the extracted tree with its own: it stays.
        fsx::rename(&b, &sb).unwrap();
        write(&b.join("f.go"), b"package m");
        let out = undo.apply("x").unwrap();
        assert!(!a.exists());
        assert!(b.join("f.go").exists(), "{out:?}");
        assert!(
            matches!(out[..], [Outcome::Undone(_), Outcome::Kept(_)]),
            "{out:?}"
        );
    }
}
