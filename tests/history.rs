//! The audit history and `golock rollback` (README "History and rollback")
//! on real toolchains: what each changing command records, that readers
//! write nothing and survive a torn or garbage line, the kept lockfiles and
//! their retention, and a rollback from 1.27.3 to 1.19.8 that needs no
//! source (and one that would, refused).
// Tests set up and inspect the host directly, not through golock::fsx.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod support;

use std::io::Write;
use std::path::PathBuf;

use serde_json::Value;
use support::{Host, NEW, old_version, says, snapshot};

fn history_json(h: &Host, args: &[&str]) -> Value {
    let mut all = vec!["history", "--json"];
    all.extend_from_slice(args);
    let out = h.succeed(&all);
    serde_json::from_slice(&out.stdout).expect("history --json prints JSON")
}

fn entries(h: &Host) -> Vec<Value> {
    history_json(h, &[])["entries"].as_array().unwrap().clone()
}

/// The old toolchain's golock.toml kept at `repo/old/golock.toml`, then
/// golock.toml for NEW: both with the standard env and profile sections.
fn two_lockfiles(h: &Host) -> PathBuf {
    h.lock(&old_version(), Host::standard_extra());
    let old = h.repo.join("old/golock.toml");
    std::fs::create_dir_all(old.parent().unwrap()).unwrap();
    std::fs::rename(h.lockfile(), &old).unwrap();
    h.lock(NEW, Host::standard_extra());
    old
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(bytes))
}

#[test]
fn each_apply_is_recorded_with_who_what_and_which_lockfile() {
    let h = Host::new();
    let old = two_lockfiles(&h);
    h.succeed_for(&old, &["apply", "-y"]);
    h.succeed(&["apply", "-y"]);
    h.succeed(&["apply", "-y"]); // a no-op records nothing
    let list = entries(&h);
    assert_eq!(list.len(), 2, "{list:?}");
    let last = &list[1];
    assert_eq!(last["id"], 2);
    assert_eq!(last["command"], "apply");
    assert_eq!(last["status"], "ok");
    assert_eq!(last["exit_code"], 0);
    assert_eq!(last["golock_version"], env!("CARGO_PKG_VERSION"));
    assert!(last["time"].as_str().unwrap().ends_with('Z'));
    // SAFETY: getuid takes nothing and cannot fail.
    assert_eq!(last["user"]["uid"], unsafe { libc::getuid() });
    assert!(!last["host"].as_str().unwrap().is_empty());
    let bytes = std::fs::read(h.lockfile()).unwrap();
    assert_eq!(last["lockfile"]["sha256"], sha256_hex(&bytes));
    assert_eq!(last["lockfile"]["path"], h.lockfile().display().to_string());
    let actions = last["actions"].as_array().unwrap();
    assert!(
        actions.iter().any(|a| a["action"]
            .as_str()
            .unwrap()
            .starts_with(&format!("+ install go{NEW}"))
            && a["result"] == "done"),
        "{actions:?}"
    );
    assert_eq!(list[0]["lockfile"]["path"], old.display().to_string());
    // Both lockfiles kept, byte for byte.
    let kept = h
        .root
        .join(format!("lockfiles/{}.toml", sha256_hex(&bytes)));
    assert_eq!(std::fs::read(kept).unwrap(), bytes);
    let old_bytes = std::fs::read(&old).unwrap();
    let kept_old = h
        .root
        .join(format!("lockfiles/{}.toml", sha256_hex(&old_bytes)));
    assert_eq!(std::fs::read(kept_old).unwrap(), old_bytes);

    // The text form, -n, and status's last entry; none of them writes.
    let before = snapshot(&h.base());
    let text = h.expect(&["history"], 0);
    assert!(text.contains("#1  ") && text.contains("#2  "), "{text}");
    assert!(text.contains("apply  ok (exit 0)"), "{text}");
    let one = history_json(&h, &["-n", "1"]);
    assert_eq!(one["entries"].as_array().unwrap().len(), 1);
    assert_eq!(one["entries"][0]["id"], 2);
    let status = h.expect(&["status"], 0);
    assert!(status.contains("Last change:      #2  "), "{status}");
    let out = h.succeed(&["status", "--json"]);
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["last_change"]["id"], 2);
    assert_eq!(
        snapshot(&h.base()),
        before,
        "history/status wrote to the host"
    );
}

#[test]
fn a_rolled_back_apply_recover_and_uninstall_are_recorded() {
    let h = Host::new();
    let old = two_lockfiles(&h);
    h.succeed_for(&old, &["apply", "-y"]);
    // A failing health check: rolled back, recorded with its error.
    let text = std::fs::read_to_string(h.lockfile()).unwrap();
    let failing = text.replacen("[go]\n", "[go]\nhealth_check = \"exit 3\"\n", 1);
    std::fs::write(h.lockfile(), failing).unwrap();
    h.expect(&["apply", "-y"], 1);
    // A crash after the switch, then recover.
    std::fs::write(h.lockfile(), &text).unwrap();
    h.kill_at(&["apply", "-y"], "after-rename-link");
    h.expect(&["recover"], 0);
    h.succeed(&["uninstall", "-y"]);
    let list = entries(&h);
    let summary: Vec<(String, String)> = list
        .iter()
        .map(|e| {
            (
                e["command"].as_str().unwrap().to_string(),
                e["status"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let want: Vec<(String, String)> = [
        ("apply", "ok"),
        ("apply", "rolled back"),
        ("recover", "ok"),
        ("uninstall", "ok"),
    ]
    .iter()
    .map(|(c, s)| (c.to_string(), s.to_string()))
    .collect();
    assert_eq!(summary, want, "{list:?}");
    assert_eq!(list[1]["exit_code"], 1);
    assert!(list[1]["error"].as_str().unwrap().contains("health_check"));
    assert!(list[1]["actions"][0]["result"] == "rolled back");
    let ids: Vec<u64> = list.iter().map(|e| e["id"].as_u64().unwrap()).collect();
    assert_eq!(ids, [1, 2, 3, 4]);
}

#[test]
fn a_torn_or_garbage_line_is_skipped_with_a_warning() {
    let h = Host::new();
    h.lock(NEW, Host::standard_extra());
    h.succeed(&["apply", "-y"]);
    let file = h.root.join("history.jsonl");
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&file)
        .unwrap();
    f.write_all(b"not json at all\n{\"id\": 7, \"time\": \"2026")
        .unwrap();
    drop(f);
    let out = h.succeed(&["history", "--json"]);
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["entries"].as_array().unwrap().len(), 1);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("a line skipped"), "{stderr}");
    assert!(stderr.contains("incomplete"), "{stderr}");
    assert!(h.expect(&["status"], 0).contains("Last change:      #1  "));
    // The next entry follows the last readable one, on a line of its own.
    let text = std::fs::read_to_string(h.lockfile()).unwrap();
    std::fs::write(
        h.lockfile(),
        text.replace("GOFLAGS = \"-mod=mod\"", "GOFLAGS = \"-p=2\""),
    )
    .unwrap();
    h.succeed(&["apply", "-y"]);
    let list = entries(&h);
    assert_eq!(list.len(), 2, "{list:?}");
    assert_eq!(list[1]["id"], 2);
}

#[test]
fn retention_keeps_the_last_n_applied_lockfiles() {
    let h = Host::new();
    h.lock(NEW, Host::standard_extra());
    let text = std::fs::read_to_string(h.lockfile()).unwrap();
    for i in 0..3 {
        let edited = text.replace(
            "GOFLAGS = \"-mod=mod\"",
            &format!("GOFLAGS = \"-p={}\"", i + 1),
        );
        std::fs::write(h.lockfile(), &edited).unwrap();
        h.succeed(&["apply", "-y", "--keep-lockfiles", "2"]);
    }
    std::fs::write(h.root.join("lockfiles/mine.toml"), "not golock's").unwrap();
    let mut names: Vec<String> = std::fs::read_dir(h.root.join("lockfiles"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let last = std::fs::read(h.lockfile()).unwrap();
    assert_eq!(names.len(), 3, "{names:?}");
    assert!(names.contains(&format!("{}.toml", sha256_hex(&last))));
    assert!(names.contains(&"mine.toml".to_string()));
}

#[test]
fn rollback_returns_to_the_previous_toolchain_without_any_source() {
    let h = Host::new();
    let old = two_lockfiles(&h);
    h.succeed_for(&old, &["apply", "-y"]);
    h.succeed(&["apply", "-y"]);
    assert!(h.login_shell("go version").contains(&format!("go{NEW} ")));
    let out = h.expect(&["rollback", "-y"], 0);
    assert!(out.contains("Rolling back to history entry #1"), "{out}");
    assert!(out.contains("Rollback complete!"), "{out}");
    let old_go = format!("go{} linux/amd64", old_version());
    assert!(h.login_shell("go version").contains(&old_go));
    assert!(h.active_go_version().contains(&old_go));
    h.expect_for_plan_empty(&old);
    let list = entries(&h);
    assert_eq!(list.last().unwrap()["command"], "rollback");
    assert_eq!(list.last().unwrap()["status"], "ok");
    // Twice goes forward again: the last state's predecessor is NEW.
    h.succeed(&["rollback", "-y"]);
    assert!(h.login_shell("go version").contains(&format!("go{NEW} ")));
}

#[test]
fn rollback_refuses_when_the_old_toolchain_was_pruned_and_says_from_where() {
    let h = Host::new();
    let old = two_lockfiles(&h);
    h.succeed_for(&old, &["apply", "-y"]);
    h.succeed(&["apply", "-y", "--prune"]);
    let before = snapshot(&h.base());
    let out = h.expect(&["rollback", "-y"], 1);
    assert!(says(&out, "needs what is no longer on this host"), "{out}");
    let archive = support::archive(&old_version());
    let missing = format!("go{}", old_version());
    assert!(
        says(&out, &format!("{missing} (pruned, or damaged)")),
        "{out}"
    );
    assert!(says(&out, &format!("from {}", archive.display())), "{out}");
    assert!(says(&out, "rollback never downloads"), "{out}");
    assert!(says(&out, &old.display().to_string()), "{out}");
    assert_eq!(
        snapshot(&h.base()),
        before,
        "a refused rollback changed the host"
    );
    let out = h.expect(&["rollback", "--to", "99"], 1);
    assert!(out.contains("#99 is not in the history"), "{out}");
}

trait PlanEmpty {
    fn expect_for_plan_empty(&self, lockfile: &std::path::Path);
}

impl PlanEmpty for Host {
    /// `plan --detailed-exitcode` against `lockfile`: no changes.
    fn expect_for_plan_empty(&self, lockfile: &std::path::Path) {
        let mut cmd = self.golock_for(lockfile);
        cmd.args(["plan", "--detailed-exitcode"]);
        let out = support::expect_exit(&mut cmd, 0);
        assert!(out.contains("No changes"), "{out}");
    }
}
