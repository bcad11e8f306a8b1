//! Toolchain archives from HTTP mirrors on a loopback server: retries,
//! resume after a dropped connection (within the one streaming extraction,
//! or from a `.partial` an earlier run left), failover on wrong bytes and
//! on a server slower than the timeout, and the content-addressed cache.
// Tests set up and inspect the host directly, not through golock::fsx.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod support;

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use support::{Host, NEW, archive, digest, old_version};

#[derive(Default)]
struct Log {
    requests: Mutex<Vec<String>>,
    hits: AtomicUsize,
}

/// Serves `/<mode>/<file>`: `ok`, `flaky` (500 first), `drop` (half the body
/// first), `norange` (like `drop`, then 200 to Range requests), `wrong`
/// (another archive), `slow` (headers, then silence).
fn serve(good: Vec<u8>, wrong: Vec<u8>) -> (String, Arc<Log>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let log = Arc::new(Log::default());
    let (good, wrong) = (Arc::new(good), Arc::new(wrong));
    let shared = log.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(200) {
            let Ok(stream) = stream else { break };
            let (log, good, wrong) = (shared.clone(), good.clone(), wrong.clone());
            std::thread::spawn(move || handle(stream, &log, &good, &wrong));
        }
    });
    (format!("http://{addr}"), log)
}

fn handle(mut stream: TcpStream, log: &Log, good: &[u8], wrong: &[u8]) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut request = String::new();
    if reader.read_line(&mut request).unwrap_or(0) == 0 {
        return;
    }
    let mut range_from = 0usize;
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).unwrap_or(0) <= 2 {
            break;
        }
        if let Some(v) = h.to_ascii_lowercase().strip_prefix("range: bytes=") {
            range_from = v.trim().trim_end_matches('-').parse().unwrap_or(0);
            request.push_str(&format!(" range={range_from}"));
        }
    }
    log.requests
        .lock()
        .unwrap()
        .push(request.trim().to_string());
    let n = log.hits.fetch_add(1, Ordering::SeqCst);
    let mode = request.split('/').nth(1).unwrap_or("");
    let send = |stream: &mut TcpStream, status: &str, body: &[u8], total: usize, from: usize| {
        let mut head = format!(
            "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n",
            body.len()
        );
        if from > 0 {
            head.push_str(&format!(
                "Content-Range: bytes {from}-{}/{total}\r\n",
                total - 1
            ));
        }
        head.push_str("\r\n");
        let _ = stream.write_all(head.as_bytes());
        let _ = stream.write_all(body);
    };
    match mode {
        "flaky" if n == 0 => send(&mut stream, "500 Internal Server Error", b"", 0, 0),
        "drop" | "norange" if range_from == 0 => {
            let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", good.len());
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(&good[..good.len() / 2]);
            // connection dropped mid-body
        }
        "slow" => {
            let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", good.len());
            let _ = stream.write_all(head.as_bytes());
            std::thread::sleep(Duration::from_secs(5));
        }
        "wrong" => send(&mut stream, "200 OK", wrong, wrong.len(), 0),
        "norange" => send(&mut stream, "200 OK", good, good.len(), 0),
        _ if range_from > 0 => send(
            &mut stream,
            "206 Partial Content",
            &good[range_from..],
            good.len(),
            range_from,
        ),
        _ => send(&mut stream, "200 OK", good, good.len(), 0),
    }
}

fn lock_with_mirrors(h: &Host, mirrors: &[String]) {
    let (sha, size) = digest(&archive(NEW));
    let list: Vec<String> = mirrors.iter().map(|m| format!("\"{m}\"")).collect();
    std::fs::write(
        h.lockfile(),
        format!(
            "schema = 1\n[go]\nversion = \"{NEW}\"\nmirrors = [{}]\n[go.archives]\nlinux-amd64 = {{ file = \"go{NEW}.linux-amd64.tar.gz\", sha256 = \"{sha}\", size = {size} }}\n",
            list.join(", ")
        ),
    )
    .unwrap();
}

fn server() -> (String, Arc<Log>) {
    let good = std::fs::read(archive(NEW)).unwrap();
    let wrong = std::fs::read(archive(&old_version())).unwrap();
    serve(good, wrong)
}

#[test]
fn retries_a_500_and_keeps_the_download_in_the_cache() {
    let (base, log) = server();
    let h = Host::new();
    lock_with_mirrors(&h, &[format!("{base}/flaky")]);
    h.expect(&["apply", "-y", "--http-retries", "2"], 0);
    assert!(h.active_go_version().contains(NEW));
    assert_eq!(
        log.hits.load(Ordering::SeqCst),
        2,
        "{:?}",
        log.requests.lock().unwrap()
    );
    let cached = h.root.join(format!("cache/{}", digest(&archive(NEW)).0));
    assert!(cached.is_file());

    // A later install of the same archive (e.g. after pruning) uses the cache.
    std::fs::remove_file(h.root.join("go")).unwrap();
    std::fs::remove_dir_all(h.root.join(format!("toolchains/go{NEW}"))).unwrap();
    h.expect(&["apply", "-y"], 0);
    assert_eq!(log.hits.load(Ordering::SeqCst), 2, "no new request");
}

/// A download on a terminal shows the bar with bytes and bytes/s, sized by
/// the server's Content-Length.
#[test]
fn download_progress_is_shown_on_a_terminal() {
    let (base, _log) = server();
    let h = Host::new();
    lock_with_mirrors(&h, &[format!("{base}/plain")]);
    let tty = h.on_a_terminal(&["apply", "-y"]);
    assert!(
        tty.contains(&format!("go{NEW}.linux-amd64.tar.gz [")),
        "{tty}"
    );
    assert!(
        tty.contains("MiB/65.11 MiB") && tty.contains("MiB/s"),
        "{tty}"
    );
    assert!(h.active_go_version().contains(NEW));
}

/// `<root>/cache` holds exactly the verified archive, nothing partial.
fn assert_only_the_archive_is_cached(h: &Host) {
    let (sha, size) = digest(&archive(NEW));
    let cache: Vec<_> = std::fs::read_dir(h.root.join("cache"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(cache, [std::ffi::OsString::from(&sha)]);
    assert_eq!(digest(&h.root.join(format!("cache/{sha}"))), (sha, size));
}

fn requests(log: &Log) -> Vec<String> {
    log.requests.lock().unwrap().clone()
}

#[test]
fn resumes_a_dropped_transfer_with_a_range_request() {
    let (base, log) = server();
    let h = Host::new();
    lock_with_mirrors(&h, &[format!("{base}/drop")]);
    h.expect(&["apply", "-y", "--http-retries", "2"], 0);
    assert!(h.active_go_version().contains(NEW));
    // One plain request cut at half, one Range request for the rest: the
    // extraction went on across the reconnect instead of starting over.
    let half = digest(&archive(NEW)).1 / 2;
    let requests = requests(&log);
    assert_eq!(requests.len(), 2, "{requests:?}");
    assert!(!requests[0].contains("range="), "{requests:?}");
    assert!(
        requests[1].ends_with(&format!("range={half}")),
        "{requests:?}"
    );
    assert_only_the_archive_is_cached(&h);
}

#[test]
fn a_mirror_ignoring_range_mid_stream_still_completes_the_one_pass() {
    let (base, log) = server();
    let h = Host::new();
    lock_with_mirrors(&h, &[format!("{base}/norange")]);
    h.expect(&["apply", "-y", "--http-retries", "2"], 0);
    assert!(h.active_go_version().contains(NEW));
    assert_eq!(requests(&log).len(), 2, "{:?}", requests(&log));
    assert_only_the_archive_is_cached(&h);
}

#[test]
fn a_partial_left_by_an_earlier_run_is_resumed() {
    let (base, log) = server();
    let h = Host::new();
    lock_with_mirrors(&h, &[format!("{base}/ok")]);
    let good = std::fs::read(archive(NEW)).unwrap();
    let (sha, _) = digest(&archive(NEW));
    std::fs::create_dir_all(h.root.join("cache")).unwrap();
    let third = good.len() / 3;
    std::fs::write(h.root.join(format!("cache/{sha}.partial")), &good[..third]).unwrap();
    h.expect(&["apply", "-y"], 0);
    assert!(h.active_go_version().contains(NEW));
    let requests = requests(&log);
    assert_eq!(requests.len(), 1, "{requests:?}");
    assert!(
        requests[0].ends_with(&format!("range={third}")),
        "{requests:?}"
    );
    assert_only_the_archive_is_cached(&h);
}

#[test]
fn a_bad_leftover_partial_is_dropped_and_the_mirror_read_again() {
    let (base, log) = server();
    let h = Host::new();
    lock_with_mirrors(&h, &[format!("{base}/ok")]);
    let (sha, _) = digest(&archive(NEW));
    std::fs::create_dir_all(h.root.join("cache")).unwrap();
    std::fs::write(h.root.join(format!("cache/{sha}.partial")), [0u8; 1000]).unwrap();
    h.expect(&["apply", "-y"], 0);
    assert!(h.active_go_version().contains(NEW));
    let requests = requests(&log);
    assert_eq!(requests.len(), 2, "{requests:?}");
    assert!(requests[0].ends_with("range=1000"), "{requests:?}");
    assert!(!requests[1].contains("range="), "{requests:?}");
    assert_only_the_archive_is_cached(&h);
}

#[test]
fn wrong_bytes_and_a_slow_mirror_fail_over_to_the_next() {
    let (base, log) = server();
    let h = Host::new();
    lock_with_mirrors(
        &h,
        &[
            format!("{base}/wrong"),
            format!("{base}/slow"),
            format!("{base}/ok"),
        ],
    );
    let out = h.expect(
        &["apply", "-y", "--http-timeout", "1", "--http-retries", "0"],
        0,
    );
    assert!(h.active_go_version().contains(NEW), "{out}");
    let requests = log.requests.lock().unwrap().clone();
    assert!(requests.iter().any(|r| r.contains("/ok/")), "{requests:?}");
    // Nothing from the wrong mirror stays in the cache.
    assert_only_the_archive_is_cached(&h);

    // When every mirror fails, the error lists each one and why.
    let h2 = Host::new();
    lock_with_mirrors(&h2, &[format!("{base}/wrong"), format!("{base}/slow")]);
    let err = h2.expect(
        &["apply", "-y", "--http-timeout", "1", "--http-retries", "0"],
        1,
    );
    // Wrong bytes of another size are caught by the size check before hashing.
    assert!(err.contains(&format!("{base}/wrong")), "{err}");
    assert!(
        err.contains("121479761 bytes") || err.contains("checksum mismatch"),
        "{err}"
    );
    assert!(err.contains(&format!("{base}/slow")), "{err}");
    assert!(!h2.root.join("go").exists());
}

#[test]
fn artifactory_style_templates_name_the_file() {
    let (base, log) = server();
    let h = Host::new();
    lock_with_mirrors(
        &h,
        &[format!("{base}/ok/{{version}}/{{os}}-{{arch}}/{{file}}")],
    );
    h.expect(&["apply", "-y"], 0);
    let requests = log.requests.lock().unwrap().clone();
    assert!(
        requests[0].contains(&format!("/ok/{NEW}/linux-amd64/go{NEW}.linux-amd64.tar.gz")),
        "{requests:?}"
    );
}
