//! Every way reading `golock.toml` can fail, as miette diagnostics.
//!
//! Each variant that concerns the file's content carries the file as
//! `#[source_code]` (named by its path) and a label on the offending bytes.

use std::path::PathBuf;
use std::sync::Arc;

use miette::{Diagnostic, NamedSource, SourceSpan};

/// The file text a diagnostic points into, named by the lockfile's path;
/// shared by all diagnostics of one file (and keeps the error small).
pub type Src = Arc<NamedSource<String>>;

#[derive(Debug, thiserror::Error, Diagnostic)]
pub enum LockfileError {
    #[error("cannot read lockfile {}", path.display())]
    #[diagnostic(
        code(golock::lockfile::read),
        help("pass the lockfile with --lockfile PATH, or create one with `golock init`")
    )]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("{message}")]
    #[diagnostic(
        code(golock::lockfile::syntax),
        help(
            "golock.toml must be valid TOML with the types described in schemas/golock.schema.json"
        )
    )]
    Syntax {
        message: String,
        #[source_code]
        src: Src,
        #[label("invalid here")]
        span: SourceSpan,
    },

    #[error("unknown key `{key}`")]
    #[diagnostic(code(golock::lockfile::unknown_key))]
    UnknownKey {
        key: String,
        #[source_code]
        src: Src,
        #[label("not a key of this table")]
        span: SourceSpan,
        #[help]
        help: String,
    },

    #[error("missing key `{key}`")]
    #[diagnostic(code(golock::lockfile::missing_key))]
    MissingKey {
        key: String,
        #[source_code]
        src: Src,
        #[label("this table lacks `{key}`")]
        span: SourceSpan,
        #[help]
        help: String,
    },

    #[error("missing `schema` key")]
    #[diagnostic(
        code(golock::lockfile::schema_missing),
        help("add `schema = 1` as the first line")
    )]
    SchemaMissing {
        #[source_code]
        src: Src,
        #[label("expected `schema = 1` in the top-level table")]
        span: SourceSpan,
    },

    #[error("unsupported lockfile schema {found}")]
    #[diagnostic(
        code(golock::lockfile::schema_version),
        help("this golock reads `schema = 1`; a newer schema needs a newer golock")
    )]
    SchemaVersion {
        found: String,
        #[source_code]
        src: Src,
        #[label("expected 1")]
        span: SourceSpan,
    },

    #[error("invalid Go version {value:?}")]
    #[diagnostic(
        code(golock::lockfile::go_version),
        help(
            "write a Go release as 1.N, 1.N.P, 1.NrcK or 1.NbetaK, e.g. \"1.22.5\" or \"1.23rc1\" (no `v` or `go` prefix)"
        )
    )]
    GoVersion {
        value: String,
        #[source_code]
        src: Src,
        #[label("not a Go release version")]
        span: SourceSpan,
    },

    #[error("invalid sha256 {value:?}")]
    #[diagnostic(
        code(golock::lockfile::sha256),
        help("a sha256 is exactly 64 hexadecimal characters; `golock lock` fills it in")
    )]
    Sha256 {
        value: String,
        #[source_code]
        src: Src,
        #[label("expected 64 hex characters, found {len} characters")]
        span: SourceSpan,
        len: usize,
    },

    #[error("unknown platform {value:?}")]
    #[diagnostic(code(golock::lockfile::platform))]
    Platform {
        value: String,
        #[source_code]
        src: Src,
        #[label("not an os-arch pair golock knows")]
        span: SourceSpan,
        #[help]
        help: String,
    },

    #[error("platform {value} is listed twice")]
    #[diagnostic(
        code(golock::lockfile::duplicate_platform),
        help("list each platform once")
    )]
    DuplicatePlatform {
        value: String,
        #[source_code]
        src: Src,
        #[label("duplicate")]
        span: SourceSpan,
    },

    #[error("invalid archive file name {value:?}")]
    #[diagnostic(
        code(golock::lockfile::archive_file),
        help(
            "`file` is a plain file name such as \"go1.22.5.linux-amd64.tar.gz\", looked up in each mirror; it cannot contain `/` or `\\` or be `.` or `..`"
        )
    )]
    ArchiveFile {
        value: String,
        #[source_code]
        src: Src,
        #[label("not a plain file name")]
        span: SourceSpan,
    },

    #[error("archive {file:?} is Go {named}, but [go] version is {version}")]
    #[diagnostic(
        code(golock::lockfile::archive_version),
        help(
            "run `golock lock` to replace the archives of another version with those of Go {version}"
        )
    )]
    ArchiveVersion {
        file: String,
        named: String,
        version: String,
        #[source_code]
        src: Src,
        #[label("names Go {named}, not {version}")]
        span: SourceSpan,
    },

    #[error("invalid source {value:?}: {reason}")]
    #[diagnostic(
        code(golock::lockfile::source),
        help(
            "a source is a file:// URL, an http:// or https:// URL, or a directory path (relative paths are relative to the lockfile's directory)"
        )
    )]
    Source {
        value: String,
        reason: String,
        #[source_code]
        src: Src,
        #[label("{reason}")]
        span: SourceSpan,
    },

    #[error("`link` must be an absolute path, found {value:?}")]
    #[diagnostic(
        code(golock::lockfile::link),
        help("write the full path of the link to create, e.g. \"/usr/local/go\"")
    )]
    Link {
        value: String,
        #[source_code]
        src: Src,
        #[label("not absolute")]
        span: SourceSpan,
    },

    #[error("`health_check` is {problem}")]
    #[diagnostic(
        code(golock::lockfile::health_check),
        help(
            "write one shell command line (run with sh -c after the switch), e.g. \"go version\", or remove the key"
        )
    )]
    HealthCheck {
        problem: &'static str,
        #[source_code]
        src: Src,
        #[label("{problem}")]
        span: SourceSpan,
    },

    #[error("invalid module key {value:?}: {reason}")]
    #[diagnostic(
        code(golock::lockfile::module_key),
        help(
            "a key is a module path, `@`, and a canonical version, as in go.sum: \"github.com/pkg/errors@v0.9.1\""
        )
    )]
    ModuleKey {
        value: String,
        reason: String,
        #[source_code]
        src: Src,
        #[label("{reason}")]
        span: SourceSpan,
    },

    #[error("invalid module hash {value:?}")]
    #[diagnostic(
        code(golock::lockfile::module_hash),
        help("copy the hash from go.sum: \"h1:\" followed by 44 base64 characters ending in `=`")
    )]
    ModuleHash {
        value: String,
        #[source_code]
        src: Src,
        #[label("not an h1: hash")]
        span: SourceSpan,
    },

    #[error("{value:?} is not a minisign public key")]
    #[diagnostic(
        code(golock::lockfile::trusted_key),
        help(
            "use the second line of the key's .pub file: \"RW\" followed by 54 base64 characters"
        )
    )]
    TrustedKey {
        value: String,
        #[source_code]
        src: Src,
        #[label("not a minisign public key")]
        span: SourceSpan,
    },

    #[error("[go] signing_keys: cannot use {value:?}: {reason}")]
    #[diagnostic(
        code(golock::lockfile::signing_key),
        help(
            "name an armored OpenPGP public key file relative to golock.toml, e.g. one written \
             by `gpg --export --armor KEYID > keys/release.asc` (at most 1 MiB)"
        )
    )]
    SigningKey {
        value: String,
        reason: String,
        #[source_code]
        src: Src,
        #[label("{reason}")]
        span: SourceSpan,
    },

    #[error("invalid environment variable name {value:?}")]
    #[diagnostic(
        code(golock::lockfile::env_name),
        help("a name starts with a letter or `_` and continues with letters, digits or `_`")
    )]
    EnvName {
        value: String,
        #[source_code]
        src: Src,
        #[label("not an identifier")]
        span: SourceSpan,
    },

    #[error("environment variable {name} is managed by golock")]
    #[diagnostic(
        code(golock::lockfile::env_reserved),
        help(
            "remove {name} from [env]: golock sets GOROOT and puts the active toolchain's bin directory on PATH itself"
        )
    )]
    EnvReserved {
        name: String,
        #[source_code]
        src: Src,
        #[label("reserved")]
        span: SourceSpan,
    },

    #[error("value of {name} contains a {what}")]
    #[diagnostic(
        code(golock::lockfile::env_value),
        help(
            "environment values are written into shell profiles and must fit on one line: no newline, carriage return or NUL"
        )
    )]
    EnvValue {
        name: String,
        what: &'static str,
        #[source_code]
        src: Src,
        #[label("contains a {what}")]
        span: SourceSpan,
    },

    #[error("invalid profile file {value:?}: {reason}")]
    #[diagnostic(
        code(golock::lockfile::profile_path),
        help(
            "profile files live in the home directory: write \"~/.bashrc\", \".bashrc\" or an absolute path inside home, without `..`"
        )
    )]
    ProfilePath {
        value: String,
        reason: String,
        #[source_code]
        src: Src,
        #[label("{reason}")]
        span: SourceSpan,
    },

    #[error("profile file {} is listed twice", path.display())]
    #[diagnostic(
        code(golock::lockfile::duplicate_profile_file),
        help("list each profile file once")
    )]
    DuplicateProfileFile {
        path: PathBuf,
        #[source_code]
        src: Src,
        #[label("same file as an earlier entry")]
        span: SourceSpan,
    },

    #[error("{} has {} problems", path.display(), errors.len())]
    #[diagnostic(code(golock::lockfile::invalid))]
    Invalid {
        path: PathBuf,
        #[related]
        errors: Vec<LockfileError>,
    },
}

impl LockfileError {
    /// The individual problems: the nested ones of [`LockfileError::Invalid`],
    /// or the error itself.
    pub fn problems(&self) -> Vec<&LockfileError> {
        match self {
            LockfileError::Invalid { errors, .. } => errors.iter().collect(),
            other => vec![other],
        }
    }
}
