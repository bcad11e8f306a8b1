//! The module cache against the real go command: golock fills GOMODCACHE
//! from a GOPROXY tree built by scripts/module-corpus.sh, and the result must
//! equal the cache `go mod tidy` made, build offline and pass `go mod verify`.
// Tests set up and inspect the host directly, not through golock::fsx.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod support;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use support::{Host, NEW, corpus};

/// A lockfile locking Go and, through `lock --go-sum`, the corpus modules.
fn locked_host(proxies: &str) -> (Host, PathBuf) {
    let h = Host::new();
    let cache = h.lock_corpus_modules(proxies, "GOFLAGS = \"-mod=mod\"\nGOPROXY = \"off\"\n");
    (h, cache)
}

fn file_proxy() -> String {
    format!("\"file://{}\"", corpus().join("proxy").display())
}

/// Run the real go offline against `cache` in a copy of the corpus app.
fn go_offline(h: &Host, cache: &Path, args: &[&str]) -> String {
    let app = support::corpus_app(h, &corpus());
    support::run_ok(support::go_command(h, &app, cache, "off").args(args))
}

/// Path → (mode, content hash) for a cache, leaving out what the issue
/// allows to differ: `*.lock` files and `cache/download/sumdb`.
fn cache_tree(dir: &Path) -> BTreeMap<String, String> {
    support::snapshot(dir)
        .into_iter()
        .filter(|(k, _)| !k.ends_with(".lock") && !k.starts_with("cache/download/sumdb"))
        .collect()
}

/// `.info` files as proxy.golang.org serves them, with an `Origin`: a tag
/// version (go keeps its Ref) and a pseudo-version (go drops its Ref); go
/// drops TagPrefix, TagSum and RepoSum of both, and escapes `&`, `<`, `>`.
const ORIGIN_INFOS: [(&str, &str); 2] = [
    (
        "corp.example/files/@v/v1.0.0.info",
        r#"{"Version":"v1.0.0","Time":"2024-01-02T05:04:05.500+02:00","Origin":{"VCS":"git","URL":"https://git.corp.example/files?x=1&y=<2>","Hash":"0123456789abcdef0123456789abcdef01234567","Ref":"refs/tags/v1.0.0","TagPrefix":"","TagSum":"t1:abc=","RepoSum":"r1:q="}}"#,
    ),
    (
        "corp.example/pseudo/@v/v0.0.0-20240102030405-abcdefabcdef.info",
        r#"{"Time":"2024-01-02T03:04:05Z","Origin":{"Ref":"refs/heads/main","Hash":"abcdefabcdef0123456789abcdef0123456789ab","Subdir":"sub","URL":"https://git.corp.example/pseudo","VCS":"git","TagSum":"t1:x="},"Version":"v0.0.0-20240102030405-abcdefabcdef"}"#,
    ),
];

/// A copy of the corpus proxy whose `.info` files of [`ORIGIN_INFOS`] carry an Origin.
fn origin_proxy(h: &Host) -> PathBuf {
    let proxy = h.base().join("origin-proxy");
    let copied = Command::new("cp")
        .arg("-a")
        .arg(corpus().join("proxy"))
        .arg(&proxy)
        .status()
        .unwrap();
    assert!(copied.success());
    for (rel, info) in ORIGIN_INFOS {
        assert!(proxy.join(rel).is_file(), "{rel} is not in the corpus");
        std::fs::write(proxy.join(rel), info).unwrap();
    }
    proxy
}

/// The cache the real `go mod download` fills from `proxy` for the corpus app.
fn go_download_cache(h: &Host, proxy: &Path) -> PathBuf {
    let cache = h.base().join("go-filled-cache");
    let app = support::corpus_app(h, &corpus());
    let proxy_url = format!("file://{}", proxy.display());
    support::run_ok(support::go_command(h, &app, &cache, &proxy_url).args(["mod", "download"]));
    cache
}

/// Entries of `ours` and `reference` that differ, at most 20.
fn differences(
    ours: &BTreeMap<String, String>,
    reference: &BTreeMap<String, String>,
) -> Vec<String> {
    reference
        .iter()
        .filter(|(k, v)| ours.get(*k) != Some(*v))
        .map(|(k, v)| format!("{k}: go {v} / golock {:?}", ours.get(k)))
        .chain(
            ours.keys()
                .filter(|k| !reference.contains_key(*k))
                .map(|k| format!("{k}: only golock")),
        )
        .take(20)
        .collect()
}

#[test]
fn golock_fills_the_cache_exactly_as_go_does() {
    let (h, cache) = locked_host(&file_proxy());
    let lockfile = std::fs::read_to_string(h.lockfile()).unwrap();
    assert!(
        lockfile.contains("\"corp.example/Upper/Case@v0.9.0\" = { mod = \"h1:"),
        "{lockfile}"
    );
    assert_eq!(lockfile.matches("@v").count(), 8, "{lockfile}");
    let proxy = origin_proxy(&h);
    let proxy_arg = format!("--proxy=file://{}", proxy.display());

    let plan = h.expect(&["plan", &proxy_arg], 0);
    assert!(
        plan.contains("+ module corp.example/files@v1.0.0"),
        "{plan}"
    );
    assert!(
        plan.contains("+ module corp.example/incompat@v2.0.0+incompatible"),
        "{plan}"
    );
    h.expect(&["apply", "-y", &proxy_arg], 0);

    go_offline(&h, &cache, &["build", "./..."]);
    let verified = go_offline(&h, &cache, &["mod", "verify"]);
    assert!(verified.contains("all modules verified"), "{verified}");

    // The same proxy, the real go: `go mod download` writes no cache/lock
    // (it writes no go.sum); `go mod tidy`, which made ref-cache, does.
    let ours = cache_tree(&cache);
    let without_lock = |tree: BTreeMap<String, String>| -> BTreeMap<String, String> {
        tree.into_iter()
            .filter(|(k, _)| k != "cache/lock")
            .collect()
    };
    let reference = cache_tree(&go_download_cache(&h, &proxy));
    let differ = differences(&without_lock(ours.clone()), &without_lock(reference));
    assert!(differ.is_empty(), "caches differ:\n{}", differ.join("\n"));
    assert_eq!(
        ours.get("cache/lock"),
        cache_tree(&corpus().join("ref-cache")).get("cache/lock")
    );

    let info = |rel: &str| std::fs::read_to_string(cache.join("cache/download").join(rel)).unwrap();
    assert_eq!(
        info(ORIGIN_INFOS[0].0),
        r#"{"Version":"v1.0.0","Time":"2024-01-02T05:04:05.5+02:00","Origin":{"VCS":"git","URL":"https://git.corp.example/files?x=1\u0026y=\u003c2\u003e","Hash":"0123456789abcdef0123456789abcdef01234567","Ref":"refs/tags/v1.0.0"}}"#
    );
    assert_eq!(
        info(ORIGIN_INFOS[1].0),
        r#"{"Version":"v0.0.0-20240102030405-abcdefabcdef","Time":"2024-01-02T03:04:05Z","Origin":{"VCS":"git","URL":"https://git.corp.example/pseudo","Subdir":"sub","Hash":"abcdefabcdef0123456789abcdef0123456789ab"}}"#
    );
    let shown = go_offline(
        &h,
        &cache,
        &[
            "mod",
            "download",
            "-json",
            "corp.example/files@v1.0.0",
            "corp.example/pseudo@v0.0.0-20240102030405-abcdefabcdef",
        ],
    );
    let origins: Vec<serde_json::Value> = serde_json::Deserializer::from_str(&shown)
        .into_iter::<serde_json::Value>()
        .map(|v| v.unwrap()["Origin"].clone())
        .collect();
    assert_eq!(
        origins,
        [
            serde_json::json!({"VCS": "git", "URL": "https://git.corp.example/files?x=1&y=<2>",
                "Hash": "0123456789abcdef0123456789abcdef01234567", "Ref": "refs/tags/v1.0.0"}),
            serde_json::json!({"VCS": "git", "URL": "https://git.corp.example/pseudo", "Subdir": "sub",
                "Hash": "abcdefabcdef0123456789abcdef0123456789ab"}),
        ],
        "{shown}"
    );

    let again = h.expect(&["plan", "--detailed-exitcode", &proxy_arg], 0);
    assert!(again.contains("No changes"), "{again}");
    h.expect(&["verify"], 0);
}

/// A served `.info` go would refuse (another version) makes the source
/// fail for that module, naming why.
#[test]
fn an_info_for_another_version_is_refused() {
    let (h, cache) = locked_host(&file_proxy());
    let proxy = origin_proxy(&h);
    std::fs::write(
        proxy.join("corp.example/many/@v/v1.0.0.info"),
        r#"{"Version":"v1.0.1","Time":"2024-01-02T03:04:05Z"}"#,
    )
    .unwrap();
    let proxy_arg = format!("--proxy=file://{}", proxy.display());
    let err = h.expect(&["apply", "-y", &proxy_arg], 1);
    assert!(
        err.contains("corp.example/many@v1.0.0") && err.contains("invalid .info for v1.0.0"),
        "{err}"
    );
    assert!(err.contains("\"v1.0.1\""), "{err}");
    assert!(!cache.exists(), "nothing may be written");
}

#[test]
fn verify_and_plan_find_damage_and_apply_repairs_it() {
    let (h, cache) = locked_host(&file_proxy());
    h.expect(&["apply", "-y"], 0);
    let file = cache.join("corp.example/files@v1.0.0/empty.txt");
    let dir = file.parent().unwrap();
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let tampered = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.is_file())
        .unwrap();
    std::fs::set_permissions(&tampered, std::fs::Permissions::from_mode(0o644)).unwrap();
    std::fs::write(&tampered, "tampered").unwrap();
    let out = h.expect(&["verify"], 2);
    assert!(
        out.contains("corp.example/files@v1.0.0: extracted files hash"),
        "{out}"
    );

    let ziphash = cache.join("cache/download/corp.example/files/@v/v1.0.0.ziphash");
    std::fs::remove_file(&ziphash).unwrap();
    let plan = h.expect(&["plan"], 0);
    assert!(
        plan.contains("~ module corp.example/files@v1.0.0 (repair: .ziphash is missing)"),
        "{plan}"
    );
    h.expect(&["apply", "-y"], 0);
    h.expect(&["verify"], 0);
    go_offline(&h, &cache, &["mod", "verify"]);
}

/// Make a file of a module's extracted tree lose its data, as a power
/// cut before writeback can; returns it.
fn lose_data_of_a_tree_file(cache: &Path) -> PathBuf {
    let dir = cache.join("corp.example/files@v1.0.0");
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let lost = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.is_file() && p.metadata().unwrap().len() > 0)
        .unwrap();
    std::fs::set_permissions(&lost, std::fs::Permissions::from_mode(0o644)).unwrap();
    std::fs::write(&lost, b"").unwrap();
    lost
}

/// Modules are installed with deferred durability (no syncfs) and marked
/// with the boot; after a reboot they are rehashed against the lock, a
/// damaged one is repaired by the next apply, and intact ones are settled.
#[test]
fn deferred_modules_are_rechecked_after_a_reboot() {
    let (h, cache) = locked_host(&file_proxy());
    h.expect_in_boot("boot-a", &["apply", "-y"], 0);
    let module = "corp.example/files@v1.0.0";
    let marked = &h.state()["unsynced_modules"]["boot-a"];
    assert!(
        marked.as_array().unwrap().iter().any(|m| m == module),
        "{marked}"
    );

    let lost = lose_data_of_a_tree_file(&cache);
    let same_boot = h.expect_in_boot("boot-a", &["plan", "--detailed-exitcode"], 0);
    assert!(same_boot.contains("No changes"), "{same_boot}");

    let rebooted = h.expect_in_boot("boot-b", &["plan", "--detailed-exitcode"], 2);
    assert!(
        rebooted.contains(&format!("~ module {module} (repair: extracted files hash"))
            && rebooted.contains("(after a reboot))"),
        "{rebooted}"
    );
    h.expect_in_boot("boot-b", &["apply", "-y"], 0);
    assert!(std::fs::metadata(&lost).unwrap().len() > 0);
    h.expect_in_boot("boot-b", &["verify"], 0);
    go_offline(&h, &cache, &["mod", "verify"]);
    // The intact ones were settled before the apply; the repaired one is
    // marked again, with the boot it was reinstalled in.
    assert_eq!(
        h.state()["unsynced_modules"],
        serde_json::json!({ "boot-b": [module] })
    );

    let settled = h.expect_in_boot("boot-c", &["recover"], 0);
    assert!(
        settled.contains("1 module is intact after the reboot"),
        "{settled}"
    );
    assert!(h.state().get("unsynced_modules").is_none());
    h.expect_in_boot("boot-d", &["plan", "--detailed-exitcode"], 0);
}

#[test]
fn modules_installed_with_sync_full_are_not_marked() {
    let (h, cache) = locked_host(&file_proxy());
    h.expect_in_boot("boot-a", &["apply", "-y", "--sync", "full"], 0);
    assert!(h.state().get("unsynced_modules").is_none());
    assert!(
        h.state()["modules"]
            .as_array()
            .is_some_and(|m| !m.is_empty())
    );
    // Not rechecked after a reboot: damage is only found by verify / --repair.
    lose_data_of_a_tree_file(&cache);
    h.expect_in_boot("boot-b", &["plan", "--detailed-exitcode"], 0);
    h.expect_in_boot("boot-b", &["verify"], 2);
}

#[test]
fn a_hash_mismatch_is_a_security_error_and_writes_nothing() {
    let (h, cache) = locked_host(&file_proxy());
    let text = std::fs::read_to_string(h.lockfile()).unwrap();
    let line = text
        .lines()
        .find(|l| l.starts_with("\"corp.example/many@v1.0.0\""))
        .unwrap()
        .to_string();
    let real = line
        .split("zip = \"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_string();
    let fake = format!("h1:{}=", "A".repeat(43));
    std::fs::write(h.lockfile(), text.replace(&real, &fake)).unwrap();
    let err = h.expect(&["apply", "-y"], 1);
    assert!(err.contains("SECURITY ERROR"), "{err}");
    assert!(err.contains("corp.example/many@v1.0.0"), "{err}");
    assert!(err.contains(&fake) && err.contains(&real), "{err}");
    assert!(
        !cache.exists(),
        "nothing may be written: {:?}",
        support::snapshot(&cache).keys().take(5).collect::<Vec<_>>()
    );
    assert!(!h.root.join("go").exists());
}

#[test]
fn modules_come_from_a_carried_cache_or_an_http_proxy() {
    // An existing module cache (e.g. carried over from a connected machine).
    let (h, cache) = locked_host("");
    let ref_cache = corpus().join("ref-cache");
    h.expect(
        &["apply", "-y", "--from-cache", ref_cache.to_str().unwrap()],
        0,
    );
    go_offline(&h, &cache, &["mod", "verify"]);

    // A GOPROXY HTTP server on loopback.
    let server = serve_dir(corpus().join("proxy"));
    let (h2, cache2) = locked_host(&format!("\"{server}\""));
    h2.expect(&["apply", "-y"], 0);
    go_offline(&h2, &cache2, &["build", "./..."]);
}

#[test]
fn prune_modules_removes_only_unlocked_ones() {
    let (h, cache) = locked_host(&file_proxy());
    h.expect(&["apply", "-y"], 0);
    let text = std::fs::read_to_string(h.lockfile()).unwrap();
    let kept: String = text
        .lines()
        .filter(|l| !l.starts_with("\"corp.example/many@"))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(h.lockfile(), kept).unwrap();
    h.expect(&["plan", "--detailed-exitcode"], 0); // unlocked modules are left alone
    let plan = h.expect(&["plan", "--prune-modules"], 0);
    assert!(
        plan.contains("- remove module corp.example/many@v1.0.0"),
        "{plan}"
    );
    h.expect(&["apply", "-y", "--prune-modules"], 0);
    assert!(!cache.join("corp.example/many@v1.0.0").exists());
    assert!(
        !cache
            .join("cache/download/corp.example/many/@v/v1.0.0.zip")
            .exists()
    );
    assert!(cache.join("corp.example/files@v1.0.0").exists());
}

#[test]
fn check_reports_repo_drift_for_hooks() {
    let (h, _) = locked_host(&file_proxy());
    std::fs::copy(corpus().join("go.sum"), h.repo.join("go.sum")).unwrap();
    std::fs::write(
        h.repo.join("go.mod"),
        "module corp.example/app\n\ngo 1.21\n",
    )
    .unwrap();
    let ok = h.expect(&["check", "--repo-only"], 0);
    assert!(ok.contains("In sync"), "{ok}");

    let mut sum = std::fs::read_to_string(h.repo.join("go.sum")).unwrap();
    sum.push_str(
        "corp.example/new v1.0.0/go.mod h1:G7mAYYxgmS0lVkHyy2hEOLQCFB0DlQFTMLWggykrydY=\n",
    );
    std::fs::write(h.repo.join("go.sum"), sum).unwrap();
    std::fs::write(
        h.repo.join("go.mod"),
        "module corp.example/app\n\ngo 1.21\ntoolchain go1.28.0\n",
    )
    .unwrap();
    let drift = h.expect(&["check", "--repo-only"], 2);
    assert!(
        drift.contains("corp.example/new@v1.0.0 is in go.sum but not in golock.toml"),
        "{drift}"
    );
    assert!(
        drift.contains("go.mod requires go 1.28.0, golock.toml locks go 1.27.3"),
        "{drift}"
    );

    // `lock` refuses to change a locked hash silently.
    let changed = std::fs::read_to_string(h.repo.join("go.sum"))
        .unwrap()
        .replacen("h1:", "h1:X", 1);
    std::fs::write(h.repo.join("go.sum"), changed).unwrap();
    let err = h.expect(&["lock"], 1);
    assert!(err.contains("--update"), "{err}");
}

#[test]
fn init_writes_a_starter_lockfile_from_go_mod_and_go_sum() {
    let h = Host::new();
    std::fs::copy(corpus().join("go.sum"), h.repo.join("go.sum")).unwrap();
    std::fs::write(
        h.repo.join("go.mod"),
        "module corp.example/app\n\ngo 1.21\ntoolchain go1.27.3\n",
    )
    .unwrap();
    h.succeed(&["init"]);
    let text = std::fs::read_to_string(h.lockfile()).unwrap();
    assert!(text.contains("version = \"1.27.3\""), "{text}");
    assert_eq!(text.matches("@v").count(), 8, "{text}");
    h.expect(&["check", "--repo-only"], 0);
    h.expect(&["init"], 1); // never overwrites
}

/// When several modules fail, apply names every one of them, each with
/// every source tried and why, and changes nothing.
#[test]
fn apply_lists_every_module_no_source_provides() {
    let (h, cache) = locked_host(&file_proxy());
    let proxy = origin_proxy(&h);
    std::fs::write(proxy.join("corp.example/files/@v/v1.0.0.zip"), "not a zip").unwrap();
    std::fs::write(
        proxy.join("corp.example/many/@v/v1.0.0.mod"),
        "module corp.example/many\n// changed\n",
    )
    .unwrap();
    let empty = h.base().join("empty-proxy");
    std::fs::create_dir_all(&empty).unwrap();
    let server = serve_dir(empty);
    let err = h.expect(
        &[
            "apply",
            "-y",
            &format!("--proxy=file://{}", proxy.display()),
            &format!("--proxy={server}"),
        ],
        1,
    );
    // miette wraps long lines anywhere: compare squashed.
    let flat = support::squash(&err);
    let flat_of = support::squash;
    assert!(
        support::says(&err, "no source could provide 2 modules:"),
        "{err}"
    );
    let proxy = proxy.display().to_string();
    for (module, bad) in [
        ("corp.example/files@v1.0.0", "invalid Zip archive"),
        ("corp.example/many@v1.0.0", "SECURITY ERROR"),
    ] {
        let listed = flat
            .split(&format!("{module}:-{proxy}:"))
            .nth(1)
            .unwrap_or_else(|| panic!("{module} is not listed with {proxy} first: {err}"));
        let (first, second) = listed.split_once("-http://").unwrap();
        assert!(first.contains(&flat_of(bad)), "{module}: {first}\n{err}");
        assert!(
            second.starts_with(&format!(
                "{}:.modnotfound",
                server.trim_start_matches("http://")
            )),
            "{module}: {second}\n{err}"
        );
    }
    assert!(err.contains("--from-cache"), "{err}");
    assert!(!cache.exists(), "nothing may be written");
    assert!(!h.root.join("go").exists());
}

/// A minimal HTTP/1.1 file server on loopback, serving `root` (GOPROXY tree).
fn serve_dir(root: PathBuf) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(2000) {
            let Ok(mut stream) = stream else { break };
            let root = root.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                loop {
                    let mut request = String::new();
                    if reader.read_line(&mut request).unwrap_or(0) == 0 {
                        return;
                    }
                    let mut header = String::new();
                    while reader.read_line(&mut header).unwrap_or(0) > 2 {
                        header.clear();
                    }
                    let path = request.split_whitespace().nth(1).unwrap_or("/").to_string();
                    let decoded = path.replace("%21", "!").replace("%2B", "+");
                    let file = root.join(decoded.trim_start_matches('/'));
                    let reply = match std::fs::read(&file) {
                        Ok(body) => {
                            let mut r = format!(
                                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n",
                                body.len()
                            )
                            .into_bytes();
                            r.extend(body);
                            r
                        }
                        Err(_) => b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n".to_vec(),
                    };
                    if stream.write_all(&reply).is_err() {
                        return;
                    }
                }
            });
        }
    });
    format!("http://{addr}")
}

/// A one-module GOPROXY tree whose zip is written by `build`.
fn hostile_proxy(base: &Path, build: impl FnOnce(&mut zip::ZipWriter<std::fs::File>)) -> PathBuf {
    let proxy = base.join("hostile-proxy");
    let dir = proxy.join("corp.example/evil/@v");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("list"), "v1.0.0\n").unwrap();
    std::fs::write(
        dir.join("v1.0.0.info"),
        r#"{"Version":"v1.0.0","Time":"2024-01-02T03:04:05Z"}"#,
    )
    .unwrap();
    std::fs::write(dir.join("v1.0.0.mod"), "module corp.example/evil\n").unwrap();
    let mut w = zip::ZipWriter::new(std::fs::File::create(dir.join("v1.0.0.zip")).unwrap());
    build(&mut w);
    w.finish().unwrap();
    proxy
}

fn opts() -> zip::write::SimpleFileOptions {
    zip::write::SimpleFileOptions::default().unix_permissions(0o644)
}

#[test]
fn hostile_zips_are_rejected_and_the_cache_is_unchanged() {
    type Build = Box<dyn Fn(&mut zip::ZipWriter<std::fs::File>)>;
    const P: &str = "corp.example/evil@v1.0.0/";
    let file = |name: String, body: &'static [u8]| -> Build {
        Box::new(move |w| {
            w.start_file(name.clone(), opts()).unwrap();
            w.write_all(body).unwrap();
        })
    };
    let cases: Vec<(&str, Build)> = vec![
        ("zip-slip", file(format!("{P}../../escape.txt"), b"x")),
        ("absolute path", file("/etc/evil".into(), b"x")),
        (
            "wrong prefix",
            file("corp.example/other@v1.0.0/a.go".into(), b"x"),
        ),
        (
            "duplicate names",
            // The writer refuses duplicates: write a.go and b.go, then rename b.go below.
            Box::new(|w| {
                for name in ["a.go", "b.go"] {
                    w.start_file(format!("{P}{name}"), opts()).unwrap();
                    w.write_all(b"package a").unwrap();
                }
            }),
        ),
        (
            "case-fold collision",
            Box::new(|w| {
                for name in ["README", "readme"] {
                    w.start_file(format!("{P}{name}"), opts()).unwrap();
                    w.write_all(b"x").unwrap();
                }
            }),
        ),
        (
            "symlink",
            Box::new(|w| {
                w.add_symlink(format!("{P}link"), "/etc/passwd", opts())
                    .unwrap();
            }),
        ),
        (
            "zip bomb",
            Box::new(|w| {
                w.start_file(format!("{P}bomb"), opts().large_file(true))
                    .unwrap();
                let zeros = vec![0u8; 1 << 20];
                for _ in 0..520 {
                    w.write_all(&zeros).unwrap();
                }
            }),
        ),
    ];
    for (what, build) in cases {
        let h = Host::new();
        let cache = h.base().join("modcache");
        std::fs::create_dir_all(cache.join("cache/download")).unwrap();
        std::fs::write(cache.join("cache/download/keep"), "existing cache content").unwrap();
        let proxy = hostile_proxy(&h.base(), |w| build(w));
        if what == "duplicate names" {
            let zip = proxy.join("corp.example/evil/@v/v1.0.0.zip");
            let bytes = std::fs::read(&zip).unwrap();
            let (from, to) = (format!("{P}b.go"), format!("{P}a.go"));
            let patched = replace_all(&bytes, from.as_bytes(), to.as_bytes());
            assert_ne!(patched, bytes);
            std::fs::write(&zip, patched).unwrap();
        }
        let go_mod_h1 = golock::modcache::hash_go_mod(b"module corp.example/evil\n");
        let zip_h1 = golock::modcache::hash_zip(&proxy.join("corp.example/evil/@v/v1.0.0.zip"))
            .unwrap_or_else(|_| golock::modcache::EMPTY_H1.to_string());
        h.lock(
            NEW,
            &format!(
                "[modules]\nproxies = [\"file://{}\"]\n[modules.require]\n\"corp.example/evil@v1.0.0\" = {{ zip = \"{zip_h1}\", mod = \"{go_mod_h1}\" }}\n\n[env]\nGOMODCACHE = \"{}\"\n",
                proxy.display(),
                cache.display()
            ),
        );
        let before = support::snapshot(&cache);
        let err = h.expect(&["apply", "-y"], 1);
        assert!(err.contains("corp.example/evil@v1.0.0"), "{what}: {err}");
        assert_eq!(support::snapshot(&cache), before, "{what}: cache changed");
        assert!(!h.base().join("escape.txt").exists(), "{what}");
        assert!(
            !h.root.join("go").exists(),
            "{what}: nothing else applied either"
        );
    }
}

fn replace_all(hay: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(hay.len());
    let mut i = 0;
    while i < hay.len() {
        if hay[i..].starts_with(from) {
            out.extend_from_slice(to);
            i += from.len();
        } else {
            out.push(hay[i]);
            i += 1;
        }
    }
    out
}

#[test]
fn offline_bundle_round_trip() {
    let a = Host::new();
    let base = a.base();
    let mirror = base.join("mirror");
    std::fs::create_dir_all(&mirror).unwrap();
    std::fs::copy(
        support::archive(NEW),
        mirror.join(format!("go{NEW}.linux-amd64.tar.gz")),
    )
    .unwrap();
    let proxy = base.join("proxy");
    assert!(
        Command::new("cp")
            .arg("-a")
            .arg(corpus().join("proxy"))
            .arg(&proxy)
            .status()
            .unwrap()
            .success()
    );
    let cache = base.join("modcache");
    let (sha, size) = support::digest(&support::archive(NEW));
    std::fs::write(
        a.lockfile(),
        format!(
            "schema = 1\n[go]\nversion = \"{NEW}\"\nmirrors = [\"{}\"]\n[go.archives]\nlinux-amd64 = {{ file = \"go{NEW}.linux-amd64.tar.gz\", sha256 = \"{sha}\", size = {size} }}\n[modules]\nproxies = [\"file://{}\"]\n[env]\nGOMODCACHE = \"{}\"\n",
            mirror.display(),
            proxy.display(),
            cache.display()
        ),
    )
    .unwrap();
    a.expect(
        &[
            "lock",
            "--go-sum",
            corpus().join("go.sum").to_str().unwrap(),
        ],
        0,
    );
    a.expect(&["apply", "-y"], 0);
    let bundle = base.join("offline.tar.gz");
    a.expect(&["bundle", "-o", bundle.to_str().unwrap()], 0);

    // The offline host has none of the connected machine's sources.
    for dir in [&mirror, &proxy, &cache, &a.root] {
        let _ = Command::new("chmod").arg("-R").arg("u+w").arg(dir).status();
        std::fs::remove_dir_all(dir).unwrap();
    }
    let b = Host::new();
    let planned = b.succeed_for(
        &a.lockfile(),
        &["plan", "--bundle", bundle.to_str().unwrap()],
    );
    let text = String::from_utf8_lossy(&planned.stdout);
    assert!(
        text.contains("+ module corp.example/files@v1.0.0") && text.contains("+ install go"),
        "{text}"
    );
    assert!(
        !b.root.exists() && !cache.exists(),
        "plan --bundle changes nothing"
    );
    b.succeed_for(
        &a.lockfile(),
        &["apply", "-y", "--bundle", bundle.to_str().unwrap()],
    );
    assert!(b.active_go_version().contains(NEW));
    go_offline(&b, &cache, &["build", "./..."]);
    go_offline(&b, &cache, &["mod", "verify"]);

    // A bundle made for another lockfile is refused.
    let mut text = std::fs::read_to_string(a.lockfile()).unwrap();
    text.push_str("# changed\n");
    std::fs::write(a.lockfile(), text).unwrap();
    let c = Host::new();
    let out = c
        .golock_for(&a.lockfile())
        .args(["apply", "-y", "--bundle", bundle.to_str().unwrap()])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("another golock.toml"), "{err}");
    assert!(!c.root.join("go").exists());
}

#[test]
fn trusted_keys_require_a_signed_bundle() {
    let kp = minisign::KeyPair::generate_unencrypted_keypair().unwrap();
    let other = minisign::KeyPair::generate_unencrypted_keypair().unwrap();
    let a = Host::new();
    let base = a.base();
    let (sha, size) = support::digest(&support::archive(NEW));
    std::fs::write(
        a.lockfile(),
        format!(
            "schema = 1\ntrusted_keys = [\"{}\"]\n[go]\nversion = \"{NEW}\"\nmirrors = [\"{}\"]\n[go.archives]\nlinux-amd64 = {{ file = \"go{NEW}.linux-amd64.tar.gz\", sha256 = \"{sha}\", size = {size} }}\n",
            kp.pk.to_base64(),
            support::archives_dir().display()
        ),
    )
    .unwrap();
    let key_file = |name: &str, sk: &minisign::SecretKey| {
        let path = base.join(name);
        std::fs::write(&path, sk.to_box(None).unwrap().to_string()).unwrap();
        path
    };
    let good_key = key_file("good.key", &kp.sk);
    let bad_key = key_file("other.key", &other.sk);
    let bundle = |name: &str, sign: Option<&Path>| {
        let out = base.join(name);
        let mut args = vec!["bundle", "-o", out.to_str().unwrap()];
        if let Some(k) = sign {
            args.extend(["--sign", k.to_str().unwrap()]);
        }
        a.expect(&args, 0);
        out
    };
    let signed = bundle("signed.tar.gz", Some(&good_key));
    let unsigned = bundle("unsigned.tar.gz", None);
    let foreign = bundle("foreign.tar.gz", Some(&bad_key));
    for (b, what) in [(&unsigned, "not signed"), (&foreign, "not a trusted key")] {
        let h = Host::new();
        let out = h
            .golock_for(&a.lockfile())
            .args(["apply", "-y", "--bundle", b.to_str().unwrap()])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert!(err.contains(what), "{what}: {err}");
        assert!(!h.root.join("go").exists());
    }
    let h = Host::new();
    h.succeed_for(
        &a.lockfile(),
        &["apply", "-y", "--bundle", signed.to_str().unwrap()],
    );
    assert!(h.active_go_version().contains(NEW));
}
