//! `golock mirror DIR`: a static mirror any web server can serve.
//!
//! * `DIR/go/`: the Go archives of `[go.archives]`, `SHA256SUMS` and a
//!   go.dev-style `index.json` over every archive present ([`go`]).
//! * `DIR/mod/`: a GOPROXY tree with `@v/list`, `.info`, `.mod` and `.zip`
//!   of every locked module ([`modules`]).
//!
//! Everything is fetched into `DIR/.golock-tmp-<pid>/` and verified against
//! the lockfile first; only when every artifact verified are the files
//! renamed into place, then the listings (`list`, `SHA256SUMS`,
//! `index.json`) that name them. A file whose content is already right is
//! left alone (its mtime too), so a re-run on identical content changes
//! nothing. Nothing is deleted but by `--prune`, which keeps what any of
//! the kept lockfiles names.

mod go;
mod modules;
mod write;

use std::path::{Path, PathBuf};

use crate::bundle::{self, BundleError};
use crate::fetch::{Client, Source};
use crate::fsx;
use crate::host::layout::Layout;
use crate::lockfile::Lockfile;

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum MirrorError {
    #[error("{}", unavailable_text(missing))]
    #[diagnostic(
        code(golock::mirror::unavailable),
        help(
            "nothing was written to the mirror. Give each artifact a source: golock's cache \
             (run `golock apply` here), [go] mirrors and [modules] proxies in golock.toml, \
             --proxy URL, --from-cache DIR, or an offline bundle with --bundle FILE"
        )
    )]
    Unavailable { missing: Vec<Missing> },
    #[error("{} is not a directory", path.display())]
    #[diagnostic(
        code(golock::mirror::not_a_directory),
        help("give `golock mirror` a directory (it is created when missing)")
    )]
    NotADirectory { path: PathBuf },
    #[error(transparent)]
    #[diagnostic(transparent)]
    Bundle(#[from] BundleError),
    #[error(transparent)]
    #[diagnostic(transparent)]
    Fs(#[from] fsx::FsError),
}

/// One artifact no source gave as locked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Missing {
    /// `go1.27.3 archive go1.27.3.linux-amd64.tar.gz`, `module m@v1.0.0 (.zip)`.
    pub artifact: String,
    /// (source, why it gave nothing usable), in the order tried.
    pub tried: Vec<(String, String)>,
}

fn unavailable_text(missing: &[Missing]) -> String {
    let mut text = match missing.len() {
        1 => "no source gave 1 artifact as golock.toml locks it:".to_string(),
        n => format!("no source gave {n} artifacts as golock.toml locks them:"),
    };
    for m in missing {
        text.push_str(&format!("\n  {}:", m.artifact));
        if m.tried.is_empty() {
            text.push_str("\n    - no source is configured");
        }
        for (source, why) in &m.tried {
            text.push_str(&format!("\n    - {source}: {why}"));
        }
    }
    text
}

/// Where artifacts come from, besides golock's cache and the lockfile.
pub struct Sources<'a> {
    pub layout: &'a Layout,
    pub client: &'a Client,
    /// `--from-cache` and `--proxy` sources; empty: `[modules] proxies`.
    pub modules: Vec<Source>,
    /// `--bundle FILE`: an offline bundle made for this lockfile.
    pub bundle: Option<PathBuf>,
}

/// What a run did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Report {
    /// Files written (archives and module files).
    pub added: usize,
    /// Files already there with the locked content.
    pub kept: usize,
    /// Files `--prune` removed.
    pub removed: usize,
}

/// Write everything `lock` names into the mirror `dir`. With `prune`, the
/// archives and module files none of `lock` and the `prune` lockfiles
/// names are removed afterwards.
pub fn write(
    lock: &Lockfile,
    dir: &Path,
    sources: &Sources,
    prune: Option<&[Lockfile]>,
) -> Result<Report, MirrorError> {
    let created = prepare_dir(dir)?;
    let staging = dir.join(format!(".golock-tmp-{}", std::process::id()));
    // Created only when something is fetched: a run that finds everything
    // in place leaves DIR (and its mtime) alone.
    fsx::remove_tree_opt(&staging)?;
    let result = write_staged(lock, dir, &staging, sources, prune);
    let cleaned = fsx::remove_tree_opt(&staging);
    if result.is_err() && created {
        let _ = fsx::remove_dir(dir); // only when still empty
    }
    let report = result?;
    cleaned?;
    Ok(report)
}

/// Create `dir` when missing; whether it was created.
fn prepare_dir(dir: &Path) -> Result<bool, MirrorError> {
    match fsx::metadata_opt(dir)? {
        Some(m) if m.is_dir() => Ok(false),
        Some(_) => Err(MirrorError::NotADirectory {
            path: dir.to_path_buf(),
        }),
        None => {
            fsx::create_dir_all(dir)?;
            Ok(true)
        }
    }
}

fn write_staged(
    lock: &Lockfile,
    dir: &Path,
    staging: &Path,
    sources: &Sources,
    prune: Option<&[Lockfile]>,
) -> Result<Report, MirrorError> {
    let unpacked = match &sources.bundle {
        Some(file) => {
            fsx::create_dir_all(staging)?;
            Some(unpack_bundle(lock, file, &staging.join("bundle"))?)
        }
        None => None,
    };
    let go_dir = dir.join("go");
    let mod_dir = dir.join("mod");
    let mut missing = Vec::new();
    let archives = go::stage(
        lock,
        &go_dir,
        &staging.join("go"),
        sources,
        unpacked.as_deref(),
        &mut missing,
    )?;
    let module_sources = module_sources(lock, sources, unpacked.as_deref());
    let mods = modules::stage(
        lock,
        &mod_dir,
        &staging.join("mod"),
        &module_sources,
        sources.client,
        &mut missing,
    )?;
    if !missing.is_empty() {
        return Err(MirrorError::Unavailable { missing });
    }
    let mut report = Report {
        kept: archives.kept + mods.kept,
        ..Report::default()
    };
    report.added += write::place(&archives.staged)?;
    report.added += write::place(&mods.staged)?;
    if let Some(kept) = prune {
        let keep: Vec<&Lockfile> = std::iter::once(lock).chain(kept).collect();
        report.removed += go::prune(&go_dir, &keep)?;
        report.removed += modules::prune(&mod_dir, &keep)?;
    }
    modules::write_lists(&mod_dir, &mods.touched, prune.is_some())?;
    go::write_listings(&go_dir, &archives.known)?;
    Ok(report)
}

/// Verify the whole bundle into `dest`; its `go/` and `modules/` dirs.
fn unpack_bundle(lock: &Lockfile, file: &Path, dest: &Path) -> Result<PathBuf, MirrorError> {
    bundle::unpack_verified(
        file,
        dest,
        &hex::encode(lock.sha256),
        &lock.trusted_keys,
        &bundle::Limits::default(),
    )?;
    Ok(dest.to_path_buf())
}

/// The bundle's module tree first (verified already), then `--from-cache`
/// and `--proxy`, else golock.toml's proxies.
fn module_sources(lock: &Lockfile, sources: &Sources, bundle: Option<&Path>) -> Vec<Source> {
    let mut all: Vec<Source> = bundle
        .map(|b| Source::Local(b.join("modules")))
        .into_iter()
        .collect();
    if sources.modules.is_empty() {
        all.extend(lock.modules.proxies.iter().cloned());
    } else {
        all.extend(sources.modules.iter().cloned());
    }
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_error_names_each_artifact_and_every_source_tried() {
        let text = unavailable_text(&[Missing {
            artifact: "go1.27.3 archive go1.27.3.linux-amd64.tar.gz".into(),
            tried: vec![("/srv/go".into(), "not found".into())],
        }]);
        assert_eq!(
            text,
            "no source gave 1 artifact as golock.toml locks it:\n  go1.27.3 archive go1.27.3.linux-amd64.tar.gz:\n    - /srv/go: not found"
        );
    }
}
