//! Crash safety: for every checkpoint, SIGKILL golock there, then `recover`
//! must restore the exact old state and a following apply must reach the new.

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use support::{Host, NEW, old_version, snapshot};

/// Old state: go1.19 applied with profiles and the go env file, plus a broken
/// go1.27.3 dir (so the new apply also moves a dir aside). The new lockfile,
/// applied with --prune, passes every checkpoint golock has (it also fills
/// a module cache from the test corpus).
fn lock_new(h: &Host, link: &Path) {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/golock-test/corpus");
    assert!(
        corpus.join("go.sum").is_file(),
        "run scripts/module-corpus.sh"
    );
    h.lock(
        NEW,
        &format!(
            "[modules]\nproxies = [\"file://{}\"]\n\n[env]\nGOFLAGS = \"-mod=readonly\"\nGOTOOLCHAIN = \"local\"\nGOMODCACHE = \"{}\"\n\n[profile]\nfiles = [\"~/.profile\", \"~/.bashrc\"]\ngoenv = true\n",
            corpus.join("proxy").display(),
            h.base().join("modcache").display()
        ),
    );
    let sum = corpus.join("go.sum");
    h.expect(&["lock", "--go-sum", sum.to_str().unwrap()], 0);
    add_system_link(h, link);
}

fn lock_old(h: &Host, link: &Path) {
    h.lock(&old_version(), Host::standard_extra());
    add_system_link(h, link);
}

/// Add `[go] link` (the system-wide path) to the host's lockfile.
fn add_system_link(h: &Host, link: &Path) {
    let text = std::fs::read_to_string(h.lockfile()).unwrap();
    let text = text.replacen(
        "[go.archives]",
        &format!("link = \"{}\"\n\n[go.archives]", link.display()),
        1,
    );
    std::fs::write(h.lockfile(), text).unwrap();
}

/// Copy a tree as hard links: golock never writes into a file in place (it
/// writes a temp file and renames it), so the template cannot change.
fn copy_tree(from: &Path, to: &Path) {
    let _ = std::fs::remove_dir_all(to);
    let ok = Command::new("cp")
        .arg("-al")
        .arg(from)
        .arg(to)
        .status()
        .unwrap();
    assert!(ok.success());
    // The lock file is the one file golock rewrites in place (its pid).
    let lock = to.join("root/lock");
    if lock.exists() {
        std::fs::remove_file(&lock).unwrap();
        std::fs::copy(from.join("root/lock"), &lock).unwrap();
    }
}

fn make_writable_and_remove(dir: &Path) {
    let _ = Command::new("chmod").args(["-R", "u+w"]).arg(dir).status();
    let _ = std::fs::remove_dir_all(dir);
}

/// Start `golock <args>` and wait until it parks at `checkpoint`.
fn park_at(h: &Host, args: &[&str], checkpoint: &str) -> Child {
    let marker = h.tmp.path().join("reached");
    let _ = std::fs::remove_file(&marker);
    let mut child = h
        .golock()
        .args(args)
        .env("GOLOCK_TEST_CHECKPOINT", checkpoint)
        .env("GOLOCK_TEST_CHECKPOINT_FILE", &marker)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while std::fs::read_to_string(&marker)
        .map(|s| s != checkpoint)
        .unwrap_or(true)
    {
        if let Some(status) = child.try_wait().unwrap() {
            let mut err = String::new();
            use std::io::Read;
            child
                .stderr
                .take()
                .unwrap()
                .read_to_string(&mut err)
                .unwrap();
            panic!("golock exited ({status}) before checkpoint {checkpoint}: {err}");
        }
        assert!(
            start.elapsed() < Duration::from_secs(300),
            "checkpoint {checkpoint} never reached"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    child
}

/// Run `apply` until it parks at `checkpoint`, then SIGKILL it.
fn kill_at(h: &Host, args: &[&str], checkpoint: &str) {
    let mut child = park_at(h, args, checkpoint);
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
}

#[test]
fn every_checkpoint_recovers_to_the_old_state_then_applies() {
    let h = Host::new();
    let usr_local = h.base().join("usr-local");
    std::fs::create_dir_all(&usr_local).unwrap();
    let link = usr_local.join("go");
    std::fs::write(h.home.join(".bashrc"), b"# user bashrc\r\nalias ll='ls -l'").unwrap();

    lock_old(&h, &link);
    h.expect(&["apply", "-y"], 0);
    let broken = h.root.join(format!("toolchains/go{NEW}"));
    std::fs::create_dir_all(&broken).unwrap();
    std::fs::write(broken.join("VERSION"), "not go\n").unwrap();
    lock_new(&h, &link);

    let tree = h.base();
    let template_dir = tempfile::tempdir_in(support::scratch_root()).unwrap();
    let template: PathBuf = template_dir.path().join("template");
    let watched = |dir: &Path| {
        let mut s = snapshot(&dir.join("root"));
        s.extend(
            snapshot(&dir.join("home"))
                .into_iter()
                .map(|(k, v)| (format!("home/{k}"), v)),
        );
        s.extend(
            snapshot(&dir.join("modcache"))
                .into_iter()
                .filter(|(k, _)| !k.ends_with(".lock"))
                .map(|(k, v)| (format!("modcache/{k}"), v)),
        );
        s.extend(
            snapshot(&dir.join("usr-local"))
                .into_iter()
                .map(|(k, v)| (format!("usr-local/{k}"), v)),
        );
        s.retain(|k, _| k != "lock" && !k.starts_with("journal") && !k.starts_with("staging"));
        s
    };
    copy_tree(&tree, &template);
    let old = watched(&tree);

    // The new state, reached once without interruption.
    h.expect(&["apply", "-y", "--prune"], 0);
    let new = watched(&tree);
    assert_ne!(old, new);
    assert!(h.active_go_version().contains(&format!("go{NEW} ")));

    let mut reached = Vec::new();
    for &checkpoint in golock::checkpoint::ALL {
        make_writable_and_remove(&tree);
        copy_tree(&template, &tree);
        assert_same(&watched(&tree), &old, "restored template");

        kill_at(&h, &["apply", "-y", "--prune"], checkpoint);
        let recovered = h.expect(&["recover"], 0);
        let expected = if checkpoint == "after-commit" {
            &new
        } else {
            &old
        };
        assert_eq!(
            &watched(&tree),
            expected,
            "state after recover from {checkpoint}:\n{recovered}"
        );
        assert_eq!(
            std::fs::read_dir(h.root.join("journal")).unwrap().count(),
            0,
            "{checkpoint}"
        );
        assert_eq!(
            std::fs::read_dir(h.root.join("staging"))
                .map(|d| d.count())
                .unwrap_or(0),
            0
        );

        h.expect(&["apply", "-y", "--prune"], 0);
        assert_eq!(
            watched(&tree),
            new,
            "state after re-apply from {checkpoint}"
        );
        reached.push(checkpoint);
    }
    assert_eq!(reached.len(), golock::checkpoint::ALL.len());
    make_writable_and_remove(&template);
}

#[test]
fn read_only_commands_report_a_crashed_apply_and_recover_rolls_it_back() {
    let h = Host::new();
    h.lock(NEW, Host::standard_extra());
    std::fs::write(h.home.join(".profile"), "# before\n").unwrap();
    kill_at(&h, &["apply", "-y"], "after-rename-profile");
    assert!(
        std::fs::read_to_string(h.home.join(".profile"))
            .unwrap()
            .contains("golock")
    );
    // `plan` only reports the pending journal; `recover` rolls it back.
    let out = h.expect(&["plan"], 1);
    assert!(out.contains("interrupted apply"), "{out}");
    assert!(
        std::fs::read_to_string(h.home.join(".profile"))
            .unwrap()
            .contains("golock")
    );
    let out = h.expect(&["recover"], 0);
    assert!(out.contains("rolled back interrupted apply"), "{out}");
    assert_eq!(
        std::fs::read_to_string(h.home.join(".profile")).unwrap(),
        "# before\n"
    );
    assert!(!h.root.join("go").exists());
    assert!(!h.root.join(format!("toolchains/go{NEW}")).exists());
}

#[test]
fn second_apply_waits_or_fails_naming_the_holder() {
    let h = Host::new();
    h.lock(NEW, Host::standard_extra());
    let mut holder = park_at(&h, &["apply", "-y"], "before-commit");
    let err = h.expect(&["apply", "-y", "--no-wait"], 1);
    assert!(err.contains(&format!("pid {}", holder.id())), "{err}");

    let waiter = h
        .golock()
        .args(["apply", "-y"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    holder.kill().unwrap();
    holder.wait().unwrap();
    let out = waiter.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains(&format!("waiting for another golock (pid {})", holder.id())),
        "{text}"
    );
    assert!(text.contains("rolled back interrupted apply"), "{text}");
    assert!(h.active_go_version().contains(&format!("go{NEW}")));
}

/// Compare two snapshots, printing only the paths that differ.
fn assert_same(actual: &BTreeMap<String, String>, expected: &BTreeMap<String, String>, what: &str) {
    let mut diffs = Vec::new();
    for (k, v) in expected {
        match actual.get(k) {
            None => diffs.push(format!("missing {k}: {v}")),
            Some(a) if a != v => diffs.push(format!("changed {k}: {v} => {a}")),
            _ => {}
        }
    }
    for (k, v) in actual {
        if !expected.contains_key(k) {
            diffs.push(format!("extra {k}: {v}"));
        }
    }
    diffs.truncate(20);
    assert!(diffs.is_empty(), "{what}:\n{}", diffs.join("\n"));
}
