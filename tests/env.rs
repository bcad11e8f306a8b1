//! `golock env` and `golock exec`: per-repo activation without switching the
//! host. Two repos lock two Go versions, both applied into one data dir (the
//! second apply wins the global link); in each repo real bash, zsh, fish and
//! direnv get that repo's toolchain, `exec` runs it, and nothing on the host
//! changes. A toolchain that is not installed is an error naming `golock
//! apply`.
// Tests set up and inspect the host directly, not through golock::fsx.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod support;

use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use support::{Host, NEW, assert_succeeded, expect_exit, old_version, snapshot};

/// `[env]` with a value every shell must keep literal, and the profile files.
fn extra(mark: &str) -> String {
    format!(
        "[env]\nGOFLAGS = \"-mod=mod\"\nGOTOOLCHAIN = \"local\"\nREPO_MARK = \"{mark}\"\n\n[profile]\nfiles = [\"~/.profile\", \"~/.bashrc\"]\ngoenv = false\n"
    )
}

const MARK_A: &str = r#"A: it's $HOME `id` \\ \"q\""#;
const MARK_A_VALUE: &str = r#"A: it's $HOME `id` \ "q""#;

/// One host, repo A locking [`NEW`] and repo B locking the old version,
/// applied in that order (so the global link points at the old one).
struct TwoRepos {
    h: Host,
    a: PathBuf,
    b: PathBuf,
    /// HOME and XDG dirs for the shells and direnv: their own files (fish's
    /// variables, direnv's allow list) stay out of the host compared.
    scratch: tempfile::TempDir,
}

impl TwoRepos {
    fn new() -> TwoRepos {
        let h = Host::new();
        let b = h.base().join("repo-b");
        std::fs::create_dir_all(&b).unwrap();
        h.lock(&old_version(), &extra("B"));
        std::fs::rename(h.lockfile(), b.join("golock.toml")).unwrap();
        h.lock(NEW, &extra(MARK_A));
        h.succeed(&["apply", "-y"]);
        h.succeed_for(&b.join("golock.toml"), &["apply", "-y"]);
        assert!(
            h.active_go_version()
                .contains(&format!("go{}", old_version()))
        );
        let a = h.repo.clone();
        let scratch = tempfile::tempdir().unwrap();
        TwoRepos { h, a, b, scratch }
    }

    /// `golock` with this host's root and home, the lockfile found from the
    /// current dir (as a shell in the repo would), quoted for sh and fish.
    fn golock_words(&self) -> String {
        format!(
            "'{}' --root '{}' --home '{}' --color never",
            env!("CARGO_BIN_EXE_golock"),
            self.h.root.display(),
            self.h.home.display()
        )
    }

    /// `env -i` with a scratch HOME and XDG dirs and a bare PATH: append the program.
    fn bare(&self) -> Command {
        let scratch = self.scratch.path();
        let mut cmd = Command::new("env");
        cmd.arg("-i")
            .arg(format!("HOME={}", scratch.display()))
            .arg(format!(
                "XDG_CONFIG_HOME={}",
                scratch.join("config").display()
            ))
            .arg(format!("XDG_DATA_HOME={}", scratch.join("data").display()))
            .arg(format!(
                "XDG_CACHE_HOME={}",
                scratch.join("cache").display()
            ))
            .arg("PATH=/usr/bin:/bin");
        cmd
    }

    /// `script` in `shell` (args before `-c`) in `dir`, with a bare environment.
    fn shell(&self, shell: &[&str], dir: &Path, script: &str) -> String {
        let mut cmd = self.bare();
        cmd.args(shell).arg("-c").arg(script).current_dir(dir);
        stdout_ok(&mut cmd)
    }

    /// `golock exec -- args…` in `dir`, the lockfile found from there.
    fn exec(&self, dir: &Path, args: &[&str]) -> std::process::Output {
        let mut cmd = self.bare();
        cmd.arg(env!("CARGO_BIN_EXE_golock"))
            .arg("--root")
            .arg(&self.h.root)
            .arg("--home")
            .arg(&self.h.home)
            .args(["exec", "--"])
            .args(args)
            .current_dir(dir);
        cmd.output().unwrap()
    }

    /// The link, the profile files, the go env file, state: everything but the repos.
    fn host_snapshot(&self) -> Vec<(String, String)> {
        let mut all: Vec<(String, String)> = snapshot(&self.h.root).into_iter().collect();
        all.extend(snapshot(&self.h.home));
        all.retain(|(path, _)| path != "lock");
        all
    }
}

/// Run `cmd`, assert it succeeded; its stdout (direnv talks on stderr).
fn stdout_ok(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    assert_succeeded(&out, cmd);
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn go_line(version: &str) -> String {
    format!("go version go{version} linux/amd64")
}

/// What the shell prints after activation: `go version`, GOROOT, the mark.
const REPORT: &str = r#"go version; printf '%s\n' "$GOROOT" "$REPO_MARK" "$PATH""#;
const FISH_REPORT: &str =
    r#"go version; printf '%s\n' "$GOROOT" "$REPO_MARK"; string join : $PATH"#;

fn assert_report(out: &str, t: &TwoRepos, version: &str, mark: &str) {
    let lines: Vec<&str> = out.lines().collect();
    let goroot = t.h.root.join(format!("toolchains/go{version}"));
    assert_eq!(lines[0], go_line(version), "{out}");
    assert_eq!(lines[1], goroot.display().to_string(), "{out}");
    assert_eq!(lines[2], mark, "{out}");
    let bin = format!("{}/bin", goroot.display());
    assert!(lines[3].starts_with(&format!("{bin}:")), "{out}");
    assert_eq!(lines[3].matches(&bin).count(), 1, "{out}");
}

#[test]
fn each_repo_gets_its_own_toolchain_in_every_shell_and_the_host_is_untouched() {
    let t = TwoRepos::new();
    let before = t.host_snapshot();
    let old = old_version();
    let golock = t.golock_words();
    for (dir, version, mark) in [(&t.a, NEW, MARK_A_VALUE), (&t.b, old.as_str(), "B")] {
        // bash, evaluated twice: PATH holds the toolchain's bin once.
        let bash = format!(
            r#"eval "$({golock} env --shell bash)"; eval "$({golock} env --shell bash)"; {REPORT}"#
        );
        assert_report(&t.shell(&["bash", "--norc"], dir, &bash), &t, version, mark);
        // The default syntax follows $SHELL: POSIX sh for dash.
        let sh = format!(r#"eval "$(SHELL=/bin/dash {golock} env)"; {REPORT}"#);
        assert_report(&t.shell(&["sh"], dir, &sh), &t, version, mark);
        let zsh = format!(r#"eval "$({golock} env --shell zsh)"; {REPORT}"#);
        assert_report(&t.shell(&["zsh", "-f"], dir, &zsh), &t, version, mark);
        let fish = format!("{golock} env --shell fish | source; {FISH_REPORT}");
        assert_report(
            &t.shell(&["fish", "--no-config"], dir, &fish),
            &t,
            version,
            mark,
        );
        let fish_default = format!("env SHELL=/usr/bin/fish {golock} env | source; {FISH_REPORT}");
        let out = t.shell(&["fish", "--no-config"], dir, &fish_default);
        assert_report(&out, &t, version, mark);

        let out = t.exec(dir, &["go", "version"]);
        assert!(out.status.success(), "{out:?}");
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).trim(),
            go_line(version)
        );
        let out = t.exec(dir, &["sh", "-c", r#"printf '%s' "$REPO_MARK""#]);
        assert_eq!(String::from_utf8_lossy(&out.stdout), mark);
    }
    assert_eq!(t.host_snapshot(), before, "env/exec changed the host");
    assert!(t.h.active_go_version().contains(&go_line(&old)));
}

#[test]
fn exec_hands_over_exit_codes_and_signals_and_says_when_cmd_is_missing() {
    let t = TwoRepos::new();
    let code = t.exec(&t.a, &["sh", "-c", "exit 7"]);
    assert_eq!(code.status.code(), Some(7), "{code:?}");
    let killed = t.exec(&t.a, &["sh", "-c", "kill -TERM $$"]);
    assert_eq!(killed.status.signal(), Some(15), "{killed:?}");
    let missing = t.exec(&t.a, &["no-such-command-golock"]);
    assert_eq!(missing.status.code(), Some(127), "{missing:?}");
    assert!(missing.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert!(
        stderr.contains("no-such-command-golock: command not found"),
        "{stderr}"
    );
    // Flags after `--` are the command's, not golock's.
    let out = t.exec(&t.b, &["go", "env", "-json", "GOROOT"]);
    assert!(out.status.success(), "{out:?}");
    let goroot = t.h.root.join(format!("toolchains/go{}", old_version()));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains(&goroot.display().to_string()),
        "{out:?}"
    );
}

#[test]
fn direnv_follows_the_lockfile_of_each_repo() {
    let direnv = Command::new("direnv").arg("version").output();
    assert!(
        direnv.is_ok_and(|o| o.status.success()),
        "direnv is missing: scripts/test.sh installs Debian's direnv"
    );
    let t = TwoRepos::new();
    let golock = t.golock_words();
    for dir in [&t.a, &t.b] {
        let envrc = format!("eval \"$({golock} env --shell bash)\"\n");
        std::fs::write(dir.join(".envrc"), envrc).unwrap();
    }
    let before = t.host_snapshot();
    for (dir, version) in [(&t.a, NEW.to_string()), (&t.b, old_version())] {
        stdout_ok(t.bare().arg("direnv").arg("allow").arg(dir));
        let mut exec = t.bare();
        exec.arg("direnv")
            .arg("exec")
            .arg(dir)
            .args(["go", "version"]);
        assert_eq!(stdout_ok(&mut exec).trim(), go_line(&version));
        // As a prompt hook does it: cd, then `direnv export bash`.
        let hook = format!(
            "cd '{}' && eval \"$(direnv export bash 2>/dev/null)\" && go version",
            dir.display()
        );
        let mut bash = t.bare();
        bash.args(["bash", "--norc", "-c", &hook]);
        assert_eq!(stdout_ok(&mut bash).trim(), go_line(&version));
    }
    let allowed = t.scratch.path().join("data/direnv/allow");
    assert_eq!(
        std::fs::read_dir(&allowed).unwrap().count(),
        2,
        "{allowed:?}"
    );
    assert_eq!(t.host_snapshot(), before, "direnv runs changed the host");
}

#[test]
fn a_toolchain_that_is_not_installed_prints_nothing_and_says_run_golock_apply() {
    let h = Host::new();
    h.lock(NEW, &extra("x"));
    for args in [
        &["env", "--shell", "bash"][..],
        &["exec", "--", "go", "version"],
    ] {
        let out = h.run(args);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {out:?}");
        assert!(out.stdout.is_empty(), "{args:?}: {out:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(support::says(&stderr, "run golock apply"), "{stderr}");
        assert!(support::says(&stderr, "not installed"), "{stderr}");
    }
    assert!(!h.root.exists(), "env created the data dir");

    // A dir that is not the locked release fails the cheap check.
    let fake = h.root.join(format!("toolchains/go{NEW}"));
    std::fs::create_dir_all(fake.join("bin")).unwrap();
    std::fs::write(fake.join("VERSION"), "go1.19.8\n").unwrap();
    std::fs::write(fake.join("bin/go"), "#!/bin/sh\n").unwrap();
    let text = expect_exit(h.golock().args(["env"]), 1);
    assert!(
        support::says(&text, &format!("VERSION does not say go{NEW}")),
        "{text}"
    );
    assert!(support::says(&text, "run golock apply"), "{text}");
}
