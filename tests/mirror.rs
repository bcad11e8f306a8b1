//! `golock mirror DIR` against the real thing: the tree it writes is served
//! by a plain static server (`python3 -m http.server` on 127.0.0.1, as nginx
//! or S3 would serve it), and fresh hosts, the real go command and
//! `golock lock --index` take everything from it.
// Tests set up and inspect the host directly, not through golock::fsx.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use support::{Host, NEW, Server, archive, archives_dir, corpus, digest};

const ENV: &str = "GOFLAGS = \"-mod=mod\"\nGOPROXY = \"off\"\n";

fn file_proxy() -> String {
    format!("\"file://{}\"", corpus().join("proxy").display())
}

/// A host whose golock.toml locks Go [`NEW`] and the corpus modules, taken
/// from the test archives and the corpus proxy; its mirror dir (not made yet).
fn source_host() -> (Host, PathBuf) {
    let h = Host::new();
    h.lock_corpus_modules(&file_proxy(), ENV);
    let dir = h.base().join("mirror");
    (h, dir)
}

fn mirror(h: &Host, lockfile: &Path, dir: &Path, extra: &[&str]) -> String {
    let mut cmd = h.golock_for(lockfile);
    cmd.arg("mirror").arg(dir).args(extra);
    support::expect_exit(&mut cmd, 0)
}

/// `text` (a lockfile of `from`) for the fresh host `to`, taking the Go
/// archive and modules from `server` only.
fn served_lockfile(text: &str, from: &Host, to: &Host, server: &Server) -> String {
    text.replace(
        &format!("file://{}", archives_dir().display()),
        &server.url("go/"),
    )
    .replace(
        &format!("file://{}", corpus().join("proxy").display()),
        &server.url("mod"),
    )
    .replace(
        &from.base().join("modcache").display().to_string(),
        &to.base().join("modcache").display().to_string(),
    )
}

/// A fresh host applying `lockfile_text` made for `from` from `server`.
fn apply_from(from: &Host, server: &Server, lockfile_text: &str) -> Host {
    let fresh = Host::new();
    let text = served_lockfile(lockfile_text, from, &fresh, server);
    assert!(!text.contains("file://"), "{text}");
    std::fs::write(fresh.lockfile(), text).unwrap();
    fresh.expect(&["apply", "-y"], 0);
    fresh
}

/// A cache as tests/modules.rs compares them; `cache/lock` left out too:
/// `go mod download` writes none (it writes no go.sum), golock does.
fn cache_tree(dir: &Path) -> BTreeMap<String, String> {
    support::snapshot(dir)
        .into_iter()
        .filter(|(k, _)| k != "cache/lock")
        .filter(|(k, _)| !k.ends_with(".lock") && !k.starts_with("cache/download/sumdb"))
        .collect()
}

#[test]
fn a_fresh_host_applies_from_the_served_mirror_and_builds_offline() {
    let (h, dir) = source_host();
    mirror(&h, &h.lockfile(), &dir, &[]);
    let file = format!("go{NEW}.linux-amd64.tar.gz");
    assert_eq!(digest(&dir.join("go").join(&file)), digest(&archive(NEW)));
    let sums = std::fs::read_to_string(dir.join("go/SHA256SUMS")).unwrap();
    assert_eq!(sums, format!("{}  {file}\n", digest(&archive(NEW)).0));
    let list = std::fs::read_to_string(dir.join("mod/corp.example/files/@v/list")).unwrap();
    assert_eq!(list, "v1.0.0\n");
    // Locked with `mod` alone: its .mod, no .zip, no .info.
    let upper = dir.join("mod/corp.example/!upper/!case/@v");
    assert!(upper.join("v0.9.0.mod").is_file());
    assert!(!upper.join("v0.9.0.zip").exists() && !upper.join("v0.9.0.info").exists());
    assert!(!std::fs::read_dir(&dir).unwrap().any(|e| {
        e.unwrap()
            .file_name()
            .to_string_lossy()
            .starts_with(".golock-tmp")
    }));

    let server = Server::serve(&dir);
    let text = std::fs::read_to_string(h.lockfile()).unwrap();
    let fresh = apply_from(&h, &server, &text);
    assert_eq!(
        fresh.active_go_version().trim(),
        format!("go version go{NEW} linux/amd64")
    );
    let cache = fresh.base().join("modcache");
    let app = support::corpus_app(&fresh, &corpus());
    support::run_ok(support::go_command(&fresh, &app, &cache, "off").args(["build", "./..."]));
}

#[test]
fn the_go_command_downloads_from_the_mirror_into_the_cache_golock_fills() {
    let (h, dir) = source_host();
    mirror(&h, &h.lockfile(), &dir, &[]);
    let server = Server::serve(&dir);
    let text = std::fs::read_to_string(h.lockfile()).unwrap();
    let fresh = apply_from(&h, &server, &text);

    let app = support::corpus_app(&fresh, &corpus());
    let go_sum = std::fs::read(app.join("go.sum")).unwrap();
    let go_cache = fresh.base().join("go-filled-cache");
    support::run_ok(
        support::go_command(&fresh, &app, &go_cache, &server.url("mod")).args(["mod", "download"]),
    );
    assert_eq!(std::fs::read(app.join("go.sum")).unwrap(), go_sum);
    let ours = cache_tree(&fresh.base().join("modcache"));
    let go = cache_tree(&go_cache);
    let differ: Vec<String> = go
        .keys()
        .chain(ours.keys())
        .filter(|k| go.get(*k) != ours.get(*k))
        .map(|k| format!("{k}: go {:?} / golock {:?}", go.get(k), ours.get(k)))
        .take(20)
        .collect();
    assert!(differ.is_empty(), "caches differ: {differ:?}");
    assert!(go.keys().any(|k| k.ends_with(".zip")));
}

#[test]
fn lock_index_locks_every_platform_in_the_mirror() {
    let h = Host::new();
    let src = h.base().join("src-archives");
    std::fs::create_dir_all(&src).unwrap();
    let amd64 = format!("go{NEW}.linux-amd64.tar.gz");
    let arm64 = format!("go{NEW}.linux-arm64.tar.gz");
    std::fs::copy(archive(NEW), src.join(&amd64)).unwrap();
    let mut other = std::fs::read(archive(NEW)).unwrap();
    other.extend_from_slice(b"arm64");
    std::fs::write(src.join(&arm64), &other).unwrap();
    let (sha_a, size_a) = digest(&src.join(&amd64));
    let (sha_b, size_b) = digest(&src.join(&arm64));
    std::fs::write(
        h.lockfile(),
        format!(
            "schema = 1\n\n[go]\nversion = \"{NEW}\"\nmirrors = [\"file://{}\"]\n\n[go.archives]\n\
             linux-amd64 = {{ file = \"{amd64}\", sha256 = \"{sha_a}\", size = {size_a} }}\n\
             linux-arm64 = {{ file = \"{arm64}\", sha256 = \"{sha_b}\", size = {size_b} }}\n",
            src.display()
        ),
    )
    .unwrap();
    let dir = h.base().join("mirror");
    mirror(&h, &h.lockfile(), &dir, &[]);
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("go/index.json")).unwrap()).unwrap();
    assert_eq!(index[0]["version"], format!("go{NEW}"));
    assert_eq!(index[0]["files"].as_array().unwrap().len(), 2);

    let server = Server::serve(&dir);
    let fresh = Host::new();
    std::fs::write(
        fresh.lockfile(),
        format!(
            "schema = 1\n\n[go]\nversion = \"{NEW}\"\nplatforms = [\"linux-amd64\", \"linux-arm64\"]\n"
        ),
    )
    .unwrap();
    fresh.expect(&["lock", "--index", &server.url("go/index.json")], 0);
    let locked = std::fs::read_to_string(fresh.lockfile()).unwrap();
    for (file, sha, size) in [(&amd64, &sha_a, size_a), (&arm64, &sha_b, size_b)] {
        let line = locked
            .lines()
            .find(|l| l.contains(file.as_str()))
            .unwrap_or_else(|| panic!("{file} not locked:\n{locked}"));
        assert!(
            line.contains(sha.as_str()) && line.contains(&size.to_string()),
            "{line}"
        );
    }
}

/// A second lockfile beside the first: the old Go, no modules.
fn old_lockfile(h: &Host) -> PathBuf {
    let old = support::old_version();
    let (sha, size) = digest(&archive(&old));
    let path = h.base().join("other/golock.toml");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(
        &path,
        format!(
            "schema = 1\n\n[go]\nversion = \"{old}\"\nmirrors = [\"file://{}\"]\n\n[go.archives]\n\
             linux-amd64 = {{ file = \"go{old}.linux-amd64.tar.gz\", sha256 = \"{sha}\", size = {size} }}\n",
            archives_dir().display()
        ),
    )
    .unwrap();
    path
}

#[test]
fn two_lockfiles_share_one_mirror_reruns_change_nothing_and_prune_keeps_what_is_named() {
    let (h, dir) = source_host();
    let other = old_lockfile(&h);
    let old = support::old_version();
    mirror(&h, &h.lockfile(), &dir, &[]);
    mirror(&h, &other, &dir, &[]);
    let sums = std::fs::read_to_string(dir.join("go/SHA256SUMS")).unwrap();
    assert_eq!(sums.lines().count(), 2, "{sums}");
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("go/index.json")).unwrap()).unwrap();
    let versions: Vec<&str> = index
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["version"].as_str().unwrap())
        .collect();
    assert_eq!(versions, [format!("go{NEW}"), format!("go{old}")]);

    let server = Server::serve(&dir);
    let new_host = apply_from(&h, &server, &std::fs::read_to_string(h.lockfile()).unwrap());
    assert_eq!(
        new_host.active_go_version().trim(),
        format!("go version go{NEW} linux/amd64")
    );
    let old_host = apply_from(&h, &server, &std::fs::read_to_string(&other).unwrap());
    assert_eq!(
        old_host.active_go_version().trim(),
        format!("go version go{old} linux/amd64")
    );

    let before = support::mtimes(&dir);
    let snap = support::snapshot(&dir);
    mirror(&h, &h.lockfile(), &dir, &[]);
    mirror(&h, &other, &dir, &[]);
    let keep = h.lockfile().display().to_string();
    let out = mirror(&h, &other, &dir, &["--prune", "--keep", &keep]);
    assert!(out.contains("0 removed"), "{out}");
    assert_eq!(support::mtimes(&dir), before, "a re-run changed mtimes");
    assert_eq!(support::snapshot(&dir), snap);

    let out = mirror(&h, &other, &dir, &["--prune"]);
    assert!(!out.contains(" 0 removed"), "{out}");
    assert!(!dir.join(format!("go/go{NEW}.linux-amd64.tar.gz")).exists());
    assert!(dir.join(format!("go/go{old}.linux-amd64.tar.gz")).is_file());
    let sums = std::fs::read_to_string(dir.join("go/SHA256SUMS")).unwrap();
    assert_eq!(sums.lines().count(), 1, "{sums}");
    assert!(!dir.join("mod/corp.example/files/@v/v1.0.0.zip").exists());
    assert!(!dir.join("mod/corp.example/files/@v/list").exists());
}

#[test]
fn a_corrupt_or_missing_source_fails_naming_it_and_leaves_the_mirror_unchanged() {
    let (h, dir) = source_host();
    mirror(&h, &h.lockfile(), &dir, &[]);
    let snap = support::snapshot(&dir);
    // DIR itself may change: the staging dir under it came and went.
    let inside = |dir: &Path| {
        let mut m = support::mtimes(dir);
        m.remove(dir);
        m
    };
    let before = inside(&dir);

    // The old Go's archive exists in its mirror only with other bytes.
    let other = old_lockfile(&h);
    let old = support::old_version();
    let bad_dir = h.base().join("bad-archives");
    std::fs::create_dir_all(&bad_dir).unwrap();
    let file = format!("go{old}.linux-amd64.tar.gz");
    let mut bytes = std::fs::read(archive(&old)).unwrap();
    bytes[100] ^= 0xff;
    std::fs::write(bad_dir.join(&file), bytes).unwrap();
    let text = std::fs::read_to_string(&other).unwrap().replace(
        &archives_dir().display().to_string(),
        &bad_dir.display().to_string(),
    );
    std::fs::write(&other, text).unwrap();
    let mut cmd = h.golock_for(&other);
    cmd.arg("mirror").arg(&dir);
    let err = support::expect_exit(&mut cmd, 1);
    assert!(support::says(&err, &file), "{err}");
    assert!(err.contains(&bad_dir.display().to_string()), "{err}");
    assert!(err.contains("other bytes"), "{err}");
    assert_eq!(support::snapshot(&dir), snap);
    assert_eq!(inside(&dir), before);

    // A module whose go.mod the only proxy serves altered, into a new dir.
    let proxy = h.base().join("bad-proxy");
    assert!(
        Command::new("cp")
            .arg("-a")
            .arg(corpus().join("proxy"))
            .arg(&proxy)
            .status()
            .unwrap()
            .success()
    );
    let go_mod = proxy.join("corp.example/files/@v/v1.0.0.mod");
    let mut text = std::fs::read_to_string(&go_mod).unwrap();
    text.push_str("// altered\n");
    std::fs::write(&go_mod, text).unwrap();
    let fresh_dir = h.base().join("mirror2");
    let mut cmd = h.golock();
    cmd.arg("mirror").arg(&fresh_dir).arg("--proxy").arg(&proxy);
    let err = support::expect_exit(&mut cmd, 1);
    assert!(
        support::says(&err, "corp.example/files@v1.0.0 (.mod)"),
        "{err}"
    );
    assert!(err.contains("does not match golock.toml"), "{err}");
    assert!(
        !fresh_dir.exists(),
        "a failed mirror left {}",
        fresh_dir.display()
    );
}

#[test]
fn an_offline_bundle_is_a_source_when_mirrors_and_proxies_are_gone() {
    let h = Host::new();
    let archives = h.base().join("archives-copy");
    std::fs::create_dir_all(&archives).unwrap();
    let file = format!("go{NEW}.linux-amd64.tar.gz");
    std::fs::copy(archive(NEW), archives.join(&file)).unwrap();
    let proxy = h.base().join("proxy-copy");
    assert!(
        Command::new("cp")
            .arg("-a")
            .arg(corpus().join("proxy"))
            .arg(&proxy)
            .status()
            .unwrap()
            .success()
    );
    h.lock_corpus_modules(&format!("\"file://{}\"", proxy.display()), ENV);
    let text = std::fs::read_to_string(h.lockfile()).unwrap().replace(
        &archives_dir().display().to_string(),
        &archives.display().to_string(),
    );
    std::fs::write(h.lockfile(), text).unwrap();
    let bundle = h.base().join("offline.tar.gz");
    let from_cache = h.base().join("empty-cache");
    std::fs::create_dir_all(&from_cache).unwrap();
    h.expect(
        &[
            "bundle",
            "-o",
            bundle.to_str().unwrap(),
            "--from-cache",
            from_cache.to_str().unwrap(),
        ],
        0,
    );
    std::fs::remove_dir_all(&archives).unwrap();
    std::fs::remove_dir_all(&proxy).unwrap();

    // Another host: nothing in its cache, golock.toml's sources gone.
    let inside = Host::new();
    let dir = inside.base().join("mirror");
    mirror(
        &inside,
        &h.lockfile(),
        &dir,
        &["--bundle", bundle.to_str().unwrap()],
    );
    assert_eq!(digest(&dir.join("go").join(&file)), digest(&archive(NEW)));
    assert!(dir.join("mod/corp.example/files/@v/v1.0.0.zip").is_file());
    let mut cmd = inside.golock_for(&h.lockfile());
    cmd.arg("mirror").arg(inside.base().join("mirror2"));
    let err = support::expect_exit(&mut cmd, 1);
    assert!(support::says(&err, &file), "{err}");
}
