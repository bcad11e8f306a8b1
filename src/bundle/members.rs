//! What `golock bundle` puts in a bundle for a lockfile, and where each
//! member comes from: the Go archives of the chosen platforms (golock's
//! download cache, else a mirror directory) and every locked module's files
//! (a module cache, else a proxy directory), each checked against the lock.

use std::path::{Path, PathBuf};

use crate::fetch::Source;
use crate::fsx;
use crate::host::layout::Layout;
use crate::lockfile::{Lockfile, ModuleHashes, Platform};
use crate::modcache;

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum MemberError {
    #[error("cannot put {what} in the bundle: {why}")]
    #[diagnostic(
        code(golock::bundle_source),
        help(
            "run `golock apply` on this machine first (it fills the caches), or pass --from-cache"
        )
    )]
    Source { what: String, why: String },
    #[error(transparent)]
    #[diagnostic(transparent)]
    Fs(#[from] fsx::FsError),
    #[error(transparent)]
    #[diagnostic(transparent)]
    Bundle(#[from] super::BundleError),
}

/// `(member name, local file)` for every member the bundle of `lock` for
/// `platforms` carries, in bundle order; `cache` is the module cache to take
/// module files from.
pub fn collect(
    lock: &Lockfile,
    layout: &Layout,
    platforms: &[Platform],
    cache: &Path,
) -> Result<Vec<(String, PathBuf)>, MemberError> {
    let mut members = Vec::new();
    for platform in platforms {
        let spec = lock
            .go
            .archives
            .get(platform)
            .ok_or_else(|| MemberError::Source {
                what: platform.to_string(),
                why: "golock.toml has no archive for it".into(),
            })?;
        let path = local_archive(lock, layout, &spec.file, &hex::encode(spec.sha256))?;
        let signature = archive_signature(lock, &path, &spec.file)?;
        members.push((format!("go/{}", spec.file), path));
        members.extend(signature);
    }
    members.extend(module_members(lock, cache)?);
    Ok(members)
}

/// A local copy of an archive whose sha256 matches: golock's download
/// cache, else a mirror directory.
fn local_archive(
    lock: &Lockfile,
    layout: &Layout,
    file: &str,
    sha256: &str,
) -> Result<PathBuf, MemberError> {
    let candidates = std::iter::once(layout.archive_cache(sha256)).chain(
        lock.go.mirrors.iter().filter_map(|m| match m {
            Source::Local(d) => Some(d.join(file)),
            Source::Http(_) => None,
        }),
    );
    // With signing keys, only a copy with its signature beside it will do.
    let signed = |p: &PathBuf| {
        lock.go.signing_keys.is_empty()
            || crate::signing::signature_paths(p)
                .iter()
                .any(|s| s.is_file())
    };
    for path in candidates.filter(|p| p.is_file()).filter(signed) {
        if fsx::sha256_file(&path)?.0 == sha256 {
            return Ok(path);
        }
    }
    Err(MemberError::Source {
        what: file.to_string(),
        why: "no verified copy in golock's cache or the mirror directories".into(),
    })
}

/// With `[go] signing_keys`, the archive's detached signature beside the
/// copy taken (`<file>.asc` or `.sig`; in golock's cache `<sha256>.asc`,
/// kept there when it was downloaded), as member `go/<file>.asc` or
/// `.sig`: the air-gapped host checks it as apply checks any. Without keys,
/// none.
fn archive_signature(
    lock: &Lockfile,
    archive: &Path,
    file: &str,
) -> Result<Option<(String, PathBuf)>, MemberError> {
    if lock.go.signing_keys.is_empty() {
        return Ok(None);
    }
    let found = crate::signing::signature_paths(archive)
        .into_iter()
        .zip(crate::signing::SIGNATURE_SUFFIXES)
        .find(|(path, _)| path.is_file());
    match found {
        Some((path, suffix)) => Ok(Some((format!("go/{file}{suffix}"), path))),
        None => Err(MemberError::Source {
            what: file.to_string(),
            why: format!(
                "[go] signing_keys is set and there is no signature beside {} (.asc or .sig)",
                archive.display()
            ),
        }),
    }
}

/// Each locked module's `.mod` (and `.info` and `.zip` when its zip is
/// locked), from the module cache or a proxy directory, checked against the lock.
fn module_members(lock: &Lockfile, cache: &Path) -> Result<Vec<(String, PathBuf)>, MemberError> {
    let mut roots = vec![cache.join("cache/download")];
    roots.extend(lock.modules.proxies.iter().filter_map(|s| match s {
        Source::Local(d) => Some(d.clone()),
        Source::Http(_) => None,
    }));
    let mut members = Vec::new();
    for (key, hashes) in &lock.modules.require {
        let bad = |why: String| MemberError::Source {
            what: key.to_string(),
            why,
        };
        let esc_path = modcache::escape_path(&key.path).map_err(|e| bad(e.to_string()))?;
        let esc_version = modcache::escape_version(&key.version).map_err(|e| bad(e.to_string()))?;
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

fn check_module_file(path: &Path, ext: &str, hashes: &ModuleHashes) -> Result<(), String> {
    let got = match ext {
        "mod" => modcache::hash_go_mod(&fsx::read(path).map_err(|e| e.to_string())?),
        "zip" => modcache::hash_zip(path).map_err(|e| e.to_string())?,
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

/// Where a verified bundle's members are, for this host's apply.
#[derive(Debug)]
pub struct Unpacked {
    /// This host's Go archive, when the bundle carries one for it.
    pub archive: Option<PathBuf>,
    /// A GOPROXY-shaped directory of the locked modules' files.
    pub modules: PathBuf,
}

/// Verify the whole bundle at `bundle` into `dir` (emptied first), for the
/// lockfile it must have been made for.
pub fn unpack_for_host(
    lock: &Lockfile,
    bundle: &Path,
    dir: &Path,
) -> Result<Unpacked, MemberError> {
    fsx::remove_tree_opt(dir)?;
    fsx::create_dir_all(fsx::parent_of(dir))?;
    super::unpack_verified(
        bundle,
        dir,
        &hex::encode(lock.sha256),
        &lock.trusted_keys,
        &super::Limits::default(),
    )?;
    let archive = Platform::host()
        .and_then(|p| lock.go.archives.get(&p))
        .map(|spec| dir.join("go").join(&spec.file));
    Ok(Unpacked {
        archive,
        modules: dir.join("modules"),
    })
}
