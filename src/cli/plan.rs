//! `golock plan`: show what apply would change; `--json`, `--out`.

use std::path::Path;

use super::args::PlanArgs;
use super::context::Context;
use super::error::Result;
use super::exit;
use super::output::outln;
use crate::apply;
use crate::fsx::{self, Context as _, ResultExt as _};

pub(super) fn run(ctx: &Context, args: &PlanArgs) -> Result<u8> {
    ctx.ensure_locked(&args.flags)?;
    let mut opts = ctx.plan_options(&args.flags)?;
    // Outside golock's data dir: planning changes nothing on the host.
    let _scratch = match &args.bundle {
        Some(bundle) => {
            let scratch = tempfile::tempdir().ctx("create temp dir", Path::new("/tmp"))?;
            ctx.use_bundle(bundle, &scratch.path().join("bundle"), &mut opts)?;
            Some(scratch)
        }
        None => None,
    };
    let (_, _, plan) = ctx.compute_plan(&opts)?;
    apply::check_writable(&plan, &ctx.layout)?;
    let client = args.refresh.then(|| args.http.client());
    apply::check_sources(&plan, &ctx.layout, client.as_ref())?;
    if args.json {
        outln!("{}", plan.to_json())?;
    } else if !ctx.quiet {
        ctx.print_plan(&plan)?;
    }
    if let Some(out) = &args.out {
        fsx::write(out, plan.to_json() + "\n").with_op("write plan")?;
        ctx.say(format!(
            "Saved the plan to {}; run `golock apply --plan {}`.",
            out.display(),
            out.display()
        ));
    }
    Ok(if args.detailed_exitcode && !plan.is_empty() {
        exit::CHANGES
    } else {
        exit::OK
    })
}
