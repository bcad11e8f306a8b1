//! The plan of `golock uninstall`: take out only what state.json records
//! golock put on this host — its profile blocks, the go env keys it set,
//! the link to its toolchain; with `--all` the toolchains it installed;
//! with `--modules` the modules it installed. The same [`Plan`] apply
//! executes, so the removal runs under the journal like any apply.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::action::{Action, Content, FileRole, LinkRole};
use super::diff::PlanError;
use super::{FORMAT_VERSION, Plan, Summary};
use crate::host::layout::Layout;
use crate::host::state::State;
use crate::host::{LinkState, ModuleState, Observed, ObservedFile};
use crate::lockfile::Lockfile;
use crate::profile;

pub const NOTHING_TO_UNINSTALL: &str = "Nothing to uninstall.";

#[derive(Clone, Copy, Debug, Default)]
pub struct UninstallOptions {
    /// Also the toolchains golock installed (and then its data dir).
    pub all: bool,
    /// Also the modules golock installed into the module cache.
    pub modules: bool,
    /// Remove blocks the user edited too.
    pub force: bool,
}

#[derive(Default)]
struct Builder {
    actions: Vec<Action>,
    warnings: Vec<String>,
}

pub fn uninstall(
    lock: &Lockfile,
    observed: &Observed,
    layout: &Layout,
    opts: UninstallOptions,
) -> Result<Plan, PlanError> {
    let mut b = Builder::default();
    let mut state = observed.state.clone();
    profile_blocks(observed, layout, opts, &mut b, &mut state)?;
    goenv_keys(observed, layout, &mut b, &mut state);
    links(lock, observed, layout, &mut b);
    if opts.all {
        toolchains(observed, layout, &mut b, &mut state);
    }
    if opts.modules {
        modules(observed, &mut b, &mut state);
    }
    Ok(Plan {
        format_version: FORMAT_VERSION,
        golock_version: env!("CARGO_PKG_VERSION").to_string(),
        lockfile: lock.path.clone(),
        lockfile_sha256: hex::encode(lock.sha256),
        platform: String::new(),
        observed_fingerprint: observed.fingerprint(),
        summary: Summary::of(&b.actions),
        actions: b.actions,
        in_place: Vec::new(),
        warnings: b.warnings,
        state_after: state,
    })
}

/// Every recorded block comes out, the rest of its file stays; a file
/// golock created that is left empty goes.
fn profile_blocks(
    observed: &Observed,
    layout: &Layout,
    opts: UninstallOptions,
    b: &mut Builder,
    state: &mut State,
) -> Result<(), PlanError> {
    let recorded: Vec<(PathBuf, String)> = std::mem::take(&mut state.profile_blocks)
        .into_iter()
        .collect();
    state.removed_blocks.clear();
    for (path, hash) in recorded {
        let observed_file = observed
            .profiles
            .iter()
            .chain(&observed.former_profiles)
            .find(|f| f.path == path);
        let Some(file) = observed_file else {
            b.warnings.push(format!(
                "state.json records a golock block in {}, which is not a file inside the home directory; golock leaves it alone",
                path.display()
            ));
            continue;
        };
        if remove_block(file, &hash, layout, opts, state, b)? {
            state.removed_blocks.push(path);
        }
    }
    Ok(())
}

fn remove_block(
    file: &ObservedFile,
    recorded_hash: &str,
    layout: &Layout,
    opts: UninstallOptions,
    state: &mut State,
    b: &mut Builder,
) -> Result<bool, PlanError> {
    let Some(old) = file.content.as_deref() else {
        return Ok(false);
    };
    let span = profile::find_block(old).map_err(|problem| markers(file, problem))?;
    let Some(span) = span else {
        return Ok(false);
    };
    if profile::block_hash(&old[span.range.clone()]) != recorded_hash && !opts.force {
        return Err(PlanError::BlockEdited {
            path: file.path.clone(),
        });
    }
    let new = profile::splice(old, Some(&span), "");
    let diff = profile::unified_diff(&layout.display_path(&file.path), old, &new);
    let before_sha256 = hex::encode(Sha256::digest(old));
    if new.is_empty() && state.created_files.remove(&file.path) {
        b.actions.push(Action::RemoveFile {
            role: FileRole::Profile,
            path: file.path.clone(),
            write_path: file.write_path.clone(),
            before_sha256,
            diff,
        });
    } else {
        b.actions.push(Action::RemoveBlock {
            path: file.path.clone(),
            write_path: file.write_path.clone(),
            before_sha256,
            diff,
            after: Content(new),
        });
    }
    Ok(true)
}

fn markers(file: &ObservedFile, problem: profile::ProfileError) -> PlanError {
    use miette::Diagnostic;
    PlanError::Markers {
        path: file.path.clone(),
        help: problem.help().map(|h| h.to_string()),
        problem,
    }
}

/// The keys golock set come out of the go env file; the user's stay.
fn goenv_keys(observed: &Observed, layout: &Layout, b: &mut Builder, state: &mut State) {
    let keys = std::mem::take(&mut state.goenv_keys);
    let Some(file) = &observed.goenv else {
        return;
    };
    let Some(old) = file.content.as_deref() else {
        state.created_files.remove(&file.path);
        return;
    };
    let Ok(new) = profile::try_render_goenv(Some(old), &[], &keys) else {
        b.warnings.push(format!(
            "state.json records go env keys golock cannot take out of {}; golock leaves it alone",
            file.path.display()
        ));
        return;
    };
    if new == old {
        return;
    }
    let diff = profile::unified_diff(&layout.display_path(&file.path), old, &new);
    let before_sha256 = hex::encode(Sha256::digest(old));
    if new.is_empty() && state.created_files.remove(&file.path) {
        b.actions.push(Action::RemoveFile {
            role: FileRole::GoEnv,
            path: file.path.clone(),
            write_path: file.write_path.clone(),
            before_sha256,
            diff,
        });
        return;
    }
    b.actions.push(Action::WriteFile {
        role: FileRole::GoEnv,
        path: file.path.clone(),
        write_path: file.write_path.clone(),
        before_sha256: Some(before_sha256),
        after: Content(new),
        diff,
        adds_block: false,
    });
}

/// The active link, and `[go] link`, when each points at a toolchain dir
/// of golock's; a link anyone else made stays.
fn links(lock: &Lockfile, observed: &Observed, layout: &Layout, b: &mut Builder) {
    let toolchains = layout.toolchains_dir();
    let mut found = vec![(
        LinkRole::Active,
        layout.active_link(),
        &observed.active_link,
    )];
    if let (Some(_), Some(extra)) = (&lock.go.link, &observed.extra_link) {
        found.push((LinkRole::Extra, extra.path.clone(), &extra.state));
    }
    for (role, link, link_state) in found {
        if let LinkState::Link { target } = link_state
            && is_toolchain_dir(target, &toolchains)
        {
            b.actions.push(Action::RemoveLink {
                role,
                link,
                target: target.clone(),
            });
        }
    }
}

fn is_toolchain_dir(target: &Path, toolchains: &Path) -> bool {
    crate::fsx::parent_of(target) == toolchains
}

/// Only toolchains state.json says golock installed.
fn toolchains(observed: &Observed, layout: &Layout, b: &mut Builder, state: &mut State) {
    let recorded: Vec<String> = state.toolchains.keys().cloned().collect();
    for name in recorded {
        state.toolchains.remove(&name);
        if !observed.toolchains.contains_key(&name) {
            continue;
        }
        b.actions.push(Action::RemoveToolchain {
            version: name.trim_start_matches("go").to_string(),
            dir: layout.toolchain_dir(&name),
        });
    }
}

/// Only modules state.json says golock installed, and only those cached.
fn modules(observed: &Observed, b: &mut Builder, state: &mut State) {
    let recorded = std::mem::take(&mut state.modules);
    state.unsynced_modules.clear();
    let Some(cached) = &observed.modules else {
        return;
    };
    let unlocked: BTreeSet<String> = cached
        .unlocked
        .iter()
        .map(|(path, version)| format!("{path}@{version}"))
        .collect();
    for module in recorded {
        let present = match cached.locked.get(&module) {
            Some(ModuleState::Missing) => false,
            Some(_) => true,
            None => unlocked.contains(&module),
        };
        let Some((path, version)) = module.rsplit_once('@') else {
            continue;
        };
        if present {
            b.actions.push(Action::RemoveModule {
                path: path.to_string(),
                version: version.to_string(),
                cache: cached.cache.clone(),
            });
        }
    }
}
