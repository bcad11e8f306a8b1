//! Installing one toolchain: open the archive from the first source that has
//! it, verify and extract it in one pass into staging, check its shape, then
//! rename it into place under the transaction.

use std::fs::{self, File};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use indicatif::{ProgressBar, ProgressStyle};

use super::{ApplyError, Options};
use crate::archive::{self, ArchiveError};
use crate::checkpoint;
use crate::durability;
use crate::fetch::{self, Http};
use crate::fsx::{self, Context};
use crate::layout::Layout;
use crate::plan::{Action, ArchiveSource};
use crate::txn::Transaction;
use crate::verify::Manifest;

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum ToolchainError {
    #[error("no source has {file}:\n{}", tried.join("\n"))]
    #[diagnostic(
        code(golock::toolchain::not_found),
        help("put {file} in one of [go] mirrors, or pass --archive PATH")
    )]
    NotFound { file: String, tried: Vec<String> },
    #[error("{} is {actual} bytes, golock.toml says {expected}", path.display())]
    #[diagnostic(
        code(golock::toolchain::size_mismatch),
        help("the archive is not the one that was locked; nothing was installed")
    )]
    SizeMismatch {
        path: PathBuf,
        expected: u64,
        actual: u64,
    },
    #[error("checksum mismatch for {}:\n  expected sha256 {expected}\n  actual   sha256 {actual}", path.display())]
    #[diagnostic(
        code(golock::toolchain::checksum_mismatch),
        help("the archive is not the one that was locked; nothing was installed")
    )]
    ChecksumMismatch {
        path: PathBuf,
        expected: String,
        actual: String,
    },
    #[error("{}: {source}", path.display())]
    #[diagnostic(code(golock::toolchain::archive))]
    Archive {
        path: PathBuf,
        #[source]
        #[diagnostic_source]
        source: ArchiveError,
    },
    #[error("{} is not a Go {version} distribution: {problem}", path.display())]
    #[diagnostic(
        code(golock::toolchain::shape),
        help("a Go archive holds one top-level go/ directory with VERSION and bin/go")
    )]
    Shape {
        path: PathBuf,
        version: String,
        problem: String,
    },
    #[error(transparent)]
    #[diagnostic(transparent)]
    Fs(#[from] fsx::FsError),
}

pub fn install(
    action: &Action,
    layout: &Layout,
    opts: &Options,
    txn: &mut Transaction,
) -> Result<(), ApplyError> {
    let Action::InstallToolchain {
        version,
        file,
        sha256,
        size,
        target,
        sources,
        replaces,
        ..
    } = action
    else {
        return Ok(());
    };
    let dest = txn.staging()?.join(format!("go{version}"));
    let (path, files) = extract_from_first_good(file, sha256, *size, sources, layout, &dest, opts)?;
    check_shape(&path, &dest, version)?;
    let manifest = Manifest::from_written(&files, Path::new("go"));
    durability::sync_data(opts.sync, &dest).map_err(ToolchainError::from)?;
    checkpoint::reach("after-staging");
    if replaces.is_some() && fsx::exists_no_follow(target) {
        txn.move_aside(target, "toolchain-aside")?;
    }
    txn.install_tree(&dest.join("go"), target, "toolchain")?;
    let dir_name = format!("go{version}");
    txn.write_file(
        &layout.manifest_file(&dir_name),
        &manifest.to_bytes(),
        "manifest",
    )?;
    Ok(())
}

/// Try the content-addressed cache, then every source in order, until one
/// gives an archive whose size and sha256 match; each failure is recorded
/// and the next source tried. Returns the archive's path and the files
/// written.
fn extract_from_first_good(
    file: &str,
    sha256: &str,
    size: u64,
    sources: &[ArchiveSource],
    layout: &Layout,
    dest: &Path,
    opts: &Options,
) -> Result<(PathBuf, Vec<archive::WrittenFile>), ToolchainError> {
    let cached = layout.archive_cache(sha256);
    let mut tried = Vec::new();
    let mut http: Option<Http> = None;
    let candidates = std::iter::once(ArchiveSource::File {
        path: cached.clone(),
    })
    .chain(sources.iter().cloned());
    for (i, source) in candidates.enumerate() {
        let from_cache = i == 0;
        let local = match &source {
            ArchiveSource::File { path } if from_cache && !path.exists() => continue,
            ArchiveSource::File { path } => path.clone(),
            ArchiveSource::Http { url } => match download(url, sha256, layout, &mut http, opts) {
                Ok(p) => p,
                Err(reason) => {
                    tried.push(format!("  {url}: {reason}"));
                    continue;
                }
            },
        };
        fsx::remove_tree_opt(dest)?;
        fsx::create_dir_all(dest)?;
        match extract_one(&local, dest, sha256, size, opts) {
            Ok(files) => {
                keep_in_cache(&local, &cached, &source);
                return Ok((local, files));
            }
            Err(reason) => {
                if matches!(source, ArchiveSource::Http { .. }) || from_cache {
                    let _ = fsx::remove_file_opt(&local); // never keep bad bytes
                }
                tried.push(format!("  {}: {reason}", describe(&source)));
            }
        }
    }
    fsx::remove_tree_opt(dest)?;
    if sources.is_empty() {
        tried.push("  (golock.toml lists no [go] mirrors)".to_string());
    }
    Err(ToolchainError::NotFound {
        file: file.to_string(),
        tried,
    })
}

fn describe(source: &ArchiveSource) -> String {
    match source {
        ArchiveSource::File { path } => path.display().to_string(),
        ArchiveSource::Http { url } => url.clone(),
    }
}

/// Open, size-check and extract one local archive, hashing while extracting.
fn extract_one(
    path: &Path,
    dest: &Path,
    sha256: &str,
    size: u64,
    opts: &Options,
) -> Result<Vec<archive::WrittenFile>, String> {
    let archive = File::open(path).map_err(|e| e.to_string())?;
    check_size(path, &archive, size).map_err(|e| e.to_string())?;
    extract_verified(path, archive, dest, sha256, opts).map_err(|e| match e {
        ToolchainError::ChecksumMismatch {
            expected, actual, ..
        } => format!("checksum mismatch: expected sha256 {expected}, got {actual}"),
        other => other.to_string(),
    })
}

/// Download `url` (resuming a `.partial` left by an earlier try, retrying
/// with backoff) next to the cache entry it will become once verified.
fn download(
    url: &str,
    sha256: &str,
    layout: &Layout,
    http: &mut Option<Http>,
    opts: &Options,
) -> Result<PathBuf, String> {
    if http.is_none() {
        *http = Some(Http::new(opts.http.clone()).map_err(|e| e.to_string())?);
    }
    let Some(client) = http.as_ref() else {
        return Err("no HTTP client".into());
    };
    let dest = layout.archive_cache(sha256).with_extension("download");
    fsx::create_dir_all(fsx::parent_of(&dest)).map_err(|e| e.to_string())?;
    let bar = progress_bar(opts, 0, Path::new(url.rsplit('/').next().unwrap_or(url)));
    let result = fetch::download(client, url, &dest, &mut |n, total| {
        if let Some(t) = total {
            bar.set_length(t);
        }
        bar.set_position(n);
    });
    bar.finish_and_clear();
    result.map(|_| dest).map_err(|e| e.to_string())
}

/// A verified download becomes `<root>/cache/<sha256>`, reused by later
/// applies (and bundles); a failure to keep it only costs a re-download.
fn keep_in_cache(local: &Path, cached: &Path, source: &ArchiveSource) {
    if matches!(source, ArchiveSource::Http { .. }) && local != cached {
        let _ = fsx::rename_durable(local, cached);
    }
}

fn check_size(path: &Path, archive: &File, expected: u64) -> Result<(), ToolchainError> {
    let actual = archive.metadata().ctx("stat", path)?.len();
    if expected != 0 && actual != expected {
        return Err(ToolchainError::SizeMismatch {
            path: path.to_path_buf(),
            expected,
            actual,
        });
    }
    Ok(())
}

/// Hash while extracting; a mismatch removes what was staged.
fn extract_verified(
    path: &Path,
    archive: File,
    dest: &Path,
    expected: &str,
    opts: &Options,
) -> Result<Vec<archive::WrittenFile>, ToolchainError> {
    let total = archive.metadata().map(|m| m.len()).unwrap_or(0);
    let bar = progress_bar(opts, total, path);
    let result = archive::extract_tar_gz(archive, dest, &opts.limits, &mut |n| bar.set_position(n));
    bar.finish_and_clear();
    let failure = match result {
        Ok(done) if hex::encode(done.sha256) == expected => return Ok(done.files),
        Ok(done) => ToolchainError::ChecksumMismatch {
            path: path.to_path_buf(),
            expected: expected.to_string(),
            actual: hex::encode(done.sha256),
        },
        Err(source) => ToolchainError::Archive {
            path: path.to_path_buf(),
            source,
        },
    };
    fsx::remove_tree_opt(dest)?;
    Err(failure)
}

fn progress_bar(opts: &Options, total: u64, path: &Path) -> ProgressBar {
    if !opts.progress_bar || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(total);
    let style =
        ProgressStyle::with_template("{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
    bar.set_style(style);
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    bar.set_message(name);
    bar
}

fn check_shape(path: &Path, dest: &Path, version: &str) -> Result<(), ToolchainError> {
    let problem = |problem: String| ToolchainError::Shape {
        path: path.to_path_buf(),
        version: version.to_string(),
        problem,
    };
    let top: Vec<String> = fs::read_dir(dest)
        .ctx("list", dest)?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    if top != ["go"] || !dest.join("go").is_dir() {
        return Err(problem(format!(
            "expected exactly one top-level directory go/, found: {}",
            top.join(", ")
        )));
    }
    let version_file = fsx::read_opt(&dest.join("go/VERSION"))?.unwrap_or_default();
    let first = String::from_utf8_lossy(
        version_file
            .split(|&b| b == b'\n')
            .next()
            .unwrap_or_default(),
    )
    .trim()
    .to_string();
    if first != format!("go{version}") {
        return Err(problem(format!(
            "go/VERSION says {first:?}, expected \"go{version}\""
        )));
    }
    if !dest.join("go/bin/go").is_file() {
        return Err(problem("go/bin/go is missing".to_string()));
    }
    Ok(())
}
