//! `DIR/mod/`: a GOPROXY tree of the locked modules. Each file is checked
//! against golock.toml before it lands (`.mod` and `.zip` by their h1
//! hashes, `.info` as cmd/go reads one); `@v/list` names the versions whose
//! zip is there, sorted as go sorts semver, and is written last.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use super::write::{self, Staged};
use super::{MirrorError, Missing};
use crate::fetch::{self, Client, FetchError, ModFile, Source};
use crate::fsx;
use crate::lockfile::{Lockfile, ModuleHashes, ModuleKey};
use crate::modcache::{self, ZipLimits};

const MAX_GO_MOD: u64 = 16 << 20;
const MAX_INFO: u64 = 64 << 10;

/// What [`stage`] found and fetched.
pub struct StagedModules {
    pub staged: Vec<Staged>,
    pub kept: usize,
    /// Escaped module paths that got a file: their `@v/list` is rewritten.
    pub touched: BTreeSet<String>,
}

/// One file of a module version in the proxy tree.
struct ModuleFile<'a> {
    module: String,
    version: &'a str,
    kind: ModFile,
    /// GOPROXY-relative name, `<esc path>/@v/<esc version>.<ext>`.
    rel: String,
    hashes: &'a ModuleHashes,
}

/// Verify what `mod_dir` holds for each locked module and fetch the rest
/// into `staging`; a file no source gives as locked goes to `missing`.
pub fn stage(
    lock: &Lockfile,
    mod_dir: &Path,
    staging: &Path,
    sources: &[Source],
    client: &Client,
    missing: &mut Vec<Missing>,
) -> Result<StagedModules, MirrorError> {
    // Modules are checked and fetched in parallel (hashing a zip is most of
    // the work); each gets its own staging dir, and results come back in
    // lockfile order.
    let per_module: Vec<Result<ModuleOutcome, MirrorError>> = lock
        .modules
        .require
        .iter()
        .collect::<Vec<_>>()
        .par_iter()
        .enumerate()
        .map(|(i, (key, hashes))| {
            stage_module(
                key,
                hashes,
                mod_dir,
                &staging.join(i.to_string()),
                sources,
                client,
            )
        })
        .collect();
    let mut out = StagedModules {
        staged: Vec::new(),
        kept: 0,
        touched: BTreeSet::new(),
    };
    for outcome in per_module {
        let outcome = outcome?;
        out.kept += outcome.kept;
        if !outcome.staged.is_empty() {
            out.touched.insert(outcome.escaped_path);
        }
        out.staged.extend(outcome.staged);
        missing.extend(outcome.missing);
    }
    Ok(out)
}

/// What one module's files came to.
struct ModuleOutcome {
    escaped_path: String,
    staged: Vec<Staged>,
    kept: usize,
    missing: Vec<Missing>,
}

fn stage_module(
    key: &ModuleKey,
    hashes: &ModuleHashes,
    mod_dir: &Path,
    dir: &Path,
    sources: &[Source],
    client: &Client,
) -> Result<ModuleOutcome, MirrorError> {
    let mut out = ModuleOutcome {
        escaped_path: String::new(),
        staged: Vec::new(),
        kept: 0,
        missing: Vec::new(),
    };
    let files = match files_of(&key.path, &key.version, hashes) {
        Ok(files) => files,
        Err(why) => {
            out.missing.push(Missing {
                artifact: format!("module {key}"),
                tried: vec![(key.to_string(), why)],
            });
            return Ok(out);
        }
    };
    let mut dir_made = false;
    for file in files {
        let target = fetch::dir_file(mod_dir, &file.rel);
        if target.is_file() && verify(&file, &target).is_ok() {
            out.kept += 1;
            continue;
        }
        if !dir_made {
            // `staging` too, only once something is fetched: a re-run that
            // changes nothing leaves the mirror's mtimes alone.
            fsx::create_dir_all(dir)?;
            dir_made = true;
        }
        let staged = dir.join(file.kind.extension());
        match fetch_one(&file, &staged, sources, client)? {
            Ok(()) => {
                out.escaped_path = file.rel.split("/@v/").next().unwrap_or_default().into();
                out.staged.push(Staged { staged, target });
            }
            Err(tried) => out.missing.push(Missing {
                artifact: format!(
                    "module {}@{} (.{})",
                    file.module,
                    file.version,
                    file.kind.extension()
                ),
                tried,
            }),
        }
    }
    Ok(out)
}

/// The `.mod`, and with a locked zip the `.info` and `.zip`.
fn files_of<'a>(
    path: &str,
    version: &'a str,
    hashes: &'a ModuleHashes,
) -> Result<Vec<ModuleFile<'a>>, String> {
    let esc_path = modcache::escape_path(path).map_err(|e| e.to_string())?;
    let esc_version = modcache::escape_version(version).map_err(|e| e.to_string())?;
    let kinds: &[ModFile] = match hashes.zip {
        Some(_) => &[ModFile::Mod, ModFile::Info, ModFile::Zip],
        None => &[ModFile::Mod],
    };
    Ok(kinds
        .iter()
        .map(|&kind| ModuleFile {
            module: path.to_string(),
            version,
            kind,
            rel: fetch::proxy_rel_path(&esc_path, &esc_version, kind),
            hashes,
        })
        .collect())
}

/// Whether the file at `path` is what golock.toml locks.
fn verify(file: &ModuleFile, path: &Path) -> Result<(), String> {
    let (want, got) = match file.kind {
        ModFile::Mod => {
            let bytes = fsx::read(path).map_err(|e| e.to_string())?;
            (Some(&file.hashes.module), modcache::hash_go_mod(&bytes))
        }
        ModFile::Zip => (
            file.hashes.zip.as_ref(),
            modcache::hash_zip(path).map_err(|e| e.to_string())?,
        ),
        ModFile::Info => {
            let bytes = fsx::read(path).map_err(|e| e.to_string())?;
            return modcache::info_from_served(file.version, &bytes)
                .map(drop)
                .map_err(|e| e.to_string());
        }
    };
    match want == Some(&got) {
        true => Ok(()),
        false => Err(format!("does not match golock.toml (it hashes to {got})")),
    }
}

/// Fetch `file` into `staged` from the first source that gives it as
/// locked: `Ok(Err(tried))` when none does. A `.info` no source has is
/// made up as cmd/go would store it.
fn fetch_one(
    file: &ModuleFile,
    staged: &Path,
    sources: &[Source],
    client: &Client,
) -> Result<Result<(), Vec<(String, String)>>, MirrorError> {
    let mut tried = Vec::new();
    for (i, source) in sources.iter().enumerate() {
        if i > 0 {
            fsx::remove_file_opt(staged)?;
        }
        let one = std::slice::from_ref(source);
        let got = match file.kind {
            ModFile::Mod => fetch::fetch_bytes(client, one, &file.rel, MAX_GO_MOD)
                .map(|b| b.map(|bytes| fsx::write(staged, bytes))),
            ModFile::Info => fetch::fetch_bytes(client, one, &file.rel, MAX_INFO).map(|b| {
                b.map(
                    |served| match modcache::normalized_info(file.version, Some(&served)) {
                        Ok(info) => fsx::write(staged, info),
                        // Refused below by `verify`, with the reason.
                        Err(_) => fsx::write(staged, served),
                    },
                )
            }),
            ModFile::Zip => {
                let max = ZipLimits::default().max_zip_size;
                fetch::fetch_to_file(client, one, &file.rel, staged, max).map(|f| f.map(|_| Ok(())))
            }
        };
        let why = match got {
            Ok(Some(Err(disk))) => return Err(disk.into()),
            Ok(Some(Ok(()))) => match verify(file, staged) {
                Ok(()) => return Ok(Ok(())),
                Err(why) => why,
            },
            Ok(None) => format!("{} not found", file.rel),
            Err(FetchError::AllSourcesFailed { failures, .. }) if failures.0.len() == 1 => {
                failures.0[0].reason.clone()
            }
            Err(e) => e.to_string(),
        };
        tried.push((source.describe(), why));
    }
    fsx::remove_file_opt(staged)?;
    if file.kind == ModFile::Info && tried.iter().all(|(_, why)| why.ends_with("not found")) {
        fsx::write(
            staged,
            modcache::normalized_info(file.version, None).unwrap_or_default(),
        )?;
        return Ok(Ok(()));
    }
    Ok(Err(tried))
}

/// Remove every module file in `mod_dir` that none of `keep` locks; how many.
pub fn prune(mod_dir: &Path, keep: &[&Lockfile]) -> Result<usize, MirrorError> {
    let mut kept = BTreeSet::new();
    for lock in keep {
        for (key, hashes) in &lock.modules.require {
            if let Ok(files) = files_of(&key.path, &key.version, hashes) {
                kept.extend(files.into_iter().map(|f| f.rel));
            }
        }
    }
    let mut removed = 0;
    for dir in version_dirs(mod_dir) {
        for entry in fsx::read_dir(&dir)? {
            let entry = entry?;
            let path = entry.path();
            let is_module_file = [".mod", ".info", ".zip"]
                .iter()
                .any(|ext| path.to_string_lossy().ends_with(ext));
            let rel = path
                .strip_prefix(mod_dir)
                .map(|r| r.to_string_lossy().into_owned())
                .unwrap_or_default();
            if is_module_file && path.is_file() && !kept.contains(&rel) {
                fsx::remove_file(&path)?;
                removed += 1;
            }
        }
    }
    Ok(removed)
}

/// Every `@v` directory under `mod_dir`.
fn version_dirs(mod_dir: &Path) -> Vec<PathBuf> {
    walkdir::WalkDir::new(mod_dir)
        .follow_links(false)
        .into_iter()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_dir() && e.file_name() == "@v")
        .map(|e| e.into_path())
        .collect()
}

/// Rewrite the `@v/list` of each `touched` module (of every module after a
/// prune): the versions whose zip is there, plus, unless pruning, those the
/// list already named.
pub fn write_lists(
    mod_dir: &Path,
    touched: &BTreeSet<String>,
    pruned: bool,
) -> Result<(), MirrorError> {
    let dirs: BTreeSet<PathBuf> = match pruned {
        true => version_dirs(mod_dir).into_iter().collect(),
        false => touched
            .iter()
            .map(|esc| fetch::dir_file(mod_dir, esc).join("@v"))
            .collect(),
    };
    for dir in dirs {
        let list = dir.join("list");
        let mut versions = zipped_versions(&dir)?;
        if !pruned && let Some(old) = fsx::read_opt(&list)? {
            versions.extend(String::from_utf8_lossy(&old).lines().map(str::to_string));
        }
        let text = modcache::render_list(versions.iter().map(String::as_str));
        if text.is_empty() {
            fsx::remove_file_opt(&list)?;
        } else {
            write::write_if_changed(&list, text.as_bytes())?;
        }
    }
    Ok(())
}

/// The versions with a `.zip` in the `@v` directory `dir`.
fn zipped_versions(dir: &Path) -> Result<Vec<String>, MirrorError> {
    let mut versions = Vec::new();
    for entry in fsx::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if let Some(esc) = name.strip_suffix(".zip")
            && let Ok(v) = modcache::unescape_version(esc)
        {
            versions.push(v);
        }
    }
    Ok(versions)
}
