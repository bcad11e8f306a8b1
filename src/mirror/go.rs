//! `DIR/go/`: the locked Go archives, verified (sha256 and size) before
//! they land, and the listings over every archive present: `SHA256SUMS`
//! (`<sha256>  <file>` lines, sorted by file) and `index.json`, the shape
//! of go.dev's `?mode=json&include=all` that `golock lock --index` reads.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;

use super::write::{self, CopyError, Staged};
use super::{MirrorError, Missing, Sources};
use crate::fetch::{Limit, ResumingDownload, Source};
use crate::fsx;
use crate::lockfile::{ArchiveSpec, GoVersion, Lockfile, Platform};
use crate::signing;

/// Cap on an archive whose size golock.toml does not record.
const MAX_ARCHIVE: u64 = 4 << 30;

/// What [`stage`] found and fetched.
pub struct StagedArchives {
    pub staged: Vec<Staged>,
    pub kept: usize,
    /// File name → (sha256 hex, size) of every archive verified in this run.
    pub known: BTreeMap<String, (String, u64)>,
}

/// Verify the archives already in `go_dir` and fetch each other locked one
/// into `staging`; an archive no source gives as locked goes to `missing`.
pub fn stage(
    lock: &Lockfile,
    go_dir: &Path,
    staging: &Path,
    sources: &Sources,
    bundle: Option<&Path>,
    missing: &mut Vec<Missing>,
) -> Result<StagedArchives, MirrorError> {
    let mut out = StagedArchives {
        staged: Vec::new(),
        kept: 0,
        known: BTreeMap::new(),
    };
    for (platform, spec) in &lock.go.archives {
        let sha256 = hex::encode(spec.sha256);
        let target = go_dir.join(&spec.file);
        out.known
            .insert(spec.file.clone(), (sha256.clone(), spec.size));
        if target.is_file() && matches(&fsx::sha256_file(&target)?, &sha256, spec.size) {
            out.kept += 1;
            let candidates = candidates(lock, platform, spec, sources, bundle);
            stage_signature(
                lock,
                spec,
                &target,
                &target,
                staging,
                &candidates,
                sources,
                &mut out,
                missing,
            )?;
            continue;
        }
        fsx::create_dir_all(staging)?;
        let staged = staging.join(&spec.file);
        let mut tried = Vec::new();
        for (name, candidate) in candidates(lock, platform, spec, sources, bundle) {
            fsx::remove_file_opt(&staged)?;
            match fetch(&candidate, &staged, spec, sources) {
                Ok(got) if matches(&got, &sha256, spec.size) => {
                    tried.clear();
                    break;
                }
                Ok((actual, size)) => tried.push((
                    name,
                    format!("other bytes: sha256 {actual}, {size} bytes (golock.toml: {sha256}, {} bytes)", spec.size),
                )),
                Err(CopyError::Read(why)) => tried.push((name, why)),
                Err(CopyError::Disk(e)) => return Err(e.into()),
            }
            fsx::remove_file_opt(&staged)?;
        }
        if staged.is_file() {
            let candidates = candidates(lock, platform, spec, sources, bundle);
            stage_signature(
                lock,
                spec,
                &staged,
                &target,
                staging,
                &candidates,
                sources,
                &mut out,
                missing,
            )?;
            out.staged.push(Staged { staged, target });
        } else {
            missing.push(Missing {
                artifact: format!("go{} archive {}", lock.go.version, spec.file),
                tried,
            });
        }
    }
    Ok(out)
}

/// With `[go] signing_keys`, the archive's detached signature goes beside it
/// (`<file>.asc` or `.sig`), taken from the first candidate whose signature
/// verifies against the bytes at `archive` (one already beside `target`
/// that verifies is kept); none: the archive's signature is `missing`.
#[allow(clippy::too_many_arguments)]
fn stage_signature(
    lock: &Lockfile,
    spec: &ArchiveSpec,
    archive: &Path,
    target: &Path,
    staging: &Path,
    candidates: &[(String, Source)],
    sources: &Sources,
    out: &mut StagedArchives,
    missing: &mut Vec<Missing>,
) -> Result<(), MirrorError> {
    let keys = &lock.go.signing_keys;
    if keys.is_empty() {
        return Ok(());
    }
    let verifies = |from: &str, bytes: &[u8]| {
        signing::verify_file(keys, &spec.file, archive, from, bytes).map_err(|e| e.to_string())
    };
    for in_place in signing::signature_paths(target) {
        if let Ok(Some(bytes)) = fsx::read_capped_opt(&in_place, signing::MAX_SIGNATURE_BYTES)
            && verifies(&in_place.display().to_string(), &bytes).is_ok()
        {
            return Ok(());
        }
    }
    let mut tried = Vec::new();
    for (name, candidate) in candidates {
        for suffix in signing::SIGNATURE_SUFFIXES {
            let got = match candidate {
                Source::Local(path) => {
                    let mut p = path.as_os_str().to_owned();
                    p.push(suffix);
                    fsx::read_capped_opt(Path::new(&p), signing::MAX_SIGNATURE_BYTES)
                        .map_err(|e| e.to_string())
                }
                Source::Http(url) => {
                    let (base, file) = url.rsplit_once('/').unwrap_or(("", url));
                    crate::fetch::fetch_bytes(
                        sources.client,
                        &[Source::Http(base.to_string())],
                        &format!("{file}{suffix}"),
                        signing::MAX_SIGNATURE_BYTES,
                    )
                    .map_err(|e| e.to_string())
                }
            };
            let from = format!("{name}{suffix}");
            match got.and_then(|bytes| match bytes {
                Some(bytes) => verifies(&from, &bytes).map(|_| Some(bytes)),
                None => Ok(None),
            }) {
                Ok(Some(bytes)) => {
                    fsx::create_dir_all(staging)?;
                    let staged = staging.join(format!("{}{suffix}", spec.file));
                    fsx::remove_file_opt(&staged)?;
                    fsx::write(&staged, &bytes)?;
                    let mut to = target.as_os_str().to_owned();
                    to.push(suffix);
                    out.staged.push(Staged {
                        staged,
                        target: to.into(),
                    });
                    return Ok(());
                }
                Ok(None) => {}
                Err(why) => tried.push((from, why)),
            }
        }
    }
    if tried.is_empty() {
        tried.push((
            "every source".to_string(),
            "no .asc or .sig beside the archive".to_string(),
        ));
    }
    missing.push(Missing {
        artifact: format!("signature of go{} archive {}", lock.go.version, spec.file),
        tried,
    });
    Ok(())
}

fn matches((actual, size): &(String, u64), sha256: &str, locked_size: u64) -> bool {
    actual == sha256 && (locked_size == 0 || *size == locked_size)
}

/// Where the archive may be, in order: golock's cache, the bundle, the mirrors.
fn candidates(
    lock: &Lockfile,
    platform: &Platform,
    spec: &ArchiveSpec,
    sources: &Sources,
    bundle: Option<&Path>,
) -> Vec<(String, Source)> {
    let cached = sources.layout.archive_cache(&hex::encode(spec.sha256));
    let mut all = vec![(cached.display().to_string(), Source::Local(cached))];
    if let Some(b) = bundle {
        let path = b.join("go").join(&spec.file);
        all.push((
            format!("bundle member go/{}", spec.file),
            Source::Local(path),
        ));
    }
    for mirror in &lock.go.mirrors {
        let source = match mirror {
            Source::Local(dir) => Source::Local(dir.join(&spec.file)),
            Source::Http(base) => Source::Http(lock.mirror_url(base, &spec.file, platform)),
        };
        all.push((source.describe(), source));
    }
    all
}

/// Copy one candidate to `staged`; its sha256 and size.
fn fetch(
    candidate: &Source,
    staged: &Path,
    spec: &ArchiveSpec,
    sources: &Sources,
) -> Result<(String, u64), CopyError> {
    let max = if spec.size == 0 {
        MAX_ARCHIVE
    } else {
        spec.size
    };
    match candidate {
        Source::Local(path) => match fsx::open(path) {
            Ok(file) => write::copy_hashing(file, staged, max),
            Err(e) if e.is_not_found() || e.kind() == std::io::ErrorKind::NotADirectory => {
                Err(CopyError::Read("not found".into()))
            }
            Err(e) => Err(CopyError::Read(e.source.to_string())),
        },
        Source::Http(url) => download(url, staged, spec, sources),
    }
}

fn download(
    url: &str,
    staged: &Path,
    spec: &ArchiveSpec,
    sources: &Sources,
) -> Result<(String, u64), CopyError> {
    let read = |e: &dyn std::fmt::Display| CopyError::Read(e.to_string());
    let http = sources.client.http().map_err(|e| read(&e))?;
    let limit = match spec.size {
        0 => Limit::AtMost(MAX_ARCHIVE),
        size => Limit::Exact(size),
    };
    let partial = crate::fetch::partial_path(staged);
    let mut stream = ResumingDownload::open(http, url, &partial, limit).map_err(|e| read(&e))?;
    let digest = crate::modcache::dirhash::sha256_reader(&mut stream);
    if let Some(failure) = stream.failure() {
        return Err(read(failure));
    }
    let digest = digest.map_err(|e| read(&e))?;
    stream.persist(staged).map_err(|e| read(&e))?;
    let size = fsx::metadata(staged)?.len();
    Ok((hex::encode(digest), size))
}

/// Remove every archive in `go_dir` that none of `keep` locks; how many.
pub fn prune(go_dir: &Path, keep: &[&Lockfile]) -> Result<usize, MirrorError> {
    let kept: Vec<&str> = keep
        .iter()
        .flat_map(|l| l.go.archives.values())
        .map(|a| a.file.as_str())
        .collect();
    let mut removed = 0;
    for name in archives_in(go_dir)? {
        if !kept.contains(&name.as_str()) {
            let path = go_dir.join(&name);
            for signature in signing::signature_paths(&path) {
                fsx::remove_file_opt(&signature)?;
            }
            fsx::remove_file(path)?;
            removed += 1;
        }
    }
    Ok(removed)
}

/// The Go archives (by name) in `go_dir`.
fn archives_in(go_dir: &Path) -> Result<Vec<String>, MirrorError> {
    if !go_dir.is_dir() {
        return Ok(Vec::new());
    }
    let mut names = Vec::new();
    for entry in fsx::read_dir(go_dir)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if parse_archive_name(&name).is_some() && entry.path().is_file() {
            names.push(name);
        }
    }
    names.sort();
    Ok(names)
}

/// `go1.27.3.linux-amd64.tar.gz` → (`1.27.3`, `linux`, `amd64`).
fn parse_archive_name(name: &str) -> Option<(GoVersion, &str, &str)> {
    let rest = name.strip_prefix("go")?;
    let rest = rest
        .strip_suffix(".tar.gz")
        .or_else(|| rest.strip_suffix(".zip"))?;
    let (version, platform) = rest.rsplit_once('.')?;
    let (os, arch) = platform.split_once('-')?;
    let word = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric());
    (word(os) && word(arch)).then_some(())?;
    Some((version.parse().ok()?, os, arch))
}

/// One release of `index.json`.
#[derive(Serialize)]
struct Release {
    version: String,
    stable: bool,
    files: Vec<IndexFile>,
}

#[derive(Serialize)]
struct IndexFile {
    filename: String,
    os: String,
    arch: String,
    version: String,
    sha256: String,
    size: u64,
    kind: &'static str,
}

/// Write `SHA256SUMS` and `index.json` over every archive in `go_dir`;
/// digests in `known` were verified in this run, the others are hashed.
pub fn write_listings(
    go_dir: &Path,
    known: &BTreeMap<String, (String, u64)>,
) -> Result<(), MirrorError> {
    let names = archives_in(go_dir)?;
    if names.is_empty() && !go_dir.is_dir() {
        return Ok(());
    }
    let mut sums = String::new();
    let mut releases: BTreeMap<GoVersion, Vec<IndexFile>> = BTreeMap::new();
    for name in &names {
        let (sha256, size) = match known.get(name) {
            Some((sha, size)) if *size != 0 => (sha.clone(), *size),
            _ => fsx::sha256_file(&go_dir.join(name))?,
        };
        sums.push_str(&format!("{sha256}  {name}\n"));
        let Some((version, os, arch)) = parse_archive_name(name) else {
            continue;
        };
        releases
            .entry(version.clone())
            .or_default()
            .push(IndexFile {
                filename: name.clone(),
                os: os.to_string(),
                arch: arch.to_string(),
                version: version.dir_name(),
                sha256,
                size,
                kind: "archive",
            });
    }
    let mut index: Vec<Release> = releases
        .into_iter()
        .map(|(version, files)| Release {
            stable: is_stable(&version),
            version: version.dir_name(),
            files,
        })
        .collect();
    index.sort_by(|a, b| newest_first(&a.version, &b.version));
    let mut json = serde_json::to_vec_pretty(&index).unwrap_or_default();
    json.push(b'\n');
    write::write_if_changed(&go_dir.join("SHA256SUMS"), sums.as_bytes())?;
    write::write_if_changed(&go_dir.join("index.json"), &json)?;
    Ok(())
}

fn is_stable(version: &GoVersion) -> bool {
    !version.as_str().contains("rc") && !version.as_str().contains("beta")
}

/// go.dev's order: newest release first.
fn newest_first(a: &str, b: &str) -> Ordering {
    version_key(b).cmp(&version_key(a))
}

/// `go1.21.3` → ([1, 21, 3], 2, 0); `go1.21rc2` → ([1, 21, 0], 1, 2):
/// a beta (0) before a release candidate (1) before the release (2).
fn version_key(v: &str) -> (Vec<u64>, u8, u64) {
    let v = v.trim_start_matches("go");
    let (numbers, stage, n) = match v.find(|c: char| c.is_ascii_alphabetic()) {
        Some(at) => {
            let (numbers, pre) = v.split_at(at);
            let stage = if pre.starts_with("rc") { 1 } else { 0 };
            let n = pre.trim_start_matches(|c: char| c.is_ascii_alphabetic());
            (numbers, stage, n.parse().unwrap_or(0))
        }
        None => (v, 2, 0),
    };
    let mut parts: Vec<u64> = numbers.split('.').map(|p| p.parse().unwrap_or(0)).collect();
    parts.resize(3, 0);
    (parts, stage, n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn archive_names_give_version_and_platform() {
        let (v, os, arch) = parse_archive_name("go1.27.3.linux-amd64.tar.gz").unwrap();
        assert_eq!((v.as_str(), os, arch), ("1.27.3", "linux", "amd64"));
        let (v, os, _) = parse_archive_name("go1.21rc2.windows-arm64.zip").unwrap();
        assert_eq!((v.as_str(), os), ("1.21rc2", "windows"));
        assert!(parse_archive_name("SHA256SUMS").is_none());
        assert!(parse_archive_name("index.json").is_none());
        assert!(parse_archive_name("go1.27.3.linux-amd64.tar.gz.partial").is_none());
        assert!(parse_archive_name("gox.linux-amd64.tar.gz").is_none());
    }

    #[test]
    fn versions_sort_newest_first_like_go_dev() {
        let mut v = vec![
            "go1.19.8",
            "go1.21rc2",
            "go1.21.0",
            "go1.27.3",
            "go1.21beta1",
            "go1.9",
            "go1.20",
        ];
        v.sort_by(|a, b| newest_first(a, b));
        assert_eq!(
            v,
            [
                "go1.27.3",
                "go1.21.0",
                "go1.21rc2",
                "go1.21beta1",
                "go1.20",
                "go1.19.8",
                "go1.9"
            ]
        );
    }
}
