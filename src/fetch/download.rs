//! Single-URL transfers that survive dropped connections:
//! [`ResumingDownload`] is one file as one continuous [`Read`], resuming a
//! previous attempt's `<dest>.partial` with a Range request, for callers
//! that verify and unpack in one pass while the bytes arrive (and are kept
//! on disk).

use std::ffi::OsString;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use ureq::Body;
use ureq::http::Response;

use super::FetchError;
use super::http::{Deadline, FileSink, Http, RetryBudget, Sink, expect_status, read_error};
use super::source::redact_url;
use crate::fsx::{self, File};

/// `<dest>.partial`: where a download is kept until the file is complete.
pub fn partial_path(dest: &Path) -> PathBuf {
    let mut name = OsString::from(dest.as_os_str());
    name.push(".partial");
    PathBuf::from(name)
}

/// How long a download may get.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Limit {
    /// The file is this long (a locked size): the stream ends there,
    /// whatever more a server sends; the caller's hash check decides.
    Exact(u64),
    /// The size is unknown: more than this many bytes is an error.
    AtMost(u64),
}

impl Limit {
    fn bytes(self) -> u64 {
        match self {
            Limit::Exact(n) | Limit::AtMost(n) => n,
        }
    }
}

/// How a response continues what is already on disk.
enum Resume {
    /// Append the body after what we have; the whole is `total` long.
    Append { total: Option<u64> },
    /// The partial file already holds everything.
    Complete,
    /// Start from zero with this (200) response.
    Restart(Option<u64>),
    /// The answer does not fit what we have: drop it and ask again.
    Refetch,
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
    match fsx::metadata(path) {
        Ok(m) => Ok(m.len()),
        Err(e) if e.is_not_found() => Ok(0),
        Err(e) => Err(FetchError::io("inspect", path, e.source)),
    }
}

fn truncate(path: &Path) -> Result<(), FetchError> {
    match fsx::OpenOptions::new().write(true).open(path) {
        Ok(f) => f.set_len(0).map_err(|e| FetchError::write(path, e)),
        Err(e) if e.is_not_found() => Ok(()),
        Err(e) => Err(FetchError::write(path, e.source)),
    }
}

fn open_partial(path: &Path) -> Result<FileSink, FetchError> {
    let file = fsx::OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)
        .map_err(|e| FetchError::write(path, e.source))?;
    Ok(FileSink {
        file,
        path: path.to_path_buf(),
    })
}

/// Move the complete partial file into place, durably.
fn finish(partial: &Path, dest: &Path) -> Result<(), FetchError> {
    fsx::rename(partial, dest)?;
    Ok(fsx::fsync_dir(fsx::parent_of(dest))?)
}

/// One URL read start to end as a single stream, surviving dropped
/// connections, and teed into a `.partial` file:
///
/// * What an earlier attempt left in the partial file is handed out first
///   (read back from disk), the rest comes from the network, requested with
///   `Range: bytes=<have>-` and judged by `classify` (a matching
///   206 continues, a 200 starts over, a complete partial is a 416).
/// * Every network byte is appended to the partial file as it passes.
/// * Connect errors, 5xx, timeouts and truncated bodies reconnect with a
///   Range request from the current offset, under the retry budget of
///   [`Http::retrying`] (renewed whenever bytes arrived since the previous
///   failure, so only tries in a row that bring nothing count); the reader sees one
///   continuous stream, and `read` fails only once the budget is spent or
///   on a failure that retrying cannot fix.
/// * A server that answers a mid-stream Range request with a whole 200 body
///   (or a 206 for other bytes, then a 200) cannot make us take back what
///   was handed out: the first `<have>` bytes of that body are skipped, so
///   the stream still continues at the right offset. Whether they equal what
///   was delivered is left to the caller's hash check, which covers every
///   byte read.
///
/// Once the stream has been read to its end, [`ResumingDownload::persist`]
/// fsyncs the partial file and renames it into place.
pub struct ResumingDownload<'h> {
    http: &'h Http,
    url: String,
    /// The partial file, open for appending.
    partial: FileSink,
    /// Bytes of the partial file from before this transfer, read back first.
    replay: Option<io::Take<File>>,
    /// Whether `replay` started with any bytes (the stream was resumed).
    resumed: bool,
    body: Option<Box<dyn Read + Send>>,
    /// Bytes of `body` already on disk, to drop (a 200 to a Range request).
    skip: u64,
    /// Length of the partial file.
    written: u64,
    /// Bytes handed to the reader so far.
    delivered: u64,
    total: Option<u64>,
    retry: RetryBudget,
    /// `written` at the last failure: a failure after new bytes arrived
    /// starts a fresh retry budget, so a long transfer over a flaky link
    /// fails only when `--http-retries` tries in a row bring nothing.
    written_at_failure: u64,
    /// The end was reached: everything is in the partial file.
    done: bool,
    limit: Limit,
    /// When the whole file must be here (from the size, else the limit).
    deadline: Deadline,
    /// Why the stream failed for good; every later read fails too.
    failure: Option<FetchError>,
}

impl<'h> ResumingDownload<'h> {
    /// Connect (retrying) and decide how the bytes already in `partial`
    /// (created when missing) continue. Errors here, such as
    /// [`FetchError::NotFound`], come before any byte is handed out.
    pub fn open(
        http: &'h Http,
        url: &str,
        partial: &Path,
        limit: Limit,
    ) -> Result<ResumingDownload<'h>, FetchError> {
        let mut stream = ResumingDownload {
            http,
            url: url.to_string(),
            partial: open_partial(partial)?,
            replay: None,
            resumed: false,
            body: None,
            skip: 0,
            written: file_len(partial)?,
            delivered: 0,
            total: None,
            retry: http.retry_budget(),
            written_at_failure: 0,
            done: false,
            failure: None,
            limit,
            deadline: http.deadline(),
        };
        if stream.written > limit.bytes() {
            // An earlier try kept more than the file can be long.
            truncate(partial)?;
            stream.written = 0;
        }
        stream.written_at_failure = stream.written;
        while let Err(e) = stream.connect() {
            stream.retry.after(e)?;
        }
        stream.start_replay()?;
        Ok(stream)
    }

    /// The size of the whole file, when the server announced it.
    pub fn total(&self) -> Option<u64> {
        self.total
    }

    /// Whether bytes of an earlier attempt were reused.
    pub fn resumed(&self) -> bool {
        self.resumed
    }

    /// The network failure that ended the stream, if one did: a read error
    /// that is not this (for example the reader stopping on bad data).
    pub fn failure(&self) -> Option<&FetchError> {
        self.failure.as_ref()
    }

    /// After the stream was read to its end: fsync the partial file and
    /// rename it to `dest`, durably.
    pub fn persist(self, dest: &Path) -> Result<(), FetchError> {
        if !self.done {
            return Err(FetchError::BadResponse {
                url: redact_url(&self.url),
                reason: format!(
                    "kept before the end of the stream ({} bytes read)",
                    self.delivered
                ),
            });
        }
        let path = &self.partial.path;
        self.partial
            .file
            .sync_all()
            .map_err(|e| FetchError::write(path, e))?;
        finish(path, dest)
    }

    /// The partial file's first `written` bytes are the stream's start.
    fn start_replay(&mut self) -> Result<(), FetchError> {
        if self.written == 0 {
            return Ok(());
        }
        let path = &self.partial.path;
        let file = fsx::open(path).map_err(|e| FetchError::io("read", path, e.source))?;
        self.replay = Some(file.take(self.written));
        self.resumed = true;
        Ok(())
    }

    /// One request for the bytes after `written`, and what to make of it.
    fn connect(&mut self) -> Result<(), FetchError> {
        self.body = None;
        let have = self.written;
        let mut resp = self.http.send(&self.url, (have > 0).then_some(have))?;
        let mut plan = classify(&self.url, &resp, have)?;
        if matches!(plan, Resume::Refetch) {
            drop(resp);
            resp = self.http.send(&self.url, None)?;
            plan = classify(&self.url, &resp, 0)?;
        }
        match plan {
            Resume::Append { total } => self.set_total(total)?,
            Resume::Complete => {
                self.set_total(Some(have))?;
                return Ok(());
            }
            Resume::Restart(total) => {
                self.set_total(total)?;
                self.restart()?;
            }
            Resume::Refetch => {
                return Err(FetchError::BadResponse {
                    url: redact_url(&self.url),
                    reason: "answered a request without Range with 206".into(),
                });
            }
        }
        self.body = Some(Box::new(resp.into_body().into_reader()));
        Ok(())
    }

    /// A whole body is coming: drop the partial file if nothing was handed
    /// out yet, else skip the part of the body that is already on disk.
    fn restart(&mut self) -> Result<(), FetchError> {
        if self.delivered == 0 {
            truncate(&self.partial.path)?;
            self.written = 0;
            self.replay = None;
            self.resumed = false;
        } else {
            self.skip = self.written;
        }
        Ok(())
    }

    /// Record the announced size; it must not change between requests.
    fn set_total(&mut self, total: Option<u64>) -> Result<(), FetchError> {
        match (self.total, total) {
            (Some(before), Some(now)) if before != now => Err(FetchError::BadResponse {
                url: redact_url(&self.url),
                reason: format!("the file changed size from {before} to {now} bytes mid-transfer"),
            }),
            (None, now) => {
                self.total = now;
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// The next bytes: from the partial file, then from the network.
    fn step(&mut self, buf: &mut [u8]) -> Result<usize, FetchError> {
        if let Some(n) = self.read_replay(buf)? {
            return Ok(n);
        }
        loop {
            if self.at_end() {
                self.done = true;
                return Ok(0);
            }
            if self.body.is_none() {
                self.connect()?;
                continue;
            }
            let n = self.read_body(buf)?;
            if n > 0 || self.done {
                return Ok(n);
            }
        }
    }

    /// `Some` while bytes from before this transfer are left to hand out.
    fn read_replay(&mut self, buf: &mut [u8]) -> Result<Option<usize>, FetchError> {
        let Some(replay) = self.replay.as_mut() else {
            return Ok(None);
        };
        let path = &self.partial.path;
        let n = loop {
            match replay.read(buf) {
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(FetchError::io("read", path, e)),
            }
        };
        if n > 0 {
            self.delivered += n as u64;
            return Ok(Some(n));
        }
        if replay.limit() > 0 {
            let shrank = io::Error::new(io::ErrorKind::UnexpectedEof, "file shrank while resuming");
            return Err(FetchError::io("read", path, shrank));
        }
        self.replay = None;
        Ok(None)
    }

    /// Whether every byte is on disk without reading further.
    fn at_end(&self) -> bool {
        self.done
            || self.total.is_some_and(|t| self.written >= t)
            || matches!(self.limit, Limit::Exact(n) if self.written >= n)
    }

    /// The size the deadline is computed for: the announced size, capped.
    fn expected(&self) -> u64 {
        let cap = self.limit.bytes();
        self.total.unwrap_or(cap).min(cap)
    }

    /// How many of `n` new bytes may be kept; past an [`Limit::AtMost`]
    /// cap the transfer fails (and is not retried).
    fn allowed(&self, n: usize) -> Result<usize, FetchError> {
        let room = self.limit.bytes().saturating_sub(self.written);
        let room = usize::try_from(room).unwrap_or(usize::MAX);
        match self.limit {
            Limit::Exact(_) => Ok(n.min(room)),
            Limit::AtMost(max) if n > room => Err(FetchError::TooLarge {
                what: redact_url(&self.url),
                max,
            }),
            Limit::AtMost(_) => Ok(n),
        }
    }

    /// Read from the current body into `buf`, keep the new bytes, and
    /// return how many of them there are (0 after skipped bytes, or at the
    /// end, which sets `done`).
    fn read_body(&mut self, buf: &mut [u8]) -> Result<usize, FetchError> {
        self.deadline
            .check(&self.url, self.expected(), self.written)?;
        let Some(body) = self.body.as_mut() else {
            return Ok(0);
        };
        let n = match body.read(buf) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => return Ok(0),
            Err(e) => return Err(read_error(&self.url, e, self.offset(), self.total)),
        };
        if n == 0 {
            return self.body_ended();
        }
        let skipped = usize::try_from(self.skip).map_or(n, |s| s.min(n));
        self.skip -= skipped as u64;
        let kept = self.allowed(n - skipped)?;
        let new = &buf[skipped..skipped + kept];
        self.partial.put(new)?;
        buf.copy_within(skipped..skipped + kept, 0);
        self.written += kept as u64;
        self.delivered += kept as u64;
        Ok(kept)
    }

    /// Where the current body is: bytes on disk, less those still to skip.
    fn offset(&self) -> u64 {
        self.written - self.skip
    }

    /// The body ended: the end of the file, or a truncation to retry.
    fn body_ended(&mut self) -> Result<usize, FetchError> {
        match self.total {
            Some(expected) if self.skip > 0 || self.written < expected => {
                Err(FetchError::Truncated {
                    url: redact_url(&self.url),
                    got: self.offset(),
                    expected,
                })
            }
            None if self.skip > 0 => Err(FetchError::BadResponse {
                url: redact_url(&self.url),
                reason: format!("the file shrank below the {} bytes read", self.written),
            }),
            _ => {
                self.done = true;
                Ok(0)
            }
        }
    }

    /// Remember `err` as the end of the stream, as an `io::Error` for the reader.
    fn fail(&mut self, err: FetchError) -> io::Error {
        let io = as_io_error(&err);
        self.failure = Some(err);
        io
    }
}

impl Read for ResumingDownload<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if let Some(err) = &self.failure {
            return Err(as_io_error(err));
        }
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            match self.step(buf) {
                Ok(n) => return Ok(n),
                Err(e) => {
                    self.body = None;
                    if self.written > self.written_at_failure {
                        self.retry = self.http.retry_budget();
                    }
                    self.written_at_failure = self.written;
                    if let Err(e) = self.retry.after(e) {
                        return Err(self.fail(e));
                    }
                }
            }
        }
    }
}

/// The `io::Error` a reader sees for `err` (the full error stays with the
/// stream, see [`ResumingDownload::failure`]).
fn as_io_error(err: &FetchError) -> io::Error {
    let kind = match err {
        FetchError::Timeout { .. } => io::ErrorKind::TimedOut,
        FetchError::Truncated { .. } => io::ErrorKind::UnexpectedEof,
        _ => io::ErrorKind::Other,
    };
    io::Error::new(kind, err.to_string())
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
