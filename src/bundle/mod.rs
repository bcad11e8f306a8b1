//! Offline bundles: one `.tar.gz` carrying everything an air-gapped host
//! needs, written on a connected machine and applied with verification.
//!
//! This module knows the bundle *format* only, not how golock installs what
//! it carries. A bundle is a gzip-compressed tar whose members are, in order:
//!
//! 1. `golock.toml` — the lockfile the bundle was made for;
//! 2. content members chosen by the caller (toolchain archives, module files);
//! 3. `manifest.json` — [`Manifest`]: format version, the lockfile's sha256,
//!    and the size and sha256 of every member before it;
//! 4. `manifest.json.minisig` — optional minisign signature over the exact
//!    bytes of `manifest.json`.
//!
//! Output is deterministic: members in the order added, regular files only,
//! mode 0644, owner 0:0, mtime 0, gzip header without name or time.
//!
//! [`unpack_verified`] reads a bundle in one streaming pass, writing members
//! into a staging directory while hashing them, and only then trusts
//! anything: the manifest comes last, so every check against it happens after
//! the pass. The caller must discard the staging directory on error.

mod error;
pub mod members;
mod path;
mod reader;
mod sign;
mod writer;

#[cfg(test)]
mod tests;

use serde::{Deserialize, Serialize};

pub use error::BundleError;
#[cfg(test)]
pub(crate) use reader::read_manifest;
pub use reader::unpack_verified;
pub use sign::SecretKeyFile;
pub use writer::BundleWriter;

/// The bundle format this golock writes and reads.
pub const FORMAT_VERSION: u32 = 1;
/// The first member: the lockfile the bundle was made for.
pub const LOCKFILE_MEMBER: &str = "golock.toml";
/// The member listing every other one; last but for its signature.
pub const MANIFEST_MEMBER: &str = "manifest.json";
/// The minisign signature over `manifest.json`, when the bundle is signed.
pub const SIGNATURE_MEMBER: &str = "manifest.json.minisig";

/// Table of contents of a bundle, stored as `manifest.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub format_version: u32,
    /// sha256 (hex) of the `golock.toml` member.
    pub lockfile_sha256: String,
    /// Every member but the manifest and its signature, in bundle order;
    /// `golock.toml` first.
    pub members: Vec<Member>,
}

/// One member of a bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Member {
    /// Relative `/`-separated path, e.g. `golock.toml`,
    /// `go/go1.27.3.linux-amd64.tar.gz`,
    /// `modules/<escaped path>/@v/<escaped version>.zip`.
    pub path: String,
    pub size: u64,
    /// sha256 of the content, lower-case hex.
    pub sha256: String,
}

/// Caps protecting the host from hostile or broken bundles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Cap on one member's size.
    pub max_member_bytes: u64,
    /// Cap on the sum of all members' sizes.
    pub max_total_bytes: u64,
    /// Cap on the number of members.
    pub max_members: u64,
    /// Cap on the size of `manifest.json` (held in memory).
    pub max_manifest_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_member_bytes: 4 << 30,
            max_total_bytes: 64 << 30,
            max_members: 1_000_000,
            max_manifest_bytes: 256 << 20,
        }
    }
}
