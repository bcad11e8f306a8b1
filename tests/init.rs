//! `golock init` (issue #11, B.3): the Go release it takes from go.mod, the
//! flags that override it, and a starter golock.toml that locks, plans and
//! applies as written.
// Tests set up and inspect the host directly, not through golock::fsx.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod support;

use support::{Host, NEW, archive, digest, says};

const BEGIN: &str = "# >>> golock >>>";
const HINT: &str = "open a new shell or run `. ~/.profile`";

/// A host whose repo has this go.mod.
fn repo_with(go_mod: &str) -> Host {
    let h = Host::new();
    std::fs::write(h.repo.join("go.mod"), go_mod).unwrap();
    h
}

fn written(h: &Host) -> String {
    std::fs::read_to_string(h.lockfile()).unwrap()
}

fn parsed(h: &Host) -> toml::Table {
    toml::from_str(&written(h)).unwrap()
}

fn strings(value: &toml::Value) -> Vec<String> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect()
}

/// A mirror dir in the repo holding the test archive and its SHA256SUMS.
fn mirror_dir(h: &Host) -> std::path::PathBuf {
    let mirror = h.repo.join("go-mirror");
    std::fs::create_dir_all(&mirror).unwrap();
    let file = format!("go{NEW}.linux-amd64.tar.gz");
    std::fs::copy(archive(NEW), mirror.join(&file)).unwrap();
    let (sha, _) = digest(&archive(NEW));
    std::fs::write(mirror.join("SHA256SUMS"), format!("{sha}  {file}\n")).unwrap();
    mirror
}

#[test]
fn the_toolchain_line_names_the_release_and_profiles_default_to_profile_and_bashrc() {
    let h = repo_with("module corp.example/app\n\ngo 1.21\ntoolchain go1.27.3\n");
    h.succeed(&["init"]);
    let text = written(&h);
    let lock = parsed(&h);
    assert_eq!(lock["go"]["version"].as_str(), Some("1.27.3"), "{text}");
    assert_eq!(
        strings(&lock["profile"]["files"]),
        ["~/.profile", "~/.bashrc"],
        "{text}"
    );
    assert!(lock["go"].get("mirrors").is_none(), "{text}");
    assert!(
        text.contains("\n# mirrors = [\"https://go.dev/dl/\", \"/srv/go-mirror\"]\n"),
        "a commented example: {text}"
    );
    assert!(
        text.contains("find the Go archives"),
        "says what it is for: {text}"
    );
    h.expect(&["check", "--repo-only"], 0);
}

#[test]
fn a_go_line_naming_a_release_is_the_version() {
    let h = repo_with("module corp.example/app\n\ngo 1.25.0\n");
    h.succeed(&["init"]);
    assert_eq!(parsed(&h)["go"]["version"].as_str(), Some("1.25.0"));
}

#[test]
fn a_language_version_is_refused_naming_go_mod_its_line_and_go_version() {
    for (go_mod, line, directive) in [
        ("module corp.example/app\n\ngo 1.15\n", 3, "go 1.15"),
        ("module corp.example/app\ngo 1.22\n", 2, "go 1.22"),
    ] {
        let h = repo_with(go_mod);
        let err = h.expect(&["init"], 1);
        assert!(says(&err, "go.mod: line"), "{err}");
        assert!(says(&err, &format!("line {line} `{directive}`")), "{err}");
        assert!(says(&err, "not a Go release to install"), "{err}");
        assert!(says(&err, "--go-version 1.25.0"), "{err}");
        assert!(!h.lockfile().exists(), "nothing written for {go_mod:?}");
    }
}

#[test]
fn go_version_overrides_go_mod_and_must_be_a_release() {
    let h = repo_with("module corp.example/app\n\ngo 1.15\n");
    for bad in ["1.25", "go1.25.0", "latest"] {
        let err = h.expect(&["init", "--go-version", bad], 1);
        assert!(says(&err, "expected a Go release 1.N.P"), "{bad}: {err}");
        assert!(!h.lockfile().exists());
    }
    h.succeed(&["init", "--go-version", "1.25.0"]);
    assert_eq!(parsed(&h)["go"]["version"].as_str(), Some("1.25.0"));

    let h = repo_with("module corp.example/app\n\ngo 1.21\ntoolchain go1.27.3\n");
    h.succeed(&["init", "--go-version", "1.26.1"]);
    assert_eq!(parsed(&h)["go"]["version"].as_str(), Some("1.26.1"));
}

#[test]
fn profile_and_mirror_flags_are_written_as_given() {
    let h = repo_with("module corp.example/app\n\ngo 1.25.0\n");
    h.succeed(&[
        "init",
        "--profile",
        "~/.zshrc",
        "--profile",
        ".config/env.sh",
        "--mirror",
        "https://go.dev/dl/",
        "--mirror",
        "/srv/go-mirror",
        "--mirror",
        "go-mirror",
    ]);
    let text = written(&h);
    let lock = parsed(&h);
    assert_eq!(
        strings(&lock["profile"]["files"]),
        ["~/.zshrc", ".config/env.sh"],
        "{text}"
    );
    assert_eq!(
        strings(&lock["go"]["mirrors"]),
        ["https://go.dev/dl/", "/srv/go-mirror", "go-mirror"],
        "{text}"
    );
    assert!(
        !text.contains("# mirrors ="),
        "no commented example: {text}"
    );
    h.expect(&["check", "--repo-only"], 0);
}

#[test]
fn init_lock_plan_apply_installs_the_toolchain_and_writes_the_profiles() {
    let h = repo_with("module corp.example/app\n\ngo 1.21\ntoolchain go1.27.3\n");
    mirror_dir(&h);
    h.succeed(&["init", "--mirror", "go-mirror"]);
    h.succeed(&["lock"]);
    let (sha, size) = digest(&archive(NEW));
    let text = written(&h);
    assert!(
        text.contains(&format!("sha256 = \"{sha}\", size = {size}")),
        "{text}"
    );
    let plan = h.expect(&["plan"], 0);
    assert!(says(&plan, &format!("install go{NEW}")), "{plan}");
    let applied = support::combined_output(&h.succeed(&["apply", "-y"]));
    assert!(says(&applied, HINT), "first apply hints: {applied}");
    assert!(h.active_go_version().contains(NEW), "toolchain installed");
    for profile in [".profile", ".bashrc"] {
        let body = String::from_utf8(h.read_home(profile)).unwrap();
        assert!(body.contains(BEGIN), "{profile}: {body}");
        assert!(body.contains("GOTOOLCHAIN"), "{profile}: {body}");
    }
    assert!(
        h.login_shell("go version").contains(NEW),
        "a new login shell finds the toolchain"
    );
    h.expect(&["check"], 0);
}

/// The hint names the first profile file that gets a new block, on stderr,
/// and only on the apply that creates it; never with --quiet.
#[test]
fn the_new_shell_hint_follows_only_the_apply_that_creates_a_block() {
    let h = Host::new();
    let env = |value: &str| {
        format!("[env]\nFOO = \"{value}\"\n\n[profile]\nfiles = [\"~/.bashrc\", \"~/.profile\"]\n")
    };
    h.lock(NEW, &env("1"));
    std::fs::write(h.home.join(".bashrc"), "alias ll='ls -l'\n").unwrap();
    let first = h.succeed(&["apply", "-y"]);
    let stderr = String::from_utf8_lossy(&first.stderr);
    assert!(
        says(&stderr, "open a new shell or run `. ~/.bashrc`"),
        "the first file listed, on stderr: {stderr}"
    );
    assert!(!String::from_utf8_lossy(&first.stdout).contains("new shell"));

    let before = h.read_home(".bashrc");
    h.lock(NEW, &env("2"));
    let update = support::combined_output(&h.succeed(&["apply", "-y"]));
    assert_ne!(h.read_home(".bashrc"), before, "the block was updated");
    assert!(
        !update.contains("new shell"),
        "no hint on an update: {update}"
    );

    // A block that is new in one file: the hint names that file; -q says nothing.
    let profile = String::from_utf8(h.read_home(".profile")).unwrap();
    std::fs::write(h.home.join(".profile"), "export A=1\n").unwrap();
    let readded = support::combined_output(&h.succeed(&["apply", "-y"]));
    assert!(says(&readded, HINT), "{readded}");
    assert!(profile.contains(BEGIN));
    std::fs::write(h.home.join(".bashrc"), "").unwrap();
    let quiet = h.succeed(&["-q", "apply", "-y"]);
    assert!(
        quiet.stderr.is_empty() && quiet.stdout.is_empty(),
        "{quiet:?}"
    );
    assert!(
        String::from_utf8(h.read_home(".bashrc"))
            .unwrap()
            .contains(BEGIN)
    );
}
