//! `golock history`: the audit history (`<root>/history.jsonl`), and the
//! recording every command that changed the host does once it is done.
//! Reading writes nothing; a damaged line is skipped with a warning.

use serde::Serialize;

use super::args::HistoryArgs;
use super::context::Context;
use super::error::Result;
use super::exit;
use super::output::{outln, statusln};
use crate::apply::ApplyError;
use crate::history::{self, Entry, History, LockfileRef, Outcome};
use crate::lockfile::Lockfile;
use crate::plan::Plan;

/// `--json`'s document.
#[derive(Serialize)]
struct HistoryDoc<'a> {
    format_version: u32,
    file: std::path::PathBuf,
    entries: &'a [Entry],
    warnings: &'a [String],
}

pub(super) fn run(ctx: &Context, args: &HistoryArgs) -> Result<u8> {
    let file = ctx.layout.history_file();
    let read = history::read(&file)?;
    warn_skipped(&read);
    let from = args.n.map_or(0, |n| read.entries.len().saturating_sub(n));
    let entries = &read.entries[from..];
    if args.json {
        let doc = HistoryDoc {
            format_version: 1,
            file,
            entries,
            warnings: &read.warnings,
        };
        outln!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default())?;
        return Ok(exit::OK);
    }
    if entries.is_empty() {
        outln!("No history: {} holds no entries.", file.display())?;
    }
    for entry in entries {
        for line in entry_lines(entry) {
            outln!("{line}")?;
        }
    }
    Ok(exit::OK)
}

fn warn_skipped(read: &History) {
    for warning in &read.warnings {
        statusln!("golock: warning: {warning}");
    }
}

/// `#3  2026-12-04T18:41:17Z  apply  ok  root@build1  golock 0.1.0`, the
/// lockfile, then each action with its result.
pub(super) fn entry_lines(e: &Entry) -> Vec<String> {
    let user = e
        .user
        .name
        .clone()
        .unwrap_or_else(|| format!("uid {}", e.user.uid));
    let mut lines = vec![format!(
        "#{}  {}  {}  {} (exit {})  {user}@{}  golock {}",
        e.id, e.time, e.command, e.status, e.exit_code, e.host, e.golock_version
    )];
    if let Some(lock) = &e.lockfile {
        lines.push(format!(
            "    lockfile {} (sha256 {})",
            lock.path.display(),
            lock.sha256
        ));
    }
    for a in &e.actions {
        lines.push(format!("    {}  [{}]", a.action, a.result));
    }
    if e.actions_omitted > 0 {
        lines.push(format!("    … and {} more action(s)", e.actions_omitted));
    }
    if let Some(error) = &e.error {
        lines.push(format!("    error: {}", error.lines().next().unwrap_or("")));
    }
    lines
}

/// The last entry, reading only the file's end (for `status`).
pub(super) fn last_entry(ctx: &Context) -> Option<Entry> {
    let tail = history::read_tail(&ctx.layout.history_file(), 2 * history::MAX_LINE as u64);
    tail.ok().and_then(|h| h.entries.last().cloned())
}

/// Append one entry; a failure is a warning (the change itself is done).
pub(super) fn record(ctx: &Context, outcome: Outcome<'_>) -> Option<Entry> {
    let file = ctx.layout.history_file();
    let last = history::read_tail(&file, 2 * history::MAX_LINE as u64)
        .ok()
        .and_then(|h| h.last_id());
    match history::append(&file, outcome, last) {
        Ok(entry) => Some(entry),
        Err(e) => {
            statusln!("golock: warning: the history was not recorded: {e}");
            None
        }
    }
}

/// The entry for an executed plan: its actions, and how it ended.
pub(super) fn record_plan(
    ctx: &Context,
    command: &'static str,
    lock: &Lockfile,
    plan: &Plan,
    result: &std::result::Result<(), ApplyError>,
) -> Option<Entry> {
    let (status, exit_code, error) = match result {
        Ok(()) => (history::OK, exit::OK, None),
        Err(ApplyError::Interrupted { signal }) => (history::INTERRUPTED, signal.exit_code(), None),
        Err(e @ ApplyError::RolledBack { .. }) => (
            history::ROLLED_BACK,
            exit::ERROR,
            Some(crate::apply::chain(e)),
        ),
        Err(e) => (history::FAILED, exit::ERROR, Some(crate::apply::chain(e))),
    };
    record(
        ctx,
        Outcome {
            command,
            lockfile: Some(lockfile_ref(lock)),
            actions: plan.action_lines(),
            status,
            exit_code,
            error,
        },
    )
}

pub(super) fn lockfile_ref(lock: &Lockfile) -> LockfileRef {
    LockfileRef {
        path: lock.path.clone(),
        sha256: hex::encode(lock.sha256),
    }
}

/// After a successful apply: keep its golock.toml under `lockfiles/`,
/// and only the `keep` most recently applied ones. Failing is a warning.
pub(super) fn keep_lockfile(ctx: &Context, lock: &Lockfile, keep: usize) {
    let Ok(bytes) = crate::fsx::read(&lock.path) else {
        statusln!(
            "golock: warning: could not read {} again to keep it",
            lock.path.display()
        );
        return;
    };
    if bytes_sha(&bytes) != lock.sha256 {
        statusln!(
            "golock: warning: {} changed during the apply; not kept under {}",
            lock.path.display(),
            ctx.layout.lockfiles_dir().display()
        );
        return;
    }
    let recent = applied_lockfiles(ctx);
    if let Err(e) = history::keep_lockfile(&ctx.layout.lockfiles_dir(), &bytes, &recent, keep) {
        statusln!("golock: warning: the lockfile was not kept: {e}");
    }
}

fn bytes_sha(bytes: &[u8]) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    Sha256::digest(bytes).into()
}

/// The sha256 of each lockfile successfully applied, newest first.
fn applied_lockfiles(ctx: &Context) -> Vec<String> {
    let Ok(read) = history::read(&ctx.layout.history_file()) else {
        return Vec::new();
    };
    read.entries
        .iter()
        .rev()
        .filter(|e| e.status == history::OK && matches!(e.command.as_str(), "apply" | "rollback"))
        .filter_map(|e| e.lockfile.as_ref().map(|l| l.sha256.clone()))
        .collect()
}
