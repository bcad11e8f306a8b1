//! The command line's shape: commands and flags (clap derive).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// `golock --version`: the version, then the build facts build.rs found.
/// (`-V` stays the one line `golock VERSION`.)
const LONG_VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    "\ncommit: ",
    env!("GOLOCK_COMMIT"),
    "\nbuilt: ",
    env!("GOLOCK_BUILD_DATE"),
    "\ntarget: ",
    env!("GOLOCK_TARGET"),
);

#[derive(Debug, Parser)]
#[command(
    name = "golock",
    version,
    long_version = LONG_VERSION,
    about = "Make this host's Go setup match golock.toml"
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct Global {
    /// The lockfile (default: golock.toml in the current dir or the nearest parent)
    #[arg(long, global = true, env = "GOLOCK_LOCKFILE")]
    pub lockfile: Option<PathBuf>,
    /// golock's data dir (default: $XDG_DATA_HOME/golock or ~/.local/share/golock)
    #[arg(long, global = true, env = "GOLOCK_ROOT")]
    pub root: Option<PathBuf>,
    /// The home whose profile files and go env file are managed (default: $HOME)
    #[arg(long, global = true)]
    pub home: Option<PathBuf>,
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
    /// Print only errors (and what was asked for, such as --json)
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Also list what is already in place
    #[arg(short, long, global = true)]
    pub verbose: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show what apply would change
    Plan(PlanArgs),
    /// Make the host match golock.toml, under a journal
    Apply(ApplyArgs),
    /// Drift check for hooks and CI: 0 in sync, 2 drift, 1 error
    Check(CheckArgs),
    /// Roll back an interrupted apply (after checking its journal whole)
    Recover(RecoverArgs),
    /// Fill or refresh checksums in golock.toml: modules from go.sum, Go
    /// archives found in the mirror directories
    Lock(LockArgs),
    /// Write a starter golock.toml from the repo's go.mod and go.sum
    Init(InitArgs),
    /// Write an offline bundle (tar.gz): the lockfile, Go archives for the
    /// chosen platforms, every locked module's files, and a manifest
    Bundle(BundleArgs),
    /// Write a static mirror into DIR: `go/` (the locked Go archives,
    /// SHA256SUMS, index.json) and `mod/` (a GOPROXY tree of the locked
    /// modules) that any web server can serve; additive across lockfiles
    Mirror(MirrorArgs),
    /// Rehash installed modules (and what go.sum says) against golock.toml:
    /// 0 all good, 2 mismatches, 1 error
    Verify(VerifyArgs),
    /// Remove what golock put on this host (profile blocks, go env keys, the
    /// link), under a journal; `--all` also its toolchains and data dir,
    /// `--modules` the modules it installed
    Uninstall(UninstallArgs),
    /// Show what golock manages here: the active and installed toolchains,
    /// the module cache, profile blocks, a pending journal, the last apply
    /// (reads only; always exits 0 unless it cannot read)
    Status(StatusArgs),
    /// Show the audit history: every apply, recover, uninstall and rollback
    /// that changed this host, newest last (reads only)
    History(HistoryArgs),
    /// Return the host to an earlier successful apply from the history (by
    /// default the one before the current state), from the golock.toml kept
    /// for it; like apply, but never downloads
    Rollback(RollbackArgs),
    /// Print the export lines that put this golock.toml's installed
    /// toolchain first on PATH, with its GOROOT and [env], without switching
    /// the host: `eval "$(golock env)"`, or a direnv .envrc
    Env(EnvArgs),
    /// Run a command with this golock.toml's toolchain and [env] (as `golock
    /// env` sets them): `golock exec -- go build ./...`
    Exec(ExecArgs),
    /// Print a shell completion script (bash, zsh or fish)
    ///
    /// For example `golock completions bash >
    /// ~/.local/share/bash-completion/completions/golock`, `golock
    /// completions zsh > ~/.zfunc/_golock` or `golock completions fish >
    /// ~/.config/fish/completions/golock.fish`.
    Completions(CompletionsArgs),
    /// The pre-commit hooks: `golock hook check FILE…`, `golock hook lock
    /// FILE…` on the golock.toml beside each changed go.mod or go.sum
    Hook(HookArgs),
    /// Print the man page (roff): `golock man > golock.1`, `golock man plan
    /// > golock-plan.1`
    #[command(hide = true)]
    Man(ManArgs),
}

#[derive(Debug, Args)]
pub struct EnvArgs {
    /// The syntax to print (default: fish when $SHELL is fish, else POSIX sh)
    #[arg(long, value_enum)]
    pub shell: Option<EnvShell>,
}

/// The shells `golock env` writes for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum EnvShell {
    Sh,
    Bash,
    Zsh,
    Fish,
}

impl EnvShell {
    pub fn syntax(self) -> crate::profile::Shell {
        match self {
            EnvShell::Fish => crate::profile::Shell::Fish,
            EnvShell::Sh | EnvShell::Bash | EnvShell::Zsh => crate::profile::Shell::Posix,
        }
    }
}

#[derive(Debug, Args)]
pub struct ExecArgs {
    /// The command and its arguments (after `--`); looked up on the new PATH
    #[arg(
        value_name = "CMD",
        required = true,
        num_args = 1..,
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    pub command: Vec<std::ffi::OsString>,
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// The command whose page to print, golock-COMMAND(1) (default: golock(1))
    #[arg(value_name = "COMMAND")]
    pub command: Option<String>,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for
    #[arg(value_enum)]
    pub shell: CompletionShell,
}

/// The shells `completions` writes scripts for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum CompletionShell {
    Bash,
    Zsh,
    Fish,
}

#[derive(Debug, Args)]
pub struct UninstallArgs {
    /// Also remove the toolchains golock installed, then its data dir
    /// (golock's own files; a dir only once empty)
    #[arg(long)]
    pub all: bool,
    /// Also remove the modules golock installed into the module cache
    /// (never what the go command put there)
    #[arg(long)]
    pub modules: bool,
    /// Remove a golock block that was edited by hand too
    #[arg(long)]
    pub force: bool,
    /// Do not ask for confirmation
    #[arg(short = 'y', long = "yes")]
    pub yes: bool,
    /// Fail at once if another golock holds the lock
    #[arg(long)]
    pub no_wait: bool,
}

#[derive(Debug, Args)]
pub struct RecoverArgs {
    /// Drop the journals without replaying them, after printing what
    /// rolling them back would have undone
    #[arg(long)]
    pub discard: bool,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Check only the module cache (what `go mod verify` checks)
    #[arg(long)]
    pub modules_only: bool,
    /// Print the mismatches as JSON (schemas/drift.schema.json)
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Print the status as JSON (schemas/status.schema.json)
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct RollbackArgs {
    /// The history entry to return to (its `#` number in `golock history`)
    #[arg(long, value_name = "ENTRY")]
    pub to: Option<u64>,
    /// Do not ask for confirmation
    #[arg(short = 'y', long = "yes")]
    pub yes: bool,
    /// Fail at once if another golock holds the lock
    #[arg(long)]
    pub no_wait: bool,
    /// How many applied golock.toml files to keep under `<root>/lockfiles/`
    #[arg(long, value_name = "N", env = "GOLOCK_KEEP_LOCKFILES", default_value_t = crate::history::DEFAULT_KEEP)]
    pub keep_lockfiles: usize,
}

#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// Print the entries as JSON
    #[arg(long)]
    pub json: bool,
    /// Only the last N entries
    #[arg(short = 'n', value_name = "N")]
    pub n: Option<usize>,
}

#[derive(Debug, Args)]
pub struct LockArgs {
    /// The go.sum to import modules from (default: go.sum beside golock.toml)
    #[arg(long, value_name = "PATH")]
    pub go_sum: Option<PathBuf>,
    /// Allow checksums that are already locked to change
    #[arg(long)]
    pub update: bool,
    /// A go.dev-style release index (JSON, `?mode=json&include=all`): file or URL
    #[arg(long, value_name = "FILE|URL")]
    pub index: Option<String>,
    /// Never use the network: skip HTTP mirrors, refuse an --index URL
    /// (local mirror dirs and index files only)
    #[arg(long)]
    pub offline: bool,
    #[command(flatten)]
    pub http: HttpArgs,
}

#[derive(Debug, Args)]
pub struct HookArgs {
    #[command(subcommand)]
    pub hook: HookCommand,
}

/// The pre-commit hooks (`.pre-commit-hooks.yaml`): each works on the
/// golock.toml beside each changed go.mod, go.sum or golock.toml, the files
/// named or, with none, what git says changed (staged, the pushed range, or
/// every tracked file).
#[derive(Debug, Subcommand)]
pub enum HookCommand {
    /// `check --repo-only` for each golock.toml beside a changed file: 0 in
    /// sync, 2 drift (each line names its golock.toml), 1 error
    Check(HookFiles),
    /// `lock --offline` for each golock.toml beside a changed file: 0
    /// nothing changed, 2 golock.toml rewritten (review and stage it), 1 error
    Lock(HookFiles),
}

#[derive(Debug, Args)]
pub struct HookFiles {
    /// The changed files (go.mod, go.sum, golock.toml; others are ignored;
    /// none: ask git)
    #[arg(value_name = "FILE")]
    pub files: Vec<PathBuf>,
}

/// How golock talks to HTTP(S) mirrors and proxies: one set of flags, for
/// every command that downloads (toolchain archives and modules alike).
#[derive(Debug, Args)]
pub struct HttpArgs {
    /// Extra CA bundle (PEM) for HTTPS mirrors (also: SSL_CERT_FILE)
    #[arg(long, value_name = "FILE")]
    pub cacert: Option<PathBuf>,
    /// Seconds an HTTP connection may stay silent before the try fails
    #[arg(long, value_name = "SECONDS", default_value_t = 60.0)]
    pub http_timeout: f64,
    /// Retries per mirror (with backoff) on connect errors, 5xx and truncation
    #[arg(long, value_name = "N", default_value_t = 3)]
    pub http_retries: u32,
    /// Slowest accepted download, in bytes per second: a file of N bytes
    /// must arrive within 2 x --http-timeout + N / this rate (retries included)
    #[arg(
        long,
        value_name = "BYTES_PER_SEC",
        env = "GOLOCK_HTTP_MIN_RATE",
        default_value_t = crate::fetch::http::DEFAULT_MIN_RATE,
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    pub http_min_rate: u64,
}

impl HttpArgs {
    /// The environment (HTTP(S)_PROXY, NO_PROXY, SSL_CERT_FILE) with these
    /// flags on top: what every download of the command uses.
    pub fn options(&self) -> crate::fetch::HttpOptions {
        let mut opts = crate::fetch::HttpOptions::from_env();
        if let Some(ca) = &self.cacert {
            opts.ca_file = Some(ca.clone());
        }
        opts.read_timeout = std::time::Duration::from_secs_f64(self.http_timeout);
        opts.connect_timeout = opts.read_timeout.min(opts.connect_timeout);
        opts.retries = self.http_retries;
        opts.min_rate = self.http_min_rate;
        opts
    }

    /// The command's one HTTP client, built on its first use.
    pub fn client(&self) -> crate::fetch::Client {
        crate::fetch::Client::new(self.options())
    }
}

#[derive(Debug, Args)]
pub struct BundleArgs {
    /// The bundle to write
    #[arg(short, long, value_name = "FILE")]
    pub out: PathBuf,
    /// Platforms whose Go archive to include (default: this host's); repeatable
    #[arg(long, value_name = "OS-ARCH")]
    pub platform: Vec<String>,
    /// Sign the manifest with this minisign secret key (unencrypted)
    #[arg(long, value_name = "SECRET_KEY")]
    pub sign: Option<PathBuf>,
    /// Module cache to take module files from (default: the lockfile's GOMODCACHE)
    #[arg(long, value_name = "DIR")]
    pub from_cache: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct MirrorArgs {
    /// The mirror directory (created when missing)
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
    /// Take artifacts from this offline bundle (made for this golock.toml)
    #[arg(long, value_name = "FILE")]
    pub bundle: Option<PathBuf>,
    /// Fetch modules from this GOPROXY (file:// URL, dir or http(s):// URL)
    /// instead of [modules] proxies; repeat to try several in order
    #[arg(long, value_name = "URL")]
    pub proxy: Vec<String>,
    /// Take modules from an existing module cache, tried before the proxies
    /// (repeatable)
    #[arg(long, value_name = "DIR")]
    pub from_cache: Vec<PathBuf>,
    /// Remove archives and modules that neither golock.toml nor a --keep
    /// lockfile names
    #[arg(long)]
    pub prune: bool,
    /// With --prune: a lockfile whose artifacts stay (repeatable)
    #[arg(long, value_name = "LOCKFILE", requires = "prune")]
    pub keep: Vec<PathBuf>,
    #[command(flatten)]
    pub http: HttpArgs,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// The repo dir holding go.mod and go.sum (default: current dir)
    #[arg(long, value_name = "DIR")]
    pub repo: Option<PathBuf>,
    /// The Go release to lock, 1.N.P (default: go.mod's toolchain line, else
    /// its go line when that names a release)
    #[arg(long, value_name = "X.Y.Z", value_parser = go_release)]
    pub go_version: Option<String>,
    /// A mirror for [go] mirrors: a URL or a directory holding the Go
    /// archives (repeatable; default: a commented example)
    #[arg(long = "mirror", value_name = "URL|DIR")]
    pub mirrors: Vec<String>,
    /// A shell profile for [profile] files, e.g. ~/.zshrc (repeatable;
    /// default: ~/.profile and ~/.bashrc)
    #[arg(long = "profile", value_name = "FILE")]
    pub profiles: Vec<String>,
}

/// `--go-version`: a Go release, `1.N.P`.
fn go_release(value: &str) -> std::result::Result<String, String> {
    match crate::lockfile::gomod::is_release_version(value) {
        true => Ok(value.to_string()),
        false => Err(format!(
            "expected a Go release 1.N.P, e.g. 1.25.0 (got {value:?})"
        )),
    }
}

#[derive(Debug, Args, Clone, Default)]
pub struct PlanFlags {
    /// Fail unless golock.toml is complete for this host: an archive for its
    /// platform, and every module of the go.sum beside it locked with the
    /// same hashes (golock plan/apply never write golock.toml either way)
    #[arg(long, env = "GOLOCK_LOCKED", value_parser = clap::builder::FalseyValueParser::new())]
    pub locked: bool,
    /// Also remove toolchains golock.toml no longer names
    #[arg(long)]
    pub prune: bool,
    /// Read the Go archive from this file instead of the mirrors
    #[arg(long, value_name = "PATH")]
    pub archive: Option<PathBuf>,
    /// Fetch the Go archive from this mirror (dir, file:// or http(s):// URL)
    /// instead of [go] mirrors; repeat to try several in order
    #[arg(long, value_name = "URL|DIR", conflicts_with = "archive")]
    pub mirror: Vec<String>,
    /// Overwrite a managed block that was edited by hand
    #[arg(long)]
    pub force: bool,
    /// Also remove cached modules golock.toml does not lock
    #[arg(long)]
    pub prune_modules: bool,
    /// Fetch modules from this GOPROXY (file:// URL, dir or http(s):// URL)
    /// instead of [modules] proxies; repeat to try several in order
    #[arg(long, value_name = "URL")]
    pub proxy: Vec<String>,
    /// Take modules from an existing module cache (e.g. a connected
    /// machine's ~/go/pkg/mod), tried before the proxies
    #[arg(long, value_name = "DIR")]
    pub from_cache: Vec<PathBuf>,
    /// Rehash the installed toolchain and the locked modules as `verify`
    /// does, and reinstall whatever is damaged
    #[arg(long)]
    pub repair: bool,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    #[command(flatten)]
    pub flags: PlanFlags,
    /// Print the plan as JSON (stable; see README)
    #[arg(long)]
    pub json: bool,
    /// Also save the plan as JSON, for `apply --plan`
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Exit 0 when there are no changes, 2 when there are, 1 on error
    #[arg(long)]
    pub detailed_exitcode: bool,
    /// Plan as `apply --bundle FILE` would (the bundle is verified in a temp dir)
    #[arg(long, value_name = "FILE", conflicts_with_all = ["archive", "mirror", "proxy", "from_cache"])]
    pub bundle: Option<PathBuf>,
    /// Also ask HTTP mirrors and proxies whether they have what the plan
    /// fetches (one HEAD request per artifact); without it only local
    /// sources are checked
    #[arg(long)]
    pub refresh: bool,
    #[command(flatten)]
    pub http: HttpArgs,
}

#[derive(Debug, Args)]
pub struct ApplyArgs {
    #[command(flatten)]
    pub flags: PlanFlags,
    /// Do not ask for confirmation
    #[arg(short = 'y', long = "yes")]
    pub yes: bool,
    /// Execute a plan saved by `plan --out`; refused if the host changed since
    #[arg(long, value_name = "FILE", conflicts_with_all = ["prune", "archive", "mirror", "proxy", "from_cache", "force"])]
    pub plan: Option<PathBuf>,
    /// Fail at once if another golock holds the lock
    #[arg(long)]
    pub no_wait: bool,
    /// Take every artifact from this offline bundle (verified first)
    #[arg(long, value_name = "FILE", conflicts_with_all = ["plan", "archive", "mirror", "proxy", "from_cache"])]
    pub bundle: Option<PathBuf>,
    /// Cap on the bytes a Go archive may unpack to
    #[arg(long, value_name = "BYTES", default_value_t = 1 << 30)]
    pub max_unpacked_bytes: u64,
    /// Cap on the number of entries in a Go archive
    #[arg(long, value_name = "N", default_value_t = 100_000)]
    pub max_entries: u64,
    #[command(flatten)]
    pub http: HttpArgs,
    /// `full`: wait until the toolchain's and modules' data is on disk
    /// before installing them. `deferred`: leave it to the kernel and rehash
    /// them after a reboot (falls back to `full` where reboots cannot be
    /// told apart)
    #[arg(long, value_enum, env = "GOLOCK_SYNC", default_value = "deferred")]
    pub sync: SyncArg,
    /// How many applied golock.toml files to keep under `<root>/lockfiles/`
    /// (for `history` and `rollback`)
    #[arg(long, value_name = "N", env = "GOLOCK_KEEP_LOCKFILES", default_value_t = crate::history::DEFAULT_KEEP)]
    pub keep_lockfiles: usize,
}

/// `--sync` as clap parses it; see [`crate::apply::SyncMode`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum SyncArg {
    /// Wait until the data is on disk before installing it
    Full,
    /// Let the kernel write the data back; re-verify after a reboot
    Deferred,
}

impl From<SyncArg> for crate::apply::SyncMode {
    fn from(arg: SyncArg) -> Self {
        match arg {
            SyncArg::Full => crate::apply::SyncMode::Full,
            SyncArg::Deferred => crate::apply::SyncMode::Deferred,
        }
    }
}

/// `check`'s flags: plan's, described by what they do to the verdict.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Only compare golock.toml with go.mod/go.sum (for pre-commit hooks)
    #[arg(long)]
    pub repo_only: bool,
    /// Fail (exit 1) unless golock.toml is complete for this host, as
    /// `plan --locked` does
    #[arg(long, env = "GOLOCK_LOCKED", value_parser = clap::builder::FalseyValueParser::new())]
    pub locked: bool,
    /// Also count toolchains golock.toml no longer names as drift
    #[arg(long)]
    pub prune: bool,
    /// Also count cached modules golock.toml does not lock as drift
    #[arg(long)]
    pub prune_modules: bool,
    /// Plan with this Go archive instead of the mirrors, as `plan` does
    /// (where apply would get it from does not change the verdict)
    #[arg(long, value_name = "PATH")]
    pub archive: Option<PathBuf>,
    /// Plan with this GOPROXY, as `plan` does (repeatable; a bad URL is an
    /// error, the verdict does not depend on it)
    #[arg(long, value_name = "URL")]
    pub proxy: Vec<String>,
    /// Plan with this module cache as a source, as `plan` does (repeatable)
    #[arg(long, value_name = "DIR")]
    pub from_cache: Vec<PathBuf>,
    /// No effect, accepted as plan's flag: check always reports a block
    /// edited by hand as drift
    #[arg(long)]
    pub force: bool,
    /// Print the drift as JSON (schemas/drift.schema.json)
    #[arg(long)]
    pub json: bool,
}

impl CheckArgs {
    /// The plan the host check compares with: an edited block is drift to
    /// report, not a reason to stop, so `force` is always on.
    pub fn plan_flags(&self) -> PlanFlags {
        PlanFlags {
            locked: self.locked,
            prune: self.prune,
            archive: self.archive.clone(),
            mirror: Vec::new(),
            force: true,
            prune_modules: self.prune_modules,
            proxy: self.proxy.clone(),
            from_cache: self.from_cache.clone(),
            repair: false,
        }
    }
}
