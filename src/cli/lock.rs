//! `golock lock`: refresh golock.toml's checksums (modules from go.sum,
//! archives from the index and mirrors) and say what changed.

use super::args::LockArgs;
use super::context::Context;
use super::error::Result;
use super::exit;
use crate::fsx;
use crate::lockfile::{self, checksums};

pub(super) fn run(ctx: &Context, args: &LockArgs) -> Result<u8> {
    let lock = ctx.load_lockfile_with(lockfile::StaleArchives::Allow)?;
    let text = fsx::read_to_string(&lock.path)?;
    let go_sum = match &args.go_sum {
        Some(p) => Some(ctx.cwd.join(p)),
        None => Some(lock.dir.join("go.sum")).filter(|p| p.exists()),
    };
    let client = args.http.client();
    let index = match &args.index {
        Some(what) => Some(checksums::load_index(what, &ctx.cwd, &client)?),
        None => None,
    };
    let inputs = checksums::RelockInputs {
        go_sum: go_sum.as_deref(),
        index: index.as_deref(),
        update: args.update,
        client: &client,
        host: lockfile::Platform::host(),
    };
    let relock = checksums::relock(&lock, &text, &inputs)?;
    for platform in &relock.unfound {
        ctx.say(format!(
            "warning: no checksum found for {platform} (no index entry, SHA256SUMS or archive in the mirrors)"
        ));
    }
    if relock.text == text {
        ctx.say("golock.toml is up to date.");
        return Ok(exit::OK);
    }
    lockfile::parse(&relock.text, &lock.path, &ctx.layout.home)?;
    fsx::replace_file(&lock.path, relock.text.as_bytes())?;
    for c in &relock.changes {
        ctx.say(c);
    }
    ctx.say(format!("Updated {}.", lock.path.display()));
    Ok(exit::OK)
}
