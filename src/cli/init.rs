//! `golock init`: write a starter golock.toml from the repo's go.mod and
//! go.sum, never over an existing one.

use super::args::InitArgs;
use super::context::Context;
use super::error::{CommandError, Result};
use super::exit;
use crate::fsx;
use crate::lockfile::{self, gomod};

pub(super) fn run(ctx: &Context, args: &InitArgs) -> Result<u8> {
    let repo_dir = args
        .repo
        .as_ref()
        .map_or(ctx.cwd.clone(), |r| ctx.cwd.join(r));
    let target = ctx
        .lockfile
        .clone()
        .unwrap_or_else(|| repo_dir.join(lockfile::FILE_NAME));
    if target.exists() {
        return Err(CommandError::Exists { path: target });
    }
    let text = gomod::starter_lockfile(&repo_dir)?;
    lockfile::parse(&text, &target, &ctx.layout.home)?;
    fsx::replace_file(&target, text.as_bytes())?;
    ctx.say(format!("Wrote {}.", target.display()));
    Ok(exit::OK)
}
