//! `golock lock`: refresh golock.toml's checksums (modules from go.sum,
//! archives from the index and mirrors) and say what changed.

use std::path::{Path, PathBuf};

use super::args::LockArgs;
use super::context::Context;
use super::error::Result;
use super::exit;
use crate::fetch::Client;
use crate::fsx;
use crate::lockfile::{self, checksums};

/// What one `lock` run reads besides golock.toml.
pub(super) struct LockSources<'a> {
    /// `--go-sum`, else go.sum beside golock.toml when there is one.
    pub go_sum: Option<PathBuf>,
    pub index: Option<&'a str>,
    pub update: bool,
    /// `None`: `--offline`.
    pub client: Option<&'a Client>,
}

pub(super) fn run(ctx: &Context, args: &LockArgs) -> Result<u8> {
    let path = ctx.lockfile_path().ok_or_else(|| ctx.no_lockfile())?;
    let client = args.http.client();
    let sources = LockSources {
        go_sum: args.go_sum.as_ref().map(|p| ctx.cwd.join(p)),
        index: args.index.as_deref(),
        update: args.update,
        client: (!args.offline).then_some(&client),
    };
    relock_file(ctx, &path, &sources)?;
    Ok(exit::OK)
}

/// Relock the golock.toml at `path`, saying what changed; whether it was
/// rewritten.
pub(super) fn relock_file(ctx: &Context, path: &Path, sources: &LockSources) -> Result<bool> {
    let lock = lockfile::load_with(path, &ctx.layout.home, lockfile::StaleArchives::Allow)?;
    let text = fsx::read_to_string(&lock.path)?;
    let go_sum = sources
        .go_sum
        .clone()
        .or_else(|| Some(lock.dir.join("go.sum")).filter(|p| p.exists()));
    let index = match sources.index {
        Some(what) => Some(checksums::load_index(what, &ctx.cwd, sources.client)?),
        None => None,
    };
    let inputs = checksums::RelockInputs {
        go_sum: go_sum.as_deref(),
        index: index.as_deref(),
        update: sources.update,
        client: sources.client,
        host: lockfile::Platform::host(),
    };
    let relock = checksums::relock(&lock, &text, &inputs)?;
    for platform in &relock.unfound {
        ctx.say(format!(
            "warning: no checksum found for {platform} (no index entry, SHA256SUMS or archive in the mirrors)"
        ));
    }
    if relock.text == text {
        ctx.say(format!("{} is up to date.", ctx.shown(&lock.path)));
        return Ok(false);
    }
    lockfile::parse(&relock.text, &lock.path, &ctx.layout.home)?;
    fsx::replace_file(&lock.path, relock.text.as_bytes())?;
    for c in &relock.changes {
        ctx.say(c);
    }
    ctx.say(format!("Updated {}.", lock.path.display()));
    Ok(true)
}
