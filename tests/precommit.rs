//! `golock hook check|lock FILE…`, what the pre-commit hooks run: the
//! golock.toml beside each changed go.mod, go.sum or golock.toml, drift
//! lines naming their lockfile, and a relock that never uses the network.
//! (scripts/precommit-test.sh runs them under the real pre-commit.)
// Tests set up and inspect the host directly, not through golock::fsx.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod support;

use std::net::TcpListener;
use std::process::Command;

use support::{Host, NEW, archive, archives_dir, digest, expect_exit};

const MODULE_LINE: &str =
    "corp.example/x v1.0.0/go.mod h1:G7mAYYxgmS0lVkHyy2hEOLQCFB0DlQFTMLWggykrydY=\n";

/// golock run from the repo root as pre-commit runs a hook: no --lockfile.
fn hook(h: &Host, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_golock"));
    cmd.arg("--root")
        .arg(&h.root)
        .arg("--home")
        .arg(&h.home)
        .args(["--color", "never", "hook"])
        .args(args)
        .current_dir(&h.repo)
        .env("HOME", &h.home)
        .env_remove("GOLOCK_LOCKFILE")
        .env_remove("GOLOCK_ROOT");
    cmd
}

/// A module dir under the repo: golock.toml locking this host's archive
/// (mirrors as given) and a go.sum holding `go_sum`.
fn module(h: &Host, dir: &str, mirrors: &str, go_sum: &str) {
    let (sha, size) = digest(&archive(NEW));
    let dir = h.repo.join(dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("golock.toml"),
        format!(
            "schema = 1\n\n[go]\nversion = \"{NEW}\"\nmirrors = [{mirrors}]\nplatforms = [\"linux-amd64\"]\n\n[go.archives]\nlinux-amd64 = {{ file = \"go{NEW}.linux-amd64.tar.gz\", sha256 = \"{sha}\", size = {size} }}\n"
        ),
    )
    .unwrap();
    std::fs::write(dir.join("go.sum"), go_sum).unwrap();
}

fn local_mirror() -> String {
    format!("\"{}\"", archives_dir().display())
}

#[test]
fn hook_check_reports_only_the_lockfiles_beside_the_changed_files() {
    let h = Host::new();
    module(&h, "svc/a", &local_mirror(), MODULE_LINE);
    module(&h, "svc/b", &local_mirror(), "");
    std::fs::create_dir_all(h.repo.join("tools")).unwrap();
    std::fs::write(h.repo.join("tools/go.mod"), "module example.com/tools\n").unwrap();

    let quiet = expect_exit(&mut hook(&h, &["check", "svc/b/go.sum", "tools/go.mod"]), 0);
    assert!(quiet.contains("In sync: 1 golock.toml file(s)"), "{quiet}");
    let out = hook(
        &h,
        &["check", "svc/b/go.mod", "svc/a/go.sum", "svc/a/golock.toml"],
    )
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        stdout,
        "drift: svc/a/golock.toml: corp.example/x@v1.0.0 is in go.sum but not in golock.toml\n"
    );
}

#[test]
fn hook_lock_rewrites_offline_then_finds_nothing_to_do() {
    let h = Host::new();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let http_mirror = format!("\"http://{}/go\"", listener.local_addr().unwrap());
    module(&h, "svc/a", &http_mirror, MODULE_LINE);
    let lockfile = h.repo.join("svc/a/golock.toml");
    let before = std::fs::read_to_string(&lockfile).unwrap();

    let out = expect_exit(&mut hook(&h, &["lock", "svc/a/go.sum"]), 2);
    assert!(
        out.contains("Rewrote svc/a/golock.toml: review and stage the change."),
        "{out}"
    );
    let after = std::fs::read_to_string(&lockfile).unwrap();
    assert!(after.contains("\"corp.example/x@v1.0.0\""), "{after}");
    assert!(after.starts_with(&before[..before.find("[go.archives]").unwrap()]));

    let again = expect_exit(&mut hook(&h, &["lock", "svc/a/go.sum"]), 0);
    assert!(
        again.contains("svc/a/golock.toml is up to date."),
        "{again}"
    );
    assert_eq!(std::fs::read_to_string(&lockfile).unwrap(), after);
    assert_no_connection(&listener);
}

/// `lock --offline` with only an HTTP mirror and nothing locked: it fails
/// saying the mirror was skipped, and never connects to it.
#[test]
fn lock_offline_never_asks_an_http_mirror() {
    let h = Host::new();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    std::fs::write(
        h.lockfile(),
        format!(
            "schema = 1\n\n[go]\nversion = \"{NEW}\"\nmirrors = [\"http://{}/go\"]\nplatforms = [\"linux-amd64\"]\n",
            listener.local_addr().unwrap()
        ),
    )
    .unwrap();
    let before = std::fs::read(h.lockfile()).unwrap();
    let out = expect_exit(h.golock().args(["lock", "--offline"]), 1);
    assert!(out.contains("skipped: --offline"), "{out}");
    assert_no_connection(&listener);
    assert_eq!(std::fs::read(h.lockfile()).unwrap(), before);
}

fn assert_no_connection(listener: &TcpListener) {
    match listener.accept() {
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
        other => panic!("golock connected to the HTTP mirror: {other:?}"),
    }
}

fn git(h: &Host, script: &str) {
    let ok = Command::new("sh")
        .args(["-c", script])
        .current_dir(&h.repo)
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.com")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.com")
        .status()
        .unwrap()
        .success();
    assert!(ok, "{script}");
}

/// The hooks' `pass_filenames: false`: with no file named, golock asks git.
/// Staged files pick the lockfiles; with nothing relevant staged (as under
/// `pre-commit run --all-files`) every tracked golock.toml is checked.
#[test]
fn hook_check_without_files_asks_git_what_changed() {
    let h = Host::new();
    module(&h, "svc/a", &local_mirror(), MODULE_LINE);
    module(&h, "svc/b", &local_mirror(), "");
    git(&h, "git init -q && git add . && git commit -qm init");

    let out = hook(&h, &["check"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "drift: svc/a/golock.toml: corp.example/x@v1.0.0 is in go.sum but not in golock.toml\n"
    );

    git(&h, "echo >> svc/b/go.sum && git add svc/b/go.sum");
    let staged = expect_exit(
        hook(&h, &["-v", "check"]).current_dir(h.repo.join("svc")),
        0,
    );
    assert!(
        staged.contains("In sync: 1 golock.toml file(s)"),
        "{staged}"
    );
    assert!(staged.contains("the staged files"), "{staged}");
}
