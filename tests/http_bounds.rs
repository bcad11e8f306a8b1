//! Bounded network work (issue #9 H), against a loopback server: a body
//! longer than the locked size stops at that size, a dripping server hits
//! the per-file deadline, module fetches honour `--http-retries` and
//! `--http-timeout`, and a proxy that fails for a module (5xx, HTML, wrong
//! bytes) is skipped for the next one.
// Tests set up and inspect the host directly, not through golock::fsx.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod support;

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use support::{Host, NEW, archive, corpus, digest};

/// Request lines received, in order.
type Log = Arc<Mutex<Vec<String>>>;

/// A server answering every request with `reply(path, stream)`; it stops
/// accepting after a bounded number of connections.
fn serve(reply: impl Fn(&str, &mut TcpStream) + Send + Sync + 'static) -> (String, Log) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let log: Log = Arc::default();
    let reply = Arc::new(reply);
    let shared = log.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(500) {
            let Ok(mut stream) = stream else { break };
            let (log, reply) = (shared.clone(), reply.clone());
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 {
                    return;
                }
                loop {
                    let mut h = String::new();
                    if reader.read_line(&mut h).unwrap_or(0) <= 2 {
                        break;
                    }
                }
                let path = line.split_whitespace().nth(1).unwrap_or("/").to_string();
                log.lock().unwrap().push(path.clone());
                reply(&path, &mut stream);
            });
        }
    });
    (format!("http://{addr}"), log)
}

fn head(stream: &mut TcpStream, status: &str, length: Option<usize>) {
    let mut h = format!("HTTP/1.1 {status}\r\nConnection: close\r\n");
    if let Some(n) = length {
        h.push_str(&format!("Content-Length: {n}\r\n"));
    }
    h.push_str("\r\n");
    let _ = stream.write_all(h.as_bytes());
}

fn lock_toolchain(h: &Host, mirror: &str, sha: &str, size: u64) {
    std::fs::write(
        h.lockfile(),
        format!(
            "schema = 1\n[go]\nversion = \"{NEW}\"\nmirrors = [\"{mirror}\"]\n[go.archives]\nlinux-amd64 = {{ file = \"go{NEW}.linux-amd64.tar.gz\", sha256 = \"{sha}\", size = {size} }}\n"
        ),
    )
    .unwrap();
}

#[test]
fn a_body_longer_than_the_locked_size_stops_at_that_size() {
    let good = Arc::new(std::fs::read(archive(NEW)).unwrap());
    let body = good.clone();
    // The real archive, then garbage (64 MiB, as if without end), no length.
    let (url, _) = serve(move |_, s| {
        head(s, "200 OK", None);
        if s.write_all(&body).is_err() {
            return;
        }
        let junk = vec![b'x'; 1 << 20];
        for _ in 0..64 {
            if s.write_all(&junk).is_err() {
                return;
            }
        }
    });
    let h = Host::new();
    let (sha, size) = digest(&archive(NEW));
    lock_toolchain(&h, &url, &sha, size);
    h.expect(&["apply", "-y", "--http-retries", "0"], 0);
    assert!(h.active_go_version().contains(&format!("go{NEW} ")));
    let kept = h.root.join("cache").join(&sha);
    assert_eq!(std::fs::metadata(&kept).unwrap().len(), size);
}

#[test]
fn a_server_dripping_bytes_hits_the_per_file_deadline() {
    // One byte every 0.5 s: never silent for the 1 s idle timeout.
    let (url, log) = serve(|_, s| {
        head(s, "200 OK", Some(40));
        for _ in 0..40 {
            if s.write_all(b"x").is_err() {
                return;
            }
            std::thread::sleep(Duration::from_millis(500));
        }
    });
    let h = Host::new();
    lock_toolchain(&h, &url, &"0".repeat(64), 40);
    let started = Instant::now();
    let mut cmd = h.golock();
    cmd.env("GOLOCK_HTTP_MIN_RATE", "40").args([
        "apply",
        "-y",
        "--http-timeout",
        "1",
        "--http-retries",
        "0",
    ]);
    let out = support::expect_exit(&mut cmd, 1);
    let took = started.elapsed();
    // Deadline: 2 x 1 s + 40 bytes / 40 B/s = 3 s; the drip alone takes 20 s.
    assert!(took < Duration::from_secs(10), "took {took:?}: {out}");
    assert!(out.contains("too slow"), "{out}");
    assert_eq!(log.lock().unwrap().len(), 1, "{out}");
    assert!(!h.root.join("toolchains").join(format!("go{NEW}")).exists());
}

/// A GOPROXY server over the corpus: `/good/…` serves it, `/fail/…`
/// answers 500, `/html/…` a 200 HTML page, `/wrong/…` the file with one
/// byte changed.
fn proxy_server() -> (String, Log) {
    let root = corpus().join("proxy");
    serve(move |path, s| {
        let mut parts = path.trim_start_matches('/').splitn(2, '/');
        let mode = parts.next().unwrap_or_default().to_string();
        let rel = parts.next().unwrap_or_default().replace("%21", "!");
        let file = std::fs::read(root.join(&rel)).ok();
        match (mode.as_str(), file) {
            ("fail", _) => head(s, "500 Internal Server Error", Some(0)),
            (_, None) => head(s, "404 Not Found", Some(0)),
            ("html", Some(_)) => {
                let page = b"<html><body>Sign in to continue</body></html>";
                head(s, "200 OK", Some(page.len()));
                let _ = s.write_all(page);
            }
            ("wrong", Some(mut bytes)) => {
                if let Some(b) = bytes.last_mut() {
                    *b ^= 1;
                }
                head(s, "200 OK", Some(bytes.len()));
                let _ = s.write_all(&bytes);
            }
            (_, Some(bytes)) => {
                head(s, "200 OK", Some(bytes.len()));
                let _ = s.write_all(&bytes);
            }
        }
    })
}

fn module_host(proxies: &[String]) -> (Host, PathBuf) {
    let h = Host::new();
    let cache = h.base().join("modcache");
    let list: Vec<String> = proxies.iter().map(|p| format!("\"{p}\"")).collect();
    h.lock(
        NEW,
        &format!(
            "[modules]\nproxies = [{}]\n\n[env]\nGOMODCACHE = \"{}\"\nGOPROXY = \"off\"\n",
            list.join(", "),
            cache.display()
        ),
    );
    let sum = corpus().join("go.sum");
    h.expect(&["lock", "--go-sum", sum.to_str().unwrap()], 0);
    (h, cache)
}

#[test]
fn module_fetches_honour_http_retries_and_fall_through_every_bad_proxy() {
    let (url, log) = proxy_server();
    let proxies = ["fail", "html", "wrong", "good"].map(|m| format!("{url}/{m}"));
    let (h, cache) = module_host(&proxies);
    let started = Instant::now();
    h.expect(
        &["apply", "-y", "--http-retries", "0", "--http-timeout", "2"],
        0,
    );
    assert!(started.elapsed() < Duration::from_secs(60));
    h.expect(&["verify", "--modules-only"], 0);
    assert!(
        cache
            .join("cache/download/corp.example/many/@v/v1.0.0.zip")
            .is_file()
    );
    let requests = log.lock().unwrap().clone();
    let to = |m: &str, suffix: &str| {
        requests
            .iter()
            .filter(|r| r.starts_with(&format!("/{m}/corp.example/many/@v/v1.0.0")))
            .filter(|r| r.ends_with(suffix))
            .count()
    };
    // --http-retries 0: one request per file to the failing proxy, not four.
    assert_eq!(to("fail", ".mod"), 1, "{requests:#?}");
    // HTML instead of a go.mod, and wrong bytes, are each tried once, then skipped.
    assert_eq!(to("html", ".mod"), 1, "{requests:#?}");
    assert_eq!(to("wrong", ".mod"), 1, "{requests:#?}");
    assert_eq!(to("good", ".zip"), 1, "{requests:#?}");
}

#[test]
fn when_every_proxy_fails_each_failure_is_listed() {
    let (url, _) = proxy_server();
    let proxies = ["fail", "html", "wrong"].map(|m| format!("{url}/{m}"));
    let (h, cache) = module_host(&proxies);
    let out = h.expect(&["apply", "-y", "--http-retries", "0"], 1);
    for p in &proxies {
        assert!(out.contains(p.as_str()), "{p} missing from:\n{out}");
    }
    assert!(out.contains("HTTP 500"), "{out}");
    assert!(out.contains("SECURITY ERROR"), "{out}");
    assert!(!cache.join("cache/download/corp.example").exists(), "{out}");
}

/// The HTTP flags reach module proxies, not only toolchain mirrors (issue
/// #10): an unreadable `--cacert` fails the HTTP proxy with the CA error,
/// while a directory proxy never builds an HTTP client and so never reads it.
#[test]
fn cacert_reaches_module_proxies_and_directories_need_no_client() {
    let missing_ca = "/nonexistent/golock-test-ca.pem";
    let (url, log) = proxy_server();
    let (h, cache) = module_host(&[format!("{url}/good")]);
    let out = h.expect(&["apply", "-y", "--cacert", missing_ca], 1);
    assert!(out.contains("cannot use CA bundle"), "{out}");
    assert!(out.contains("golock-test-ca.pem"), "{out}");
    assert!(
        log.lock().unwrap().is_empty(),
        "no request without a client"
    );
    assert!(!cache.join("cache/download/corp.example").exists(), "{out}");

    let dir = corpus().join("proxy");
    let (h, cache) = module_host(&[dir.display().to_string()]);
    h.expect(&["apply", "-y", "--cacert", missing_ca], 0);
    assert!(
        cache
            .join("cache/download/corp.example/many/@v/v1.0.0.zip")
            .is_file()
    );
}

/// `golock lock` takes the same HTTP flags: its release index download
/// uses them.
#[test]
fn lock_index_downloads_use_the_http_flags() {
    let (url, log) = serve(|_, s| head(s, "500 Internal Server Error", Some(0)));
    let h = Host::new();
    h.lock(NEW, "");
    let index = format!("{url}/dl/index.json");
    let out = h.expect(
        &["lock", "--index", &index, "--cacert", "/nonexistent/ca.pem"],
        1,
    );
    assert!(out.contains("cannot use CA bundle"), "{out}");
    assert!(log.lock().unwrap().is_empty());
    let out = h.expect(&["lock", "--index", &index, "--http-retries", "0"], 1);
    assert!(out.contains("HTTP 500"), "{out}");
    assert_eq!(
        log.lock().unwrap().len(),
        1,
        "--http-retries 0: one request"
    );
}
