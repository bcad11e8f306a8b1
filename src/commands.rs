//! What each command does, from parsed arguments to an exit code: build the
//! context (paths), recover an interrupted apply (apply and recover only;
//! the read-only commands report it), then run the pipeline
//! lockfile → host → plan → apply.

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};

use crate::apply;
use crate::cli::{
    ApplyArgs, BundleArgs, CheckArgs, Cli, ColorChoice, Command, Global, InitArgs, LockArgs,
    PlanArgs, PlanFlags, RecoverArgs,
};
use crate::durability;
use crate::fetch;
use crate::fsx::{self, Context as _};
use crate::host::{self, HostEnv, Observed};
use crate::layout::Layout;
use crate::lockfile::{self, Lockfile};
use crate::locking;
use crate::plan::{self, ArchiveSource, Plan, PlanOptions};
use crate::repo;
use crate::txn::{self, HostLock, Wait};

/// Exit codes shared by every command.
pub mod exit {
    pub const OK: u8 = 0;
    pub const ERROR: u8 = 1;
    /// `plan --detailed-exitcode` with changes; `check` with drift.
    pub const CHANGES: u8 = 2;
}

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
    #[error("the saved plan {} was made for another lockfile or golock version", path.display())]
    #[diagnostic(code(golock::plan_mismatch), help("run `golock plan --out` again"))]
    PlanMismatch { path: PathBuf },
    #[error("the saved plan {} is stale: the host changed since it was made", path.display())]
    #[diagnostic(
        code(golock::stale_plan),
        help("run `golock plan --out` again and review the new plan")
    )]
    StalePlan { path: PathBuf },
    #[error("{} is not a golock plan: {source}", path.display())]
    #[diagnostic(code(golock::bad_plan))]
    BadPlan {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("the locked checksum of {what} would change")]
    #[diagnostic(
        code(golock::checksum_changed),
        help(
            "golock never rewrites a locked checksum silently; pass --update if the change is intended"
        )
    )]
    ChecksumChanged { what: String },
    #[error("{} already exists", path.display())]
    #[diagnostic(
        code(golock::exists),
        help("edit it, or run `golock lock` to refresh its checksums")
    )]
    Exists { path: PathBuf },
    #[error("{} has no go or toolchain line", path.display())]
    #[diagnostic(code(golock::no_go_version), help("add `go 1.N.P` to go.mod"))]
    NoGoVersion { path: PathBuf },
    #[error(transparent)]
    #[diagnostic(transparent)]
    Repo(#[from] repo::RepoError),
    #[error(transparent)]
    #[diagnostic(transparent)]
    Locking(#[from] locking::LockingError),
    #[error(transparent)]
    #[diagnostic(transparent)]
    Edit(#[from] lockfile::edit::EditError),
    #[error(transparent)]
    #[diagnostic(transparent)]
    CacheLocation(#[from] host::CacheLocationError),
    #[error(transparent)]
    #[diagnostic(transparent)]
    Bundle(#[from] crate::bundle::BundleError),
    #[error("cannot put {what} in the bundle: {why}")]
    #[diagnostic(
        code(golock::bundle_source),
        help(
            "run `golock apply` on this machine first (it fills the caches), or pass --from-cache"
        )
    )]
    BundleSource { what: String, why: String },
    #[error("golock.toml is incomplete for this host (--locked):\n  {problems}")]
    #[diagnostic(
        code(golock::locked),
        help("run `golock lock` where the sources are reachable and commit golock.toml")
    )]
    Incomplete { problems: String },
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

type Result<T> = std::result::Result<T, CommandError>;

/// Paths and output settings every command shares.
pub struct Context {
    pub layout: Layout,
    pub lockfile: Option<PathBuf>,
    pub cwd: PathBuf,
    pub env: HostEnv,
    pub quiet: bool,
    pub verbose: bool,
}

impl Context {
    pub fn from_global(g: &Global) -> Result<Context> {
        let cwd = std::env::current_dir().ctx("read current directory", Path::new("."))?;
        let home = match &g.home {
            Some(h) => cwd.join(h),
            None => std::env::var_os("HOME")
                .filter(|h| !h.is_empty())
                .map(|h| cwd.join(h))
                .ok_or(CommandError::NoHome)?,
        };
        let root = match &g.root {
            Some(r) => cwd.join(r),
            None => default_root(&home),
        };
        Ok(Context {
            layout: Layout::new(root, home),
            lockfile: g.lockfile.as_ref().map(|l| cwd.join(l)),
            cwd,
            env: HostEnv::from_process(),
            quiet: g.quiet,
            verbose: g.verbose,
        })
    }

    fn load_lockfile(&self) -> Result<Lockfile> {
        let path = match &self.lockfile {
            Some(p) => p.clone(),
            None => lockfile::find_upward(&self.cwd).ok_or_else(|| CommandError::NoLockfile {
                cwd: self.cwd.clone(),
            })?,
        };
        Ok(lockfile::load(&path, &self.layout.home)?)
    }

    fn say(&self, msg: impl std::fmt::Display) {
        if !self.quiet {
            eprintln!("{msg}");
        }
    }
}

fn default_root(home: &Path) -> PathBuf {
    match std::env::var_os("XDG_DATA_HOME").map(PathBuf::from) {
        Some(d) if d.is_absolute() => d.join("golock"),
        _ => home.join(".local/share/golock"),
    }
}

pub fn set_color(choice: ColorChoice) {
    match choice {
        ColorChoice::Auto => {}
        ColorChoice::Always => {
            console::set_colors_enabled(true);
            console::set_colors_enabled_stderr(true);
        }
        ColorChoice::Never => {
            console::set_colors_enabled(false);
            console::set_colors_enabled_stderr(false);
        }
    }
}

pub fn run(cli: &Cli) -> Result<u8> {
    set_color(cli.global.color);
    let ctx = Context::from_global(&cli.global)?;
    match &cli.command {
        Command::Recover(args) => recover(&ctx, args),
        Command::Plan(args) => {
            refuse_pending(&ctx)?;
            plan_cmd(&ctx, args)
        }
        Command::Apply(args) => apply_cmd(&ctx, args),
        Command::Check(args) => check(&ctx, args),
        Command::Lock(args) => lock_cmd(&ctx, args),
        Command::Init(args) => init_cmd(&ctx, args),
        Command::Bundle(args) => bundle_cmd(&ctx, args),
        Command::Verify(args) => verify_cmd(&ctx, args.modules_only),
    }
}

/// What this host's golock manages, for checking a journal before replay:
/// the data dir, and with a loadable lockfile GOMODCACHE, the profile files
/// (and where a symlinked one really is), the go env file and `[go] link`.
/// Without a lockfile only the data dir: a journal naming anything else is
/// kept until recover runs with the lockfile the apply used.
fn scope(ctx: &Context) -> txn::Scope {
    let mut scope = txn::Scope::data_dir_only(&ctx.layout);
    let Ok(lock) = ctx.load_lockfile() else {
        return scope;
    };
    if let Ok(cache) = host::gomodcache(&lock, &ctx.layout.home) {
        scope.trees.push(cache);
    }
    // Where apply really writes (host::real_location, dangling links too),
    // only while that stays inside HOME, as observing the host requires.
    let home = host::real_location(&ctx.layout.home);
    let listed = lock
        .profile
        .files
        .iter()
        .cloned()
        .chain(ctx.env.goenv_file(&ctx.layout.home));
    for file in listed {
        let real = host::real_location(&file);
        if real != file && real.starts_with(&home) {
            scope.files.push(real);
        }
        scope.files.push(file);
    }
    scope.links.extend(lock.go.link.clone());
    scope
}

/// Read-only commands never replay a journal; they say it is there.
fn pending_lines(ctx: &Context) -> Result<Vec<String>> {
    Ok(txn::pending(&ctx.layout)?
        .iter()
        .map(ToString::to_string)
        .collect())
}

fn refuse_pending(ctx: &Context) -> Result<()> {
    match pending_lines(ctx)?.into_iter().next() {
        Some(pending) => Err(CommandError::Pending { pending }),
        None => Ok(()),
    }
}

/// Recover holding the lock; an error when a journal had to be kept.
fn recover_holding_lock(ctx: &Context) -> Result<()> {
    let recovered = txn::recover(&ctx.layout, &scope(ctx))?;
    report_recovered(ctx, &recovered);
    report_settled(
        ctx,
        durability::settle_holding_lock(&ctx.layout, ctx.env.boot_id.as_deref()),
    );
    let count = recovered.iter().filter(|r| r.journal_kept()).count();
    if count > 0 {
        return Err(CommandError::RecoveryIncomplete { count });
    }
    Ok(())
}

fn report_settled(
    ctx: &Context,
    settled: std::result::Result<Vec<String>, durability::SettleError>,
) {
    match settled {
        Ok(names) => {
            for name in names {
                ctx.say(format!("golock: {name} is intact after the reboot"));
            }
        }
        // Only saves work: the host observation rechecks until it is recorded.
        Err(e) => ctx.say(format!("golock: warning: {e}")),
    }
}

fn report_recovered(ctx: &Context, recovered: &[txn::Recovered]) {
    let list = |head: &str, items: &[String]| {
        for what in items {
            eprintln!("  {head}{what}");
        }
    };
    for r in recovered {
        match &r.verdict {
            txn::Verdict::RolledForward => {
                ctx.say(format!("golock: finished committed apply {}", r.id));
            }
            txn::Verdict::RolledBack { undone, kept } => {
                ctx.say(format!("golock: rolled back interrupted apply {}", r.id));
                if !ctx.quiet {
                    list("", undone);
                    list("", kept);
                }
            }
            // Always shown, even with -q: the journal stays and needs a person.
            txn::Verdict::Refused { problems } => {
                eprintln!(
                    "golock: refused the journal {}: nothing was replayed, it is kept",
                    r.journal.display()
                );
                list("", problems);
            }
            txn::Verdict::Incomplete {
                undone,
                kept,
                not_undone,
            } => {
                eprintln!(
                    "golock: partly rolled back interrupted apply {}; the journal {} is kept",
                    r.id,
                    r.journal.display()
                );
                list("", undone);
                list("", kept);
                list("could not undo: ", not_undone);
            }
        }
    }
}

fn recover(ctx: &Context, args: &RecoverArgs) -> Result<u8> {
    let _lock = HostLock::acquire(&ctx.layout.lock_file(), Wait::Block, |pid| {
        waiting(ctx, pid)
    })?;
    if args.discard {
        return discard(ctx);
    }
    if txn::pending(&ctx.layout)?.is_empty() {
        ctx.say("Nothing to recover.");
    }
    recover_holding_lock(ctx)?;
    Ok(exit::OK)
}

fn discard(ctx: &Context) -> Result<u8> {
    let dropped = txn::discard(&ctx.layout, &scope(ctx))?;
    if dropped.is_empty() {
        ctx.say("Nothing to discard.");
    }
    for d in &dropped {
        println!("discarded {} without replaying it", d.journal.display());
        for what in &d.would_undo {
            println!("  would have undone: {what}");
        }
        for why in &d.problems {
            println!("  refused because: {why}");
        }
    }
    Ok(exit::OK)
}

fn waiting(ctx: &Context, holder: &str) {
    ctx.say(format!(
        "golock: waiting for another golock (pid {holder}) to release {}…",
        ctx.layout.lock_file().display()
    ));
}

fn options(flags: &PlanFlags, ctx: &Context) -> Result<PlanOptions> {
    Ok(PlanOptions {
        prune: flags.prune,
        force: flags.force,
        archive: flags.archive.as_ref().map(|a| ctx.cwd.join(a)),
        platform: None,
        prune_modules: flags.prune_modules,
        module_sources: module_sources(flags, ctx)?,
    })
}

/// `--from-cache` dirs (their `cache/download` is a GOPROXY tree), then
/// `--proxy` sources; `None` keeps golock.toml's `[modules] proxies`.
fn module_sources(flags: &PlanFlags, ctx: &Context) -> Result<Option<Vec<ArchiveSource>>> {
    if flags.proxy.is_empty() && flags.from_cache.is_empty() {
        return Ok(None);
    }
    let mut sources: Vec<ArchiveSource> = flags
        .from_cache
        .iter()
        .map(|dir| ArchiveSource::File {
            path: ctx.cwd.join(dir).join("cache/download"),
        })
        .collect();
    for p in &flags.proxy {
        sources.push(match fetch::ModuleSource::parse(p, &ctx.cwd)? {
            fetch::ModuleSource::Dir(path) => ArchiveSource::File { path },
            fetch::ModuleSource::Http(url) => ArchiveSource::Http { url },
        });
    }
    Ok(Some(sources))
}

fn compute_plan(ctx: &Context, opts: &PlanOptions) -> Result<(Lockfile, Observed, Plan)> {
    let lock = ctx.load_lockfile()?;
    let observe = host::ObserveOptions {
        list_unlocked_modules: opts.prune_modules,
    };
    let observed = host::observe(&lock, &ctx.layout, &ctx.env, &observe)?;
    let plan = plan::plan(&lock, &observed, &ctx.layout, opts)?;
    Ok((lock, observed, plan))
}

/// `--locked`: golock.toml must already say everything this host needs.
fn ensure_locked(ctx: &Context, flags: &PlanFlags) -> Result<()> {
    if !flags.locked {
        return Ok(());
    }
    let lock = ctx.load_lockfile()?;
    let mut missing: Vec<String> = Vec::new();
    match lockfile::Platform::host() {
        Some(p) if lock.go.archives.contains_key(&p) => {}
        Some(p) => missing.push(format!("no [go.archives] entry for {p}")),
        None => missing.push("this host's platform is unknown".into()),
    }
    missing.extend(
        repo::drift(&lock)?
            .into_iter()
            .filter(|d| !matches!(d, repo::RepoDrift::GoTooOld { .. }))
            .map(|d| d.to_string()),
    );
    if missing.is_empty() {
        return Ok(());
    }
    Err(CommandError::Incomplete {
        problems: missing.join("\n  "),
    })
}

fn plan_cmd(ctx: &Context, args: &PlanArgs) -> Result<u8> {
    ensure_locked(ctx, &args.flags)?;
    let mut opts = options(&args.flags, ctx)?;
    // Outside golock's data dir: planning changes nothing on the host.
    let scratch = tempfile::tempdir().ctx("create temp dir", Path::new("/tmp"))?;
    if let Some(bundle) = &args.bundle {
        unpack_bundle(ctx, bundle, &scratch.path().join("bundle"), &mut opts)?;
    }
    let (_, observed, plan) = compute_plan(ctx, &opts)?;
    host::check_writable(&plan, &ctx.layout).map_err(host::HostError::from)?;
    if args.json {
        println!("{}", plan_json(&plan));
    } else if !ctx.quiet {
        print_plan(ctx, &plan, &observed);
    }
    if let Some(out) = &args.out {
        std::fs::write(out, plan_json(&plan) + "\n").ctx("write plan", out)?;
        ctx.say(format!(
            "Saved the plan to {}; run `golock apply --plan {}`.",
            out.display(),
            out.display()
        ));
    }
    Ok(if args.detailed_exitcode && !plan.is_empty() {
        exit::CHANGES
    } else {
        exit::OK
    })
}

fn plan_json(plan: &Plan) -> String {
    serde_json::to_string_pretty(plan).unwrap_or_default()
}

fn print_plan(ctx: &Context, plan: &Plan, _observed: &Observed) {
    for warning in &plan.warnings {
        ctx.say(format!("golock: warning: {warning}"));
    }
    if ctx.verbose {
        for item in &plan.in_place {
            println!("  = {item}");
        }
    }
    print!("{plan}");
}

fn apply_cmd(ctx: &Context, args: &ApplyArgs) -> Result<u8> {
    ensure_locked(ctx, &args.flags)?;
    ctx.load_lockfile()?; // a bad lockfile is reported before anything is created
    let wait = if args.no_wait { Wait::No } else { Wait::Block };
    let _lock = HostLock::acquire(&ctx.layout.lock_file(), wait, |pid| waiting(ctx, pid))?;
    recover_holding_lock(ctx)?;
    let mut opts = options(&args.flags, ctx)?;
    let unpacked = match &args.bundle {
        Some(bundle) => {
            let dir = ctx
                .layout
                .staging_dir()
                .join(format!("bundle-{}", std::process::id()));
            if let Err(refused) = unpack_bundle(ctx, bundle, &dir, &mut opts) {
                // A refused bundle leaves nothing of itself in staging.
                fsx::remove_tree_opt(&dir)?;
                return Err(refused);
            }
            Some(dir)
        }
        None => None,
    };
    let result = apply_planned(ctx, args, &opts);
    if let Some(dir) = unpacked {
        fsx::remove_tree_opt(&dir)?;
    }
    result
}

/// Verify a whole bundle into staging, then point the plan's sources at it.
fn unpack_bundle(ctx: &Context, bundle: &Path, dir: &Path, opts: &mut PlanOptions) -> Result<()> {
    let lock = ctx.load_lockfile()?;
    fsx::remove_tree_opt(dir)?;
    fsx::create_dir_all(fsx::parent_of(dir))?;
    crate::bundle::unpack_verified(
        &ctx.cwd.join(bundle),
        dir,
        &hex::encode(lock.sha256),
        &lock.trusted_keys,
        &crate::bundle::Limits::default(),
    )?;
    if let Some(spec) = lockfile::Platform::host().and_then(|p| lock.go.archives.get(&p)) {
        opts.archive = Some(dir.join("go").join(&spec.file));
    }
    opts.module_sources = Some(vec![ArchiveSource::File {
        path: dir.join("modules"),
    }]);
    Ok(())
}

fn apply_planned(ctx: &Context, args: &ApplyArgs, opts: &PlanOptions) -> Result<u8> {
    let (lock, observed, fresh) = compute_plan(ctx, opts)?;
    let plan = match &args.plan {
        Some(path) => load_saved_plan(path, &lock, &observed)?,
        None => fresh,
    };
    if plan.is_empty() {
        ctx.say(plan::NO_CHANGES_MESSAGE);
        return Ok(exit::OK);
    }
    if !ctx.quiet {
        print_plan(ctx, &plan, &observed);
    }
    // Before the first mutation: a path golock cannot write fails here, not halfway.
    host::check_writable(&plan, &ctx.layout).map_err(host::HostError::from)?;
    if !args.yes && !confirmed()? {
        return Err(CommandError::Cancelled);
    }
    apply::execute(
        &plan,
        &ctx.layout,
        &apply::Options {
            progress_bar: !ctx.quiet,
            limits: crate::archive::Limits {
                max_unpacked_bytes: args.max_unpacked_bytes,
                max_entries: args.max_entries,
            },
            http: http_options(args),
            sync: args.sync.effective(ctx.env.boot_id.as_deref()),
            boot_id: ctx.env.boot_id.clone(),
        },
    )?;
    let s = plan.summary;
    ctx.say(format!(
        "Apply complete! {} installed, {} changed, {} removed.",
        s.install, s.change, s.remove
    ));
    Ok(exit::OK)
}

fn load_saved_plan(path: &Path, lock: &Lockfile, observed: &Observed) -> Result<Plan> {
    let bytes = std::fs::read(path).ctx("read plan", path)?;
    let plan: Plan = serde_json::from_slice(&bytes).map_err(|source| CommandError::BadPlan {
        path: path.to_path_buf(),
        source,
    })?;
    if plan.format_version != plan::FORMAT_VERSION
        || plan.lockfile_sha256 != hex::encode(lock.sha256)
    {
        return Err(CommandError::PlanMismatch {
            path: path.to_path_buf(),
        });
    }
    if plan.observed_fingerprint != observed.fingerprint() {
        return Err(CommandError::StalePlan {
            path: path.to_path_buf(),
        });
    }
    Ok(plan)
}

/// HTTP settings, built once for every download of the apply (toolchain
/// archives and module files alike): the environment (proxies,
/// SSL_CERT_FILE), `--cacert`, `--http-timeout`, `--http-retries` and
/// `--http-min-rate`.
fn http_options(args: &ApplyArgs) -> fetch::HttpOptions {
    let mut opts = fetch::HttpOptions::from_env();
    if let Some(ca) = &args.cacert {
        opts.ca_file = Some(ca.clone());
    }
    opts.read_timeout = std::time::Duration::from_secs_f64(args.http_timeout);
    opts.connect_timeout = opts.read_timeout.min(opts.connect_timeout);
    opts.retries = args.http_retries;
    opts.min_rate = args.http_min_rate;
    opts
}

/// Ask like terraform when a person is at the terminal; scripts and CI
/// (stdin not a terminal) are not asked.
fn confirmed() -> Result<bool> {
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        return Ok(true);
    }
    eprint!("\nDo you want to perform these actions? Only 'yes' will be accepted: ");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    stdin
        .lock()
        .read_line(&mut answer)
        .ctx("read answer", Path::new("<stdin>"))?;
    Ok(answer.trim() == "yes")
}

fn check(ctx: &Context, args: &CheckArgs) -> Result<u8> {
    ensure_locked(ctx, &args.flags)?;
    let lock = ctx.load_lockfile()?;
    let mut drifted: Vec<String> = repo::drift(&lock)?
        .into_iter()
        .map(|d| format!("repo: {d}"))
        .collect();
    if !args.repo_only {
        drifted.extend(
            pending_lines(ctx)?
                .into_iter()
                .map(|p| format!("host: {p}")),
        );
        let mut opts = options(&args.flags, ctx)?;
        opts.force = true; // an edited block is drift to report, not a reason to stop
        let (_, _, plan) = compute_plan(ctx, &opts)?;
        drifted.extend(
            plan.actions
                .iter()
                .map(|a| format!("host: {}", a.headline())),
        );
    }
    if drifted.is_empty() {
        ctx.say(if args.repo_only {
            "In sync: golock.toml matches go.mod and go.sum."
        } else {
            "In sync: the host and the repo match golock.toml."
        });
        return Ok(exit::OK);
    }
    for line in &drifted {
        println!("drift: {line}");
    }
    ctx.say(format!("{} drifted item(s).", drifted.len()));
    Ok(exit::CHANGES)
}

fn lock_cmd(ctx: &Context, args: &LockArgs) -> Result<u8> {
    let lock = ctx.load_lockfile()?;
    let text = std::fs::read_to_string(&lock.path).ctx("read", &lock.path)?;
    let mut editor = lockfile::edit::Editor::parse(&text)?;
    let go_sum = match &args.go_sum {
        Some(p) => Some(ctx.cwd.join(p)),
        None => Some(lock.dir.join("go.sum")).filter(|p| p.exists()),
    };
    let mut changes = Vec::new();
    if let Some(go_sum) = go_sum {
        let modules = repo::read_go_sum(&go_sum)?;
        for (key, hashes) in &modules {
            match lock.modules.require.get(key) {
                Some(old) if old != hashes && !args.update => {
                    return Err(CommandError::ChecksumChanged {
                        what: key.to_string(),
                    });
                }
                Some(old) if old != hashes => changes.push(format!("~ {key}")),
                Some(_) => {}
                None => changes.push(format!("+ {key}")),
            }
        }
        for key in lock
            .modules
            .require
            .keys()
            .filter(|k| !modules.contains_key(*k))
        {
            changes.push(format!("- {key}"));
        }
        editor.set_modules(&modules)?;
    }
    let index = match &args.index {
        Some(what) => Some(locking::load_index(what, &ctx.cwd)?),
        None => None,
    };
    let (found, missing) = locking::find_all(&lock, index.as_deref())?;
    for f in found {
        match lock.go.archives.get(&f.platform) {
            Some(old) if hex::encode(old.sha256) != f.sha256 && !args.update => {
                return Err(CommandError::ChecksumChanged { what: f.file });
            }
            Some(old)
                if hex::encode(old.sha256) == f.sha256 && (f.size == 0 || old.size == f.size) =>
            {
                continue;
            }
            _ => changes.push(format!("~ {}: {} (from {})", f.platform, f.file, f.from)),
        }
        editor.set_archive(f.platform, &f.file, &f.sha256, f.size)?;
    }
    for platform in missing
        .iter()
        .filter(|p| !lock.go.archives.contains_key(*p))
    {
        ctx.say(format!(
            "warning: no checksum found for {platform} (no index entry, SHA256SUMS or archive in the mirrors)"
        ));
    }
    let new_text = editor.finish();
    if new_text == text {
        ctx.say("golock.toml is up to date.");
        return Ok(exit::OK);
    }
    lockfile::parse(&new_text, &lock.path, &ctx.layout.home)?;
    fsx::replace_file(&lock.path, new_text.as_bytes())?;
    for c in &changes {
        ctx.say(c);
    }
    ctx.say(format!("Updated {}.", lock.path.display()));
    Ok(exit::OK)
}

fn init_cmd(ctx: &Context, args: &InitArgs) -> Result<u8> {
    let repo_dir = args
        .repo
        .as_ref()
        .map_or(ctx.cwd.clone(), |r| ctx.cwd.join(r));
    let target = ctx
        .lockfile
        .clone()
        .unwrap_or_else(|| repo_dir.join(lockfile::FILE_NAME));
    if target.exists() {
        return Err(CommandError::Exists { path: target });
    }
    let go_mod_path = repo_dir.join("go.mod");
    let go_mod = std::fs::read_to_string(&go_mod_path).ctx("read", &go_mod_path)?;
    let version = repo::required_go(&go_mod).ok_or(CommandError::NoGoVersion {
        path: go_mod_path.clone(),
    })?;
    let mut text = format!(
        "# Written by `golock init` from go.mod and go.sum. Add [go] mirrors and\n# run `golock lock` to record the Go archive checksums.\nschema = 1\n\n[go]\nversion = \"{version}\"\nmirrors = []\n\n[go.archives]\n\n[env]\nGOTOOLCHAIN = \"local\"\n"
    );
    let go_sum = repo_dir.join("go.sum");
    if go_sum.exists() {
        let mut editor = lockfile::edit::Editor::parse(&text)?;
        editor.set_modules(&repo::read_go_sum(&go_sum)?)?;
        text = editor.finish();
    }
    lockfile::parse(&text, &target, &ctx.layout.home)?;
    fsx::replace_file(&target, text.as_bytes())?;
    ctx.say(format!("Wrote {}.", target.display()));
    Ok(exit::OK)
}

fn bundle_cmd(ctx: &Context, args: &BundleArgs) -> Result<u8> {
    let lock = ctx.load_lockfile()?;
    let bytes = std::fs::read(&lock.path).ctx("read", &lock.path)?;
    let out = ctx.cwd.join(&args.out);
    let mut writer = crate::bundle::BundleWriter::create(&out, &bytes)?;
    for platform in bundle_platforms(args)? {
        let spec = lock
            .go
            .archives
            .get(&platform)
            .ok_or_else(|| CommandError::BundleSource {
                what: platform.to_string(),
                why: "golock.toml has no archive for it".into(),
            })?;
        let path = local_archive(&lock, &ctx.layout, &spec.file, &hex::encode(spec.sha256))?;
        writer.add_file(&format!("go/{}", spec.file), &path)?;
    }
    let cache = match &args.from_cache {
        Some(dir) => ctx.cwd.join(dir),
        None => host::gomodcache(&lock, &ctx.layout.home)?,
    };
    for (member, path) in module_members(&lock, &cache)? {
        writer.add_file(&member, &path)?;
    }
    let key = match &args.sign {
        Some(p) => Some(crate::bundle::SecretKeyFile::load(&ctx.cwd.join(p), None)?),
        None => None,
    };
    let manifest = writer.finish(key.as_ref())?;
    ctx.say(format!(
        "Wrote {} ({} members, {} bytes).",
        out.display(),
        manifest.members.len(),
        manifest.total_size()
    ));
    Ok(exit::OK)
}

fn bundle_platforms(args: &BundleArgs) -> Result<Vec<lockfile::Platform>> {
    if args.platform.is_empty() {
        return Ok(lockfile::Platform::host().into_iter().collect());
    }
    args.platform
        .iter()
        .map(|p| {
            p.parse().map_err(|_| CommandError::BundleSource {
                what: p.clone(),
                why: "not a known os-arch platform".into(),
            })
        })
        .collect()
}

/// A local copy of an archive whose sha256 matches: golock's download
/// cache, else a mirror directory.
fn local_archive(lock: &Lockfile, layout: &Layout, file: &str, sha256: &str) -> Result<PathBuf> {
    let candidates = std::iter::once(layout.archive_cache(sha256)).chain(
        lock.go.mirrors.iter().filter_map(|m| match m {
            lockfile::Source::Dir(d) => Some(d.join(file)),
            lockfile::Source::Http(_) => None,
        }),
    );
    for path in candidates.filter(|p| p.is_file()) {
        if fsx::sha256_file(&path)?.0 == sha256 {
            return Ok(path);
        }
    }
    Err(CommandError::BundleSource {
        what: file.to_string(),
        why: "no verified copy in golock's cache or the mirror directories".into(),
    })
}

/// Each locked module's `.mod` (and `.info` and `.zip` when its zip is
/// locked), from the module cache or a proxy directory, checked against the lock.
fn module_members(lock: &Lockfile, cache: &Path) -> Result<Vec<(String, PathBuf)>> {
    let mut roots = vec![cache.join("cache/download")];
    roots.extend(lock.modules.proxies.iter().filter_map(|s| match s {
        lockfile::Source::Dir(d) => Some(d.clone()),
        lockfile::Source::Http(_) => None,
    }));
    let mut members = Vec::new();
    for (key, hashes) in &lock.modules.require {
        let bad = |why: String| CommandError::BundleSource {
            what: key.to_string(),
            why,
        };
        let esc_path = crate::modcache::escape_path(&key.path).map_err(|e| bad(e.to_string()))?;
        let esc_version =
            crate::modcache::escape_version(&key.version).map_err(|e| bad(e.to_string()))?;
        let exts: &[&str] = if hashes.zip.is_some() {
            &["mod", "info", "zip"]
        } else {
            &["mod"]
        };
        for ext in exts {
            let rel = format!("{esc_path}/@v/{esc_version}.{ext}");
            let path = roots
                .iter()
                .map(|r| r.join(&rel))
                .find(|p| p.is_file())
                .ok_or_else(|| bad(format!("{rel} is in no module cache or proxy directory")))?;
            check_module_file(&path, ext, hashes).map_err(bad)?;
            members.push((format!("modules/{rel}"), path));
        }
    }
    Ok(members)
}

fn check_module_file(
    path: &Path,
    ext: &str,
    hashes: &lockfile::ModuleHashes,
) -> std::result::Result<(), String> {
    let got = match ext {
        "mod" => crate::modcache::hash_go_mod(&std::fs::read(path).map_err(|e| e.to_string())?),
        "zip" => crate::modcache::hash_zip(path).map_err(|e| e.to_string())?,
        _ => return Ok(()),
    };
    let want = if ext == "mod" {
        Some(&hashes.module)
    } else {
        hashes.zip.as_ref()
    };
    if Some(&got) != want {
        return Err(format!(
            "{} does not match golock.toml ({got})",
            path.display()
        ));
    }
    Ok(())
}

/// A pending journal is a mismatch: the host is between two states, so
/// what verify checks may be right by accident; the checks still run.
fn verify_cmd(ctx: &Context, modules_only: bool) -> Result<u8> {
    let lock = ctx.load_lockfile()?;
    let cache = host::gomodcache(&lock, &ctx.layout.home)?;
    let mut problems = pending_lines(ctx)?;
    problems.extend(crate::verify::modules(&lock, &cache));
    if !modules_only {
        problems.extend(crate::verify::toolchain(&lock, &ctx.layout));
    }
    if problems.is_empty() {
        ctx.say(format!(
            "Verified {} module(s){}.",
            lock.modules.require.len(),
            if modules_only {
                ""
            } else {
                " and the installed toolchain"
            }
        ));
        return Ok(exit::OK);
    }
    for p in &problems {
        println!("mismatch: {p}");
    }
    Ok(exit::CHANGES)
}
