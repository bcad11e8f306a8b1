//! Where bytes come from: the one [`Source`] type of golock, used for
//! `[go] mirrors`, `[modules] proxies`, `--proxy`, `--from-cache`,
//! `--archive` and the sources a plan's actions carry, and how a source
//! written in configuration is parsed.

use std::ffi::OsString;
use std::fmt;
use std::os::unix::ffi::OsStringExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// One place to read from, tried in the order given.
///
/// In `golock.toml` and on the command line a `Local` source is a directory
/// (a mirror of archives, or a GOPROXY file tree, which is also what
/// `<GOMODCACHE>/cache/download` is); in a plan's toolchain action it is the
/// archive file itself. In plan JSON it reads `{"kind": "file", "path": …}`
/// or `{"kind": "http", "url": …}`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(from = "Tagged", into = "Tagged")]
pub enum Source {
    /// An absolute local path: from a `file://` URL or a plain path.
    Local(PathBuf),
    /// An `http://` or `https://` URL.
    Http(String),
}

/// The plan-JSON form of a [`Source`].
#[derive(Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum Tagged {
    File { path: PathBuf },
    Http { url: String },
}

impl From<Tagged> for Source {
    fn from(tagged: Tagged) -> Source {
        match tagged {
            Tagged::File { path } => Source::Local(path),
            Tagged::Http { url } => Source::Http(url),
        }
    }
}

impl From<Source> for Tagged {
    fn from(source: Source) -> Tagged {
        match source {
            Source::Local(path) => Tagged::File { path },
            Source::Http(url) => Tagged::Http { url },
        }
    }
}

/// Why a source as written is not one.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct SourceError {
    pub reason: String,
}

fn bad(reason: impl Into<String>) -> SourceError {
    SourceError {
        reason: reason.into(),
    }
}

impl Source {
    /// A GOPROXY source as written in configuration: an `http://` or
    /// `https://` base URL, a `file://` URL (percent-decoded, host empty or
    /// `localhost`, as cmd/go accepts), or a directory path, relative paths
    /// being taken from `base_dir`. A string without `://` is always a path:
    /// unlike cmd/go, golock does not guess `https://` for `host/path`.
    pub fn parse_proxy(input: &str, base_dir: &Path) -> Result<Source, SourceError> {
        let input = input.trim();
        if matches!(input, "off" | "direct" | "noproxy") {
            return Err(bad(
                "cmd/go keywords are not sources; golock needs a mirror URL or directory",
            ));
        }
        Source::parse_with(input, base_dir, parse_http_base)
    }

    /// A `[go]` mirror: as [`Source::parse_proxy`], except that an http(s)
    /// URL is kept as written, since it may be a template with `{file}`,
    /// `{version}`, `{os}` and `{arch}` in it.
    pub fn parse_mirror(input: &str, base_dir: &Path) -> Result<Source, SourceError> {
        Source::parse_with(input, base_dir, parse_http_template)
    }

    fn parse_with(
        input: &str,
        base_dir: &Path,
        http: fn(&str) -> Result<String, String>,
    ) -> Result<Source, SourceError> {
        if input.trim().is_empty() {
            return Err(bad("empty source"));
        }
        let Some((scheme, rest)) = input.split_once("://") else {
            return Ok(Source::Local(base_dir.join(input)));
        };
        match scheme.to_ascii_lowercase().as_str() {
            "file" => parse_file_url(rest).map(Source::Local).map_err(bad),
            "http" | "https" => http(input).map(Source::Http).map_err(bad),
            _ => Err(bad(
                "unsupported URL scheme; use file://, http://, https:// or a directory path",
            )),
        }
    }

    /// A short human description, with any credentials in a URL hidden.
    pub fn describe(&self) -> String {
        match self {
            Source::Local(path) => path.display().to_string(),
            Source::Http(url) => redact_url(url),
        }
    }

    pub fn is_http(&self) -> bool {
        matches!(self, Source::Http(_))
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.describe())
    }
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
        _ => Err("URL has no host".into()),
    }
}

fn parse_http_template(url: &str) -> Result<String, String> {
    let rest = url.split_once("://").map_or("", |(_, rest)| rest);
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if host.is_empty() {
        return Err("URL has no host".into());
    }
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("URL contains whitespace or control characters".into());
    }
    Ok(url.to_owned())
}

/// The path of a `file://` URL (the part after `file://`): host empty or
/// `localhost`, no query or fragment, percent-decoded, absolute.
fn parse_file_url(rest: &str) -> Result<PathBuf, String> {
    let (host, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    if !(host.is_empty() || host.eq_ignore_ascii_case("localhost")) {
        return Err("a file:// URL names a local path, as in file:///srv/mirror".into());
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

    fn proxy(s: &str) -> Result<Source, SourceError> {
        Source::parse_proxy(s, Path::new("/base"))
    }

    fn mirror(s: &str) -> Result<Source, SourceError> {
        Source::parse_mirror(s, Path::new("/base"))
    }

    #[test]
    fn proxies_parse_urls_and_paths() {
        let cases = [
            (
                "https://p.example/go/",
                Source::Http("https://p.example/go".into()),
            ),
            (
                " http://p.example ",
                Source::Http("http://p.example".into()),
            ),
            (
                "file:///srv/go%20mods/",
                Source::Local("/srv/go mods/".into()),
            ),
            ("file://localhost/srv/m", Source::Local("/srv/m".into())),
            ("mirror/dir", Source::Local("/base/mirror/dir".into())),
            ("/abs", Source::Local("/abs".into())),
        ];
        for (input, want) in cases {
            assert_eq!(proxy(input).unwrap(), want, "{input:?}");
        }
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
            assert!(proxy(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn mirrors_keep_http_templates_as_written() {
        assert_eq!(
            mirror("https://dl.example/go/{file}?x=1").unwrap(),
            Source::Http("https://dl.example/go/{file}?x=1".into())
        );
        assert_eq!(
            mirror("file://localhost/srv/go%20mirror").unwrap(),
            Source::Local("/srv/go mirror".into())
        );
        // The lockfile's diagnostics test covers the other bad mirrors.
        assert!(mirror("https:///path").is_err(), "a URL needs a host");
        let scheme = mirror("gopher://x").unwrap_err();
        assert!(scheme.reason.contains("unsupported URL scheme"), "{scheme}");
    }

    #[test]
    fn credentials_are_redacted() {
        assert_eq!(redact_url("https://u:secret@h/p"), "https://u:xxxxx@h/p");
        assert_eq!(redact_url("https://h/p@x"), "https://h/p@x");
        let s = proxy("https://u:secret@h/p").unwrap();
        assert!(!s.describe().contains("secret"));
        assert!(!s.to_string().contains("secret"));
    }

    #[test]
    fn plan_json_form_is_tagged_by_kind() {
        let sources = vec![
            Source::Local("/srv/a.tar.gz".into()),
            Source::Http("https://h/a.tar.gz".into()),
        ];
        let json = serde_json::to_string(&sources).unwrap();
        assert_eq!(
            json,
            r#"[{"kind":"file","path":"/srv/a.tar.gz"},{"kind":"http","url":"https://h/a.tar.gz"}]"#
        );
        let back: Vec<Source> = serde_json::from_str(&json).unwrap();
        assert_eq!(back, sources);
    }
}
