//! The HTTP(S) client: one configured [`Http`] (ureq agents that are reused
//! for every request), its options (timeouts, retries, proxies, extra CA
//! bundle), a single GET, the retry loop with jittered exponential backoff,
//! and the body copy loop that enforces size caps and detects truncation.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::io::{self, Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::thread;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use ureq::config::AutoHeaderValue;
use ureq::http::{Response, Uri};
use ureq::tls::{Certificate, PemItem, RootCerts, TlsConfig};
use ureq::{Agent, Body};

use super::FetchError;
use super::netproxy::{NoProxy, normalize_proxy};
use super::source::redact_url;
use crate::fsx::{self, File};

/// The longest pause between two attempts, however many were made.
const MAX_BACKOFF: Duration = Duration::from_secs(30);
const COPY_BUF: usize = 64 * 1024;

/// How [`Http`] talks to servers.
#[derive(Clone, Debug)]
pub struct HttpOptions {
    /// Limit for DNS resolution plus TCP connect (plus proxy and TLS setup).
    pub connect_timeout: Duration,
    /// Per-read idle timeout: the longest wait for any byte.
    pub read_timeout: Duration,
    /// Extra attempts after the first, on retryable failures.
    pub retries: u32,
    /// First pause between attempts; doubles each time, jittered.
    pub backoff: Duration,
    /// Extra PEM CA bundle (--cacert / SSL_CERT_FILE), trusted in addition
    /// to the built-in Mozilla roots.
    pub ca_file: Option<PathBuf>,
    /// Proxy for `http://` URLs (HTTP_PROXY).
    pub http_proxy: Option<String>,
    /// Proxy for `https://` URLs (HTTPS_PROXY).
    pub https_proxy: Option<String>,
    /// Hosts that bypass the proxies (NO_PROXY), see [`super::netproxy`].
    pub no_proxy: Option<String>,
    /// The slowest transfer accepted, in bytes per second: a file of N
    /// bytes must arrive within `connect_timeout + read_timeout + N /
    /// min_rate` of its first request, retries included (see [`Deadline`]).
    pub min_rate: u64,
}

/// The default of [`HttpOptions::min_rate`]: 64 KiB/s.
pub const DEFAULT_MIN_RATE: u64 = 64 << 10;

impl Default for HttpOptions {
    fn default() -> Self {
        HttpOptions {
            connect_timeout: Duration::from_secs(30),
            read_timeout: Duration::from_secs(60),
            retries: 3,
            backoff: Duration::from_millis(500),
            ca_file: None,
            http_proxy: None,
            https_proxy: None,
            no_proxy: None,
            min_rate: DEFAULT_MIN_RATE,
        }
    }
}

impl HttpOptions {
    /// Defaults plus HTTP_PROXY, HTTPS_PROXY, NO_PROXY (uppercase first,
    /// then lowercase, as Go reads them) and SSL_CERT_FILE.
    pub fn from_env() -> HttpOptions {
        HttpOptions::default().with_env(|k| std::env::var(k).ok())
    }

    /// Fill the proxy and CA settings from `get` (an environment lookup).
    pub fn with_env(mut self, get: impl Fn(&str) -> Option<String>) -> HttpOptions {
        let pick = |upper: &str, lower: &str| {
            get(upper)
                .filter(|v| !v.is_empty())
                .or_else(|| get(lower).filter(|v| !v.is_empty()))
        };
        self.http_proxy = pick("HTTP_PROXY", "http_proxy");
        self.https_proxy = pick("HTTPS_PROXY", "https_proxy");
        self.no_proxy = pick("NO_PROXY", "no_proxy");
        if self.ca_file.is_none() {
            self.ca_file = get("SSL_CERT_FILE")
                .filter(|v| !v.is_empty())
                .map(PathBuf::from);
        }
        self
    }
}

/// An agent that reaches servers through one proxy.
struct Via {
    proxy: String,
    agent: Agent,
}

/// What a HEAD request found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Head {
    /// 200, with the Content-Length when the server sent one.
    Found { length: Option<u64> },
    /// 404 or 410.
    Missing { status: u16 },
}

/// The HTTP client: built once, reused for every request.
pub struct Http {
    direct: Agent,
    via_http: Option<Via>,
    via_https: Option<Via>,
    no_proxy: NoProxy,
    retries: u32,
    backoff: Duration,
    /// The fixed part of every file's deadline (connect plus one idle wait).
    deadline_base: Duration,
    min_rate: u64,
}

/// When one file's transfer must be complete: [`HttpOptions::min_rate`]
/// applied to its size (or to its cap while the size is unknown), counted
/// from the first request, so that a server dripping bytes just fast
/// enough to dodge the idle timeout still cannot hold golock (and the
/// host lock) for longer than that.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Deadline {
    start: Instant,
    base: Duration,
    min_rate: u64,
}

impl Deadline {
    /// The moment a file of `bytes` bytes is late.
    pub(crate) fn at(&self, bytes: u64) -> Instant {
        self.start + self.allowed(bytes)
    }

    fn allowed(&self, bytes: u64) -> Duration {
        self.base + Duration::from_secs_f64(bytes as f64 / self.min_rate.max(1) as f64)
    }

    /// `Err` once a file of `bytes` bytes is late, `got` bytes in.
    pub(crate) fn check(&self, url: &str, bytes: u64, got: u64) -> Result<(), FetchError> {
        if Instant::now() <= self.at(bytes) {
            return Ok(());
        }
        Err(FetchError::TooSlow {
            url: redact_url(url),
            secs: self.allowed(bytes).as_secs(),
            got,
            bytes,
            min_rate: self.min_rate,
        })
    }
}

impl Http {
    pub fn new(opts: HttpOptions) -> Result<Http, FetchError> {
        let tls = tls_config(opts.ca_file.as_deref())?;
        let direct = build_agent(&opts, &tls, None);
        let http_proxy = opts.http_proxy.as_deref().and_then(normalize_proxy);
        let https_proxy = opts.https_proxy.as_deref().and_then(normalize_proxy);
        let via_http = http_proxy.map(|p| make_via(&opts, &tls, p)).transpose()?;
        let via_https = match (&https_proxy, &via_http) {
            (Some(p), Some(v)) if *p == v.proxy => Some(Via {
                proxy: p.clone(),
                agent: v.agent.clone(),
            }),
            (Some(p), _) => Some(make_via(&opts, &tls, p.clone())?),
            (None, _) => None,
        };
        Ok(Http {
            direct,
            via_http,
            via_https,
            no_proxy: NoProxy::parse(opts.no_proxy.as_deref().unwrap_or_default()),
            retries: opts.retries,
            backoff: opts.backoff,
            deadline_base: opts.connect_timeout + opts.read_timeout,
            min_rate: opts.min_rate,
        })
    }

    /// The deadline of a file whose first request starts now.
    pub(crate) fn deadline(&self) -> Deadline {
        Deadline {
            start: Instant::now(),
            base: self.deadline_base,
            min_rate: self.min_rate,
        }
    }

    /// The proxy a request to `url` goes through, or `None` for direct.
    pub fn proxy_for(&self, url: &str) -> Result<Option<&str>, FetchError> {
        Ok(self.via_for(url)?.map(|v| v.proxy.as_str()))
    }

    fn via_for(&self, url: &str) -> Result<Option<&Via>, FetchError> {
        let uri: Uri = url.parse().map_err(|e| FetchError::BadUrl {
            url: redact_url(url),
            reason: format!("{e}"),
        })?;
        let https = match uri.scheme_str() {
            Some(s) if s.eq_ignore_ascii_case("https") => true,
            Some(s) if s.eq_ignore_ascii_case("http") => false,
            _ => {
                return Err(FetchError::BadUrl {
                    url: redact_url(url),
                    reason: "only http:// and https:// URLs can be fetched".into(),
                });
            }
        };
        let host = uri.host().unwrap_or_default();
        let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
        let via = if https {
            &self.via_https
        } else {
            &self.via_http
        };
        Ok(via.as_ref().filter(|_| !self.no_proxy.bypass(host, port)))
    }

    /// One GET (redirects followed), `Range: bytes=<from>-` when asked.
    /// Any status is returned as a response; only transport failures err.
    pub(crate) fn send(
        &self,
        url: &str,
        range_from: Option<u64>,
    ) -> Result<Response<Body>, FetchError> {
        let agent = self.via_for(url)?.map_or(&self.direct, |v| &v.agent);
        let mut req = agent.get(url);
        if let Some(from) = range_from {
            req = req.header("Range", format!("bytes={from}-"));
        }
        req.call().map_err(|e| map_ureq(url, e))
    }

    /// Run `f` until it succeeds, fails for good, or `retries` extra
    /// attempts were spent on retryable failures.
    pub(crate) fn retrying<T>(
        &self,
        mut f: impl FnMut() -> Result<T, FetchError>,
    ) -> Result<T, FetchError> {
        let mut retry = self.retry_budget();
        loop {
            match f() {
                Ok(v) => return Ok(v),
                Err(e) => retry.after(e)?,
            }
        }
    }

    /// The size of what `url` serves, asked with HEAD (retrying); `None`
    /// when the server does not say (no Content-Length, HEAD refused, 404).
    pub fn content_length(&self, url: &str) -> Result<Option<u64>, FetchError> {
        self.retrying(|| {
            let agent = self.via_for(url)?.map_or(&self.direct, |v| &v.agent);
            let resp = agent.head(url).call().map_err(|e| map_ureq(url, e))?;
            let status = resp.status().as_u16();
            if status >= 500 {
                expect_status(url, status, 200)?;
            }
            if status != 200 {
                return Ok(None);
            }
            Ok(resp
                .headers()
                .get("content-length")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse().ok()))
        })
    }

    /// One HEAD request for `url` (retrying on what [`Http::retrying`]
    /// retries): whether the server has it, and its size when it says.
    /// 404 and 410 are [`Head::Missing`]; any other status but 200 is an error.
    pub fn head(&self, url: &str) -> Result<Head, FetchError> {
        self.retrying(|| {
            let agent = self.via_for(url)?.map_or(&self.direct, |v| &v.agent);
            let resp = agent.head(url).call().map_err(|e| map_ureq(url, e))?;
            let status = resp.status().as_u16();
            if is_not_found(status) {
                return Ok(Head::Missing { status });
            }
            expect_status(url, status, 200)?;
            let length = resp
                .headers()
                .get("content-length")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse().ok());
            Ok(Head::Found { length })
        })
    }

    /// The retry policy of [`Http::retrying`] as a value, for operations
    /// that retry from several places (a streamed download).
    pub(crate) fn retry_budget(&self) -> RetryBudget {
        RetryBudget {
            delay: self.backoff,
            attempt: 1,
            retries: self.retries,
        }
    }

    /// GET `url` into `sink` (reset before each attempt), retrying.
    /// `Ok(None)` on 404/410.
    pub(crate) fn get_into(
        &self,
        url: &str,
        sink: &mut dyn Sink,
        max: u64,
    ) -> Result<Option<(u64, [u8; 32])>, FetchError> {
        let deadline = self.deadline();
        self.retrying(|| {
            sink.reset()?;
            deadline.check(url, max, 0)?;
            let resp = self.send(url, None)?;
            let status = resp.status().as_u16();
            if is_not_found(status) {
                return Ok(None);
            }
            expect_status(url, status, 200)?;
            let total = resp.body().content_length();
            check_max(url, total, max)?;
            let mut body = resp.into_body().into_reader();
            let mut hasher = Sha256::new();
            let limits = BodyLimits {
                max,
                deadline: Some(deadline),
            };
            let size = copy_body(url, &mut body, sink, &mut hasher, 0, total, &limits)?;
            Ok(Some((size, hasher.finalize().into())))
        })
    }
}

/// What is left of the retries of one operation: `retries` extra attempts
/// after the first, with jittered exponential backoff between them.
pub(crate) struct RetryBudget {
    delay: Duration,
    attempt: u32,
    retries: u32,
}

impl RetryBudget {
    /// After a failed attempt: `Ok` (having slept the backoff) when `err`
    /// is retryable and attempts are left; otherwise the error to report,
    /// wrapped in [`FetchError::RetriesExhausted`] when retries were spent.
    pub(crate) fn after(&mut self, err: FetchError) -> Result<(), FetchError> {
        if !err.is_retryable() {
            return Err(err);
        }
        if self.attempt > self.retries {
            return Err(if self.attempt > 1 {
                FetchError::RetriesExhausted {
                    attempts: self.attempt,
                    last: Box::new(err),
                }
            } else {
                err
            });
        }
        thread::sleep(jitter(self.delay));
        self.delay = self.delay.saturating_mul(2).min(MAX_BACKOFF);
        self.attempt += 1;
        Ok(())
    }
}

fn make_via(opts: &HttpOptions, tls: &TlsConfig, proxy: String) -> Result<Via, FetchError> {
    let bad = |reason: String| FetchError::BadProxy {
        value: redact_url(&proxy),
        reason,
    };
    let parsed = ureq::Proxy::new(&proxy).map_err(|e| bad(e.to_string()))?;
    if !matches!(
        parsed.protocol(),
        ureq::ProxyProtocol::Http | ureq::ProxyProtocol::Https
    ) {
        return Err(bad("only http:// and https:// proxies are supported".into()));
    }
    let agent = build_agent(opts, tls, Some(parsed));
    Ok(Via { proxy, agent })
}

fn build_agent(opts: &HttpOptions, tls: &TlsConfig, proxy: Option<ureq::Proxy>) -> Agent {
    let config = Agent::config_builder()
        .http_status_as_error(false)
        .timeout_resolve(Some(opts.connect_timeout))
        .timeout_connect(Some(opts.connect_timeout))
        .timeout_per_read(Some(opts.read_timeout))
        .timeout_per_write(Some(opts.read_timeout))
        // Identity encoding: sizes, ranges and hashes are of the real bytes.
        .accept_encoding(AutoHeaderValue::None)
        .user_agent(concat!("golock/", env!("CARGO_PKG_VERSION")))
        .proxy(proxy)
        .tls_config(tls.clone())
        .build();
    Agent::new_with_config(config)
}

/// Mozilla's roots, plus the certificates of `ca_file` when given.
fn tls_config(ca_file: Option<&Path>) -> Result<TlsConfig, FetchError> {
    let Some(path) = ca_file else {
        return Ok(TlsConfig::default());
    };
    let bad = |reason: String| FetchError::CaFile {
        path: path.to_path_buf(),
        reason,
    };
    let pem = fsx::read(path).map_err(|e| bad(e.source.to_string()))?;
    let mut extra = Vec::new();
    for item in ureq::tls::parse_pem(&pem) {
        match item {
            Ok(PemItem::Certificate(c)) => extra.push(c),
            Ok(_) => {}
            Err(e) => return Err(bad(e.to_string())),
        }
    }
    if extra.is_empty() {
        return Err(bad("no CERTIFICATE block found".into()));
    }
    let builtin = webpki_root_certs::TLS_SERVER_ROOT_CERTS
        .iter()
        .map(|c| Certificate::from_der(c.as_ref()));
    let roots: RootCerts = builtin.chain(extra).collect::<Vec<_>>().into();
    Ok(TlsConfig::builder().root_certs(roots).build())
}

fn jitter(delay: Duration) -> Duration {
    let random = RandomState::new().build_hasher().finish();
    let half = delay / 2;
    let spread = u64::try_from(half.as_nanos()).unwrap_or(u64::MAX).max(1);
    half + Duration::from_nanos(random % spread)
}

pub(crate) fn is_not_found(status: u16) -> bool {
    status == 404 || status == 410
}

/// `Ok` for `want`; otherwise the error for that status.
pub(crate) fn expect_status(url: &str, status: u16, want: u16) -> Result<(), FetchError> {
    if status == want {
        return Ok(());
    }
    let url = redact_url(url);
    if is_not_found(status) {
        return Err(FetchError::NotFound { url, status });
    }
    Err(FetchError::Status { url, status })
}

pub(crate) fn check_max(url: &str, total: Option<u64>, max: u64) -> Result<(), FetchError> {
    match total {
        Some(t) if t > max => Err(FetchError::TooLarge {
            what: redact_url(url),
            max,
        }),
        _ => Ok(()),
    }
}

/// Map a ureq failure to ours, naming the URL.
pub(crate) fn map_ureq(url: &str, e: ureq::Error) -> FetchError {
    let url = redact_url(url);
    match e {
        ureq::Error::Timeout(t) => FetchError::Timeout {
            url,
            phase: t.to_string(),
        },
        ureq::Error::Io(io) => map_io(url, io),
        ureq::Error::BadUri(reason) => FetchError::BadUrl { url, reason },
        ureq::Error::Tls(_) | ureq::Error::Rustls(_) | ureq::Error::Pem(_) => FetchError::Tls {
            url,
            reason: e.to_string(),
        },
        other => FetchError::Transport {
            url,
            reason: other.to_string(),
        },
    }
}

fn map_io(url: String, io: io::Error) -> FetchError {
    if let Some(ureq::Error::Timeout(t)) =
        io.get_ref().and_then(|i| i.downcast_ref::<ureq::Error>())
    {
        return FetchError::Timeout {
            url,
            phase: t.to_string(),
        };
    }
    if matches!(
        io.kind(),
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock
    ) {
        return FetchError::Timeout {
            url,
            phase: io.to_string(),
        };
    }
    FetchError::Transport {
        url,
        reason: io.to_string(),
    }
}

/// A failed read of a response body, `done` bytes of `total` in.
pub(crate) fn read_error(url: &str, e: io::Error, done: u64, total: Option<u64>) -> FetchError {
    match (map_io(redact_url(url), e), total) {
        (t @ FetchError::Timeout { .. }, _) => t,
        (_, Some(expected)) if done < expected => FetchError::Truncated {
            url: redact_url(url),
            got: done,
            expected,
        },
        (other, _) => other,
    }
}

/// Where fetched bytes go: restartable for retries.
pub(crate) trait Sink {
    fn put(&mut self, buf: &[u8]) -> Result<(), FetchError>;
    /// Drop everything written so far.
    fn reset(&mut self) -> Result<(), FetchError>;
}

impl Sink for Vec<u8> {
    fn put(&mut self, buf: &[u8]) -> Result<(), FetchError> {
        self.extend_from_slice(buf);
        Ok(())
    }
    fn reset(&mut self) -> Result<(), FetchError> {
        self.clear();
        Ok(())
    }
}

/// A file being written, named for error messages.
pub(crate) struct FileSink {
    pub file: File,
    pub path: PathBuf,
}

impl Sink for FileSink {
    fn put(&mut self, buf: &[u8]) -> Result<(), FetchError> {
        self.file
            .write_all(buf)
            .map_err(|e| FetchError::write(&self.path, e))
    }
    fn reset(&mut self) -> Result<(), FetchError> {
        self.file
            .set_len(0)
            .and_then(|()| self.file.rewind())
            .map_err(|e| FetchError::write(&self.path, e))
    }
}

/// The bounds of one body copy: at most `max` bytes, before the deadline.
pub(crate) struct BodyLimits {
    pub max: u64,
    pub deadline: Option<Deadline>,
}

/// Copy `body` into `sink`, hashing; `done` bytes are already there and
/// `total` is the size the whole thing must reach. Fails past `max`, after
/// the deadline for `total` (else `max`) bytes, and with
/// [`FetchError::Truncated`] when the body ends short of `total`.
pub(crate) fn copy_body(
    url: &str,
    body: &mut dyn Read,
    sink: &mut dyn Sink,
    hasher: &mut Sha256,
    mut done: u64,
    total: Option<u64>,
    limits: &BodyLimits,
) -> Result<u64, FetchError> {
    let max = limits.max;
    let expected = total.unwrap_or(max).min(max);
    let mut buf = vec![0u8; COPY_BUF];
    loop {
        if let Some(deadline) = &limits.deadline {
            deadline.check(url, expected, done)?;
        }
        let n = match body.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(read_error(url, e, done, total)),
        };
        done += n as u64;
        if done > max {
            return Err(FetchError::TooLarge {
                what: redact_url(url),
                max,
            });
        }
        sink.put(&buf[..n])?;
        hasher.update(&buf[..n]);
    }
    match total {
        Some(expected) if done < expected => Err(FetchError::Truncated {
            url: redact_url(url),
            got: done,
            expected,
        }),
        _ => Ok(done),
    }
}
