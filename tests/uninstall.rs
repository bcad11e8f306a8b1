//! `golock uninstall` on a real host: apply, then uninstall must give back
//! every profile file and the go env file byte for byte, keep what is not
//! golock's (a user's go env key, a foreign file in the data dir, a module
//! the real go command downloaded), and be crash-safe like apply: SIGKILL at
//! any checkpoint, then `recover`, leaves all or nothing removed.
// Tests set up and inspect the host directly, not through golock::fsx.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use golock::txn::checkpoint::{self, Checkpoint};
use support::{Host, NEW, corpus, snapshot};

type Snapshot = BTreeMap<String, String>;

const USER_PROFILE: &[u8] = b"# my profile\nexport EDITOR=vi\n";
const USER_GOENV: &[u8] = b"GOPRIVATE=corp.example/private\n";

/// A host with a user's ~/.profile and go env file (no ~/.bashrc), locked
/// for NEW with the standard env and profile sections.
fn host_with_user_files() -> Host {
    let h = Host::new();
    std::fs::write(h.home.join(".profile"), USER_PROFILE).unwrap();
    std::fs::create_dir_all(h.home.join(".config/go")).unwrap();
    std::fs::write(h.home.join(".config/go/env"), USER_GOENV).unwrap();
    h.lock(NEW, Host::standard_extra());
    h
}

/// The data dir (toolchain dirs by name only: they are large) and HOME,
/// without the host lock (it holds a pid).
fn watched(h: &Host) -> Snapshot {
    let mut s: Snapshot = snapshot(&h.home)
        .into_iter()
        .map(|(k, v)| (format!("home/{k}"), v))
        .collect();
    if h.root.exists() {
        for entry in walkdir::WalkDir::new(&h.root)
            .sort_by_file_name()
            .into_iter()
            .filter_entry(|e| !is_inside_toolchain(&h.root, e.path()))
        {
            let entry = entry.unwrap();
            let rel = entry.path().strip_prefix(&h.root).unwrap().display();
            let rel = format!("root/{rel}");
            // history.jsonl is a dated log every recover appends to.
            if rel == "root/lock" || rel == "root/history.jsonl" {
                continue;
            }
            let meta = entry.path().symlink_metadata().unwrap();
            let what = if meta.file_type().is_symlink() {
                format!(
                    "link -> {}",
                    std::fs::read_link(entry.path()).unwrap().display()
                )
            } else if meta.is_dir() {
                "dir".to_string()
            } else {
                format!("file {:?}", std::fs::read(entry.path()).unwrap())
            };
            s.insert(rel, what);
        }
    }
    s
}

fn is_inside_toolchain(root: &Path, path: &Path) -> bool {
    path.strip_prefix(root.join("toolchains"))
        .is_ok_and(|rel| rel.components().count() > 1)
}

fn home_files(h: &Host) -> Snapshot {
    snapshot(&h.home)
}

#[test]
fn uninstall_gives_back_every_profile_file_and_keeps_user_goenv_keys() {
    let h = host_with_user_files();
    let before = home_files(&h);
    h.expect(&["apply", "-y"], 0);
    assert!(h.read_home(".bashrc").starts_with(b"# >>> golock >>>"));
    let goenv = String::from_utf8(h.read_home(".config/go/env")).unwrap();
    assert!(goenv.contains("GOTOOLCHAIN=local"), "{goenv}");
    assert!(goenv.contains("GOPRIVATE=corp.example/private"), "{goenv}");

    let out = h.expect(&["uninstall", "-y"], 0);
    let home = h.home.display();
    assert!(
        out.contains(&format!("- remove golock block in {home}/.profile")),
        "{out}"
    );
    assert!(
        out.contains(&format!("- remove {home}/.bashrc (golock created it)")),
        "{out}"
    );
    assert!(out.contains("~ update go env file"), "{out}");
    assert!(out.contains("- remove link "), "{out}");
    assert!(out.contains("Uninstall complete!"), "{out}");

    assert_eq!(home_files(&h), before, "HOME after uninstall");
    assert_eq!(h.read_home(".profile"), USER_PROFILE);
    assert_eq!(h.read_home(".config/go/env"), USER_GOENV);
    assert!(!h.home.join(".bashrc").exists());
    assert!(
        h.root.join("go").symlink_metadata().is_err(),
        "active link left"
    );
    assert!(
        h.root.join(format!("toolchains/go{NEW}/bin/go")).is_file(),
        "without --all the toolchain stays"
    );
    let state = h.state();
    assert_eq!(state["profile_blocks"], serde_json::json!({}), "{state}");
    assert_eq!(state["goenv_keys"], serde_json::json!([]), "{state}");
    assert!(
        state["toolchains"].get(format!("go{NEW}")).is_some(),
        "{state}"
    );

    let again = h.expect(&["uninstall", "-y"], 0);
    assert!(again.contains("Nothing to uninstall"), "{again}");
    assert_eq!(home_files(&h), before, "HOME after a second uninstall");
}

#[test]
fn uninstall_refuses_an_edited_block_unless_forced() {
    let h = host_with_user_files();
    h.expect(&["apply", "-y"], 0);
    let edited = String::from_utf8(h.read_home(".profile"))
        .unwrap()
        .replace("# <<< golock <<<", "export MINE=1\n# <<< golock <<<");
    std::fs::write(h.home.join(".profile"), &edited).unwrap();
    let err = h.expect(&["uninstall", "-y"], 1);
    assert!(err.contains(".profile"), "{err}");
    assert_eq!(
        h.read_home(".profile"),
        edited.as_bytes(),
        "nothing written"
    );
    assert!(h.root.join("go").symlink_metadata().is_ok(), "link kept");
    h.expect(&["uninstall", "-y", "--force"], 0);
    assert_eq!(h.read_home(".profile"), USER_PROFILE);
}

#[test]
fn uninstall_all_removes_toolchains_and_spares_a_foreign_file() {
    let h = host_with_user_files();
    let before = home_files(&h);
    h.expect(&["apply", "-y"], 0);
    let foreign = h.root.join("manifests/other-program.txt");
    std::fs::write(&foreign, b"not golock's\n").unwrap();

    let out = h.expect(&["uninstall", "--all", "-y"], 0);
    assert!(out.contains(&format!("- remove go{NEW} (")), "{out}");
    assert!(out.contains("kept"), "{out}");
    assert_eq!(home_files(&h), before, "HOME after uninstall --all");
    assert!(!h.root.join("toolchains").exists(), "toolchains left");
    assert!(!h.root.join("state.json").exists());
    assert!(!h.root.join("journal").exists());
    assert!(h.root.join("go").symlink_metadata().is_err());
    assert_eq!(std::fs::read(&foreign).unwrap(), b"not golock's\n");
    let left: Vec<String> = walkdir::WalkDir::new(&h.root)
        .sort_by_file_name()
        .into_iter()
        .map(|e| {
            e.unwrap()
                .path()
                .strip_prefix(&h.root)
                .unwrap()
                .display()
                .to_string()
        })
        .collect();
    assert_eq!(left, ["", "manifests", "manifests/other-program.txt"]);

    std::fs::remove_file(&foreign).unwrap();
    let again = h.expect(&["uninstall", "--all", "-y"], 0);
    assert!(again.contains("Nothing to uninstall"), "{again}");
    assert!(!h.root.exists(), "an empty data dir goes");
}

/// The corpus go.sum without `corp.example/many` (the real go downloads that one).
fn go_sum_without_many(h: &Host) -> PathBuf {
    let text = std::fs::read_to_string(corpus().join("go.sum")).unwrap();
    let kept: String = text
        .lines()
        .filter(|l| !l.starts_with("corp.example/many "))
        .map(|l| format!("{l}\n"))
        .collect();
    let path = h.base().join("go.sum");
    std::fs::write(&path, kept).unwrap();
    path
}

/// A module of its own that needs only `corp.example/many`, for the real go.
fn many_app(h: &Host) -> PathBuf {
    let app = h.base().join("many-app");
    std::fs::create_dir_all(&app).unwrap();
    std::fs::write(
        app.join("go.mod"),
        "module corp.example/manyapp\n\ngo 1.21\n\nrequire corp.example/many v1.0.0\n",
    )
    .unwrap();
    let sum: String = std::fs::read_to_string(corpus().join("go.sum"))
        .unwrap()
        .lines()
        .filter(|l| l.starts_with("corp.example/many "))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(app.join("go.sum"), sum).unwrap();
    app
}

fn under(cache: &Path, prefix: &str) -> Snapshot {
    snapshot(cache)
        .into_iter()
        .filter(|(k, _)| k.contains(prefix))
        .collect()
}

#[test]
fn uninstall_modules_removes_only_what_golock_installed() {
    let h = Host::new();
    let cache = h.base().join("modcache");
    h.lock(
        NEW,
        &format!(
            "[modules]\nproxies = [\"file://{}\"]\n\n[env]\nGOMODCACHE = \"{}\"\nGOFLAGS = \"-mod=mod\"\nGOPROXY = \"off\"\n",
            corpus().join("proxy").display(),
            cache.display()
        ),
    );
    let sum = go_sum_without_many(&h);
    h.expect(&["lock", "--go-sum", sum.to_str().unwrap()], 0);
    h.expect(&["apply", "-y"], 0);
    let state = h.state();
    let recorded = state["modules"].as_array().unwrap().clone();
    assert!(
        recorded.contains(&serde_json::json!("corp.example/files@v1.0.0")),
        "{state}"
    );

    let app = many_app(&h);
    let proxy = format!("file://{}", corpus().join("proxy").display());
    support::run_ok(support::go_command(&h, &app, &cache, &proxy).args(["mod", "download"]));
    let go_wrote = under(&cache, "corp.example/many");
    assert!(
        go_wrote.contains_key("corp.example/many@v1.0.0"),
        "{go_wrote:?}"
    );
    let locks_before: Vec<String> = snapshot(&cache)
        .into_keys()
        .filter(|k| k.ends_with(".lock"))
        .collect();

    let all = h.expect(&["uninstall", "--all", "-y"], 0);
    assert!(!all.contains("remove module"), "{all}");
    assert!(cache.join("corp.example/files@v1.0.0").is_dir());
    assert!(!h.root.join("toolchains").exists());
    assert_eq!(
        h.state()["modules"].as_array(),
        Some(&recorded),
        "state.json stays while it records modules"
    );

    let out = h.expect(&["uninstall", "--modules", "-y"], 0);
    assert!(
        out.contains("- remove module corp.example/files@v1.0.0"),
        "{out}"
    );
    assert!(!out.contains("corp.example/many"), "{out}");
    assert!(!cache.join("corp.example/files@v1.0.0").exists());
    assert!(
        !cache
            .join("cache/download/corp.example/files/@v/v1.0.0.zip")
            .exists()
    );
    assert!(
        !cache
            .join("cache/download/corp.example/files/@v/v1.0.0.mod")
            .exists()
    );
    assert_eq!(under(&cache, "corp.example/many"), go_wrote, "go's module");
    let locks_after: Vec<String> = snapshot(&cache)
        .into_keys()
        .filter(|k| k.ends_with(".lock"))
        .collect();
    assert_eq!(locks_after, locks_before, "cmd/go's lock files");
    let verified =
        support::run_ok(support::go_command(&h, &app, &cache, "off").args(["mod", "verify"]));
    assert!(verified.contains("all modules verified"), "{verified}");
    assert!(h.state().get("modules").is_none(), "{}", h.state());
}

/// `cp -al` (golock replaces files by rename, never in place), then a
/// private copy of the host lock, the one file golock rewrites in place.
fn copy_tree(from: &Path, to: &Path) {
    let ok = Command::new("cp")
        .arg("-al")
        .arg(from)
        .arg(to)
        .status()
        .unwrap();
    assert!(ok.success());
    let lock = to.join("root/lock");
    if lock.exists() {
        std::fs::remove_file(&lock).unwrap();
        std::fs::copy(from.join("root/lock"), &lock).unwrap();
    }
}

fn remove_tree(dir: &Path) {
    let _ = Command::new("chmod").arg("-R").arg("u+w").arg(dir).status();
    let _ = std::fs::remove_dir_all(dir);
}

const UNINSTALL_ALL: &[&str] = &["uninstall", "--all", "-y"];

#[test]
fn a_killed_uninstall_recovers_to_all_or_nothing() {
    let h = host_with_user_files();
    h.expect(&["apply", "-y"], 0);
    let installed = watched(&h);
    let template = tempfile::tempdir_in(support::scratch_root()).unwrap();
    let saved = template.path().join("host");
    copy_tree(&h.base(), &saved);
    let reset = || {
        remove_tree(&h.base());
        copy_tree(&saved, &h.base());
    };
    h.expect(UNINSTALL_ALL, 0);
    let uninstalled = watched(&h);
    assert!(
        !uninstalled.keys().any(|k| k.starts_with("root")),
        "{uninstalled:?}"
    );

    let mut reached = Vec::new();
    for &at in checkpoint::ALL {
        reset();
        assert_eq!(watched(&h), installed, "reset before {at}");
        let Some(mut child) = h.park_at(UNINSTALL_ALL, &at.name()) else {
            continue;
        };
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        let recovered = h.expect(&["recover"], 0);
        let now = watched(&h);
        if at == Checkpoint::AfterCommit {
            // Rolled forward: everything the journal covers is removed;
            // only the data dir's own cleanup is left for the next run.
            assert_eq!(
                without_root(&now),
                without_root(&uninstalled),
                "after recover from {at}:\n{recovered}"
            );
            assert!(!h.root.join(format!("toolchains/go{NEW}")).exists());
            assert!(h.root.join("go").symlink_metadata().is_err());
        } else {
            assert_eq!(now, installed, "after recover from {at}:\n{recovered}");
        }
        h.expect(UNINSTALL_ALL, 0);
        assert_eq!(watched(&h), uninstalled, "uninstall again after {at}");
        reached.push(at.name());
    }
    for wanted in [
        "before-rename-link",
        "after-rename-link",
        "after-temp-write-profile",
        "after-rename-profile",
        "before-rename-prune",
        "after-rename-prune",
        "after-temp-write-goenv",
        "after-temp-write-state",
        "before-commit",
        "after-commit",
    ] {
        assert!(
            reached.contains(&wanted.to_string()),
            "{wanted} not reached: {reached:?}"
        );
    }
}

fn without_root(s: &Snapshot) -> Snapshot {
    s.iter()
        .filter(|(k, _)| !k.starts_with("root"))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}
