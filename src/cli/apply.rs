//! `golock apply`: recover first, plan (or load a saved plan), ask, then
//! execute the plan under one journaled transaction.

use std::io::{BufRead, IsTerminal};
use std::path::Path;

use super::args::ApplyArgs;
use super::context::Context;
use super::error::{CommandError, Result};
use super::exit;
use super::output;
use super::recover::recover_holding_lock;
use crate::apply;
use crate::fsx::{self, Context as _, ResultExt as _};
use crate::plan::{self, Plan, PlanOptions};
use crate::txn::{HostLock, Wait};

pub(super) fn run(ctx: &Context, args: &ApplyArgs) -> Result<u8> {
    ctx.ensure_locked(&args.flags)?;
    ctx.load_lockfile()?; // a bad lockfile is reported before anything is created
    let wait = if args.no_wait { Wait::No } else { Wait::Block };
    let _lock = HostLock::acquire(&ctx.layout.lock_file(), wait, |pid| ctx.waiting(pid))?;
    recover_holding_lock(ctx)?;
    let mut opts = ctx.plan_options(&args.flags)?;
    let unpacked = match &args.bundle {
        Some(bundle) => {
            let dir = ctx
                .layout
                .staging_dir()
                .join(format!("bundle-{}", std::process::id()));
            if let Err(refused) = ctx.use_bundle(bundle, &dir, &mut opts) {
                // A refused bundle leaves nothing of itself in staging.
                fsx::remove_tree_opt(&dir)?;
                return Err(refused);
            }
            Some(dir)
        }
        None => None,
    };
    let result = apply_planned(ctx, args, &opts);
    if let Some(dir) = unpacked {
        fsx::remove_tree_opt(&dir)?;
    }
    result
}

fn apply_planned(ctx: &Context, args: &ApplyArgs, opts: &PlanOptions) -> Result<u8> {
    let (lock, observed, fresh) = ctx.compute_plan(opts)?;
    let plan = match &args.plan {
        Some(path) => Plan::from_saved(
            &fsx::read(path).with_op("read plan")?,
            path,
            &hex::encode(lock.sha256),
            &observed.fingerprint(),
        )?,
        None => fresh,
    };
    if plan.is_empty() {
        remember_modules(ctx, &lock);
        ctx.say(plan::NO_CHANGES_MESSAGE);
        return Ok(exit::OK);
    }
    if !ctx.quiet {
        ctx.print_plan(&plan)?;
    }
    // Before the first mutation: a path golock cannot write, or an artifact
    // no local source has, fails here, not halfway. HTTP sources are tried
    // by the apply itself.
    apply::check_writable(&plan, &ctx.layout)?;
    apply::check_sources(&plan, &ctx.layout, None)?;
    if !args.yes && !confirmed()? {
        return Err(CommandError::Cancelled);
    }
    let result = apply::execute(&plan, &ctx.layout, &apply_options(ctx, args, &lock));
    super::history::record_plan(ctx, "apply", &lock, &plan, &result);
    result?;
    super::history::keep_lockfile(ctx, &lock, args.keep_lockfiles);
    remember_modules(ctx, &lock);
    let s = plan.summary;
    ctx.say(format!(
        "Apply complete! {} installed, {} changed, {} removed.",
        s.install, s.change, s.remove
    ));
    if let Some(profile) = plan.first_new_profile_block() {
        ctx.say(format!(
            "Shells started before this apply lack golock's settings: open a new shell or run `. {}`.",
            ctx.layout.display_path(profile)
        ));
    }
    Ok(exit::OK)
}

/// The record only speeds up later plans: failing to write it is a warning.
fn remember_modules(ctx: &Context, lock: &crate::lockfile::Lockfile) {
    if let Err(e) = apply::remember_modules(lock, &ctx.layout) {
        ctx.say(format!("golock: warning: {e}"));
    }
}

fn apply_options(
    ctx: &Context,
    args: &ApplyArgs,
    lock: &crate::lockfile::Lockfile,
) -> apply::Options {
    let health = apply::Health::new(lock.go.version.as_str(), lock.go.health_check.clone());
    apply::Options {
        reporter: super::progress::reporter(ctx.quiet),
        limits: crate::archive::Limits {
            max_unpacked_bytes: args.max_unpacked_bytes,
            max_entries: args.max_entries,
        },
        http: args.http.client(),
        sync: apply::SyncMode::from(args.sync).effective(ctx.env.boot_id.as_deref()),
        boot_id: ctx.env.boot_id.clone(),
        health: Some(health),
        signing_keys: lock.go.signing_keys.clone(),
    }
}

/// Ask like terraform when a person is at the terminal; scripts and CI
/// (stdin not a terminal) are not asked.
pub(super) fn confirmed() -> Result<bool> {
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        return Ok(true);
    }
    output::status(format_args!(
        "\nDo you want to perform these actions? Only 'yes' will be accepted: "
    ));
    let mut answer = String::new();
    stdin
        .lock()
        .read_line(&mut answer)
        .ctx("read answer", Path::new("<stdin>"))?;
    Ok(answer.trim() == "yes")
}
