//! How long `apply` waits for an installed toolchain's or module's bytes to
//! reach the disk, and the after-reboot check that makes not waiting safe.
//!
//! Everything small — journal records, state, manifests, links, profile
//! files, directory entries — is always fsynced. The choice here is only
//! about file data: the ~250 MB of a toolchain and the files of the modules
//! (zip, `.mod`, `.info`, `.ziphash`, extracted tree):
//!
//! - `full`: one `syncfs` before the staged toolchain (or the staged batch
//!   of modules) is renamed into place, so a power loss can never leave a
//!   committed install without its data. On a disk that writes back at
//!   100 MB/s that alone costs 2.5 s for a toolchain.
//! - `deferred` (the default where golock can tell reboots apart: Linux): the
//!   data is left to the kernel's writeback, as rustup, uv and Nix do. State
//!   records the boot the install happened in. A process crash cannot lose
//!   page-cache data, so within that boot the toolchain is what was verified.
//!   After a reboot, the first golock run rehashes the toolchain against its
//!   install manifest: a toolchain damaged by a power loss shows as invalid,
//!   and the next apply reinstalls it. Modules likewise: state records the
//!   modules golock moved in, by boot, and after a reboot they are rehashed
//!   against golock.toml (as `verify` does); a damaged one shows as damaged
//!   and the next apply repairs it. Power loss thus goes from "prevented"
//!   to "detected and repaired" — by golock, not by the `go` binary itself,
//!   so hosts that are hard-reset right after an apply want `full`.

use std::collections::BTreeSet;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::fsx;
use crate::host::layout::Layout;
use crate::host::reboot::{needs_recheck, recheck};
use crate::host::state::State;
use crate::lockfile::Lockfile;
use crate::modcache::CacheLayout;
use crate::txn::{HostLock, LockError, Transaction, TxnError};

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum SettleError {
    #[error(transparent)]
    #[diagnostic(transparent)]
    Lock(#[from] LockError),
    #[error(transparent)]
    #[diagnostic(transparent)]
    Txn(#[from] TxnError),
}

/// How long an install waits for its data (`--sync` / `GOLOCK_SYNC`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SyncMode {
    /// Wait until the toolchain's data is on disk before installing it
    Full,
    /// Let the kernel write the data back; re-verify after a reboot
    #[default]
    Deferred,
}

impl SyncMode {
    /// `deferred` needs a boot id to notice reboots; without one, `full`.
    pub fn effective(self, boot_id: Option<&str>) -> SyncMode {
        match (self, boot_id) {
            (SyncMode::Deferred, Some(_)) => SyncMode::Deferred,
            _ => SyncMode::Full,
        }
    }
}

/// Forget the boot of toolchains and modules that were installed without
/// waiting for their data and have since passed their after-reboot recheck,
/// so later runs stay cheap. Damaged ones keep their mark: the host
/// observation keeps reporting them until an apply reinstalls them. Modules
/// are rechecked against `lock` (without one, their marks stay). Skipped
/// when another golock holds the lock; returns what was settled.
pub fn settle(
    layout: &Layout,
    lock: Option<&Lockfile>,
    boot_id: Option<&str>,
) -> Result<Vec<String>, SettleError> {
    if !anything_to_recheck(layout, boot_id) {
        return Ok(Vec::new());
    }
    match HostLock::try_acquire(&layout.lock_file())? {
        Some(_lock) => settle_holding_lock(layout, lock, boot_id),
        None => Ok(Vec::new()),
    }
}

/// `settle`, for a caller that already holds the host lock.
pub fn settle_holding_lock(
    layout: &Layout,
    lock: Option<&Lockfile>,
    boot_id: Option<&str>,
) -> Result<Vec<String>, SettleError> {
    let state_path = layout.state_file();
    let Ok(mut state) = State::load(&state_path) else {
        return Ok(Vec::new());
    };
    let mut settled = forget_intact(layout, boot_id, &mut state);
    if let Some(lock) = lock {
        settled.extend(forget_intact_modules(lock, layout, boot_id, &mut state));
    }
    if !settled.is_empty() {
        record(layout, &state, &settled)?;
    }
    Ok(settled)
}

/// Write the settled state through a journaled transaction of its own, like
/// every other change golock makes.
fn record(layout: &Layout, state: &State, settled: &[String]) -> Result<(), TxnError> {
    let mut txn = Transaction::begin(layout, serde_json::json!({ "settle": settled }))?;
    match txn.write_file(
        &layout.state_file(),
        &state.to_bytes(),
        crate::txn::checkpoint::FileStep::State,
    ) {
        Ok(()) => txn.commit(),
        Err(e) => match txn.rollback() {
            Ok(_) => Err(e),
            // Keep the first cause visible; the kept journal names the rest.
            Err(rollback) => Err(TxnError::RollbackFailed {
                journal: layout.journal_dir(),
                problems: vec![e.to_string(), rollback.to_string()],
            }),
        },
    }
}

fn anything_to_recheck(layout: &Layout, boot_id: Option<&str>) -> bool {
    State::load(&layout.state_file())
        .map(|s| {
            s.toolchains.values().any(|t| needs_recheck(t, boot_id))
                || !s.modules_to_recheck(boot_id).is_empty()
        })
        .unwrap_or(false)
}

/// Rehash the marked modules golock.toml locks (in its module cache); the
/// intact ones lose their mark. Returns one line naming how many, if any.
fn forget_intact_modules(
    lock: &Lockfile,
    layout: &Layout,
    boot_id: Option<&str>,
    state: &mut State,
) -> Option<String> {
    let marked: BTreeSet<String> = state
        .modules_to_recheck(boot_id)
        .into_iter()
        .map(str::to_string)
        .collect();
    if marked.is_empty() {
        return None;
    }
    let cache = crate::host::gomodcache(lock, &layout.home).ok()?;
    let intact = intact_modules(lock, &cache, &marked);
    for module in &intact {
        state.forget_unsynced_module(module);
    }
    match intact.len() {
        0 => None,
        1 => Some("1 module".to_string()),
        n => Some(format!("{n} modules")),
    }
}

/// The `marked` modules that golock.toml locks and that rehash as locked.
fn intact_modules(lock: &Lockfile, cache: &Path, marked: &BTreeSet<String>) -> Vec<String> {
    use rayon::prelude::*;
    let layout = CacheLayout::new(cache);
    lock.modules
        .require
        .par_iter()
        .map(|(key, want)| (key.to_string(), key, want))
        .filter(|(name, _, _)| marked.contains(name))
        .filter(|(_, key, want)| crate::host::verify::module(&layout, key, want).is_empty())
        .map(|(name, _, _)| name)
        .collect()
}

fn forget_intact(layout: &Layout, boot_id: Option<&str>, state: &mut State) -> Vec<String> {
    let mut settled = Vec::new();
    for (dir_name, entry) in state.toolchains.iter_mut() {
        if needs_recheck(entry, boot_id) && intact(layout, dir_name) {
            entry.unsynced_boot = None;
            settled.push(dir_name.clone());
        }
    }
    settled
}

fn intact(layout: &Layout, dir_name: &str) -> bool {
    layout.toolchain_dir(dir_name).is_dir() && recheck(layout, dir_name).is_empty()
}

/// `fsync` of everything on the filesystem holding `path`, when `mode` asks
/// for it.
pub fn sync_data(mode: SyncMode, path: &Path) -> Result<(), fsx::FsError> {
    match mode {
        SyncMode::Full => fsx::sync_filesystem(path),
        SyncMode::Deferred => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deferred_falls_back_to_full_without_a_boot_id() {
        assert_eq!(SyncMode::Deferred.effective(None), SyncMode::Full);
        assert_eq!(SyncMode::Deferred.effective(Some("a")), SyncMode::Deferred);
        assert_eq!(SyncMode::Full.effective(Some("a")), SyncMode::Full);
    }
}
