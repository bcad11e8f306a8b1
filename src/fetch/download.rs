//! Single-URL transfers: [`download`] to a file, resuming a previous
//! attempt's `<dest>.partial` with a Range request, and [`open_stream`] for
//! callers that verify and unpack in one pass.

use std::ffi::OsString;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use ureq::Body;
use ureq::http::Response;

use super::http::{FileSink, Http, Sink, check_max, copy_body, expect_status, is_not_found};
use super::proxy::redact_url;
use super::{FetchError, Fetched};

/// `<dest>.partial`: where [`download`] writes until the file is complete.
pub fn partial_path(dest: &Path) -> PathBuf {
    let mut name = OsString::from(dest.as_os_str());
    name.push(".partial");
    PathBuf::from(name)
}

/// Download one URL to `dest`, resuming from `<dest>.partial` with a Range
/// request when a previous attempt left one: a 206 must carry a matching
/// `Content-Range` (else the partial is dropped and the transfer restarts
/// from zero), a 200 restarts from zero. Retries with backoff on connect
/// errors, 5xx, timeouts and truncation, resuming each time. The finished
/// file is fsynced and renamed into place. Calls `progress(done, total)`.
pub fn download(
    http: &Http,
    url: &str,
    dest: &Path,
    progress: &mut dyn FnMut(u64, Option<u64>),
) -> Result<Fetched, FetchError> {
    let partial = partial_path(dest);
    let (size, sha256) = http.retrying(|| attempt(http, url, &partial, progress))?;
    finish(&partial, dest)?;
    Ok(Fetched {
        source: redact_url(url),
        size,
        sha256,
    })
}

/// How a response continues what is already on disk.
enum Resume {
    /// Append the body after `have` bytes; the whole is `total` long.
    Append { have: u64, total: Option<u64> },
    /// The partial file already holds everything.
    Complete,
    /// Start from zero with this (200) response.
    Restart(Option<u64>),
    /// The answer does not fit what we have: drop it and ask again.
    Refetch,
}

fn attempt(
    http: &Http,
    url: &str,
    partial: &Path,
    progress: &mut dyn FnMut(u64, Option<u64>),
) -> Result<(u64, [u8; 32]), FetchError> {
    let have = file_len(partial)?;
    let mut resp = http.send(url, (have > 0).then_some(have))?;
    let mut plan = classify(url, &resp, have)?;
    if matches!(plan, Resume::Refetch) {
        drop(resp);
        truncate(partial)?;
        resp = http.send(url, None)?;
        plan = classify(url, &resp, 0)?;
    }
    let (start, total) = match plan {
        Resume::Complete => return hash_prefix(partial, have).map(|h| (have, h.finalize().into())),
        Resume::Append { have, total } => (have, total),
        Resume::Restart(total) => (0, total),
        Resume::Refetch => {
            return Err(FetchError::BadResponse {
                url: redact_url(url),
                reason: "answered a request without Range with 206".into(),
            });
        }
    };
    let mut sink = open_partial(partial)?;
    if start == 0 {
        sink.reset()?;
    }
    let mut hasher = hash_prefix(partial, start)?;
    progress(start, total);
    let mut body = resp.into_body().into_reader();
    let size = copy_body(
        url,
        &mut body,
        &mut sink,
        &mut hasher,
        start,
        total,
        u64::MAX,
        progress,
    )?;
    sink.file
        .sync_all()
        .map_err(|e| FetchError::write(partial, e))?;
    Ok((size, hasher.finalize().into()))
}

/// Decide what `resp` means for a partial file of `have` bytes.
fn classify(url: &str, resp: &Response<Body>, have: u64) -> Result<Resume, FetchError> {
    let status = resp.status().as_u16();
    let length = resp.body().content_length();
    let range = resp
        .headers()
        .get("content-range")
        .and_then(|v| v.to_str().ok())
        .and_then(parse_content_range);
    match status {
        200 => Ok(Resume::Restart(length)),
        206 if have > 0 => Ok(match range {
            Some(ContentRange::Bytes { start, end, total }) if start == have && end >= start => {
                Resume::Append {
                    have,
                    total: total.or(length.map(|l| have + l)),
                }
            }
            _ => Resume::Refetch,
        }),
        206 => Ok(Resume::Refetch),
        416 if have > 0 => Ok(match range {
            Some(ContentRange::Unsatisfied { total }) if total == have => Resume::Complete,
            _ => Resume::Refetch,
        }),
        _ => {
            expect_status(url, status, 200)?;
            Ok(Resume::Restart(length))
        }
    }
}

/// A parsed `Content-Range` header (RFC 9110 §14.4).
#[derive(Debug, PartialEq, Eq)]
enum ContentRange {
    Bytes {
        start: u64,
        end: u64,
        total: Option<u64>,
    },
    Unsatisfied {
        total: u64,
    },
}

fn parse_content_range(value: &str) -> Option<ContentRange> {
    let rest = value.trim().strip_prefix("bytes")?.trim_start();
    let (range, total) = rest.split_once('/')?;
    let total = total.trim();
    if range.trim() == "*" {
        return Some(ContentRange::Unsatisfied {
            total: total.parse().ok()?,
        });
    }
    let (start, end) = range.trim().split_once('-')?;
    let total = if total == "*" {
        None
    } else {
        Some(total.parse().ok()?)
    };
    Some(ContentRange::Bytes {
        start: start.parse().ok()?,
        end: end.parse().ok()?,
        total,
    })
}

fn file_len(path: &Path) -> Result<u64, FetchError> {
    match fs::metadata(path) {
        Ok(m) => Ok(m.len()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(0),
        Err(e) => Err(FetchError::io("inspect", path, e)),
    }
}

fn truncate(path: &Path) -> Result<(), FetchError> {
    match OpenOptions::new().write(true).open(path) {
        Ok(f) => f.set_len(0).map_err(|e| FetchError::write(path, e)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(FetchError::write(path, e)),
    }
}

fn open_partial(path: &Path) -> Result<FileSink, FetchError> {
    let file = OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)
        .map_err(|e| FetchError::write(path, e))?;
    Ok(FileSink {
        file,
        path: path.to_path_buf(),
    })
}

/// A hasher fed with the first `len` bytes of `path`.
fn hash_prefix(path: &Path, len: u64) -> Result<Sha256, FetchError> {
    let mut hasher = Sha256::new();
    if len == 0 {
        return Ok(hasher);
    }
    let mut file = File::open(path)
        .map_err(|e| FetchError::io("read", path, e))?
        .take(len);
    let mut buf = vec![0u8; 64 * 1024];
    let mut copied = 0u64;
    loop {
        let n = match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(FetchError::io("read", path, e)),
        };
        hasher.update(&buf[..n]);
        copied += n as u64;
    }
    if copied != len {
        return Err(FetchError::io(
            "read",
            path,
            io::Error::new(io::ErrorKind::UnexpectedEof, "file shrank while resuming"),
        ));
    }
    Ok(hasher)
}

/// Move the complete partial file into place, durably.
fn finish(partial: &Path, dest: &Path) -> Result<(), FetchError> {
    fs::rename(partial, dest).map_err(|e| FetchError::io("rename into place", dest, e))?;
    let dir = match dest.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| FetchError::io("sync directory", dir, e))
}

/// Open a URL for streaming reads; the caller hashes what it reads. Retries
/// getting the response; once streaming, a truncated or stalled body shows
/// up as a read error naming the URL. 404/410 is [`FetchError::NotFound`].
pub fn open_stream(
    http: &Http,
    url: &str,
) -> Result<(Box<dyn Read + Send>, Option<u64>), FetchError> {
    http.retrying(|| {
        let resp = http.send(url, None)?;
        let status = resp.status().as_u16();
        if is_not_found(status) {
            return Err(FetchError::NotFound {
                url: redact_url(url),
                status,
            });
        }
        expect_status(url, status, 200)?;
        let total = resp.body().content_length();
        check_max(url, total, u64::MAX)?;
        let reader = StreamReader {
            inner: resp.into_body().into_reader(),
            url: redact_url(url),
            got: 0,
            total,
        };
        Ok((Box::new(reader) as Box<dyn Read + Send>, total))
    })
}

/// A response body that reports truncation and names the URL in errors.
struct StreamReader<R> {
    inner: R,
    url: String,
    got: u64,
    total: Option<u64>,
}

impl<R: Read> Read for StreamReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.inner.read(buf) {
            Ok(0) if !buf.is_empty() && self.total.is_some_and(|t| self.got < t) => {
                Err(self.truncated())
            }
            Ok(n) => {
                self.got += n as u64;
                Ok(n)
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => Err(e),
            Err(e) => {
                let err = super::http::read_error(&self.url, e, self.got, self.total);
                let kind = match err {
                    FetchError::Timeout { .. } => io::ErrorKind::TimedOut,
                    FetchError::Truncated { .. } => io::ErrorKind::UnexpectedEof,
                    _ => io::ErrorKind::Other,
                };
                Err(io::Error::new(kind, err))
            }
        }
    }
}

impl<R> StreamReader<R> {
    fn truncated(&self) -> io::Error {
        io::Error::new(
            io::ErrorKind::UnexpectedEof,
            FetchError::Truncated {
                url: self.url.clone(),
                got: self.got,
                expected: self.total.unwrap_or_default(),
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_range_parses() {
        assert_eq!(
            parse_content_range("bytes 5-9/10"),
            Some(ContentRange::Bytes {
                start: 5,
                end: 9,
                total: Some(10)
            })
        );
        assert_eq!(
            parse_content_range("bytes 5-9/*"),
            Some(ContentRange::Bytes {
                start: 5,
                end: 9,
                total: None
            })
        );
        assert_eq!(
            parse_content_range("bytes */10"),
            Some(ContentRange::Unsatisfied { total: 10 })
        );
        assert_eq!(parse_content_range("items 1-2/3"), None);
        assert_eq!(parse_content_range("bytes x-9/10"), None);
    }
}
