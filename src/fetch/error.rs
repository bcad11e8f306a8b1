//! The one error type of [`crate::fetch`]: every variant names the URL or
//! path it concerns, and says whether trying again (or another source) can
//! help.

use std::fmt;
use std::io;
use std::path::PathBuf;

/// Why one module source could not provide a file.
#[derive(Debug, Clone)]
pub struct SourceFailure {
    /// The source, as [`crate::fetch::Source::describe`] prints it.
    pub source: String,
    /// What went wrong there ("not found", or the error message).
    pub reason: String,
}

/// The failures of every source tried, one per line.
#[derive(Debug, Clone)]
pub struct Failures(pub Vec<SourceFailure>);

impl fmt::Display for Failures {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for failure in &self.0 {
            write!(f, "\n  - {}: {}", failure.source, failure.reason)?;
        }
        Ok(())
    }
}

/// Everything that can go wrong while getting bytes.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum FetchError {
    #[error("invalid module source {input:?}: {reason}")]
    #[diagnostic(
        code(golock::fetch::bad_source),
        help(
            "a module source is an http(s):// GOPROXY base URL, a file:// URL, \
             or a directory holding a GOPROXY file tree"
        )
    )]
    BadSource { input: String, reason: String },

    #[error("no module sources are configured")]
    #[diagnostic(
        code(golock::fetch::no_sources),
        help("configure at least one module mirror (URL or directory)")
    )]
    NoSources,

    #[error("invalid proxy setting {value:?}: {reason}")]
    #[diagnostic(
        code(golock::fetch::bad_proxy),
        help("HTTP_PROXY and HTTPS_PROXY take a URL such as http://proxy.example.com:3128")
    )]
    BadProxy { value: String, reason: String },

    #[error("cannot use CA bundle {}: {reason}", path.display())]
    #[diagnostic(
        code(golock::fetch::ca_file),
        help("pass a PEM file with one or more CERTIFICATE blocks (--cacert or SSL_CERT_FILE)")
    )]
    CaFile { path: PathBuf, reason: String },

    #[error("invalid URL {url}: {reason}")]
    #[diagnostic(code(golock::fetch::bad_url))]
    BadUrl { url: String, reason: String },

    #[error("GET {url}: not found (HTTP {status})")]
    #[diagnostic(
        code(golock::fetch::not_found),
        help("check the URL, or that the mirror holds this file")
    )]
    NotFound { url: String, status: u16 },

    #[error("GET {url}: HTTP {status}")]
    #[diagnostic(
        code(golock::fetch::http_status),
        help("401/403 usually mean missing or wrong credentials for the mirror")
    )]
    Status { url: String, status: u16 },

    #[error("GET {url}: timed out ({phase})")]
    #[diagnostic(
        code(golock::fetch::timeout),
        help(
            "the server or network is slow or unreachable; raise the timeouts or check the proxy"
        )
    )]
    Timeout { url: String, phase: String },

    #[error("GET {url}: {reason}")]
    #[diagnostic(
        code(golock::fetch::transport),
        help("check the network, the proxy settings (HTTPS_PROXY, NO_PROXY) and the CA bundle")
    )]
    Transport { url: String, reason: String },

    #[error("GET {url}: TLS: {reason}")]
    #[diagnostic(
        code(golock::fetch::tls),
        help(
            "if the server or a TLS-intercepting proxy uses a private CA, pass its \
             certificate with --cacert or SSL_CERT_FILE"
        )
    )]
    Tls { url: String, reason: String },

    #[error("GET {url}: body ended after {got} of {expected} bytes")]
    #[diagnostic(code(golock::fetch::truncated))]
    Truncated {
        url: String,
        got: u64,
        expected: u64,
    },

    #[error("GET {url}: {reason}")]
    #[diagnostic(code(golock::fetch::bad_response))]
    BadResponse { url: String, reason: String },

    #[error("{what} is larger than the limit of {max} bytes")]
    #[diagnostic(
        code(golock::fetch::too_large),
        help("the mirror may be serving the wrong file")
    )]
    TooLarge { what: String, max: u64 },

    #[error(
        "GET {url}: too slow: {got} bytes after {secs} s, the deadline for {bytes} bytes at {min_rate} bytes/s"
    )]
    #[diagnostic(
        code(golock::fetch::too_slow),
        help(
            "the server sends slower than the minimum rate; try another mirror, or lower \
             --http-min-rate (GOLOCK_HTTP_MIN_RATE) if the link is known to be this slow"
        )
    )]
    TooSlow {
        url: String,
        secs: u64,
        got: u64,
        bytes: u64,
        min_rate: u64,
    },

    #[error("{last} (gave up after {attempts} attempts)")]
    #[diagnostic(code(golock::fetch::retries_exhausted))]
    RetriesExhausted {
        attempts: u32,
        last: Box<FetchError>,
    },

    #[error("cannot {op} {}: {source}", path.display())]
    #[diagnostic(code(golock::fetch::io))]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    #[error("cannot write {}: {source}", path.display())]
    #[diagnostic(
        code(golock::fetch::write),
        help("the destination disk may be full or read-only")
    )]
    Write {
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    #[error("no source could provide {rel}:{failures}")]
    #[diagnostic(
        code(golock::fetch::all_sources_failed),
        help("each source and why it failed is listed above; fix one of them or add a mirror")
    )]
    AllSourcesFailed { rel: String, failures: Failures },
}

impl FetchError {
    /// Whether the same request may succeed if simply tried again: connect
    /// errors, timeouts, truncated bodies, 5xx, 408 and 429.
    pub fn is_retryable(&self) -> bool {
        match self {
            FetchError::Timeout { .. }
            | FetchError::Transport { .. }
            | FetchError::Truncated { .. } => true,
            FetchError::Status { status, .. } => *status >= 500 || *status == 408 || *status == 429,
            _ => false,
        }
    }

    /// Whether the failure is on this host (writing the destination), so
    /// that trying another source cannot help.
    pub fn is_local(&self) -> bool {
        matches!(self, FetchError::Write { .. })
    }

    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        FetchError::Io {
            op,
            path: path.into(),
            source,
        }
    }

    pub(crate) fn write(path: impl Into<PathBuf>, source: io::Error) -> Self {
        FetchError::Write {
            path: path.into(),
            source,
        }
    }
}

impl From<crate::fsx::FsError> for FetchError {
    fn from(e: crate::fsx::FsError) -> Self {
        FetchError::io(e.op, e.path, e.source)
    }
}
