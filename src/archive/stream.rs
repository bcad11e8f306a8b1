//! Reader adapters of the extraction pipeline: hashing the raw source as it is
//! read, and capping the decompressed stream.

use std::fmt;
use std::io::{self, Read};

use sha2::{Digest, Sha256};

/// Wraps an error of the caller's source so it can be told apart from gzip
/// and tar errors after travelling through those layers.
#[derive(Debug)]
pub(super) struct SourceReadFailed(pub(super) io::Error);

impl fmt::Display for SourceReadFailed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for SourceReadFailed {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

/// Raised by [`CappedReader`] once the decompressed stream passes its cap.
#[derive(Debug)]
pub(super) struct StreamCapExceeded {
    pub(super) cap: u64,
}

impl fmt::Display for StreamCapExceeded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "decompressed stream exceeds {} bytes", self.cap)
    }
}

impl std::error::Error for StreamCapExceeded {}

/// Hashes and counts every byte read from the raw source, reporting progress.
pub(super) struct HashingReader<'p, R> {
    inner: R,
    hasher: Sha256,
    bytes_read: u64,
    on_progress: &'p mut dyn FnMut(u64),
}

impl<'p, R: Read> HashingReader<'p, R> {
    pub(super) fn new(inner: R, on_progress: &'p mut dyn FnMut(u64)) -> Self {
        Self {
            inner,
            hasher: Sha256::new(),
            bytes_read: 0,
            on_progress,
        }
    }

    /// Returns the SHA-256 and length of everything read so far.
    pub(super) fn finish(self) -> ([u8; 32], u64) {
        (self.hasher.finalize().into(), self.bytes_read)
    }
}

impl<R: Read> Read for HashingReader<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = loop {
            match self.inner.read(buf) {
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(io::Error::new(e.kind(), SourceReadFailed(e))),
            }
        };
        if n > 0 {
            self.hasher.update(&buf[..n]);
            self.bytes_read += n as u64;
            (self.on_progress)(self.bytes_read);
        }
        Ok(n)
    }
}

/// Fails the read once more than `cap` bytes have come out of `inner`.
pub(super) struct CappedReader<R> {
    inner: R,
    cap: u64,
    bytes_read: u64,
}

impl<R: Read> CappedReader<R> {
    pub(super) fn new(inner: R, cap: u64) -> Self {
        Self {
            inner,
            cap,
            bytes_read: 0,
        }
    }

    pub(super) fn into_inner(self) -> R {
        self.inner
    }
}

impl<R: Read> Read for CappedReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.bytes_read += n as u64;
        if self.bytes_read > self.cap {
            return Err(io::Error::other(StreamCapExceeded { cap: self.cap }));
        }
        Ok(n)
    }
}

/// Reads `reader` to EOF, discarding the bytes, into a reusable buffer.
pub(super) fn drain(mut reader: impl Read, buf: &mut [u8]) -> io::Result<()> {
    loop {
        match reader.read(buf) {
            Ok(0) => return Ok(()),
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}
