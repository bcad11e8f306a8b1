//! Every path golock uses, declared once: the data dir (toolchains, the
//! active link, state, journal, staging, lock) and the home whose profile
//! files it edits.

use std::path::{Path, PathBuf};

#[derive(Clone, Debug)]
pub struct Layout {
    /// golock's data dir (absolute).
    pub root: PathBuf,
    /// The home whose profile files and go env file are managed (absolute).
    pub home: PathBuf,
}

impl Layout {
    pub fn new(root: PathBuf, home: PathBuf) -> Layout {
        Layout { root, home }
    }

    pub fn toolchains_dir(&self) -> PathBuf {
        self.root.join("toolchains")
    }

    /// `toolchains/go<version>`.
    pub fn toolchain_dir(&self, dir_name: &str) -> PathBuf {
        self.toolchains_dir().join(dir_name)
    }

    /// The stable link to the active toolchain: GOROOT for every shell.
    pub fn active_link(&self) -> PathBuf {
        self.root.join("go")
    }

    /// Per-file hashes of an installed toolchain, for `golock verify`.
    pub fn manifest_file(&self, dir_name: &str) -> PathBuf {
        self.root.join("manifests").join(format!("{dir_name}.json"))
    }

    /// Verified downloads, by content: `cache/<sha256>`.
    pub fn archive_cache(&self, sha256: &str) -> PathBuf {
        self.root.join("cache").join(sha256)
    }

    pub fn state_file(&self) -> PathBuf {
        self.root.join("state.json")
    }

    /// The modules the last apply found present, for fast no-op plans
    /// (see [`crate::host::seen`]).
    pub fn seen_modules_file(&self) -> PathBuf {
        self.root.join("seen-modules")
    }

    pub fn journal_dir(&self) -> PathBuf {
        self.root.join("journal")
    }

    pub fn staging_dir(&self) -> PathBuf {
        self.root.join("staging")
    }

    /// The audit history, one JSON line per change (see [`crate::history`]).
    pub fn history_file(&self) -> PathBuf {
        self.root.join("history.jsonl")
    }

    /// The golock.toml of each successful apply: `lockfiles/<sha256>.toml`.
    pub fn lockfiles_dir(&self) -> PathBuf {
        self.root.join("lockfiles")
    }

    pub fn lock_file(&self) -> PathBuf {
        self.root.join("lock")
    }

    /// Show a path under home as `~/…`, as users wrote it in golock.toml.
    pub fn display_path(&self, path: &Path) -> String {
        match path.strip_prefix(&self.home) {
            Ok(rel) => format!("~/{}", rel.display()),
            Err(_) => path.display().to_string(),
        }
    }
}
