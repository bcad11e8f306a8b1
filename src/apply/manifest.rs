//! The install manifest: the sha256 and mode of every file of an installed
//! toolchain, written beside it at install time (hashed while extracting)
//! and compared against the tree by `verify` and the after-reboot recheck.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::archive::WrittenFile;
use crate::fsx;

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
                let mode = fsx::metadata(path)
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

/// Mismatches of the toolchain in `dir` against the manifest at `manifest`.
pub fn mismatches(dir_name: &str, dir: &Path, manifest: &Path) -> Vec<String> {
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
