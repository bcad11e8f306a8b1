//! Execute a plan through one journaled transaction. Apply decides nothing
//! new: it performs the plan's actions in order, and on any error rolls back
//! everything it did, newest first. SIGINT and SIGTERM stop it at the next
//! safe point and roll it back the same way ([`crate::txn::interrupt`]).

pub mod health;
pub mod manifest;
mod modules;
pub mod preflight;
mod report;
mod scope;
pub mod settle;
pub mod sources;
mod toolchain;
pub mod uninstall;

use std::path::PathBuf;

use sha2::{Digest, Sha256};

use crate::fsx;
use crate::host::layout::Layout;
use crate::host::state::State;
use crate::plan::{Action, FileRole, LinkRole, Plan};
use crate::txn::checkpoint::{self, Checkpoint, FileStep, RenameStep};
use crate::txn::interrupt::{self, Interrupted, Signal};
use crate::txn::{Transaction, TxnError};
pub use preflight::{UnwritableError, check_writable};
pub use report::{Reporter, Silent};
pub use scope::journal_scope;
pub use settle::{SettleError, SyncMode, settle, settle_holding_lock};
pub use sources::{Missing, SourcesError, check_sources};

pub use health::{Health, HealthError};
pub use modules::ModuleError;
pub use toolchain::ToolchainError;

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum ApplyError {
    #[error(transparent)]
    #[diagnostic(transparent)]
    Txn(#[from] TxnError),
    #[error(transparent)]
    #[diagnostic(transparent)]
    Toolchain(#[from] ToolchainError),
    #[error(transparent)]
    #[diagnostic(transparent)]
    Modules(#[from] ModuleError),
    #[error(transparent)]
    #[diagnostic(transparent)]
    Health(#[from] HealthError),
    #[error("{} changed since the plan was made", path.display())]
    #[diagnostic(
        code(golock::apply::file_changed),
        help("run `golock plan` again to see the current changes")
    )]
    FileChanged { path: PathBuf },
    #[error(transparent)]
    #[diagnostic(transparent)]
    Stopped(#[from] Interrupted),
    /// A signal stopped the apply and everything it did was undone.
    #[error("interrupted: rolled back, nothing changed")]
    #[diagnostic(
        code(golock::apply::interrupted),
        help("golock received {signal}; run `golock apply` again to make the change")
    )]
    Interrupted { signal: Signal },
    #[error("apply failed and was rolled back")]
    #[diagnostic(
        code(golock::apply::rolled_back),
        help("{}", rolled_back_help(source, undone))
    )]
    RolledBack {
        #[source]
        source: Box<ApplyError>,
        undone: Vec<String>,
    },
    #[error("{}", rollback_failed_text(source, rollback))]
    #[diagnostic(
        code(golock::apply::rollback_failed),
        help(
            "fix the cause of both, then run `golock recover`; the journal is kept so nothing is forgotten"
        )
    )]
    RollbackFailed {
        source: Box<ApplyError>,
        rollback: TxnError,
    },
}

/// Not shown through `#[source]` alone: both the apply error and why the
/// rollback stopped must reach the user.
fn rollback_failed_text(source: &ApplyError, rollback: &TxnError) -> String {
    format!(
        "apply failed: {}\nthen its rollback failed: {rollback}",
        chain(source)
    )
}

/// An error and its causes on one line.
pub fn chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut next = err.source();
    while let Some(e) = next {
        text.push_str(": ");
        text.push_str(&e.to_string());
        next = e.source();
    }
    text
}

/// What to do about the failure (its own help), then what was undone.
fn rolled_back_help(source: &ApplyError, undone: &[String]) -> String {
    let what_to_do = miette::Diagnostic::help(source)
        .map(|help| format!("{help}\n"))
        .unwrap_or_default();
    if undone.is_empty() {
        format!("{what_to_do}nothing had been changed on the host")
    } else {
        format!("{what_to_do}undone:\n  {}", undone.join("\n  "))
    }
}

/// What the CLI hands apply: where progress goes, the caps, the HTTP client.
pub struct Options {
    /// Told how far each archive extraction got (the CLI draws a bar).
    pub reporter: Box<dyn Reporter>,
    /// Caps for Go archives.
    pub limits: crate::archive::Limits,
    /// The one HTTP client of the run (built on first use, with the
    /// timeouts, retries, proxies and CA the CLI was given), for toolchain
    /// mirrors and module proxies alike.
    pub http: crate::fetch::Client,
    /// Whether to wait for toolchain data to reach the disk (already
    /// resolved against `boot_id`), and the boot to record when not.
    pub sync: SyncMode,
    pub boot_id: Option<String>,
    /// The checks before and after a link switch (`None`: uninstall,
    /// which switches nothing to a toolchain).
    pub health: Option<Health>,
    /// golock.toml's `[go] signing_keys`: when any, every archive must come
    /// with a detached signature by one of them, checked in the same read.
    pub signing_keys: Vec<crate::signing::TrustedKey>,
}

/// Run the plan under one transaction. SIGINT or SIGTERM stops it at the
/// next safe point and rolls it back ([`ApplyError::Interrupted`]); once the
/// commit record is written, the apply completes instead.
pub fn execute(plan: &Plan, layout: &Layout, opts: &Options) -> Result<(), ApplyError> {
    let _signals = interrupt::Handlers::install();
    let plan_json = serde_json::to_value(plan).unwrap_or_default();
    let mut txn = Transaction::begin(layout, plan_json)?;
    let done = run_all(plan, layout, opts, &mut txn).and_then(|()| {
        checkpoint::reach(Checkpoint::BeforeCommit);
        Ok(interrupt::check()?)
    });
    match done {
        Ok(()) => Ok(txn.commit()?),
        Err(err) => {
            // A signal that came before the rollback stopped the apply.
            let signal = interrupt::received();
            match (txn.rollback(), signal) {
                (Ok(_), Some(signal)) => Err(ApplyError::Interrupted { signal }),
                (Ok(undone), None) => Err(ApplyError::RolledBack {
                    source: Box::new(err),
                    undone,
                }),
                (Err(rollback), _) => Err(ApplyError::RollbackFailed {
                    source: Box::new(err),
                    rollback,
                }),
            }
        }
    }
}

fn run_all(
    plan: &Plan,
    layout: &Layout,
    opts: &Options,
    txn: &mut Transaction,
) -> Result<(), ApplyError> {
    let modules: Vec<&Action> = plan
        .actions
        .iter()
        .filter(|a| matches!(a, Action::AddModule { .. }))
        .collect();
    let mut modules_done = false;
    let mut modules_landed = Vec::new();
    let mut checked: Vec<PathBuf> = Vec::new();
    for action in &plan.actions {
        interrupt::check()?;
        match action {
            Action::SwitchLink { to, .. } if !checked.contains(to) => {
                check_toolchain(to, plan, opts, txn)?;
                checked.push(to.clone());
                run(action, layout, opts, txn)?;
            }
            // One parallel batch, where the first module stands in the plan.
            Action::AddModule { .. } if !modules_done => {
                modules_landed = modules::install(&modules, &opts.http, opts.sync, txn)?;
                modules_done = true;
            }
            Action::AddModule { .. } => {}
            _ => run(action, layout, opts, txn)?,
        }
    }
    interrupt::check()?;
    if let Some(health) = &opts.health
        && let Some(command) = &health.command
    {
        let work = txn.staging()?.join("health");
        let bin = layout.active_link().join("bin");
        health::run_command(command, &bin, &work, health.command_timeout)?;
        fsx::remove_tree_opt(&work).map_err(TxnError::from)?;
    }
    interrupt::check()?;
    let state = state_recording_sync(plan, &modules_landed, opts);
    txn.write_file(&layout.state_file(), &state.to_bytes(), FileStep::State)?;
    Ok(())
}

/// Before a link moves to the toolchain `goroot`: its own `go` must work.
fn check_toolchain(
    goroot: &std::path::Path,
    plan: &Plan,
    opts: &Options,
    txn: &mut Transaction,
) -> Result<(), ApplyError> {
    let Some(health) = &opts.health else {
        return Ok(());
    };
    let work = txn.staging()?.join("health");
    health::check_toolchain(goroot, health, &plan.platform, &work)?;
    fsx::remove_tree_opt(&work).map_err(TxnError::from)?;
    Ok(())
}

/// The planned state, plus the boot of each toolchain and module installed
/// without waiting for its data, so a later boot knows to recheck it.
/// A module landed again (`--sync full` too) loses an older boot's mark.
fn state_recording_sync(plan: &Plan, modules_landed: &[String], opts: &Options) -> State {
    let mut state = plan.state_after.clone();
    for module in modules_landed {
        state.forget_unsynced_module(module);
    }
    let (SyncMode::Deferred, Some(boot)) = (opts.sync, &opts.boot_id) else {
        return state;
    };
    if !modules_landed.is_empty() {
        state
            .unsynced_modules
            .entry(boot.clone())
            .or_default()
            .extend(modules_landed.iter().cloned());
    }
    for action in &plan.actions {
        if let Action::InstallToolchain { version, .. }
        | Action::ReinstallToolchain { version, .. } = action
        {
            let dir_name = format!("go{version}");
            if let Some(entry) = state.toolchains.get_mut(&dir_name) {
                entry.unsynced_boot = opts.boot_id.clone();
            }
        }
    }
    state
}

fn run(
    action: &Action,
    layout: &Layout,
    opts: &Options,
    txn: &mut Transaction,
) -> Result<(), ApplyError> {
    match action {
        Action::InstallToolchain { .. } | Action::ReinstallToolchain { .. } => {
            toolchain::install(action, layout, opts, txn)?
        }
        Action::SwitchLink { role, link, to, .. } => {
            let label = match role {
                LinkRole::Active => RenameStep::Link,
                LinkRole::Extra => RenameStep::ExtraLink,
            };
            txn.switch_link(link, to, label)?;
        }
        Action::WriteFile {
            role,
            write_path,
            before_sha256,
            after,
            ..
        } => {
            ensure_unchanged(write_path, before_sha256.as_deref())?;
            let label = match role {
                FileRole::Profile => FileStep::Profile,
                FileRole::GoEnv => FileStep::GoEnv,
            };
            txn.write_file(write_path, &after.0, label)?;
        }
        Action::RemoveBlock {
            write_path,
            before_sha256,
            after,
            ..
        } => {
            ensure_unchanged(write_path, Some(before_sha256.as_str()))?;
            txn.write_file(write_path, &after.0, FileStep::Profile)?;
        }
        Action::RemoveToolchain { dir, .. } => txn.move_aside(dir, RenameStep::Prune)?,
        Action::RemoveLink { link, .. } => txn.move_aside(link, RenameStep::Link)?,
        Action::RemoveFile {
            write_path,
            before_sha256,
            ..
        } => {
            ensure_unchanged(write_path, Some(before_sha256.as_str()))?;
            // Recovery's checks and its tests cover the prune step's rename.
            txn.move_aside(write_path, RenameStep::Prune)?;
        }
        Action::RemoveModule { .. } => modules::remove(action, txn)?,
        Action::AddModule { .. } => {}
    }
    Ok(())
}

fn ensure_unchanged(path: &std::path::Path, before: Option<&str>) -> Result<(), ApplyError> {
    let now = fsx::read_opt(path)
        .map_err(TxnError::from)?
        .map(|c| hex::encode(Sha256::digest(&c)));
    if now.as_deref() != before {
        return Err(ApplyError::FileChanged {
            path: path.to_path_buf(),
        });
    }
    Ok(())
}

/// After an apply (or a no-op one), holding the host lock: record the
/// locked modules present now, so that later no-op plans need not reread
/// them (see [`crate::host::seen`]). A cache, so not journaled or synced:
/// a torn file reads as absent. Without locked modules the record goes.
pub fn remember_modules(
    lock: &crate::lockfile::Lockfile,
    layout: &Layout,
) -> Result<(), fsx::FsError> {
    let file = layout.seen_modules_file();
    let record = match crate::host::gomodcache(lock, &layout.home) {
        Ok(cache) if !lock.modules.require.is_empty() => {
            if crate::host::record_vouches_for_all(lock, &cache, &file) {
                return Ok(()); // a no-op apply then writes nothing
            }
            crate::host::record_present(lock, &cache)
        }
        _ => None,
    };
    let Some(bytes) = record else {
        return fsx::remove_file_opt(&file);
    };
    let temp = fsx::sibling_temp(&file, &format!("new-{}", std::process::id()));
    fsx::remove_file_opt(&temp)?;
    fsx::write(&temp, bytes)?;
    // Whatever the umask: a record others could write is not read back.
    fsx::set_mode(&temp, 0o644)?;
    fsx::rename(&temp, &file)
}
