//! Build facts for `golock --version`: the commit (`git rev-parse --short
//! HEAD`, "unknown" outside golock's own git checkout), the build date
//! (UTC, from SOURCE_DATE_EPOCH when set, for reproducible builds) and the
//! target triple. Nothing here can fail the build.

#[path = "src/civil.rs"]
mod civil;

use std::path::Path;
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

fn main() {
    let manifest_dir = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default();
    let dir = Path::new(&manifest_dir);
    let commit = commit(dir).unwrap_or_else(|| "unknown".to_string());
    println!("cargo:rustc-env=GOLOCK_COMMIT={commit}");
    println!("cargo:rustc-env=GOLOCK_BUILD_DATE={}", build_date());
    let target = std::env::var("TARGET").unwrap_or_else(|_| "unknown".to_string());
    println!("cargo:rustc-env=GOLOCK_TARGET={target}");
    println!("cargo:rerun-if-env-changed=SOURCE_DATE_EPOCH");
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=src/civil.rs");
    for file in files_naming_the_commit(dir) {
        println!("cargo:rerun-if-changed={file}");
    }
}

/// HEAD's short hash, when `dir` is the top of a git work tree (not a
/// crate unpacked inside some other repository).
fn commit(dir: &Path) -> Option<String> {
    let top = git(dir, &["rev-parse", "--show-toplevel"])?;
    if Path::new(&top) != dir {
        return None;
    }
    git(dir, &["rev-parse", "--short", "HEAD"])
}

/// The files whose change means another commit: HEAD, the branch's ref and
/// packed-refs (only those that exist: a missing one would rerun this
/// script, and rebuild golock, on every build).
fn files_naming_the_commit(dir: &Path) -> Vec<String> {
    if commit(dir).is_none() {
        return Vec::new();
    }
    let mut paths = vec!["HEAD".to_string(), "packed-refs".to_string()];
    if let Some(branch) = git(dir, &["symbolic-ref", "-q", "HEAD"]) {
        paths.push(branch);
    }
    paths
        .iter()
        .filter_map(|p| {
            git(
                dir,
                &["rev-parse", "--path-format=absolute", "--git-path", p],
            )
        })
        .filter(|p| Path::new(p).exists())
        .collect()
}

fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .output()
        .ok()?;
    let text = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (out.status.success() && !text.is_empty()).then_some(text)
}

/// The UTC date, YYYY-MM-DD, of SOURCE_DATE_EPOCH or else of now.
fn build_date() -> String {
    let epoch = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.trim().parse::<i64>().ok())
        .unwrap_or_else(|| {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs() as i64)
        });
    let (y, m, d) = civil::civil_from_days(epoch.div_euclid(86_400));
    format!("{y:04}-{m:02}-{d:02}")
}
