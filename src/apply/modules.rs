//! Installing modules into GOMODCACHE exactly as the go command lays them
//! out. Every module of a batch is fetched, verified against the lock and
//! extracted into a staging dir inside the cache, in parallel; nothing lands
//! unless all verified. Then the files are renamed into place under one
//! journal record per chunk, holding cmd/go's per-version `.lock` flocks.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{self, File, OpenOptions};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use super::ApplyError;
use crate::checkpoint::{FileStep, RenameStep};
use crate::fetch::{self, FetchError, Http, HttpOptions, ModFile, ModuleSource};
use crate::fsx::{self, Context};
use crate::interrupt::{self, Interrupted};
use crate::modcache::{self, CacheLayout, ModError, ZipLimits};
use crate::plan::{Action, ArchiveSource};
use crate::txn::Transaction;

const MAX_GO_MOD: u64 = 16 << 20;
const MAX_INFO: u64 = 1 << 20;
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
    #[error(transparent)]
    #[diagnostic(transparent)]
    Fs(#[from] fsx::FsError),
    #[error(transparent)]
    #[diagnostic(transparent)]
    Interrupted(#[from] Interrupted),
}

/// One module of a batch, borrowed from its plan action.
struct Job<'a> {
    path: &'a str,
    version: &'a str,
    zip: Option<&'a str>,
    go_mod: &'a str,
    sources: Vec<ModuleSource>,
    repair: bool,
    layout: CacheLayout,
}

impl Job<'_> {
    fn name(&self) -> String {
        format!("{}@{}", self.path, self.version)
    }
}

/// What one staged module will put where.
struct Staged {
    moves: Vec<(PathBuf, PathBuf)>,
    extracted: Option<PathBuf>,
    replace: Vec<PathBuf>,
    lock_file: PathBuf,
    version_dir: PathBuf,
}

pub fn install(actions: &[&Action], txn: &mut Transaction) -> Result<(), ApplyError> {
    let jobs: Vec<Job> = actions.iter().filter_map(|a| job_of(a)).collect();
    let Some(first) = jobs.first() else {
        return Ok(());
    };
    let cache_root = first.layout.root.clone();
    let http = http_if_needed(&jobs)?;
    let staging = cache_root.join(format!("cache/.golock-staging-{}", txn.id()));
    txn.create_dirs(std::slice::from_ref(&staging))?;
    let staged: Vec<Result<Staged, ModuleError>> = jobs
        .par_iter()
        .enumerate()
        .map(|(i, job)| {
            interrupt::check()?;
            stage(job, &staging.join(i.to_string()), http.as_ref())
        })
        .collect();
    let staged = staged.into_iter().collect::<Result<Vec<_>, _>>()?;
    fsx::sync_filesystem(&staging).map_err(ModuleError::from)?;
    land(&jobs, staged, &cache_root, &staging, txn)?;
    fsx::remove_tree_opt(&staging).map_err(ModuleError::from)?;
    Ok(())
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
    } = action
    else {
        return None;
    };
    Some(Job {
        path,
        version,
        zip: zip.as_deref(),
        go_mod,
        sources: sources.iter().map(module_source).collect(),
        repair: repair.is_some(),
        layout: CacheLayout::new(cache),
    })
}

fn module_source(source: &ArchiveSource) -> ModuleSource {
    match source {
        ArchiveSource::File { path } => ModuleSource::Dir(path.clone()),
        ArchiveSource::Http { url } => ModuleSource::Http(url.clone()),
    }
}

fn http_if_needed(jobs: &[Job]) -> Result<Option<Http>, ModuleError> {
    let any_http = jobs
        .iter()
        .any(|j| j.sources.iter().any(|s| matches!(s, ModuleSource::Http(_))));
    if !any_http {
        return Ok(None);
    }
    Http::new(HttpOptions::from_env())
        .map(Some)
        .map_err(|source| ModuleError::Fetch {
            module: "(http client)".into(),
            source: Box::new(source),
        })
}

/// Fetch, verify and extract one module into `dir`; nothing outside it is touched.
fn stage(job: &Job, dir: &Path, http: Option<&Http>) -> Result<Staged, ModuleError> {
    fs::create_dir(dir).ctx("create directory", dir)?;
    let invalid = |source| ModuleError::Invalid {
        module: job.name(),
        source: Box::new(source),
    };
    let esc_path = modcache::escape_path(job.path).map_err(invalid)?;
    let esc_version = modcache::escape_version(job.version).map_err(invalid)?;
    let rel = |f| fetch::proxy_rel_path(&esc_path, &esc_version, f);
    let no_http;
    let http = match http {
        Some(h) => h,
        None => {
            no_http = Http::new(HttpOptions::default()).map_err(|source| ModuleError::Fetch {
                module: job.name(),
                source: Box::new(source),
            })?;
            &no_http
        }
    };
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
        fetch::fetch_bytes(http, &job.sources, &rel(ModFile::Mod), MAX_GO_MOD),
        ".mod",
    )?;
    expect_hash(job, "go.mod", job.go_mod, &modcache::hash_go_mod(&go_mod))?;
    let layout = &job.layout;
    let target = |r: Result<PathBuf, ModError>| r.map_err(invalid);
    let mut files = vec![(
        write_staged(dir, "mod", &go_mod)?,
        target(layout.mod_file(job.path, job.version))?,
    )];
    let mut extracted = None;
    if let Some(zip_h1) = job.zip {
        let info = fetch::fetch_bytes(http, &job.sources, &rel(ModFile::Info), MAX_INFO).map_err(
            |source| ModuleError::Fetch {
                module: job.name(),
                source: Box::new(source),
            },
        )?;
        files.push((
            write_staged(
                dir,
                "info",
                normalized_info(job.version, info.as_deref()).as_bytes(),
            )?,
            target(layout.info(job.path, job.version))?,
        ));
        let zip = dir.join("zip");
        let got = fetch::fetch_to_file(
            http,
            &job.sources,
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
        files.push((zip, target(layout.zip(job.path, job.version))?));
        files.push((
            write_staged(dir, "ziphash", unzipped.h1.as_bytes())?,
            target(layout.ziphash(job.path, job.version))?,
        ));
        let final_dir = target(layout.extracted_dir(job.path, job.version))?;
        files.push((tree, final_dir.clone()));
        extracted = Some(final_dir);
    }
    let partial = target(layout.partial_marker(job.path, job.version))?;
    let replace = files
        .iter()
        .map(|(_, t)| t.clone())
        .chain([partial])
        .filter(|t| fsx::exists_no_follow(t))
        .collect();
    Ok(Staged {
        moves: files,
        extracted,
        replace,
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
    fs::write(&path, bytes).ctx("write", &path)?;
    Ok(path)
}

/// The `.info` as cmd/go stores it: compact `{"Version","Time"}`. A source
/// without one gets one made up, with the time a pseudo-version carries.
fn normalized_info(version: &str, served: Option<&[u8]>) -> String {
    #[derive(serde::Deserialize)]
    struct Info {
        #[serde(rename = "Time")]
        time: Option<String>,
    }
    let time = served
        .and_then(|b| serde_json::from_slice::<Info>(b).ok())
        .and_then(|i| i.time)
        .or_else(|| pseudo_version_time(version));
    modcache::render_info(version, time.as_deref())
}

/// `v0.0.0-20240102030405-abcdef…` → `2024-01-02T03:04:05Z`.
fn pseudo_version_time(version: &str) -> Option<String> {
    let stamp = version.rsplit('-').nth(1)?;
    let stamp = stamp.rsplit('.').next()?;
    if stamp.len() != 14 || !stamp.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let s = |a: usize, b: usize| &stamp[a..b];
    Some(format!(
        "{}-{}-{}T{}:{}:{}Z",
        s(0, 4),
        s(4, 6),
        s(6, 8),
        s(8, 10),
        s(10, 12),
        s(12, 14)
    ))
}

/// Rename every staged module into place, chunk by chunk.
fn land(
    jobs: &[Job],
    staged: Vec<Staged>,
    cache_root: &Path,
    staging: &Path,
    txn: &mut Transaction,
) -> Result<(), ApplyError> {
    let mut dirs: BTreeSet<PathBuf> = BTreeSet::new();
    for s in &staged {
        for (_, target) in &s.moves {
            dirs.insert(fsx::parent_of(target).to_path_buf());
        }
    }
    txn.create_dirs(&dirs.into_iter().collect::<Vec<_>>())?;
    for (job, s) in jobs.iter().zip(&staged) {
        if job.repair {
            for existing in &s.replace {
                txn.move_aside(existing, RenameStep::ModuleAside)?;
            }
        }
    }
    let mut extra = version_lists(jobs, &staged, staging)?;
    let cache_lock = cache_root.join("cache/lock");
    if !fsx::exists_no_follow(&cache_lock) {
        extra.push((write_staged(staging, "cache-lock", b"")?, cache_lock));
    }
    for chunk in staged.chunks(CHUNK) {
        interrupt::check()?;
        let _locks = lock_versions(chunk)?;
        for s in chunk {
            if let Some((tree, _)) = s.moves.last().filter(|_| s.extracted.is_some()) {
                set_mode(tree, 0o755)?; // a dir needs write permission to change parent
            }
        }
        let moves: Vec<(PathBuf, PathBuf)> = chunk.iter().flat_map(|s| s.moves.clone()).collect();
        txn.rename_batch(&moves, RenameStep::Modules)?;
        for s in chunk.iter().filter_map(|s| s.extracted.as_ref()) {
            set_mode(s, 0o555)?;
        }
    }
    let (new_lists, rewrites): (Vec<_>, Vec<_>) = extra
        .into_iter()
        .partition(|(_, target)| !fsx::exists_no_follow(target));
    txn.rename_batch(&new_lists, RenameStep::ModulesList)?;
    for (staged_list, target) in rewrites {
        let bytes = fs::read(&staged_list)
            .ctx("read", &staged_list)
            .map_err(ModuleError::from)?;
        txn.write_file(&target, &bytes, FileStep::List)?;
    }
    Ok(())
}

fn set_mode(path: &Path, mode: u32) -> Result<(), ModuleError> {
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).ctx("set mode of", path)?;
    Ok(())
}

/// cmd/go rebuilds `@v/list` from the `.mod` files in the directory,
/// keeping escaped names that are canonical semver.
fn version_lists(
    jobs: &[Job],
    staged: &[Staged],
    staging: &Path,
) -> Result<Vec<(PathBuf, PathBuf)>, ModuleError> {
    let mut by_dir: BTreeMap<&Path, (BTreeSet<String>, &Job)> = BTreeMap::new();
    for (job, s) in jobs.iter().zip(staged) {
        let entry = by_dir
            .entry(s.version_dir.as_path())
            .or_insert_with(|| (BTreeSet::new(), job));
        if let Ok(esc) = modcache::escape_version(job.version) {
            entry.0.insert(esc);
        }
    }
    let mut out = Vec::new();
    for (i, (dir, (mut versions, job))) in by_dir.into_iter().enumerate() {
        versions.extend(existing_mod_versions(dir));
        let list = modcache::render_list(versions.iter().map(String::as_str));
        let target = job
            .layout
            .list(job.path)
            .map_err(|source| ModuleError::Invalid {
                module: job.name(),
                source: Box::new(source),
            })?;
        if fsx::read_opt(&target)?.as_deref() == Some(list.as_bytes()) {
            continue;
        }
        out.push((
            write_staged(staging, &format!("list-{i}"), list.as_bytes())?,
            target,
        ));
    }
    Ok(out)
}

fn existing_mod_versions(dir: &Path) -> Vec<String> {
    let Ok(entries) = fs::read_dir(dir) else {
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

/// Take cmd/go's per-version lock (`@v/<v>.lock`) for every module of a chunk,
/// so a concurrent `go mod download` of the same module waits for us.
fn lock_versions(chunk: &[Staged]) -> Result<Vec<File>, ModuleError> {
    let mut held = Vec::with_capacity(chunk.len());
    for s in chunk {
        let f = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&s.lock_file)
            .ctx("open", &s.lock_file)?;
        f.lock().ctx("lock", &s.lock_file)?;
        held.push(f);
    }
    Ok(held)
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
            normalized_info("v1.0.0", Some(served)),
            r#"{"Version":"v1.0.0","Time":"2024-01-02T03:04:05Z"}"#
        );
    }
}
