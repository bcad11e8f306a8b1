//! Before anything changes: does every artifact the plan fetches have a
//! source that can give it?
//!
//! The plan stays pure; this stage looks at the sources its actions carry.
//! A local source (a directory, a `file://` URL, `--archive`, a bundle
//! unpacked) is checked with `stat` only: the file is there, is a file,
//! and has the locked size where golock.toml records one (archives). An
//! HTTP source is not contacted unless asked (`plan --refresh`); then one
//! HEAD request per artifact says whether it is there (404 and 410 are
//! not). A toolchain archive already in golock's content-addressed cache
//! needs no source. Every artifact without a usable source is reported,
//! each with every source tried and why it is not usable.

use std::path::Path;

use crate::fetch::{self, Client, Head, ModFile, Source};
use crate::fsx;
use crate::host::layout::Layout;
use crate::modcache;
use crate::plan::{Action, Plan};

/// Artifacts of a plan that no source can provide.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[error("{}", missing_text(missing))]
#[diagnostic(
    code(golock::sources::unavailable),
    help(
        "nothing was changed. Give each artifact a source: the Go archive in a directory or URL of \
         [go] mirrors (or --archive PATH), modules in [modules] proxies (or --proxy URL, or \
         --from-cache DIR for a module cache at hand), or everything from an offline bundle with \
         --bundle FILE"
    )
)]
pub struct SourcesError {
    pub missing: Vec<Missing>,
}

/// One artifact no source can provide.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Missing {
    /// What it is: `go1.27.3 archive go1.27.3.linux-amd64.tar.gz`,
    /// `module corp.example/m@v1.0.0`.
    pub artifact: String,
    /// (source, why it is not usable), in the order tried.
    pub tried: Vec<(String, String)>,
    /// What to say when `tried` is empty.
    pub none_configured: &'static str,
}

fn missing_text(missing: &[Missing]) -> String {
    let mut text = match missing.len() {
        1 => "no usable source for 1 artifact of the plan:".to_string(),
        n => format!("no usable source for {n} artifacts of the plan:"),
    };
    for m in missing {
        text.push_str(&format!("\n  {}:", m.artifact));
        if m.tried.is_empty() {
            text.push_str(&format!("\n    - {}", m.none_configured));
        }
        for (source, why) in &m.tried {
            text.push_str(&format!("\n    - {source}: {why}"));
        }
    }
    text
}

/// Check the sources of every artifact `plan` fetches; `http` is the
/// client to send HEAD requests with (`None`: HTTP sources count as usable
/// without being contacted). A plan that fetches nothing probes nothing.
pub fn check_sources(
    plan: &Plan,
    layout: &Layout,
    http: Option<&Client>,
) -> Result<(), SourcesError> {
    let missing: Vec<Missing> = plan
        .actions
        .iter()
        .filter_map(|action| check_action(action, layout, http))
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(SourcesError { missing })
    }
}

fn check_action(action: &Action, layout: &Layout, http: Option<&Client>) -> Option<Missing> {
    match action {
        Action::InstallToolchain {
            version,
            file,
            sha256,
            size,
            sources,
            signed_by,
            ..
        }
        | Action::ReinstallToolchain {
            version,
            file,
            sha256,
            size,
            sources,
            signed_by,
            ..
        } => {
            let archive = Archive {
                sha256,
                size: *size,
                signed: !signed_by.is_empty(),
            };
            let tried = archive.check(sources, layout, http)?;
            Some(Missing {
                artifact: format!("go{version} archive {file}"),
                tried,
                none_configured: "golock.toml lists no [go] mirrors (and no --archive was given)",
            })
        }
        Action::AddModule {
            path,
            version,
            zip,
            sources,
            ..
        } => {
            let tried = check_module(path, version, zip.is_some(), sources, http)?;
            Some(Missing {
                artifact: format!("module {path}@{version}"),
                tried,
                none_configured: "no module source is configured (no [modules] proxies, --proxy or --from-cache)",
            })
        }
        _ => None,
    }
}

/// Why each source is unusable, or `None` as soon as one is usable.
type Tried = Option<Vec<(String, String)>>;

/// The archive golock.toml locks for the toolchain.
struct Archive<'a> {
    sha256: &'a str,
    /// 0: not recorded.
    size: u64,
    /// `[go] signing_keys` is set: a local copy counts only with its
    /// signature beside it (apply checks the signature itself).
    signed: bool,
}

impl Archive<'_> {
    fn check(&self, sources: &[Source], layout: &Layout, http: Option<&Client>) -> Tried {
        let is_digest =
            self.sha256.len() == 64 && self.sha256.bytes().all(|b| b.is_ascii_hexdigit());
        if is_digest && self.local(&layout.archive_cache(self.sha256)).is_ok() {
            return None;
        }
        let mut tried = Vec::new();
        for source in sources {
            let verdict = match source {
                Source::Local(path) => self.local(path),
                Source::Http(url) => match http {
                    Some(client) => remote_file(client, url, self.size),
                    None => Ok(()),
                },
            };
            match verdict {
                Ok(()) => return None,
                Err(why) => tried.push((source.describe(), why)),
            }
        }
        Some(tried)
    }

    /// A local copy of the locked size, with its signature when one is needed.
    fn local(&self, path: &Path) -> Result<(), String> {
        local_file(path, self.size)?;
        let signature = crate::signing::signature_paths(path);
        if self.signed && !signature.iter().any(|p| p.is_file()) {
            return Err(
                "has no signature beside it (.asc or .sig), which [go] signing_keys requires"
                    .to_string(),
            );
        }
        Ok(())
    }
}

/// A module needs its `.mod` and, when its zip is locked, its `.zip` from
/// one source (apply takes a module whole from the first source that has it).
fn check_module(
    path: &str,
    version: &str,
    has_zip: bool,
    sources: &[Source],
    http: Option<&Client>,
) -> Tried {
    let escaped =
        modcache::escape_path(path).and_then(|p| Ok((p, modcache::escape_version(version)?)));
    let (esc_path, esc_version) = match escaped {
        Ok(e) => e,
        Err(e) => return Some(vec![(format!("{path}@{version}"), e.to_string())]),
    };
    let rel = |f| fetch::proxy_rel_path(&esc_path, &esc_version, f);
    let needed: Vec<String> = match has_zip {
        true => vec![rel(ModFile::Mod), rel(ModFile::Zip)],
        false => vec![rel(ModFile::Mod)],
    };
    let mut tried = Vec::new();
    for source in sources {
        let verdict = match source {
            Source::Local(root) => local_tree(root, &needed),
            Source::Http(base) => match http {
                // The zip (else the .mod) stands for the module: one HEAD.
                Some(client) => needed.last().map_or(Ok(()), |rel| {
                    remote_file(client, &fetch::http_url(base, rel), 0)
                }),
                None => Ok(()),
            },
        };
        match verdict {
            Ok(()) => return None,
            Err(why) => tried.push((source.describe(), why)),
        }
    }
    Some(tried)
}

/// A GOPROXY directory holding every file of `needed`.
fn local_tree(root: &Path, needed: &[String]) -> Result<(), String> {
    match fsx::metadata_opt(root) {
        Ok(Some(m)) if m.is_dir() => {}
        Ok(Some(_)) => return Err("is not a directory".to_string()),
        Ok(None) => return Err("does not exist".to_string()),
        Err(e) => return Err(e.source.to_string()),
    }
    for rel in needed {
        local_file(&fetch::dir_file(root, rel), 0).map_err(|why| format!("{rel} {why}"))?;
    }
    Ok(())
}

/// A regular file (through symlinks) of `size` bytes (0: any size).
fn local_file(path: &Path, size: u64) -> Result<(), String> {
    match fsx::metadata_opt(path) {
        Ok(Some(m)) if !m.is_file() => Err("is not a file".to_string()),
        Ok(Some(m)) if size != 0 && m.len() != size => {
            Err(format!("is {} bytes, golock.toml says {size}", m.len()))
        }
        Ok(Some(_)) => Ok(()),
        Ok(None) => Err("not found".to_string()),
        Err(e) if e.kind() == std::io::ErrorKind::NotADirectory => Err("not found".to_string()),
        Err(e) => Err(e.source.to_string()),
    }
}

/// One HEAD request: there, and of `size` bytes when both are known.
fn remote_file(client: &Client, url: &str, size: u64) -> Result<(), String> {
    let http = client.http().map_err(|e| e.to_string())?;
    match http.head(url) {
        Ok(Head::Found { length: Some(n) }) if size != 0 && n != size => {
            Err(format!("announces {n} bytes, golock.toml says {size}"))
        }
        Ok(Head::Found { .. }) => Ok(()),
        Ok(Head::Missing { status }) => Err(format!("not found (HTTP {status})")),
        Err(e) => Err(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_local_file_is_checked_by_stat_and_locked_size() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("go.tar.gz");
        fsx::write(&file, b"12345").unwrap();
        assert_eq!(local_file(&file, 0), Ok(()));
        assert_eq!(local_file(&file, 5), Ok(()));
        assert_eq!(
            local_file(&file, 6),
            Err("is 5 bytes, golock.toml says 6".to_string())
        );
        assert_eq!(
            local_file(&tmp.path().join("nope"), 0),
            Err("not found".to_string())
        );
        assert_eq!(
            local_file(&file.join("below-a-file"), 0),
            Err("not found".to_string())
        );
        assert_eq!(local_file(tmp.path(), 0), Err("is not a file".to_string()));
    }

    #[test]
    fn a_module_needs_every_file_from_one_tree() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("a.example/m/@v");
        fsx::create_dir_all(&dir).unwrap();
        fsx::write(dir.join("v1.0.0.mod"), b"module a.example/m\n").unwrap();
        let tree = Source::Local(tmp.path().to_path_buf());
        let gone = Source::Local(tmp.path().join("gone"));
        assert_eq!(
            check_module(
                "a.example/m",
                "v1.0.0",
                false,
                std::slice::from_ref(&tree),
                None
            ),
            None
        );
        let tried = check_module("a.example/m", "v1.0.0", true, &[gone, tree], None).unwrap();
        assert_eq!(tried.len(), 2);
        assert_eq!(tried[0].1, "does not exist");
        assert_eq!(tried[1].1, "a.example/m/@v/v1.0.0.zip not found");
        // Not contacted without a client: taken as usable.
        let http = Source::Http("https://proxy.example".to_string());
        assert_eq!(
            check_module("a.example/m", "v1.0.0", true, &[http], None),
            None
        );
    }

    #[test]
    fn an_artifact_without_sources_says_none_is_configured() {
        let text = missing_text(&[Missing {
            artifact: "module a.example/m@v1.0.0".to_string(),
            tried: Vec::new(),
            none_configured: "no module source is configured",
        }]);
        assert_eq!(
            text,
            "no usable source for 1 artifact of the plan:\n  module a.example/m@v1.0.0:\n    - no module source is configured"
        );
    }
}
