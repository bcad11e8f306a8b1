//! `plan` and `apply` check the sources of every artifact they would fetch
//! before anything changes: local ones with a stat (and the locked size of
//! an archive), HTTP ones only with `plan --refresh`, one HEAD request per
//! artifact, counted here on a loopback server.
// Tests set up and inspect the host directly, not through golock::fsx.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod support;

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use support::{Host, NEW, archive, corpus, digest, says};

const ARCHIVE: &str = "go1.27.3.linux-amd64.tar.gz";
/// The corpus modules of go.sum, as `module path@version`.
const MODULES: [&str; 8] = [
    "corp.example/Upper/Case@v0.9.0",
    "corp.example/Upper/Case@v1.0.0-RC1",
    "corp.example/files@v1.0.0",
    "corp.example/incompat@v2.0.0+incompatible",
    "corp.example/major/v2@v2.1.0",
    "corp.example/many@v1.0.0",
    "corp.example/pseudo@v0.0.0-20240102030405-abcdefabcdef",
    "gopkg.in/corpx.v1@v1.0.0",
];

/// A lockfile locking Go 1.27.3 and the corpus modules, whose mirrors and
/// proxies are then replaced by `mirrors` and `proxies` (TOML array items).
fn locked(h: &Host, mirrors: &str, proxies: &str) -> PathBuf {
    let corpus_proxy = format!("\"file://{}\"", corpus().join("proxy").display());
    let cache = h.lock_corpus_modules(&corpus_proxy, "");
    let text = std::fs::read_to_string(h.lockfile()).unwrap();
    let text: String = text
        .lines()
        .map(|line| match line {
            l if l.starts_with("mirrors = ") => format!("mirrors = [{mirrors}]\n"),
            l if l.starts_with("proxies = ") => format!("proxies = [{proxies}]\n"),
            l => format!("{l}\n"),
        })
        .collect();
    std::fs::write(h.lockfile(), text).unwrap();
    cache
}

fn quoted(path: &Path) -> String {
    format!("\"{}\"", path.display())
}

/// The part of a report naming `artifact`, up to the next artifact.
fn listed<'a>(squashed: &'a str, artifact: &str) -> &'a str {
    let name = format!("{}:", support::squash(artifact));
    let start = squashed
        .find(&name)
        .unwrap_or_else(|| panic!("{artifact} is not listed: {squashed}"));
    let rest = &squashed[start + name.len()..];
    let end = rest
        .find("module")
        .into_iter()
        .chain(rest.find("help:"))
        .min()
        .unwrap_or(rest.len());
    &rest[..end]
}

#[test]
fn plan_fails_naming_every_artifact_with_no_local_source() {
    let h = Host::new();
    let gone = h.base().join("no-such-mirror");
    let empty = h.base().join("empty-mirror");
    std::fs::create_dir_all(&empty).unwrap();
    let no_proxy = h.base().join("no-such-proxy");
    locked(
        &h,
        &format!("{}, \"file://{}\"", quoted(&gone), empty.display()),
        &quoted(&no_proxy),
    );
    let out = h.expect(&["plan"], 1);
    assert!(
        says(&out, "no usable source for 9 artifacts of the plan"),
        "{out}"
    );
    let squashed = support::squash(&out);
    let toolchain = listed(&squashed, &format!("go{NEW} archive {ARCHIVE}"));
    for mirror in [&gone, &empty] {
        let tried = support::squash(&format!("{}: not found", mirror.join(ARCHIVE).display()));
        assert!(toolchain.contains(&tried), "{mirror:?}: {out}");
    }
    for module in MODULES {
        let tried = listed(&squashed, &format!("module {module}"));
        let why = support::squash(&format!("{}: does not exist", no_proxy.display()));
        assert!(tried.contains(&why), "{module}: {out}");
    }
    for named in [
        "[go] mirrors",
        "[modules] proxies",
        "--proxy",
        "--from-cache",
        "--bundle",
    ] {
        assert!(says(&out, named), "the help names {named}: {out}");
    }

    let json = h.golock().args(["plan", "--json"]).output().unwrap();
    assert_eq!(json.status.code(), Some(1));
    assert!(json.stdout.is_empty(), "no plan is printed");
    assert!(!h.root.exists(), "plan writes nothing");
}

#[test]
fn flags_that_name_missing_sources_fail_the_plan() {
    let h = Host::new();
    let ref_cache = corpus().join("ref-cache");
    let no_proxy = h.base().join("no-such-proxy");
    locked(&h, &quoted(&support::archives_dir()), "");

    // An empty [modules] proxies is said, not listed as nothing.
    let out = h.expect(&["plan"], 1);
    assert!(says(&out, "no usable source for 8 artifacts"), "{out}");
    assert!(says(&out, "no module source is configured"), "{out}");

    let missing = h.base().join("go.tar.gz");
    let flag = format!("--archive={}", missing.display());
    let from_cache = format!("--from-cache={}", ref_cache.display());
    let out = h.expect(&["plan", &flag, &from_cache], 1);
    assert!(says(&out, "no usable source for 1 artifact"), "{out}");
    assert!(
        says(&out, &format!("{}: not found", missing.display())),
        "{out}"
    );

    let (_, size) = digest(&archive(NEW));
    let wrong = h.lockfile();
    let flag = format!("--archive={}", wrong.display());
    let out = h.expect(&["plan", &flag, &from_cache], 1);
    let len = std::fs::metadata(&wrong).unwrap().len();
    assert!(
        says(&out, &format!("is {len} bytes, golock.toml says {size}")),
        "{out}"
    );

    let proxy = format!("--proxy={}", no_proxy.display());
    let out = h.expect(&["plan", &proxy], 1);
    assert!(
        says(&out, &format!("{}: does not exist", no_proxy.display())),
        "{out}"
    );
    // A usable source anywhere in the list is enough.
    let plan = h.expect(&["plan", &proxy, &from_cache], 0);
    assert!(
        plan.contains("+ module corp.example/files@v1.0.0"),
        "{plan}"
    );

    // A proxy that lacks one file of a module is not its source.
    let partial = h.base().join("partial-proxy");
    let copied = std::process::Command::new("cp")
        .arg("-a")
        .arg(corpus().join("proxy"))
        .arg(&partial)
        .status()
        .unwrap();
    assert!(copied.success());
    std::fs::remove_file(partial.join("corp.example/files/@v/v1.0.0.zip")).unwrap();
    let out = h.expect(
        &["plan", &format!("--proxy=file://{}", partial.display())],
        1,
    );
    assert!(says(&out, "no usable source for 1 artifact"), "{out}");
    assert!(
        says(&out, "corp.example/files/@v/v1.0.0.zip not found"),
        "{out}"
    );
}

#[test]
fn apply_fails_before_it_changes_anything() {
    let h = Host::new();
    let no_proxy = h.base().join("no-such-proxy");
    let cache = locked(&h, &quoted(&support::archives_dir()), &quoted(&no_proxy));
    let before = support::snapshot(&h.base());
    let started = std::time::Instant::now();
    let out = h.expect(&["apply", "-y"], 1);
    let took = started.elapsed();
    assert!(says(&out, "no usable source for 8 artifacts"), "{out}");
    assert!(!out.contains("rolled back"), "nothing was started: {out}");
    assert!(!h.root.join("toolchains").exists() && !cache.exists());
    let after: std::collections::BTreeMap<String, String> = support::snapshot(&h.base())
        .into_iter()
        .filter(|(k, _)| k != "root" && !k.starts_with("root/"))
        .collect();
    let before: std::collections::BTreeMap<String, String> = before
        .into_iter()
        .filter(|(k, _)| k != "root" && !k.starts_with("root/"))
        .collect();
    assert_eq!(after, before, "the host outside golock's root is unchanged");
    let root: Vec<String> = support::snapshot(&h.root)
        .into_keys()
        .filter(|k| !k.is_empty() && k != "lock")
        .collect();
    assert!(
        root.is_empty(),
        "golock's root holds only its lock: {root:?}"
    );
    eprintln!("apply refused in {took:?}");
}

#[derive(Default)]
struct Requests(Mutex<Vec<String>>);

impl Requests {
    fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

/// A loopback server for `root`: GET and HEAD of its files (404 when
/// missing), every request line logged.
fn serve(root: PathBuf) -> (String, Arc<Requests>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let log = Arc::new(Requests::default());
    let shared = log.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(500) {
            let Ok(stream) = stream else { break };
            let (root, log) = (root.clone(), shared.clone());
            std::thread::spawn(move || answer(stream, &root, &log));
        }
    });
    (format!("http://{addr}"), log)
}

fn answer(mut stream: TcpStream, root: &Path, log: &Requests) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut request = String::new();
    if reader.read_line(&mut request).unwrap_or(0) == 0 {
        return;
    }
    let mut header = String::new();
    while reader.read_line(&mut header).unwrap_or(0) > 2 {
        header.clear();
    }
    let request = request.trim().to_string();
    log.0.lock().unwrap().push(request.clone());
    let mut words = request.split_whitespace();
    let (method, path) = (words.next().unwrap_or(""), words.next().unwrap_or("/"));
    let decoded = path.replace("%21", "!").replace("%2B", "+");
    let file = root.join(decoded.trim_start_matches('/'));
    let reply = match std::fs::metadata(&file) {
        Ok(m) if m.is_file() => {
            let mut r = format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                m.len()
            )
            .into_bytes();
            if method == "GET" {
                r.extend(std::fs::read(&file).unwrap());
            }
            r
        }
        _ => b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_vec(),
    };
    let _ = stream.write_all(&reply);
}

/// `root/go/<archive>` (a link to the real one) and `root/mod/` (the corpus proxy).
fn served_tree(h: &Host) -> PathBuf {
    let root = h.base().join("served");
    std::fs::create_dir_all(root.join("go")).unwrap();
    std::os::unix::fs::symlink(archive(NEW), root.join("go").join(ARCHIVE)).unwrap();
    std::os::unix::fs::symlink(corpus().join("proxy"), root.join("mod")).unwrap();
    root
}

#[test]
fn http_sources_are_asked_only_with_refresh_one_head_per_artifact() {
    let h = Host::new();
    let root = served_tree(&h);
    let (url, log) = serve(root.clone());
    locked(&h, &format!("\"{url}/go\""), &format!("\"{url}/mod\""));

    let plan = h.expect(&["plan"], 0);
    assert!(plan.contains(&format!("+ install go{NEW}")), "{plan}");
    assert_eq!(
        log.take(),
        Vec::<String>::new(),
        "plan contacts no HTTP source"
    );

    let plan = h.expect(&["plan", "--refresh"], 0);
    assert!(plan.contains(&format!("+ install go{NEW}")), "{plan}");
    let requests = log.take();
    assert_eq!(requests.len(), 1 + MODULES.len(), "{requests:#?}");
    assert!(
        requests.iter().all(|r| r.starts_with("HEAD ")),
        "{requests:#?}"
    );
    assert!(
        requests.contains(&format!("HEAD /go/{ARCHIVE} HTTP/1.1")),
        "{requests:#?}"
    );
    assert!(
        requests.contains(&"HEAD /mod/corp.example/files/@v/v1.0.0.zip HTTP/1.1".to_string()),
        "{requests:#?}"
    );
    assert!(
        requests.contains(
            &"HEAD /mod/corp.example/%21upper/%21case/@v/v0.9.0.mod HTTP/1.1".to_string()
        ),
        "a go.mod-only module is asked for its .mod: {requests:#?}"
    );

    // A 404 is not a source; a missing module is named with the status.
    std::fs::remove_file(root.join("go").join(ARCHIVE)).unwrap();
    let out = h.expect(&["plan", "--refresh"], 1);
    assert!(says(&out, "no usable source for 1 artifact"), "{out}");
    assert!(
        says(&out, &format!("{url}/go/{ARCHIVE}: not found (HTTP 404)")),
        "{out}"
    );
    // Another size than the lock's is not the locked archive.
    let (_, size) = digest(&archive(NEW));
    std::fs::write(root.join("go").join(ARCHIVE), b"short").unwrap();
    let out = h.expect(&["plan", "--refresh"], 1);
    assert!(
        says(&out, &format!("announces 5 bytes, golock.toml says {size}")),
        "{out}"
    );
    log.take();

    // Without --refresh the plan still trusts the HTTP mirror, and apply
    // (which fetches over HTTP anyway) sends no HEAD first.
    std::fs::remove_file(root.join("go").join(ARCHIVE)).unwrap();
    std::os::unix::fs::symlink(archive(NEW), root.join("go").join(ARCHIVE)).unwrap();
    h.expect(&["apply", "-y"], 0);
    let requests = log.take();
    assert!(
        requests.iter().all(|r| r.starts_with("GET ")) && !requests.is_empty(),
        "{requests:#?}"
    );

    // A plan with nothing to fetch probes nothing.
    let plan = h.expect(&["plan", "--refresh"], 0);
    assert!(plan.contains("No changes"), "{plan}");
    assert_eq!(log.take(), Vec::<String>::new());
}
