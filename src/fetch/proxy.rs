//! The GOPROXY protocol as golock needs it: what a module source is
//! (`file://` URL, directory, or http(s) base URL), the file layout
//! `<esc_path>/@v/<esc_version>.info|.mod|.zip` and `<esc_path>/@v/list`,
//! and how a relative file name becomes a URL or a path, the way cmd/go's
//! `modfetch/proxy.go` and `web` package do it.

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::path::{Component, Path, PathBuf};

use super::FetchError;

/// One place to get module files from, tried in the order given.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ModuleSource {
    /// A GOPROXY file tree on disk (`file://` URL or path), which is also
    /// what `<GOMODCACHE>/cache/download` is.
    Dir(PathBuf),
    /// Base URL of a GOPROXY server, without a trailing slash.
    Http(String),
}

impl ModuleSource {
    /// Parse a source as written in configuration: an `http://` or
    /// `https://` base URL, a `file://` URL (percent-decoded, host empty or
    /// `localhost`, as cmd/go accepts), or a directory path, relative paths
    /// being taken from `base_dir`. A string without `://` is always a path:
    /// unlike cmd/go, golock does not guess `https://` for `host/path`.
    pub fn parse(s: &str, base_dir: &Path) -> Result<ModuleSource, FetchError> {
        let input = s.trim();
        let bad = |reason: &str| FetchError::BadSource {
            input: redact_url(input),
            reason: reason.to_string(),
        };
        if input.is_empty() {
            return Err(bad("empty"));
        }
        if matches!(input, "off" | "direct" | "noproxy") {
            return Err(bad(
                "cmd/go keywords are not sources; golock needs a mirror URL or directory",
            ));
        }
        let Some((scheme, rest)) = input.split_once("://") else {
            return Ok(ModuleSource::Dir(base_dir.join(input)));
        };
        match scheme.to_ascii_lowercase().as_str() {
            "file" => parse_file_url(rest)
                .map(ModuleSource::Dir)
                .map_err(|r| bad(&r)),
            "http" | "https" => parse_http_base(input)
                .map(ModuleSource::Http)
                .map_err(|r| bad(&r)),
            _ => Err(bad("unsupported scheme (use http, https, file or a path)")),
        }
    }

    /// A short human description, with any credentials in a URL hidden.
    pub fn describe(&self) -> String {
        match self {
            ModuleSource::Dir(p) => p.display().to_string(),
            ModuleSource::Http(u) => redact_url(u),
        }
    }
}

/// The three files of a module version.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ModFile {
    Info,
    Mod,
    Zip,
}

impl ModFile {
    pub fn extension(self) -> &'static str {
        match self {
            ModFile::Info => "info",
            ModFile::Mod => "mod",
            ModFile::Zip => "zip",
        }
    }
}

/// `<esc_path>/@v/<esc_version>.<ext>`, from an ALREADY-ESCAPED module path
/// and version (Go's `!`-lowercase case encoding is the caller's job).
pub fn proxy_rel_path(esc_path: &str, esc_version: &str, file: ModFile) -> String {
    format!("{esc_path}/@v/{esc_version}.{}", file.extension())
}

/// `<esc_path>/@v/list`: the known versions of a module, one per line.
pub fn list_rel_path(esc_path: &str) -> String {
    format!("{esc_path}/@v/list")
}

/// Refuse relative file names that could leave a source's tree.
pub(crate) fn check_rel(rel: &str) -> Result<(), FetchError> {
    let bad = |reason: &str| FetchError::BadUrl {
        url: rel.to_string(),
        reason: reason.to_string(),
    };
    if rel.is_empty() || rel.starts_with('/') || rel.contains('\\') || rel.contains('\0') {
        return Err(bad("not a relative GOPROXY file name"));
    }
    if rel
        .split('/')
        .any(|seg| seg.is_empty() || seg == "." || seg == "..")
    {
        return Err(bad("empty, '.' or '..' path element"));
    }
    Ok(())
}

/// The file under a directory source for `rel` (already checked).
pub(crate) fn dir_file(root: &Path, rel: &str) -> PathBuf {
    let mut path = root.to_path_buf();
    path.extend(
        Path::new(rel)
            .components()
            .filter(|c| matches!(c, Component::Normal(_))),
    );
    path
}

/// The URL of `rel` under an http(s) base: the base without its trailing
/// slash, `/`, then `rel` percent-escaped like Go's `url.PathEscape` per
/// element (so `!` goes out as `%21`, as cmd/go sends it).
pub(crate) fn http_url(base: &str, rel: &str) -> String {
    format!("{}/{}", base.trim_end_matches('/'), path_escape(rel))
}

/// Go's `url.PathEscape` applied to each `/`-separated element.
pub(crate) fn path_escape(rel: &str) -> String {
    let mut out = String::with_capacity(rel.len());
    for b in rel.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~$&+:=@/".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Hide the password of `scheme://user:pass@host/...`.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split(':').next().unwrap_or_default();
            format!("{scheme}://{user}:xxxxx@{host}{tail}")
        }
        None => url.to_string(),
    }
}

fn parse_http_base(url: &str) -> Result<String, String> {
    if url.contains(['?', '#']) {
        return Err("a GOPROXY base URL has no query or fragment".into());
    }
    let uri: ureq::http::Uri = url.parse().map_err(|e| format!("{e}"))?;
    match uri.host() {
        Some(h) if !h.is_empty() => Ok(url.trim_end_matches('/').to_string()),
        _ => Err("missing host".into()),
    }
}

/// The path of a `file://` URL (the part after `file://`): host empty or
/// `localhost`, no query or fragment, percent-decoded, absolute.
fn parse_file_url(rest: &str) -> Result<PathBuf, String> {
    let (host, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    if !(host.is_empty() || host.eq_ignore_ascii_case("localhost")) {
        return Err("file URL specifies non-local host".into());
    }
    if path.contains(['?', '#']) {
        return Err("file URL with non-path elements".into());
    }
    if path.is_empty() {
        return Err("file URL has no path".into());
    }
    let bytes = percent_decode(path)?;
    Ok(PathBuf::from(OsString::from_vec(bytes)))
}

fn percent_decode(s: &str) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(s.len());
    let mut bytes = s.bytes();
    while let Some(b) = bytes.next() {
        if b != b'%' {
            out.push(b);
            continue;
        }
        let hi = bytes.next().and_then(hex_val);
        let lo = bytes.next().and_then(hex_val);
        match (hi, lo) {
            (Some(h), Some(l)) => out.push((h << 4) | l),
            _ => return Err("invalid percent-escape".into()),
        }
    }
    if out.contains(&0) {
        return Err("path contains NUL".into());
    }
    Ok(out)
}

fn hex_val(b: u8) -> Option<u8> {
    char::from(b)
        .to_digit(16)
        .and_then(|d| u8::try_from(d).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<ModuleSource, FetchError> {
        ModuleSource::parse(s, Path::new("/base"))
    }

    #[test]
    fn rel_paths_follow_the_goproxy_layout() {
        assert_eq!(
            proxy_rel_path("github.com/!azure/go", "v1.2.3", ModFile::Info),
            "github.com/!azure/go/@v/v1.2.3.info"
        );
        assert_eq!(
            proxy_rel_path("x.io/m", "v0.0.0-2020-abc", ModFile::Mod),
            "x.io/m/@v/v0.0.0-2020-abc.mod"
        );
        assert_eq!(
            proxy_rel_path("x.io/m", "v2.0.0+incompatible", ModFile::Zip),
            "x.io/m/@v/v2.0.0+incompatible.zip"
        );
        assert_eq!(list_rel_path("x.io/m"), "x.io/m/@v/list");
    }

    #[test]
    fn sources_parse_urls_and_paths() {
        assert_eq!(
            parse("https://p.example/go/").unwrap(),
            ModuleSource::Http("https://p.example/go".into())
        );
        assert_eq!(
            parse(" http://p.example ").unwrap(),
            ModuleSource::Http("http://p.example".into())
        );
        assert_eq!(
            parse("file:///srv/go%20mods/").unwrap(),
            ModuleSource::Dir("/srv/go mods/".into())
        );
        assert_eq!(
            parse("file://localhost/srv/m").unwrap(),
            ModuleSource::Dir("/srv/m".into())
        );
        assert_eq!(
            parse("mirror/dir").unwrap(),
            ModuleSource::Dir("/base/mirror/dir".into())
        );
        assert_eq!(parse("/abs").unwrap(), ModuleSource::Dir("/abs".into()));
        for bad in [
            "",
            "off",
            "direct",
            "ftp://x/y",
            "file://host/x",
            "file:///x?y",
            "file:///x%zz",
            "https://",
            "https://h/x?q",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn urls_join_and_escape_like_cmd_go() {
        assert_eq!(
            http_url("https://h/p/", "a/!b/@v/v1.0.0.zip"),
            "https://h/p/a/%21b/@v/v1.0.0.zip"
        );
        assert_eq!(
            http_url("https://h/p", "a/@v/v1.0.0+incompatible.mod"),
            "https://h/p/a/@v/v1.0.0+incompatible.mod"
        );
        assert_eq!(path_escape("a b,c;d?e#f%"), "a%20b%2Cc%3Bd%3Fe%23f%25");
    }

    #[test]
    fn credentials_are_redacted() {
        assert_eq!(redact_url("https://u:secret@h/p"), "https://u:xxxxx@h/p");
        assert_eq!(redact_url("https://h/p@x"), "https://h/p@x");
        let s = parse("https://u:secret@h/p").unwrap();
        assert!(!s.describe().contains("secret"));
    }

    #[test]
    fn rel_names_cannot_escape_the_tree() {
        assert!(check_rel("a/@v/v1.0.0.zip").is_ok());
        for bad in ["", "/a", "a/../b", "a//b", "./a", "a\\b"] {
            assert!(check_rel(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            dir_file(Path::new("/r"), "a/@v/list"),
            PathBuf::from("/r/a/@v/list")
        );
    }
}
