//! Issue #9 A, C, D and F (rollback): undo removes only what golock made,
//! a journal is checked whole before anything is replayed, read-only
//! commands write nothing, and a damaged journal is kept with exit 1.
// Tests set up and inspect the host directly, not through golock::fsx.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod support;

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};
use support::{Host, NEW, corpus, snapshot};

fn is_root() -> bool {
    std::fs::metadata("/proc/self")
        .map(|m| m.uid())
        .unwrap_or(1)
        == 0
}

fn journals(h: &Host) -> Vec<PathBuf> {
    std::fs::read_dir(h.root.join("journal"))
        .map(|d| {
            d.map(|e| e.unwrap().path())
                .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
                .collect()
        })
        .unwrap_or_default()
}

/// The whole test host (root, home, caches), without the lock file's pid.
fn host_tree(h: &Host) -> std::collections::BTreeMap<String, String> {
    snapshot(&h.base())
}

fn sha(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

#[test]
fn a_crashed_fish_setup_keeps_what_another_app_wrote_into_config() {
    let h = Host::new();
    h.lock(
        NEW,
        "[env]\nGOTOOLCHAIN = \"local\"\n\n[profile]\nfiles = [\"~/.config/fish/config.fish\"]\n",
    );
    h.kill_at(&["apply", "-y"], "before-commit");
    assert!(h.home.join(".config/fish/config.fish").is_file());
    let settings = h.home.join(".config/myapp/settings.ini");
    std::fs::create_dir_all(settings.parent().unwrap()).unwrap();
    std::fs::write(&settings, "theme = dark\n").unwrap();

    let out = h.expect(&["recover"], 0);
    assert!(out.contains("rolled back interrupted apply"), "{out}");
    assert_eq!(std::fs::read(&settings).unwrap(), b"theme = dark\n");
    assert!(!h.home.join(".config/fish").exists(), "{out}");
    assert!(out.contains("kept") && out.contains(".config"), "{out}");
    assert!(!h.root.join("go").exists());
    assert!(journals(&h).is_empty());
    // The next apply works on top of it and still keeps it.
    h.expect(&["apply", "-y"], 0);
    assert_eq!(std::fs::read(&settings).unwrap(), b"theme = dark\n");
}

/// `go <args>` against `cache` in a copy of the corpus app, from the corpus proxy.
fn go(h: &Host, cache: &Path, args: &[&str]) -> String {
    let app = support::corpus_app(h, &corpus());
    let proxy = format!("file://{}", corpus().join("proxy").display());
    support::run_ok(support::go_command(h, &app, cache, &proxy).args(args))
}

#[test]
fn go_mod_download_after_a_crash_survives_recover() {
    let h = Host::new();
    let proxy = format!("\"file://{}\"", corpus().join("proxy").display());
    let cache = h.lock_corpus_modules(&proxy, "GOFLAGS = \"-mod=mod\"\n");
    h.kill_at(&["apply", "-y"], "before-rename-modules");
    assert!(cache.is_dir(), "golock created GOMODCACHE");

    go(&h, &cache, &["mod", "download"]);
    let go_wrote: Vec<(String, String)> = snapshot(&cache)
        .into_iter()
        .filter(|(k, _)| !k.contains(".golock-staging-") && !k.ends_with(".lock"))
        .collect();
    assert!(
        go_wrote.iter().any(|(k, _)| k.ends_with(".zip")),
        "go downloaded zips: {go_wrote:?}"
    );

    let out = h.expect(&["recover"], 0);
    let after = snapshot(&cache);
    for (path, what) in &go_wrote {
        assert_eq!(after.get(path), Some(what), "{path} after recover:\n{out}");
    }
    assert!(
        !after.keys().any(|k| k.contains(".golock-staging-")),
        "{out}"
    );
    let verified = go(&h, &cache, &["mod", "verify"]);
    assert!(verified.contains("all modules verified"), "{verified}");
}

/// A journal written by hand: an open record, then one step with `undo`.
fn plant_journal(h: &Host, id: &str, undo: serde_json::Value) -> PathBuf {
    let dir = h.root.join("journal");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{id}.jsonl"));
    let open = serde_json::json!({"rec": "open", "id": id, "pid": 1, "golock_version": "0", "started": 1767323045u64, "plan": null});
    let begin = serde_json::json!({"rec": "begin", "seq": 1, "undo": undo});
    std::fs::write(&path, format!("{open}\n{begin}\n")).unwrap();
    path
}

const ID: &str = "18a2b3c4d5e6f-4242";

/// Each hostile journal is refused whole by `recover` (and by `apply`),
/// kept, and changes nothing; `--discard` drops it and says what it held.
fn assert_refused(h: &Host, journal: &Path, why: &str) {
    let before = host_tree(h);
    for args in [&["recover"][..], &["apply", "-y"][..]] {
        let out = h.expect(args, 1);
        assert!(out.contains("refused the journal"), "{out}");
        assert!(out.contains(&journal.display().to_string()), "{out}");
        assert!(out.contains("line 2:") && out.contains(why), "{out}");
        assert!(journal.is_file());
        assert_eq!(host_tree(h), before, "{args:?} changed the host:\n{out}");
    }
    let out = h.expect(&["recover", "--discard"], 0);
    assert!(out.contains("would have undone"), "{out}");
    assert!(!journal.exists());
}

fn hostile_host() -> Host {
    let h = Host::new();
    h.lock(NEW, Host::standard_extra());
    std::fs::write(h.home.join(".profile"), "# mine\n").unwrap();
    h
}

#[test]
fn a_journal_cannot_delete_a_tree_outside() {
    let h = hostile_host();
    let victim = h.base().join("victim");
    std::fs::create_dir_all(victim.join("sub")).unwrap();
    std::fs::write(victim.join("sub/data"), "precious").unwrap();
    let m = std::fs::metadata(&victim).unwrap();
    let j = plant_journal(
        &h,
        ID,
        serde_json::json!({"undo": "remove_tree", "path": victim,
            "id": {"dev": m.dev(), "ino": m.ino(), "kind": "dir", "len": 0}}),
    );
    assert_refused(&h, &j, "is not directly in <root>/toolchains");
    assert_eq!(std::fs::read(victim.join("sub/data")).unwrap(), b"precious");
}

#[test]
fn a_journal_cannot_overwrite_a_file_with_a_chosen_backup() {
    let h = hostile_host();
    let victim = h.base().join("victim.conf");
    std::fs::write(&victim, "safe").unwrap();
    let evil = h.base().join("evil");
    std::fs::write(&evil, "owned").unwrap();
    let j = plant_journal(
        &h,
        ID,
        serde_json::json!({"undo": "restore_file", "path": victim, "backup": evil,
            "backup_sha256": sha(b"owned"), "new_sha256": sha(b"safe"), "mode": 0o644,
            "temp": victim.with_file_name(format!(".victim.conf.golock-{ID}"))}),
    );
    assert_refused(&h, &j, "is not a listed profile file");
    // A listed file, but a backup from outside the journal's scratch dir.
    let profile = h.home.join(".profile");
    let j = plant_journal(
        &h,
        ID,
        serde_json::json!({"undo": "restore_file", "path": profile, "backup": evil,
            "backup_sha256": sha(b"owned"), "new_sha256": sha(b"# mine\n"), "mode": 0o644,
            "temp": profile.with_file_name(format!("..profile.golock-{ID}"))}),
    );
    assert_refused(&h, &j, "is not the scratch path this transaction uses");
    assert_eq!(std::fs::read(&victim).unwrap(), b"safe");
    assert_eq!(std::fs::read(&profile).unwrap(), b"# mine\n");
}

#[test]
fn a_journal_cannot_set_setuid() {
    let h = hostile_host();
    let profile = h.home.join(".profile");
    let scratch = h.root.join(format!("journal/{ID}.d"));
    std::fs::create_dir_all(&scratch).unwrap();
    std::fs::write(scratch.join("backup-1"), "#!/bin/sh\n").unwrap();
    let j = plant_journal(
        &h,
        ID,
        serde_json::json!({"undo": "restore_file", "path": profile,
            "backup": scratch.join("backup-1"), "backup_sha256": sha(b"#!/bin/sh\n"),
            "new_sha256": sha(b"# mine\n"), "mode": 0o4755,
            "temp": profile.with_file_name(format!("..profile.golock-{ID}"))}),
    );
    assert_refused(&h, &j, "setuid");
    assert_eq!(std::fs::metadata(&profile).unwrap().mode() & 0o7000, 0);
}

#[test]
fn a_journal_cannot_plant_a_link_to_etc_passwd() {
    let h = hostile_host();
    let link = h.root.join("go");
    let j = plant_journal(
        &h,
        ID,
        serde_json::json!({"undo": "restore_link", "path": link, "old": "/etc/passwd",
            "new": h.root.join("toolchains/go1.27.3"),
            "temp": h.root.join(format!(".go.golock-{ID}"))}),
    );
    assert_refused(&h, &j, "/etc/passwd is not inside");
    assert!(link.symlink_metadata().is_err());
}

#[test]
fn as_root_a_data_dir_others_can_write_is_refused() {
    let h = hostile_host();
    std::fs::create_dir_all(h.root.join("journal")).unwrap();
    if !is_root() {
        // Only root is protected this way; a user's own dir is theirs.
        h.expect(&["recover"], 0);
        return;
    }
    let chmod = |mode: &str, p: &Path| {
        assert!(
            Command::new("chmod")
                .arg(mode)
                .arg(p)
                .status()
                .unwrap()
                .success()
        )
    };
    chmod("o+w", &h.root);
    let out = h.expect(&["recover"], 1);
    assert!(out.contains("writable by group or others"), "{out}");
    let out = h.expect(&["apply", "-y"], 1);
    assert!(out.contains("another user could write it"), "{out}");
    assert!(!h.root.join("toolchains").exists());
    chmod("o-w", &h.root);
    let j = plant_journal(
        &h,
        ID,
        serde_json::json!({"undo": "remove_created_dirs", "dirs": []}),
    );
    std::os::unix::fs::chown(&j, Some(65534), None).unwrap();
    let out = h.expect(&["recover"], 1);
    assert!(out.contains("owned by uid 65534"), "{out}");
    assert!(j.is_file());
}

/// A crash with the profile already rewritten: the journal is pending.
fn crashed_host() -> Host {
    let h = Host::new();
    h.lock(NEW, Host::standard_extra());
    std::fs::write(h.home.join(".profile"), "# before\n").unwrap();
    h.kill_at(&["apply", "-y"], "after-rename-profile");
    assert!(
        std::fs::read_to_string(h.home.join(".profile"))
            .unwrap()
            .contains("golock")
    );
    h
}

#[test]
fn read_only_commands_change_nothing_while_a_journal_is_pending() {
    let h = crashed_host();
    let before = host_tree(&h);
    let lock_bytes = std::fs::read(h.root.join("lock")).unwrap();
    let out = h.expect(&["plan"], 1);
    assert!(out.contains("an interrupted apply from 20"), "{out}");
    assert!(out.contains("golock recover"), "{out}");
    let out = h.expect(&["check"], 2);
    assert!(out.contains("drift: host: an interrupted apply"), "{out}");
    let out = h.expect(&["verify"], 2);
    assert!(out.contains("mismatch: an interrupted apply"), "{out}");
    assert_eq!(host_tree(&h), before);
    assert_eq!(std::fs::read(h.root.join("lock")).unwrap(), lock_bytes);

    h.expect(&["recover"], 0);
    assert_eq!(
        std::fs::read(h.home.join(".profile")).unwrap(),
        b"# before\n"
    );
    h.expect(&["plan"], 0);
}

/// Recovering a damaged journal undoes what it can, lists the rest, keeps
/// the journal and exits 1.
fn assert_incomplete(h: &Host, what: &str) -> String {
    let out = h.expect(&["recover"], 1);
    assert!(out.contains("partly rolled back"), "{out}");
    assert!(out.contains(what), "{out}");
    assert_eq!(journals(h).len(), 1, "{out}");
    out
}

#[test]
fn a_journal_corrupt_in_the_middle_is_kept_and_recover_fails() {
    let h = crashed_host();
    let j = journals(&h).pop().unwrap();
    let text = std::fs::read_to_string(&j).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    lines.insert(2, "{\"rec\":\"begin\",\"seq\":");
    std::fs::write(&j, lines.join("\n") + "\n").unwrap();
    assert_incomplete(&h, "line 3 is damaged");
    // What it could read, it undid: the profile is back.
    assert_eq!(
        std::fs::read(h.home.join(".profile")).unwrap(),
        b"# before\n"
    );
    assert!(!h.root.join("go").exists());
}

#[test]
fn a_garbage_journal_is_kept_and_recover_fails() {
    let h = crashed_host();
    let j = journals(&h).pop().unwrap();
    std::fs::write(&j, "garbage\nmore garbage\n").unwrap();
    let out = h.expect(&["recover"], 1);
    assert!(out.contains(&j.display().to_string()), "{out}");
    assert!(j.is_file());
}

#[test]
fn a_journal_whose_backups_are_missing_is_kept_and_recover_fails() {
    let h = crashed_host();
    let j = journals(&h).pop().unwrap();
    std::fs::remove_dir_all(j.with_extension("d")).unwrap();
    assert_incomplete(&h, "backup");
    // Not restorable: left as golock wrote it, not deleted.
    assert!(
        std::fs::read_to_string(h.home.join(".profile"))
            .unwrap()
            .contains("golock")
    );
    // Dropping it explicitly is the way out.
    let out = h.expect(&["recover", "--discard"], 0);
    assert!(out.contains("would have undone: restore"), "{out}");
    assert!(journals(&h).is_empty());
}

#[test]
fn a_read_only_home_fails_the_apply_with_its_cause_and_leaves_nothing() {
    assert!(
        is_root(),
        "a read-only bind mount needs root (a mount namespace): run this test as scripts/test.sh does"
    );
    let h = Host::new();
    h.lock(NEW, Host::standard_extra());
    std::fs::write(h.home.join(".profile"), "# before\n").unwrap();
    let cmd = h.golock();
    let args: Vec<String> = cmd
        .get_args()
        .map(|a| a.to_string_lossy().into_owned())
        .chain(["apply".into(), "-y".into()])
        .collect();
    let quoted: Vec<String> = args.iter().map(|a| format!("'{a}'")).collect();
    let script = format!(
        "mount --bind -o ro '{home}' '{home}' && exec '{bin}' {args}",
        home = h.home.display(),
        bin = env!("CARGO_BIN_EXE_golock"),
        args = quoted.join(" ")
    );
    let mut unshare = Command::new("unshare");
    unshare
        .args(["-m", "sh", "-c", &script])
        .current_dir(&h.repo)
        .env("HOME", &h.home);
    let out = support::expect_exit(&mut unshare, 1);
    // Since the writability check, the plan stops before any change
    // ("… is on a read-only filesystem"); a rollback would say EROFS.
    assert!(out.to_lowercase().contains("read-only file"), "{out}");
    assert!(!out.contains("rollback failed"), "{out}");
    assert!(!h.root.join("go").exists(), "{out}");
    assert!(
        !h.root.join(format!("toolchains/go{NEW}")).exists(),
        "{out}"
    );
    assert!(journals(&h).is_empty(), "{out}");
    assert_eq!(
        std::fs::read(h.home.join(".profile")).unwrap(),
        b"# before\n"
    );
}
