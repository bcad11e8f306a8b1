//! Each transaction primitive in a temp dir, in the manner of rustup's
//! `dist/component/transaction` tests: snapshot the tree, do the step inside
//! a transaction, check the change, roll back, and find the snapshot again.
//! Also: commit keeps the change, and rollback never removes what another
//! program put inside a directory golock created.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use super::Transaction;
use super::checkpoint::{FileStep, RenameStep};
use crate::fsx;
use crate::host::layout::Layout;

/// A data root for the journal and staging, and beside it the tree the
/// steps change (so the snapshot sees only what the steps do).
struct Scene {
    _tmp: tempfile::TempDir,
    layout: Layout,
    work: PathBuf,
}

impl Scene {
    fn new() -> Scene {
        let tmp = tempfile::tempdir().expect("temp dir");
        let base = tmp.path().to_path_buf();
        let work = base.join("work");
        fsx::create_dir(&work).expect("work dir");
        Scene {
            layout: Layout::new(base.join("root"), base.join("home")),
            work,
            _tmp: tmp,
        }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.work.join(rel)
    }

    fn begin(&self) -> Transaction {
        Transaction::begin(&self.layout, serde_json::json!({ "test": true })).expect("begin")
    }

    fn snapshot(&self) -> Snapshot {
        snapshot(&self.work)
    }

    /// The journal and the transaction's scratch and staging dirs are gone.
    fn assert_no_leftovers(&self, what: &str) {
        for dir in [self.layout.journal_dir(), self.layout.staging_dir()] {
            let left: Vec<_> = fsx::read_dir(&dir)
                .map(|d| d.flatten().map(|e| e.file_name()).collect())
                .unwrap_or_default();
            assert!(
                left.is_empty(),
                "{what}: left in {}: {left:?}",
                dir.display()
            );
        }
    }
}

/// Path → what is there: type, permission bits, and the bytes of a file or
/// the target of a link.
type Snapshot = BTreeMap<String, String>;

fn snapshot(dir: &Path) -> Snapshot {
    walkdir::WalkDir::new(dir)
        .min_depth(1)
        .sort_by_file_name()
        .into_iter()
        .map(|e| {
            let e = e.expect("walk");
            let rel = e.path().strip_prefix(dir).expect("below dir");
            (
                without_txn_id(&rel.display().to_string()),
                describe(e.path()),
            )
        })
        .collect()
}

/// `….golock-aside-<txn id>-<seq>` as `….golock-aside-*`: the id is new
/// in every run.
fn without_txn_id(rel: &str) -> String {
    const ASIDE: &str = ".golock-aside-";
    rel.split('/')
        .map(|part| match part.find(ASIDE) {
            Some(at) => format!("{}{ASIDE}*", &part[..at]),
            None => part.to_string(),
        })
        .collect::<Vec<_>>()
        .join("/")
}

fn describe(path: &Path) -> String {
    let meta = fsx::symlink_metadata(path).expect("stat");
    let mode = meta.permissions().mode() & 0o7777;
    if meta.file_type().is_symlink() {
        let target = fsx::read_link(path).expect("read link");
        format!("link -> {}", target.display())
    } else if meta.is_dir() {
        format!("dir {mode:o}")
    } else {
        let bytes = fsx::read(path).expect("read");
        format!("file {mode:o} {:?}", String::from_utf8_lossy(&bytes))
    }
}

fn write(path: &Path, bytes: &[u8], mode: u32) {
    fsx::create_dir_all(path.parent().expect("has parent")).expect("mkdir");
    fsx::write(path, bytes).expect("write");
    fsx::set_mode(path, mode).expect("chmod");
}

fn symlink(target: &str, at: &Path) {
    fsx::symlink(target, at).expect("symlink");
}

/// The snapshot `before` with `changes` applied (`None`: the path is gone).
fn with(before: &Snapshot, changes: &[(&str, Option<&str>)]) -> Snapshot {
    let mut after = before.clone();
    for (path, what) in changes {
        match what {
            Some(what) => after.insert(path.to_string(), what.to_string()),
            None => after.remove(*path),
        };
    }
    after
}

/// Run `step` inside a transaction on a tree set up by `setup`: the tree
/// must then equal `expected(before)`, and after rollback `before` again.
fn round_trip(
    name: &str,
    setup: impl Fn(&Scene),
    step: impl Fn(&Scene, &mut Transaction),
    expected: impl Fn(&Snapshot) -> Snapshot,
) {
    let scene = Scene::new();
    setup(&scene);
    let before = scene.snapshot();
    let mut txn = scene.begin();
    step(&scene, &mut txn);
    assert_eq!(
        scene.snapshot(),
        expected(&before),
        "{name}: after the step"
    );
    let undone = txn
        .rollback()
        .unwrap_or_else(|e| panic!("{name}: rollback: {e}"));
    assert!(!undone.is_empty(), "{name}: rollback reported nothing");
    assert_eq!(scene.snapshot(), before, "{name}: after rollback");
    scene.assert_no_leftovers(name);
}

#[test]
fn write_file_creating_a_file_and_its_dirs_rolls_back() {
    round_trip(
        "create file",
        |_| {},
        |s, txn| {
            txn.write_file(
                &s.path(".config/fish/config.fish"),
                b"new\n",
                FileStep::Profile,
            )
            .expect("write");
        },
        |before| {
            with(
                before,
                &[
                    (".config", Some("dir 755")),
                    (".config/fish", Some("dir 755")),
                    (".config/fish/config.fish", Some("file 644 \"new\\n\"")),
                ],
            )
        },
    );
}

#[test]
fn write_file_replacing_a_file_keeps_its_mode_and_rolls_back() {
    round_trip(
        "replace file",
        |s| write(&s.path(".profile"), b"old\n", 0o600),
        |s, txn| {
            txn.write_file(&s.path(".profile"), b"new\n", FileStep::Profile)
                .expect("write");
        },
        |before| with(before, &[(".profile", Some("file 600 \"new\\n\""))]),
    );
}

#[test]
fn create_dirs_rolls_back() {
    round_trip(
        "create dirs",
        |s| fsx::create_dir(s.path("cache")).expect("mkdir"),
        |s, txn| {
            txn.create_dirs(&[s.path("cache/a/@v"), s.path("cache/b")])
                .expect("create dirs");
        },
        |before| {
            with(
                before,
                &[
                    ("cache/a", Some("dir 755")),
                    ("cache/a/@v", Some("dir 755")),
                    ("cache/b", Some("dir 755")),
                ],
            )
        },
    );
}

/// A staged toolchain tree in the transaction's staging dir.
fn stage_tree(txn: &Transaction) -> PathBuf {
    let staged = txn.staging().expect("staging").join("go");
    write(&staged.join("bin/go"), b"#!go\n", 0o755);
    write(&staged.join("VERSION"), b"go1.27.3\n", 0o644);
    staged
}

/// Install a staged tree at `toolchains/go1.27.3`, after `setup`; the
/// tree appears, with `new_dirs` before it, and rollback restores the rest.
fn install_tree_round_trip(name: &str, setup: impl Fn(&Scene), new_dirs: &[&str]) {
    round_trip(
        name,
        setup,
        |s, txn| {
            let staged = stage_tree(txn);
            txn.install_tree(
                &staged,
                &s.path("toolchains/go1.27.3"),
                RenameStep::Toolchain,
            )
            .expect("install");
        },
        |before| {
            let mut changes: Vec<(&str, Option<&str>)> =
                new_dirs.iter().map(|d| (*d, Some("dir 755"))).collect();
            changes.extend([
                ("toolchains/go1.27.3", Some("dir 755")),
                (
                    "toolchains/go1.27.3/VERSION",
                    Some("file 644 \"go1.27.3\\n\""),
                ),
                ("toolchains/go1.27.3/bin", Some("dir 755")),
                ("toolchains/go1.27.3/bin/go", Some("file 755 \"#!go\\n\"")),
            ]);
            with(before, &changes)
        },
    );
}

#[test]
fn install_tree_by_rename_rolls_back() {
    install_tree_round_trip(
        "install tree",
        |s| fsx::create_dir(s.path("toolchains")).expect("mkdir"),
        &[],
    );
}

/// The first install: `toolchains/` itself is created under the journal,
/// so rollback leaves no empty directory behind.
#[test]
fn install_tree_into_a_missing_parent_rolls_back_the_parent_too() {
    install_tree_round_trip("install tree, new parent", |_| {}, &["toolchains"]);
}

#[test]
fn move_aside_rolls_back() {
    round_trip(
        "move aside",
        |s| write(&s.path("toolchains/go1.27.3/VERSION"), b"not go\n", 0o644),
        |s, txn| {
            txn.move_aside(&s.path("toolchains/go1.27.3"), RenameStep::ToolchainAside)
                .expect("move aside");
        },
        |before| {
            // Beside itself under a temp name: only the name changes.
            let aside = "toolchains/.go1.27.3.golock-aside-*";
            with(
                before,
                &[
                    ("toolchains/go1.27.3", None),
                    ("toolchains/go1.27.3/VERSION", None),
                    (aside, Some("dir 755")),
                    (&format!("{aside}/VERSION"), Some("file 644 \"not go\\n\"")),
                ],
            )
        },
    )
}

#[test]
fn switch_link_rolls_back_to_the_old_target_or_to_no_link() {
    round_trip(
        "switch link",
        |s| symlink("toolchains/go1.19.8", &s.path("go")),
        |s, txn| {
            txn.switch_link(
                &s.path("go"),
                Path::new("toolchains/go1.27.3"),
                RenameStep::Link,
            )
            .expect("switch");
        },
        |before| with(before, &[("go", Some("link -> toolchains/go1.27.3"))]),
    );
    round_trip(
        "create link",
        |_| {},
        |s, txn| {
            txn.switch_link(
                &s.path("go"),
                Path::new("toolchains/go1.27.3"),
                RenameStep::Link,
            )
            .expect("switch");
        },
        |before| with(before, &[("go", Some("link -> toolchains/go1.27.3"))]),
    );
}

#[test]
fn rename_batch_rolls_back() {
    round_trip(
        "rename batch",
        |s| fsx::create_dir_all(s.path("cache/@v")).expect("mkdir"),
        |s, txn| {
            let staging = txn.staging().expect("staging").to_path_buf();
            write(&staging.join("mod"), b"module m\n", 0o644);
            write(&staging.join("tree/m.go"), b"package m\n", 0o444);
            let moves = [
                (staging.join("mod"), s.path("cache/@v/v1.0.0.mod")),
                (staging.join("tree"), s.path("cache/m@v1.0.0")),
            ];
            txn.rename_batch(&moves, RenameStep::Modules)
                .expect("rename batch");
        },
        |before| {
            with(
                before,
                &[
                    ("cache/@v/v1.0.0.mod", Some("file 644 \"module m\\n\"")),
                    ("cache/m@v1.0.0", Some("dir 755")),
                    ("cache/m@v1.0.0/m.go", Some("file 444 \"package m\\n\"")),
                ],
            )
        },
    );
}

#[test]
fn commit_keeps_every_change_and_drops_what_was_moved_aside() {
    let s = Scene::new();
    write(&s.path(".profile"), b"old\n", 0o600);
    write(&s.path("toolchains/go1.27.3/VERSION"), b"not go\n", 0o644);
    symlink("toolchains/go1.19.8", &s.path("go"));
    let mut txn = s.begin();
    let target = s.path("toolchains/go1.27.3");
    txn.move_aside(&target, RenameStep::ToolchainAside)
        .expect("move aside");
    let staged = stage_tree(&txn);
    txn.install_tree(&staged, &target, RenameStep::Toolchain)
        .expect("install");
    txn.switch_link(
        &s.path("go"),
        Path::new("toolchains/go1.27.3"),
        RenameStep::Link,
    )
    .expect("switch");
    txn.write_file(&s.path(".profile"), b"new\n", FileStep::Profile)
        .expect("write");
    txn.create_dirs(&[s.path("cache/a")]).expect("create dirs");
    let after = s.snapshot();
    txn.commit().expect("commit");
    let expected: Snapshot = [
        (".profile", "file 600 \"new\\n\""),
        ("cache", "dir 755"),
        ("cache/a", "dir 755"),
        ("go", "link -> toolchains/go1.27.3"),
        ("toolchains", "dir 755"),
        ("toolchains/go1.27.3", "dir 755"),
        ("toolchains/go1.27.3/VERSION", "file 644 \"go1.27.3\\n\""),
        ("toolchains/go1.27.3/bin", "dir 755"),
        ("toolchains/go1.27.3/bin/go", "file 755 \"#!go\\n\""),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    assert_eq!(s.snapshot(), expected, "after commit");
    assert_ne!(
        after, expected,
        "the moved-aside tree was there until commit"
    );
    s.assert_no_leftovers("commit");
}

#[test]
fn rollback_keeps_what_another_program_put_in_a_dir_golock_created() {
    let s = Scene::new();
    let before = s.snapshot();
    let mut txn = s.begin();
    txn.write_file(
        &s.path(".config/fish/config.fish"),
        b"ours\n",
        FileStep::Profile,
    )
    .expect("write");
    txn.create_dirs(&[s.path("cache/a/@v")])
        .expect("create dirs");
    // Meanwhile, other programs write into the directories golock made.
    write(&s.path(".config/myapp/settings.ini"), b"theirs\n", 0o644);
    write(&s.path("cache/a/theirs.zip"), b"zip", 0o644);
    let report = txn.rollback().expect("rollback");
    let expected = with(
        &before,
        &[
            (".config", Some("dir 755")),
            (".config/myapp", Some("dir 755")),
            (".config/myapp/settings.ini", Some("file 644 \"theirs\\n\"")),
            ("cache", Some("dir 755")),
            ("cache/a", Some("dir 755")),
            ("cache/a/theirs.zip", Some("file 644 \"zip\"")),
        ],
    );
    assert_eq!(s.snapshot(), expected, "{report:#?}");
    for kept in [".config", "cache/a"] {
        let kept = s.path(kept).display().to_string();
        assert!(
            report
                .iter()
                .any(|r| r.starts_with("kept ") && r.contains(&kept)),
            "{kept} reported kept: {report:#?}"
        );
    }
    s.assert_no_leftovers("rollback");
}
