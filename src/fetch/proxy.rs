//! The GOPROXY protocol as golock needs it: the file layout
//! `<esc_path>/@v/<esc_version>.info|.mod|.zip` and `<esc_path>/@v/list`,
//! and how a relative file name becomes a URL or a path, the way cmd/go's
//! `modfetch/proxy.go` and `web` package do it.

use std::path::{Component, Path, PathBuf};

use super::FetchError;

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
pub fn dir_file(root: &Path, rel: &str) -> PathBuf {
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
pub fn http_url(base: &str, rel: &str) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;

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
