//! After a crash: find the journals left behind, check each whole before
//! replaying any of it, roll it back (or, after its commit record, finish
//! it), and keep every journal that could not be finished safely. The
//! read-only side (`pending`) only reports; it never replays.

use std::path::{Path, PathBuf};

use super::host_lock::HostLock;
use super::journal::{self, Parsed, Record};
use super::transaction::{TxnError, UndoReport, cleanup, drop_moved_aside, scratch_dir, undo_all};
use super::undo::Undo;
use super::validate::{self, Scope};
use crate::fsx;
use crate::host::layout::Layout;

/// What `recover` did with one interrupted transaction.
#[derive(Debug)]
pub struct Recovered {
    pub id: String,
    pub journal: PathBuf,
    pub verdict: Verdict,
}

#[derive(Debug)]
pub enum Verdict {
    /// Every begun step was reversed; the journal is gone.
    RolledBack {
        undone: Vec<String>,
        kept: Vec<String>,
    },
    /// It had committed: what was moved aside is dropped; the journal is gone.
    RolledForward,
    /// A record failed validation: nothing was replayed, the journal is kept.
    Refused { problems: Vec<String> },
    /// Damaged, or some steps could not be reversed safely: the rest was,
    /// and the journal is kept.
    Incomplete {
        undone: Vec<String>,
        kept: Vec<String>,
        not_undone: Vec<String>,
    },
}

impl Recovered {
    pub fn journal_kept(&self) -> bool {
        matches!(
            self.verdict,
            Verdict::Refused { .. } | Verdict::Incomplete { .. }
        )
    }
}

/// Running as root, refuse a data dir another user could write.
pub fn ensure_trusted(layout: &Layout) -> Result<(), TxnError> {
    let problems = validate::untrusted_paths(layout);
    if problems.is_empty() {
        Ok(())
    } else {
        Err(TxnError::Untrusted { problems })
    }
}

/// Roll back (or finish) every journal left behind. The caller holds the host lock.
pub fn recover(layout: &Layout, scope: &Scope) -> Result<Vec<Recovered>, TxnError> {
    ensure_trusted(layout)?;
    let mut recovered = Vec::new();
    for path in journal::list(&layout.journal_dir())? {
        recovered.push(recover_one(layout, scope, &path)?);
    }
    let kept: Vec<&str> = recovered
        .iter()
        .filter(|r| r.journal_kept())
        .map(|r| r.id.as_str())
        .collect();
    clear_staging(layout, &kept)?;
    Ok(recovered)
}

fn journal_id(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn undos_of(parsed: &Parsed) -> Vec<Undo> {
    parsed
        .records
        .iter()
        .filter_map(|(_, r)| match r {
            Record::Begin { undo, .. } => Some(undo.clone()),
            _ => None,
        })
        .collect()
}

fn read_checked(path: &Path, scope: &Scope) -> Result<Parsed, Vec<String>> {
    let parsed = journal::read(path).map_err(|e| vec![e.to_string()])?;
    let problems = validate::problems(path, &parsed, scope);
    if problems.is_empty() {
        Ok(parsed)
    } else {
        Err(problems)
    }
}

fn recover_one(layout: &Layout, scope: &Scope, path: &Path) -> Result<Recovered, TxnError> {
    let id = journal_id(path);
    let done = |verdict| Recovered {
        id: id.clone(),
        journal: path.to_path_buf(),
        verdict,
    };
    let parsed = match read_checked(path, scope) {
        Ok(p) => p,
        Err(problems) => return Ok(done(Verdict::Refused { problems })),
    };
    let undos = undos_of(&parsed);
    let committed = parsed.records.iter().any(|(_, r)| *r == Record::Commit);
    let mut report = if committed {
        drop_moved_aside(&undos)?;
        UndoReport::default()
    } else {
        undo_all(&undos, &id)
    };
    report
        .not_undone
        .extend(parsed.damage.iter().map(|(line, why)| {
            format!("line {line} is damaged ({why}): what that step did is unknown")
        }));
    if !report.not_undone.is_empty() {
        return Ok(done(Verdict::Incomplete {
            undone: report.undone,
            kept: report.kept,
            not_undone: report.not_undone,
        }));
    }
    cleanup(path, &scratch_dir(path), &layout.staging_dir().join(&id))?;
    Ok(done(if committed {
        Verdict::RolledForward
    } else {
        Verdict::RolledBack {
            undone: report.undone,
            kept: report.kept,
        }
    }))
}

/// Staging holds nothing live once no transaction runs (we hold the lock);
/// a kept journal's staging stays with it.
fn clear_staging(layout: &Layout, kept: &[&str]) -> Result<(), TxnError> {
    let staging = layout.staging_dir();
    let Ok(entries) = fsx::read_dir(&staging) else {
        return Ok(());
    };
    for entry in entries.flatten() {
        if kept.iter().any(|id| entry.file_name() == *id) {
            continue;
        }
        fsx::remove_tree_opt(&entry.path())?;
    }
    Ok(())
}

/// A journal `recover --discard` dropped, and what replaying it would have done.
#[derive(Debug)]
pub struct Discarded {
    pub journal: PathBuf,
    /// Newest first, as a rollback would go.
    pub would_undo: Vec<String>,
    pub problems: Vec<String>,
}

/// Drop every journal without replaying it. The caller holds the host lock.
pub fn discard(layout: &Layout, scope: &Scope) -> Result<Vec<Discarded>, TxnError> {
    ensure_trusted(layout)?;
    let mut out = Vec::new();
    for path in journal::list(&layout.journal_dir())? {
        let parsed = journal::read(&path).unwrap_or_default();
        let mut problems = validate::problems(&path, &parsed, scope);
        problems.extend(
            parsed
                .damage
                .iter()
                .map(|(line, why)| format!("line {line} is damaged: {why}")),
        );
        let would_undo = undos_of(&parsed).iter().rev().map(Undo::describe).collect();
        let id = journal_id(&path);
        let staging = if validate::is_txn_id(&id) {
            layout.staging_dir().join(&id)
        } else {
            layout.staging_dir().join(".none")
        };
        cleanup(&path, &scratch_dir(&path), &staging)?;
        out.push(Discarded {
            journal: path,
            would_undo,
            problems,
        });
    }
    Ok(out)
}

/// A journal left on the host, seen without changing anything.
#[derive(Debug)]
pub struct Pending {
    pub journal: PathBuf,
    /// When its transaction began (unix seconds), if the journal says.
    pub started: Option<u64>,
    /// The pid of a golock holding the host lock right now: the journal
    /// belongs to a running apply.
    pub running: Option<String>,
}

/// The journals left in the data dir. Reads only: takes no lock that would
/// write, creates nothing.
pub fn pending(layout: &Layout) -> Result<Vec<Pending>, TxnError> {
    let journals = journal::list(&layout.journal_dir())?;
    if journals.is_empty() {
        return Ok(Vec::new());
    }
    let running = HostLock::holder(&layout.lock_file())?;
    Ok(journals
        .into_iter()
        .map(|path| {
            let started = journal::read(&path).ok().and_then(|p| {
                p.records.first().and_then(|(_, r)| match r {
                    Record::Open { started, .. } if *started > 0 => Some(*started),
                    _ => None,
                })
            });
            let started = started.or_else(|| {
                fsx::metadata(&path)
                    .ok()
                    .and_then(|m| m.modified().ok())
                    .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                    .map(|d| d.as_secs())
            });
            Pending {
                journal: path,
                started,
                running: running.clone(),
            }
        })
        .collect())
}

impl std::fmt::Display for Pending {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let when = self.started.map_or("an unknown time".to_string(), utc);
        match &self.running {
            Some(pid) => write!(
                f,
                "an apply from {when} is in progress (golock pid {pid}, journal {}): run again when it finishes",
                self.journal.display()
            ),
            None => write!(
                f,
                "an interrupted apply from {when} is pending (journal {}): run `golock recover` (or `golock apply`, which recovers first)",
                self.journal.display()
            ),
        }
    }
}

/// `YYYY-MM-DD HH:MM:SS UTC`.
pub fn utc(secs: u64) -> String {
    let (year, month, day) = crate::civil::civil_from_days((secs / 86_400) as i64);
    let rem = secs % 86_400;
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_formats_known_instants() {
        assert_eq!(utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc(951_782_400), "2000-02-29 00:00:00 UTC");
        assert_eq!(utc(1_767_323_045), "2026-01-02 03:04:05 UTC");
    }
}
