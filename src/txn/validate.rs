//! A journal read back from disk is untrusted input: every record is checked
//! against what this host's golock manages before any is replayed. Paths lie
//! inside the data dir, GOMODCACHE, or are exactly a listed profile file, the
//! go env file or a managed link; scratch and temp paths are the names this
//! transaction itself would have used; modes carry no setuid, setgid or
//! sticky bit; link targets lie in `<root>/toolchains`. Running as root, the
//! data dir, journal and state must be writable by root alone (sshd's
//! StrictModes).

use std::os::unix::fs::MetadataExt;
use std::path::{Component, Path, PathBuf};

use super::journal::{Parsed, Record};
use super::undo::{Installed, Undo, private_staging_name};
use crate::fsx;
use crate::host::layout::Layout;

/// What this host's golock manages, from the layout and the lockfile.
#[derive(Clone, Debug)]
pub struct Scope {
    /// The data dir: everything under it is golock's.
    pub root: PathBuf,
    /// Trees golock writes into (GOMODCACHE).
    pub trees: Vec<PathBuf>,
    /// Files golock writes exactly (profile files, the go env file).
    pub files: Vec<PathBuf>,
    /// Links golock switches (`<root>/go`, `[go] link`).
    pub links: Vec<PathBuf>,
}

impl Scope {
    /// Only the data dir: what is known without a lockfile.
    pub fn data_dir_only(layout: &Layout) -> Scope {
        Scope {
            root: layout.root.clone(),
            trees: Vec::new(),
            files: Vec::new(),
            links: vec![layout.active_link()],
        }
    }

    fn toolchains(&self) -> PathBuf {
        self.root.join("toolchains")
    }

    /// Strictly inside the data dir or a managed tree, without a symlink
    /// on the way leading out of it.
    fn in_tree(&self, path: &Path) -> bool {
        std::iter::once(&self.root)
            .chain(&self.trees)
            .any(|base| path.starts_with(base) && path != base && resolves_under(path, base))
    }

    fn is_file(&self, path: &Path) -> bool {
        self.files.iter().any(|f| f == path)
    }

    /// A directory golock may have created: inside a managed tree (or the
    /// tree itself), or an ancestor of a managed path. Only ever removed
    /// when empty.
    fn may_create(&self, dir: &Path) -> bool {
        if dir.parent().is_none() {
            return false; // `/`
        }
        let managed = std::iter::once(&self.root)
            .chain(&self.trees)
            .chain(&self.files)
            .chain(&self.links);
        self.in_tree(dir)
            || self.trees.iter().any(|t| t == dir)
            || managed.clone().any(|m| m.starts_with(dir) && m != dir)
    }
}

/// Every problem of the journal at `path`, as `line N: why`; empty when
/// every record may be replayed.
pub fn problems(path: &Path, parsed: &Parsed, scope: &Scope) -> Vec<String> {
    let mut out = Vec::new();
    let id = path
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or_default()
        .to_string();
    if !is_txn_id(&id) {
        out.push(format!(
            "the file name {id:?} is not a golock transaction id"
        ));
        return out;
    }
    let scratch = path.with_extension("d");
    let mut last_seq = 0;
    for (i, (line, record)) in parsed.records.iter().enumerate() {
        let bad = match record {
            Record::Open { id: open_id, .. } if i == 0 && *line == 1 => {
                (open_id != &id).then(|| format!("opens transaction {open_id:?}, not {id:?}"))
            }
            Record::Open { .. } => Some("a second or misplaced open record".into()),
            _ if i == 0 => Some("the first record is not the open record".into()),
            Record::Begin { seq, undo } => {
                if *seq != last_seq + 1 {
                    Some(format!("step {seq} does not follow step {last_seq}"))
                } else {
                    last_seq = *seq;
                    check_undo(undo, *seq, &id, &scratch, scope).err()
                }
            }
            Record::Done { seq } => (*seq == 0 || *seq > last_seq)
                .then(|| format!("marks step {seq} done before it began")),
            Record::Commit => (i + 1 != parsed.records.len())
                .then(|| "records follow the commit record".to_string()),
        };
        if let Some(why) = bad {
            out.push(format!("line {line}: {why}"));
        }
    }
    out
}

/// `<hex nanos>-<pid>`, as `Transaction::begin` makes it.
pub fn is_txn_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-')
        && !id.starts_with('-')
}

fn check_undo(
    undo: &Undo,
    seq: u64,
    id: &str,
    scratch: &Path,
    scope: &Scope,
) -> Result<(), String> {
    let paths: Vec<&Path> = match undo {
        Undo::RemoveTree { path, .. } => vec![path],
        Undo::MoveBack { path, saved } => vec![path, saved],
        Undo::RestoreLink {
            path,
            old,
            new,
            temp,
        } => [Some(path), old.as_ref(), Some(new), Some(temp)]
            .into_iter()
            .flatten()
            .map(PathBuf::as_path)
            .collect(),
        Undo::RestoreFile {
            path, backup, temp, ..
        } => [Some(path), backup.as_ref(), Some(temp)]
            .into_iter()
            .flatten()
            .map(PathBuf::as_path)
            .collect(),
        Undo::RemoveCreatedDirs { dirs } => dirs.iter().map(PathBuf::as_path).collect(),
        Undo::RemovePaths { paths } => paths.iter().map(|p| p.path.as_path()).collect(),
    };
    if let Some(p) = paths.iter().find(|p| !is_clean_absolute(p)) {
        return Err(format!("{} is not a clean absolute path", p.display()));
    }
    match undo {
        Undo::RemoveTree { path, .. } => {
            let toolchains = scope.toolchains();
            if fsx::parent_of(path) != toolchains || !resolves_under(path, &scope.root) {
                return Err(outside(path, "directly in <root>/toolchains"));
            }
        }
        Undo::MoveBack { path, saved } => {
            // `uninstall` also moves aside a link, or a file golock created.
            if !scope.in_tree(path) && !scope.is_file(path) && !scope.links.contains(path) {
                return Err(outside(
                    path,
                    "in the data dir or GOMODCACHE, a listed profile file, the go env file or [go] link",
                ));
            }
            expect_name(
                saved,
                &fsx::sibling_temp(path, &format!("aside-{id}-{seq}")),
            )?;
        }
        Undo::RestoreLink {
            path,
            old,
            new,
            temp,
        } => {
            if !scope.links.contains(path) {
                return Err(outside(path, "the active link or [go] link"));
            }
            let toolchains = scope.toolchains();
            for target in old.iter().chain([new]) {
                if !target.starts_with(&toolchains) || target == &toolchains {
                    return Err(format!(
                        "the link target {} is not inside {}",
                        target.display(),
                        toolchains.display()
                    ));
                }
            }
            expect_name(temp, &fsx::sibling_temp(path, id))?;
        }
        Undo::RestoreFile {
            path,
            backup,
            backup_sha256,
            new_sha256,
            mode,
            temp,
        } => {
            if !scope.is_file(path) && !scope.in_tree(path) {
                return Err(outside(
                    path,
                    "a listed profile file, the go env file, or in the data dir or GOMODCACHE",
                ));
            }
            if mode & !0o777 != 0 {
                return Err(format!(
                    "mode {mode:o} of {} carries setuid, setgid or sticky bits",
                    path.display()
                ));
            }
            expect_name(temp, &fsx::sibling_temp(path, id))?;
            if !is_sha256(new_sha256) {
                return Err("new_sha256 is not a sha256".into());
            }
            match (backup, backup_sha256) {
                (None, None) => {}
                (Some(b), Some(h)) if is_sha256(h) => {
                    expect_name(b, &scratch.join(format!("backup-{seq}")))?
                }
                _ => return Err("a backup needs the sha256 taken with it".into()),
            }
        }
        Undo::RemoveCreatedDirs { dirs } => {
            for dir in dirs {
                if !scope.may_create(dir) {
                    return Err(outside(dir, "a directory golock may create"));
                }
                let private =
                    dir.file_name().and_then(|n| n.to_str()) == Some(&private_staging_name(id));
                if private && !scope.in_tree(dir) {
                    return Err(outside(dir, "a staging dir in the data dir or GOMODCACHE"));
                }
            }
        }
        Undo::RemovePaths { paths } => {
            if let Some(Installed { path, .. }) = paths.iter().find(|p| !scope.in_tree(&p.path)) {
                return Err(outside(path, "in the data dir or GOMODCACHE"));
            }
        }
    }
    Ok(())
}

fn outside(path: &Path, want: &str) -> String {
    format!("{} is not {want}", path.display())
}

fn expect_name(got: &Path, want: &Path) -> Result<(), String> {
    if got == want {
        return Ok(());
    }
    Err(format!(
        "{} is not the scratch path this transaction uses ({})",
        got.display(),
        want.display()
    ))
}

fn is_sha256(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Absolute, with no `.` or `..` components.
fn is_clean_absolute(path: &Path) -> bool {
    path.is_absolute()
        && path
            .components()
            .all(|c| matches!(c, Component::RootDir | Component::Normal(_)))
}

/// `path` (lexically under `base`) does not leave `base` through a symlink:
/// its nearest existing ancestor, resolved, is still under `base` resolved.
fn resolves_under(path: &Path, base: &Path) -> bool {
    let Ok(real_base) = fsx::canonicalize(base) else {
        return !fsx::exists_no_follow(base); // nothing under a missing base exists
    };
    let existing = fsx::parent_of(path)
        .ancestors()
        .find(|a| fsx::exists_no_follow(a))
        .unwrap_or(Path::new("/"));
    match fsx::canonicalize(existing) {
        Ok(real) => real.starts_with(&real_base),
        Err(_) => false,
    }
}

/// Running as root, refuse a data dir, journal dir, journal or state file
/// another user could write: group- or other-writable, or owned by another uid.
pub fn untrusted_paths(layout: &Layout) -> Vec<String> {
    // SAFETY: geteuid has no preconditions and cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        return Vec::new();
    }
    let mut paths = vec![
        layout.root.clone(),
        layout.journal_dir(),
        layout.state_file(),
    ];
    if let Ok(entries) = fsx::read_dir(layout.journal_dir()) {
        paths.extend(entries.flatten().map(|e| e.path()));
    }
    paths
        .iter()
        .filter_map(|p| {
            let meta = fsx::symlink_metadata(p).ok()?;
            if meta.uid() != 0 {
                Some(format!("{} is owned by uid {}", p.display(), meta.uid()))
            } else if !meta.file_type().is_symlink() && meta.mode() & 0o022 != 0 {
                Some(format!(
                    "{} is writable by group or others (mode {:o})",
                    p.display(),
                    meta.mode() & 0o7777
                ))
            } else {
                None
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::txn::journal::Record;
    use crate::txn::undo::Identity;

    const ID: &str = "18a2b3c4-42";

    struct Fixture {
        _tmp: tempfile::TempDir,
        scope: Scope,
        journal: PathBuf,
        home: PathBuf,
    }

    fn fixture() -> Fixture {
        let tmp = tempfile::tempdir().unwrap();
        let base = fsx::canonicalize(tmp.path()).unwrap();
        let root = base.join("root");
        let home = base.join("home");
        fsx::create_dir_all(root.join("toolchains")).unwrap();
        fsx::create_dir_all(&home).unwrap();
        let scope = Scope {
            root: root.clone(),
            trees: vec![base.join("modcache")],
            files: vec![home.join(".profile")],
            links: vec![root.join("go")],
        };
        Fixture {
            journal: root.join(format!("journal/{ID}.jsonl")),
            _tmp: tmp,
            scope,
            home,
        }
    }

    fn journal_of(undos: Vec<Undo>) -> Parsed {
        let mut records = vec![(
            1,
            Record::Open {
                id: ID.into(),
                pid: 1,
                golock_version: "0".into(),
                started: 0,
                plan: serde_json::Value::Null,
            },
        )];
        for (i, undo) in undos.into_iter().enumerate() {
            records.push((
                i + 2,
                Record::Begin {
                    seq: i as u64 + 1,
                    undo,
                },
            ));
        }
        Parsed {
            records,
            damage: Vec::new(),
        }
    }

    fn check(f: &Fixture, undo: Undo) -> Vec<String> {
        problems(&f.journal, &journal_of(vec![undo]), &f.scope)
    }

    fn id() -> Identity {
        Identity {
            dev: 1,
            ino: 2,
            kind: crate::txn::undo::Kind::Dir,
            len: 0,
        }
    }

    fn restore(path: PathBuf, mode: u32, backup: Option<PathBuf>) -> Undo {
        Undo::RestoreFile {
            temp: fsx::sibling_temp(&path, ID),
            path,
            backup_sha256: backup.as_ref().map(|_| "a".repeat(64)),
            backup,
            new_sha256: "b".repeat(64),
            mode,
        }
    }

    #[test]
    fn records_golock_writes_pass() {
        let f = fixture();
        let root = &f.scope.root;
        let ok = vec![
            Undo::RemoveTree {
                path: root.join("toolchains/go1.27.3"),
                id: id(),
            },
            restore(
                f.home.join(".profile"),
                0o644,
                Some(f.journal.with_extension("d").join("backup-2")),
            ),
            Undo::RestoreLink {
                path: root.join("go"),
                old: Some(root.join("toolchains/go1.19")),
                new: root.join("toolchains/go1.27.3"),
                temp: fsx::sibling_temp(&root.join("go"), ID),
            },
            Undo::RemoveCreatedDirs {
                dirs: vec![
                    f.scope.trees[0].clone(),
                    f.scope.trees[0].join(format!("cache/{}", private_staging_name(ID))),
                ],
            },
        ];
        assert_eq!(
            problems(&f.journal, &journal_of(ok), &f.scope),
            Vec::<String>::new()
        );
    }

    #[test]
    fn a_tree_outside_is_refused() {
        let f = fixture();
        let p = check(
            &f,
            Undo::RemoveTree {
                path: "/usr".into(),
                id: id(),
            },
        );
        assert!(p[0].starts_with("line 2: /usr is not directly in"), "{p:?}");
        let p = check(
            &f,
            Undo::RemovePaths {
                paths: vec![Installed {
                    path: f.scope.root.join("../../etc"),
                    id: id(),
                }],
            },
        );
        assert!(p[0].contains("not a clean absolute path"), "{p:?}");
    }

    #[test]
    fn a_chosen_backup_or_an_unlisted_file_is_refused() {
        let f = fixture();
        let p = check(&f, restore("/etc/shadow".into(), 0o644, None));
        assert!(
            p[0].contains("/etc/shadow is not a listed profile file"),
            "{p:?}"
        );
        let p = check(
            &f,
            restore(f.home.join(".profile"), 0o644, Some("/tmp/evil".into())),
        );
        assert!(p[0].contains("/tmp/evil is not the scratch path"), "{p:?}");
    }

    #[test]
    fn setuid_modes_are_refused() {
        let f = fixture();
        let p = check(&f, restore(f.home.join(".profile"), 0o4755, None));
        assert!(p[0].contains("setuid"), "{p:?}");
    }

    #[test]
    fn link_targets_must_be_toolchains() {
        let f = fixture();
        let link = f.scope.root.join("go");
        let p = check(
            &f,
            Undo::RestoreLink {
                temp: fsx::sibling_temp(&link, ID),
                path: link,
                old: Some("/etc/passwd".into()),
                new: f.scope.root.join("toolchains/go1"),
            },
        );
        assert!(p[0].contains("/etc/passwd is not inside"), "{p:?}");
    }

    #[test]
    fn a_symlink_out_of_a_managed_tree_is_refused() {
        let f = fixture();
        fsx::symlink("/etc", f.scope.root.join("escape")).unwrap();
        let p = check(
            &f,
            Undo::MoveBack {
                path: f.scope.root.join("escape/passwd"),
                saved: fsx::sibling_temp(
                    &f.scope.root.join("escape/passwd"),
                    &format!("aside-{ID}-1"),
                ),
            },
        );
        assert!(p[0].contains("is not in the data dir"), "{p:?}");
    }

    /// `uninstall` moves a listed file or a managed link aside; any other
    /// path outside the data dir and GOMODCACHE stays refused.
    #[test]
    fn moving_back_a_listed_file_or_link_is_accepted_and_nothing_else() {
        let f = fixture();
        let move_back = |path: PathBuf| Undo::MoveBack {
            saved: fsx::sibling_temp(&path, &format!("aside-{ID}-1")),
            path,
        };
        assert_eq!(
            check(&f, move_back(f.home.join(".profile"))),
            Vec::<String>::new()
        );
        assert_eq!(
            check(&f, move_back(f.scope.root.join("go"))),
            Vec::<String>::new()
        );
        let p = check(&f, move_back(f.home.join(".ssh/authorized_keys")));
        assert!(p[0].contains("a listed profile file"), "{p:?}");
    }

    #[test]
    fn a_private_staging_name_outside_a_tree_is_refused() {
        let f = fixture();
        let p = check(
            &f,
            Undo::RemoveCreatedDirs {
                dirs: vec![f.home.join(private_staging_name(ID))],
            },
        );
        assert!(!p.is_empty());
        let p = check(
            &f,
            Undo::RemoveCreatedDirs {
                dirs: vec!["/".into()],
            },
        );
        assert!(!p.is_empty());
    }

    #[test]
    fn the_record_sequence_is_checked() {
        let f = fixture();
        let mut parsed = journal_of(vec![]);
        parsed.records.push((2, Record::Done { seq: 5 }));
        assert!(problems(&f.journal, &parsed, &f.scope)[0].contains("before it began"));
        let renamed = f.journal.with_file_name("../../x.jsonl");
        assert!(!problems(&renamed, &journal_of(vec![]), &f.scope).is_empty());
    }
}
