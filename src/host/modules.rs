//! Observe the Go module cache: where it is (as the go command decides), and
//! for each locked module whether it is present, missing or corrupt. Cheap:
//! a few stats and two small reads per module; zips are never rehashed here
//! (that is `golock verify`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::seen::{Recorder, SeenModules};
use crate::fsx;
use crate::host::state::State;
use crate::lockfile::{Lockfile, ModuleHashes, ModuleKey};
use crate::modcache::{self, CacheLayout};

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum ModuleState {
    Present,
    Missing,
    Corrupt {
        reason: String,
    },
    /// Looks present, but a rehash (`--repair`) found its files damaged.
    Damaged {
        reason: String,
    },
}

#[derive(Clone, Debug, Serialize)]
pub struct ObservedModules {
    pub cache: PathBuf,
    /// `path@version` → state, for every locked module.
    pub locked: BTreeMap<String, ModuleState>,
    /// Cached modules golock.toml does not list (only listed when asked for).
    pub unlocked: Vec<(String, String)>,
}

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum CacheLocationError {
    #[error("the module cache {0} is not an absolute path")]
    #[diagnostic(
        code(golock::host::gomodcache_relative),
        help(
            "the go command requires GOMODCACHE (and GOPATH) to be absolute; fix [env] in golock.toml"
        )
    )]
    Relative(String),
}

/// GOMODCACHE as the go command resolves it: `[env] GOMODCACHE`, else the
/// first GOPATH entry + `/pkg/mod`, else `~/go/pkg/mod`.
pub fn gomodcache(lock: &Lockfile, home: &Path) -> Result<PathBuf, CacheLocationError> {
    let env = |k: &str| {
        lock.env
            .iter()
            .find(|(name, v)| name == k && !v.is_empty())
            .map(|(_, v)| v.clone())
    };
    let cache = match (env("GOMODCACHE"), env("GOPATH")) {
        (Some(c), _) => c,
        (None, Some(gopath)) => {
            let first = gopath.split(':').next().unwrap_or_default().to_string();
            format!("{first}/pkg/mod")
        }
        (None, None) => return Ok(home.join("go/pkg/mod")),
    };
    let path = PathBuf::from(&cache);
    if path.is_absolute() {
        Ok(path)
    } else {
        Err(CacheLocationError::Relative(cache))
    }
}

/// Each locked module's state; one `seen` vouches for is present without
/// reading its files (see [`super::seen`]).
pub fn observe(
    lock: &Lockfile,
    cache: &Path,
    list_unlocked: bool,
    seen: Option<&SeenModules>,
) -> ObservedModules {
    let layout = CacheLayout::new(cache);
    let locked = lock
        .modules
        .require
        .iter()
        .map(|(key, hashes)| {
            let state = if seen.is_some_and(|s| s.vouches(&layout, key, hashes)) {
                ModuleState::Present
            } else {
                module_state(&layout, key, hashes)
            };
            (key.to_string(), state)
        })
        .collect();
    let unlocked = if list_unlocked {
        cached_modules(cache)
            .into_iter()
            .filter(|(p, v)| {
                !lock.modules.require.contains_key(&ModuleKey {
                    path: p.clone(),
                    version: v.clone(),
                })
            })
            .collect()
    } else {
        Vec::new()
    };
    ObservedModules {
        cache: cache.to_path_buf(),
        locked,
        unlocked,
    }
}

/// The `seen-modules` file for the locked modules present in `cache` now
/// (checked as [`observe`] does without a record); `None` when `cache`'s
/// path cannot be written in it.
pub fn record_present(lock: &Lockfile, cache: &Path) -> Option<Vec<u8>> {
    let mut recorder = Recorder::new(cache);
    let layout = CacheLayout::new(cache);
    for (key, hashes) in &lock.modules.require {
        if matches!(check_module(&layout, key, hashes), Ok(None)) {
            recorder.present(key, hashes);
        }
    }
    recorder.finish()
}

/// Whether the record in `file` already vouches for every locked module.
pub fn record_vouches_for_all(lock: &Lockfile, cache: &Path, file: &Path) -> bool {
    let Some(seen) = SeenModules::load(file, cache) else {
        return false;
    };
    let layout = CacheLayout::new(cache);
    lock.modules
        .require
        .iter()
        .all(|(key, hashes)| seen.vouches(&layout, key, hashes))
}

/// `--repair`: rehash every module that looks present, as `verify` does;
/// a mismatch makes it damaged (the first mismatch is the reason).
pub fn rehash(lock: &Lockfile, observed: &mut ObservedModules) {
    rehash_where(lock, observed, |_| true, "");
}

/// Modules golock installed without waiting for their data in an earlier
/// boot (`state.unsynced_modules`) are rehashed, as `--repair` would: a
/// power loss may have cost them data the cheap checks cannot see.
pub fn recheck_unsynced(
    lock: &Lockfile,
    observed: &mut ObservedModules,
    state: &State,
    boot_id: Option<&str>,
) {
    let marked = state.modules_to_recheck(boot_id);
    if !marked.is_empty() {
        let suffix = " (after a reboot)";
        rehash_where(lock, observed, |name| marked.contains(name), suffix);
    }
}

/// Modules (among those `pick` names) that look present and whose rehash
/// fails are marked damaged, the first mismatch (+ `suffix`) as reason.
fn rehash_where(
    lock: &Lockfile,
    observed: &mut ObservedModules,
    pick: impl Fn(&str) -> bool + Sync,
    suffix: &str,
) {
    use rayon::prelude::*;
    let layout = CacheLayout::new(&observed.cache);
    let damaged: Vec<(String, String)> = lock
        .modules
        .require
        .par_iter()
        .map(|(key, want)| (key.to_string(), key, want))
        .filter(|(name, _, _)| pick(name))
        .filter(|(name, _, _)| observed.locked.get(name) == Some(&ModuleState::Present))
        .filter_map(|(name, key, want)| {
            let problems = super::verify::module(&layout, key, want);
            let first = problems.into_iter().next()?;
            let reason = first.strip_prefix(&format!("{name}: ")).unwrap_or(&first);
            Some((name, format!("{reason}{suffix}")))
        })
        .collect();
    for (name, reason) in damaged {
        observed
            .locked
            .insert(name, ModuleState::Damaged { reason });
    }
}

fn module_state(layout: &CacheLayout, key: &ModuleKey, want: &ModuleHashes) -> ModuleState {
    match check_module(layout, key, want) {
        Ok(None) => ModuleState::Present,
        Ok(Some(reason)) if reason == MISSING => ModuleState::Missing,
        Ok(Some(reason)) => ModuleState::Corrupt { reason },
        Err(e) => ModuleState::Corrupt {
            reason: e.to_string(),
        },
    }
}

const MISSING: &str = "missing";

/// `None` when the module is present as locked, else why not.
fn check_module(
    layout: &CacheLayout,
    key: &ModuleKey,
    want: &ModuleHashes,
) -> Result<Option<String>, modcache::ModError> {
    let (path, version) = (key.path.as_str(), key.version.as_str());
    let mod_file = layout.mod_file(path, version)?;
    let Some(go_mod) = read(&mod_file) else {
        let anything = want.zip.is_some() && layout.zip(path, version)?.exists();
        return Ok(Some(if anything {
            ".mod is missing".into()
        } else {
            MISSING.into()
        }));
    };
    if modcache::hash_go_mod(&go_mod) != want.module {
        return Ok(Some(".mod does not match the locked hash".into()));
    }
    let Some(zip_h1) = &want.zip else {
        return Ok(None);
    };
    let ziphash = read(&layout.ziphash(path, version)?);
    if ziphash.as_deref() != Some(zip_h1.as_bytes()) {
        return Ok(Some(match ziphash {
            None => ".ziphash is missing".into(),
            Some(_) => ".ziphash does not match the locked hash".into(),
        }));
    }
    let checks = [
        (layout.zip(path, version)?, ".zip is missing"),
        (layout.info(path, version)?, ".info is missing"),
        (
            layout.extracted_dir(path, version)?,
            "the extracted directory is missing",
        ),
    ];
    for (p, reason) in checks {
        if !fsx::exists_no_follow(&p) {
            return Ok(Some(reason.into()));
        }
    }
    if fsx::exists_no_follow(&layout.partial_marker(path, version)?) {
        return Ok(Some("extraction was interrupted (.partial)".into()));
    }
    Ok(None)
}

fn read(path: &Path) -> Option<Vec<u8>> {
    fsx::read_opt(path).ok().flatten()
}

/// Every (path, version) with a `.mod` in `cache/download`.
pub fn cached_modules(cache: &Path) -> Vec<(String, String)> {
    let download = cache.join("cache/download");
    let mut found = Vec::new();
    for entry in walkdir::WalkDir::new(&download)
        .into_iter()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_file())
    {
        let p = entry.path();
        let (Some(dir), Some(name)) = (p.parent(), p.file_name().and_then(|n| n.to_str())) else {
            continue;
        };
        let Some(esc_version) = name.strip_suffix(".mod") else {
            continue;
        };
        if dir.file_name().is_none_or(|n| n != "@v") {
            continue;
        }
        let Some(esc_path) = dir
            .parent()
            .and_then(|d| d.strip_prefix(&download).ok())
            .and_then(|d| d.to_str())
        else {
            continue;
        };
        if let (Ok(path), Ok(version)) = (
            modcache::unescape_path(esc_path),
            modcache::unescape_version(esc_version),
        ) {
            found.push((path, version));
        }
    }
    found.sort();
    found
}
