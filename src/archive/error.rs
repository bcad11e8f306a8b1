//! Errors raised while verifying and extracting an archive, and the mapping of
//! low-level I/O errors (from the source, gzip, tar layers) onto them.

use std::io;
use std::path::PathBuf;

use super::policy::PathRejection;
use super::stream::{SourceReadFailed, StreamCapExceeded};

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum ArchiveError {
    /// SIGINT or SIGTERM arrived: extraction stopped between chunks.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Interrupted(#[from] crate::txn::interrupt::Interrupted),

    #[error("failed to read the archive file")]
    #[diagnostic(
        code(golock::archive::read),
        help("check that the archive file is readable and that its disk is healthy")
    )]
    Read {
        #[source]
        source: io::Error,
    },

    #[error("archive is truncated: {detail}")]
    #[diagnostic(
        code(golock::archive::truncated),
        help("the archive is incomplete (interrupted download?); delete it and fetch it again")
    )]
    Truncated { detail: String },

    #[error("archive is corrupt: {detail}")]
    #[diagnostic(
        code(golock::archive::corrupt),
        help("the file is not a valid tar.gz or was damaged; delete it and fetch it again")
    )]
    Corrupt { detail: String },

    #[error("archive entry {path:?} has an unsafe path: {reason}")]
    #[diagnostic(
        code(golock::archive::unsafe_path),
        help(
            "golock only extracts plain relative paths that stay inside the destination; \
             a genuine Go distribution never contains such a name"
        )
    )]
    UnsafePath { path: String, reason: PathRejection },

    #[error("archive entry {path:?} is a {kind}; only regular files and directories are allowed")]
    #[diagnostic(
        code(golock::archive::unsupported_entry),
        help(
            "golock refuses links, devices and other special entries; \
             a genuine Go distribution contains only files and directories"
        )
    )]
    UnsupportedEntry { path: String, kind: String },

    #[error("archive entry {path:?} appears more than once")]
    #[diagnostic(
        code(golock::archive::duplicate_path),
        help(
            "a path listed twice (or as both a file and a directory) makes the result \
             depend on extraction order; golock refuses such archives"
        )
    )]
    DuplicatePath { path: String },

    #[error("archive entry {path:?} lies under {ancestor:?}, which the archive declares as a file")]
    #[diagnostic(
        code(golock::archive::path_under_file),
        help("the archive is inconsistent; a genuine Go distribution never does this")
    )]
    PathUnderFile { path: String, ancestor: String },

    #[error("archive has more entries than the cap of {cap} (max_entries), at entry {path:?}")]
    #[diagnostic(
        code(golock::archive::too_many_entries),
        help(
            "a Go distribution has about 15,000 entries; raise max_entries only if you trust the archive"
        )
    )]
    TooManyEntries { path: String, cap: u64 },

    #[error(
        "archive unpacks to more than the cap of {cap} bytes (max_unpacked_bytes), at entry {path:?}"
    )]
    #[diagnostic(
        code(golock::archive::unpacked_too_large),
        help(
            "a Go distribution unpacks to about 250 MB; raise max_unpacked_bytes only if you trust the archive"
        )
    )]
    UnpackedTooLarge { path: String, cap: u64 },

    #[error(
        "decompressed tar stream exceeds the cap of {cap} bytes \
         (max_unpacked_bytes plus an allowance for tar headers)"
    )]
    #[diagnostic(
        code(golock::archive::stream_too_large),
        help(
            "the archive inflates far beyond its declared content (decompression bomb?); do not trust it"
        )
    )]
    DecompressedStreamTooLarge { cap: u64 },

    #[error("failed to write {path:?}")]
    #[diagnostic(
        code(golock::archive::write),
        help("check free space, inode count and permissions of the destination filesystem")
    )]
    Write {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

impl ArchiveError {
    /// Maps an error surfacing from the source → gunzip → tar reader chain
    /// onto the layer that caused it.
    pub(super) fn from_reader_chain(error: io::Error) -> Self {
        let kind = error.kind();
        if error.get_ref().is_some_and(|e| e.is::<SourceReadFailed>()) {
            return match error.into_inner().map(|e| e.downcast::<SourceReadFailed>()) {
                Some(Ok(failed)) => ArchiveError::Read { source: failed.0 },
                _ => ArchiveError::Read {
                    source: io::Error::from(kind),
                },
            };
        }
        if let Some(exceeded) = error
            .get_ref()
            .and_then(|e| e.downcast_ref::<StreamCapExceeded>())
        {
            return ArchiveError::DecompressedStreamTooLarge { cap: exceeded.cap };
        }
        let detail = error.to_string();
        if kind == io::ErrorKind::UnexpectedEof {
            ArchiveError::Truncated { detail }
        } else {
            ArchiveError::Corrupt { detail }
        }
    }
}

/// Renders a raw archive name for messages; `{:?}` on the result escapes
/// control characters so a hostile name cannot drive the terminal.
pub(super) fn display_name(raw: &[u8]) -> String {
    String::from_utf8_lossy(raw).into_owned()
}
