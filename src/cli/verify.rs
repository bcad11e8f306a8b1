//! `golock verify`: rehash the module cache and the installed toolchain;
//! `--json`.

use super::args::VerifyArgs;
use super::context::Context;
use super::error::Result;
use super::exit;
use super::output::outln;
use crate::host;

/// A pending journal is a mismatch: the host is between two states, so
/// what verify checks may be right by accident; the checks still run.
pub(super) fn run(ctx: &Context, args: &VerifyArgs) -> Result<u8> {
    let lock = ctx.load_lockfile()?;
    let cache = host::gomodcache(&lock, &ctx.layout.home)?;
    let mut problems = ctx.pending_findings()?;
    let pending = !problems.is_empty();
    problems.extend(host::verify::module_findings(&lock, &cache));
    if !args.modules_only {
        problems.extend(host::verify::toolchain_findings(&lock, &ctx.layout));
    }
    if args.json {
        outln!("{}", super::output::findings_json(&problems))?;
    }
    if problems.is_empty() {
        ctx.say(format!(
            "Verified {} module(s){}.",
            lock.modules.require.len(),
            if args.modules_only {
                ""
            } else {
                " and the installed toolchain"
            }
        ));
        return Ok(exit::OK);
    }
    if args.json {
        ctx.say(next_step(pending));
    } else {
        for p in &problems {
            outln!("mismatch: {}", p.message)?;
        }
        outln!("{}", next_step(pending))?;
    }
    Ok(exit::CHANGES)
}

/// What fixes what verify found.
fn next_step(pending: bool) -> &'static str {
    if pending {
        "To fix this, run `golock recover`, then `golock apply --repair`."
    } else {
        "To fix this, run `golock apply --repair`."
    }
}
