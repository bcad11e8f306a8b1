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
    let (path, archive) = open_first(file, sources)?;
    check_size(&path, &archive, *size)?;
    let dest = txn.staging()?.join(format!("go{version}"));
    fsx::create_dir_all(&dest).map_err(ToolchainError::from)?;
    extract_verified(&path, archive, &dest, sha256, opts)?;
    check_shape(&path, &dest, version)?;
    let manifest = Manifest::build(&dest.join("go")).map_err(ToolchainError::from)?;
    fsx::sync_filesystem(&dest).map_err(ToolchainError::from)?;
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

fn open_first(file: &str, sources: &[ArchiveSource]) -> Result<(PathBuf, File), ToolchainError> {
    let mut tried = Vec::new();
    for source in sources {
        match source {
            ArchiveSource::File { path } => match File::open(path) {
                Ok(f) => return Ok((path.clone(), f)),
                Err(e) => tried.push(format!("  {}: {e}", path.display())),
            },
            ArchiveSource::Http { url } => {
                tried.push(format!("  {url}: HTTP mirrors are not supported yet"));
            }
        }
    }
    if sources.is_empty() {
        tried.push("  (golock.toml lists no [go] mirrors)".to_string());
    }
    Err(ToolchainError::NotFound {
        file: file.to_string(),
        tried,
    })
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
) -> Result<(), ToolchainError> {
    let total = archive.metadata().map(|m| m.len()).unwrap_or(0);
    let bar = progress_bar(opts, total, path);
    let result = archive::extract_tar_gz(archive, dest, &opts.limits, &mut |n| bar.set_position(n));
    bar.finish_and_clear();
    let failure = match result {
        Ok(done) if hex::encode(done.sha256) == expected => return Ok(()),
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
