//! The transaction: each mutation is announced by a `Begin` record holding
//! its undo, performed, then marked `Done`. Rollback applies the undos of
//! every begun step newest-first; every undo is idempotent and also correct
//! when its step never ran, so a crash at any instant can be rolled back.

use std::collections::BTreeSet;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use super::journal::{Journal, JournalError, Record};
use super::undo::{Identity, Installed, Outcome, Undo, sha256_hex};
use crate::fsx;
use crate::host::layout::Layout;
use crate::txn::checkpoint::{self, Checkpoint, FileStep, RenameStep};

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
    #[error("rollback of {} did not finish:\n  {}", journal.display(), problems.join("\n  "))]
    #[diagnostic(
        code(golock::txn::rollback_failed),
        help(
            "fix the cause, then run `golock recover`; the journal is kept so nothing is forgotten"
        )
    )]
    RollbackFailed {
        journal: PathBuf,
        problems: Vec<String>,
    },
    #[error("refusing golock's data dir: another user could write it:\n  {}", problems.join("\n  "))]
    #[diagnostic(
        code(golock::txn::untrusted),
        help(
            "run as root, golock trusts only a data dir, journal and state file that root alone can write (as sshd's StrictModes): chown them to root and chmod go-w, or pass another --root"
        )
    )]
    Untrusted { problems: Vec<String> },
}

pub struct Transaction {
    id: String,
    journal: Journal,
    scratch: PathBuf,
    staging: PathBuf,
    seq: u64,
    undos: Vec<Undo>,
}

impl Transaction {
    /// Start a transaction: its journal is durable before this returns.
    pub fn begin(layout: &Layout, plan: serde_json::Value) -> Result<Transaction, TxnError> {
        let id = new_id();
        let open = Record::Open {
            id: id.clone(),
            pid: std::process::id(),
            golock_version: env!("CARGO_PKG_VERSION").to_string(),
            started: unix_now(),
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
        // A missing parent (`toolchains/` on the first install) is created
        // under the journal too, so rollback leaves no empty dir behind.
        self.create_dirs(&[fsx::parent_of(target).to_path_buf()])?;
        let seq = self.announce(Undo::RemoveTree {
            path: target.to_path_buf(),
            id: Identity::of(staged)?,
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
            new: target.to_path_buf(),
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
        let old_meta = fsx::metadata(path).ok();
        // Never setuid, setgid or sticky: recovery refuses a record that says so.
        let mode = old_meta.as_ref().map_or(0o644, |m| m.mode() & 0o777);
        let (backup, backup_sha256) = match fsx::read_opt(path)? {
            Some(old) => (Some(self.save_backup(&old)?), Some(sha256_hex(&old))),
            None => (None, None),
        };
        let temp = fsx::sibling_temp(path, &self.id);
        let seq = self.announce(Undo::RestoreFile {
            path: path.to_path_buf(),
            backup,
            backup_sha256,
            new_sha256: sha256_hex(bytes),
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
            fsx::create_dir(dir)?;
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
        let paths = moves
            .iter()
            .map(|(staged, target)| {
                Ok(Installed {
                    path: target.clone(),
                    id: Identity::of(staged)?,
                })
            })
            .collect::<Result<Vec<_>, fsx::FsError>>()?;
        let seq = self.announce(Undo::RemovePaths { paths })?;
        checkpoint::reach(Checkpoint::BeforeRename(label.into()));
        for (staged, target) in moves {
            fsx::rename(staged, target)?;
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
            fsx::create_dir(dir)?;
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

    /// Undo every begun step, newest first. Returns what was undone; when
    /// a step could not be undone safely, the journal is kept and the error
    /// lists every such step.
    pub fn rollback(self) -> Result<Vec<String>, TxnError> {
        let report = undo_all(&self.undos, &self.id);
        if !report.not_undone.is_empty() {
            return Err(TxnError::RollbackFailed {
                journal: self.journal.path.clone(),
                problems: report.not_undone,
            });
        }
        cleanup(&self.journal.path, &self.scratch, &self.staging)?;
        Ok(report.undone.into_iter().chain(report.kept).collect())
    }
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn new_id() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("{nanos:x}-{}", std::process::id())
}

pub(super) fn scratch_dir(journal_path: &Path) -> PathBuf {
    journal_path.with_extension("d")
}

/// What reversing a list of undos did, newest first.
#[derive(Debug, Default)]
pub(super) struct UndoReport {
    pub undone: Vec<String>,
    /// Left on purpose: not (only) golock's.
    pub kept: Vec<String>,
    /// Could not be reversed safely or failed: the journal must stay.
    pub not_undone: Vec<String>,
}

/// Reverse every undo, newest first. A failing step does not stop the
/// others: each checks for itself what is still golock's.
pub(super) fn undo_all(undos: &[Undo], txn_id: &str) -> UndoReport {
    let mut report = UndoReport::default();
    for undo in undos.iter().rev() {
        match undo.apply(txn_id) {
            Ok(outcomes) => {
                for outcome in outcomes {
                    match outcome {
                        Outcome::Nothing => {}
                        Outcome::Undone(s) => report.undone.push(s),
                        Outcome::Kept(s) => report.kept.push(s),
                        Outcome::NotUndone(s) => report.not_undone.push(s),
                    }
                }
            }
            Err(e) => report.not_undone.push(format!("{}: {e}", undo.describe())),
        }
    }
    report
}

/// After a commit, what was moved aside is no longer needed.
pub(super) fn drop_moved_aside(undos: &[Undo]) -> Result<(), TxnError> {
    for undo in undos {
        if let Undo::MoveBack { saved, .. } = undo {
            fsx::remove_tree_opt(saved)?;
        }
    }
    Ok(())
}

pub(super) fn cleanup(journal_path: &Path, scratch: &Path, staging: &Path) -> Result<(), TxnError> {
    fsx::remove_tree_opt(staging)?;
    fsx::remove_tree_opt(scratch)?;
    fsx::remove_file_opt(journal_path)?;
    fsx::fsync_dir(fsx::parent_of(journal_path))?;
    Ok(())
}
