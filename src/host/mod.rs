//! Observe what is installed: toolchain dirs, the active link, the optional
//! system link, the managed profile files and the go env file, and golock's
//! own state. Cheap by design: a stat and one small read per toolchain, no
//! rehashing, so a no-op plan stays fast — with one exception: a toolchain
//! installed without waiting for its data, seen for the first time after a
//! reboot, is rehashed against its install manifest, and modules installed
//! that way against the lock (see `reboot`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;
use sha2::{Digest, Sha256};

pub mod activate;
pub mod layout;
mod modules;
mod paths;
pub mod reboot;
pub mod seen;
pub mod state;
pub mod status;
pub mod verify;

pub use modules::{
    CacheLocationError, ModuleState, ObservedModules, gomodcache, record_present,
    record_vouches_for_all,
};
pub use paths::real_location;

use crate::fsx::{self, ResultExt};
use crate::host::layout::Layout;
use crate::host::state::{State, StateError};
use crate::lockfile::Lockfile;

#[derive(Clone, Debug, Serialize)]
pub struct Observed {
    pub toolchains: BTreeMap<String, ToolchainState>,
    pub active_link: LinkState,
    pub extra_link: Option<ExtraLink>,
    pub profiles: Vec<ObservedFile>,
    /// Files state.json records a block in that golock.toml no longer
    /// lists, each checked to be a file inside HOME (others are left out).
    pub former_profiles: Vec<ObservedFile>,
    pub goenv: Option<ObservedFile>,
    /// The module cache, when golock.toml locks modules or pruning was asked for.
    pub modules: Option<ObservedModules>,
    pub state: State,
}

/// What to look at beyond what golock.toml names.
#[derive(Clone, Debug, Default)]
pub struct ObserveOptions {
    /// List cached modules golock.toml does not lock (for --prune-modules).
    pub list_unlocked_modules: bool,
    /// Rehash the locked toolchain and modules as `verify` does
    /// (`--repair`), so damage shows as something to reinstall.
    pub rehash: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum ToolchainState {
    Valid,
    Invalid {
        reason: String,
    },
    /// Well-formed, but its files differ from its install manifest
    /// (found only by a rehash: `--repair`).
    Damaged {
        reason: String,
    },
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum LinkState {
    Missing { parent_exists: bool },
    Link { target: PathBuf },
    RealDir,
    OtherFile,
}

#[derive(Clone, Debug, Serialize)]
pub struct ExtraLink {
    pub path: PathBuf,
    pub state: LinkState,
}

/// A file golock manages, as it is now.
#[derive(Clone, Debug, Serialize)]
pub struct ObservedFile {
    /// The path as listed (absolute).
    pub path: PathBuf,
    /// Where writes go: the final target when `path` is a symlink, so the link survives.
    pub write_path: PathBuf,
    #[serde(skip)]
    pub content: Option<Vec<u8>>,
    pub content_sha256: Option<String>,
}

/// What the environment says about where files live; read once in `main`.
#[derive(Clone, Debug, Default)]
pub struct HostEnv {
    /// `$GOENV`
    pub goenv: Option<PathBuf>,
    /// `$XDG_CONFIG_HOME`
    pub xdg_config_home: Option<PathBuf>,
    /// This boot's id, to notice reboots since a `--sync deferred` install.
    pub boot_id: Option<String>,
}

impl HostEnv {
    pub fn from_process() -> HostEnv {
        let path = |k: &str| {
            std::env::var_os(k)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        HostEnv {
            goenv: path("GOENV"),
            xdg_config_home: path("XDG_CONFIG_HOME").filter(|p| p.is_absolute()),
            boot_id: reboot::boot_id(),
        }
    }

    /// Where the go command keeps `go env -w` settings for a user with `home`
    /// (cmd/go: $GOENV, else os.UserConfigDir()/go/env). `None`: GOENV=off.
    pub fn goenv_file(&self, home: &Path) -> Option<PathBuf> {
        if let Some(p) = &self.goenv {
            return (p.as_os_str() != "off").then(|| p.clone());
        }
        let config = match &self.xdg_config_home {
            Some(dir) if cfg!(not(target_os = "macos")) => dir.clone(),
            _ if cfg!(target_os = "macos") => home.join("Library/Application Support"),
            _ => home.join(".config"),
        };
        Some(config.join("go/env"))
    }
}

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum HostError {
    #[error(transparent)]
    #[diagnostic(transparent)]
    Fs(#[from] fsx::FsError),
    #[error(transparent)]
    #[diagnostic(transparent)]
    State(#[from] StateError),
    #[error("{} is a directory, not a profile file", path.display())]
    #[diagnostic(
        code(golock::host::profile_is_dir),
        help("list a file in [profile] files")
    )]
    ProfileIsDir { path: PathBuf },
    #[error(transparent)]
    #[diagnostic(transparent)]
    CacheLocation(#[from] CacheLocationError),
    #[error("{} resolves to {}, outside the home directory {}", path.display(), real.display(), home.display())]
    #[diagnostic(
        code(golock::host::link_leaves_home),
        help(
            "golock only writes profile files and the go env file inside --home; replace the symlink with a file (or a link into your home), or remove it from [profile] files"
        )
    )]
    LinkLeavesHome {
        path: PathBuf,
        real: PathBuf,
        home: PathBuf,
    },
    #[error("{inner} {} lies inside {outer} {}", inner_path.display(), outer_path.display())]
    #[diagnostic(
        code(golock::host::paths_overlap),
        help(
            "golock's data dir, GOMODCACHE, [go] link, the profile files and the go env file must be apart: what golock removes in one (pruned toolchains, staged modules) would hit the other. Move one of them (--root, [env] GOMODCACHE, [go] link, [profile] files)"
        )
    )]
    Overlap {
        inner: String,
        inner_path: PathBuf,
        outer: String,
        outer_path: PathBuf,
    },
    #[error("GOMODCACHE {} is the whole filesystem or the home directory", cache.display())]
    #[diagnostic(
        code(golock::host::gomodcache_too_wide),
        help("point [env] GOMODCACHE (or GOPATH) at a directory of its own, such as ~/go/pkg/mod")
    )]
    CacheTooWide { cache: PathBuf },
    #[error("goenv = true, but GOENV=off disables the go env file")]
    #[diagnostic(
        code(golock::host::goenv_off),
        help("unset GOENV, or set goenv = false in golock.toml")
    )]
    GoEnvOff,
}

pub fn observe(
    lock: &Lockfile,
    layout: &Layout,
    env: &HostEnv,
    opts: &ObserveOptions,
) -> Result<Observed, HostError> {
    let state = State::load(&layout.state_file())?;
    let goenv_wanted = lock.profile.goenv || !state.goenv_keys.is_empty();
    let goenv = match (goenv_wanted, env.goenv_file(&layout.home)) {
        (false, _) => None,
        (true, Some(path)) => Some(observe_file(&path, &layout.home)?),
        (true, None) if lock.profile.goenv => return Err(HostError::GoEnvOff),
        (true, None) => None,
    };
    let profiles: Vec<ObservedFile> = lock
        .profile
        .files
        .iter()
        .map(|p| observe_file(p, &layout.home))
        .collect::<Result<_, _>>()?;
    check_places_apart(lock, layout, &profiles, goenv.as_ref())?;
    let mut toolchains = observe_toolchains(layout, &state, env.boot_id.as_deref())?;
    let mut modules = observe_modules(lock, layout, opts)?;
    if let Some(modules) = modules.as_mut() {
        modules::recheck_unsynced(lock, modules, &state, env.boot_id.as_deref());
    }
    if opts.rehash {
        rehash_toolchain(lock, layout, &mut toolchains);
        if let Some(modules) = modules.as_mut() {
            modules::rehash(lock, modules);
        }
    }
    Ok(Observed {
        toolchains,
        former_profiles: former_profiles(lock, layout, &state),
        active_link: observe_active_link(&layout.active_link())?,
        extra_link: match &lock.go.link {
            Some(path) => Some(ExtraLink {
                path: path.clone(),
                state: observe_link(path)?,
            }),
            None => None,
        },
        profiles,
        goenv,
        modules,
        state,
    })
}

/// The locked toolchain, rehashed against its install manifest.
fn rehash_toolchain(
    lock: &Lockfile,
    layout: &Layout,
    toolchains: &mut BTreeMap<String, ToolchainState>,
) {
    let dir_name = lock.go.version.dir_name();
    let Some(observed) = toolchains.get_mut(&dir_name) else {
        return;
    };
    if *observed != ToolchainState::Valid {
        return;
    }
    let damaged = verify::toolchain(lock, layout);
    if !damaged.is_empty() {
        *observed = ToolchainState::Damaged {
            reason: format!("{} file(s) differ from its install manifest", damaged.len()),
        };
    }
}

/// Profile files state.json records a block in and golock.toml no longer
/// lists. state.json is untrusted: only absolute paths inside HOME, with
/// no `..`, that are files (through symlinks, still inside HOME).
pub fn recorded_unlisted_profiles(lock: &Lockfile, layout: &Layout, state: &State) -> Vec<PathBuf> {
    state
        .profile_blocks
        .keys()
        .chain(&state.removed_blocks)
        .filter(|p| !lock.profile.files.contains(p))
        .filter(|p| p.is_absolute() && p.starts_with(&layout.home) && p != &&layout.home)
        .filter(|p| !p.components().any(|c| c == std::path::Component::ParentDir))
        .cloned()
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect()
}

fn former_profiles(lock: &Lockfile, layout: &Layout, state: &State) -> Vec<ObservedFile> {
    recorded_unlisted_profiles(lock, layout, state)
        .iter()
        .filter(|p| state.profile_blocks.contains_key(*p))
        .filter_map(|p| observe_file(p, &layout.home).ok())
        .collect()
}

/// The data dir, GOMODCACHE, `[go] link`, the profile files and the go env
/// file must not lie inside one another (see `paths`). A GOMODCACHE that
/// cannot be resolved is reported where it is used.
fn check_places_apart(
    lock: &Lockfile,
    layout: &Layout,
    profiles: &[ObservedFile],
    goenv: Option<&ObservedFile>,
) -> Result<(), HostError> {
    let cache = gomodcache(lock, &layout.home).ok();
    let mut places = vec![paths::Place::new("golock's data dir", &layout.root)];
    if let Some(cache) = &cache {
        places.push(paths::Place::new("GOMODCACHE", cache));
    }
    if let Some(link) = &lock.go.link {
        // The link itself, not the toolchain it points to.
        places.push(paths::Place::link("[go] link", link));
    }
    for file in profiles {
        places.push(paths::Place::new("profile file", &file.write_path));
    }
    if let Some(file) = goenv {
        places.push(paths::Place::new("the go env file", &file.write_path));
    }
    paths::check_no_overlap(&places, cache.as_deref(), &layout.home)
}

fn observe_modules(
    lock: &Lockfile,
    layout: &Layout,
    opts: &ObserveOptions,
) -> Result<Option<ObservedModules>, HostError> {
    if lock.modules.require.is_empty() && !opts.list_unlocked_modules {
        return Ok(None);
    }
    let cache = gomodcache(lock, &layout.home)?;
    // `--repair` rereads every module: it is what finds files changed in place.
    let seen = (!opts.rehash)
        .then(|| seen::SeenModules::load(&layout.seen_modules_file(), &cache))
        .flatten();
    Ok(Some(modules::observe(
        lock,
        &cache,
        opts.list_unlocked_modules,
        seen.as_ref(),
    )))
}

impl Observed {
    /// A digest of everything the plan was computed from; a saved plan is
    /// refused when the host's fingerprint has changed since.
    pub fn fingerprint(&self) -> String {
        let json = serde_json::to_vec(self).unwrap_or_default();
        hex::encode(Sha256::digest(&json))
    }
}

/// Each toolchain dir, checked cheaply — except one installed without
/// waiting for its data in an earlier boot, which is rehashed (once: the
/// next command settles it, see `apply::settle`).
fn observe_toolchains(
    layout: &Layout,
    state: &State,
    boot_id: Option<&str>,
) -> Result<BTreeMap<String, ToolchainState>, HostError> {
    let mut found = list_toolchains(&layout.toolchains_dir())?;
    for (name, observed) in found.iter_mut() {
        let Some(entry) = state.toolchains.get(name) else {
            continue;
        };
        if *observed == ToolchainState::Valid && reboot::needs_recheck(entry, boot_id) {
            let damaged = reboot::recheck(layout, name);
            if !damaged.is_empty() {
                *observed = ToolchainState::Invalid {
                    reason: format!(
                        "{} files differ from its install manifest after a reboot",
                        damaged.len()
                    ),
                };
            }
        }
    }
    Ok(found)
}

fn list_toolchains(dir: &Path) -> Result<BTreeMap<String, ToolchainState>, HostError> {
    let entries = match fsx::read_dir(dir).with_op("list") {
        Ok(e) => e,
        Err(e) if e.is_not_found() => return Ok(BTreeMap::new()),
        Err(e) => return Err(e.into()),
    };
    let mut found = BTreeMap::new();
    for entry in entries {
        let entry = entry.with_op("list")?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with("go") {
            found.insert(name.clone(), check_toolchain(&entry.path(), &name));
        }
    }
    Ok(found)
}

/// A toolchain dir is valid when `VERSION` names it and `bin/go` exists.
pub fn check_toolchain(dir: &Path, dir_name: &str) -> ToolchainState {
    let version = read_version_file(&dir.join("VERSION"));
    let first_line = version.split(|&b| b == b'\n').next().unwrap_or_default();
    if first_line.trim_ascii() != dir_name.as_bytes() {
        return ToolchainState::Invalid {
            reason: format!("VERSION does not say {dir_name}"),
        };
    }
    if !dir.join("bin/go").is_file() {
        return ToolchainState::Invalid {
            reason: "bin/go is missing".to_string(),
        };
    }
    ToolchainState::Valid
}

/// The first bytes of a toolchain's `VERSION` (its first line is all that
/// counts; the file is untrusted, so the read is capped). Empty if unreadable.
fn read_version_file(path: &Path) -> Vec<u8> {
    use std::io::Read as _;
    const CAP: u64 = 4096;
    let mut bytes = Vec::new();
    match fsx::open(path) {
        Ok(file) => {
            let _ = file.take(CAP).read_to_end(&mut bytes);
            bytes
        }
        Err(_) => bytes,
    }
}

/// `<root>/go`. golock creates its own data dir (apply takes `<root>/lock`
/// before it compares a saved plan), so whether that dir exists yet is not
/// part of what a plan was computed from: a plan saved on a fresh host
/// must not read as stale.
fn observe_active_link(path: &Path) -> Result<LinkState, HostError> {
    Ok(match observe_link(path)? {
        LinkState::Missing { .. } => LinkState::Missing {
            parent_exists: true,
        },
        other => other,
    })
}

fn observe_link(path: &Path) -> Result<LinkState, HostError> {
    let meta = match fsx::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.is_not_found() => {
            return Ok(LinkState::Missing {
                parent_exists: fsx::parent_of(path).is_dir(),
            });
        }
        Err(e) => return Err(e.into()),
    };
    Ok(if meta.file_type().is_symlink() {
        LinkState::Link {
            target: fsx::read_link(path)?,
        }
    } else if meta.is_dir() {
        LinkState::RealDir
    } else {
        LinkState::OtherFile
    })
}

/// A managed file as it is now. Writes go to its real location (through
/// any symlinks, so a dotfiles link survives), which must stay inside home.
fn observe_file(path: &Path, home: &Path) -> Result<ObservedFile, HostError> {
    let write_path = paths::real_location(path);
    paths::check_inside_home(path, &write_path, home)?;
    if write_path.is_dir() {
        return Err(HostError::ProfileIsDir {
            path: path.to_path_buf(),
        });
    }
    let content = fsx::read_opt(&write_path)?;
    Ok(ObservedFile {
        path: path.to_path_buf(),
        content_sha256: content.as_deref().map(|c| hex::encode(Sha256::digest(c))),
        content,
        write_path,
    })
}
