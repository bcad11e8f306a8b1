//! `state.json`: what golock itself wrote, so that later runs can tell its own
//! work from a user's edits (the hash of each managed profile block, the keys
//! it set in the go env file, the toolchains it installed).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::fsx;

pub const STATE_FORMAT: u32 = 1;

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct State {
    #[serde(default)]
    pub format: u32,
    /// Toolchain dir name (`go1.27.3`) → how it was installed.
    #[serde(default)]
    pub toolchains: BTreeMap<String, InstalledToolchain>,
    /// Profile file (as listed, absolute) → sha256 of the block golock wrote.
    #[serde(default)]
    pub profile_blocks: BTreeMap<PathBuf, String>,
    /// Keys golock set in the go env file, so that keys dropped from
    /// golock.toml are removed and the user's own keys are kept.
    #[serde(default)]
    pub goenv_keys: Vec<String>,
    /// Profile files whose block the last apply took out (no longer
    /// listed): a journal of that apply may still name them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub removed_blocks: Vec<PathBuf>,
    /// Modules (`path@version`) golock installed into the module cache, so
    /// `uninstall --modules` removes those and never what the go command put there.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub modules: BTreeSet<String>,
    /// Modules golock moved into the module cache without waiting for
    /// their data (`--sync deferred`), by the boot that happened in: after
    /// a reboot they are rehashed (see `apply::settle`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub unsynced_modules: BTreeMap<String, BTreeSet<String>>,
    /// Profile files and the go env file golock created (they did not
    /// exist before its first write): `uninstall` removes one that is empty
    /// once golock's part is out.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub created_files: BTreeSet<PathBuf>,
}

impl State {
    /// Marked modules installed in another boot than `boot_id` (or this
    /// boot is unknown): their data may not have survived a power loss.
    pub fn modules_to_recheck(&self, boot_id: Option<&str>) -> BTreeSet<&str> {
        self.unsynced_modules
            .iter()
            .filter(|(boot, _)| boot_id != Some(boot.as_str()))
            .flat_map(|(_, modules)| modules.iter().map(String::as_str))
            .collect()
    }

    /// Drop `module`'s mark (it is gone, reinstalled or found intact).
    pub fn forget_unsynced_module(&mut self, module: &str) {
        self.unsynced_modules.retain(|_, modules| {
            modules.remove(module);
            !modules.is_empty()
        });
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InstalledToolchain {
    pub version: String,
    pub platform: String,
    pub archive_sha256: String,
    /// Set when the install did not wait for its data to reach the disk
    /// (`--sync deferred`): the boot it happened in. See `apply::settle`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unsynced_boot: Option<String>,
}

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum StateError {
    #[error(transparent)]
    #[diagnostic(transparent)]
    Fs(#[from] fsx::FsError),
    #[error("{} is not valid golock state: {source}", path.display())]
    #[diagnostic(
        code(golock::host::state::corrupt),
        help("move the file aside; golock will then treat every profile block as its own")
    )]
    Corrupt {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
}

impl State {
    pub fn load(path: &Path) -> Result<State, StateError> {
        match fsx::read_opt(path)? {
            None => Ok(State::default()),
            Some(bytes) => serde_json::from_slice(&bytes).map_err(|source| StateError::Corrupt {
                path: path.to_path_buf(),
                source,
            }),
        }
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut with_format = self.clone();
        with_format.format = STATE_FORMAT;
        let mut out = serde_json::to_vec_pretty(&with_format).unwrap_or_default();
        out.push(b'\n');
        out
    }
}
