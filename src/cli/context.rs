//! What every handler shares: the paths from the global flags, output
//! settings, loading the lockfile, computing a plan from the parsed plan
//! flags, and recovering (or reporting) an interrupted apply.

use std::path::{Path, PathBuf};

use super::args::{Global, PlanFlags};
use super::error::{CommandError, Result};
use super::output::{outln, statusln};
use crate::apply;
use crate::fetch::{self, FetchError, Source};
use crate::fsx::{self, Context as _};
use crate::host::layout::Layout;
use crate::host::{self, HostEnv, Observed};
use crate::lockfile::{self, Lockfile};
use crate::plan::{self, Plan, PlanOptions};
use crate::txn;

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
        if g.home.is_some() {
            ensure_home_dir(&home)?;
        }
        if g.root.is_some() {
            ensure_root_dir(&root)?;
        }
        Ok(Context {
            layout: Layout::new(root, home),
            lockfile: g.lockfile.as_ref().map(|l| cwd.join(l)),
            cwd,
            env: HostEnv::from_process(),
            quiet: g.quiet,
            verbose: g.verbose,
        })
    }

    pub fn load_lockfile(&self) -> Result<Lockfile> {
        self.load_lockfile_with(lockfile::StaleArchives::Refuse)
    }

    /// [`Context::load_lockfile`] for `golock lock`, which may read archives
    /// of another Go version (it replaces them).
    pub fn load_lockfile_with(&self, stale_archives: lockfile::StaleArchives) -> Result<Lockfile> {
        let path = self.lockfile_path().ok_or_else(|| self.no_lockfile())?;
        Ok(lockfile::load_with(
            &path,
            &self.layout.home,
            stale_archives,
        )?)
    }

    /// `--lockfile`, else golock.toml in the current dir or the nearest parent.
    pub fn lockfile_path(&self) -> Option<PathBuf> {
        self.lockfile
            .clone()
            .or_else(|| lockfile::find_upward(&self.cwd))
    }

    /// The error for a command that found no golock.toml to read.
    pub fn no_lockfile(&self) -> CommandError {
        CommandError::NoLockfile {
            cwd: self.cwd.clone(),
        }
    }

    /// `path` as the user would name it: relative to the current directory
    /// when under it.
    pub fn shown(&self, path: &Path) -> String {
        path.strip_prefix(&self.cwd)
            .unwrap_or(path)
            .display()
            .to_string()
    }

    /// A progress or status line on stderr, unless `-q`.
    pub fn say(&self, msg: impl std::fmt::Display) {
        if !self.quiet {
            statusln!("{msg}");
        }
    }

    /// What this host's golock manages, for checking a journal before replay.
    pub fn journal_scope(&self) -> txn::Scope {
        let lock = self.load_lockfile().ok();
        apply::journal_scope(&self.layout, &self.env, lock.as_ref())
    }

    /// Read-only commands never replay a journal; they say it is there.
    pub fn pending_lines(&self) -> Result<Vec<String>> {
        Ok(txn::pending(&self.layout)?
            .iter()
            .map(ToString::to_string)
            .collect())
    }

    /// [`Context::pending_lines`] as findings: `golock recover` fixes them.
    pub fn pending_findings(&self) -> Result<Vec<crate::host::verify::Finding>> {
        Ok(txn::pending(&self.layout)?
            .iter()
            .map(|p| crate::host::verify::Finding {
                kind: "pending_journal".to_string(),
                path: Some(p.journal.display().to_string()),
                module: None,
                expected: Some("no journal".to_string()),
                actual: Some(p.to_string()),
                message: p.to_string(),
                fix: "golock recover".to_string(),
            })
            .collect())
    }

    pub fn refuse_pending(&self) -> Result<()> {
        match self.pending_lines()?.into_iter().next() {
            Some(pending) => Err(CommandError::Pending { pending }),
            None => Ok(()),
        }
    }

    /// Said while waiting for another golock's host lock.
    pub fn waiting(&self, holder: &str) {
        self.say(format!(
            "golock: waiting for another golock (pid {holder}) to release {}…",
            self.layout.lock_file().display()
        ));
    }

    /// `--locked`: golock.toml must already say everything this host needs.
    pub fn ensure_locked(&self, flags: &PlanFlags) -> Result<()> {
        if flags.locked {
            lockfile::gomod::ensure_complete_for_host(&self.load_lockfile()?)?;
        }
        Ok(())
    }

    pub fn plan_options(&self, flags: &PlanFlags) -> Result<PlanOptions> {
        Ok(PlanOptions {
            prune: flags.prune,
            force: flags.force,
            archive: flags.archive.as_ref().map(|a| self.cwd.join(a)),
            platform: None,
            prune_modules: flags.prune_modules,
            module_sources: self.module_sources(flags)?,
            archive_mirrors: self.archive_mirrors(&flags.mirror)?,
            repair: flags.repair,
        })
    }

    /// `--mirror` sources; `None` keeps golock.toml's `[go] mirrors`.
    fn archive_mirrors(&self, mirrors: &[String]) -> Result<Option<Vec<Source>>> {
        if mirrors.is_empty() {
            return Ok(None);
        }
        let sources = mirrors
            .iter()
            .map(|m| {
                Source::parse_mirror(m, &self.cwd).map_err(|e| FetchError::BadSource {
                    input: fetch::redact_url(m.trim()),
                    reason: e.reason,
                })
            })
            .collect::<std::result::Result<Vec<_>, _>>()?;
        Ok(Some(sources))
    }

    /// `--from-cache` dirs (their `cache/download` is a GOPROXY tree), then
    /// `--proxy` sources; `None` keeps golock.toml's `[modules] proxies`.
    fn module_sources(&self, flags: &PlanFlags) -> Result<Option<Vec<Source>>> {
        self.module_sources_from(&flags.proxy, &flags.from_cache)
    }

    /// [`Context::module_sources`] from the `--proxy` and `--from-cache` values.
    pub fn module_sources_from(
        &self,
        proxy: &[String],
        from_cache: &[PathBuf],
    ) -> Result<Option<Vec<Source>>> {
        if proxy.is_empty() && from_cache.is_empty() {
            return Ok(None);
        }
        let mut sources: Vec<Source> = from_cache
            .iter()
            .map(|dir| Source::Local(self.cwd.join(dir).join("cache/download")))
            .collect();
        for p in proxy {
            let source = Source::parse_proxy(p, &self.cwd).map_err(|e| FetchError::BadSource {
                input: fetch::redact_url(p.trim()),
                reason: e.reason,
            })?;
            sources.push(source);
        }
        Ok(Some(sources))
    }

    /// lockfile → host → plan.
    pub fn compute_plan(&self, opts: &PlanOptions) -> Result<(Lockfile, Observed, Plan)> {
        let lock = self.load_lockfile()?;
        let (observed, plan) = self.plan_for(&lock, opts)?;
        Ok((lock, observed, plan))
    }

    /// host → plan, for a lockfile already loaded.
    pub fn plan_for(&self, lock: &Lockfile, opts: &PlanOptions) -> Result<(Observed, Plan)> {
        let observe = host::ObserveOptions {
            list_unlocked_modules: opts.prune_modules,
            rehash: opts.repair,
        };
        let observed = host::observe(lock, &self.layout, &self.env, &observe)?;
        let plan = plan::plan(lock, &observed, &self.layout, opts)?;
        Ok((observed, plan))
    }

    /// Warnings, `-v`'s in-place list, and the plan itself.
    pub fn print_plan(&self, plan: &Plan) -> Result<()> {
        for warning in &plan.warnings {
            self.say(format!("golock: warning: {warning}"));
        }
        if self.verbose {
            for item in &plan.in_place {
                outln!("  = {item}")?;
            }
        }
        super::output::out(format_args!("{plan}"))
    }

    /// Verify a whole bundle into `dir`, then point the plan's sources at it.
    pub fn use_bundle(&self, bundle: &Path, dir: &Path, opts: &mut PlanOptions) -> Result<()> {
        let lock = self.load_lockfile()?;
        let unpacked = crate::bundle::members::unpack_for_host(&lock, &self.cwd.join(bundle), dir)?;
        if unpacked.archive.is_some() {
            opts.archive = unpacked.archive;
        }
        opts.module_sources = Some(vec![Source::Local(unpacked.modules)]);
        Ok(())
    }
}

/// `--home` is never created: a typo must not become a home with profile
/// files in it.
fn ensure_home_dir(home: &Path) -> Result<()> {
    match fsx::metadata_opt(home)? {
        None => Err(CommandError::HomeMissing {
            path: home.to_path_buf(),
        }),
        Some(m) if !m.is_dir() => Err(CommandError::NotADirectory {
            flag: "--home",
            path: home.to_path_buf(),
        }),
        Some(_) => Ok(()),
    }
}

/// `--root` may not exist yet (golock creates its data dir), but it may
/// not be something other than a directory.
fn ensure_root_dir(root: &Path) -> Result<()> {
    match fsx::metadata_opt(root)? {
        Some(m) if !m.is_dir() => Err(CommandError::NotADirectory {
            flag: "--root",
            path: root.to_path_buf(),
        }),
        _ => Ok(()),
    }
}

fn default_root(home: &Path) -> PathBuf {
    match std::env::var_os("XDG_DATA_HOME").map(PathBuf::from) {
        Some(d) if d.is_absolute() => d.join("golock"),
        _ => home.join(".local/share/golock"),
    }
}
