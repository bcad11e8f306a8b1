//! `golock check`: drift for hooks and CI, between golock.toml and the
//! repo's go.mod/go.sum and (unless `--repo-only`) the host.

use super::args::{CheckArgs, PlanFlags};
use super::context::Context;
use super::error::Result;
use super::exit;
use super::output::outln;
use crate::lockfile::gomod;

pub(super) fn run(ctx: &Context, args: &CheckArgs) -> Result<u8> {
    let flags = args.plan_flags();
    ctx.ensure_locked(&flags)?;
    let lock = ctx.load_lockfile()?;
    let mut drifted: Vec<String> = gomod::drift(&lock)?
        .into_iter()
        .map(|d| format!("repo: {d}"))
        .collect();
    if !args.repo_only {
        drifted.extend(host_drift(ctx, &flags)?);
    }
    if drifted.is_empty() {
        ctx.say(if args.repo_only {
            "In sync: golock.toml matches go.mod and go.sum."
        } else {
            "In sync: the host and the repo match golock.toml."
        });
        return Ok(exit::OK);
    }
    for line in &drifted {
        outln!("drift: {line}")?;
    }
    ctx.say(format!("{} drifted item(s).", drifted.len()));
    Ok(exit::CHANGES)
}

/// A pending journal, and every action a plan would take.
fn host_drift(ctx: &Context, flags: &PlanFlags) -> Result<Vec<String>> {
    let mut drifted: Vec<String> = ctx
        .pending_lines()?
        .into_iter()
        .map(|p| format!("host: {p}"))
        .collect();
    let (_, _, plan) = ctx.compute_plan(&ctx.plan_options(flags)?)?;
    drifted.extend(
        plan.actions
            .iter()
            .map(|a| format!("host: {}", a.headline())),
    );
    Ok(drifted)
}
