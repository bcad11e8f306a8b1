//! Where golock's writes really land, and which of its paths may not overlap.
//!
//! A profile file or the go env file may be a symlink (a dotfiles repo), but
//! what it resolves to must stay inside the home golock was given: a link
//! (dangling or not) to `/etc/…` would otherwise make golock create dirs and
//! files anywhere. And the places golock writes — its data dir, GOMODCACHE,
//! `[go] link`, the profile files, the go env file — must not lie inside one
//! another: a GOMODCACHE under `<root>/toolchains` would have `--prune`
//! delete modules as stale toolchains.

use std::ffi::OsString;
use std::path::{Component, Path, PathBuf};

use super::HostError;
use crate::fsx;

/// Symlinks followed before giving up, as the kernel's ELOOP limit.
const MAX_LINKS: usize = 40;

/// The real location of `path`, following symlinks as a write would: its
/// longest existing prefix resolved (`canonicalize`), a dangling link on the
/// way replaced by its target, then the rest, which does not exist yet and
/// so holds no links.
pub fn real_location(path: &Path) -> PathBuf {
    let mut current = path.to_path_buf();
    for _ in 0..MAX_LINKS {
        match resolve_once(&current) {
            Ok(done) => return done,
            Err(again) => current = again,
        }
    }
    normalize(&current)
}

/// Where a symlink golock manages lives: its directory resolved, its own
/// name kept (following it would land in the toolchain it points to).
pub fn link_location(link: &Path) -> PathBuf {
    match link.file_name() {
        Some(name) => real_location(crate::fsx::parent_of(link)).join(name),
        None => real_location(link),
    }
}

/// `Ok`: resolved; `Err`: a dangling link or a `..` was rewritten, go again.
fn resolve_once(path: &Path) -> Result<PathBuf, PathBuf> {
    let mut existing = path.to_path_buf();
    let mut rest: Vec<OsString> = Vec::new();
    loop {
        if let Ok(real) = fsx::canonicalize(&existing) {
            return Ok(normalize(&joined(real, &rest)));
        }
        if let Ok(target) = fsx::read_link(&existing) {
            let parent = existing.parent().unwrap_or(Path::new("/"));
            return Err(joined(parent.join(target), &rest));
        }
        match (existing.file_name(), existing.parent()) {
            (Some(name), Some(parent)) => {
                rest.push(name.to_os_string());
                existing = parent.to_path_buf();
            }
            // Ends in `..` below something missing: lexical is all there is.
            (None, Some(_)) => return Err(joined(normalize(&existing), &rest)),
            _ => return Ok(normalize(&joined(existing, &rest))),
        }
    }
}

/// `base` with the reversed-collected `rest` appended.
fn joined(mut base: PathBuf, rest: &[OsString]) -> PathBuf {
    for part in rest.iter().rev() {
        base.push(part);
    }
    base
}

/// `.` and `..` removed without looking at the filesystem.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// A managed file whose real location leaves the home it is listed under.
pub fn check_inside_home(listed: &Path, real: &Path, home: &Path) -> Result<(), HostError> {
    let real_home = real_location(home);
    let listed_in_home = normalize(listed).starts_with(normalize(home));
    // A file listed outside home (only $GOENV can do that) is refused only
    // when it is a link that leads somewhere else.
    let ok = if listed_in_home {
        real.starts_with(&real_home)
    } else {
        *real == real_location(listed)
    };
    if ok {
        return Ok(());
    }
    Err(HostError::LinkLeavesHome {
        path: listed.to_path_buf(),
        real: real.to_path_buf(),
        home: home.to_path_buf(),
    })
}

/// One place golock writes, named for messages, and where it really is.
pub struct Place {
    pub what: String,
    pub path: PathBuf,
    real: PathBuf,
}

impl Place {
    pub fn new(what: impl Into<String>, path: &Path) -> Place {
        Place {
            what: what.into(),
            path: path.to_path_buf(),
            real: real_location(path),
        }
    }

    /// A symlink golock switches: the link itself, not its target.
    pub fn link(what: impl Into<String>, path: &Path) -> Place {
        Place {
            real: link_location(path),
            ..Place::new(what, path)
        }
    }
}

/// No place may equal or contain another; GOMODCACHE may not be `/` or home.
pub fn check_no_overlap(
    places: &[Place],
    gomodcache: Option<&Path>,
    home: &Path,
) -> Result<(), HostError> {
    if let Some(cache) = gomodcache {
        let real = real_location(cache);
        if real.parent().is_none() || real == real_location(home) {
            return Err(HostError::CacheTooWide {
                cache: cache.to_path_buf(),
            });
        }
    }
    for (i, a) in places.iter().enumerate() {
        for b in places.iter().skip(i + 1) {
            let (ra, rb) = (&a.real, &b.real);
            let (inner, outer) = if rb.starts_with(ra) {
                (b, a)
            } else if ra.starts_with(rb) {
                (a, b)
            } else {
                continue;
            };
            return Err(HostError::Overlap {
                inner: inner.what.clone(),
                inner_path: inner.path.clone(),
                outer: outer.what.clone(),
                outer_path: outer.path.clone(),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_location_resolves_the_existing_prefix_only() {
        let tmp = tempfile::tempdir().unwrap();
        let base = fsx::canonicalize(tmp.path()).unwrap();
        fsx::create_dir(base.join("dots")).unwrap();
        fsx::symlink(base.join("dots"), base.join("link")).unwrap();
        assert_eq!(
            real_location(&base.join("link/missing/x")),
            base.join("dots/missing/x")
        );
        assert_eq!(real_location(&base.join("a/../b")), base.join("b"));
        // A dangling link resolves to where it points, also on the way.
        fsx::symlink("/nonexistent-golock/x", base.join("dangling")).unwrap();
        assert_eq!(
            real_location(&base.join("dangling")),
            Path::new("/nonexistent-golock/x")
        );
        assert_eq!(
            real_location(&base.join("dangling/y")),
            Path::new("/nonexistent-golock/x/y")
        );
        fsx::symlink("../dots/f", base.join("dots/rel")).unwrap();
        assert_eq!(real_location(&base.join("link/rel")), base.join("dots/f"));
    }

    #[test]
    fn overlapping_places_are_named_inner_first() {
        let places = [
            Place::new("golock's data dir", Path::new("/srv/golock")),
            Place::new("GOMODCACHE", Path::new("/srv/golock/toolchains/mod")),
        ];
        let err = check_no_overlap(&places, None, Path::new("/home/u")).unwrap_err();
        let text = err.to_string();
        assert!(
            text.starts_with(
                "GOMODCACHE /srv/golock/toolchains/mod lies inside golock's data dir /srv/golock"
            ),
            "{text}"
        );
        let apart = [
            Place::new("a", Path::new("/srv/golock")),
            Place::new("b", Path::new("/srv/golockx")),
        ];
        assert!(check_no_overlap(&apart, None, Path::new("/home/u")).is_ok());
        // A link pointing into the data dir is not inside it.
        let tmp = tempfile::tempdir().unwrap();
        let base = fsx::canonicalize(tmp.path()).unwrap();
        fsx::create_dir_all(base.join("root/toolchains/go1")).unwrap();
        fsx::symlink(base.join("root/toolchains/go1"), base.join("go")).unwrap();
        let places = [
            Place::new("golock's data dir", &base.join("root")),
            Place::link("[go] link", &base.join("go")),
        ];
        assert!(check_no_overlap(&places, None, Path::new("/home/u")).is_ok());
        for wide in ["/", "/home/u"] {
            let err = check_no_overlap(&[], Some(Path::new(wide)), Path::new("/home/u"));
            assert!(matches!(err, Err(HostError::CacheTooWide { .. })), "{wide}");
        }
    }
}
