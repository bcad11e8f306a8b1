//! STUB (replaced by the wt-lockfile branch).
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
pub struct Lockfile {
    pub path: PathBuf,
    pub dir: PathBuf,
    pub sha256: [u8; 32],
    pub go: GoSpec,
    pub env: Vec<(String, String)>,
    pub profile: ProfileSpec,
}
pub struct GoSpec {
    pub version: GoVersion,
    pub mirrors: Vec<Source>,
    pub link: Option<PathBuf>,
    pub platforms: Vec<Platform>,
    pub archives: BTreeMap<Platform, ArchiveSpec>,
}
pub struct GoVersion(String);
impl GoVersion {
    pub fn as_str(&self) -> &str {
        &self.0
    }
    pub fn dir_name(&self) -> String {
        format!("go{}", self.0)
    }
}
impl std::fmt::Display for GoVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
pub enum Source {
    Dir(PathBuf),
    Http(String),
}
pub struct ArchiveSpec {
    pub file: String,
    pub sha256: [u8; 32],
    pub size: u64,
}
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Platform {
    os: String,
    arch: String,
}
impl Platform {
    pub fn host() -> Option<Platform> {
        todo!()
    }
    pub fn os(&self) -> &str {
        &self.os
    }
    pub fn arch(&self) -> &str {
        &self.arch
    }
}
impl std::fmt::Display for Platform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}-{}", self.os, self.arch)
    }
}
pub struct ProfileSpec {
    pub files: Vec<PathBuf>,
    pub goenv: bool,
}
pub fn load(_path: &Path, _home: &Path) -> Result<Lockfile, LockfileError> {
    todo!()
}
pub fn find_upward(_start: &Path) -> Option<PathBuf> {
    todo!()
}
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum LockfileError {
    #[error("stub")]
    Stub,
}
