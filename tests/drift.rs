//! Drift that is seen and repaired: a toolchain locked from another archive,
//! damage that `verify` finds (`apply --repair`), what `go mod verify`
//! checks, and profile files dropped from golock.toml.
// Tests set up and inspect the host directly, not through golock::fsx.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod support;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use support::{Host, NEW, corpus, digest, mtimes};

const ARCHIVE: &str = "go1.27.3.linux-amd64.tar.gz";

/// A small archive of Go's shape (go/VERSION, go/bin/go) in `dir`, whose
/// `go` prints `says`; two of them stand for a re-released 1.27.3. It
/// answers apply's health check (`go version`, `go env GOROOT`) as Go does.
fn small_archive(h: &Host, dir: &str, says: &str) -> PathBuf {
    let src = h.base().join(format!("{dir}-src"));
    std::fs::create_dir_all(src.join("go/bin")).unwrap();
    std::fs::write(src.join("go/VERSION"), format!("go{NEW}\ntime x\n")).unwrap();
    let go = src.join("go/bin/go");
    let script = format!(
        "#!/bin/sh\ncase \"$*\" in\n\
         version) echo 'go version go{NEW} linux/amd64' ;;\n\
         'env GOROOT') cd \"$(dirname \"$0\")/..\" && pwd -P ;;\n\
         *) echo {says} ;;\nesac\n"
    );
    std::fs::write(&go, script).unwrap();
    std::fs::set_permissions(&go, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = h.base().join(dir);
    std::fs::create_dir_all(&out).unwrap();
    let ok = Command::new("tar")
        .arg("-czf")
        .arg(out.join(ARCHIVE))
        .arg("-C")
        .arg(&src)
        .arg("go")
        .status()
        .unwrap();
    assert!(ok.success());
    out
}

/// Lock go1.27.3 from `mirror`'s archive (its sha256) served by `served`.
fn lock_archive(h: &Host, mirror: &Path, served: &Path, extra: &str) {
    let (sha, size) = digest(&mirror.join(ARCHIVE));
    let text = format!(
        "schema = 1\n\n[go]\nversion = \"{NEW}\"\nmirrors = [\"{}\"]\n\n[go.archives]\nlinux-amd64 = {{ file = \"{ARCHIVE}\", sha256 = \"{sha}\", size = {size} }}\n\n{extra}",
        served.display()
    );
    std::fs::write(h.lockfile(), text).unwrap();
}

fn installed_go(h: &Host) -> String {
    let out = Command::new(h.root.join("go/bin/go")).output().unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[test]
fn a_changed_archive_sha256_is_drift_and_apply_reinstalls() {
    let h = Host::new();
    let a = small_archive(&h, "mirror-a", "build-a");
    let b = small_archive(&h, "mirror-b", "build-b");
    lock_archive(&h, &a, &a, "");
    h.expect(&["apply", "-y"], 0);
    assert_eq!(installed_go(&h), "build-a");

    lock_archive(&h, &b, &b, "");
    let (old, _) = digest(&a.join(ARCHIVE));
    let (new, _) = digest(&b.join(ARCHIVE));
    let line = format!(
        "~ reinstall go{NEW} (archive sha256 changed: {}\u{2026} \u{2192} {}\u{2026})",
        &old[..12],
        &new[..12]
    );
    let plan = h.expect(&["plan", "--detailed-exitcode"], 2);
    assert!(plan.contains(&line), "{plan}");
    assert!(plan.contains("0 to install, 1 to change"), "{plan}");
    let check = h.expect(&["check"], 2);
    assert!(
        check.contains(&format!("drift: host: {}", &line[2..])),
        "{check}"
    );

    // The mirror serves the old bytes. With a locked size they do not
    // have, apply refuses before it starts; with no size locked, the
    // sha256 check fails the reinstall halfway, which keeps the old tree.
    lock_archive(&h, &b, &a, "");
    let (_, size_b) = digest(&b.join(ARCHIVE));
    let (_, size_a) = digest(&a.join(ARCHIVE));
    let with_size = |size: u64| {
        let text = std::fs::read_to_string(h.lockfile())
            .unwrap()
            .replace(&format!("size = {size_b}"), &format!("size = {size}"));
        std::fs::write(h.lockfile(), text).unwrap();
        size
    };
    let not_a_size = with_size(size_a + 1);
    let refused = h.expect(&["apply", "-y"], 1);
    assert!(refused.contains("no usable source"), "{refused}");
    assert!(
        support::says(
            &refused,
            &format!("is {size_a} bytes, golock.toml says {not_a_size}")
        ),
        "{refused}"
    );
    lock_archive(&h, &b, &a, "");
    with_size(0);
    let failed = h.expect(&["apply", "-y"], 1);
    assert!(
        failed.contains("apply failed and was rolled back"),
        "{failed}"
    );
    assert_eq!(installed_go(&h), "build-a");
    assert_eq!(h.state()["toolchains"]["go1.27.3"]["archive_sha256"], old);

    lock_archive(&h, &b, &b, "");
    h.expect(&["apply", "-y"], 0);
    assert_eq!(installed_go(&h), "build-b");
    assert_eq!(h.state()["toolchains"]["go1.27.3"]["archive_sha256"], new);
    assert!(h.expect(&["check"], 0).contains("In sync"));
    h.expect(&["verify"], 0);
}

#[test]
fn damage_verify_finds_is_repaired_by_apply_repair() {
    let h = Host::new();
    let a = small_archive(&h, "mirror-a", "build-a");
    lock_archive(&h, &a, &a, "");
    h.expect(&["apply", "-y"], 0);
    let go = h.root.join("toolchains/go1.27.3/bin/go");
    let mode = std::fs::metadata(&go).unwrap().permissions().mode();
    std::fs::set_permissions(&go, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::write(&go, "#!/bin/sh\necho tampered\n").unwrap();
    std::fs::set_permissions(&go, std::fs::Permissions::from_mode(mode)).unwrap();

    let verify = h.expect(&["verify"], 2);
    assert!(verify.contains("mismatch: "), "{verify}");
    assert!(
        verify
            .trim_end()
            .ends_with("To fix this, run `golock apply --repair`."),
        "{verify}"
    );
    // The cheap plan does not rehash, so it sees nothing.
    assert!(h.expect(&["plan"], 0).contains("No changes"));
    let before = (mtimes(&h.root), mtimes(&h.home));
    let plan = h.expect(&["plan", "--repair", "--detailed-exitcode"], 2);
    assert!(
        plan.contains("~ reinstall go1.27.3 (1 file(s) differ from its install manifest)"),
        "{plan}"
    );
    assert_eq!(
        (mtimes(&h.root), mtimes(&h.home)),
        before,
        "plan --repair wrote"
    );
    h.expect(&["apply", "--repair", "-y"], 0);
    assert_eq!(installed_go(&h), "build-a");
    h.expect(&["verify"], 0);
    assert!(h.expect(&["plan", "--repair"], 0).contains("No changes"));
}

/// A lockfile locking the small toolchain and the corpus modules.
fn modules_host() -> (Host, PathBuf) {
    let h = Host::new();
    let a = small_archive(&h, "mirror-a", "build-a");
    let cache = h.base().join("modcache");
    lock_archive(
        &h,
        &a,
        &a,
        &format!(
            "[modules]\nproxies = [\"file://{}\"]\n\n[env]\nGOMODCACHE = \"{}\"\nGOFLAGS = \"-mod=mod\"\n",
            corpus().join("proxy").display(),
            cache.display()
        ),
    );
    let sum = corpus().join("go.sum");
    h.expect(&["lock", "--go-sum", sum.to_str().unwrap()], 0);
    h.expect(&["apply", "-y"], 0);
    (h, cache)
}

/// The real `go mod verify` in a copy of the corpus app: (passed, output).
fn go_mod_verify(h: &Host, cache: &Path) -> (bool, String) {
    let app = support::corpus_app(h, &corpus());
    let out = support::go_command(h, &app, cache, "off")
        .args(["mod", "verify"])
        .output()
        .unwrap();
    (out.status.success(), support::combined_output(&out))
}

fn writable(path: &Path) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn verify_agrees_with_go_mod_verify_on_the_ziphash_and_repair_fixes_it() {
    let (h, cache) = modules_host();
    assert!(go_mod_verify(&h, &cache).0);
    h.expect(&["verify", "--modules-only"], 0);
    let ziphash = cache.join("cache/download/corp.example/files/@v/v1.0.0.ziphash");
    let good = std::fs::read(&ziphash).unwrap();

    // Altered: go says the zip "has been modified"; golock names the .ziphash.
    std::fs::write(&ziphash, format!("h1:{}=\n", "A".repeat(43))).unwrap();
    let (passed, go_out) = go_mod_verify(&h, &cache);
    assert!(!passed, "{go_out}");
    let ours = h.expect(&["verify", "--modules-only"], 2);
    assert!(
        ours.contains("mismatch: corp.example/files@v1.0.0: .ziphash holds"),
        "{ours}"
    );
    h.expect(&["apply", "--repair", "-y"], 0);
    assert_eq!(std::fs::read(&ziphash).unwrap(), good);
    assert!(go_mod_verify(&h, &cache).0);
    h.expect(&["verify", "--modules-only"], 0);

    // Missing: both fail ("missing ziphash"), --repair restores it.
    std::fs::remove_file(&ziphash).unwrap();
    let (passed, go_out) = go_mod_verify(&h, &cache);
    assert!(!passed && go_out.contains("missing ziphash"), "{go_out}");
    let ours = h.expect(&["verify", "--modules-only"], 2);
    assert!(
        ours.contains("mismatch: corp.example/files@v1.0.0: .ziphash is missing"),
        "{ours}"
    );
    h.expect(&["apply", "--repair", "-y"], 0);
    assert_eq!(std::fs::read(&ziphash).unwrap(), good);
    assert!(go_mod_verify(&h, &cache).0);
    h.expect(&["verify", "--modules-only"], 0);
}

#[test]
fn a_damaged_zip_or_tree_is_only_planned_with_repair_and_then_replaced() {
    let (h, cache) = modules_host();
    let zip = cache.join("cache/download/corp.example/files/@v/v1.0.0.zip");
    let good_zip = std::fs::read(&zip).unwrap();
    let dir = cache.join("corp.example/files@v1.0.0");
    let file = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.is_file())
        .unwrap();
    let good_file = std::fs::read(&file).unwrap();
    writable(&dir);
    writable(&file);
    std::fs::write(&file, "tampered").unwrap();
    std::fs::set_permissions(&zip, std::fs::Permissions::from_mode(0o644)).unwrap();
    std::fs::write(&zip, b"not a zip").unwrap();
    assert!(!go_mod_verify(&h, &cache).0);

    assert!(h.expect(&["plan"], 0).contains("No changes"));
    let plan = h.expect(&["plan", "--repair"], 0);
    assert!(
        plan.contains("~ module corp.example/files@v1.0.0 (repair: zip: "),
        "{plan}"
    );
    h.expect(&["apply", "--repair", "-y"], 0);
    assert_eq!(std::fs::read(&zip).unwrap(), good_zip);
    assert_eq!(std::fs::read(&file).unwrap(), good_file);
    h.expect(&["verify", "--modules-only"], 0);
    assert!(go_mod_verify(&h, &cache).0);
}

#[test]
fn a_profile_file_dropped_from_golock_toml_loses_its_block() {
    let h = Host::new();
    let a = small_archive(&h, "mirror-a", "build-a");
    let profile =
        "[env]\nGOFLAGS = \"-mod=mod\"\n\n[profile]\nfiles = [\"~/.profile\", \"~/.bashrc\"]\n";
    let mine = b"# mine\r\nalias ll='ls -l'";
    std::fs::write(h.home.join(".bashrc"), mine).unwrap();
    lock_archive(&h, &a, &a, profile);
    h.expect(&["apply", "-y"], 0);
    assert!(
        String::from_utf8_lossy(&h.read_home(".bashrc")).contains("# >>> golock >>>"),
        "the block was written"
    );

    lock_archive(&h, &a, &a, &profile.replace(", \"~/.bashrc\"", ""));
    let bashrc = h.home.join(".bashrc");
    let plan = h.expect(&["plan", "--detailed-exitcode"], 2);
    assert!(
        plan.contains(&format!("- remove golock block in {}", bashrc.display())),
        "{plan}"
    );
    h.expect(&["check"], 2);
    h.expect(&["apply", "-y"], 0);
    // golock had added a newline before its block; the user's bytes stay.
    assert_eq!(h.read_home(".bashrc"), b"# mine\r\nalias ll='ls -l'\n");
    let state = h.state();
    assert!(
        state["profile_blocks"]
            .get(bashrc.to_str().unwrap())
            .is_none(),
        "{state}"
    );
    assert!(h.expect(&["plan"], 0).contains("No changes"));
    assert!(
        String::from_utf8_lossy(&h.read_home(".profile")).contains("# >>> golock >>>"),
        "the listed file keeps its block"
    );
}

#[test]
fn a_recorded_profile_outside_home_is_never_touched() {
    let h = Host::new();
    let a = small_archive(&h, "mirror-a", "build-a");
    lock_archive(&h, &a, &a, "[profile]\nfiles = [\"~/.profile\"]\n");
    h.expect(&["apply", "-y"], 0);
    // A tampered state.json naming a file outside HOME that has a block.
    let outside = h.base().join("outside.sh");
    let text = "# >>> golock >>>\nexport A=1\n# <<< golock <<<\n";
    std::fs::write(&outside, text).unwrap();
    let mut state = h.state();
    state["profile_blocks"][outside.to_str().unwrap()] = "00".into();
    std::fs::write(h.root.join("state.json"), state.to_string()).unwrap();

    let plan = h.expect(&["plan"], 0);
    assert!(plan.contains("No changes"), "{plan}");
    assert!(
        plan.contains("not a file inside the home directory"),
        "{plan}"
    );
    h.expect(&["apply", "-y"], 0);
    assert_eq!(std::fs::read_to_string(&outside).unwrap(), text);
}

/// Start `golock apply -y` parked at checkpoint `name`, then SIGKILL it.
fn kill_apply_at(h: &Host, name: &str) {
    let marker = h.base().join("reached");
    let mut child = h
        .golock()
        .args(["apply", "-y"])
        .env("GOLOCK_TEST_CHECKPOINT", name)
        .env("GOLOCK_TEST_CHECKPOINT_FILE", &marker)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while std::fs::read_to_string(&marker).map_or(true, |s| s != name) {
        assert!(
            child.try_wait().unwrap().is_none(),
            "apply ended before {name}"
        );
        assert!(std::time::Instant::now() < deadline, "{name} never reached");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
}

/// The data dir without the lock (it holds a pid), journal and staging.
fn root_snapshot(h: &Host) -> std::collections::BTreeMap<String, String> {
    let mut s = support::snapshot(&h.root);
    // history.jsonl is a dated log every apply and recover appends to.
    s.retain(|k, _| {
        k != "lock"
            && k != "history.jsonl"
            && !k.starts_with("journal")
            && !k.starts_with("staging")
    });
    s
}

#[test]
fn a_reinstall_killed_after_the_new_tree_landed_recovers_the_old_one() {
    let h = Host::new();
    let a = small_archive(&h, "mirror-a", "build-a");
    let b = small_archive(&h, "mirror-b", "build-b");
    lock_archive(&h, &a, &a, "");
    h.expect(&["apply", "-y"], 0);
    let before = root_snapshot(&h);
    lock_archive(&h, &b, &b, "");
    kill_apply_at(&h, "after-rename-toolchain");
    assert_eq!(
        installed_go(&h),
        "build-b",
        "killed after the new tree landed"
    );
    h.expect(&["recover"], 0);
    assert_eq!(
        root_snapshot(&h),
        before,
        "recover restores the old tree and state"
    );
    assert_eq!(installed_go(&h), "build-a");
    h.expect(&["apply", "-y"], 0);
    assert_eq!(installed_go(&h), "build-b");
}

#[test]
fn a_block_removal_killed_after_state_was_written_recovers() {
    let h = Host::new();
    let a = small_archive(&h, "mirror-a", "build-a");
    let profile = "[profile]\nfiles = [\"~/.profile\", \"~/.bashrc\"]\n";
    lock_archive(&h, &a, &a, profile);
    h.expect(&["apply", "-y"], 0);
    let bashrc = h.read_home(".bashrc");
    let state = std::fs::read(h.root.join("state.json")).unwrap();
    lock_archive(&h, &a, &a, &profile.replace(", \"~/.bashrc\"", ""));
    // state.json no longer records ~/.bashrc's block; the journal still names it.
    kill_apply_at(&h, "after-rename-state");
    h.expect(&["recover"], 0);
    assert_eq!(h.read_home(".bashrc"), bashrc);
    assert_eq!(std::fs::read(h.root.join("state.json")).unwrap(), state);
    h.expect(&["apply", "-y"], 0);
    assert!(!String::from_utf8_lossy(&h.read_home(".bashrc")).contains("golock"));
}
