//! The transaction: each mutation is announced by a `Begin` record holding
//! its undo, performed, then marked `Done`. Rollback applies the undos of
//! every begun step newest-first; every undo is idempotent and also correct
//! when its step never ran, so a crash at any instant can be rolled back.

use std::collections::BTreeSet;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::journal::{self, Journal, JournalError, Record};
use crate::checkpoint::{self, Checkpoint, FileStep, RenameStep};
use crate::fsx::{self, Context};
use crate::layout::Layout;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "undo", rename_all = "snake_case")]
pub enum Undo {
    /// A tree was renamed into `path`: remove it.
    RemoveTree { path: PathBuf },
    /// `path` was moved to `saved`: move it back.
    MoveBack { path: PathBuf, saved: PathBuf },
    /// The link `path` pointed to `old` (`None`: there was no link);
    /// `temp` is where the new link was prepared.
    RestoreLink {
        path: PathBuf,
        old: Option<PathBuf>,
        temp: PathBuf,
    },
    /// The file `path` held the bytes saved at `backup` with `mode`
    /// (`None`: it did not exist); `temp` is where new content was prepared.
    RestoreFile {
        path: PathBuf,
        backup: Option<PathBuf>,
        mode: u32,
        temp: PathBuf,
    },
    /// These directories were created (outermost first): remove them with
    /// whatever the transaction put in them.
    RemoveCreatedDirs { dirs: Vec<PathBuf> },
    /// These paths did not exist and were renamed into place: remove them.
    RemovePaths { paths: Vec<PathBuf> },
}

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum TxnError {
    #[error(transparent)]
    #[diagnostic(transparent)]
    Fs(#[from] fsx::FsError),
    #[error(transparent)]
    #[diagnostic(transparent)]
    Journal(#[from] JournalError),
    #[error(transparent)]
    #[diagnostic(transparent)]
    Lock(#[from] super::LockError),
    #[error("rollback of {} stopped: {source}", journal.display())]
    #[diagnostic(
        code(golock::txn::rollback_failed),
        help(
            "fix the cause, then run `golock recover`; the journal is kept so nothing is forgotten"
        )
    )]
    RollbackFailed {
        journal: PathBuf,
        #[source]
        source: fsx::FsError,
    },
}

pub struct Transaction {
    id: String,
    journal: Journal,
    scratch: PathBuf,
    staging: PathBuf,
    seq: u64,
    undos: Vec<Undo>,
}

/// What `recover` did with one interrupted transaction.
#[derive(Debug)]
pub struct Recovered {
    pub id: String,
    pub rolled_forward: bool,
    pub undone: Vec<String>,
}

impl Transaction {
    /// Start a transaction: its journal is durable before this returns.
    pub fn begin(layout: &Layout, plan: serde_json::Value) -> Result<Transaction, TxnError> {
        let id = new_id();
        let open = Record::Open {
            id: id.clone(),
            pid: std::process::id(),
            golock_version: env!("CARGO_PKG_VERSION").to_string(),
            plan,
        };
        let journal = Journal::create(&layout.journal_dir(), &id, &open)?;
        Ok(Transaction {
            scratch: scratch_dir(&journal.path),
            staging: layout.staging_dir().join(&id),
            id,
            journal,
            seq: 0,
            undos: Vec::new(),
        })
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    /// A private directory for staging installs; removed when the transaction ends.
    pub fn staging(&self) -> Result<&Path, TxnError> {
        fsx::create_dir_all(&self.staging)?;
        Ok(&self.staging)
    }

    fn announce(&mut self, undo: Undo) -> Result<u64, TxnError> {
        self.seq += 1;
        self.journal.append(&Record::Begin {
            seq: self.seq,
            undo: undo.clone(),
        })?;
        self.undos.push(undo);
        Ok(self.seq)
    }

    fn finish_step(&mut self, seq: u64) -> Result<(), TxnError> {
        self.journal.append(&Record::Done { seq })?;
        Ok(())
    }

    fn scratch_path(&self, what: &str) -> Result<PathBuf, TxnError> {
        fsx::create_dir_all(&self.scratch)?;
        Ok(self.scratch.join(format!("{what}-{}", self.seq + 1)))
    }

    /// Rename the verified tree `staged` to `target`, which must not exist.
    pub fn install_tree(
        &mut self,
        staged: &Path,
        target: &Path,
        label: RenameStep,
    ) -> Result<(), TxnError> {
        fsx::create_dir_all(fsx::parent_of(target))?;
        let seq = self.announce(Undo::RemoveTree {
            path: target.to_path_buf(),
        })?;
        checkpoint::reach(Checkpoint::BeforeRename(label.into()));
        fsx::rename_durable(staged, target)?;
        checkpoint::reach(Checkpoint::AfterRename(label.into()));
        self.finish_step(seq)
    }

    /// Move `path` out of the way, beside itself (so always on the same
    /// filesystem); it is deleted at commit, restored on rollback.
    pub fn move_aside(&mut self, path: &Path, label: RenameStep) -> Result<(), TxnError> {
        let saved = fsx::sibling_temp(path, &format!("aside-{}-{}", self.id, self.seq + 1));
        let seq = self.announce(Undo::MoveBack {
            path: path.to_path_buf(),
            saved: saved.clone(),
        })?;
        checkpoint::reach(Checkpoint::BeforeRename(label.into()));
        fsx::rename_durable(path, &saved)?;
        checkpoint::reach(Checkpoint::AfterRename(label.into()));
        self.finish_step(seq)
    }

    /// Point the symlink `link` at `target` atomically (temp link, rename).
    pub fn switch_link(
        &mut self,
        link: &Path,
        target: &Path,
        label: RenameStep,
    ) -> Result<(), TxnError> {
        let old = fsx::read_link_opt(link)?;
        let temp = fsx::sibling_temp(link, &self.id);
        let seq = self.announce(Undo::RestoreLink {
            path: link.to_path_buf(),
            old,
            temp: temp.clone(),
        })?;
        fsx::symlink(target, &temp)?;
        checkpoint::reach(Checkpoint::BeforeRename(label.into()));
        fsx::rename_durable(&temp, link)?;
        checkpoint::reach(Checkpoint::AfterRename(label.into()));
        self.finish_step(seq)
    }

    /// Replace the regular file `path` (or create it, mode 0644) with `bytes`:
    /// backup, temp file in the same dir with the old mode and owner, fsync, rename.
    pub fn write_file(
        &mut self,
        path: &Path,
        bytes: &[u8],
        label: FileStep,
    ) -> Result<(), TxnError> {
        self.create_parents(path)?;
        let old_meta = fs::metadata(path).ok();
        let mode = old_meta.as_ref().map_or(0o644, |m| m.mode() & 0o7777);
        let backup = match fsx::read_opt(path)? {
            Some(old) => Some(self.save_backup(&old)?),
            None => None,
        };
        let temp = fsx::sibling_temp(path, &self.id);
        let seq = self.announce(Undo::RestoreFile {
            path: path.to_path_buf(),
            backup,
            mode,
            temp: temp.clone(),
        })?;
        fsx::write_new_file(&temp, bytes, mode)?;
        if let Some(meta) = &old_meta {
            fsx::copy_owner(&temp, meta)?;
        }
        checkpoint::reach(Checkpoint::TempWritten(label));
        checkpoint::reach(Checkpoint::BeforeRename(label.into()));
        fsx::rename_durable(&temp, path)?;
        checkpoint::reach(Checkpoint::AfterRename(label.into()));
        self.finish_step(seq)
    }

    /// Create every missing directory among `dirs` and their ancestors
    /// (one journal record for all).
    pub fn create_dirs(&mut self, dirs: &[PathBuf]) -> Result<(), TxnError> {
        let mut missing: Vec<PathBuf> = Vec::new();
        for dir in dirs {
            for d in dir.ancestors() {
                if d.as_os_str().is_empty() || fsx::exists_no_follow(d) {
                    break;
                }
                missing.push(d.to_path_buf());
            }
        }
        missing.sort();
        missing.dedup();
        if missing.is_empty() {
            return Ok(());
        }
        let seq = self.announce(Undo::RemoveCreatedDirs {
            dirs: missing.clone(),
        })?;
        for dir in &missing {
            fs::create_dir(dir).ctx("create directory", dir)?;
        }
        let parents: BTreeSet<&Path> = missing.iter().map(|d| fsx::parent_of(d)).collect();
        for parent in parents {
            fsx::fsync_dir(parent)?;
        }
        self.finish_step(seq)
    }

    /// Rename many staged paths to targets that do not exist yet, under one
    /// journal record; the targets' directories are synced once each.
    pub fn rename_batch(
        &mut self,
        moves: &[(PathBuf, PathBuf)],
        label: RenameStep,
    ) -> Result<(), TxnError> {
        if moves.is_empty() {
            return Ok(());
        }
        let seq = self.announce(Undo::RemovePaths {
            paths: moves.iter().map(|(_, t)| t.clone()).collect(),
        })?;
        checkpoint::reach(Checkpoint::BeforeRename(label.into()));
        for (staged, target) in moves {
            fs::rename(staged, target).ctx("rename into place", target)?;
        }
        let parents: BTreeSet<&Path> = moves.iter().map(|(_, t)| fsx::parent_of(t)).collect();
        for parent in parents {
            fsx::fsync_dir(parent)?;
        }
        checkpoint::reach(Checkpoint::AfterRename(label.into()));
        self.finish_step(seq)
    }

    fn save_backup(&mut self, bytes: &[u8]) -> Result<PathBuf, TxnError> {
        let backup = self.scratch_path("backup")?;
        fsx::write_new_file(&backup, bytes, 0o600)?;
        fsx::fsync_dir(&self.scratch)?;
        Ok(backup)
    }

    fn create_parents(&mut self, path: &Path) -> Result<(), TxnError> {
        let missing: Vec<PathBuf> = fsx::parent_of(path)
            .ancestors()
            .take_while(|p| !p.as_os_str().is_empty() && !fsx::exists_no_follow(p))
            .map(Path::to_path_buf)
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        let dirs: Vec<PathBuf> = missing.into_iter().rev().collect();
        let seq = self.announce(Undo::RemoveCreatedDirs { dirs: dirs.clone() })?;
        for dir in &dirs {
            fs::create_dir(dir).ctx("create directory", dir)?;
            fsx::fsync_dir(fsx::parent_of(dir))?;
        }
        self.finish_step(seq)
    }

    /// Make the transaction final: after the commit record, recovery rolls
    /// forward. Then drop what was moved aside, the backups and the journal.
    pub fn commit(mut self) -> Result<(), TxnError> {
        self.journal.append(&Record::Commit)?;
        checkpoint::reach(Checkpoint::AfterCommit);
        drop_moved_aside(&self.undos)?;
        cleanup(&self.journal.path, &self.scratch, &self.staging)
    }

    /// Undo every begun step, newest first. Returns what was undone.
    pub fn rollback(self) -> Result<Vec<String>, TxnError> {
        let undone = undo_all(&self.undos, &self.journal.path)?;
        cleanup(&self.journal.path, &self.scratch, &self.staging)?;
        Ok(undone)
    }
}

fn new_id() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("{nanos:x}-{}", std::process::id())
}

fn scratch_dir(journal_path: &Path) -> PathBuf {
    journal_path.with_extension("d")
}

fn undo_all(undos: &[Undo], journal_path: &Path) -> Result<Vec<String>, TxnError> {
    let mut undone = Vec::new();
    for undo in undos.iter().rev() {
        match undo.apply() {
            Ok(Some(what)) => undone.push(what),
            Ok(None) => {}
            Err(source) => {
                return Err(TxnError::RollbackFailed {
                    journal: journal_path.to_path_buf(),
                    source,
                });
            }
        }
    }
    Ok(undone)
}

/// After a commit, what was moved aside is no longer needed.
fn drop_moved_aside(undos: &[Undo]) -> Result<(), TxnError> {
    for undo in undos {
        if let Undo::MoveBack { saved, .. } = undo {
            fsx::remove_tree_opt(saved)?;
        }
    }
    Ok(())
}

fn cleanup(journal_path: &Path, scratch: &Path, staging: &Path) -> Result<(), TxnError> {
    fsx::remove_tree_opt(staging)?;
    fsx::remove_tree_opt(scratch)?;
    fsx::remove_file_opt(journal_path)?;
    fsx::fsync_dir(fsx::parent_of(journal_path))?;
    Ok(())
}

impl Undo {
    /// Reverse the step; `Ok(None)` when there was nothing to reverse.
    fn apply(&self) -> Result<Option<String>, fsx::FsError> {
        match self {
            Undo::RemoveTree { path } => undo_install(path),
            Undo::MoveBack { path, saved } => undo_move_aside(path, saved),
            Undo::RestoreLink { path, old, temp } => undo_link(path, old.as_deref(), temp),
            Undo::RestoreFile {
                path,
                backup,
                mode,
                temp,
            } => undo_write(path, backup.as_deref(), *mode, temp),
            Undo::RemoveCreatedDirs { dirs } => undo_create_dirs(dirs),
            Undo::RemovePaths { paths } => undo_paths(paths),
        }
    }
}

fn undo_install(path: &Path) -> Result<Option<String>, fsx::FsError> {
    if !fsx::exists_no_follow(path) {
        return Ok(None);
    }
    // Rename first so the final path disappears in one step, then delete.
    let doomed = fsx::sibling_temp(path, "removing");
    fsx::remove_tree_opt(&doomed)?;
    fsx::rename_durable(path, &doomed)?;
    fsx::remove_tree_opt(&doomed)?;
    Ok(Some(format!("removed {}", path.display())))
}

fn undo_move_aside(path: &Path, saved: &Path) -> Result<Option<String>, fsx::FsError> {
    if !fsx::exists_no_follow(saved) {
        return Ok(None);
    }
    fsx::remove_tree_opt(path)?;
    fsx::rename_durable(saved, path)?;
    Ok(Some(format!("restored {}", path.display())))
}

fn undo_link(path: &Path, old: Option<&Path>, temp: &Path) -> Result<Option<String>, fsx::FsError> {
    fsx::remove_file_opt(temp)?;
    let current = fsx::read_link_opt(path)?;
    if current.as_deref() == old {
        return Ok(None);
    }
    match old {
        Some(target) => {
            fsx::symlink(target, temp)?;
            fsx::rename_durable(temp, path)?;
            Ok(Some(format!(
                "restored link {} -> {}",
                path.display(),
                target.display()
            )))
        }
        None => {
            fsx::remove_file_opt(path)?;
            fsx::fsync_dir(fsx::parent_of(path))?;
            Ok(Some(format!("removed link {}", path.display())))
        }
    }
}

fn undo_write(
    path: &Path,
    backup: Option<&Path>,
    mode: u32,
    temp: &Path,
) -> Result<Option<String>, fsx::FsError> {
    fsx::remove_file_opt(temp)?;
    let current = fsx::read_opt(path)?;
    let Some(backup) = backup else {
        if current.is_none() {
            return Ok(None);
        }
        fsx::remove_file_opt(path)?;
        fsx::fsync_dir(fsx::parent_of(path))?;
        return Ok(Some(format!("removed {}", path.display())));
    };
    let Some(old) = fsx::read_opt(backup)? else {
        return Ok(None); // the backup is written before the step is announced
    };
    if current.as_deref() == Some(old.as_slice()) {
        return Ok(None);
    }
    let meta = fs::metadata(path).ok();
    fsx::write_new_file(temp, &old, mode)?;
    if let Some(meta) = &meta {
        fsx::copy_owner(temp, meta)?;
    }
    fsx::rename_durable(temp, path)?;
    Ok(Some(format!("restored {}", path.display())))
}

fn undo_paths(paths: &[PathBuf]) -> Result<Option<String>, fsx::FsError> {
    let mut removed = 0;
    for path in paths.iter().rev() {
        if fsx::exists_no_follow(path) {
            fsx::remove_tree_opt(path)?;
            removed += 1;
        }
    }
    let parents: BTreeSet<&Path> = paths.iter().map(|p| fsx::parent_of(p)).collect();
    for parent in parents.into_iter().filter(|p| p.is_dir()) {
        fsx::fsync_dir(parent)?;
    }
    Ok((removed > 0).then(|| format!("removed {removed} installed path(s)")))
}

fn undo_create_dirs(dirs: &[PathBuf]) -> Result<Option<String>, fsx::FsError> {
    let mut removed = Vec::new();
    for dir in dirs.iter().rev() {
        if fsx::exists_no_follow(dir) {
            fsx::remove_tree_opt(dir)?;
            removed.push(dir.display().to_string());
        }
    }
    if let Some(first) = dirs.first() {
        fsx::fsync_dir(fsx::parent_of(first))?;
    }
    Ok((!removed.is_empty()).then(|| format!("removed directories {}", removed.join(", "))))
}

/// Roll back (or, after a commit record, finish) every journal left behind.
pub fn recover(layout: &Layout) -> Result<Vec<Recovered>, TxnError> {
    let mut recovered = Vec::new();
    for path in journal::list(&layout.journal_dir())? {
        recovered.push(recover_one(layout, &path)?);
    }
    clear_staging(layout)?;
    Ok(recovered)
}

fn recover_one(layout: &Layout, path: &Path) -> Result<Recovered, TxnError> {
    let records = journal::read(path)?;
    let id = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let rolled_forward = records.contains(&Record::Commit);
    let undos: Vec<Undo> = records
        .into_iter()
        .filter_map(|r| match r {
            Record::Begin { undo, .. } => Some(undo),
            _ => None,
        })
        .collect();
    let undone = if rolled_forward {
        drop_moved_aside(&undos)?;
        Vec::new()
    } else {
        undo_all(&undos, path)?
    };
    cleanup(path, &scratch_dir(path), &layout.staging_dir().join(&id))?;
    Ok(Recovered {
        id,
        rolled_forward,
        undone,
    })
}

/// Staging holds nothing live once no transaction runs (we hold the lock).
fn clear_staging(layout: &Layout) -> Result<(), TxnError> {
    let staging = layout.staging_dir();
    let Ok(entries) = fs::read_dir(&staging) else {
        return Ok(());
    };
    for entry in entries.flatten() {
        fsx::remove_tree_opt(&entry.path())?;
    }
    Ok(())
}

/// Any golock command calls this first: if an interrupted apply left a
/// journal and nobody holds the lock, roll it back now. `None`: nothing to do,
/// or a running apply owns the journal.
pub fn recover_if_needed(layout: &Layout) -> Result<Option<Vec<Recovered>>, TxnError> {
    if journal::list(&layout.journal_dir())?.is_empty() {
        return Ok(None);
    }
    let Some(_lock) = super::HostLock::try_acquire(&layout.lock_file())? else {
        return Ok(None);
    };
    recover(layout).map(Some)
}
