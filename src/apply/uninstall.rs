//! After `uninstall --all` has committed: golock's data dir goes, file by
//! file and dir by dir. Only golock's own files are removed (state.json,
//! the host lock, install manifests, cached archives named by their
//! sha256, the history and the lockfiles kept for it); a dir goes only once empty, so a file another program put there
//! survives, and so does every dir holding it. state.json stays while it
//! still records something on the host (modules kept without `--modules`),
//! so a later `uninstall --modules` can find them. A crash midway leaves
//! only golock's leftovers, which the next `uninstall --all` removes.

use std::path::{Path, PathBuf};

use crate::fsx::{self, ResultExt};
use crate::host::layout::Layout;
use crate::host::state::State;

/// Remove golock's files and then its empty dirs; returns what stays
/// (dirs that still hold something not golock's).
pub fn remove_data_dir(layout: &Layout) -> Result<Vec<PathBuf>, fsx::FsError> {
    remove_own_files(&layout.root.join("manifests"), is_manifest)?;
    remove_own_files(&layout.root.join("cache"), is_sha256_name)?;
    remove_own_files(&layout.lockfiles_dir(), is_kept_lockfile)?;
    fsx::remove_file_opt(&layout.seen_modules_file())?;
    fsx::remove_file_opt(&layout.history_file())?;
    if records_nothing(layout) {
        fsx::remove_file_opt(&layout.state_file())?;
    }
    let mut kept = Vec::new();
    for dir in [
        layout.toolchains_dir(),
        layout.root.join("manifests"),
        layout.root.join("cache"),
        layout.lockfiles_dir(),
        layout.journal_dir(),
        layout.staging_dir(),
    ] {
        if !remove_dir_if_empty(&dir)? {
            kept.push(dir);
        }
    }
    // The host lock goes last: held until here, and harmless if left.
    fsx::remove_file_opt(&layout.lock_file())?;
    if !remove_dir_if_empty(&layout.root)? {
        kept.push(layout.root.clone());
    }
    Ok(kept)
}

/// An unreadable state.json is not golock's to judge: it stays.
fn records_nothing(layout: &Layout) -> bool {
    State::load(&layout.state_file()).is_ok_and(|s| {
        s.modules.is_empty()
            && s.toolchains.is_empty()
            && s.profile_blocks.is_empty()
            && s.goenv_keys.is_empty()
    })
}

fn is_manifest(name: &str) -> bool {
    name.starts_with("go") && name.ends_with(".json")
}

/// A cached archive `<sha256>`, or the signature kept beside it
/// (`<sha256>.asc`, `<sha256>.sig`).
fn is_sha256_name(name: &str) -> bool {
    let base = crate::signing::SIGNATURE_SUFFIXES
        .iter()
        .find_map(|suffix| name.strip_suffix(suffix))
        .unwrap_or(name);
    base.len() == 64 && base.bytes().all(|c| c.is_ascii_hexdigit())
}

fn is_kept_lockfile(name: &str) -> bool {
    name.strip_suffix(".toml").is_some_and(is_sha256_name)
}

/// The regular files directly in `dir` whose names golock gives its own.
fn remove_own_files(dir: &Path, own: fn(&str) -> bool) -> Result<(), fsx::FsError> {
    let entries = match fsx::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.is_not_found() => return Ok(()),
        Err(e) => return Err(e),
    };
    for entry in entries {
        let entry = entry.with_op("list")?;
        let path = entry.path();
        let is_file = fsx::symlink_metadata(&path)?.file_type().is_file();
        if is_file && own(&entry.file_name().to_string_lossy()) {
            fsx::remove_file_opt(&path)?;
        }
    }
    Ok(())
}

/// `true` when `dir` is gone (or never was); `false` when it holds something.
fn remove_dir_if_empty(dir: &Path) -> Result<bool, fsx::FsError> {
    match fsx::symlink_metadata(dir) {
        Err(e) if e.is_not_found() => return Ok(true),
        Err(e) => return Err(e),
        Ok(m) if !m.is_dir() => return Ok(false),
        Ok(_) => {}
    }
    let empty = fsx::read_dir(dir)?.next().is_none();
    if empty {
        fsx::remove_dir(dir)?;
        fsx::fsync_dir(fsx::parent_of(dir))?;
    }
    Ok(empty)
}
