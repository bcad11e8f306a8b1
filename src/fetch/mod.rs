//! Where bytes come from: module files from an ordered list of GOPROXY
//! sources (directories and HTTP mirrors), and single URLs (toolchain
//! archives) with resume and retries.
//!
//! * [`source`]: the one source type (directory, file or URL) and its parsing.
//! * [`client`]: the HTTP client of a run, built on first use.
//! * [`proxy`]: the GOPROXY protocol (file layout, URL building).
//! * [`http`]: the HTTP client, its options, retries and body copying.
//! * [`netproxy`]: HTTP_PROXY / HTTPS_PROXY / NO_PROXY semantics.
//! * `download`: resumable downloads and streaming reads.
//!
//! Sources are tried in order, like cmd/go's `GOPROXY=a|b` (fall through on
//! any error): "not found" (404/410, missing file) moves on quietly, any
//! other failure is remembered and reported if no source has the file.

mod client;
mod download;
mod error;
pub mod http;
pub mod netproxy;
pub mod proxy;
pub mod source;

#[cfg(test)]
mod tests;
#[cfg(test)]
pub(crate) mod testserver;

use std::io::{self, Read};
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::fsx;

pub use client::Client;
pub use download::{Limit, ResumingDownload, partial_path};
pub use error::{Failures, FetchError, SourceFailure};
pub use http::{Head, Http, HttpOptions};
pub use proxy::{ModFile, dir_file, http_url, list_rel_path, proxy_rel_path};
pub use source::{Source, SourceError, redact_url};

use http::{FileSink, Sink};

/// What was fetched: from where, how big, its SHA-256.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fetched {
    pub source: String,
    pub size: u64,
    pub sha256: [u8; 32],
}

/// Fetch one file (`rel`, a GOPROXY-relative name such as
/// `golang.org/x/text/@v/v0.3.2.mod`) from the first source that has it,
/// at most `max` bytes. `Ok(None)` when every source answered "not found";
/// any other failure of a source is remembered and the next source tried,
/// and if none has it the error lists every source and why.
pub fn fetch_bytes(
    client: &Client,
    sources: &[Source],
    rel: &str,
    max: u64,
) -> Result<Option<Vec<u8>>, FetchError> {
    let mut buf = Vec::new();
    let got = try_sources(client, sources, rel, max, &mut buf)?;
    Ok(got.map(|_| buf))
}

/// Like [`fetch_bytes`], streaming the bytes into `sink` (reset before each
/// source is tried) instead of keeping them.
pub(crate) fn fetch_streamed(
    client: &Client,
    sources: &[Source],
    rel: &str,
    max: u64,
    sink: &mut dyn Sink,
) -> Result<Option<Fetched>, FetchError> {
    try_sources(client, sources, rel, max, sink)
}

/// Like [`fetch_bytes`], streaming into `dest`, which must not exist yet;
/// it is written (not fsynced: callers stage many files and sync the
/// filesystem once), and removed again when nothing was fetched.
pub fn fetch_to_file(
    client: &Client,
    sources: &[Source],
    rel: &str,
    dest: &Path,
    max: u64,
) -> Result<Option<Fetched>, FetchError> {
    let file = fsx::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(dest)
        .map_err(|e| FetchError::write(dest, e.source))?;
    let mut sink = FileSink {
        file,
        path: dest.to_path_buf(),
    };
    let result = try_sources(client, sources, rel, max, &mut sink);
    if !matches!(result, Ok(Some(_))) {
        let _ = fsx::remove_file(dest);
    }
    result
}

fn try_sources(
    client: &Client,
    sources: &[Source],
    rel: &str,
    max: u64,
    sink: &mut dyn Sink,
) -> Result<Option<Fetched>, FetchError> {
    proxy::check_rel(rel)?;
    if sources.is_empty() {
        return Err(FetchError::NoSources);
    }
    let mut failures = Vec::new();
    let mut any_error = false;
    for source in sources {
        sink.reset()?;
        let got = match source {
            Source::Local(root) => from_dir(&proxy::dir_file(root, rel), sink, max),
            Source::Http(base) => client
                .http()
                .and_then(|http| http.get_into(&proxy::http_url(base, rel), sink, max)),
        };
        let reason = match got {
            Ok(Some((size, sha256))) => {
                return Ok(Some(Fetched {
                    source: source.describe(),
                    size,
                    sha256,
                }));
            }
            Ok(None) => "not found".to_string(),
            Err(e) if e.is_local() => return Err(e),
            Err(e) => {
                any_error = true;
                e.to_string()
            }
        };
        failures.push(SourceFailure {
            source: source.describe(),
            reason,
        });
    }
    if !any_error {
        return Ok(None);
    }
    Err(FetchError::AllSourcesFailed {
        rel: rel.to_string(),
        failures: Failures(failures),
    })
}

/// Read a file of a directory source; `Ok(None)` when it is not there.
fn from_dir(
    path: &Path,
    sink: &mut dyn Sink,
    max: u64,
) -> Result<Option<(u64, [u8; 32])>, FetchError> {
    let mut file = match fsx::open(path) {
        Ok(f) => f,
        Err(e) if is_missing(&e.source) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let meta = file
        .metadata()
        .map_err(|e| FetchError::io("inspect", path, e))?;
    if !meta.is_file() {
        return Ok(None);
    }
    let what = || path.display().to_string();
    if meta.len() > max {
        return Err(FetchError::TooLarge { what: what(), max });
    }
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut size = 0u64;
    loop {
        let n = match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(FetchError::io("read", path, e)),
        };
        size += n as u64;
        if size > max {
            return Err(FetchError::TooLarge { what: what(), max });
        }
        sink.put(&buf[..n])?;
        hasher.update(&buf[..n]);
    }
    Ok(Some((size, hasher.finalize().into())))
}

fn is_missing(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
    )
}
