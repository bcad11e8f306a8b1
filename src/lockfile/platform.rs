//! [`Platform`]: a Go `os-arch` pair as used in Go archive names
//! (`go1.22.5.linux-amd64.tar.gz`), and the host's own platform.

use std::fmt;
use std::str::FromStr;

/// Operating systems with a Go port, spelled as Go spells them.
pub const OSES: &[&str] = &[
    "linux",
    "darwin",
    "windows",
    "freebsd",
    "netbsd",
    "openbsd",
    "illumos",
    "solaris",
    "aix",
    "dragonfly",
    "plan9",
];

/// Architectures as they appear in Go archive names (`armv6l`, not `arm`).
pub const ARCHES: &[&str] = &[
    "amd64", "arm64", "386", "armv6l", "ppc64", "ppc64le", "s390x", "riscv64", "loong64", "mips",
    "mipsle", "mips64", "mips64le",
];

/// A Go archive platform, e.g. `linux-amd64`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Platform {
    os: &'static str,
    arch: &'static str,
}

impl Platform {
    /// Builds a platform from known names; `None` if either is unknown.
    pub fn new(os: &str, arch: &str) -> Option<Platform> {
        let os = OSES.iter().find(|known| **known == os)?;
        let arch = ARCHES.iter().find(|known| **known == arch)?;
        Some(Platform { os, arch })
    }

    /// The platform this binary runs on, if Go ships archives for it.
    pub fn host() -> Option<Platform> {
        let os = go_os(std::env::consts::OS)?;
        let arch = go_arch(std::env::consts::ARCH, cfg!(target_endian = "big"))?;
        Platform::new(os, arch)
    }

    pub fn os(&self) -> &str {
        self.os
    }

    pub fn arch(&self) -> &str {
        self.arch
    }
}

/// Maps Rust's `std::env::consts::OS` to Go's GOOS.
fn go_os(rust_os: &str) -> Option<&'static str> {
    let os = match rust_os {
        "macos" => "darwin",
        other => OSES.iter().find(|known| **known == other)?,
    };
    Some(os)
}

/// Maps Rust's `std::env::consts::ARCH` to the arch of Go's archive names.
fn go_arch(rust_arch: &str, big_endian: bool) -> Option<&'static str> {
    let arch = match (rust_arch, big_endian) {
        ("x86_64", _) => "amd64",
        ("aarch64", _) => "arm64",
        ("x86", _) => "386",
        ("arm", _) => "armv6l",
        ("powerpc64", true) => "ppc64",
        ("powerpc64", false) => "ppc64le",
        ("s390x", _) => "s390x",
        ("riscv64", _) => "riscv64",
        ("loongarch64", _) => "loong64",
        ("mips", true) => "mips",
        ("mips", false) => "mipsle",
        ("mips64", true) => "mips64",
        ("mips64", false) => "mips64le",
        _ => return None,
    };
    Some(arch)
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.os, self.arch)
    }
}

/// Why a string is not a [`Platform`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParsePlatformError {
    #[error("expected os-arch, e.g. linux-amd64")]
    Shape,
    #[error("unknown os {0:?}; known: {list}", list = OSES.join(", "))]
    Os(String),
    #[error("unknown arch {0:?}; known: {list}", list = ARCHES.join(", "))]
    Arch(String),
}

impl FromStr for Platform {
    type Err = ParsePlatformError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (os, arch) = s.split_once('-').ok_or(ParsePlatformError::Shape)?;
        let known_os = OSES
            .iter()
            .find(|known| **known == os)
            .ok_or_else(|| ParsePlatformError::Os(os.to_owned()))?;
        let known_arch = ARCHES
            .iter()
            .find(|known| **known == arch)
            .ok_or_else(|| ParsePlatformError::Arch(arch.to_owned()))?;
        Ok(Platform {
            os: known_os,
            arch: known_arch,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_displays_os_arch() {
        let platform: Platform = "linux-amd64".parse().unwrap();
        assert_eq!(platform.os(), "linux");
        assert_eq!(platform.arch(), "amd64");
        assert_eq!(platform.to_string(), "linux-amd64");
        assert_eq!(
            "darwin-arm64".parse::<Platform>().unwrap().to_string(),
            "darwin-arm64"
        );
    }

    #[test]
    fn rejects_unknown_names_and_shapes() {
        assert_eq!("linux".parse::<Platform>(), Err(ParsePlatformError::Shape));
        assert!(matches!(
            "macos-arm64".parse::<Platform>(),
            Err(ParsePlatformError::Os(_))
        ));
        assert!(matches!(
            "linux-x86_64".parse::<Platform>(),
            Err(ParsePlatformError::Arch(_))
        ));
        assert!(matches!(
            "linux-amd64-v3".parse::<Platform>(),
            Err(ParsePlatformError::Arch(_))
        ));
    }

    #[test]
    fn maps_rust_target_names_to_go_names() {
        assert_eq!(go_os("macos"), Some("darwin"));
        assert_eq!(go_os("linux"), Some("linux"));
        assert_eq!(go_os("android"), None);
        assert_eq!(go_arch("x86_64", false), Some("amd64"));
        assert_eq!(go_arch("aarch64", false), Some("arm64"));
        assert_eq!(go_arch("x86", false), Some("386"));
        assert_eq!(go_arch("arm", false), Some("armv6l"));
        assert_eq!(go_arch("powerpc64", true), Some("ppc64"));
        assert_eq!(go_arch("powerpc64", false), Some("ppc64le"));
        assert_eq!(go_arch("mips64", false), Some("mips64le"));
        assert_eq!(go_arch("sparc64", true), None);
    }

    #[test]
    fn host_platform_is_known_on_supported_hosts() {
        if cfg!(all(target_os = "linux", target_arch = "x86_64")) {
            assert_eq!(
                Platform::host().map(|p| p.to_string()).as_deref(),
                Some("linux-amd64")
            );
        }
    }
}
