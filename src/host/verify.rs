//! Deep checks (`golock verify`): rehash every locked module's zip and
//! extracted tree and its `.ziphash` as `go mod verify` does, and every file of the installed
//! toolchain against the manifest recorded when it was installed.

use std::path::Path;

use rayon::prelude::*;
use serde::Serialize;

use crate::apply::manifest;
use crate::fsx;
use crate::host::layout::Layout;
use crate::lockfile::gomod::GoModDrift;
use crate::lockfile::{Lockfile, ModuleHashes, ModuleKey};
use crate::modcache::{self, CacheLayout};

/// One drifted or damaged item, as `check --json` and `verify --json`
/// report it; `message` is the line the plain-text output prints.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Finding {
    /// What kind of item: `module_mod`, `module_zip`, `toolchain_file`, ….
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub module: Option<String>,
    pub expected: Option<String>,
    pub actual: Option<String>,
    pub message: String,
    /// The command that fixes it.
    pub fix: String,
}

/// What `verify` points at: a rehash finds damage only `--repair` plans.
pub const REPAIR: &str = "golock apply --repair";

impl Finding {
    fn module(kind: &str, name: &str, expected: &str, actual: String, message: String) -> Finding {
        Finding {
            kind: kind.to_string(),
            path: None,
            module: Some(name.to_string()),
            expected: Some(expected.to_string()),
            actual: Some(actual),
            message,
            fix: REPAIR.to_string(),
        }
    }
}

/// Every module mismatch, in lockfile order.
pub fn module_findings(lock: &Lockfile, cache: &Path) -> Vec<Finding> {
    let layout = CacheLayout::new(cache);
    let results: Vec<Vec<Finding>> = lock
        .modules
        .require
        .par_iter()
        .map(|(key, want)| module_checks(&layout, key, want))
        .collect();
    results.into_iter().flatten().collect()
}

/// One module's mismatches: what `go mod verify` checks (the `.ziphash`
/// is there and the zip and the extracted tree hash to it), against the
/// lock rather than the `.ziphash` alone, and the `.mod`.
pub fn module(layout: &CacheLayout, key: &ModuleKey, want: &ModuleHashes) -> Vec<String> {
    module_checks(layout, key, want)
        .into_iter()
        .map(|f| f.message)
        .collect()
}

fn module_checks(layout: &CacheLayout, key: &ModuleKey, want: &ModuleHashes) -> Vec<Finding> {
    let name = key.to_string();
    let mut bad = Vec::new();
    let (path, version) = (key.path.as_str(), key.version.as_str());
    let found = |kind: &str, expected: &str, actual: String, message: String| {
        Finding::module(kind, &name, expected, actual, format!("{name}: {message}"))
    };
    match layout.mod_file(path, version).map(|p| fsx::read_opt(&p)) {
        Ok(Ok(Some(m))) if modcache::hash_go_mod(&m) == want.module => {}
        Ok(Ok(None)) => bad.push(found(
            "module_mod",
            &want.module,
            "missing".into(),
            ".mod is missing".into(),
        )),
        Ok(Ok(Some(m))) => bad.push(found(
            "module_mod",
            &want.module,
            modcache::hash_go_mod(&m),
            format!(".mod does not match {}", want.module),
        )),
        Ok(Err(e)) => bad.push(found(
            "module_mod",
            &want.module,
            e.to_string(),
            format!(".mod does not match {}", want.module),
        )),
        Err(e) => bad.push(found(
            "module_mod",
            &want.module,
            e.to_string(),
            format!(".mod does not match {}", want.module),
        )),
    }
    let Some(zip_h1) = &want.zip else {
        return bad;
    };
    if let Some((actual, problem)) = ziphash_problem(layout, path, version, zip_h1) {
        bad.push(found("module_ziphash", zip_h1, actual, problem));
    }
    match layout.zip(path, version).map(|z| modcache::hash_zip(&z)) {
        Ok(Ok(h)) if h == *zip_h1 => {}
        Ok(Ok(h)) => bad.push(found(
            "module_zip",
            zip_h1,
            h.clone(),
            format!("zip hash {h}, locked {zip_h1}"),
        )),
        Ok(Err(e)) | Err(e) => bad.push(found(
            "module_zip",
            zip_h1,
            e.to_string(),
            format!("zip: {e}"),
        )),
    }
    let prefix = format!("{path}@{version}");
    match layout
        .extracted_dir(path, version)
        .map(|d| modcache::hash_dir(&d, &prefix))
    {
        Ok(Ok(h)) if h == *zip_h1 => {}
        Ok(Ok(h)) => bad.push(found(
            "module_tree",
            zip_h1,
            h.clone(),
            format!("extracted files hash {h}, locked {zip_h1}"),
        )),
        Ok(Err(e)) | Err(e) => bad.push(found(
            "module_tree",
            zip_h1,
            e.to_string(),
            format!("extracted files: {e}"),
        )),
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
) -> Option<(String, String)> {
    let bytes = match layout.ziphash(path, version).map(|p| fsx::read_opt(&p)) {
        Ok(Ok(Some(bytes))) => bytes,
        Ok(Ok(None)) => return Some(("missing".into(), ".ziphash is missing".to_string())),
        Ok(Err(e)) => return Some((e.to_string(), format!(".ziphash: {e}"))),
        Err(e) => return Some((e.to_string(), format!(".ziphash: {e}"))),
    };
    let held = String::from_utf8_lossy(&bytes).trim().to_string();
    (held != zip_h1).then(|| {
        let shown: String = held.chars().take(64).collect();
        let message = format!(".ziphash holds {shown:?}, locked {zip_h1}");
        (shown, message)
    })
}

/// [`toolchain`], as findings. Manifest lines read `<go1.x>/<file>: <problem>`:
/// the file is the path, the problem what was found.
pub fn toolchain_findings(lock: &Lockfile, layout: &Layout) -> Vec<Finding> {
    let dir_name = lock.go.version.dir_name();
    toolchain(lock, layout)
        .into_iter()
        .map(|message| {
            let (subject, problem) = message.split_once(": ").unwrap_or((&dir_name, &message));
            let path = layout.toolchains_dir().join(subject);
            Finding {
                kind: "toolchain_file".to_string(),
                path: Some(path.display().to_string()),
                module: None,
                expected: Some("as installed (install manifest)".to_string()),
                actual: Some(problem.to_string()),
                message: message.clone(),
                fix: REPAIR.to_string(),
            }
        })
        .collect()
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

/// A difference between golock.toml and go.mod/go.sum (`check`).
impl From<&GoModDrift> for Finding {
    fn from(drift: &GoModDrift) -> Finding {
        let (kind, module, expected, actual, fix) = match drift {
            GoModDrift::NotLocked(m) => (
                "repo_not_locked",
                Some(m),
                Some("locked in golock.toml"),
                Some("only in go.sum"),
                "golock lock",
            ),
            GoModDrift::NotInGoSum(m) => (
                "repo_not_in_go_sum",
                Some(m),
                Some("in go.sum"),
                Some("only in golock.toml"),
                "golock lock",
            ),
            GoModDrift::HashDiffers { module, what } => (
                "repo_hash_differs",
                Some(module),
                Some(*what),
                None,
                "golock lock --update",
            ),
            GoModDrift::GoTooOld { .. } => (
                "repo_go_too_old",
                None,
                None,
                None,
                "raise [go] version in golock.toml, then golock lock",
            ),
        };
        let (expected, actual) = match drift {
            GoModDrift::GoTooOld { locked, required } => (
                Some(format!("go {required} or later")),
                Some(format!("go {locked}")),
            ),
            GoModDrift::HashDiffers { what, .. } => (
                Some(format!("the {what} hash in go.sum")),
                Some("another hash in golock.toml".to_string()),
            ),
            _ => (expected.map(str::to_string), actual.map(str::to_string)),
        };
        Finding {
            kind: kind.to_string(),
            path: matches!(drift, GoModDrift::GoTooOld { .. }).then(|| "go.mod".to_string()),
            module: module.cloned(),
            expected,
            actual,
            message: format!("repo: {drift}"),
            fix: fix.to_string(),
        }
    }
}
