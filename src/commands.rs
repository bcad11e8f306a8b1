//! What each command does, from parsed arguments to an exit code: build the
//! context (paths), recover an interrupted apply, then run the pipeline
//! lockfile → host → plan → apply.

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};

use crate::apply;
use crate::cli::{ApplyArgs, CheckArgs, Cli, ColorChoice, Command, Global, PlanArgs, PlanFlags};
use crate::fsx::{self, Context as _};
use crate::host::{self, HostEnv, Observed};
use crate::layout::Layout;
use crate::lockfile::{self, Lockfile};
use crate::plan::{self, Plan, PlanOptions};
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
        Command::Recover => recover(&ctx),
        Command::Plan(args) => {
            recover_leftovers(&ctx)?;
            plan_cmd(&ctx, args)
        }
        Command::Apply(args) => apply_cmd(&ctx, args),
        Command::Check(args) => {
            recover_leftovers(&ctx)?;
            check(&ctx, args)
        }
    }
}

/// Before anything else: roll back an apply that died.
fn recover_leftovers(ctx: &Context) -> Result<()> {
    if let Some(recovered) = txn::recover_if_needed(&ctx.layout)? {
        report_recovered(ctx, &recovered);
    }
    Ok(())
}

fn report_recovered(ctx: &Context, recovered: &[txn::Recovered]) {
    for r in recovered {
        if r.rolled_forward {
            ctx.say(format!("golock: finished committed apply {}", r.id));
        } else {
            ctx.say(format!("golock: rolled back interrupted apply {}", r.id));
            for what in &r.undone {
                ctx.say(format!("  {what}"));
            }
        }
    }
}

fn recover(ctx: &Context) -> Result<u8> {
    let _lock = HostLock::acquire(&ctx.layout.lock_file(), Wait::Block, |pid| {
        waiting(ctx, pid)
    })?;
    let recovered = txn::recover(&ctx.layout)?;
    if recovered.is_empty() {
        ctx.say("Nothing to recover.");
    }
    report_recovered(ctx, &recovered);
    Ok(exit::OK)
}

fn waiting(ctx: &Context, holder: &str) {
    ctx.say(format!(
        "golock: waiting for another golock (pid {holder}) to release {}…",
        ctx.layout.lock_file().display()
    ));
}

fn options(flags: &PlanFlags, ctx: &Context) -> PlanOptions {
    PlanOptions {
        prune: flags.prune,
        force: flags.force,
        archive: flags.archive.as_ref().map(|a| ctx.cwd.join(a)),
        platform: None,
    }
}

fn compute_plan(ctx: &Context, opts: &PlanOptions) -> Result<(Lockfile, Observed, Plan)> {
    let lock = ctx.load_lockfile()?;
    let observed = host::observe(&lock, &ctx.layout, &ctx.env)?;
    let plan = plan::plan(&lock, &observed, &ctx.layout, opts)?;
    Ok((lock, observed, plan))
}

fn plan_cmd(ctx: &Context, args: &PlanArgs) -> Result<u8> {
    let (_, observed, plan) = compute_plan(ctx, &options(&args.flags, ctx))?;
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
    if ctx.verbose {
        for item in &plan.in_place {
            println!("  = {item}");
        }
    }
    print!("{plan}");
}

fn apply_cmd(ctx: &Context, args: &ApplyArgs) -> Result<u8> {
    ctx.load_lockfile()?; // a bad lockfile is reported before anything is created
    let wait = if args.no_wait { Wait::No } else { Wait::Block };
    let _lock = HostLock::acquire(&ctx.layout.lock_file(), wait, |pid| waiting(ctx, pid))?;
    report_recovered(ctx, &txn::recover(&ctx.layout)?);
    let (lock, observed, fresh) = compute_plan(ctx, &options(&args.flags, ctx))?;
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
    if !args.yes && !confirmed()? {
        return Err(CommandError::Cancelled);
    }
    apply::execute(
        &plan,
        &ctx.layout,
        &apply::Options {
            progress_bar: !ctx.quiet,
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
    let mut opts = options(&args.flags, ctx);
    opts.force = true; // an edited block is drift to report, not a reason to stop
    let (_, _, plan) = compute_plan(ctx, &opts)?;
    if plan.is_empty() {
        ctx.say("In sync: the host matches golock.toml.");
        return Ok(exit::OK);
    }
    for action in &plan.actions {
        println!("drift: {}", action.headline());
    }
    ctx.say(format!(
        "{} drifted item(s); run `golock apply` to fix.",
        plan.actions.len()
    ));
    Ok(exit::CHANGES)
}
