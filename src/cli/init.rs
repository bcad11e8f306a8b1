//! `golock init`: write a starter golock.toml from the repo's go.mod and
//! go.sum, never over an existing one.

use std::path::{Path, PathBuf};

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
    let options = gomod::StarterOptions {
        go_version: args.go_version.clone(),
        mirrors: args
            .mirrors
            .iter()
            .map(|m| mirror_entry(m, &ctx.cwd, &target))
            .collect(),
        profile_files: args.profiles.clone(),
    };
    let text = gomod::starter_lockfile(&repo_dir, &options)?;
    lockfile::parse(&text, &target, &ctx.layout.home)?;
    fsx::replace_file(&target, text.as_bytes())?;
    ctx.say(format!("Wrote {}.", target.display()));
    Ok(exit::OK)
}

/// A `--mirror` as golock.toml names it: URLs as given; a relative
/// directory (from the current dir) made relative to the lockfile's dir,
/// where golock resolves it, or absolute when it lies elsewhere.
fn mirror_entry(mirror: &str, cwd: &Path, lockfile: &Path) -> String {
    let path = Path::new(mirror);
    if mirror.contains("://") || path.is_absolute() {
        return mirror.to_string();
    }
    let absolute: PathBuf = cwd.join(path);
    let lock_dir = lockfile.parent().unwrap_or(cwd);
    match absolute.strip_prefix(lock_dir) {
        Ok(inside) if inside.as_os_str().is_empty() => ".".to_string(),
        Ok(inside) => inside.display().to_string(),
        Err(_) => absolute.display().to_string(),
    }
}
