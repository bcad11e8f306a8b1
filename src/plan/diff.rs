//! `plan(desired, observed)`: pure, no I/O. Additive actions come first
//! (install), switching actions last (links, profile blocks, go env file),
//! removals at the very end, so an interruption leaves the least to undo.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::action::{Action, Content, FileRole, LinkRole};
use super::{FORMAT_VERSION, Plan, Summary};
use crate::fetch::Source;
use crate::host::layout::Layout;
use crate::host::state::{InstalledToolchain, State};
use crate::host::{LinkState, ModuleState, Observed, ObservedFile, ToolchainState};
use crate::lockfile::{Lockfile, Platform};
use crate::profile::{self, ProfileError, Shell};

#[derive(Clone, Debug, Default)]
pub struct PlanOptions {
    /// Also remove toolchains golock.toml no longer names.
    pub prune: bool,
    /// Overwrite managed blocks the user edited.
    pub force: bool,
    /// Read the archive from this file instead of the mirrors.
    pub archive: Option<PathBuf>,
    /// The platform to install for (the host's by default).
    pub platform: Option<Platform>,
    /// Also remove cached modules golock.toml does not lock.
    pub prune_modules: bool,
    /// Module sources to use instead of `[modules] proxies`.
    pub module_sources: Option<Vec<Source>>,
    /// Archive mirrors to use instead of `[go] mirrors`.
    pub archive_mirrors: Option<Vec<Source>>,
    /// `--repair`: the host is observed with a rehash (see
    /// `host::ObserveOptions::rehash`), so damage is planned as a repair.
    pub repair: bool,
}

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum PlanError {
    #[error("golock does not know this host's platform ({os}/{arch})")]
    #[diagnostic(code(golock::plan::unknown_platform))]
    UnknownPlatform { os: String, arch: String },
    #[error("golock.toml has no archive for {platform} (it has: {available})")]
    #[diagnostic(
        code(golock::plan::no_archive),
        help("add a [go.archives] entry for {platform} with its sha256 and size")
    )]
    NoArchive { platform: String, available: String },
    #[error("{} is a real directory, not a link golock can switch", path.display())]
    #[diagnostic(
        code(golock::plan::link_is_dir),
        help("golock never replaces a directory silently. Move it aside, then apply again:\n    sudo mv {} {}.pre-golock", path.display(), path.display())
    )]
    LinkIsDir { path: PathBuf },
    #[error("{} exists and is not a symlink", path.display())]
    #[diagnostic(
        code(golock::plan::link_is_file),
        help("move it aside (mv {} {}.pre-golock), then apply again", path.display(), path.display())
    )]
    LinkIsFile { path: PathBuf },
    #[error("the directory for {} does not exist", path.display())]
    #[diagnostic(code(golock::plan::link_parent), help("create {} first", parent.display()))]
    LinkParentMissing { path: PathBuf, parent: PathBuf },
    // The profile error is part of the message, not a chained source, so
    // the report says it once; its help is carried over.
    #[error("{}: {problem}", path.display())]
    #[diagnostic(code(golock::plan::markers))]
    Markers {
        path: PathBuf,
        problem: ProfileError,
        #[help]
        help: Option<String>,
    },
    #[error("the golock block in {} was edited since golock wrote it", path.display())]
    #[diagnostic(
        code(golock::plan::block_edited),
        help(
            "move your changes outside the `# >>> golock >>>` block (or into golock.toml), or pass --force to overwrite them"
        )
    )]
    BlockEdited { path: PathBuf },
    #[error(transparent)]
    #[diagnostic(transparent)]
    Settings(ProfileError),
}

pub fn plan(
    lock: &Lockfile,
    observed: &Observed,
    layout: &Layout,
    opts: &PlanOptions,
) -> Result<Plan, PlanError> {
    let platform = target_platform(opts)?;
    let mut b = Builder::default();
    let mut state = observed.state.clone();
    let target = toolchain(lock, observed, layout, opts, &platform, &mut b, &mut state)?;
    modules(lock, observed, opts, &mut b, &mut state);
    links(lock, observed, layout, &target, &mut b)?;
    profiles(lock, observed, layout, opts, &mut b, &mut state)?;
    goenv(lock, observed, layout, &mut b, &mut state)?;
    former_profiles(observed, layout, opts, &mut b, &mut state)?;
    if opts.prune {
        prune(lock, observed, layout, &mut b, &mut state);
    }
    if opts.prune_modules {
        prune_modules(observed, &mut b, &mut state);
    }
    Ok(Plan {
        format_version: FORMAT_VERSION,
        golock_version: env!("CARGO_PKG_VERSION").to_string(),
        lockfile: lock.path.clone(),
        lockfile_sha256: hex::encode(lock.sha256),
        platform: platform.to_string(),
        observed_fingerprint: observed.fingerprint(),
        summary: Summary::of(&b.actions),
        actions: b.actions,
        in_place: b.in_place,
        warnings: b.warnings,
        state_after: state,
    })
}

#[derive(Default)]
struct Builder {
    actions: Vec<Action>,
    in_place: Vec<String>,
    warnings: Vec<String>,
}

fn target_platform(opts: &PlanOptions) -> Result<Platform, PlanError> {
    if let Some(p) = &opts.platform {
        return Ok(*p);
    }
    Platform::host().ok_or_else(|| PlanError::UnknownPlatform {
        os: std::env::consts::OS.to_string(),
        arch: std::env::consts::ARCH.to_string(),
    })
}

fn toolchain(
    lock: &Lockfile,
    observed: &Observed,
    layout: &Layout,
    opts: &PlanOptions,
    platform: &Platform,
    b: &mut Builder,
    state: &mut State,
) -> Result<PathBuf, PlanError> {
    let spec = lock
        .go
        .archives
        .get(platform)
        .ok_or_else(|| PlanError::NoArchive {
            platform: platform.to_string(),
            available: available_platforms(lock),
        })?;
    let dir_name = lock.go.version.dir_name();
    let target = layout.toolchain_dir(&dir_name);
    let replaces = match observed.toolchains.get(&dir_name) {
        Some(ToolchainState::Valid) => match archive_changed(&state.toolchains, &dir_name, spec) {
            None => {
                b.in_place.push(format!("{dir_name} is installed"));
                return Ok(target);
            }
            Some(reason) => Replacing::Reinstall(reason),
        },
        Some(ToolchainState::Damaged { reason }) => Replacing::Reinstall(reason.clone()),
        Some(ToolchainState::Invalid { reason }) => Replacing::Broken(Some(reason.clone())),
        None => Replacing::Broken(None),
    };
    let sources = archive_sources(lock, opts, &spec.file, platform);
    let version = lock.go.version.as_str().to_string();
    let (file, sha256, size) = (spec.file.clone(), hex::encode(spec.sha256), spec.size);
    let signed_by: Vec<String> = lock
        .go
        .signing_keys
        .iter()
        .map(|k| format!("{} ({})", k.fingerprint, k.name))
        .collect();
    b.actions.push(match replaces {
        Replacing::Reinstall(reason) => Action::ReinstallToolchain {
            version,
            platform: platform.to_string(),
            file,
            sha256,
            size,
            target: target.clone(),
            sources,
            reason,
            signed_by,
        },
        Replacing::Broken(replaces) => Action::InstallToolchain {
            version,
            platform: platform.to_string(),
            file,
            sha256,
            size,
            target: target.clone(),
            sources,
            replaces,
            signed_by,
        },
    });
    state.toolchains.insert(
        dir_name,
        InstalledToolchain {
            version: lock.go.version.as_str().to_string(),
            platform: platform.to_string(),
            archive_sha256: hex::encode(spec.sha256),
            unsynced_boot: None,
        },
    );
    Ok(target)
}

/// How an existing toolchain dir is replaced.
enum Replacing {
    /// A well-formed install that is not what golock.toml locks.
    Reinstall(String),
    /// Nothing there, or a broken dir (why).
    Broken(Option<String>),
}

/// state.json says the installed toolchain came from another archive than
/// the one golock.toml locks now. State is untrusted: its hash is only
/// compared and shown abbreviated, never used as a path.
fn archive_changed(
    installed: &BTreeMap<String, InstalledToolchain>,
    dir_name: &str,
    spec: &crate::lockfile::ArchiveSpec,
) -> Option<String> {
    let recorded = &installed.get(dir_name)?.archive_sha256;
    let locked = hex::encode(spec.sha256);
    if recorded.eq_ignore_ascii_case(&locked) {
        return None;
    }
    Some(format!(
        "archive sha256 changed: {}\u{2026} \u{2192} {}\u{2026}",
        abbreviated_hex(recorded),
        abbreviated_hex(&locked)
    ))
}

/// The first 12 characters of a hex digest, or `?` when it is not hex.
fn abbreviated_hex(digest: &str) -> String {
    if digest.is_empty() || !digest.bytes().all(|b| b.is_ascii_hexdigit()) {
        return "?".to_string();
    }
    digest.chars().take(12).collect()
}

fn available_platforms(lock: &Lockfile) -> String {
    let names: Vec<String> = lock.go.archives.keys().map(|p| p.to_string()).collect();
    if names.is_empty() {
        "none".to_string()
    } else {
        names.join(", ")
    }
}

/// `<mirror>/<file>`, or an Artifactory-style template with `{file}`,
/// `{version}`, `{os}` and `{arch}`.
fn archive_sources(
    lock: &Lockfile,
    opts: &PlanOptions,
    file: &str,
    platform: &Platform,
) -> Vec<Source> {
    if let Some(path) = &opts.archive {
        return vec![Source::Local(path.clone())];
    }
    let mirrors = opts.archive_mirrors.as_deref().unwrap_or(&lock.go.mirrors);
    mirrors
        .iter()
        .map(|m| match m {
            Source::Local(dir) => Source::Local(dir.join(file)),
            Source::Http(base) => Source::Http(lock.mirror_url(base, file, platform)),
        })
        .collect()
}

fn modules(
    lock: &Lockfile,
    observed: &Observed,
    opts: &PlanOptions,
    b: &mut Builder,
    state: &mut State,
) {
    let Some(cached) = &observed.modules else {
        return;
    };
    let sources = opts
        .module_sources
        .clone()
        .unwrap_or_else(|| lock.modules.proxies.clone());
    let mut present = 0;
    for (key, hashes) in &lock.modules.require {
        let (repair, rehash) = match cached.locked.get(&key.to_string()) {
            Some(ModuleState::Present) => {
                present += 1;
                continue;
            }
            Some(ModuleState::Corrupt { reason }) => (Some(reason.clone()), false),
            Some(ModuleState::Damaged { reason }) => (Some(reason.clone()), true),
            _ => (None, false),
        };
        state.modules.insert(key.to_string());
        b.actions.push(Action::AddModule {
            path: key.path.clone(),
            version: key.version.clone(),
            zip: hashes.zip.clone(),
            go_mod: hashes.module.clone(),
            cache: cached.cache.clone(),
            sources: sources.clone(),
            repair,
            rehash,
        });
    }
    if present > 0 {
        b.in_place.push(format!(
            "{present} locked module(s) in {}",
            cached.cache.display()
        ));
    }
}

fn prune_modules(observed: &Observed, b: &mut Builder, state: &mut State) {
    let Some(cached) = &observed.modules else {
        return;
    };
    for (path, version) in &cached.unlocked {
        let module = format!("{path}@{version}");
        state.modules.remove(&module);
        state.forget_unsynced_module(&module);
        b.actions.push(Action::RemoveModule {
            path: path.clone(),
            version: version.clone(),
            cache: cached.cache.clone(),
        });
    }
}

fn links(
    lock: &Lockfile,
    observed: &Observed,
    layout: &Layout,
    target: &Path,
    b: &mut Builder,
) -> Result<(), PlanError> {
    link(
        LinkRole::Active,
        &layout.active_link(),
        &observed.active_link,
        target,
        b,
    )?;
    if let (Some(_), Some(extra)) = (&lock.go.link, &observed.extra_link) {
        link(LinkRole::Extra, &extra.path, &extra.state, target, b)?;
    }
    Ok(())
}

fn link(
    role: LinkRole,
    path: &Path,
    state: &LinkState,
    target: &Path,
    b: &mut Builder,
) -> Result<(), PlanError> {
    let from = match state {
        LinkState::Link { target: t } if t == target => {
            b.in_place
                .push(format!("{} -> {}", path.display(), target.display()));
            return Ok(());
        }
        LinkState::Link { target: t } => Some(t.clone()),
        // golock creates its own data dir; a system link's dir must exist.
        LinkState::Missing { .. } if role == LinkRole::Active => None,
        LinkState::Missing {
            parent_exists: true,
        } => None,
        LinkState::Missing {
            parent_exists: false,
        } => {
            return Err(PlanError::LinkParentMissing {
                path: path.to_path_buf(),
                parent: crate::fsx::parent_of(path).to_path_buf(),
            });
        }
        LinkState::RealDir => {
            return Err(PlanError::LinkIsDir {
                path: path.to_path_buf(),
            });
        }
        LinkState::OtherFile => {
            return Err(PlanError::LinkIsFile {
                path: path.to_path_buf(),
            });
        }
    };
    b.actions.push(Action::SwitchLink {
        role,
        link: path.to_path_buf(),
        from,
        to: target.to_path_buf(),
    });
    Ok(())
}

fn profiles(
    lock: &Lockfile,
    observed: &Observed,
    layout: &Layout,
    opts: &PlanOptions,
    b: &mut Builder,
    state: &mut State,
) -> Result<(), PlanError> {
    let goroot = layout.active_link();
    for file in &observed.profiles {
        let block = profile::try_render_block(Shell::for_path(&file.path), &goroot, &lock.env)
            .map_err(PlanError::Settings)?;
        let old = file.content.as_deref().unwrap_or_default();
        let span = profile::find_block(old).map_err(|source| markers(file, source))?;
        if let Some(span) = &span {
            let current = &old[span.range.clone()];
            let recorded = state.profile_blocks.get(&file.path);
            if recorded.is_some_and(|h| *h != profile::block_hash(current)) && !opts.force {
                return Err(PlanError::BlockEdited {
                    path: file.path.clone(),
                });
            }
        }
        warn_crlf(file, old, span.as_ref(), layout, b);
        let new = profile::splice(old, span.as_ref(), &block);
        let written = written_block_hash(&new).map_err(|source| markers(file, source))?;
        state.profile_blocks.insert(file.path.clone(), written);
        if file.content.is_none() {
            state.created_files.insert(file.path.clone());
        }
        write_file(FileRole::Profile, file, new, span.is_none(), layout, b);
    }
    Ok(())
}

/// Profile files state.json records a block in that golock.toml no longer
/// lists: their block is taken out, the rest of the file kept. A recorded
/// path host did not observe (not a file inside HOME) is forgotten, never
/// touched; a file whose block is already gone is forgotten too.
fn former_profiles(
    observed: &Observed,
    layout: &Layout,
    opts: &PlanOptions,
    b: &mut Builder,
    state: &mut State,
) -> Result<(), PlanError> {
    let listed: BTreeSet<&PathBuf> = observed.profiles.iter().map(|f| &f.path).collect();
    let recorded: Vec<PathBuf> = state
        .profile_blocks
        .keys()
        .filter(|p| !listed.contains(p))
        .cloned()
        .collect();
    state.removed_blocks.clear();
    for path in recorded {
        let Some(hash) = state.profile_blocks.remove(&path) else {
            continue;
        };
        match observed.former_profiles.iter().find(|f| f.path == path) {
            Some(file) => {
                if remove_block(file, &hash, layout, opts, b)? {
                    state.removed_blocks.push(path);
                }
            }
            None => b.warnings.push(format!(
                "state.json records a golock block in {}, which is not a file inside the home directory; golock leaves it alone",
                path.display()
            )),
        }
    }
    Ok(())
}

fn remove_block(
    file: &ObservedFile,
    recorded_hash: &str,
    layout: &Layout,
    opts: &PlanOptions,
    b: &mut Builder,
) -> Result<bool, PlanError> {
    let Some(old) = file.content.as_deref() else {
        return Ok(false); // the file is gone, and its block with it
    };
    let Some(span) = profile::find_block(old).map_err(|source| markers(file, source))? else {
        return Ok(false);
    };
    if profile::block_hash(&old[span.range.clone()]) != recorded_hash && !opts.force {
        return Err(PlanError::BlockEdited {
            path: file.path.clone(),
        });
    }
    let new = profile::splice(old, Some(&span), "");
    b.actions.push(Action::RemoveBlock {
        path: file.path.clone(),
        write_path: file.write_path.clone(),
        before_sha256: hex::encode(Sha256::digest(old)),
        diff: profile::unified_diff(&layout.display_path(&file.path), old, &new),
        after: Content(new),
    });
    Ok(true)
}

/// CRLF lines outside the block are the user's and stay, but the shell
/// reads each `\r` as part of the line; say so (the block itself is LF).
fn warn_crlf(
    file: &ObservedFile,
    content: &[u8],
    span: Option<&profile::BlockSpan>,
    layout: &Layout,
    b: &mut Builder,
) {
    let crlf = profile::crlf_lines(content, span);
    if crlf > 0 {
        b.warnings.push(format!(
            "{} has {crlf} line(s) ending in CRLF (\\r\\n): the shell reads the \\r as part of each line, which breaks commands there; golock writes its block with LF and leaves your lines as they are (convert them with `sed -i 's/\\r$//' {}`)",
            layout.display_path(&file.path),
            file.write_path.display()
        ));
    }
}

fn markers(file: &ObservedFile, problem: ProfileError) -> PlanError {
    use miette::Diagnostic;
    PlanError::Markers {
        path: file.path.clone(),
        help: problem.help().map(|h| h.to_string()),
        problem,
    }
}

fn written_block_hash(content: &[u8]) -> Result<String, ProfileError> {
    let span = profile::find_block(content)?;
    Ok(span
        .map(|s| profile::block_hash(&content[s.range]))
        .unwrap_or_default())
}

fn goenv(
    lock: &Lockfile,
    observed: &Observed,
    layout: &Layout,
    b: &mut Builder,
    state: &mut State,
) -> Result<(), PlanError> {
    let Some(file) = &observed.goenv else {
        return Ok(());
    };
    let set: Vec<(String, String)> = if lock.profile.goenv {
        lock.env.clone()
    } else {
        Vec::new()
    };
    let wanted: BTreeSet<&String> = set.iter().map(|(k, _)| k).collect();
    let remove: Vec<String> = state
        .goenv_keys
        .iter()
        .filter(|k| !wanted.contains(k))
        .cloned()
        .collect();
    let new = profile::try_render_goenv(file.content.as_deref(), &set, &remove)
        .map_err(PlanError::Settings)?;
    state.goenv_keys = set.iter().map(|(k, _)| k.clone()).collect();
    if file.content.is_none() && set.is_empty() {
        return Ok(());
    }
    if file.content.is_none() {
        state.created_files.insert(file.path.clone());
    }
    write_file(FileRole::GoEnv, file, new, false, layout, b);
    Ok(())
}

fn write_file(
    role: FileRole,
    file: &ObservedFile,
    new: Vec<u8>,
    adds_block: bool,
    layout: &Layout,
    b: &mut Builder,
) {
    let shown = layout.display_path(&file.path);
    if file.content.as_deref() == Some(new.as_slice()) {
        b.in_place.push(format!("{shown} is up to date"));
        return;
    }
    let old = file.content.as_deref().unwrap_or_default();
    b.actions.push(Action::WriteFile {
        role,
        path: file.path.clone(),
        write_path: file.write_path.clone(),
        before_sha256: file
            .content
            .as_deref()
            .map(|c| hex::encode(Sha256::digest(c))),
        diff: profile::unified_diff(&shown, old, &new),
        after: Content(new),
        adds_block,
    });
}

fn prune(
    lock: &Lockfile,
    observed: &Observed,
    layout: &Layout,
    b: &mut Builder,
    state: &mut State,
) {
    let keep = lock.go.version.dir_name();
    for name in observed.toolchains.keys().filter(|n| **n != keep) {
        b.actions.push(Action::RemoveToolchain {
            version: name.trim_start_matches("go").to_string(),
            dir: layout.toolchain_dir(name),
        });
        state.toolchains.remove(name);
    }
}
