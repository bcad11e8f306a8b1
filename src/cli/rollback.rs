//! `golock rollback`: back to the host state of an earlier successful apply
//! in the history (by default the one before the state now), planned from
//! the golock.toml kept for it under `<root>/lockfiles/`, then applied like
//! `apply` (prompt, `-y`, journal, health checks, a history entry). It
//! fetches nothing: when a toolchain or module of that state is no longer
//! on the host, it says what is missing and where it would come from.

use std::path::PathBuf;

use super::apply::confirmed;
use super::args::RollbackArgs;
use super::context::Context;
use super::error::{CommandError, Result};
use super::exit;
use super::history::{keep_lockfile, record_plan};
use super::recover::recover_holding_lock;
use crate::apply;
use crate::history::{self, Entry};
use crate::lockfile::{self, Lockfile};
use crate::plan::{self, Action, PlanOptions};
use crate::txn::{HostLock, Wait};

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum RollbackError {
    #[error("the history has no earlier successful apply to roll back to")]
    #[diagnostic(
        code(golock::rollback::nothing_earlier),
        help(
            "`golock history` lists what it holds; rollback needs two applies of different golock.toml files"
        )
    )]
    NothingEarlier,
    #[error("history entry #{id} {why}")]
    #[diagnostic(
        code(golock::rollback::bad_entry),
        help("pick an `ok` apply or rollback entry from `golock history`")
    )]
    BadEntry { id: u64, why: String },
    #[error(
        "the golock.toml of history entry #{id} (sha256 {sha256}) is not kept in {}",
        dir.display()
    )]
    #[diagnostic(
        code(golock::rollback::lockfile_not_kept),
        help(
            "retention (`--keep-lockfiles`) removed it, or it was deleted; check out that golock.toml \
             ({}) and run `golock apply --lockfile` with it",
            path.display()
        )
    )]
    NotKept {
        id: u64,
        sha256: String,
        dir: PathBuf,
        path: PathBuf,
    },
    #[error(
        "rolling back to history entry #{id} needs what is no longer on this host:\n{}",
        missing.join("\n")
    )]
    #[diagnostic(
        code(golock::rollback::missing),
        help(
            "rollback never downloads. To fetch them, apply that golock.toml: \
             `golock apply --lockfile {}` (a copy is kept as {})",
            path.display(),
            kept.display()
        )
    )]
    Missing {
        id: u64,
        missing: Vec<String>,
        path: PathBuf,
        kept: PathBuf,
    },
}

pub(super) fn run(ctx: &Context, args: &RollbackArgs) -> Result<u8> {
    let wait = if args.no_wait { Wait::No } else { Wait::Block };
    let _lock = HostLock::acquire(&ctx.layout.lock_file(), wait, |pid| ctx.waiting(pid))?;
    recover_holding_lock(ctx)?;
    let read = history::read(&ctx.layout.history_file())?;
    for warning in &read.warnings {
        ctx.say(format!("golock: warning: {warning}"));
    }
    let target = target_entry(&read.entries, args.to)?;
    let lock = kept_lockfile(ctx, target)?;
    ctx.say(format!(
        "Rolling back to history entry #{} ({} of {}, {}).",
        target.id,
        target.command,
        lock.path.display(),
        target.time
    ));
    let (_, plan) = ctx.plan_for(&lock, &PlanOptions::default())?;
    refuse_fetching(target.id, &plan, &ctx.layout.lockfiles_dir(), &lock)?;
    if plan.is_empty() {
        ctx.say(plan::NO_CHANGES_MESSAGE);
        return Ok(exit::OK);
    }
    if !ctx.quiet {
        ctx.print_plan(&plan)?;
    }
    apply::check_writable(&plan, &ctx.layout)?;
    if !args.yes && !confirmed()? {
        return Err(CommandError::Cancelled);
    }
    let opts = apply::Options {
        reporter: super::progress::reporter(ctx.quiet),
        limits: crate::archive::Limits::default(),
        http: crate::fetch::Client::new(crate::fetch::HttpOptions::from_env()),
        sync: apply::SyncMode::Full,
        boot_id: None,
        signing_keys: lock.go.signing_keys.clone(),
        health: Some(apply::Health::new(
            lock.go.version.as_str(),
            lock.go.health_check.clone(),
        )),
    };
    let result = apply::execute(&plan, &ctx.layout, &opts);
    record_plan(ctx, "rollback", &lock, &plan, &result);
    result?;
    keep_lockfile(ctx, &lock, args.keep_lockfiles);
    let s = plan.summary;
    ctx.say(format!(
        "Rollback complete! {} installed, {} changed, {} removed.",
        s.install, s.change, s.remove
    ));
    Ok(exit::OK)
}

/// `--to ID`, else the newest successful apply or rollback before the
/// last one whose golock.toml differs from the last one's.
fn target_entry(entries: &[Entry], to: Option<u64>) -> Result<&Entry> {
    let applied = |e: &&Entry| {
        e.status == history::OK
            && matches!(e.command.as_str(), "apply" | "rollback")
            && e.lockfile.is_some()
    };
    if let Some(id) = to {
        let entry =
            entries
                .iter()
                .rev()
                .find(|e| e.id == id)
                .ok_or_else(|| RollbackError::BadEntry {
                    id,
                    why: "is not in the history".to_string(),
                })?;
        if !applied(&entry) {
            return Err(RollbackError::BadEntry {
                id,
                why: format!(
                    "is a {} that ended {:?}, not a successful apply",
                    entry.command, entry.status
                ),
            }
            .into());
        }
        return Ok(entry);
    }
    let mut done = entries.iter().rev().filter(applied);
    let last = done.next().ok_or(RollbackError::NothingEarlier)?;
    let sha = |e: &Entry| e.lockfile.as_ref().map(|l| l.sha256.clone());
    done.find(|e| sha(e) != sha(last))
        .ok_or_else(|| RollbackError::NothingEarlier.into())
}

/// The entry's golock.toml from `lockfiles/`, read as if at its old path
/// (relative mirrors resolve as they did then).
fn kept_lockfile(ctx: &Context, entry: &Entry) -> Result<Lockfile> {
    let Some(lock_ref) = &entry.lockfile else {
        return Err(RollbackError::NothingEarlier.into());
    };
    let dir = ctx.layout.lockfiles_dir();
    let not_kept = || RollbackError::NotKept {
        id: entry.id,
        sha256: lock_ref.sha256.clone(),
        dir: dir.clone(),
        path: lock_ref.path.clone(),
    };
    let bytes = history::kept_lockfile(&dir, &lock_ref.sha256).ok_or_else(not_kept)?;
    let text = String::from_utf8(bytes).map_err(|_| not_kept())?;
    Ok(lockfile::parse(&text, &lock_ref.path, &ctx.layout.home)?)
}

/// A rollback plan installs nothing: each toolchain or module it would
/// fetch is listed with its sources instead.
fn refuse_fetching(
    id: u64,
    plan: &plan::Plan,
    dir: &std::path::Path,
    lock: &Lockfile,
) -> Result<()> {
    let from = |sources: &[crate::fetch::Source]| {
        if sources.is_empty() {
            "no source configured".to_string()
        } else {
            let list: Vec<String> = sources.iter().map(|s| s.describe()).collect();
            format!("from {}", list.join(", "))
        }
    };
    let missing: Vec<String> = plan
        .actions
        .iter()
        .filter_map(|a| match a {
            Action::InstallToolchain {
                version,
                file,
                sources,
                ..
            }
            | Action::ReinstallToolchain {
                version,
                file,
                sources,
                ..
            } => Some(format!(
                "  go{version} (pruned, or damaged): {file} {}",
                from(sources)
            )),
            Action::AddModule {
                path,
                version,
                sources,
                ..
            } => Some(format!("  module {path}@{version}: {}", from(sources))),
            _ => None,
        })
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(RollbackError::Missing {
        id,
        missing,
        path: lock.path.clone(),
        kept: dir.join(format!("{}.toml", hex::encode(lock.sha256))),
    }
    .into())
}
