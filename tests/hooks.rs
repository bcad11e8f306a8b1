//! Exit codes and flags hooks can trust: usage errors exit 1 (2 is drift),
//! a closed stdout is a quiet stop, `--home`/`--root` typos are refused,
//! `check` takes what its help and README list, and `lock` keeps CRLF.
// Tests set up and inspect the host directly, not through golock::fsx.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod support;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

use support::{Host, NEW, archive, expect_exit};

/// 128 + SIGPIPE: golock's quiet stop when stdout's reader left.
const STDOUT_CLOSED: i32 = 141;

/// golock with `--root` and `--home` as given, the test host's lockfile.
fn golock_with(h: &Host, root: &Path, home: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_golock"));
    cmd.arg("--root")
        .arg(root)
        .arg("--home")
        .arg(home)
        .arg("--lockfile")
        .arg(h.lockfile())
        .args(["--color", "never"])
        .current_dir(&h.repo)
        .env("HOME", &h.home);
    for var in ["GOENV", "XDG_CONFIG_HOME", "XDG_DATA_HOME", "GOLOCK_ROOT"] {
        cmd.env_remove(var);
    }
    cmd
}

#[test]
fn usage_errors_exit_1_and_never_read_as_drift() {
    let h = Host::new();
    let cases: &[(&[&str], &str)] = &[
        (
            &["check", "--repo-onyl"],
            "unexpected argument '--repo-onyl'",
        ),
        (&["chek"], "unrecognized subcommand 'chek'"),
        (&["apply", "--http-timeout", "soon"], "invalid value 'soon'"),
        (&["apply", "--sync", "later"], "invalid value 'later'"),
        (&["apply", "--max-entries", "many"], "invalid value 'many'"),
        (&["check", "--detailed-exitcode"], "unexpected argument"),
        (&["plan", "--plan", "x"], "unexpected argument"),
        (&[], "Usage:"),
    ];
    for (args, says) in cases {
        let out = h.expect(args, 1);
        assert!(out.contains(says), "{args:?}: {says}\n{out}");
    }
    let out = h
        .golock()
        .args(["apply", "-y"])
        .env("GOLOCK_SYNC", "later")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "a bad env value is a usage error"
    );
    assert!(!h.root.exists(), "a usage error changes nothing");
}

#[test]
fn help_and_version_exit_0_on_stdout() {
    let h = Host::new();
    for args in [
        &["--help"][..],
        &["-h"],
        &["check", "--help"],
        &["help", "check"],
        &["--version"],
    ] {
        let out = h.golock().args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{args:?}");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            stdout.contains("Usage:") || stdout.starts_with("golock "),
            "{args:?}: {stdout}"
        );
        assert!(out.stderr.is_empty(), "{args:?}");
    }
}

/// Run `args` with stdout a pipe whose reader leaves: at once on even
/// runs, after one line (`| head -1`) on odd ones.
fn assert_closed_stdout_is_quiet(h: &Host, args: &[&str]) {
    for run in 0..20 {
        let mut cmd = h.golock();
        cmd.args(args);
        let (code, stderr) = if run % 2 == 0 {
            with_stdout_closed(&mut cmd)
        } else {
            after_one_line(&mut cmd)
        };
        assert!(
            code == Some(0) || code == Some(STDOUT_CLOSED),
            "{args:?} run {run}: {code:?}\n{stderr}"
        );
        if code == Some(STDOUT_CLOSED) {
            assert!(stderr.is_empty(), "{args:?} run {run}: {stderr}");
        }
    }
}

/// `cmd | head -1`.
fn after_one_line(cmd: &mut Command) -> (Option<i32>, String) {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!stderr.contains("panicked"), "{cmd:?}: {stderr}");
    (out.status.code(), stderr)
}

/// `cmd` with stdout a pipe whose reader left before golock wrote. Another
/// test's child may hold a copy of the reader between its fork and exec, so
/// a write can still land now and then: callers accept golock's normal code.
fn with_stdout_closed(cmd: &mut Command) -> (Option<i32>, String) {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!stderr.contains("panicked"), "{cmd:?}: {stderr}");
    (out.status.code(), stderr)
}

#[test]
fn a_closed_stdout_is_a_quiet_stop_not_a_crash() {
    let h = Host::new();
    h.lock(NEW, Host::standard_extra());
    assert_closed_stdout_is_quiet(&h, &["plan"]);
    assert_closed_stdout_is_quiet(&h, &["plan", "--json"]);
    assert_closed_stdout_is_quiet(&h, &["-v", "plan"]);
}

#[test]
fn apply_to_a_closed_stdout_stops_before_changing_anything() {
    for _attempt in 0..5 {
        let h = Host::new();
        h.lock(NEW, Host::standard_extra());
        let (code, stderr) = with_stdout_closed(h.golock().args(["apply", "-y"]));
        if code == Some(STDOUT_CLOSED) {
            assert!(stderr.is_empty(), "{stderr}");
            assert!(
                !h.root.join("go").exists(),
                "apply went on without a reader"
            );
            return;
        }
        assert_eq!(code, Some(0), "{stderr}");
    }
    panic!("stdout was never seen closed");
}

#[test]
fn drift_lines_to_a_closed_stdout_stop_quietly() {
    let h = Host::new();
    h.lock(NEW, Host::standard_extra());
    let mut quiet_stops = 0;
    for _ in 0..20 {
        let (code, stderr) = with_stdout_closed(h.golock().arg("check"));
        if code == Some(STDOUT_CLOSED) {
            assert!(stderr.is_empty(), "{stderr}");
            quiet_stops += 1;
        } else {
            assert_eq!(code, Some(2), "{stderr}");
        }
    }
    assert!(quiet_stops > 0, "stdout was never seen closed");
}

#[test]
fn a_closed_stderr_only_silences_status_lines() {
    let h = Host::new();
    h.lock(NEW, Host::standard_extra());
    let saved = h.base().join("plan.json");
    let mut child = h
        .golock()
        .args(["plan", "--out"])
        .arg(&saved)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stderr.take());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("+ install"));
    assert!(saved.is_file());
}

#[test]
fn a_home_that_does_not_exist_is_refused_and_not_created() {
    let h = Host::new();
    h.lock(NEW, Host::standard_extra());
    let typo = h.base().join("hmoe");
    for args in [&["plan"][..], &["apply", "-y"], &["check"], &["recover"]] {
        let mut cmd = golock_with(&h, &h.root, &typo);
        cmd.args(args);
        let out = expect_exit(&mut cmd, 1);
        assert!(
            out.contains(&format!("--home {} does not exist", typo.display())),
            "{args:?}\n{out}"
        );
    }
    assert!(!typo.exists(), "the home was created");
    assert!(!h.root.exists(), "the data dir was created");
}

#[test]
fn a_home_or_root_that_is_a_file_is_refused_naming_the_flag() {
    let h = Host::new();
    h.lock(NEW, Host::standard_extra());
    let file = h.base().join("a-file");
    std::fs::write(&file, "not a dir\n").unwrap();
    for (root, home, flag) in [
        (file.as_path(), h.home.as_path(), "--root"),
        (h.root.as_path(), file.as_path(), "--home"),
    ] {
        let mut cmd = golock_with(&h, root, home);
        cmd.args(["apply", "-y"]);
        let out = expect_exit(&mut cmd, 1);
        assert!(
            out.contains(&format!("{flag} {} is not a directory", file.display())),
            "{out}"
        );
    }
    assert_eq!(std::fs::read(&file).unwrap(), b"not a dir\n");
    assert!(!h.root.exists());
    // A data dir that does not exist yet is made.
    let mut cmd = golock_with(&h, &h.base().join("new/root"), &h.home);
    cmd.arg("plan");
    expect_exit(&mut cmd, 0);
}

/// The flags README's table lists for `check`.
fn readme_check_flags() -> Vec<String> {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let row = readme
        .lines()
        .find(|l| l.starts_with("| `check` |"))
        .expect("README has a flag row for check");
    let mut flags: Vec<String> = row
        .split('`')
        .filter(|w| w.starts_with("--"))
        .map(|w| w.split(' ').next().unwrap_or(w).to_string())
        .collect();
    flags.dedup();
    flags
}

#[test]
fn check_takes_every_flag_its_help_and_readme_list() {
    let h = Host::new();
    h.lock(NEW, Host::standard_extra());
    h.expect(&["apply", "-y"], 0);
    let archive = archive(NEW).display().to_string();
    let elsewhere = h.base().join("other-cache").display().to_string();
    let proxy = format!("file://{}", h.base().join("proxy").display());
    let runs: Vec<(&str, Vec<&str>)> = vec![
        ("--repo-only", vec!["--repo-only"]),
        ("--locked", vec!["--locked"]),
        ("--prune", vec!["--prune"]),
        ("--prune-modules", vec!["--prune-modules"]),
        ("--archive", vec!["--archive", &archive]),
        ("--proxy", vec!["--proxy", &proxy]),
        ("--from-cache", vec!["--from-cache", &elsewhere]),
        ("--force", vec!["--force"]),
        ("--json", vec!["--json"]),
    ];
    let mut tested: Vec<&str> = runs.iter().map(|(flag, _)| *flag).collect();
    let mut listed = readme_check_flags();
    tested.sort_unstable();
    listed.sort_unstable();
    assert_eq!(tested, listed, "README's check row and this test disagree");
    let help = h.expect(&["check", "--help"], 0);
    for (flag, args) in &runs {
        assert!(
            help.contains(&format!("{flag} ")),
            "{flag} not in help:\n{help}"
        );
        let out = h.expect(&[&["check"], &args[..]].concat(), 0);
        assert!(out.contains("In sync"), "{flag}: {out}");
    }

    // --prune counts a toolchain golock.toml no longer names as drift.
    std::fs::create_dir_all(h.root.join("toolchains/go1.0.0")).unwrap();
    h.expect(&["check"], 0);
    let drift = h.expect(&["check", "--prune"], 2);
    assert!(drift.contains("drift: host: remove go1.0.0"), "{drift}");
    // --force changes nothing: an edited block is drift either way.
    std::fs::write(h.home.join(".bashrc"), "# emptied by hand\n").unwrap();
    for args in [&["check"][..], &["check", "--force"]] {
        let drift = h.expect(args, 2);
        assert!(drift.contains(".bashrc"), "{args:?}: {drift}");
    }
    // --locked with an incomplete lockfile is an error, not drift.
    std::fs::write(
        h.repo.join("go.sum"),
        "corp.example/x v1.0.0/go.mod h1:G7mAYYxgmS0lVkHyy2hEOLQCFB0DlQFTMLWggykrydY=\n",
    )
    .unwrap();
    h.expect(&["check", "--locked"], 1);
}

#[test]
fn lock_keeps_a_crlf_lockfile_crlf() {
    let h = Host::new();
    std::fs::create_dir_all(h.repo.join("mirror")).unwrap();
    // A mirror with this host's checksum: `lock` refuses to lock from nothing.
    std::fs::write(
        h.repo.join("mirror/SHA256SUMS"),
        format!("{}  go{NEW}.linux-amd64.tar.gz\n", "a".repeat(64)),
    )
    .unwrap();
    let text = format!(
        "# mine\r\nschema = 1\r\n\r\n[go]\r\nversion = \"{NEW}\"\r\nmirrors = [\"mirror\"]\r\nplatforms = [\"linux-amd64\"]\r\n"
    );
    std::fs::write(h.lockfile(), &text).unwrap();
    std::fs::write(
        h.repo.join("go.sum"),
        "corp.example/x v1.0.0/go.mod h1:G7mAYYxgmS0lVkHyy2hEOLQCFB0DlQFTMLWggykrydY=\n",
    )
    .unwrap();
    let out = h.expect(&["lock"], 0);
    assert!(out.contains("+ corp.example/x@v1.0.0"), "{out}");
    let locked = std::fs::read_to_string(h.lockfile()).unwrap();
    assert!(locked.starts_with("# mine\r\nschema = 1\r\n"), "{locked:?}");
    assert!(locked.contains("corp.example/x@v1.0.0"), "{locked:?}");
    assert_eq!(
        locked.matches('\n').count(),
        locked.matches("\r\n").count(),
        "an LF line in {locked:?}"
    );
    // Nothing new: the file is left byte for byte.
    let again = h.expect(&["lock"], 0);
    assert!(again.contains("golock.toml is up to date."), "{again}");
    assert_eq!(std::fs::read_to_string(h.lockfile()).unwrap(), locked);
}
