//! Installing modules into GOMODCACHE exactly as the go command lays them
//! out. Every module of a batch is fetched, verified against the lock and
//! extracted into a staging dir inside the cache, in parallel; nothing lands
//! unless all verified. Then the files are renamed into place under one
//! journal record per chunk, holding cmd/go's per-version `.lock` flocks.

use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use super::ApplyError;
use super::settle::{SyncMode, sync_data};
use crate::fetch::{self, Client, FetchError, ModFile, Source};
use crate::fsx::{self, Context, File};
use crate::modcache::{self, CacheLayout, ModError, ZipLimits, normalized_info};
use crate::plan::Action;
use crate::txn::checkpoint::{FileStep, RenameStep};
use crate::txn::interrupt::{self, Interrupted};
use crate::txn::{Transaction, TxnError};

const MAX_GO_MOD: u64 = 16 << 20;
/// A `.info` is a few hundred bytes; a source serving more is broken.
const MAX_INFO: u64 = 64 << 10;
/// Modules landed per journal record (and per batch of held flocks).
const CHUNK: usize = 256;

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum ModuleError {
    #[error("no source has {module} ({file})")]
    #[diagnostic(
        code(golock::modules::not_found),
        help("add a proxy that has it to [modules] proxies, or pass --proxy / --from-cache")
    )]
    NotFound { module: String, file: &'static str },
    #[error(
        "SECURITY ERROR: {module} {what} does not match golock.toml\n  expected {expected}\n  actual   {actual}"
    )]
    #[diagnostic(
        code(golock::modules::hash_mismatch),
        help(
            "the source served different bytes than were locked; nothing was written. Check the proxy, or re-lock if the change is intended"
        )
    )]
    HashMismatch {
        module: String,
        what: &'static str,
        expected: String,
        actual: String,
    },
    #[error("{module}: {source}")]
    #[diagnostic(code(golock::modules::fetch))]
    Fetch {
        module: String,
        #[source]
        source: Box<FetchError>,
    },
    #[error("{module}: {source}")]
    #[diagnostic(code(golock::modules::invalid))]
    Invalid {
        module: String,
        #[source]
        source: Box<ModError>,
    },
    #[error("{module}: {} is not what golock.toml locks ({why})", path.display())]
    #[diagnostic(
        code(golock::modules::conflict),
        help(
            "another program changed the module cache while golock was applying; nothing of it was \
             removed. Run `golock apply` again: it plans a repair"
        )
    )]
    Conflict {
        module: String,
        path: PathBuf,
        why: String,
    },
    #[error("{}", unavailable_text(modules))]
    #[diagnostic(
        code(golock::modules::unavailable),
        help(
            "nothing was changed. Each module lists every source tried and why it failed \
             (a SECURITY ERROR means a source served other bytes than golock.toml locks). \
             Add a source that has them to [modules] proxies, or pass --proxy URL, \
             --from-cache DIR or --bundle FILE"
        )
    )]
    Unavailable { modules: Vec<ModuleFailure> },
    #[error(transparent)]
    #[diagnostic(transparent)]
    Fs(#[from] fsx::FsError),
    #[error(transparent)]
    #[diagnostic(transparent)]
    Interrupted(#[from] Interrupted),
}

/// A module no source could provide: every source tried and why it failed.
#[derive(Debug, Clone)]
pub struct ModuleFailure {
    /// `path@version`.
    pub module: String,
    /// (source, reason), in the order tried; empty when none is configured.
    pub tried: Vec<(String, String)>,
}

fn unavailable_text(modules: &[ModuleFailure]) -> String {
    let mut text = match modules {
        [one] => format!("no source could provide {}:", one.module),
        _ => format!("no source could provide {} modules:", modules.len()),
    };
    for failure in modules {
        if modules.len() > 1 {
            text.push_str(&format!("\n  {}:", failure.module));
        }
        let indent = if modules.len() > 1 { "    " } else { "  " };
        if failure.tried.is_empty() {
            text.push_str(&format!(
                "\n{indent}- no module source is configured (no [modules] proxies, --proxy or --from-cache)"
            ));
        }
        for (source, reason) in &failure.tried {
            text.push_str(&format!("\n{indent}- {source}: {reason}"));
        }
    }
    text
}

/// One module of a batch, borrowed from its plan action.
struct Job<'a> {
    path: &'a str,
    version: &'a str,
    zip: Option<&'a str>,
    go_mod: &'a str,
    sources: &'a [Source],
    repair: bool,
    /// `--repair` found the zip or tree damaged: rehash them, the
    /// `.ziphash` alone does not vouch for them.
    rehash: bool,
    layout: CacheLayout,
}

impl Job<'_> {
    fn name(&self) -> String {
        format!("{}@{}", self.path, self.version)
    }
}

/// What one staged module will put where.
struct Staged {
    /// In landing order: `.mod`, `.info`, `.zip`, `.ziphash`, tree; a
    /// reader that finds the tree (or the zip and its `.ziphash`) finds
    /// everything before it too.
    parts: Vec<Part>,
    /// `@v/<v>.partial`: cmd/go's "tree incomplete" marker.
    partial: PathBuf,
    lock_file: PathBuf,
    version_dir: PathBuf,
}

/// One staged file or tree and where it goes.
struct Part {
    kind: PartKind,
    staged: PathBuf,
    target: PathBuf,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum PartKind {
    Mod,
    Info,
    Zip,
    ZipHash,
    Tree,
}

/// What is at a part's target, judged under cmd/go's lock for the version.
#[derive(Debug, PartialEq, Eq)]
enum Presence {
    Missing,
    /// Already there and as locked (go put it there, or an earlier apply).
    Done,
    /// Something else is there.
    Wrong(String),
}

/// Install the batch; returns the modules (`path@version`) of which
/// golock moved at least one part into the cache.
pub fn install(
    actions: &[&Action],
    client: &Client,
    sync: SyncMode,
    txn: &mut Transaction,
) -> Result<Vec<String>, ApplyError> {
    let jobs: Vec<Job> = actions.iter().filter_map(|a| job_of(a)).collect();
    let Some(first) = jobs.first() else {
        return Ok(Vec::new());
    };
    let cache_root = first.layout.root.clone();
    let staging = cache_root.join(format!("cache/.golock-staging-{}", txn.id()));
    txn.create_dirs(std::slice::from_ref(&staging))?;
    let staged: Vec<Result<Staged, ModuleError>> = jobs
        .par_iter()
        .enumerate()
        .map(|(i, job)| {
            interrupt::check()?;
            stage(job, &staging.join(i.to_string()), client)
        })
        .collect();
    let staged = all_staged(staged)?;
    sync_data(sync, &staging).map_err(ModuleError::from)?;
    let landed = land(&jobs, staged, &cache_root, &staging, txn)?;
    fsx::remove_tree_opt(&staging).map_err(ModuleError::from)?;
    Ok(landed)
}

fn job_of(action: &Action) -> Option<Job<'_>> {
    let Action::AddModule {
        path,
        version,
        zip,
        go_mod,
        cache,
        sources,
        repair,
        rehash,
    } = action
    else {
        return None;
    };
    Some(Job {
        path,
        version,
        zip: zip.as_deref(),
        go_mod,
        sources,
        repair: repair.is_some(),
        rehash: *rehash,
        layout: CacheLayout::new(cache),
    })
}

/// Every module staged, or why not: a failure on this host (the disk, a
/// signal) as it is, else every module no source could provide.
fn all_staged(results: Vec<Result<Staged, ModuleError>>) -> Result<Vec<Staged>, ModuleError> {
    let mut staged = Vec::with_capacity(results.len());
    let mut unavailable = Vec::new();
    let mut local = None;
    for result in results {
        match result {
            Ok(s) => staged.push(s),
            Err(ModuleError::Unavailable { modules }) => unavailable.extend(modules),
            Err(e @ ModuleError::Interrupted(_)) => return Err(e),
            Err(e) => {
                local.get_or_insert(e);
            }
        }
    }
    if let Some(e) = local {
        return Err(e);
    }
    if !unavailable.is_empty() {
        return Err(ModuleError::Unavailable {
            modules: unavailable,
        });
    }
    Ok(staged)
}

/// Stage one module from the first source that serves it whole and as
/// locked. A source that fails for it (an error status, a timeout, bytes
/// that do not match the lock, a zip that is not one) is skipped for the
/// next; when none serves it, every source and its failure is reported.
fn stage(job: &Job, dir: &Path, client: &Client) -> Result<Staged, ModuleError> {
    fsx::create_dir(dir)?;
    let mut tried = Vec::new();
    for (i, source) in job.sources.iter().enumerate() {
        let attempt = dir.join(format!("s{i}"));
        match stage_from(job, &attempt, client, std::slice::from_ref(source)) {
            Ok(staged) => return Ok(staged),
            Err(e @ (ModuleError::Fs(_) | ModuleError::Interrupted(_))) => return Err(e),
            Err(e) => {
                fsx::remove_tree_opt(&attempt)?;
                tried.push((source.describe(), reason(&e)));
            }
        }
    }
    Err(ModuleError::Unavailable {
        modules: vec![ModuleFailure {
            module: job.name(),
            tried,
        }],
    })
}

/// Why one source failed for a module, on one line, without repeating
/// the module's name where the error would.
fn reason(e: &ModuleError) -> String {
    match e {
        ModuleError::NotFound { file, .. } => format!("{file} not found"),
        ModuleError::Fetch { source, .. } => match source.as_ref() {
            FetchError::AllSourcesFailed { failures, .. } if failures.0.len() == 1 => {
                flatten(&failures.0[0].reason)
            }
            other => one_line(other),
        },
        ModuleError::Invalid { source, .. } => one_line(source.as_ref()),
        other => one_line(other),
    }
}

/// An error's message with its cause chain, on one line.
fn one_line(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        text.push_str(&format!(": {c}"));
        cause = c.source();
    }
    flatten(&text)
}

fn flatten(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Fetch, verify and extract one module into `dir`; nothing outside it is touched.
fn stage_from(
    job: &Job,
    dir: &Path,
    client: &Client,
    sources: &[Source],
) -> Result<Staged, ModuleError> {
    fsx::create_dir(dir)?;
    let invalid = |source| ModuleError::Invalid {
        module: job.name(),
        source: Box::new(source),
    };
    let esc_path = modcache::escape_path(job.path).map_err(invalid)?;
    let esc_version = modcache::escape_version(job.version).map_err(invalid)?;
    let rel = |f| fetch::proxy_rel_path(&esc_path, &esc_version, f);
    let fetched = |r: Result<Option<Vec<u8>>, FetchError>, file: &'static str| match r {
        Ok(Some(b)) => Ok(b),
        Ok(None) => Err(ModuleError::NotFound {
            module: job.name(),
            file,
        }),
        Err(source) => Err(ModuleError::Fetch {
            module: job.name(),
            source: Box::new(source),
        }),
    };
    let go_mod = fetched(
        fetch::fetch_bytes(client, sources, &rel(ModFile::Mod), MAX_GO_MOD),
        ".mod",
    )?;
    expect_hash(job, "go.mod", job.go_mod, &modcache::hash_go_mod(&go_mod))?;
    let layout = &job.layout;
    let part = |kind, staged: PathBuf, target: Result<PathBuf, ModError>| {
        target.map_err(invalid).map(|target| Part {
            kind,
            staged,
            target,
        })
    };
    let mut parts = vec![part(
        PartKind::Mod,
        write_staged(dir, "mod", &go_mod)?,
        layout.mod_file(job.path, job.version),
    )?];
    if let Some(zip_h1) = job.zip {
        let info = fetch::fetch_bytes(client, sources, &rel(ModFile::Info), MAX_INFO).map_err(
            |source| ModuleError::Fetch {
                module: job.name(),
                source: Box::new(source),
            },
        )?;
        parts.push(part(
            PartKind::Info,
            write_staged(
                dir,
                "info",
                normalized_info(job.version, info.as_deref())
                    .map_err(invalid)?
                    .as_bytes(),
            )?,
            layout.info(job.path, job.version),
        )?);
        let zip = dir.join("zip");
        let got = fetch::fetch_to_file(
            client,
            sources,
            &rel(ModFile::Zip),
            &zip,
            ZipLimits::default().max_zip_size,
        );
        fetched(got.map(|f| f.map(|_| Vec::new())), ".zip")?;
        let tree = dir.join("tree");
        let unzipped =
            modcache::check_and_extract(&zip, job.path, job.version, &tree, &ZipLimits::default())
                .map_err(invalid)?;
        expect_hash(job, "zip", zip_h1, &unzipped.h1)?;
        parts.push(part(PartKind::Zip, zip, layout.zip(job.path, job.version))?);
        parts.push(part(
            PartKind::ZipHash,
            write_staged(dir, "ziphash", unzipped.h1.as_bytes())?,
            layout.ziphash(job.path, job.version),
        )?);
        parts.push(part(
            PartKind::Tree,
            tree,
            layout.extracted_dir(job.path, job.version),
        )?);
    }
    let target = |r: Result<PathBuf, ModError>| r.map_err(invalid);
    Ok(Staged {
        parts,
        partial: target(layout.partial_marker(job.path, job.version))?,
        lock_file: target(layout.lock_file(job.path, job.version))?,
        version_dir: target(layout.download_dir(job.path))?,
    })
}

fn expect_hash(
    job: &Job,
    what: &'static str,
    expected: &str,
    actual: &str,
) -> Result<(), ModuleError> {
    if expected == actual {
        return Ok(());
    }
    Err(ModuleError::HashMismatch {
        module: job.name(),
        what,
        expected: expected.to_string(),
        actual: actual.to_string(),
    })
}

fn write_staged(dir: &Path, name: &str, bytes: &[u8]) -> Result<PathBuf, ModuleError> {
    let path = dir.join(name);
    fsx::write(&path, bytes)?;
    Ok(path)
}

/// Rename every staged module into place, chunk by chunk, each chunk under
/// cmd/go's per-version locks; then the `@v/list` files. Returns the
/// modules golock moved a part of.
fn land(
    jobs: &[Job],
    staged: Vec<Staged>,
    cache_root: &Path,
    staging: &Path,
    txn: &mut Transaction,
) -> Result<Vec<String>, ApplyError> {
    let dirs: BTreeSet<PathBuf> = staged
        .iter()
        .flat_map(|s| &s.parts)
        .map(|p| fsx::parent_of(&p.target).to_path_buf())
        .collect();
    create_dirs_beside_go(txn, &dirs.into_iter().collect::<Vec<_>>())?;
    let mut landed = Vec::new();
    for (jobs, chunk) in jobs.chunks(CHUNK).zip(staged.chunks(CHUNK)) {
        interrupt::check()?;
        let _locks = lock_versions(chunk)?;
        landed.extend(land_locked(jobs, chunk, txn)?);
    }
    let mut new_files = Vec::new();
    let cache_lock = cache_root.join("cache/lock");
    if !fsx::exists_no_follow(&cache_lock) {
        new_files.push((write_staged(staging, "cache-lock", b"")?, cache_lock));
    }
    write_version_lists(jobs, &staged, staging, new_files, txn)?;
    Ok(landed)
}

/// With the chunk's version locks held (no go command is writing these
/// modules): re-check every target, then move in only what is missing.
/// A part go already wrote as locked is left alone; what go itself would
/// discard under this lock (a `.partial` marker, a tree it marks or one
/// without its `.ziphash`) is moved aside under the journal; anything else
/// that does not verify is moved aside only when the plan repairs the
/// module, and is a conflict otherwise. Returns the modules it moved a part of.
fn land_locked(
    jobs: &[Job],
    chunk: &[Staged],
    txn: &mut Transaction,
) -> Result<Vec<String>, ApplyError> {
    let mut moves: Vec<(PathBuf, PathBuf)> = Vec::new();
    let mut trees: Vec<&Path> = Vec::new();
    let mut landed = Vec::new();
    for (job, s) in jobs.iter().zip(chunk) {
        let moves_before = moves.len();
        let seen = Seen::of(job, s)?;
        for part in &s.parts {
            let presence = match presence(job, part, &seen)? {
                Presence::Wrong(_) if job.repair || seen.go_would_discard(part.kind) => {
                    txn.move_aside(&part.target, RenameStep::ModuleAside)?;
                    Presence::Missing
                }
                Presence::Wrong(why) => {
                    return Err(ModuleError::Conflict {
                        module: job.name(),
                        path: part.target.clone(),
                        why,
                    }
                    .into());
                }
                other => other,
            };
            if presence == Presence::Missing {
                if part.kind == PartKind::Tree {
                    set_mode(&part.staged, 0o755)?; // a dir needs write permission to change parent
                    trees.push(&part.target);
                }
                moves.push((part.staged.clone(), part.target.clone()));
            }
        }
        if seen.interrupted {
            txn.move_aside(&s.partial, RenameStep::ModuleAside)?;
        }
        if moves.len() > moves_before {
            landed.push(job.name());
        }
    }
    txn.rename_batch(&moves, RenameStep::Modules)?;
    for tree in trees {
        set_mode(tree, 0o555)?;
    }
    Ok(landed)
}

/// What cmd/go's `DownloadDir` looks at besides the tree itself.
struct Seen {
    /// The `.partial` marker is there: an extraction died midway.
    interrupted: bool,
    /// The `.ziphash` holds the locked hash.
    ziphash_ok: bool,
}

impl Seen {
    fn of(job: &Job, s: &Staged) -> Result<Seen, ModuleError> {
        let ziphash = s.parts.iter().find(|p| p.kind == PartKind::ZipHash);
        let ziphash_ok = match ziphash {
            Some(p) => ziphash_matches(&p.target, job.zip.unwrap_or_default())?,
            None => false,
        };
        Ok(Seen {
            interrupted: fsx::exists_no_follow(&s.partial),
            ziphash_ok,
        })
    }

    /// Whether go would remove this (wrong) part itself under the lock:
    /// a tree that `DownloadDir` calls partial.
    fn go_would_discard(&self, kind: PartKind) -> bool {
        kind == PartKind::Tree && (self.interrupted || !self.ziphash_ok)
    }
}

/// Whether `part` of `job` is already at its target, by the checks cmd/go
/// makes: the `.mod` hashes to the locked `h1:`, the `.ziphash` holds the
/// locked hash (else the zip is rehashed), an `.info` exists, and the tree
/// exists with its `.ziphash` and without a `.partial` marker.
fn presence(job: &Job, part: &Part, seen: &Seen) -> Result<Presence, ModuleError> {
    let target = &part.target;
    if !fsx::exists_no_follow(target) {
        return Ok(Presence::Missing);
    }
    let wrong = |why: &str| Ok(Presence::Wrong(why.to_string()));
    let zip_h1 = job.zip.unwrap_or_default();
    match part.kind {
        PartKind::Mod => {
            let bytes = fsx::read_opt(target)?.unwrap_or_default();
            if modcache::hash_go_mod(&bytes) == job.go_mod {
                return Ok(Presence::Done);
            }
            wrong(".mod does not match the locked hash")
        }
        PartKind::Info if target.is_file() => Ok(Presence::Done),
        PartKind::Info => wrong(".info is not a file"),
        PartKind::Zip if job.rehash && !modcache::hash_zip(target).is_ok_and(|h| h == zip_h1) => {
            wrong(".zip does not match the locked hash")
        }
        PartKind::Tree if job.rehash && !tree_matches(job, target, zip_h1) => {
            wrong("the extracted files do not match the locked hash")
        }
        PartKind::ZipHash if seen.ziphash_ok => Ok(Presence::Done),
        PartKind::ZipHash => wrong(".ziphash does not match the locked hash"),
        PartKind::Zip if seen.ziphash_ok => Ok(Presence::Done),
        PartKind::Zip if modcache::hash_zip(target).is_ok_and(|h| h == zip_h1) => {
            Ok(Presence::Done)
        }
        PartKind::Zip => wrong(".zip does not match the locked hash"),
        PartKind::Tree if seen.interrupted => wrong("extraction was interrupted (.partial)"),
        PartKind::Tree if !seen.ziphash_ok => wrong("the tree has no matching .ziphash"),
        PartKind::Tree if target.is_dir() => Ok(Presence::Done),
        PartKind::Tree => wrong("the extracted module is not a directory"),
    }
}

fn tree_matches(job: &Job, tree: &Path, zip_h1: &str) -> bool {
    let prefix = format!("{}@{}", job.path, job.version);
    modcache::hash_dir(tree, &prefix).is_ok_and(|h| h == zip_h1)
}

fn ziphash_matches(path: &Path, zip_h1: &str) -> Result<bool, ModuleError> {
    let bytes = fsx::read_opt(path)?.unwrap_or_default();
    Ok(!zip_h1.is_empty() && String::from_utf8_lossy(&bytes).trim() == zip_h1)
}

/// `txn.create_dirs`, while a go command may be creating some of the same
/// directories (its `MkdirAll` takes no lock): a directory that appeared
/// meanwhile is simply there, and the rest is created on the next round.
fn create_dirs_beside_go(txn: &mut Transaction, dirs: &[PathBuf]) -> Result<(), ApplyError> {
    const ROUNDS: usize = 16;
    for _ in 1..ROUNDS {
        match txn.create_dirs(dirs) {
            Err(TxnError::Fs(e)) if e.source.kind() == io::ErrorKind::AlreadyExists => continue,
            other => return Ok(other?),
        }
    }
    Ok(txn.create_dirs(dirs)?)
}

fn set_mode(path: &Path, mode: u32) -> Result<(), ModuleError> {
    fsx::set_mode(path, mode)?;
    Ok(())
}

/// cmd/go rebuilds `@v/list` from the `.mod` files in the directory,
/// keeping escaped names that are canonical semver. An existing list is
/// rewritten holding its flock, as cmd/go's `rewriteVersionList` does; a
/// missing one is renamed into place with `extra` (new files).
fn write_version_lists(
    jobs: &[Job],
    staged: &[Staged],
    staging: &Path,
    mut new_files: Vec<(PathBuf, PathBuf)>,
    txn: &mut Transaction,
) -> Result<(), ApplyError> {
    let mut by_dir: BTreeMap<&Path, &Job> = BTreeMap::new();
    for (job, s) in jobs.iter().zip(staged) {
        by_dir.entry(s.version_dir.as_path()).or_insert(job);
    }
    let mut rewrites = Vec::new();
    for (i, (dir, job)) in by_dir.into_iter().enumerate() {
        let target = job
            .layout
            .list(job.path)
            .map_err(|source| ModuleError::Invalid {
                module: job.name(),
                source: Box::new(source),
            })?;
        if !fsx::exists_no_follow(&target) {
            let list = modcache::render_list(existing_mod_versions(dir).iter().map(String::as_str));
            new_files.push((
                write_staged(staging, &format!("list-{i}"), list.as_bytes())?,
                target,
            ));
        } else {
            rewrites.push((dir, target));
        }
    }
    txn.rename_batch(&new_files, RenameStep::ModulesList)?;
    for (dir, target) in rewrites {
        let _lock = lock_file(&target)?;
        let list = modcache::render_list(existing_mod_versions(dir).iter().map(String::as_str));
        if fsx::read_opt(&target)
            .map_err(ModuleError::from)?
            .as_deref()
            != Some(list.as_bytes())
        {
            txn.write_file(&target, list.as_bytes(), FileStep::List)?;
        }
    }
    Ok(())
}

fn existing_mod_versions(dir: &Path) -> Vec<String> {
    let Ok(entries) = fsx::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            e.file_name()
                .to_str()
                .and_then(|n| n.strip_suffix(".mod"))
                .map(str::to_string)
        })
        .collect()
}

/// Take cmd/go's per-version lock for every module of a chunk: the flock
/// on `cache/download/<path>/@v/<version>.lock` that `modfetch.lockVersion`
/// (`lockedfile.MutexAt(...).Lock()`) holds while it downloads the zip and
/// extracts the tree, so a concurrent go command waits for us, and we for it.
fn lock_versions(chunk: &[Staged]) -> Result<Vec<File>, ModuleError> {
    chunk.iter().map(|s| lock_file(&s.lock_file)).collect()
}

/// An exclusive flock on `path` (created empty when missing), as
/// cmd/go's `lockedfile` takes it; released when the file is dropped.
fn lock_file(path: &Path) -> Result<File, ModuleError> {
    let f = fsx::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)?;
    f.lock().ctx("lock", path)?;
    Ok(f)
}

/// Move a cached module out (deleted at commit) and rewrite its `@v/list`.
pub fn remove(action: &Action, txn: &mut Transaction) -> Result<(), ApplyError> {
    let Action::RemoveModule {
        path,
        version,
        cache,
    } = action
    else {
        return Ok(());
    };
    let layout = CacheLayout::new(cache);
    let module = format!("{path}@{version}");
    let invalid = |source| ModuleError::Invalid {
        module: module.clone(),
        source: Box::new(source),
    };
    let paths = [
        layout.extracted_dir(path, version),
        layout.zip(path, version),
        layout.ziphash(path, version),
        layout.info(path, version),
        layout.mod_file(path, version),
    ];
    for p in paths {
        let p = p.map_err(invalid)?;
        if fsx::exists_no_follow(&p) {
            txn.move_aside(&p, RenameStep::ModuleRemove)?;
        }
    }
    let dir = layout.download_dir(path).map_err(invalid)?;
    let versions = existing_mod_versions(&dir);
    let list = modcache::render_list(
        versions
            .iter()
            .filter(|v| !v.contains(".golock-"))
            .map(String::as_str),
    );
    let list_path = layout.list(path).map_err(invalid)?;
    if fsx::read_opt(&list_path)
        .map_err(ModuleError::from)?
        .as_deref()
        != Some(list.as_bytes())
    {
        txn.write_file(&list_path, list.as_bytes(), FileStep::List)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modcache::info::pseudo_version_time;

    #[test]
    fn unavailable_modules_always_say_what_was_tried() {
        let unconfigured = ModuleError::Unavailable {
            modules: vec![ModuleFailure {
                module: "a.example/m@v1.0.0".into(),
                tried: Vec::new(),
            }],
        };
        let text = unconfigured.to_string();
        assert!(
            text.contains("a.example/m@v1.0.0:\n  - no module source is configured"),
            "{text}"
        );
        let two = ModuleError::Unavailable {
            modules: vec![
                ModuleFailure {
                    module: "a.example/m@v1.0.0".into(),
                    tried: vec![("/p".into(), ".mod not found".into())],
                },
                ModuleFailure {
                    module: "b.example/m@v1.0.0".into(),
                    tried: vec![
                        ("/p".into(), ".zip not found".into()),
                        ("https://h".into(), "HTTP 500".into()),
                    ],
                },
            ],
        };
        assert_eq!(
            two.to_string(),
            "no source could provide 2 modules:\n  a.example/m@v1.0.0:\n    - /p: .mod not found\n  b.example/m@v1.0.0:\n    - /p: .zip not found\n    - https://h: HTTP 500"
        );
    }

    #[test]
    fn pseudo_versions_carry_their_time() {
        assert_eq!(
            pseudo_version_time("v0.0.0-20240102030405-abcdefabcdef").as_deref(),
            Some("2024-01-02T03:04:05Z")
        );
        assert_eq!(
            pseudo_version_time("v1.2.4-0.20240102030405-abcdefabcdef").as_deref(),
            Some("2024-01-02T03:04:05Z")
        );
        assert_eq!(pseudo_version_time("v1.2.3"), None);
    }

    #[test]
    fn info_is_normalised_like_cmd_go() {
        let served = br#"{
  "Version": "v1.0.0",
  "Time": "2024-01-02T03:04:05.000Z",
  "Origin": {"VCS": "git"}
}
"#;
        assert_eq!(
            normalized_info("v1.0.0", Some(served)).unwrap(),
            r#"{"Version":"v1.0.0","Time":"2024-01-02T03:04:05Z","Origin":{"VCS":"git"}}"#
        );
        assert_eq!(
            normalized_info("v0.0.0-20240102030405-abcdefabcdef", None).unwrap(),
            r#"{"Version":"v0.0.0-20240102030405-abcdefabcdef","Time":"2024-01-02T03:04:05Z"}"#
        );
        assert!(normalized_info("v1.0.1", Some(served)).is_err());
    }
}
