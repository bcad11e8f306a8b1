//! The Go module cache (GOMODCACHE), filled offline and byte-compatible with
//! what the go command writes.
//!
//! * [`escape`]: module/import/file path rules and `!`-escaping (x/mod `module`).
//! * [`semver`]: semantic versions and the path/version agreement check.
//! * [`dirhash`]: the `h1:` hashes of go.sum (x/mod `sumdb/dirhash`).
//! * [`layout`]: where cmd/go keeps each file, and the bytes of `.info`/`list`.
//! * [`zip`]: module zip checks and extraction into the cache (x/mod/zip).
//! * [`error`]: [`ModError`], the one error type of this module.

pub mod dirhash;
pub mod error;
pub mod escape;
pub mod layout;
pub mod semver;
pub mod zip;

pub use dirhash::{EMPTY_H1, hash_dir, hash_go_mod, hash_zip, hash1};
pub use error::{EntryProblem, ModError};
pub use escape::{
    check_file_path, check_import_path, check_path, escape_path, escape_version,
    split_path_version, unescape_path, unescape_version,
};
pub use layout::{CacheLayout, render_info, render_list};
pub use semver::{canonical, canonical_version, check_version, compare, is_valid};
pub use zip::{Unzipped, ZipLimits, check_and_extract, check_zip};
