//! `golock uninstall`: recover first, plan the removal of what state.json
//! records golock put here, ask, then execute that plan under one journaled
//! transaction like `apply`; with `--all`, then clear golock's data dir.

use super::apply::confirmed;
use super::args::UninstallArgs;
use super::context::Context;
use super::error::{CommandError, Result};
use super::exit;
use super::recover::recover_holding_lock;
use crate::apply;
use crate::host;
use crate::plan::{self, UninstallOptions};
use crate::txn::{HostLock, Wait};

pub(super) fn run(ctx: &Context, args: &UninstallArgs) -> Result<u8> {
    let lock = ctx.load_lockfile()?;
    let wait = if args.no_wait { Wait::No } else { Wait::Block };
    let host_lock = HostLock::acquire(&ctx.layout.lock_file(), wait, |pid| ctx.waiting(pid))?;
    recover_holding_lock(ctx)?;
    let observe = host::ObserveOptions {
        list_unlocked_modules: args.modules,
        rehash: false,
    };
    let observed = host::observe(&lock, &ctx.layout, &ctx.env, &observe)?;
    let opts = UninstallOptions {
        all: args.all,
        modules: args.modules,
        force: args.force,
    };
    let plan = plan::uninstall(&lock, &observed, &ctx.layout, opts)?;
    if plan.is_empty() {
        ctx.say(plan::NOTHING_TO_UNINSTALL);
        return finish_all(ctx, args, host_lock);
    }
    if !ctx.quiet {
        ctx.print_plan(&plan)?;
    }
    apply::check_writable(&plan, &ctx.layout)?;
    if !args.yes && !confirmed()? {
        return Err(CommandError::Cancelled);
    }
    let result = apply::execute(&plan, &ctx.layout, &options());
    super::history::record_plan(ctx, "uninstall", &lock, &plan, &result);
    result?;
    ctx.say(format!(
        "Uninstall complete! {} removed.",
        plan.summary.remove + plan.summary.change
    ));
    finish_all(ctx, args, host_lock)
}

/// With `--all`, golock's data dir goes once the transaction committed
/// (also when nothing else was left to remove).
fn finish_all(ctx: &Context, args: &UninstallArgs, host_lock: HostLock) -> Result<u8> {
    if !args.all {
        return Ok(exit::OK);
    }
    let kept = apply::uninstall::remove_data_dir(&ctx.layout)?;
    drop(host_lock);
    for dir in kept {
        ctx.say(format!(
            "golock: kept {}: it holds files golock did not write",
            dir.display()
        ));
    }
    Ok(exit::OK)
}

/// Uninstall downloads nothing and installs no toolchain: the defaults.
fn options() -> apply::Options {
    apply::Options {
        reporter: Box::new(apply::Silent),
        limits: crate::archive::Limits::default(),
        http: crate::fetch::Client::new(crate::fetch::HttpOptions::from_env()),
        sync: apply::SyncMode::Full,
        boot_id: None,
        health: None,
        signing_keys: Vec::new(),
    }
}
