//! golock.toml: parse, validate, domain types.
//!
//! The pipeline is `raw.rs` (serde mirror of the file) → `validate.rs`
//! (checks every value, turning each failure into a diagnostic that points at
//! the offending bytes) → the domain types here. `schemas/golock.schema.json`
//! is the contract for the format; `syntax.rs` holds the shared lexical rules.

pub mod checksums;
pub mod edit;
mod error;
pub mod gomod;
mod platform;
mod raw;
mod require_fast;
mod signed;
mod syntax;
mod validate;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use sha2::{Digest, Sha256};

use crate::fetch::Source;

pub use error::LockfileError;
pub use platform::{ARCHES, OSES, ParsePlatformError, Platform};
pub use syntax::RESERVED_ENV_NAMES;
pub use validate::StaleArchives;

/// The lockfile's conventional name, searched for by [`find_upward`].
pub const FILE_NAME: &str = "golock.toml";

/// The only `schema` value this version of golock reads.
pub const SCHEMA_VERSION: i64 = 1;

/// A validated `golock.toml`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lockfile {
    /// Absolute path of the file.
    pub path: PathBuf,
    /// Absolute directory of the file; relative sources are resolved against it.
    pub dir: PathBuf,
    /// SHA-256 of the file's bytes, to tie plans and state to this exact file.
    pub sha256: [u8; 32],
    pub go: GoSpec,
    pub modules: ModulesSpec,
    /// `[env]` in file order.
    pub env: Vec<(String, String)>,
    pub profile: ProfileSpec,
    /// minisign public keys whose signature an offline bundle must carry.
    pub trusted_keys: Vec<String>,
}

/// `[go]`: which toolchain, where to get it, how to check it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoSpec {
    pub version: GoVersion,
    /// Tried in order.
    pub mirrors: Vec<Source>,
    /// Extra stable path (absolute) to point at the active GOROOT.
    pub link: Option<PathBuf>,
    /// A shell command run with the new toolchain after the switch; its
    /// failure rolls the apply back (see `apply::health`).
    pub health_check: Option<String>,
    /// Platforms `golock lock` fills archives for.
    pub platforms: Vec<Platform>,
    /// OpenPGP keys that must have signed every archive (`<file>.asc` or
    /// `<file>.sig` beside it); empty: archives are checked by sha256 alone.
    pub signing_keys: Vec<crate::signing::TrustedKey>,
    pub archives: BTreeMap<Platform, ArchiveSpec>,
}

impl Lockfile {
    /// The URL of the archive `file` for `platform` under the HTTP mirror
    /// `base`: `base/file`, or `base` with its `{file}`, `{version}`, `{os}`
    /// and `{arch}` placeholders filled in.
    pub fn mirror_url(&self, base: &str, file: &str, platform: &Platform) -> String {
        if !base.contains('{') {
            return format!("{}/{file}", base.trim_end_matches('/'));
        }
        base.replace("{file}", file)
            .replace("{version}", self.go.version.as_str())
            .replace("{os}", platform.os())
            .replace("{arch}", platform.arch())
    }
}

/// A Go release version such as `1.22.5` or `1.23rc1` (no `go` prefix).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct GoVersion(String);

impl GoVersion {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The directory and archive prefix Go uses: `go1.22.5`.
    pub fn dir_name(&self) -> String {
        format!("go{}", self.0)
    }
}

impl fmt::Display for GoVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A string that is not a Go release version.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid Go version {0:?}: expected 1.N, 1.N.P, 1.NrcK or 1.NbetaK")]
pub struct ParseGoVersionError(pub String);

impl FromStr for GoVersion {
    type Err = ParseGoVersionError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if syntax::is_go_version(s) {
            Ok(GoVersion(s.to_owned()))
        } else {
            Err(ParseGoVersionError(s.to_owned()))
        }
    }
}

/// One Go distribution archive, from `[go.archives]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchiveSpec {
    /// Plain file name looked up in each mirror.
    pub file: String,
    pub sha256: [u8; 32],
    /// Size in bytes; 0 when unknown.
    pub size: u64,
}

/// `[modules]`: module proxies and the pinned modules.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ModulesSpec {
    /// GOPROXY-protocol sources, tried in order.
    pub proxies: Vec<Source>,
    pub require: BTreeMap<ModuleKey, ModuleHashes>,
}

/// A module at a version: `github.com/pkg/errors@v0.9.1`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ModuleKey {
    pub path: String,
    pub version: String,
}

impl fmt::Display for ModuleKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.path, self.version)
    }
}

/// go.sum hashes of a module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleHashes {
    /// `h1:` hash of the module zip; absent when go.sum only has the go.mod line.
    pub zip: Option<String>,
    /// `h1:` hash of the module's go.mod (the file's `mod` key).
    pub module: String,
}

/// `[profile]`: which shell profiles get the managed block.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProfileSpec {
    /// Absolute paths inside the home directory.
    pub files: Vec<PathBuf>,
    /// Also write the go command's env file (`go env -w`).
    pub goenv: bool,
}

/// Parses and validates lockfile `text` that lives at `path`; profile paths
/// are resolved against `home`.
pub fn parse(text: &str, path: &Path, home: &Path) -> Result<Lockfile, LockfileError> {
    parse_with(text, path, home, StaleArchives::Refuse)
}

/// [`parse`], choosing whether archives of another Go version are refused.
pub fn parse_with(
    text: &str,
    path: &Path,
    home: &Path,
    stale_archives: StaleArchives,
) -> Result<Lockfile, LockfileError> {
    let path = absolute(path);
    let home = absolute(home);
    let dir = path
        .parent()
        .map_or_else(|| PathBuf::from("/"), Path::to_path_buf);
    let validated = validate::validate(text, &path, &dir, &home, stale_archives)?;
    Ok(Lockfile {
        sha256: Sha256::digest(text.as_bytes()).into(),
        path,
        dir,
        go: validated.go,
        modules: validated.modules,
        env: validated.env,
        profile: validated.profile,
        trusted_keys: validated.trusted_keys,
    })
}

/// Reads and parses the lockfile at `path`.
pub fn load(path: &Path, home: &Path) -> Result<Lockfile, LockfileError> {
    load_with(path, home, StaleArchives::Refuse)
}

/// [`load`], choosing whether archives of another Go version are refused.
pub fn load_with(
    path: &Path,
    home: &Path,
    stale_archives: StaleArchives,
) -> Result<Lockfile, LockfileError> {
    let text = crate::fsx::read_to_string(path).map_err(|e| LockfileError::Read {
        path: path.to_path_buf(),
        source: e.source,
    })?;
    parse_with(&text, path, home, stale_archives)
}

/// Whether `archive` is one of Go `version`'s archives: its file names that
/// version, or names none (a mirror's own file name).
pub fn archive_is_for(archive: &ArchiveSpec, version: &GoVersion) -> bool {
    syntax::archive_file_version(&archive.file).is_none_or(|named| named == version.as_str())
}

/// The nearest `golock.toml` in `start` or its ancestors.
pub fn find_upward(start: &Path) -> Option<PathBuf> {
    start
        .ancestors()
        .map(|dir| dir.join(FILE_NAME))
        .find(|candidate| candidate.is_file())
}

/// The files whose change can make a golock.toml drift: go.mod and go.sum
/// beside it, and itself.
const WATCHED_NAMES: [&str; 3] = ["go.mod", "go.sum", FILE_NAME];

/// Whether a change to `file` can make the golock.toml beside it drift.
pub fn is_watched(file: &Path) -> bool {
    file.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| WATCHED_NAMES.contains(&n))
}

/// The `golock.toml` beside each of `changed` that is a go.mod, go.sum or
/// golock.toml (a pre-commit hook's file list, relative to `base`), once
/// each, in the order first named. Other files, and a go.mod with no
/// golock.toml in its directory (a module golock does not manage), name none.
pub fn beside_changed(base: &Path, changed: &[PathBuf]) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = Vec::new();
    for file in changed {
        let Some(dir) = file.parent().filter(|_| is_watched(file)) else {
            continue;
        };
        let candidate = base.join(dir).join(FILE_NAME);
        if candidate.is_file() && !found.contains(&candidate) {
            found.push(candidate);
        }
    }
    found
}

/// `path` made absolute against the current directory, lexically; left as is
/// when the current directory is unavailable.
fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn beside_changed_names_each_lockfile_once_and_skips_unmanaged_modules() {
        let base = tempfile::tempdir().unwrap();
        for dir in ["a", "b", "c"] {
            crate::fsx::create_dir_all(base.path().join(dir)).unwrap();
        }
        for dir in ["a", "b"] {
            crate::fsx::write(base.path().join(dir).join(FILE_NAME), b"").unwrap();
        }
        let changed: Vec<PathBuf> = [
            "b/go.sum",
            "a/go.mod",
            "a/go.sum",
            "c/go.mod",
            "a/main.go",
            "b/golock.toml",
        ]
        .iter()
        .map(PathBuf::from)
        .collect();
        assert_eq!(
            beside_changed(base.path(), &changed),
            vec![
                base.path().join("b").join(FILE_NAME),
                base.path().join("a").join(FILE_NAME)
            ]
        );
    }
    use crate::fsx;

    #[test]
    fn go_version_from_str() {
        let version: GoVersion = "1.22rc1".parse().unwrap();
        assert_eq!(version.as_str(), "1.22rc1");
        assert_eq!(version.to_string(), "1.22rc1");
        assert_eq!(version.dir_name(), "go1.22rc1");
        assert_eq!(
            "go1.22".parse::<GoVersion>(),
            Err(ParseGoVersionError("go1.22".into()))
        );
    }

    #[test]
    fn find_upward_finds_the_nearest_lockfile() {
        let root = tempfile::tempdir().unwrap();
        let nested = root.path().join("a/b/c");
        fsx::create_dir_all(&nested).unwrap();
        fsx::write(root.path().join(FILE_NAME), "").unwrap();
        assert_eq!(find_upward(&nested), Some(root.path().join(FILE_NAME)));
        fsx::write(root.path().join("a").join(FILE_NAME), "").unwrap();
        assert_eq!(
            find_upward(&nested),
            Some(root.path().join("a").join(FILE_NAME))
        );
        fsx::create_dir(nested.join(FILE_NAME)).unwrap();
        assert_eq!(
            find_upward(&nested),
            Some(root.path().join("a").join(FILE_NAME)),
            "a directory named golock.toml is not a lockfile"
        );
    }

    #[test]
    fn load_reads_parses_and_hashes_the_file() {
        let root = tempfile::tempdir().unwrap();
        let path = root.path().join(FILE_NAME);
        let text = "schema = 1\n[go]\nversion = \"1.22.5\"\nmirrors = [\"archives\"]\n";
        fsx::write(&path, text).unwrap();
        let lockfile = load(&path, Path::new("/home/me")).unwrap();
        assert_eq!(lockfile.dir, root.path());
        assert_eq!(
            lockfile.go.mirrors,
            vec![Source::Local(root.path().join("archives"))]
        );
        assert_eq!(
            hex::encode(lockfile.sha256),
            hex::encode(Sha256::digest(text.as_bytes()))
        );
    }
}
