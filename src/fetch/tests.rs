//! Scenario tests of [`crate::fetch`] against scripted loopback servers
//! and temporary directory trees.

use crate::fsx;
use std::io::Read;
use std::path::Path;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use super::testserver::{Reply, Server};
use super::*;

const MAX: u64 = 1 << 30;

fn opts() -> HttpOptions {
    HttpOptions {
        connect_timeout: Duration::from_secs(2),
        read_timeout: Duration::from_secs(2),
        retries: 2,
        backoff: Duration::from_millis(10),
        ..HttpOptions::default()
    }
}

fn client() -> Http {
    Http::new(opts()).expect("client")
}

/// The lazily built client [`fetch_bytes`] and [`fetch_to_file`] take.
fn sources_client() -> Client {
    Client::new(opts())
}

/// Deterministic, non-repeating-looking test data.
fn data(len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i * 31 % 251) as u8 ^ (i >> 8) as u8)
        .collect()
}

fn sha(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

fn http_source(s: &Server, prefix: &str) -> Source {
    Source::Http(format!("{}{prefix}", s.url()))
}

const REL: &str = "example.com/!m/@v/v1.0.0.mod";

#[test]
fn retries_a_500_then_succeeds() {
    let server = Server::start(|i, _| match i {
        0 => Reply::status(500, "Internal Server Error"),
        _ => Reply::ok(b"module example.com/M\n"),
    });
    let got = fetch_bytes(
        &sources_client(),
        &[http_source(&server, "/proxy/")],
        REL,
        MAX,
    )
    .unwrap();
    assert_eq!(got.as_deref(), Some(&b"module example.com/M\n"[..]));
    let reqs = server.requests();
    assert_eq!(reqs.len(), 2);
    assert_eq!(
        reqs[1].line,
        "GET /proxy/example.com/%21m/@v/v1.0.0.mod HTTP/1.1"
    );
}

#[test]
fn truncated_body_is_retried_for_module_files() {
    let body = data(5000);
    let full = body.clone();
    let server = Server::start(move |i, _| match i {
        0 => Reply::ok(&full).cut(1000),
        _ => Reply::ok(&full),
    });
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("v1.0.0.zip");
    let got = fetch_to_file(
        &sources_client(),
        &[http_source(&server, "")],
        REL,
        &dest,
        MAX,
    )
    .unwrap()
    .unwrap();
    assert_eq!(fsx::read(&dest).unwrap(), body);
    assert_eq!((got.size, got.sha256), (body.len() as u64, sha(&body)));
    assert_eq!(server.requests().len(), 2);
}

#[test]
fn wrong_content_range_restarts_from_zero() {
    let body = data(10_000);
    let full = body.clone();
    let server = Server::start(move |_, req| match req.header("range") {
        Some(_) => Reply::status(206, "Partial Content")
            .header("Content-Range", &format!("bytes 0-99/{}", full.len()))
            .body(&full[..100]),
        None => Reply::ok(&full),
    });
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("f");
    fsx::write(partial_path(&dest), b"stale bytes from an older file").unwrap();
    let url = format!("{}/f", server.url());
    let http = client();
    let mut stream =
        ResumingDownload::open(&http, &url, &partial_path(&dest), Limit::AtMost(u64::MAX)).unwrap();
    assert_eq!(read_all(&mut stream).unwrap(), body);
    stream.persist(&dest).unwrap();
    assert_eq!(sha(&fsx::read(&dest).unwrap()), sha(&body));
    let reqs = server.requests();
    assert_eq!(reqs.len(), 2);
    assert_eq!(reqs[0].header("range"), Some("bytes=30-"));
    assert_eq!(reqs[1].header("range"), None);
}

#[test]
fn a_server_slower_than_the_read_timeout_fails_in_bounded_time() {
    let server = Server::start(|_, _| Reply::ok(b"late").stall(Duration::from_millis(1500)));
    let http = Http::new(HttpOptions {
        read_timeout: Duration::from_millis(200),
        retries: 1,
        ..opts()
    })
    .unwrap();
    let url = format!("{}/slow.zip", server.url());
    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let mut stream = ResumingDownload::open(
        &http,
        &url,
        &dir.path().join("slow.zip.partial"),
        Limit::AtMost(u64::MAX),
    )
    .unwrap();
    let err = read_all(&mut stream).unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert!(err.to_string().contains("timed out"), "{err}");
    let failure = stream.failure().unwrap();
    assert!(failure.to_string().contains(&url), "{failure}");
    assert!(
        matches!(failure, FetchError::RetriesExhausted { attempts: 2, .. }),
        "{failure:?}"
    );
}

#[test]
fn not_found_on_the_first_source_falls_through_to_the_second() {
    let a = Server::start(|_, _| Reply::status(404, "Not Found"));
    let b = Server::start(|_, _| Reply::ok(b"found"));
    let sources = [http_source(&a, ""), http_source(&b, "/")];
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("out");
    let got = fetch_to_file(&sources_client(), &sources, REL, &dest, MAX)
        .unwrap()
        .unwrap();
    assert_eq!(got.source, b.url() + "/");
    assert_eq!(fsx::read(&dest).unwrap(), b"found");
    assert_eq!(a.requests().len(), 1, "404 is not retried");
}

#[test]
fn every_source_not_found_is_none_and_leaves_no_file() {
    let a = Server::start(|_, _| Reply::status(410, "Gone"));
    let dir = tempfile::tempdir().unwrap();
    let sources = [http_source(&a, ""), Source::Local(dir.path().join("empty"))];
    let dest = dir.path().join("out");
    assert_eq!(
        fetch_to_file(&sources_client(), &sources, REL, &dest, MAX).unwrap(),
        None
    );
    assert!(!dest.exists());
}

#[test]
fn other_4xx_fails_that_source_at_once_and_errors_list_every_source() {
    let a = Server::start(|_, _| Reply::status(403, "Forbidden"));
    let b = Server::start(|_, _| Reply::status(404, "Not Found"));
    let sources = [http_source(&a, ""), http_source(&b, "")];
    let err = fetch_bytes(&sources_client(), &sources, REL, MAX).unwrap_err();
    assert_eq!(a.requests().len(), 1, "403 is not retried");
    let msg = err.to_string();
    assert!(msg.contains(REL), "{msg}");
    assert!(
        msg.contains(&format!("{}: GET", a.url())) && msg.contains("HTTP 403"),
        "{msg}"
    );
    assert!(msg.contains(&format!("{}: not found", b.url())), "{msg}");
}

#[test]
fn a_failing_source_is_skipped_when_a_later_one_has_the_file() {
    let a = Server::start(|_, _| Reply::status(503, "Unavailable"));
    let b = Server::start(|_, _| Reply::ok(b"ok"));
    let sources = [http_source(&a, ""), http_source(&b, "")];
    let got = fetch_bytes(&sources_client(), &sources, REL, MAX).unwrap();
    assert_eq!(got.as_deref(), Some(&b"ok"[..]));
    assert_eq!(a.requests().len(), 3, "first try plus two retries");
}

#[test]
fn bodies_over_the_cap_are_refused() {
    let server = Server::start(|_, _| Reply::ok(&[7u8; 100]));
    let err = fetch_bytes(&sources_client(), &[http_source(&server, "")], REL, 10).unwrap_err();
    assert!(
        err.to_string()
            .contains("larger than the limit of 10 bytes"),
        "{err}"
    );
    let lying = Server::start(|_, _| Reply::ok(&[7u8; 100]).length(5));
    let got = fetch_bytes(&sources_client(), &[http_source(&lying, "")], REL, 1000).unwrap();
    assert_eq!(
        got.map(|b| b.len()),
        Some(5),
        "reads stop at Content-Length"
    );
}

fn write_tree(root: &Path) {
    let dir = root.join("example.com/!m/@v");
    fsx::create_dir_all(&dir).unwrap();
    fsx::write(dir.join("v1.0.0.mod"), b"module example.com/M\n").unwrap();
}

#[test]
fn file_urls_and_plain_directories_are_sources() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("go mirror");
    write_tree(&root);
    let url = format!("file://{}", root.display()).replace(' ', "%20");
    let by_url = Source::parse_proxy(&url, Path::new("/")).unwrap();
    let by_path = Source::parse_proxy("go mirror", tmp.path()).unwrap();
    assert_eq!(by_url, by_path);
    // Directory sources never build the HTTP client, so a CA file that
    // cannot be read does not matter to them.
    let http = Client::new(HttpOptions {
        ca_file: Some("/nonexistent/golock-ca.pem".into()),
        ..opts()
    });
    for source in [by_url, by_path] {
        let got = fetch_bytes(&http, std::slice::from_ref(&source), REL, MAX).unwrap();
        assert_eq!(got.as_deref(), Some(&b"module example.com/M\n"[..]));
        let missing = proxy_rel_path("example.com/!m", "v2.0.0", ModFile::Zip);
        assert_eq!(fetch_bytes(&http, &[source], &missing, MAX).unwrap(), None);
    }
    let dest = tmp.path().join("copy.mod");
    let got = fetch_to_file(&http, &[Source::Local(root.clone())], REL, &dest, MAX)
        .unwrap()
        .unwrap();
    assert_eq!(got.sha256, sha(b"module example.com/M\n"));
    assert_eq!(got.source, root.display().to_string());
    let err = fetch_bytes(&http, &[Source::Local(root)], REL, 3).unwrap_err();
    assert!(
        matches!(err, FetchError::AllSourcesFailed { .. }),
        "{err:?}"
    );
}

#[test]
fn fetch_to_file_refuses_an_existing_destination() {
    let tmp = tempfile::tempdir().unwrap();
    write_tree(tmp.path());
    let dest = tmp.path().join("exists");
    fsx::write(&dest, b"keep").unwrap();
    let sources = [Source::Local(tmp.path().to_path_buf())];
    let err = fetch_to_file(&sources_client(), &sources, REL, &dest, MAX).unwrap_err();
    assert!(matches!(err, FetchError::Write { .. }), "{err:?}");
    assert_eq!(fsx::read(&dest).unwrap(), b"keep");
}

#[test]
fn bad_relative_names_and_empty_source_lists_are_errors() {
    let http = sources_client();
    let src = [Source::Local("/nonexistent".into())];
    assert!(fetch_bytes(&http, &src, "../etc/passwd", MAX).is_err());
    assert!(matches!(
        fetch_bytes(&http, &[], REL, MAX),
        Err(FetchError::NoSources)
    ));
}

#[test]
fn http_proxy_gets_a_connect_for_the_target() {
    let proxy = Server::start(|i, _| match i {
        0 => Reply::tunnel(),
        _ => Reply::ok(b"via proxy"),
    });
    let http = Client::new(HttpOptions {
        http_proxy: Some(proxy.addr.to_string()),
        retries: 0,
        ..opts()
    });
    let sources = [Source::Http("http://golock-origin.test:8080/p".into())];
    let got = fetch_bytes(&http, &sources, REL, MAX).unwrap();
    assert_eq!(got.as_deref(), Some(&b"via proxy"[..]));
    let reqs = proxy.requests();
    assert_eq!(reqs[0].line, "CONNECT golock-origin.test:8080 HTTP/1.1");
    assert_eq!(
        reqs[1].line,
        "GET /p/example.com/%21m/@v/v1.0.0.mod HTTP/1.1"
    );
    assert_eq!(reqs[1].header("host"), Some("golock-origin.test:8080"));
}

#[test]
fn no_proxy_hosts_are_reached_directly() {
    let proxy = Server::start(|_, _| Reply::status(502, "Bad Gateway"));
    let http = Client::new(HttpOptions {
        http_proxy: Some(proxy.url()),
        no_proxy: Some("example.net, golock-origin.test".into()),
        retries: 0,
        ..opts()
    });
    // Direct means a local DNS lookup of a reserved name, which fails.
    let sources = [Source::Http("http://golock-origin.test:8080".into())];
    let err = fetch_bytes(&http, &sources, REL, MAX).unwrap_err();
    assert!(err.to_string().contains("golock-origin.test"), "{err}");
    assert!(proxy.requests().is_empty());
    // Loopback is never proxied: the origin answers although the proxy would not.
    let origin = Server::start(|_, _| Reply::ok(b"direct"));
    let got = fetch_bytes(&http, &[http_source(&origin, "")], REL, MAX).unwrap();
    assert_eq!(got.as_deref(), Some(&b"direct"[..]));
    assert!(proxy.requests().is_empty());
}

#[test]
fn proxies_are_chosen_per_scheme() {
    let http = Http::new(HttpOptions {
        http_proxy: Some("http-proxy:3128".into()),
        https_proxy: Some("http://tls-proxy:3128".into()),
        no_proxy: Some(".corp.example".into()),
        ..opts()
    })
    .unwrap();
    let via = |u: &str| http.proxy_for(u).unwrap().map(str::to_string);
    assert_eq!(
        via("http://a.example/x").as_deref(),
        Some("http://http-proxy:3128")
    );
    assert_eq!(
        via("https://a.example/x").as_deref(),
        Some("http://tls-proxy:3128")
    );
    assert_eq!(via("https://m.corp.example/x"), None);
    assert_eq!(via("https://localhost:8443/x"), None);
    assert!(http.proxy_for("ftp://x/y").is_err());
    let bad = Http::new(HttpOptions {
        https_proxy: Some("socks5://p:1080".into()),
        ..opts()
    });
    assert!(matches!(bad, Err(FetchError::BadProxy { .. })));
}

#[test]
fn options_read_the_environment_like_go() {
    let env = |k: &str| {
        match k {
            "HTTPS_PROXY" => Some("http://upper:1"),
            "https_proxy" => Some("http://lower:1"),
            "http_proxy" => Some("http://only-lower:1"),
            "NO_PROXY" => Some(""),
            "no_proxy" => Some("corp"),
            "SSL_CERT_FILE" => Some("/etc/corp.pem"),
            _ => None,
        }
        .map(str::to_string)
    };
    let o = HttpOptions::default().with_env(env);
    assert_eq!(o.https_proxy.as_deref(), Some("http://upper:1"));
    assert_eq!(o.http_proxy.as_deref(), Some("http://only-lower:1"));
    assert_eq!(o.no_proxy.as_deref(), Some("corp"));
    assert_eq!(o.ca_file.as_deref(), Some(Path::new("/etc/corp.pem")));
}

#[test]
fn an_extra_ca_bundle_is_loaded_or_rejected_clearly() {
    let tmp = tempfile::tempdir().unwrap();
    let good = tmp.path().join("ca.pem");
    fsx::write(&good, include_bytes!("testdata/test-ca.pem")).unwrap();
    assert!(
        Http::new(HttpOptions {
            ca_file: Some(good),
            ..opts()
        })
        .is_ok()
    );
    let empty = tmp.path().join("empty.pem");
    fsx::write(&empty, b"not a certificate\n").unwrap();
    for path in [empty, tmp.path().join("missing.pem")] {
        let err = Http::new(HttpOptions {
            ca_file: Some(path.clone()),
            ..opts()
        })
        .err();
        assert!(
            matches!(&err, Some(FetchError::CaFile { path: p, .. }) if *p == path),
            "{err:?}"
        );
    }
}

/// A 206 for the `Range: bytes=<from>-` of `req`, `None` without one.
fn range_reply(full: &[u8], req: &testserver::Request) -> Option<Reply> {
    let from: usize = req
        .header("range")?
        .trim_start_matches("bytes=")
        .trim_end_matches('-')
        .parse()
        .ok()?;
    let cr = format!("bytes {from}-{}/{}", full.len() - 1, full.len());
    Some(
        Reply::status(206, "Partial Content")
            .header("Content-Range", &cr)
            .body(&full[from.min(full.len())..]),
    )
}

fn read_all(stream: &mut ResumingDownload) -> std::io::Result<Vec<u8>> {
    let mut got = Vec::new();
    stream.read_to_end(&mut got).map(|_| got)
}

#[test]
fn resuming_download_hands_out_the_partial_then_appends_the_rest() {
    let body = data(100_000);
    let full = body.clone();
    let server = Server::start(move |_, req| {
        range_reply(&full, req).unwrap_or_else(|| Reply::status(400, "Bad Request"))
    });
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("go.tar.gz");
    fsx::write(partial_path(&dest), &body[..30_000]).unwrap();
    let http = client();
    let url = format!("{}/go.tar.gz", server.url());
    let mut stream =
        ResumingDownload::open(&http, &url, &partial_path(&dest), Limit::AtMost(u64::MAX)).unwrap();
    assert!(stream.resumed());
    assert_eq!(stream.total(), Some(body.len() as u64));
    assert_eq!(read_all(&mut stream).unwrap(), body);
    stream.persist(&dest).unwrap();
    assert_eq!(fsx::read(&dest).unwrap(), body);
    assert!(!partial_path(&dest).exists());
    let reqs = server.requests();
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].header("range"), Some("bytes=30000-"));
}

#[test]
fn resuming_download_reconnects_after_truncation_within_one_stream() {
    let body = data(200_000);
    let full = body.clone();
    let server = Server::start(move |i, req| match range_reply(&full, req) {
        Some(partial) => partial,
        None if i == 0 => Reply::ok(&full).cut(70_000),
        None => Reply::status(400, "Bad Request"),
    });
    let dir = tempfile::tempdir().unwrap();
    let partial = dir.path().join("f.partial");
    let http = client();
    let mut stream = ResumingDownload::open(
        &http,
        &format!("{}/f", server.url()),
        &partial,
        Limit::AtMost(u64::MAX),
    )
    .unwrap();
    assert!(!stream.resumed());
    assert_eq!(read_all(&mut stream).unwrap(), body);
    assert!(stream.failure().is_none());
    assert_eq!(
        fsx::read(&partial).unwrap(),
        body,
        "every byte teed to disk"
    );
    let reqs = server.requests();
    assert_eq!(reqs.len(), 2);
    assert_eq!(reqs[0].header("range"), None);
    assert_eq!(reqs[1].header("range"), Some("bytes=70000-"));
}

#[test]
fn a_200_to_a_mid_stream_range_request_skips_what_was_handed_out() {
    let body = data(150_000);
    let full = body.clone();
    let server = Server::start(move |i, _| match i {
        0 => Reply::ok(&full).cut(70_000),
        _ => Reply::ok(&full),
    });
    let dir = tempfile::tempdir().unwrap();
    let partial = dir.path().join("f.partial");
    let http = client();
    let mut stream = ResumingDownload::open(
        &http,
        &format!("{}/f", server.url()),
        &partial,
        Limit::AtMost(u64::MAX),
    )
    .unwrap();
    assert_eq!(read_all(&mut stream).unwrap(), body);
    assert_eq!(fsx::read(&partial).unwrap(), body);
    let reqs = server.requests();
    assert_eq!(reqs.len(), 2);
    assert_eq!(reqs[1].header("range"), Some("bytes=70000-"));
}

#[test]
fn a_200_to_the_first_range_request_drops_a_stale_partial() {
    let body = data(3000);
    let full = body.clone();
    let server = Server::start(move |_, _| Reply::ok(&full));
    let dir = tempfile::tempdir().unwrap();
    let partial = dir.path().join("f.partial");
    fsx::write(&partial, b"stale bytes").unwrap();
    let http = client();
    let mut stream = ResumingDownload::open(
        &http,
        &format!("{}/f", server.url()),
        &partial,
        Limit::AtMost(u64::MAX),
    )
    .unwrap();
    assert!(!stream.resumed());
    assert_eq!(read_all(&mut stream).unwrap(), body);
    assert_eq!(fsx::read(&partial).unwrap(), body);
    assert_eq!(server.requests()[0].header("range"), Some("bytes=11-"));
}

#[test]
fn a_complete_partial_is_handed_out_from_disk() {
    let body = data(500);
    let server = Server::start(|_, _| {
        Reply::status(416, "Range Not Satisfiable").header("Content-Range", "bytes */500")
    });
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("f");
    fsx::write(partial_path(&dest), &body).unwrap();
    let http = client();
    let url = format!("{}/f", server.url());
    let mut stream =
        ResumingDownload::open(&http, &url, &partial_path(&dest), Limit::AtMost(u64::MAX)).unwrap();
    assert_eq!(read_all(&mut stream).unwrap(), body);
    stream.persist(&dest).unwrap();
    assert_eq!(fsx::read(&dest).unwrap(), body);
    assert_eq!(server.requests().len(), 1);
}

#[test]
fn resuming_download_keeps_going_while_each_try_brings_bytes() {
    let body = data(50_000);
    let full = body.clone();
    let server = Server::start(move |_, req| match range_reply(&full, req) {
        Some(partial) => partial.cut(5000),
        None => Reply::ok(&full).cut(5000),
    });
    let dir = tempfile::tempdir().unwrap();
    let http = client(); // two retries, fewer than the ten cuts
    let url = format!("{}/f", server.url());
    let mut stream = ResumingDownload::open(
        &http,
        &url,
        &dir.path().join("f.partial"),
        Limit::AtMost(u64::MAX),
    )
    .unwrap();
    assert_eq!(read_all(&mut stream).unwrap(), body);
    assert_eq!(server.requests().len(), 10);
}

#[test]
fn resuming_download_fails_once_tries_in_a_row_bring_nothing_and_keeps_the_bytes() {
    let body = data(50_000);
    let full = body.clone();
    let server = Server::start(move |i, _| match i {
        0 => Reply::ok(&full).cut(1000),
        _ => Reply::status(503, "Service Unavailable"),
    });
    let dir = tempfile::tempdir().unwrap();
    let partial = dir.path().join("f.partial");
    let http = client(); // two retries
    let url = format!("{}/f", server.url());
    let mut stream =
        ResumingDownload::open(&http, &url, &partial, Limit::AtMost(u64::MAX)).unwrap();
    let err = read_all(&mut stream).unwrap_err();
    assert!(err.to_string().contains(&url), "{err}");
    assert!(
        matches!(
            stream.failure(),
            Some(FetchError::RetriesExhausted { attempts: 3, .. })
        ),
        "{:?}",
        stream.failure()
    );
    assert!(stream.read(&mut [0u8; 16]).is_err(), "the failure sticks");
    let reqs = server.requests();
    assert_eq!(reqs.len(), 3);
    assert_eq!(reqs[2].header("range"), Some("bytes=1000-"));
    assert!(stream.persist(&dir.path().join("f")).is_err());
    assert_eq!(
        fsx::read(&partial).unwrap(),
        &body[..1000],
        "kept to resume"
    );
}

#[test]
fn a_file_that_changes_size_mid_transfer_is_not_retried() {
    let body = data(10_000);
    let full = body.clone();
    let server = Server::start(move |i, _| match i {
        0 => Reply::ok(&full).cut(4000),
        _ => Reply::status(206, "Partial Content")
            .header("Content-Range", "bytes 4000-10999/11000")
            .body(&full[4000..]),
    });
    let dir = tempfile::tempdir().unwrap();
    let http = client();
    let url = format!("{}/f", server.url());
    let mut stream =
        ResumingDownload::open(&http, &url, &dir.path().join("p"), Limit::AtMost(u64::MAX))
            .unwrap();
    assert!(read_all(&mut stream).is_err());
    assert!(
        matches!(stream.failure(), Some(FetchError::BadResponse { .. })),
        "{:?}",
        stream.failure()
    );
    assert_eq!(server.requests().len(), 2);
}

#[test]
fn resuming_download_reports_not_found_before_any_byte() {
    let server = Server::start(|_, _| Reply::status(404, "Not Found"));
    let dir = tempfile::tempdir().unwrap();
    let http = client();
    let err = ResumingDownload::open(
        &http,
        &format!("{}/x", server.url()),
        &dir.path().join("p"),
        Limit::AtMost(u64::MAX),
    )
    .err();
    assert!(
        matches!(err, Some(FetchError::NotFound { status: 404, .. })),
        "{err:?}"
    );
    assert_eq!(server.requests().len(), 1, "404 is not retried");
}

#[test]
fn a_stalled_body_times_out_and_the_stream_reconnects() {
    let body = data(20_000);
    let full = body.clone();
    let server = Server::start(move |i, _| match i {
        // The server answers one connection at a time: later attempts
        // wait for this stall to end, and may time out too.
        0 => Reply::ok(&full).stall(Duration::from_millis(400)),
        _ => Reply::ok(&full),
    });
    let http = Http::new(HttpOptions {
        read_timeout: Duration::from_millis(200),
        retries: 4,
        ..opts()
    })
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let url = format!("{}/f", server.url());
    let started = Instant::now();
    let mut stream =
        ResumingDownload::open(&http, &url, &dir.path().join("p"), Limit::AtMost(u64::MAX))
            .unwrap();
    assert_eq!(read_all(&mut stream).unwrap(), body);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert!(server.requests().len() >= 2);
}
