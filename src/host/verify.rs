//! Deep checks (`golock verify`): rehash every locked module's zip and
//! extracted tree and its `.ziphash` as `go mod verify` does, and every file of the installed
//! toolchain against the manifest recorded when it was installed.

use std::path::Path;

use rayon::prelude::*;

use crate::apply::manifest;
use crate::fsx;
use crate::host::layout::Layout;
use crate::lockfile::{Lockfile, ModuleHashes, ModuleKey};
use crate::modcache::{self, CacheLayout};

/// Every module mismatch, in lockfile order.
pub fn modules(lock: &Lockfile, cache: &Path) -> Vec<String> {
    let layout = CacheLayout::new(cache);
    let results: Vec<Vec<String>> = lock
        .modules
        .require
        .par_iter()
        .map(|(key, want)| module(&layout, key, want))
        .collect();
    results.into_iter().flatten().collect()
}

/// One module's mismatches: what `go mod verify` checks (the `.ziphash`
/// is there and the zip and the extracted tree hash to it), against the
/// lock rather than the `.ziphash` alone, and the `.mod`.
pub fn module(layout: &CacheLayout, key: &ModuleKey, want: &ModuleHashes) -> Vec<String> {
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
    if let Some(problem) = ziphash_problem(layout, path, version, zip_h1) {
        bad.push(format!("{name}: {problem}"));
    }
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
}

/// cmd/go (`modcmd.verifyMod`) fails a module whose `.ziphash` is missing
/// ("missing ziphash") or holds another hash than its zip and tree.
fn ziphash_problem(
    layout: &CacheLayout,
    path: &str,
    version: &str,
    zip_h1: &str,
) -> Option<String> {
    let bytes = match layout.ziphash(path, version).map(|p| fsx::read_opt(&p)) {
        Ok(Ok(Some(bytes))) => bytes,
        Ok(Ok(None)) => return Some(".ziphash is missing".to_string()),
        Ok(Err(e)) => return Some(format!(".ziphash: {e}")),
        Err(e) => return Some(format!(".ziphash: {e}")),
    };
    let held = String::from_utf8_lossy(&bytes).trim().to_string();
    (held != zip_h1).then(|| {
        let shown: String = held.chars().take(64).collect();
        format!(".ziphash holds {shown:?}, locked {zip_h1}")
    })
}

/// Mismatches of the locked toolchain against its install manifest.
pub fn toolchain(lock: &Lockfile, layout: &Layout) -> Vec<String> {
    let dir_name = lock.go.version.dir_name();
    let dir = layout.toolchain_dir(&dir_name);
    if !dir.is_dir() {
        return vec![format!("{dir_name} is not installed")];
    }
    manifest::mismatches(&dir_name, &dir, &layout.manifest_file(&dir_name))
}
