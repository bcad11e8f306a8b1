//! Module path and file path validity, and the case-escaping used for
//! module cache and proxy paths. Mirrors `golang.org/x/mod/module`
//! (`CheckPath`, `CheckImportPath`, `CheckFilePath`, `SplitPathVersion`,
//! `CheckPathMajor`, `EscapePath`, `EscapeVersion`, `UnescapePath`,
//! `UnescapeVersion`).
//!
//! Inputs are `&str`, so the "invalid UTF-8" rule of upstream `checkPath`
//! is enforced by the type; zip entry names are decoded with
//! [`std::str::from_utf8`] before they reach these checks.

use super::error::ModError;

/// Which of the three path grammars is being checked (x/mod `pathKind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PathKind {
    Module,
    Import,
    File,
}

impl PathKind {
    fn noun(self) -> &'static str {
        match self {
            PathKind::Module => "module",
            PathKind::Import => "import",
            PathKind::File => "file",
        }
    }
}

/// Reserved file names on Windows (x/mod `badWindowsNames`).
const BAD_WINDOWS_NAMES: [&str; 22] = [
    "CON", "PRN", "AUX", "NUL", "COM1", "COM2", "COM3", "COM4", "COM5", "COM6", "COM7", "COM8",
    "COM9", "LPT1", "LPT2", "LPT3", "LPT4", "LPT5", "LPT6", "LPT7", "LPT8", "LPT9",
];

/// x/mod `firstPathOK`: the first element is a lower-case LDH domain name.
fn first_path_ok(c: char) -> bool {
    c == '-' || c == '.' || c.is_ascii_digit() || c.is_ascii_lowercase()
}

/// x/mod `modPathOK`: ASCII letters, digits and `- . _ ~`.
fn mod_path_ok(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '~')
}

/// x/mod `importPathOK`: module path characters plus `+`.
fn import_path_ok(c: char) -> bool {
    mod_path_ok(c) || c == '+'
}

/// x/mod `fileNameOK`: ASCII letters and digits, some punctuation, space,
/// and any Unicode letter.
///
/// Go uses `unicode.IsLetter` (general category L). std has no category
/// table, so non-ASCII letters are approximated by "alphabetic and not
/// numeric" (which drops letter-numbers such as U+216B). This still accepts
/// a few combining marks that carry the Alphabetic property; such names do
/// not occur in module zips written by the go command.
fn file_name_ok(c: char) -> bool {
    if c.is_ascii() {
        const ALLOWED: &str = "!#$%&()+,-.=@[]^_{}~ ";
        return c.is_ascii_alphanumeric() || ALLOWED.contains(c);
    }
    c.is_alphabetic() && !c.is_numeric()
}

fn kind_ok(kind: PathKind, c: char) -> bool {
    match kind {
        PathKind::Module => mod_path_ok(c),
        PathKind::Import => import_path_ok(c),
        PathKind::File => file_name_ok(c),
    }
}

/// x/mod `checkPath`: the rules shared by module, import and file paths.
/// Returns the bare reason; callers wrap it with the path and kind.
fn check_path_kind(path: &str, kind: PathKind) -> Result<(), String> {
    if path.is_empty() {
        return Err("empty string".into());
    }
    if path.starts_with('-') && kind != PathKind::File {
        return Err("leading dash".into());
    }
    if path.contains("//") {
        return Err("double slash".into());
    }
    if path.ends_with('/') {
        return Err("trailing slash".into());
    }
    path.split('/').try_for_each(|elem| check_elem(elem, kind))
}

/// x/mod `checkElem`: one slash-free element of a path.
fn check_elem(elem: &str, kind: PathKind) -> Result<(), String> {
    if elem.is_empty() {
        return Err("empty path element".into());
    }
    if elem.bytes().all(|b| b == b'.') {
        return Err(format!("invalid path element {elem:?}"));
    }
    if elem.starts_with('.') && kind == PathKind::Module {
        return Err("leading dot in path element".into());
    }
    if elem.ends_with('.') {
        return Err("trailing dot in path element".into());
    }
    if let Some(c) = elem.chars().find(|&c| !kind_ok(kind, c)) {
        return Err(format!("invalid char {c:?}"));
    }
    // Windows disallows a bunch of path elements, compared up to the first dot.
    let short = elem.split('.').next().unwrap_or(elem);
    if BAD_WINDOWS_NAMES
        .iter()
        .any(|bad| bad.eq_ignore_ascii_case(short))
    {
        return Err(format!(
            "{short:?} disallowed as path element component on Windows"
        ));
    }
    if kind == PathKind::File {
        // Windows short names only matter for import paths.
        return Ok(());
    }
    if let Some(tilde) = short.rfind('~')
        && tilde < short.len() - 1
        && short[tilde + 1..].bytes().all(|b| b.is_ascii_digit())
    {
        return Err("trailing tilde and digits in path element".into());
    }
    Ok(())
}

fn invalid_path(kind: PathKind, path: &str, reason: String) -> ModError {
    ModError::InvalidPath {
        kind: kind.noun(),
        path: path.to_string(),
        reason,
    }
}

/// Checks that `path` is a valid module path (x/mod `module.CheckPath`):
/// a valid import path whose first element is a lower-case domain name with
/// a dot, with no leading dots in elements and a well-formed `/vN` or
/// gopkg.in `.vN` suffix.
pub fn check_path(path: &str) -> Result<(), ModError> {
    check_module_path(path).map_err(|r| invalid_path(PathKind::Module, path, r))
}

fn check_module_path(path: &str) -> Result<(), String> {
    check_path_kind(path, PathKind::Module)?;
    let first = path.split('/').next().unwrap_or(path);
    if first.is_empty() {
        return Err("leading slash".into());
    }
    if !first.contains('.') {
        return Err("missing dot in first path element".into());
    }
    if path.starts_with('-') {
        return Err("leading dash in first path element".into());
    }
    if let Some(c) = first.chars().find(|&c| !first_path_ok(c)) {
        return Err(format!("invalid char {c:?} in first path element"));
    }
    if split_path_version(path).is_none() {
        return Err("invalid version".into());
    }
    Ok(())
}

/// Checks that `path` is a valid package import path
/// (x/mod `module.CheckImportPath`).
pub fn check_import_path(path: &str) -> Result<(), ModError> {
    check_path_kind(path, PathKind::Import).map_err(|r| invalid_path(PathKind::Import, path, r))
}

/// Checks that `path` is a valid slash-separated file path inside a module
/// (x/mod `module.CheckFilePath`).
pub fn check_file_path(path: &str) -> Result<(), ModError> {
    check_path_kind(path, PathKind::File).map_err(|r| invalid_path(PathKind::File, path, r))
}

/// Splits `path` into `(prefix, path_major)` with `prefix + path_major ==
/// path`, where `path_major` is `""`, `/vN` (N ≥ 2) or, for gopkg.in,
/// `.vN` (optionally `-unstable`). `None` when the final element looks like
/// a version but breaks the rules (`/v1`, `/v0`, `/v2.0`, `/v02`)
/// (x/mod `module.SplitPathVersion`).
pub fn split_path_version(path: &str) -> Option<(&str, &str)> {
    if path.starts_with("gopkg.in/") {
        return split_gopkg_in(path);
    }
    let b = path.as_bytes();
    let mut i = b.len();
    let mut dot = false;
    while i > 0 && (b[i - 1].is_ascii_digit() || b[i - 1] == b'.') {
        dot |= b[i - 1] == b'.';
        i -= 1;
    }
    if i <= 1 || i == b.len() || b[i - 1] != b'v' || b[i - 2] != b'/' {
        return Some((path, ""));
    }
    let (prefix, major) = path.split_at(i - 2);
    if dot || major.len() <= 2 || major.as_bytes()[2] == b'0' || major == "/v1" {
        return None;
    }
    Some((prefix, major))
}

/// x/mod `splitGopkgIn`: gopkg.in paths always end in `.vN[-unstable]`.
fn split_gopkg_in(path: &str) -> Option<(&str, &str)> {
    let b = path.as_bytes();
    let mut i = path.strip_suffix("-unstable").unwrap_or(path).len();
    while i > 0 && b[i - 1].is_ascii_digit() {
        i -= 1;
    }
    if i <= 1 || b[i - 1] != b'v' || b[i - 2] != b'.' {
        return None;
    }
    let (prefix, major) = path.split_at(i - 2);
    if major.len() <= 2 || (major.as_bytes()[2] == b'0' && major != ".v0") {
        return None;
    }
    Some((prefix, major))
}

/// Returns the escaped form of a module path: each upper-case ASCII letter
/// becomes `!` plus its lower-case form. Fails if the path is not a valid
/// module path (x/mod `module.EscapePath`).
pub fn escape_path(path: &str) -> Result<String, ModError> {
    check_path(path)?;
    Ok(escape_string(path))
}

/// Returns the escaped form of a version. Versions need not be semver but
/// must be valid file-name elements without `!` (x/mod `module.EscapeVersion`).
pub fn escape_version(v: &str) -> Result<String, ModError> {
    if let Err(e) = check_elem(v, PathKind::File) {
        return Err(disallowed_version(v, e));
    }
    if v.contains('!') {
        return Err(disallowed_version(v, "contains '!'".into()));
    }
    if !v.is_ascii() {
        // escape_string relies on ASCII input; a non-ASCII version would not
        // round-trip through UnescapeVersion either.
        return Err(disallowed_version(v, "non-ASCII character".into()));
    }
    Ok(escape_string(v))
}

fn disallowed_version(v: &str, detail: String) -> ModError {
    ModError::InvalidVersion {
        path: String::new(),
        version: v.to_string(),
        reason: format!("disallowed version string ({detail})"),
    }
}

/// x/mod `escapeString`, for input already known to be ASCII without `!`.
fn escape_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if c.is_ascii_uppercase() {
            out.push('!');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// Returns the module path for an escaped path; fails if the escaping is
/// malformed or the result is not a valid module path
/// (x/mod `module.UnescapePath`).
pub fn unescape_path(escaped: &str) -> Result<String, ModError> {
    let bad = |reason: Option<String>| ModError::InvalidEscape {
        what: "path",
        escaped: escaped.to_string(),
        reason,
    };
    let path = unescape_string(escaped).ok_or_else(|| bad(None))?;
    check_module_path(&path).map_err(|r| bad(Some(r)))?;
    Ok(path)
}

/// Returns the version for an escaped version (x/mod `module.UnescapeVersion`).
pub fn unescape_version(escaped: &str) -> Result<String, ModError> {
    let bad = |reason: Option<String>| ModError::InvalidEscape {
        what: "version",
        escaped: escaped.to_string(),
        reason,
    };
    let v = unescape_string(escaped).ok_or_else(|| bad(None))?;
    check_elem(&v, PathKind::File).map_err(|r| bad(Some(r)))?;
    Ok(v)
}

/// x/mod `unescapeString`: `!x` → `X`; bare upper case, a trailing `!`,
/// `!` before a non-letter and non-ASCII are all malformed.
fn unescape_string(escaped: &str) -> Option<String> {
    let mut out = String::with_capacity(escaped.len());
    let mut bang = false;
    for c in escaped.chars() {
        if !c.is_ascii() {
            return None;
        }
        if bang {
            bang = false;
            if !c.is_ascii_lowercase() {
                return None;
            }
            out.push(c.to_ascii_uppercase());
        } else if c == '!' {
            bang = true;
        } else if c.is_ascii_uppercase() {
            return None;
        } else {
            out.push(c);
        }
    }
    (!bang).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// x/mod module_test.go `checkPathTests`: (path, module ok, import ok, file ok).
    /// The `"x.y/\xFFz"` (invalid UTF-8) row cannot be a `&str`.
    const CHECK_PATH_TESTS: &[(&str, bool, bool, bool)] = &[
        ("x.y/z", true, true, true),
        ("x.y", true, true, true),
        ("", false, false, false),
        ("/x.y/z", false, false, false),
        ("x./z", false, false, false),
        (".x/z", false, true, true),
        ("-x/z", false, false, true),
        ("x..y/z", true, true, true),
        ("x.y/z/../../w", false, false, false),
        ("x.y//z", false, false, false),
        ("x.y/z//w", false, false, false),
        ("x.y/z/", false, false, false),
        ("x.y/z/v0", false, true, true),
        ("x.y/z/v1", false, true, true),
        ("x.y/z/v2", true, true, true),
        ("x.y/z/v2.0", false, true, true),
        ("X.y/z", false, true, true),
        ("!x.y/z", false, false, true),
        ("_x.y/z", false, true, true),
        ("x.y!/z", false, false, true),
        ("x.y\"/z", false, false, false),
        ("x.y#/z", false, false, true),
        ("x.y$/z", false, false, true),
        ("x.y%/z", false, false, true),
        ("x.y&/z", false, false, true),
        ("x.y'/z", false, false, false),
        ("x.y(/z", false, false, true),
        ("x.y)/z", false, false, true),
        ("x.y*/z", false, false, false),
        ("x.y+/z", false, true, true),
        ("x.y,/z", false, false, true),
        ("x.y-/z", true, true, true),
        ("x.y./zt", false, false, false),
        ("x.y:/z", false, false, false),
        ("x.y;/z", false, false, false),
        ("x.y</z", false, false, false),
        ("x.y=/z", false, false, true),
        ("x.y>/z", false, false, false),
        ("x.y?/z", false, false, false),
        ("x.y@/z", false, false, true),
        ("x.y[/z", false, false, true),
        ("x.y\\/z", false, false, false),
        ("x.y]/z", false, false, true),
        ("x.y^/z", false, false, true),
        ("x.y_/z", false, true, true),
        ("x.y`/z", false, false, false),
        ("x.y{/z", false, false, true),
        ("x.y}/z", false, false, true),
        ("x.y~/z", false, true, true),
        ("x.y/z!", false, false, true),
        ("x.y/z\"", false, false, false),
        ("x.y/z#", false, false, true),
        ("x.y/z$", false, false, true),
        ("x.y/z%", false, false, true),
        ("x.y/z&", false, false, true),
        ("x.y/z'", false, false, false),
        ("x.y/z(", false, false, true),
        ("x.y/z)", false, false, true),
        ("x.y/z*", false, false, false),
        ("x.y/z++", false, true, true),
        ("x.y/z,", false, false, true),
        ("x.y/z-", true, true, true),
        ("x.y/z.t", true, true, true),
        ("x.y/z/t", true, true, true),
        ("x.y/z:", false, false, false),
        ("x.y/z;", false, false, false),
        ("x.y/z<", false, false, false),
        ("x.y/z=", false, false, true),
        ("x.y/z>", false, false, false),
        ("x.y/z?", false, false, false),
        ("x.y/z@", false, false, true),
        ("x.y/z[", false, false, true),
        ("x.y/z\\", false, false, false),
        ("x.y/z]", false, false, true),
        ("x.y/z^", false, false, true),
        ("x.y/z_", true, true, true),
        ("x.y/z`", false, false, false),
        ("x.y/z{", false, false, true),
        ("x.y/z}", false, false, true),
        ("x.y/z~", true, true, true),
        ("x.y/x.foo", true, true, true),
        ("x.y/aux.foo", false, false, false),
        ("x.y/prn", false, false, false),
        ("x.y/prn2", true, true, true),
        ("x.y/com", true, true, true),
        ("x.y/com1", false, false, false),
        ("x.y/com1.txt", false, false, false),
        ("x.y/calm1", true, true, true),
        ("x.y/z~0", false, false, true),
        ("x.y/z~09", false, false, true),
        ("x.y/z09", true, true, true),
        ("x.y/z09~", true, true, true),
        ("x.y/z09~09z", true, true, true),
        ("x.y/z09~09z~09", false, false, true),
        ("github.com/!123/logrus", false, false, true),
        ("github.com/user/unicode/испытание", false, false, true),
        ("../x", false, false, false),
        ("./y", false, false, false),
        ("x:y", false, false, false),
        ("\\temp\\foo", false, false, false),
        (".gitignore", false, true, true),
        (".github/ISSUE_TEMPLATE", false, true, true),
        ("x☺y", false, false, false),
    ];

    #[test]
    fn check_path_table() {
        for &(path, ok, import_ok, file_ok) in CHECK_PATH_TESTS {
            assert_eq!(check_path(path).is_ok(), ok, "check_path({path:?})");
            assert_eq!(
                check_import_path(path).is_ok(),
                import_ok,
                "check_import_path({path:?})"
            );
            assert_eq!(
                check_file_path(path).is_ok(),
                file_ok,
                "check_file_path({path:?})"
            );
        }
    }

    #[test]
    fn split_path_version_table() {
        let cases = [
            ("x.y/z", ""),
            ("x.y/z", "/v2"),
            ("x.y/z", "/v3"),
            ("x.y/v", ""),
            ("gopkg.in/yaml", ".v0"),
            ("gopkg.in/yaml", ".v1"),
            ("gopkg.in/yaml", ".v2"),
            ("gopkg.in/yaml", ".v3"),
        ];
        for (prefix, major) in cases {
            let path = format!("{prefix}{major}");
            assert_eq!(split_path_version(&path), Some((prefix, major)), "{path}");
        }
        assert_eq!(
            split_path_version("gopkg.in/yaml.v2-unstable"),
            Some(("gopkg.in/yaml", ".v2-unstable"))
        );
        for (path, ..) in CHECK_PATH_TESTS {
            if let Some((p, m)) = split_path_version(path) {
                assert_eq!(format!("{p}{m}"), *path);
            }
        }
        assert_eq!(split_path_version("x.y/z/v1"), None);
        assert_eq!(split_path_version("gopkg.in/yaml"), None);
    }

    #[test]
    fn escape_path_table() {
        for &(path, ok, ..) in CHECK_PATH_TESTS {
            if !ok {
                assert!(escape_path(path).is_err(), "escape_path({path:?})");
            }
        }
        let cases = [
            (
                "ascii.com/abcdefghijklmnopqrstuvwxyz.-/~_0123456789",
                "ascii.com/abcdefghijklmnopqrstuvwxyz.-/~_0123456789",
            ),
            (
                "github.com/GoogleCloudPlatform/omega",
                "github.com/!google!cloud!platform/omega",
            ),
            ("gopkg.in/yaml.v2", "gopkg.in/yaml.v2"),
            (
                "github.com/BurntSushi/toml/v2",
                "github.com/!burnt!sushi/toml/v2",
            ),
        ];
        for (path, esc) in cases {
            assert_eq!(escape_path(path).unwrap(), esc);
            assert_eq!(unescape_path(esc).unwrap(), path);
        }
    }

    #[test]
    fn unescape_path_rejects() {
        let bad = [
            "github.com/GoogleCloudPlatform/omega",
            "github.com/!google!cloud!platform!/omega",
            "github.com/!0google!cloud!platform/omega",
            "github.com/!_google!cloud!platform/omega",
            "github.com/!!google!cloud!platform/omega",
            "",
        ];
        for b in bad {
            assert!(unescape_path(b).is_err(), "unescape_path({b:?})");
        }
        for &(path, ok, ..) in CHECK_PATH_TESTS {
            if !ok {
                assert!(unescape_path(path).is_err(), "unescape_path({path:?})");
            }
        }
    }

    #[test]
    fn escape_version_cases() {
        let cases = [
            ("v1.0.0", "v1.0.0"),
            ("v1.0.0-RC1", "v1.0.0-!r!c1"),
            ("v2.0.0+incompatible", "v2.0.0+incompatible"),
            (
                "v0.0.0-20191109021931-daa7c04131f5",
                "v0.0.0-20191109021931-daa7c04131f5",
            ),
        ];
        for (v, esc) in cases {
            assert_eq!(escape_version(v).unwrap(), esc);
            assert_eq!(unescape_version(esc).unwrap(), v);
        }
        for bad in ["", "v1!0", "v1/0", "..", "v1.", "CON", "v1:0", "vé"] {
            assert!(escape_version(bad).is_err(), "escape_version({bad:?})");
        }
        for bad in ["v1.0.0-RC1", "v1!", "v1.0.0-!1"] {
            assert!(unescape_version(bad).is_err(), "unescape_version({bad:?})");
        }
    }

    #[test]
    fn error_messages_name_the_path() {
        let msg = check_path("X.y/z").unwrap_err().to_string();
        assert!(
            msg.contains("\"X.y/z\"") && msg.contains("first path element"),
            "{msg}"
        );
        let msg = check_file_path("a/../b").unwrap_err().to_string();
        assert!(msg.contains("malformed file path"), "{msg}");
    }
}
