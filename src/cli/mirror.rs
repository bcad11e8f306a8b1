//! `golock mirror DIR`: write a static mirror of what golock.toml locks.

use super::args::MirrorArgs;
use super::context::Context;
use super::error::Result;
use super::exit;
use crate::lockfile;
use crate::mirror::{self, Sources};

pub(super) fn run(ctx: &Context, args: &MirrorArgs) -> Result<u8> {
    let lock = ctx.load_lockfile()?;
    let client = args.http.client();
    let sources = Sources {
        layout: &ctx.layout,
        client: &client,
        modules: ctx
            .module_sources_from(&args.proxy, &args.from_cache)?
            .unwrap_or_default(),
        bundle: args.bundle.as_ref().map(|b| ctx.cwd.join(b)),
    };
    let keep = match args.prune {
        true => Some(
            args.keep
                .iter()
                .map(|k| lockfile::load(&ctx.cwd.join(k), &ctx.layout.home))
                .collect::<std::result::Result<Vec<_>, _>>()?,
        ),
        false => None,
    };
    let dir = ctx.cwd.join(&args.dir);
    let report = mirror::write(&lock, &dir, &sources, keep.as_deref())?;
    ctx.say(format!(
        "Mirror {}: {} added, {} already in place, {} removed.",
        dir.display(),
        files(report.added),
        report.kept,
        report.removed
    ));
    Ok(exit::OK)
}

fn files(n: usize) -> String {
    match n {
        1 => "1 file".to_string(),
        n => format!("{n} files"),
    }
}
