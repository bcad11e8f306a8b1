//! Errors raised while writing, reading and verifying a bundle. Every message
//! names the member (or file) it concerns; every variant has a
//! `golock::bundle::*` code and a help line.

use std::io;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum BundleError {
    #[error("cannot {op} {}: {source}", path.display())]
    #[diagnostic(
        code(golock::bundle::io),
        help("check permissions and free space where the bundle or its staging directory lives")
    )]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    #[error("failed to read the bundle {}: {source}", path.display())]
    #[diagnostic(
        code(golock::bundle::read),
        help("check that the bundle file is readable and that its disk is healthy")
    )]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    #[error("the bundle is truncated: {detail}")]
    #[diagnostic(
        code(golock::bundle::truncated),
        help(
            "the bundle file is incomplete (interrupted copy?); copy it again from the connected machine"
        )
    )]
    Truncated { detail: String },

    #[error("the bundle is corrupt: {detail}")]
    #[diagnostic(
        code(golock::bundle::corrupt),
        help("the file is not a golock bundle or was damaged in transit; make or copy it again")
    )]
    Corrupt { detail: String },

    #[error("bundle member {path:?} has an unsafe path: {reason}")]
    #[diagnostic(
        code(golock::bundle::unsafe_path),
        help(
            "bundle members are plain relative paths ('/'-separated, no '..', '.', \
             backslash, empty or control-character components); golock never writes others"
        )
    )]
    UnsafePath { path: String, reason: &'static str },

    #[error("bundle member {path:?} is a {kind}; only regular files are allowed")]
    #[diagnostic(
        code(golock::bundle::unsupported_entry),
        help("golock bundles contain only regular files; links and special entries are refused")
    )]
    UnsupportedEntry { path: String, kind: String },

    #[error("bundle member {path:?} appears more than once")]
    #[diagnostic(
        code(golock::bundle::duplicate_member),
        help("a bundle lists each member once; this one was altered or not made by golock")
    )]
    DuplicateMember { path: String },

    #[error(
        "bundle member {path:?} clashes with member {other:?} (a file cannot also be a directory)"
    )]
    #[diagnostic(
        code(golock::bundle::path_conflict),
        help(
            "a bundle never holds both a file and files beneath it; this one was altered or not made by golock"
        )
    )]
    PathConflict { path: String, other: String },

    #[error("bundle member {path:?} is not allowed here: {detail}")]
    #[diagnostic(
        code(golock::bundle::misplaced_member),
        help(
            "a bundle starts with golock.toml and ends with manifest.json \
             (then manifest.json.minisig when signed); this one was altered or not made by golock"
        )
    )]
    MisplacedMember { path: String, detail: String },

    #[error("bundle exceeds a size cap at member {path:?}: {detail}")]
    #[diagnostic(
        code(golock::bundle::limit_exceeded),
        help(
            "the caps protect this host from hostile or broken bundles; raise them only for a bundle you trust"
        )
    )]
    LimitExceeded { path: String, detail: String },

    #[error("the bundle has no manifest.json")]
    #[diagnostic(
        code(golock::bundle::missing_manifest),
        help(
            "a complete bundle ends with manifest.json; the file is truncated or was not made by golock"
        )
    )]
    MissingManifest,

    #[error("the bundle's manifest.json is invalid: {detail}")]
    #[diagnostic(
        code(golock::bundle::bad_manifest),
        help("the manifest was damaged or not written by golock; make the bundle again")
    )]
    BadManifest { detail: String },

    #[error("the bundle has format version {found}; this golock reads version {supported}")]
    #[diagnostic(
        code(golock::bundle::unsupported_format),
        help("make the bundle with the same golock version as the one applying it")
    )]
    UnsupportedFormat { found: u32, supported: u32 },

    #[error("bundle member {path:?} is listed in the manifest but missing from the bundle")]
    #[diagnostic(
        code(golock::bundle::missing_member),
        help("the bundle was altered or truncated after it was made; make or copy it again")
    )]
    MissingMember { path: String },

    #[error("bundle member {path:?} is not listed in the manifest")]
    #[diagnostic(
        code(golock::bundle::extra_member),
        help("something was added to the bundle after it was made; do not use it")
    )]
    ExtraMember { path: String },

    #[error(
        "bundle member {path:?} does not match the manifest: expected {expected_size} bytes \
         with sha256 {expected_sha256}, got {actual_size} bytes with sha256 {actual_sha256}"
    )]
    #[diagnostic(
        code(golock::bundle::member_mismatch),
        help(
            "the member was damaged or altered after the bundle was made; do not use this bundle"
        )
    )]
    MemberMismatch {
        path: String,
        expected_size: u64,
        expected_sha256: String,
        actual_size: u64,
        actual_sha256: String,
    },

    #[error(
        "this bundle was made for another golock.toml (sha256 {found}; expected {expected}){hint}"
    )]
    #[diagnostic(
        code(golock::bundle::wrong_lockfile),
        help(
            "make the bundle from the same commit of golock.toml as this host uses \
             (`golock bundle` on the connected machine), or check out the matching golock.toml here"
        )
    )]
    WrongLockfile {
        found: String,
        expected: String,
        /// The start of the bundle's own golock.toml, pre-formatted (may be empty).
        hint: String,
    },

    #[error("the bundle is not signed, but trusted keys are configured")]
    #[diagnostic(
        code(golock::bundle::unsigned),
        help("make the bundle with a signing key whose public key is trusted here")
    )]
    Unsigned,

    #[error("the bundle is signed by key {key_id}, which is not a trusted key")]
    #[diagnostic(
        code(golock::bundle::untrusted_signer),
        help(
            "sign the bundle with a trusted key, or add that key's public key to the trusted keys if you trust it"
        )
    )]
    UntrustedSigner { key_id: String },

    #[error(
        "the bundle's signature does not match its manifest (signed by trusted key {key_id}): the manifest was altered after signing"
    )]
    #[diagnostic(
        code(golock::bundle::bad_signature),
        help("do not use this bundle; make and sign it again")
    )]
    BadSignature { key_id: String },

    #[error("the bundle's manifest.json.minisig is not a valid minisign signature: {detail}")]
    #[diagnostic(
        code(golock::bundle::malformed_signature),
        help("the signature file was damaged or not written by minisign; make the bundle again")
    )]
    MalformedSignature { detail: String },

    #[error("trusted key {key:?} is not a valid minisign public key: {detail}")]
    #[diagnostic(
        code(golock::bundle::bad_trusted_key),
        help("use the second line of a minisign .pub file (it starts with \"RW\")")
    )]
    BadTrustedKey { key: String, detail: String },

    #[error("cannot load the minisign secret key {}: {detail}", path.display())]
    #[diagnostic(
        code(golock::bundle::secret_key),
        help("give a minisign secret key file, with its password if it is encrypted")
    )]
    SecretKey { path: PathBuf, detail: String },

    #[error("cannot sign the bundle manifest: {detail}")]
    #[diagnostic(
        code(golock::bundle::sign),
        help("check the signing key (an encrypted key needs its password)")
    )]
    Sign { detail: String },

    #[error("{} changed while it was added to the bundle as {member:?} (expected {expected} bytes, read {actual})", src.display())]
    #[diagnostic(
        code(golock::bundle::source_changed),
        help("make the bundle again when nothing is writing to its sources")
    )]
    SourceChanged {
        member: String,
        src: PathBuf,
        expected: u64,
        actual: u64,
    },

    #[error("an earlier error left this bundle incomplete; it cannot be finished")]
    #[diagnostic(
        code(golock::bundle::abandoned),
        help("fix the earlier error and make the bundle again")
    )]
    Abandoned,

    #[error("staging directory {} is not empty", path.display())]
    #[diagnostic(
        code(golock::bundle::dest_not_empty),
        help("a bundle is unpacked into a fresh, empty directory")
    )]
    DestNotEmpty { path: PathBuf },
}

pub type Result<T> = std::result::Result<T, BundleError>;

impl From<crate::fsx::FsError> for BundleError {
    fn from(e: crate::fsx::FsError) -> Self {
        BundleError::Io {
            op: e.op,
            path: e.path,
            source: e.source,
        }
    }
}
