//! `golock check`: drift for hooks and CI, between golock.toml and the
//! repo's go.mod/go.sum and (unless `--repo-only`) the host; `--json`.

use super::args::{CheckArgs, PlanFlags};
use super::context::Context;
use super::error::Result;
use super::exit;
use super::output::outln;
use crate::host::verify::Finding;
use crate::lockfile::{Lockfile, gomod};

pub(super) fn run(ctx: &Context, args: &CheckArgs) -> Result<u8> {
    let flags = args.plan_flags();
    ctx.ensure_locked(&flags)?;
    let lock = ctx.load_lockfile()?;
    let mut drifted: Vec<Finding> = gomod::drift(&lock)?.iter().map(Finding::from).collect();
    if !args.repo_only {
        drifted.extend(host_drift(ctx, &lock, &flags)?);
    }
    if args.json {
        outln!("{}", super::output::findings_json(&drifted))?;
    }
    if drifted.is_empty() {
        ctx.say(if args.repo_only {
            "In sync: golock.toml matches go.mod and go.sum."
        } else {
            "In sync: the host and the repo match golock.toml."
        });
        return Ok(exit::OK);
    }
    if !args.json {
        for item in &drifted {
            outln!("drift: {}", item.message)?;
        }
    }
    ctx.say(format!("{} drifted item(s).", drifted.len()));
    Ok(exit::CHANGES)
}

/// A pending journal, and every action a plan would take.
fn host_drift(ctx: &Context, lock: &Lockfile, flags: &PlanFlags) -> Result<Vec<Finding>> {
    let mut drifted = ctx.pending_findings()?;
    for pending in &mut drifted {
        pending.message = format!("host: {}", pending.message);
    }
    let (_, plan) = ctx.plan_for(lock, &ctx.plan_options(flags)?)?;
    drifted.extend(plan.actions.iter().map(|a| a.finding()));
    Ok(drifted)
}
