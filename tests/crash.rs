//! Crash and interruption safety. For every checkpoint, SIGKILL golock there,
//! then `recover` must restore the exact old state and a following apply must
//! reach the new one. SIGINT and SIGTERM, sent to golock itself at
//! checkpoints and mid-extraction, must roll back and exit 130 / 143.
// Tests set up and inspect the host directly, not through golock::fsx.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use golock::txn::checkpoint::{self, Checkpoint};
use support::{Host, NEW, corpus, old_version, snapshot};

type Snapshot = BTreeMap<String, String>;

/// The apply every scenario interrupts: it installs or switches the
/// toolchain, fills, repairs and prunes modules, and prunes toolchains.
const APPLY_NEW: &[&str] = &["apply", "-y", "--prune", "--prune-modules"];

/// The module only the old lockfile has (pruned by the new apply).
const PRUNED: &str = "corp.example/pseudo ";
/// The old lockfile's modules: one pruned later, one damaged later
/// (`files`: repaired), one go.mod-only version whose `@v/list` the new
/// apply rewrites (it adds v1.0.0-RC1 beside v0.9.0).
const OLD_MODULES: &[&str] = &[
    PRUNED,
    "corp.example/files ",
    "corp.example/Upper/Case v0.9.0/",
];

/// A go.sum with the corpus lines `keep` accepts.
fn go_sum(h: &Host, name: &str, keep: impl Fn(&str) -> bool) -> PathBuf {
    let text = std::fs::read_to_string(corpus().join("go.sum")).unwrap();
    let lines: String = text
        .lines()
        .filter(|l| keep(l))
        .map(|l| format!("{l}\n"))
        .collect();
    let path = h.tmp.path().join(name);
    std::fs::write(&path, lines).unwrap();
    path
}

/// Lock `version` with `[go] link`, the corpus proxy, the modules of
/// `sum`, and `goflags` (which makes the profile blocks differ).
fn lock_with_modules(h: &Host, version: &str, goflags: &str, sum: &Path, link: &Path) {
    h.lock(
        version,
        &format!(
            "[modules]\nproxies = [\"file://{}\"]\n\n[env]\nGOFLAGS = \"{goflags}\"\nGOTOOLCHAIN = \"local\"\nGOMODCACHE = \"{}\"\n\n[profile]\nfiles = [\"~/.profile\", \"~/.bashrc\"]\ngoenv = true\n",
            corpus().join("proxy").display(),
            h.base().join("modcache").display()
        ),
    );
    h.expect(&["lock", "--go-sum", sum.to_str().unwrap()], 0);
    add_system_link(h, link);
}

fn lock_old(h: &Host, version: &str, link: &Path) {
    let sum = go_sum(h, "old.sum", |l| {
        OLD_MODULES.iter().any(|m| l.starts_with(m))
    });
    lock_with_modules(h, version, "-mod=mod", &sum, link);
}

fn lock_new(h: &Host, link: &Path) {
    let sum = go_sum(h, "new.sum", |l| !l.starts_with(PRUNED));
    lock_with_modules(h, NEW, "-mod=readonly", &sum, link);
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

/// A cached module whose `.ziphash` no longer matches: the plan repairs it
/// (moving its files aside first).
fn damage_cached_module(h: &Host) {
    let ziphash = h
        .base()
        .join("modcache/cache/download/corp.example/files/@v/v1.0.0.ziphash");
    assert!(ziphash.is_file(), "{}", ziphash.display());
    // Replaced as any program replaces a file (temp + rename), which moves
    // the @v dir's stamp: the no-op record (seen-modules) cannot vouch for
    // it. (A rewrite in place is verify's to find; see tests/noop_record.rs.)
    let temp = ziphash.with_extension("ziphash.tmp");
    std::fs::write(&temp, "h1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=").unwrap();
    std::fs::rename(&temp, &ziphash).unwrap();
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

/// Directories only: files are hard links shared with the template.
fn make_writable_and_remove(dir: &Path) {
    let _ = Command::new("find")
        .arg(dir)
        .args(["-type", "d", "-exec", "chmod", "u+w", "{}", "+"])
        .status();
    let _ = std::fs::remove_dir_all(dir);
}

/// What the old-or-new promise covers: the data dir (without its lock,
/// journal and staging), HOME, the module cache (without cmd/go's lock
/// files) and the `[go] link` directory.
fn watched(base: &Path) -> Snapshot {
    let mut s = snapshot(&base.join("root"));
    // seen-modules is a cache that checks itself (it holds inode numbers and
    // times, so its bytes differ from run to run): not part of the state;
    // nor is history.jsonl, a dated log each apply and recover appends to,
    // nor lockfiles/, which a successful apply fills after its commit.
    s.retain(|k, _| {
        k != "lock"
            && k != "seen-modules"
            && k != "history.jsonl"
            && !k.starts_with("lockfiles")
            && !k.starts_with("journal")
            && !k.starts_with("staging")
    });
    for (dir, skip_locks) in [("home", false), ("modcache", true), ("usr-local", false)] {
        s.extend(
            snapshot(&base.join(dir))
                .into_iter()
                .filter(|(k, _)| !(skip_locks && k.ends_with(".lock")))
                .map(|(k, v)| (format!("{dir}/{k}"), v)),
        );
    }
    s
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    /// go1.27.3 is already installed (inactive): the apply switches to it.
    Switch,
    /// Only go1.19 and a broken go1.27.3 dir: the apply installs go1.27.3.
    Install,
}

/// A host in a known old state, its snapshot, and the snapshot after one
/// uninterrupted `APPLY_NEW`; `reset` puts the old state back.
struct Scenario {
    kind: Kind,
    h: Host,
    template_dir: tempfile::TempDir,
    old: Snapshot,
    new: Snapshot,
}

impl Scenario {
    fn new(kind: Kind) -> Scenario {
        let h = Host::new();
        let usr_local = h.base().join("usr-local");
        std::fs::create_dir_all(&usr_local).unwrap();
        let link = usr_local.join("go");
        std::fs::write(h.home.join(".bashrc"), b"# user bashrc\r\nalias ll='ls -l'").unwrap();
        if kind == Kind::Switch {
            lock_old(&h, NEW, &link);
            h.expect(&["apply", "-y"], 0);
        }
        lock_old(&h, &old_version(), &link);
        h.expect(&["apply", "-y"], 0);
        if kind == Kind::Install {
            let broken = h.root.join(format!("toolchains/go{NEW}"));
            std::fs::create_dir_all(&broken).unwrap();
            std::fs::write(broken.join("VERSION"), "not go\n").unwrap();
        }
        damage_cached_module(&h);
        lock_new(&h, &link);

        let template_dir = tempfile::tempdir_in(support::scratch_root()).unwrap();
        copy_tree(&h.base(), &template_dir.path().join("template"));
        let old = watched(&h.base());
        h.expect(APPLY_NEW, 0);
        let new = watched(&h.base());
        assert_ne!(old, new);
        assert!(h.active_go_version().contains(&format!("go{NEW} ")));
        let s = Scenario {
            kind,
            h,
            template_dir,
            old,
            new,
        };
        s.reset();
        assert_same(&s.watched(), &s.old, "restored template");
        s
    }

    /// Back to the old state (the template is never written: see `copy_tree`).
    fn reset(&self) {
        let base = self.h.base();
        make_writable_and_remove(&base);
        copy_tree(&self.template_dir.path().join("template"), &base);
    }

    fn watched(&self) -> Snapshot {
        watched(&self.h.base())
    }

    /// No journal, and nothing in `<root>/staging`.
    fn assert_no_leftovers(&self, what: &str) {
        let count = |dir: &str| {
            std::fs::read_dir(self.h.root.join(dir))
                .map(|d| d.count())
                .unwrap_or(0)
        };
        assert_eq!(count("journal"), 0, "journal left after {what}");
        assert_eq!(count("staging"), 0, "staging left after {what}");
    }

    /// From the old state, SIGKILL `APPLY_NEW` at `checkpoint`, recover,
    /// then apply. `false`: this scenario's apply never passes there.
    fn crash_at(&self, checkpoint: Checkpoint) -> bool {
        self.reset();
        let Some(mut child) = self.h.park_at(APPLY_NEW, &checkpoint.name()) else {
            return false;
        };
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        let recovered = self.h.expect(&["recover"], 0);
        let expected = if checkpoint == Checkpoint::AfterCommit {
            &self.new
        } else {
            &self.old
        };
        assert_same(
            &self.watched(),
            expected,
            &format!(
                "{:?}: state after recover from {checkpoint}:\n{recovered}",
                self.kind
            ),
        );
        self.assert_no_leftovers(&format!("recover from {checkpoint}"));
        self.h.expect(APPLY_NEW, 0);
        assert_same(
            &self.watched(),
            &self.new,
            &format!("{:?}: state after re-apply from {checkpoint}", self.kind),
        );
        true
    }
}

#[test]
fn every_checkpoint_recovers_to_the_old_state_then_applies() {
    // The switch scenario is fast (no extraction); the install scenario
    // covers what only an install passes.
    let scenarios = [Scenario::new(Kind::Switch), Scenario::new(Kind::Install)];
    let mut reached: BTreeMap<String, Kind> = BTreeMap::new();
    for &checkpoint in checkpoint::ALL {
        let start = Instant::now();
        if let Some(s) = scenarios.iter().find(|s| s.crash_at(checkpoint)) {
            reached.insert(checkpoint.name(), s.kind);
        }
        eprintln!("{checkpoint}: {:.1?}", start.elapsed());
    }
    let missed: Vec<String> = checkpoint::ALL
        .iter()
        .map(|c| c.name())
        .filter(|n| !reached.contains_key(n))
        .collect();
    assert!(
        missed.is_empty(),
        "no scenario passes these checkpoints, so they are not crash-tested: {missed:?}"
    );
}

fn send(child: &Child, signal: i32) {
    let pid = i32::try_from(child.id()).unwrap();
    // SAFETY: kill(2) with a pid this test spawned and has not reaped.
    assert_eq!(unsafe { libc::kill(pid, signal) }, 0, "kill {pid} {signal}");
}

/// Wait (at most a minute) for `child` to exit: its status, its stderr and
/// how long it took.
fn wait_exit(child: &mut Child) -> (ExitStatus, String, Duration) {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return (status, support::stderr_of(child), start.elapsed());
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "golock did not exit"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Wait until the process is stopped (SIGSTOP delivered).
fn wait_stopped(child: &Child) {
    let stat = format!("/proc/{}/stat", child.id());
    let start = Instant::now();
    loop {
        let text = std::fs::read_to_string(&stat).unwrap();
        let state = text.rsplit(')').next().unwrap().split_whitespace().next();
        if matches!(state, Some("T" | "t")) {
            return;
        }
        assert!(start.elapsed() < Duration::from_secs(10), "never stopped");
        std::thread::sleep(Duration::from_millis(1));
    }
}

const INTERRUPTED: &str = "interrupted: rolled back, nothing changed";

/// The signal arrived, golock rolled back at the next safe point and said
/// so: exit 128 + signal, the exact old state, no journal, empty staging.
fn assert_rolled_back(s: &Scenario, status: ExitStatus, err: &str, signal: i32, what: &str) {
    assert_eq!(status.code(), Some(128 + signal), "{what}:\n{err}");
    assert!(err.contains(INTERRUPTED), "{what}:\n{err}");
    assert_same(&s.watched(), &s.old, &format!("state after {what}"));
    s.assert_no_leftovers(what);
}

#[test]
fn sigint_and_sigterm_at_checkpoints_roll_back() {
    use golock::txn::checkpoint::{FileStep, RenameStep, Step};
    let s = Scenario::new(Kind::Switch);
    for (checkpoint, signal) in [
        (
            Checkpoint::BeforeRename(Step::Rename(RenameStep::ModuleAside)),
            libc::SIGTERM,
        ),
        (
            Checkpoint::BeforeRename(Step::Rename(RenameStep::Modules)),
            libc::SIGINT,
        ),
        (Checkpoint::TempWritten(FileStep::List), libc::SIGTERM),
        (
            Checkpoint::AfterRename(Step::Rename(RenameStep::Link)),
            libc::SIGINT,
        ),
        (
            Checkpoint::AfterRename(Step::File(FileStep::Profile)),
            libc::SIGTERM,
        ),
        (
            Checkpoint::AfterRename(Step::Rename(RenameStep::ModuleRemove)),
            libc::SIGINT,
        ),
        (Checkpoint::BeforeCommit, libc::SIGINT),
    ] {
        s.reset();
        let mut child = s.h.park_at(APPLY_NEW, &checkpoint.name()).expect("reached");
        send(&child, signal);
        let (status, err, _) = wait_exit(&mut child);
        assert_rolled_back(
            &s,
            status,
            &err,
            signal,
            &format!("signal {signal} at {checkpoint}"),
        );
        s.h.expect(APPLY_NEW, 0);
        assert_same(&s.watched(), &s.new, &format!("apply after {checkpoint}"));
    }

    // Once the commit record is written there is nothing to stop: the
    // apply completes and says the signal came too late.
    s.reset();
    let mut child =
        s.h.park_at(APPLY_NEW, &Checkpoint::AfterCommit.name())
            .expect("reached");
    send(&child, libc::SIGINT);
    let (status, err, _) = wait_exit(&mut child);
    assert_eq!(status.code(), Some(0), "{err}");
    assert!(
        err.contains("SIGINT arrived after the commit: the apply completed"),
        "{err}"
    );
    assert_same(&s.watched(), &s.new, "state after SIGINT after the commit");
    s.assert_no_leftovers("SIGINT after the commit");
}

#[test]
fn a_second_signal_exits_at_once_and_the_journal_covers_it() {
    let s = Scenario::new(Kind::Switch);
    let profile = Checkpoint::from_name("after-rename-profile").unwrap();
    let mut child = s.h.park_at(APPLY_NEW, &profile.name()).expect("reached");
    // Both signals pending at once: the first is recorded, the second exits.
    send(&child, libc::SIGSTOP);
    wait_stopped(&child);
    send(&child, libc::SIGINT);
    send(&child, libc::SIGTERM);
    send(&child, libc::SIGCONT);
    let (status, err, _) = wait_exit(&mut child);
    assert!(matches!(status.code(), Some(130 | 143)), "{status}: {err}");
    assert!(err.contains("interrupted again: exiting now"), "{err}");
    assert!(!err.contains(INTERRUPTED), "{err}");
    let journals = std::fs::read_dir(s.h.root.join("journal"))
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().extension() == Some("jsonl".as_ref()))
        .count();
    assert_eq!(journals, 1, "the journal stays for the next golock");
    assert_ne!(s.watched(), s.old, "the profile was left switched");

    s.h.expect(&["recover"], 0);
    assert_same(&s.watched(), &s.old, "state after recover");
    s.assert_no_leftovers("recover");
    s.h.expect(APPLY_NEW, 0);
    assert_same(&s.watched(), &s.new, "state after apply");
}

/// Wait until the toolchain's extraction into staging has begun.
fn wait_extracting(s: &Scenario, child: &mut Child) {
    let start = Instant::now();
    loop {
        let extracting = std::fs::read_dir(s.h.root.join("staging"))
            .into_iter()
            .flatten()
            .flatten()
            .any(|e| e.path().join(format!("go{NEW}/go/src")).is_dir());
        if extracting {
            return;
        }
        assert!(child.try_wait().unwrap().is_none(), "apply ended first");
        assert!(start.elapsed() < Duration::from_secs(120), "no extraction");
        std::thread::sleep(Duration::from_millis(2));
    }
}

#[test]
fn a_signal_mid_extraction_stops_within_a_fraction_of_a_second() {
    let s = Scenario::new(Kind::Install);
    for (delay, signal) in [
        (0, libc::SIGTERM),
        (100, libc::SIGINT),
        (250, libc::SIGTERM),
    ] {
        s.reset();
        let mut child =
            s.h.golock()
                .args(APPLY_NEW)
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
        wait_extracting(&s, &mut child);
        std::thread::sleep(Duration::from_millis(delay));
        assert!(
            child.try_wait().unwrap().is_none(),
            "extraction ended first"
        );
        send(&child, signal);
        let (status, err, took) = wait_exit(&mut child);
        let what = format!("signal {signal} {delay} ms into the extraction");
        assert_rolled_back(&s, status, &err, signal, &what);
        eprintln!("{what}: exited after {took:?}");
        // Generous: rollback removes the staged files on a possibly busy CI disk.
        assert!(took < Duration::from_secs(3), "{what}: took {took:?}");
    }

    // Parked with the toolchain staged, before anything is installed.
    s.reset();
    let staged = Checkpoint::from_name("after-staging").unwrap();
    let mut child = s.h.park_at(APPLY_NEW, &staged.name()).expect("reached");
    send(&child, libc::SIGINT);
    let (status, err, _) = wait_exit(&mut child);
    assert_rolled_back(&s, status, &err, libc::SIGINT, "SIGINT at after-staging");
}

#[test]
fn read_only_commands_report_a_crashed_apply_and_recover_rolls_it_back() {
    let h = Host::new();
    h.lock(NEW, Host::standard_extra());
    std::fs::write(h.home.join(".profile"), "# before\n").unwrap();
    h.kill_at(&["apply", "-y"], "after-rename-profile");
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
    let mut holder = h
        .park_at(&["apply", "-y"], &Checkpoint::BeforeCommit.name())
        .expect("reached");
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
    support::assert_succeeded(&out, &"the waiting apply");
    let text = String::from_utf8_lossy(&out.stderr);
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
