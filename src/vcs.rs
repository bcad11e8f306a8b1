//! What git says changed, for a hook pre-commit runs without file names
//! (`pass_filenames: false`): the files of a `--from-ref/--to-ref` range,
//! else the staged files, else (`--all-files`, or a run by hand on a clean
//! tree) every tracked file.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::proc::{self, ProcError};

/// Each git call ends within this, even on a huge or locked repository.
const GIT_DEADLINE: Duration = Duration::from_secs(60);
/// A file list larger than this is refused rather than held in memory.
const GIT_OUTPUT_CAP: u64 = 64 << 20;

/// Which files [`changed_files`] read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// `git diff FROM...TO`: pre-commit's `--from-ref/--to-ref` (push hooks).
    Range,
    /// `git diff --cached`: a commit.
    Staged,
    /// `git ls-files`: nothing staged touches a watched file.
    Tracked,
}

impl std::fmt::Display for Scope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Scope::Range => "the files of the pushed range (git diff FROM...TO)",
            Scope::Staged => "the staged files (git diff --cached)",
            Scope::Tracked => "every tracked file (git ls-files)",
        })
    }
}

/// The changed files, relative to the work tree's top.
#[derive(Debug)]
pub struct Changed {
    pub top: PathBuf,
    pub files: Vec<PathBuf>,
    pub scope: Scope,
}

#[derive(Debug, thiserror::Error)]
pub enum VcsError {
    #[error(transparent)]
    Run(#[from] ProcError),
    #[error("`git {args}` failed in {dir}: {stderr}")]
    Failed {
        args: String,
        dir: PathBuf,
        stderr: String,
    },
}

/// The files to look at in the work tree around `cwd`; `None` outside a git
/// work tree (or without git). `range` is pre-commit's from/to refs.
/// `watched` tells which staged files count: when none does, every tracked
/// file is returned, since pre-commit ran the hook for files it matched.
pub fn changed_files(
    cwd: &Path,
    range: Option<(&OsStr, &OsStr)>,
    watched: impl Fn(&Path) -> bool,
) -> Result<Option<Changed>, VcsError> {
    let Some(top) = work_tree_top(cwd)? else {
        return Ok(None);
    };
    let changed = |files, scope| {
        Ok(Some(Changed {
            top: top.clone(),
            files,
            scope,
        }))
    };
    if let Some((from, to)) = range {
        let mut spec = from.to_os_string();
        spec.push("...");
        spec.push(to);
        let args = [
            OsStr::new("diff"),
            "--name-only".as_ref(),
            "--no-ext-diff".as_ref(),
            "-z".as_ref(),
            &spec,
        ];
        return changed(git_paths(&top, &args)?, Scope::Range);
    }
    let staged = git_paths(
        &top,
        &["diff", "--cached", "--name-only", "--no-ext-diff", "-z"],
    )?;
    if staged.iter().any(|f| watched(f)) {
        return changed(staged, Scope::Staged);
    }
    changed(
        git_paths(&top, &["ls-files", "-z", "--full-name"])?,
        Scope::Tracked,
    )
}

/// `git rev-parse --show-toplevel`, or `None` when `cwd` is not in a work
/// tree or git is not installed.
fn work_tree_top(cwd: &Path) -> Result<Option<PathBuf>, VcsError> {
    let out = match git(cwd, &["rev-parse", "--show-toplevel"]) {
        Err(ProcError::Spawn { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            return Ok(None);
        }
        other => other?,
    };
    if !out.status.success() {
        return Ok(None);
    }
    let text = String::from_utf8_lossy(&out.stdout);
    Ok(Some(PathBuf::from(text.trim_end_matches(['\n', '\r']))))
}

/// The NUL-separated paths a git command prints.
fn git_paths<S: AsRef<OsStr>>(top: &Path, args: &[S]) -> Result<Vec<PathBuf>, VcsError> {
    let out = git(top, args)?;
    if !out.status.success() {
        return Err(VcsError::Failed {
            args: args
                .iter()
                .map(|a| a.as_ref().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join(" "),
            dir: top.to_path_buf(),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        });
    }
    Ok(split_nul(&out.stdout))
}

fn git<S: AsRef<OsStr>>(dir: &Path, args: &[S]) -> Result<proc::Output, ProcError> {
    proc::run(
        Command::new("git").current_dir(dir).args(args),
        GIT_DEADLINE,
        GIT_OUTPUT_CAP,
    )
}

fn split_nul(bytes: &[u8]) -> Vec<PathBuf> {
    use std::os::unix::ffi::OsStrExt;
    bytes
        .split(|b| *b == 0)
        .filter(|p| !p.is_empty())
        .map(|p| PathBuf::from(OsStr::from_bytes(p)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(dir: &Path, script: &str) {
        let ok = Command::new("sh")
            .args(["-c", script])
            .current_dir(dir)
            .env("GIT_AUTHOR_NAME", "t")
            .env("GIT_AUTHOR_EMAIL", "t@example.com")
            .env("GIT_COMMITTER_NAME", "t")
            .env("GIT_COMMITTER_EMAIL", "t@example.com")
            .status()
            .unwrap()
            .success();
        assert!(ok, "{script}");
    }

    fn is_go_sum(p: &Path) -> bool {
        p.file_name() == Some(OsStr::new("go.sum"))
    }

    #[test]
    fn staged_files_win_and_otherwise_every_tracked_file_counts() {
        let repo = tempfile::tempdir().unwrap();
        sh(
            repo.path(),
            "git init -q && mkdir a b && touch a/go.sum b/go.sum x.go && git add . && git commit -qm init",
        );
        let sub = repo.path().join("b");
        let all = changed_files(&sub, None, is_go_sum).unwrap().unwrap();
        assert_eq!(all.scope, Scope::Tracked);
        assert_eq!(all.files.len(), 3);
        assert_eq!(
            crate::fsx::canonicalize(&all.top).unwrap(),
            crate::fsx::canonicalize(repo.path()).unwrap()
        );

        sh(repo.path(), "echo x >> x.go && git add x.go");
        assert_eq!(
            changed_files(&sub, None, is_go_sum).unwrap().unwrap().scope,
            Scope::Tracked
        );

        sh(repo.path(), "echo x >> b/go.sum && git add b/go.sum");
        let staged = changed_files(&sub, None, is_go_sum).unwrap().unwrap();
        assert_eq!(staged.scope, Scope::Staged);
        assert_eq!(
            staged.files,
            vec![PathBuf::from("b/go.sum"), PathBuf::from("x.go")]
        );
    }

    #[test]
    fn a_range_lists_what_it_touched() {
        let repo = tempfile::tempdir().unwrap();
        sh(
            repo.path(),
            "git init -q && touch go.sum && git add . && git commit -qm one && mkdir m && touch m/go.mod && git add . && git commit -qm two",
        );
        let range = (OsStr::new("HEAD~1"), OsStr::new("HEAD"));
        let changed = changed_files(repo.path(), Some(range), is_go_sum)
            .unwrap()
            .unwrap();
        assert_eq!(changed.scope, Scope::Range);
        assert_eq!(changed.files, vec![PathBuf::from("m/go.mod")]);
    }

    #[test]
    fn outside_a_work_tree_there_is_nothing() {
        let dir = tempfile::tempdir().unwrap();
        assert!(
            changed_files(dir.path(), None, is_go_sum)
                .unwrap()
                .is_none()
        );
    }
}
