//! `golock hook check|lock [FILE…]`: the pre-commit hooks. Each golock.toml
//! beside a changed go.mod, go.sum or golock.toml is checked (`check
//! --repo-only`) or relocked (`lock --offline`), so one hook serves a
//! monorepo of several modules. The changed files are those named, or with
//! none named (the hooks' `pass_filenames: false`) what git says changed.

use std::path::PathBuf;

use super::args::{HookArgs, HookCommand, HookFiles};
use super::context::Context;
use super::error::Result;
use super::exit;
use super::lock::{LockSources, relock_file};
use super::output::outln;
use crate::lockfile::{self, gomod};
use crate::vcs;

pub(super) fn run(ctx: &Context, args: &HookArgs) -> Result<u8> {
    match &args.hook {
        HookCommand::Check(files) => check(ctx, &lockfiles(ctx, files)?),
        HookCommand::Lock(files) => lock(ctx, &lockfiles(ctx, files)?),
    }
}

/// The golock.toml files the hook works on: those beside the named files;
/// with none named, `--lockfile`, else those beside what git says changed
/// (outside a git work tree: the one the search upward finds).
fn lockfiles(ctx: &Context, args: &HookFiles) -> Result<Vec<PathBuf>> {
    if !args.files.is_empty() {
        return Ok(lockfile::beside_changed(&ctx.cwd, &args.files));
    }
    if let Some(explicit) = &ctx.lockfile {
        return Ok(vec![explicit.clone()]);
    }
    let from = std::env::var_os("PRE_COMMIT_FROM_REF").filter(|r| !r.is_empty());
    let to = std::env::var_os("PRE_COMMIT_TO_REF").filter(|r| !r.is_empty());
    let range = from.as_deref().zip(to.as_deref());
    match vcs::changed_files(&ctx.cwd, range, lockfile::is_watched)? {
        Some(changed) => {
            if ctx.verbose {
                ctx.say(format!("Changed files: {}.", changed.scope));
            }
            Ok(lockfile::beside_changed(&changed.top, &changed.files))
        }
        None => Ok(vec![ctx.lockfile_path().ok_or_else(|| ctx.no_lockfile())?]),
    }
}

/// Each lockfile against its go.mod and go.sum; every drift line names
/// the golock.toml it is about.
fn check(ctx: &Context, paths: &[PathBuf]) -> Result<u8> {
    let mut drifted = 0;
    for path in paths {
        let lock = lockfile::load(path, &ctx.layout.home)?;
        let shown = ctx.shown(path);
        for item in gomod::drift(&lock)? {
            outln!("drift: {shown}: {item}")?;
            drifted += 1;
        }
    }
    if drifted > 0 {
        ctx.say(format!(
            "{drifted} drifted item(s); run golock lock (or the golock-lock hook) and stage golock.toml."
        ));
        return Ok(exit::CHANGES);
    }
    ctx.say(format!(
        "In sync: {} golock.toml file(s) match go.mod and go.sum.",
        paths.len()
    ));
    Ok(exit::OK)
}

/// Relock each lockfile offline; exit 2 when one was rewritten, so the
/// commit stops for the user to review and stage it (as pre-commit's
/// fixers do).
fn lock(ctx: &Context, paths: &[PathBuf]) -> Result<u8> {
    let sources = LockSources {
        go_sum: None,
        index: None,
        update: false,
        client: None,
    };
    let mut rewritten = Vec::new();
    for path in paths {
        if relock_file(ctx, path, &sources)? {
            rewritten.push(ctx.shown(path));
        }
    }
    if rewritten.is_empty() {
        return Ok(exit::OK);
    }
    ctx.say(format!(
        "Rewrote {}: review and stage the change.",
        rewritten.join(", ")
    ));
    Ok(exit::CHANGES)
}
