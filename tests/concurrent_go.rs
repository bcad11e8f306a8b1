//! golock and the real go command filling the same GOMODCACHE at the same
//! time (issue #9 B): `golock apply` of the bench corpus (300 modules, made
//! by `scripts/module-corpus.sh --bench 300`) and `go mod download` of the
//! same modules are started together, several times. Both must succeed every
//! time, and the cache must then pass `go mod verify` and `golock verify`.
// Tests set up and inspect the host directly, not through golock::fsx.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod support;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use support::{Host, NEW};

const RUNS: usize = 6;

fn bench_corpus() -> PathBuf {
    support::module_corpus("bench-corpus")
}

/// The real go against `cache`, from the corpus proxy, in `app`.
fn go(h: &Host, app: &Path, cache: &Path, args: &[&str]) -> Command {
    let proxy = format!("file://{}", bench_corpus().join("proxy").display());
    let mut cmd = support::go_command(h, app, cache, &proxy);
    cmd.args(args);
    cmd
}

fn spawn(cmd: &mut Command) -> Child {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Wait for `child`: whether it succeeded, and its output.
fn finish(name: &str, child: Child) -> (bool, String) {
    let out = child.wait_with_output().unwrap();
    let text = format!("{name}: {}", support::combined_output(&out));
    (out.status.success(), text)
}

/// An empty cache again: the extracted trees are read-only, as go leaves them.
fn wipe(cache: &Path) {
    if cache.exists() {
        let ok = Command::new("chmod")
            .args(["-R", "u+w"])
            .arg(cache)
            .status()
            .unwrap();
        assert!(ok.success());
        std::fs::remove_dir_all(cache).unwrap();
    }
}

#[test]
fn golock_and_go_mod_download_fill_one_cache_at_the_same_time() {
    let corpus = bench_corpus();
    let h = Host::new();
    let cache = h.base().join("modcache");
    h.lock(
        NEW,
        &format!(
            "[modules]\nproxies = [\"file://{}\"]\n\n[env]\nGOMODCACHE = \"{}\"\nGOFLAGS = \"-mod=mod\"\nGOPROXY = \"off\"\n",
            corpus.join("proxy").display(),
            cache.display()
        ),
    );
    let sum = corpus.join("go.sum");
    h.expect(&["lock", "--go-sum", sum.to_str().unwrap()], 0);
    let app = h.base().join("app");
    let copied = Command::new("cp")
        .arg("-a")
        .arg(corpus.join("app"))
        .arg(&app)
        .status()
        .unwrap();
    assert!(copied.success());

    for run in 0..RUNS {
        wipe(&cache);
        let mut golock = h.golock();
        golock.args(["apply", "-y"]);
        let mut download = go(&h, &app, &cache, &["mod", "download"]);
        // Both are started before either is waited for; who starts first alternates.
        let (golock, download) = if run % 2 == 0 {
            let g = spawn(&mut golock);
            (g, spawn(&mut download))
        } else {
            let d = spawn(&mut download);
            (spawn(&mut golock), d)
        };
        let (golock_ok, golock_out) = finish("golock apply", golock);
        let (go_ok, go_out) = finish("go mod download", download);
        assert!(
            golock_ok && go_ok,
            "run {run}: both must succeed\n{golock_out}\n{go_out}"
        );

        let mut verify = go(&h, &app, &cache, &["mod", "verify"]);
        let verified = support::expect_exit(&mut verify, 0);
        assert!(
            verified.contains("all modules verified"),
            "run {run}: {verified}"
        );
        h.expect(&["verify", "--modules-only"], 0);
        let again = h.expect(&["plan", "--detailed-exitcode"], 0);
        assert!(again.contains("No changes"), "run {run}: {again}");
    }
}
