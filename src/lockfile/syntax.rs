//! The lexical rules of lockfile values, as pure predicates on strings.
//!
//! `schemas/golock.schema.json` states the same rules as regular expressions;
//! keep the two in step.

/// `1.N`, `1.N.P`, `1.NrcK` or `1.NbetaK`; numbers without leading zeros,
/// K from 1.
pub fn is_go_version(s: &str) -> bool {
    let Some(rest) = s.strip_prefix("1.") else {
        return false;
    };
    let (minor, suffix) = split_number(rest);
    if !is_number(minor) {
        return false;
    }
    if suffix.is_empty() {
        return true;
    }
    if let Some(patch) = suffix.strip_prefix('.') {
        return is_number(patch);
    }
    let pre = suffix
        .strip_prefix("rc")
        .or_else(|| suffix.strip_prefix("beta"));
    pre.is_some_and(|k| is_number(k) && k != "0")
}

/// Splits a leading run of ASCII digits from the rest.
fn split_number(s: &str) -> (&str, &str) {
    let end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    s.split_at(end)
}

/// A decimal number without sign or leading zeros.
fn is_number(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && (s == "0" || !s.starts_with('0'))
}

/// An environment variable name: `[A-Za-z_][A-Za-z0-9_]*`.
pub fn is_env_name(s: &str) -> bool {
    let mut bytes = s.bytes();
    bytes
        .next()
        .is_some_and(|first| first.is_ascii_alphabetic() || first == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Variables golock sets itself and a lockfile may not override
/// (compared ASCII-case-insensitively: `path` is tied to `PATH` in zsh,
/// and Windows does not distinguish case).
pub const RESERVED_ENV_NAMES: &[&str] = &["PATH", "GOROOT"];

pub fn is_reserved_env_name(s: &str) -> bool {
    RESERVED_ENV_NAMES
        .iter()
        .any(|reserved| reserved.eq_ignore_ascii_case(s))
}

/// The first character an environment value cannot hold, named for messages.
pub fn forbidden_env_value_char(s: &str) -> Option<&'static str> {
    s.chars().find_map(|c| match c {
        '\n' => Some("newline"),
        '\r' => Some("carriage return"),
        '\0' => Some("NUL character"),
        _ => None,
    })
}

/// A go.sum hash: `h1:` and the standard base64 of 32 bytes (44 characters,
/// the last `=`, the one before it carrying no stray bits).
pub fn is_h1_hash(s: &str) -> bool {
    let Some(b64) = s.strip_prefix("h1:") else {
        return false;
    };
    let bytes = b64.as_bytes();
    bytes.len() == 44
        && bytes[..43].iter().all(|b| is_base64_char(*b))
        && b"AEIMQUYcgkosw048".contains(&bytes[42])
        && bytes[43] == b'='
}

fn is_base64_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'+' || b == b'/'
}

/// An archive `file`: a plain file name, never a path.
pub fn is_plain_file_name(s: &str) -> bool {
    !s.is_empty() && s != "." && s != ".." && !s.contains(['/', '\\', '\0'])
}

/// The Go version an archive `file` names, as Go's own archives do
/// (`go1.22.5.linux-amd64.tar.gz` names `1.22.5`); `None` for a file name
/// that does not start with `go` and a version.
pub fn archive_file_version(file: &str) -> Option<String> {
    let rest = file.strip_prefix("go")?;
    let parts: Vec<&str> = rest
        .split('.')
        .take_while(|part| part.starts_with(|c: char| c.is_ascii_digit()))
        .collect();
    let version = parts.join(".");
    is_go_version(&version).then_some(version)
}

/// Why a `path@version` module key is invalid, or `None` if it is valid.
pub fn module_key_problem(key: &str) -> Option<&'static str> {
    let Some((path, version)) = key.split_once('@') else {
        return Some("missing `@version`");
    };
    if version.contains('@') {
        return Some("more than one `@`");
    }
    module_path_problem(path).or_else(|| {
        (!is_module_version(version)).then_some("version is not a canonical semantic version")
    })
}

/// Go's module path rules (`golang.org/x/mod/module.CheckPath`), simplified:
/// slash-separated elements of `[A-Za-z0-9._~-]`, none empty, `.` or `..`;
/// the first element is a lowercase host name with a dot.
fn module_path_problem(path: &str) -> Option<&'static str> {
    if path.is_empty() {
        return Some("empty module path");
    }
    let mut elements = path.split('/');
    let first = elements.next().unwrap_or_default();
    let first_ok = first.contains('.')
        && !first.starts_with(['-', '.'])
        && first
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-');
    if !first_ok {
        return Some("module path must start with a lowercase host name such as github.com");
    }
    let rest_ok = elements.all(|element| {
        !element.is_empty()
            && element != "."
            && element != ".."
            && element
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._~-".contains(&b))
    });
    (!rest_ok).then_some("invalid module path element")
}

/// A canonical semantic version with a `v`: `vX.Y.Z[-pre][+incompatible]`,
/// which covers go.sum's pseudo-versions.
fn is_module_version(version: &str) -> bool {
    let Some(rest) = version.strip_prefix('v') else {
        return false;
    };
    let rest = rest.strip_suffix("+incompatible").unwrap_or(rest);
    let (core, pre) = match rest.split_once('-') {
        Some((core, pre)) => (core, Some(pre)),
        None => (rest, None),
    };
    let mut numbers = core.split('.');
    let core_ok = (0..3).all(|_| numbers.next().is_some_and(is_number)) && numbers.next().is_none();
    let pre_ok = pre.is_none_or(|pre| {
        pre.split('.')
            .all(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
    });
    core_ok && pre_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_versions() {
        for good in ["1.20", "1.21.0", "1.22rc1", "1.23beta2", "1.27.3", "1.0"] {
            assert!(is_go_version(good), "{good}");
        }
        for bad in [
            "v1.2",
            "1.2.3.4",
            "go1.2",
            "1",
            "1.",
            "2.0",
            "1.02",
            "1.21.",
            "1.22rc",
            "1.22rc0",
            "1.22alpha1",
            "1.21 ",
            "",
            "1.21.0rc1",
        ] {
            assert!(!is_go_version(bad), "{bad}");
        }
    }

    #[test]
    fn env_names() {
        for good in ["GOPROXY", "_X", "a1_b"] {
            assert!(is_env_name(good), "{good}");
        }
        for bad in ["", "1A", "A-B", "A B", "Ä"] {
            assert!(!is_env_name(bad), "{bad}");
        }
        assert!(is_reserved_env_name("PATH"));
        assert!(is_reserved_env_name("goroot"));
        assert!(!is_reserved_env_name("GOPATH"));
    }

    #[test]
    fn env_values() {
        assert_eq!(forbidden_env_value_char("-mod=mod"), None);
        assert_eq!(forbidden_env_value_char("a\nb"), Some("newline"));
        assert_eq!(forbidden_env_value_char("a\rb"), Some("carriage return"));
        assert_eq!(forbidden_env_value_char("a\0b"), Some("NUL character"));
    }

    #[test]
    fn h1_hashes() {
        assert!(is_h1_hash(
            "h1:iURUrRGxPUNPdy5/HRSm+Yj6okJ6UtLINN0Q9M4+h3I="
        ));
        assert!(is_h1_hash(
            "h1:bYxFq1FtL1GGbjYMpZGJa8wqrpQ4UY0mkPZ4nHKeWvY="
        ));
        for bad in [
            "iURUrRGxPUNPdy5/HRSm+Yj6okJ6UtLINN0Q9M4+h3I=",
            "h2:iURUrRGxPUNPdy5/HRSm+Yj6okJ6UtLINN0Q9M4+h3I=",
            "h1:iURUrRGxPUNPdy5/HRSm+Yj6okJ6UtLINN0Q9M4+h3I",
            "h1:iURUrRGxPUNPdy5/HRSm+Yj6okJ6UtLINN0Q9M4+h3J=",
            "h1:iURUrRGxPUNPdy5_HRSm+Yj6okJ6UtLINN0Q9M4+h3I=",
            "h1:",
        ] {
            assert!(!is_h1_hash(bad), "{bad}");
        }
    }

    #[test]
    fn plain_file_names() {
        assert!(is_plain_file_name("go1.22.5.linux-amd64.tar.gz"));
        for bad in ["", ".", "..", "a/b", "a\\b", "/abs"] {
            assert!(!is_plain_file_name(bad), "{bad}");
        }
    }

    #[test]
    fn module_keys() {
        for good in [
            "github.com/pkg/errors@v0.9.1",
            "golang.org/x/mod@v0.17.0",
            "gopkg.in/yaml.v3@v3.0.1",
            "github.com/x/y@v2.0.0+incompatible",
            "golang.org/x/sys@v0.0.0-20191109021931-daa7c04131f5",
            "example.com/m@v1.0.0-rc.1",
        ] {
            assert_eq!(module_key_problem(good), None, "{good}");
        }
        for bad in [
            "github.com/pkg/errors",
            "github.com/pkg/errors@0.9.1",
            "github.com/pkg/errors@v0.9",
            "github.com/pkg/errors@v0.9.1/go.mod",
            "@v1.0.0",
            "errors@v1.0.0",
            "GitHub.com/x@v1.0.0",
            "github.com//x@v1.0.0",
            "github.com/../x@v1.0.0",
            "github.com/x@v1.0.0@v1.0.0",
            "github.com/x@v01.0.0",
        ] {
            assert!(module_key_problem(bad).is_some(), "{bad}");
        }
    }
}
