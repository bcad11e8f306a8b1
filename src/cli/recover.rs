//! `golock recover`: roll back an interrupted apply (after checking its
//! journal whole), or `--discard` it; and the recovery every apply runs first.

use super::args::RecoverArgs;
use super::context::Context;
use super::error::{CommandError, Result};
use super::exit;
use super::output::{outln, statusln};
use crate::apply;
use crate::txn::{self, HostLock, Wait};

pub(super) fn run(ctx: &Context, args: &RecoverArgs) -> Result<u8> {
    let _lock = HostLock::acquire(&ctx.layout.lock_file(), Wait::Block, |pid| ctx.waiting(pid))?;
    if args.discard {
        return discard(ctx);
    }
    if txn::pending(&ctx.layout)?.is_empty() {
        ctx.say("Nothing to recover.");
    }
    recover_holding_lock(ctx)?;
    Ok(exit::OK)
}

fn discard(ctx: &Context) -> Result<u8> {
    let dropped = txn::discard(&ctx.layout, &ctx.journal_scope())?;
    if dropped.is_empty() {
        ctx.say("Nothing to discard.");
    }
    for d in &dropped {
        outln!("discarded {} without replaying it", d.journal.display())?;
        for what in &d.would_undo {
            outln!("  would have undone: {what}")?;
        }
        for why in &d.problems {
            outln!("  refused because: {why}")?;
        }
    }
    Ok(exit::OK)
}

/// Recover holding the lock; an error when a journal had to be kept.
pub(super) fn recover_holding_lock(ctx: &Context) -> Result<()> {
    let recovered = txn::recover(&ctx.layout, &ctx.journal_scope())?;
    report_recovered(ctx, &recovered);
    record(ctx, &recovered);
    // Without a (valid) golock.toml, modules keep their marks for later.
    let lock = ctx.load_lockfile().ok();
    report_settled(
        ctx,
        apply::settle_holding_lock(&ctx.layout, lock.as_ref(), ctx.env.boot_id.as_deref()),
    );
    let count = recovered.iter().filter(|r| r.journal_kept()).count();
    if count > 0 {
        return Err(CommandError::RecoveryIncomplete { count });
    }
    Ok(())
}

/// One history entry for the journals replayed; none when nothing was
/// (no journal, or each one refused whole: the host did not change).
fn record(ctx: &Context, recovered: &[txn::Recovered]) {
    let replayed = |r: &txn::Recovered| !matches!(r.verdict, txn::Verdict::Refused { .. });
    if !recovered.iter().any(replayed) {
        return;
    }
    let mut actions = Vec::new();
    for r in recovered.iter().filter(|r| replayed(r)) {
        let (what, steps): (&str, &[String]) = match &r.verdict {
            txn::Verdict::RolledForward => ("finish committed apply", &[]),
            txn::Verdict::RolledBack { undone, .. } => ("roll back interrupted apply", undone),
            txn::Verdict::Refused { problems } => ("refuse the journal of apply", problems),
            txn::Verdict::Incomplete { undone, .. } => ("partly roll back apply", undone),
        };
        actions.push(format!("~ {what} {}", r.id));
        actions.extend(steps.iter().map(|s| format!("  {s}")));
    }
    let incomplete = recovered.iter().any(|r| r.journal_kept());
    super::history::record(
        ctx,
        crate::history::Outcome {
            command: "recover",
            lockfile: ctx
                .load_lockfile()
                .ok()
                .map(|l| super::history::lockfile_ref(&l)),
            actions,
            status: if incomplete {
                crate::history::FAILED
            } else {
                crate::history::OK
            },
            exit_code: if incomplete { exit::ERROR } else { exit::OK },
            error: None,
        },
    );
}

fn report_settled(ctx: &Context, settled: std::result::Result<Vec<String>, apply::SettleError>) {
    match settled {
        Ok(names) => {
            for name in names {
                ctx.say(format!("golock: {name} is intact after the reboot"));
            }
        }
        // Only saves work: the host observation rechecks until it is recorded.
        Err(e) => ctx.say(format!("golock: warning: {e}")),
    }
}

fn report_recovered(ctx: &Context, recovered: &[txn::Recovered]) {
    let list = |head: &str, items: &[String]| {
        for what in items {
            statusln!("  {head}{what}");
        }
    };
    for r in recovered {
        match &r.verdict {
            txn::Verdict::RolledForward => {
                ctx.say(format!("golock: finished committed apply {}", r.id));
            }
            txn::Verdict::RolledBack { undone, kept } => {
                ctx.say(format!("golock: rolled back interrupted apply {}", r.id));
                if !ctx.quiet {
                    list("", undone);
                    list("", kept);
                }
            }
            // Always shown, even with -q: the journal stays and needs a person.
            txn::Verdict::Refused { problems } => {
                statusln!(
                    "golock: refused the journal {}: nothing was replayed, it is kept",
                    r.journal.display()
                );
                list("", problems);
            }
            txn::Verdict::Incomplete {
                undone,
                kept,
                not_undone,
            } => {
                statusln!(
                    "golock: partly rolled back interrupted apply {}; the journal {} is kept",
                    r.id,
                    r.journal.display()
                );
                list("", undone);
                list("", kept);
                list("could not undo: ", not_undone);
            }
        }
    }
}
