//! `golock status`: a read-only summary of what golock manages on this host
//! (toolchains and the active link, the module cache, profile blocks, the
//! last apply). Reads only: no lock is taken, nothing is created. Sizes come
//! from a walk of each toolchain tree (no rehash).

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::layout::Layout;
use super::modules::{ModuleState, cached_modules, gomodcache};
use super::state::State;
use super::{HostError, LinkState, list_toolchains, observe_link};
use crate::fsx;
use crate::lockfile::Lockfile;

#[derive(Clone, Debug, Serialize)]
pub struct HostStatus {
    /// Where the active link points, if it is a link.
    pub active: Option<ActiveLink>,
    pub toolchains: Vec<ToolchainStatus>,
    pub module_cache: ModuleCacheStatus,
    /// Profile files state.json records a golock block in.
    pub profile_blocks: Vec<PathBuf>,
    /// Keys golock set in the go env file.
    pub goenv_keys: Vec<String>,
    /// When the last apply that changed something wrote state.json (unix seconds).
    pub last_apply: Option<u64>,
}

#[derive(Clone, Debug, Serialize)]
pub struct ActiveLink {
    pub link: PathBuf,
    pub target: PathBuf,
    /// The toolchain dir it names (`go1.27.3`), if it is one of golock's.
    pub toolchain: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct ToolchainStatus {
    /// Dir name under `toolchains/` (`go1.27.3`).
    pub name: String,
    pub dir: PathBuf,
    pub active: bool,
    /// Bytes of its files (symlinks not followed).
    pub size_bytes: u64,
    /// From state.json: `None` for a dir golock has no record of.
    pub version: Option<String>,
    pub platform: Option<String>,
    pub archive_sha256: Option<String>,
    /// `None` when the dir is well-formed; else why not.
    pub problem: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct ModuleCacheStatus {
    pub path: PathBuf,
    /// Modules golock.toml locks (`None` without a golock.toml).
    pub locked: Option<usize>,
    /// How many of those are present and well-formed in the cache.
    pub locked_present: Option<usize>,
    /// Every module version with a `.mod` in the cache, whoever put it there.
    pub cached: usize,
}

/// What golock manages on this host. `lock` is `None` without a golock.toml:
/// the module cache is then where the go command would put it by default.
pub fn status(layout: &Layout, lock: Option<&Lockfile>) -> Result<HostStatus, HostError> {
    let state = State::load(&layout.state_file())?;
    let active = active_link(layout)?;
    let active_name = active.as_ref().and_then(|a| a.toolchain.clone());
    let toolchains = list_toolchains(&layout.toolchains_dir())?
        .into_iter()
        .map(|(name, observed)| {
            let dir = layout.toolchain_dir(&name);
            let recorded = state.toolchains.get(&name);
            ToolchainStatus {
                active: active_name.as_deref() == Some(name.as_str()),
                size_bytes: tree_size(&dir),
                version: recorded.map(|r| r.version.clone()),
                platform: recorded.map(|r| r.platform.clone()),
                archive_sha256: recorded.map(|r| r.archive_sha256.clone()),
                problem: match observed {
                    super::ToolchainState::Valid => None,
                    super::ToolchainState::Invalid { reason }
                    | super::ToolchainState::Damaged { reason } => Some(reason),
                },
                name,
                dir,
            }
        })
        .collect();
    Ok(HostStatus {
        active,
        toolchains,
        module_cache: module_cache(layout, lock)?,
        profile_blocks: state.profile_blocks.keys().cloned().collect(),
        goenv_keys: state.goenv_keys.clone(),
        last_apply: modified_secs(&layout.state_file()),
    })
}

fn active_link(layout: &Layout) -> Result<Option<ActiveLink>, HostError> {
    let link = layout.active_link();
    let LinkState::Link { target } = observe_link(&link)? else {
        return Ok(None);
    };
    let resolved = layout.root.join(&target);
    let toolchain = fsx::parent_of(&resolved)
        .eq(&layout.toolchains_dir())
        .then(|| {
            resolved
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
        })
        .flatten();
    Ok(Some(ActiveLink {
        link,
        target,
        toolchain,
    }))
}

fn module_cache(layout: &Layout, lock: Option<&Lockfile>) -> Result<ModuleCacheStatus, HostError> {
    let path = match lock {
        Some(lock) => gomodcache(lock, &layout.home)?,
        None => layout.home.join("go/pkg/mod"),
    };
    let seen = super::seen::SeenModules::load(&layout.seen_modules_file(), &path);
    let observed = lock.map(|lock| super::modules::observe(lock, &path, false, seen.as_ref()));
    Ok(ModuleCacheStatus {
        locked: observed.as_ref().map(|o| o.locked.len()),
        locked_present: observed.as_ref().map(|o| {
            o.locked
                .values()
                .filter(|s| **s == ModuleState::Present)
                .count()
        }),
        cached: cached_modules(&path).len(),
        path,
    })
}

/// Bytes of the regular files under `dir`, symlinks not followed.
fn tree_size(dir: &Path) -> u64 {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .filter_map(|e| e.metadata().ok())
        .map(|m| m.len())
        .sum()
}

fn modified_secs(path: &Path) -> Option<u64> {
    fsx::metadata_opt(path)
        .ok()
        .flatten()
        .and_then(|m| m.modified().ok())
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_secs())
}
