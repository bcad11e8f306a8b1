//! Deep checks (`golock verify`): rehash every locked module's zip and
//! extracted tree as `go mod verify` does, and every file of the installed
//! toolchain against the manifest recorded when it was installed.

use std::path::Path;

use rayon::prelude::*;

use crate::apply::manifest;
use crate::fsx;
use crate::host::layout::Layout;
use crate::lockfile::Lockfile;
use crate::modcache::{self, CacheLayout};

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
    manifest::mismatches(&dir_name, &dir, &layout.manifest_file(&dir_name))
}
