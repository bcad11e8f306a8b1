//! Deep checks (`golock verify`): rehash every locked module's zip and
//! extracted tree as `go mod verify` does, and every file of the installed
//! toolchain against the manifest recorded when it was installed.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::archive::WrittenFile;
use crate::fsx;
use crate::layout::Layout;
use crate::lockfile::Lockfile;
use crate::modcache::{self, CacheLayout};

/// Per-file sha256 and mode of an installed toolchain, keyed by relative path.
#[derive(Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub files: BTreeMap<String, ManifestEntry>,
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
pub struct ManifestEntry {
    pub sha256: String,
    pub mode: u32,
}

impl Manifest {
    /// Hash every regular file under `root` (in parallel).
    pub fn build(root: &Path) -> Result<Manifest, fsx::FsError> {
        let files: Vec<_> = walkdir::WalkDir::new(root)
            .into_iter()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_type().is_file())
            .map(|e| e.into_path())
            .collect();
        let entries: Result<BTreeMap<String, ManifestEntry>, fsx::FsError> = files
            .par_iter()
            .map(|path| {
                let (sha256, _) = fsx::sha256_file(path)?;
                let mode = std::fs::metadata(path)
                    .map(|m| m.permissions().mode() & 0o7777)
                    .unwrap_or(0);
                let rel = path
                    .strip_prefix(root)
                    .unwrap_or(path)
                    .to_string_lossy()
                    .into_owned();
                Ok((rel, ManifestEntry { sha256, mode }))
            })
            .collect();
        Ok(Manifest { files: entries? })
    }

    /// The manifest of the files an extraction wrote under `root` (relative
    /// to the extraction's destination), hashed while they were written.
    pub fn from_written(files: &[WrittenFile], root: &Path) -> Manifest {
        let files = files
            .iter()
            .filter_map(|f| {
                let rel = f.path.strip_prefix(root).ok()?;
                let entry = ManifestEntry {
                    sha256: hex::encode(f.sha256),
                    mode: f.mode,
                };
                Some((rel.to_string_lossy().into_owned(), entry))
            })
            .collect();
        Manifest { files }
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }
}

/// Every module mismatch, in lockfile order.
pub fn modules(lock: &Lockfile, cache: &Path) -> Vec<String> {
    let layout = CacheLayout::new(cache);
    let results: Vec<Vec<String>> = lock
        .modules
        .require
        .par_iter()
        .map(|(key, want)| {
            let name = key.to_string();
            let mut bad = Vec::new();
            let (path, version) = (key.path.as_str(), key.version.as_str());
            match layout.mod_file(path, version).map(|p| fsx::read_opt(&p)) {
                Ok(Ok(Some(m))) if modcache::hash_go_mod(&m) == want.module => {}
                Ok(Ok(None)) => bad.push(format!("{name}: .mod is missing")),
                _ => bad.push(format!("{name}: .mod does not match {}", want.module)),
            }
            let Some(zip_h1) = &want.zip else {
                return bad;
            };
            match layout.zip(path, version).map(|z| modcache::hash_zip(&z)) {
                Ok(Ok(h)) if h == *zip_h1 => {}
                Ok(Ok(h)) => bad.push(format!("{name}: zip hash {h}, locked {zip_h1}")),
                Ok(Err(e)) | Err(e) => bad.push(format!("{name}: zip: {e}")),
            }
            let prefix = format!("{path}@{version}");
            match layout
                .extracted_dir(path, version)
                .map(|d| modcache::hash_dir(&d, &prefix))
            {
                Ok(Ok(h)) if h == *zip_h1 => {}
                Ok(Ok(h)) => bad.push(format!("{name}: extracted files hash {h}, locked {zip_h1}")),
                Ok(Err(e)) | Err(e) => bad.push(format!("{name}: extracted files: {e}")),
            }
            bad
        })
        .collect();
    results.into_iter().flatten().collect()
}

/// Mismatches of the locked toolchain against its install manifest.
pub fn toolchain(lock: &Lockfile, layout: &Layout) -> Vec<String> {
    let dir_name = lock.go.version.dir_name();
    let dir = layout.toolchain_dir(&dir_name);
    if !dir.is_dir() {
        return vec![format!("{dir_name} is not installed")];
    }
    toolchain_dir(&dir_name, &dir, &layout.manifest_file(&dir_name))
}

/// Mismatches of the toolchain in `dir` against the manifest at `manifest`.
pub fn toolchain_dir(dir_name: &str, dir: &Path, manifest: &Path) -> Vec<String> {
    let recorded: Manifest = match fsx::read_opt(manifest) {
        Ok(Some(b)) => match serde_json::from_slice(&b) {
            Ok(m) => m,
            Err(e) => return vec![format!("{dir_name}: manifest unreadable: {e}")],
        },
        _ => {
            return vec![format!(
                "{dir_name}: no install manifest (installed by an older golock?)"
            )];
        }
    };
    let now = match Manifest::build(dir) {
        Ok(m) => m,
        Err(e) => return vec![format!("{dir_name}: {e}")],
    };
    let mut bad = Vec::new();
    for (rel, want) in &recorded.files {
        match now.files.get(rel) {
            None => bad.push(format!("{dir_name}/{rel}: missing")),
            Some(got) if got.sha256 != want.sha256 => {
                bad.push(format!("{dir_name}/{rel}: content changed"))
            }
            Some(got) if got.mode != want.mode => bad.push(format!(
                "{dir_name}/{rel}: mode {:o}, installed {:o}",
                got.mode, want.mode
            )),
            Some(_) => {}
        }
    }
    for rel in now
        .files
        .keys()
        .filter(|r| !recorded.files.contains_key(*r))
    {
        bad.push(format!(
            "{dir_name}/{rel}: not part of the installed toolchain"
        ));
    }
    bad
}
