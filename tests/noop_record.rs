//! The record of present modules apply leaves in the data dir
//! (`seen-modules`, see src/host/seen.rs) makes no-op plans fast, and
//! must never hide a change: edits to golock.toml (same size, same second),
//! state.json, the active link, a profile file, and the module cache's set
//! of modules are all seen by plan and check while the record is in use.
// Tests set up and inspect the host directly, not through golock::fsx.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod support;

use std::io::Write as _;
use std::path::{Path, PathBuf};

use support::{Host, corpus};

const PSEUDO: &str = "corp.example/pseudo@v0.0.0-20240102030405-abcdefabcdef";

/// A host with the corpus modules applied, and a record written by a
/// no-op apply once every stamp in it is older than the settle window
/// (stamps younger than 2 s are never trusted).
fn host_with_settled_record() -> (Host, PathBuf) {
    let h = Host::new();
    let proxy = format!("\"file://{}\"", corpus().join("proxy").display());
    let cache = h.lock_corpus_modules(
        &proxy,
        "GOFLAGS = \"-mod=mod\"\nGOPROXY = \"off\"\n\n[profile]\nfiles = [\"~/.profile\"]\n",
    );
    h.expect(&["apply", "-y"], 0);
    std::thread::sleep(std::time::Duration::from_millis(2200));
    let out = h.expect(&["apply", "-y"], 0);
    assert!(out.contains("No changes"), "{out}");
    let record = std::fs::read_to_string(h.root.join("seen-modules")).unwrap();
    assert!(record.contains("corp.example/files@v1.0.0\t"), "{record}");
    h.expect(&["plan", "--detailed-exitcode"], 0);
    h.expect(&["check"], 0);
    (h, cache)
}

fn download_dir(cache: &Path, path: &str) -> PathBuf {
    cache.join("cache/download").join(path).join("@v")
}

/// Plan and check both report drift naming `what`.
fn plan_and_check_see(h: &Host, what: &str) {
    let plan = h.expect(&["plan", "--detailed-exitcode"], 2);
    assert!(plan.contains(what), "plan missed {what}: {plan}");
    let check = h.expect(&["check"], 2);
    assert!(check.contains(what), "check missed {what}: {check}");
}

#[test]
fn the_record_is_used_and_verify_still_reads_every_file() {
    let (h, cache) = host_with_settled_record();
    // Rewritten in place: no directory changes, so the record still
    // vouches for the module (proof that it is in use) …
    let mod_file = download_dir(&cache, "corp.example/files").join("v1.0.0.mod");
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .open(&mod_file)
        .unwrap();
    f.write_all(b"module corp.example/changed\n").unwrap();
    drop(f);
    h.expect(&["plan", "--detailed-exitcode"], 0);
    // … while verify and `plan --repair` reread the files.
    let verify = h.expect(&["verify", "--modules-only"], 2);
    assert!(verify.contains("corp.example/files@v1.0.0"), "{verify}");
    let repair = h.expect(&["plan", "--repair", "--detailed-exitcode"], 2);
    assert!(repair.contains("corp.example/files@v1.0.0"), "{repair}");
}

#[test]
fn edits_to_the_lockfile_state_link_and_profile_are_seen() {
    let (h, _cache) = host_with_settled_record();

    // golock.toml: one character of a module's hash, same size, same second.
    let original = std::fs::read_to_string(h.lockfile()).unwrap();
    let line = original
        .lines()
        .find(|l| l.starts_with(&format!("\"{PSEUDO}\"")))
        .unwrap();
    let at = line.find("mod = \"h1:").unwrap() + 12;
    let old = &line[at..at + 1];
    let new = if old == "A" { "B" } else { "A" };
    let edited_line = format!("{}{new}{}", &line[..at], &line[at + 1..]);
    let edited = original.replace(line, &edited_line);
    assert_eq!(edited.len(), original.len());
    std::fs::write(h.lockfile(), &edited).unwrap();
    plan_and_check_see(&h, PSEUDO);
    std::fs::write(h.lockfile(), &original).unwrap();
    h.expect(&["plan", "--detailed-exitcode"], 0);

    // state.json is read every time.
    let state = h.root.join("state.json");
    let saved = std::fs::read(&state).unwrap();
    std::fs::write(&state, "{").unwrap();
    let out = h.expect(&["plan"], 1);
    assert!(out.contains("state.json"), "{out}");
    std::fs::write(&state, &saved).unwrap();

    // The active link, pointed elsewhere.
    let link = h.root.join("go");
    let target = std::fs::read_link(&link).unwrap();
    std::fs::remove_file(&link).unwrap();
    std::os::unix::fs::symlink("/nonexistent", &link).unwrap();
    plan_and_check_see(&h, "link");
    std::fs::remove_file(&link).unwrap();
    std::os::unix::fs::symlink(&target, &link).unwrap();
    h.expect(&["plan", "--detailed-exitcode"], 0);

    // A profile file whose block was taken out.
    std::fs::write(h.home.join(".profile"), "# mine\n").unwrap();
    plan_and_check_see(&h, ".profile");
}

#[test]
fn changes_to_the_cache_set_of_modules_are_seen() {
    let (h, cache) = host_with_settled_record();

    std::fs::remove_file(download_dir(&cache, "corp.example/files").join("v1.0.0.ziphash"))
        .unwrap();
    plan_and_check_see(&h, "corp.example/files@v1.0.0");

    // The extracted tree moved away (renamed within its parent).
    let extracted = cache.join(PSEUDO);
    std::fs::rename(&extracted, cache.join("corp.example/pseudo-aside")).unwrap();
    plan_and_check_see(&h, PSEUDO);

    // An interrupted extraction's marker appears.
    std::fs::write(
        download_dir(&cache, "gopkg.in/corpx.v1").join("v1.0.0.partial"),
        "",
    )
    .unwrap();
    plan_and_check_see(&h, "gopkg.in/corpx.v1@v1.0.0");

    // A module golock.toml does not lock appears: --prune-modules sees it.
    let extra = download_dir(&cache, "corp.example/extra");
    std::fs::create_dir_all(&extra).unwrap();
    std::fs::write(extra.join("v1.0.0.mod"), "module corp.example/extra\n").unwrap();
    let plan = h.expect(&["plan", "--prune-modules"], 0);
    assert!(
        plan.contains("remove module corp.example/extra@v1.0.0"),
        "{plan}"
    );
}
