//! [`ModError`]: every way a module path, version, hash input, cache path or
//! module zip can be rejected. Messages name the module (`path@version`)
//! and, for zips, the offending entry.

use std::io;
use std::path::PathBuf;

/// One rejected entry of a module zip, as x/mod/zip's `FileError`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryProblem {
    /// The entry name exactly as stored in the zip (lossily decoded if not UTF-8).
    pub entry: String,
    pub reason: String,
}

impl std::fmt::Display for EntryProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.entry, self.reason)
    }
}

/// Renders a list of problems one per line, tab-indented like cmd/go.
fn render_problems(problems: &[EntryProblem]) -> String {
    problems
        .iter()
        .map(|p| format!("\n\t{p}"))
        .collect::<String>()
}

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum ModError {
    /// SIGINT or SIGTERM arrived: extraction stopped between chunks.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Interrupted(#[from] crate::txn::interrupt::Interrupted),

    /// A module, import or file path failed `module.Check*Path`.
    #[error("malformed {kind} path {path:?}: {reason}")]
    #[diagnostic(
        code(golock::modcache::invalid_path),
        help("module paths are lower-case domain-like ASCII; see `go help goproxy` for escaping")
    )]
    InvalidPath {
        kind: &'static str,
        path: String,
        reason: String,
    },

    /// A version is not valid for the module path (`module.Check`).
    #[error("{path}@{version}: invalid version: {reason}")]
    #[diagnostic(
        code(golock::modcache::invalid_version),
        help(
            "versions must be canonical semver (vMAJOR.MINOR.PATCH), with a major version that matches the path's /vN suffix"
        )
    )]
    InvalidVersion {
        path: String,
        version: String,
        reason: String,
    },

    /// An escaped (cache/proxy) path or version does not decode.
    #[error("invalid escaped module {what} {escaped:?}{}", reason.as_ref().map(|r| format!(": {r}")).unwrap_or_default())]
    #[diagnostic(
        code(golock::modcache::invalid_escape),
        help(
            "in escaped form, upper-case letters are written as '!' followed by the lower-case letter"
        )
    )]
    InvalidEscape {
        what: &'static str,
        escaped: String,
        reason: Option<String>,
    },

    /// dirhash refuses names with newlines (they would forge lines).
    #[error("dirhash: file name {name:?} contains a newline")]
    #[diagnostic(code(golock::modcache::newline_in_name))]
    NewlineInName { name: String },

    /// A time for a `.info` file that is not RFC 3339.
    #[error("invalid module info time {time:?}: {reason}")]
    #[diagnostic(
        code(golock::modcache::invalid_time),
        help("use RFC 3339, e.g. 2019-11-09T02:19:31Z")
    )]
    InvalidTime { time: String, reason: String },

    /// A served `.info` cmd/go would not accept.
    #[error("invalid .info for {version}: {reason}")]
    #[diagnostic(
        code(golock::modcache::invalid_info),
        help(
            "a GOPROXY .info is a JSON object such as {{\"Version\":\"v1.2.3\",\"Time\":\"2023-01-01T00:00:00Z\"}} for the version asked; the source serves something else"
        )
    )]
    InvalidInfo { version: String, reason: String },

    /// The zip file itself exceeds the size cap.
    #[error("{module}: module zip file {} is too large ({size} bytes; limit is {limit} bytes)", zip.display())]
    #[diagnostic(code(golock::modcache::zip_too_large))]
    ZipTooLarge {
        module: String,
        zip: PathBuf,
        size: u64,
        limit: u64,
    },

    /// Declared uncompressed sizes add up to more than the cap.
    #[error(
        "{module}: total uncompressed size of module contents too large (max size is {limit} bytes)"
    )]
    #[diagnostic(
        code(golock::modcache::unzipped_too_large),
        help(
            "this is the x/mod/zip limit; a larger module cannot be used by the go command either"
        )
    )]
    UnzippedTooLarge { module: String, limit: u64 },

    /// One or more entries break the module zip rules (x/mod/zip `checkZip`).
    #[error("{module}: invalid module zip {}:{}", zip.display(), render_problems(problems))]
    #[diagnostic(
        code(golock::modcache::invalid_zip),
        help(
            "the zip does not follow the golang.org/x/mod/zip rules; it was not produced by the go command or a conforming proxy"
        )
    )]
    InvalidZip {
        module: String,
        zip: PathBuf,
        problems: Vec<EntryProblem>,
    },

    /// An entry decompressed to a different size than its header declares.
    #[error(
        "{module}: uncompressed size of file {entry} does not match its declared size ({declared} bytes)"
    )]
    #[diagnostic(
        code(golock::modcache::size_mismatch),
        help("the zip is corrupt or hostile; download it again from a trusted proxy")
    )]
    SizeMismatch {
        module: String,
        entry: String,
        declared: u64,
    },

    /// The extraction target already exists.
    #[error("{module}: extraction target {} already exists", dest.display())]
    #[diagnostic(
        code(golock::modcache::dest_exists),
        help("remove the partially extracted directory (it may be read-only) and try again")
    )]
    DestExists { module: String, dest: PathBuf },

    /// The zip container could not be read.
    #[error("{}: cannot read zip {}{}: {source}", module, zip.display(), entry.as_ref().map(|e| format!(" (entry {e})")).unwrap_or_default())]
    #[diagnostic(code(golock::modcache::bad_zip))]
    Zip {
        module: String,
        zip: PathBuf,
        entry: Option<String>,
        #[source]
        source: zip::result::ZipError,
    },

    /// A filesystem operation failed.
    #[error("cannot {op} {}: {source}", path.display())]
    #[diagnostic(code(golock::modcache::io))]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

impl ModError {
    /// An [`ModError::Io`] for `op` on `path`.
    pub fn io(op: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        ModError::Io {
            op,
            path: path.into(),
            source,
        }
    }
}

impl From<crate::fsx::FsError> for ModError {
    fn from(e: crate::fsx::FsError) -> Self {
        ModError::io(e.op, e.path, e.source)
    }
}
