//! The errors a command reports: its own (a missing lockfile, a cancelled
//! apply, …) and every stage's, shown through miette.

use std::path::PathBuf;

use crate::lockfile::{self, checksums, gomod};
use crate::{apply, fetch, fsx, host, plan, txn};

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum CommandError {
    #[error("no golock.toml in {} or any parent directory", cwd.display())]
    #[diagnostic(
        code(golock::no_lockfile),
        help("run golock inside a repo with golock.toml, or pass --lockfile PATH")
    )]
    NoLockfile { cwd: PathBuf },
    #[error("cannot tell the home directory: $HOME is not set")]
    #[diagnostic(code(golock::no_home), help("pass --home DIR"))]
    NoHome,
    #[error("{} already exists", path.display())]
    #[diagnostic(
        code(golock::exists),
        help("edit it, or run `golock lock` to refresh its checksums")
    )]
    Exists { path: PathBuf },
    #[error(transparent)]
    #[diagnostic(transparent)]
    GoMod(#[from] gomod::GoModError),
    #[error(transparent)]
    #[diagnostic(transparent)]
    Checksum(#[from] checksums::ChecksumError),
    #[error(transparent)]
    #[diagnostic(transparent)]
    Edit(#[from] lockfile::edit::EditError),
    #[error(transparent)]
    #[diagnostic(transparent)]
    SavedPlan(#[from] plan::SavedPlanError),
    #[error(transparent)]
    #[diagnostic(transparent)]
    BundleMember(#[from] crate::bundle::members::MemberError),
    #[error(transparent)]
    #[diagnostic(transparent)]
    CacheLocation(#[from] host::CacheLocationError),
    #[error(transparent)]
    #[diagnostic(transparent)]
    Bundle(#[from] crate::bundle::BundleError),
    #[error(transparent)]
    #[diagnostic(transparent)]
    Mirror(#[from] crate::mirror::MirrorError),
    #[error("could not ask git which files changed")]
    #[diagnostic(
        code(golock::git),
        help("name the changed files (`golock hook check go.sum`), or pass `--lockfile`")
    )]
    Git(#[from] crate::vcs::VcsError),
    #[error("{pending}")]
    #[diagnostic(
        code(golock::pending),
        help(
            "the host may be half-changed: `golock recover` rolls it back, `golock apply` recovers first"
        )
    )]
    Pending { pending: String },
    #[error("recovery did not finish: {count} journal(s) kept; nothing new was applied")]
    #[diagnostic(
        code(golock::recovery_incomplete),
        help(
            "see the list above; fix what it names and run `golock recover` again, or `golock recover --discard` to drop the journal"
        )
    )]
    RecoveryIncomplete { count: usize },
    #[error("--home {} does not exist", path.display())]
    #[diagnostic(
        code(golock::no_such_home),
        help(
            "pass an existing directory: golock edits profile files in the home, it never creates the home itself"
        )
    )]
    HomeMissing { path: PathBuf },
    #[error("{flag} {} is not a directory", path.display())]
    #[diagnostic(
        code(golock::not_a_directory),
        help("{flag} takes a directory{}", if *flag == "--root" { " (one that does not exist yet is created; env GOLOCK_ROOT)" } else { "" })
    )]
    NotADirectory { flag: &'static str, path: PathBuf },
    /// The reader of stdout went away (`golock plan | head -1`): not shown.
    #[error("stdout was closed")]
    StdoutClosed,
    #[error("cannot write to stdout: {source}")]
    #[diagnostic(code(golock::stdout))]
    Stdout { source: std::io::Error },
    #[error("no man page for `{name}`: it is not a golock command")]
    #[diagnostic(
        code(golock::man),
        help("run `golock --help` for the commands; `golock man` prints golock(1)")
    )]
    UnknownManPage { name: String },
    #[error("{program}: command not found")]
    #[diagnostic(
        code(golock::exec_not_found),
        help(
            "golock exec looks CMD up on PATH with the toolchain's bin first; give a path or a command on PATH"
        )
    )]
    ExecNotFound { program: String },
    #[error("cannot run {program}: {source}")]
    #[diagnostic(
        code(golock::exec_failed),
        help("check that {program} is an executable file")
    )]
    ExecFailed {
        program: String,
        source: std::io::Error,
    },
    #[error("no command to run")]
    #[diagnostic(code(golock::exec_nothing), help("golock exec -- CMD [ARGS]..."))]
    ExecNothing,
    #[error(transparent)]
    #[diagnostic(transparent)]
    Activate(#[from] host::activate::ActivateError),
    #[error(transparent)]
    #[diagnostic(transparent)]
    Rollback(#[from] super::rollback::RollbackError),
    #[error("apply cancelled")]
    #[diagnostic(code(golock::cancelled))]
    Cancelled,
    #[error(transparent)]
    #[diagnostic(transparent)]
    Fs(#[from] fsx::FsError),
    #[error(transparent)]
    #[diagnostic(transparent)]
    Lockfile(#[from] lockfile::LockfileError),
    #[error(transparent)]
    #[diagnostic(transparent)]
    Host(#[from] host::HostError),
    #[error(transparent)]
    #[diagnostic(transparent)]
    Unwritable(#[from] apply::UnwritableError),
    #[error(transparent)]
    #[diagnostic(transparent)]
    Sources(#[from] apply::SourcesError),
    #[error(transparent)]
    #[diagnostic(transparent)]
    Plan(#[from] plan::PlanError),
    #[error(transparent)]
    #[diagnostic(transparent)]
    Apply(#[from] apply::ApplyError),
    #[error(transparent)]
    #[diagnostic(transparent)]
    Txn(#[from] txn::TxnError),
    #[error(transparent)]
    #[diagnostic(transparent)]
    Lock(#[from] txn::LockError),
    #[error(transparent)]
    #[diagnostic(transparent)]
    Fetch(#[from] fetch::FetchError),
}

pub type Result<T> = std::result::Result<T, CommandError>;
