//! What golock says about itself: shell completion scripts that the real
//! bash, zsh and fish accept and complete with, the man page, `--version`.
// Tests write the generated scripts to temp files directly.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod support;

use std::path::Path;
use std::process::Command;

use support::{Host, run_ok};

/// Subcommands every script and the man page must name.
const SUBCOMMANDS: [&str; 10] = [
    "plan",
    "apply",
    "check",
    "verify",
    "lock",
    "init",
    "bundle",
    "mirror",
    "recover",
    "completions",
];

/// `golock completions SHELL`, written to a file in the host's temp dir.
fn script(h: &Host, shell: &str) -> std::path::PathBuf {
    let out = h.succeed(&["completions", shell]);
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    for name in SUBCOMMANDS {
        assert!(text.contains(name), "{shell} script lacks {name}:\n{text}");
    }
    let path = h.base().join(format!("golock.{shell}"));
    std::fs::write(&path, text).unwrap();
    path
}

/// The shell's own syntax check on `file`: a missing shell fails the test.
fn syntax_check(shell: &str, file: &Path) {
    run_ok(Command::new(shell).arg("-n").arg(file));
}

#[test]
fn bash_accepts_and_completes_subcommands_and_flags() {
    let h = Host::new();
    let file = script(&h, "bash");
    syntax_check("bash", &file);
    let complete = |line: &str| {
        let words: Vec<&str> = line.split(' ').collect();
        let body = format!(
            "source '{}'; COMP_WORDS=({}); COMP_CWORD={}; _golock golock '{}' '{}'; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
            file.display(),
            line,
            words.len() - 1,
            words[words.len() - 1],
            words[words.len() - 2],
        );
        run_ok(Command::new("bash").args(["--norc", "--noprofile", "-c", &body]))
    };
    let subcommands = complete("golock ver");
    assert_eq!(
        subcommands.lines().collect::<Vec<_>>(),
        ["verify"],
        "{subcommands}"
    );
    let flags = complete("golock check --repo");
    assert!(flags.lines().any(|l| l == "--repo-only"), "{flags}");
    let shells = complete("golock completions z");
    assert_eq!(shells.trim(), "zsh", "{shells}");
}

#[test]
fn zsh_accepts_the_script() {
    let h = Host::new();
    let file = script(&h, "zsh");
    syntax_check("zsh", &file);
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.starts_with("#compdef golock"), "{text}");
}

#[test]
fn fish_accepts_and_completes_subcommands() {
    let h = Host::new();
    let file = script(&h, "fish");
    syntax_check("fish", &file);
    let body = format!(
        "source '{}'; complete -C 'golock pl'; complete -C 'golock apply --sy'",
        file.display()
    );
    let out = run_ok(
        Command::new("fish")
            .args(["--no-config", "-c", &body])
            .env("HOME", &h.home),
    );
    assert!(
        out.lines()
            .any(|l| l.starts_with("plan\tShow what apply would change")),
        "{out}"
    );
    assert!(out.lines().any(|l| l.starts_with("--sync")), "{out}");
}

#[test]
fn completions_refuse_an_unknown_shell_with_exit_1() {
    let h = Host::new();
    let out = h.expect(&["completions", "powershell"], 1);
    assert!(out.contains("possible values: bash, zsh, fish"), "{out}");
}

#[test]
fn man_page_is_roff_naming_every_command() {
    let h = Host::new();
    let page = String::from_utf8(h.succeed(&["man"]).stdout).unwrap();
    assert!(page.contains(".TH golock 1"), "{page}");
    assert!(page.contains(".SH SUBCOMMANDS"), "{page}");
    for name in SUBCOMMANDS {
        assert!(
            page.contains(&format!("golock\\-{name}(1)")),
            "lacks {name}:\n{page}"
        );
    }
    assert!(
        !page.contains("golock\\-man"),
        "the hidden man command is listed:\n{page}"
    );
    render_if_man_exists(&h, "golock.1", &page, "Make this host");

    let plan = String::from_utf8(h.succeed(&["man", "plan"]).stdout).unwrap();
    assert!(plan.contains(".TH golock-plan 1"), "{plan}");
    assert!(plan.contains("\\-\\-detailed\\-exitcode"), "{plan}");
    render_if_man_exists(&h, "golock-plan.1", &plan, "--detailed-exitcode");

    let unknown = h.expect(&["man", "plna"], 1);
    assert!(unknown.contains("no man page for `plna`"), "{unknown}");
}

/// Render `page` with `man -l` where man is installed, and look for `text`.
fn render_if_man_exists(h: &Host, name: &str, page: &str, text: &str) {
    if !Path::new("/usr/bin/man").exists() {
        return;
    }
    let file = h.base().join(name);
    std::fs::write(&file, page).unwrap();
    let out = Command::new("man")
        .arg("-l")
        .arg(&file)
        .env("MANPAGER", "cat")
        .env("MANWIDTH", "100")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "man -l {name}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rendered = String::from_utf8_lossy(&out.stdout);
    assert!(rendered.contains(text), "{rendered}");
}

#[test]
fn long_version_names_commit_build_date_and_target() {
    let h = Host::new();
    let long = String::from_utf8(h.succeed(&["--version"]).stdout).unwrap();
    let lines: Vec<&str> = long.lines().collect();
    assert_eq!(lines.len(), 4, "{long}");
    assert_eq!(lines[0], format!("golock {}", env!("CARGO_PKG_VERSION")));

    let commit = lines[1].strip_prefix("commit: ").expect(&long);
    let head = Command::new("git")
        .args(["rev-parse", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    if head.status.success() {
        let head = String::from_utf8(head.stdout).unwrap();
        assert!(
            commit.len() >= 7 && head.starts_with(commit),
            "{commit} vs {head}"
        );
    } else {
        assert_eq!(commit, "unknown");
    }

    let date = lines[2].strip_prefix("built: ").expect(&long);
    let parts: Vec<&str> = date.split('-').collect();
    assert_eq!(
        parts.iter().map(|p| p.len()).collect::<Vec<_>>(),
        [4, 2, 2],
        "{date}"
    );
    assert!(
        parts.iter().all(|p| p.bytes().all(|b| b.is_ascii_digit())),
        "{date}"
    );
    let today = run_ok(Command::new("date").args(["-u", "+%F"]));
    assert!(date <= today.trim(), "built {date}, after today {today}");

    let target = lines[3].strip_prefix("target: ").expect(&long);
    assert!(target.starts_with(std::env::consts::ARCH), "{target}");
    assert!(target.contains(std::env::consts::OS), "{target}");

    let short = String::from_utf8(h.succeed(&["-V"]).stdout).unwrap();
    assert_eq!(short, format!("golock {}\n", env!("CARGO_PKG_VERSION")));
}
