//! Error and report texts users act on (issue #11, E): each says what went
//! wrong once, names the file, and says what to do.
// Tests set up and inspect the host directly, not through golock::fsx.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod support;

use support::{Host, NEW, archive, digest, says};

/// How many times `message` occurs in the report, however it was wrapped.
fn occurrences(out: &str, message: &str) -> usize {
    support::squash(out)
        .matches(&support::squash(message))
        .count()
}

#[test]
fn a_release_index_of_the_wrong_shape_names_the_file_and_the_shape() {
    let h = Host::new();
    h.lock(NEW, "");
    std::fs::write(h.repo.join("releases.json"), "{\"go\": 1}\n").unwrap();
    let err = h.expect(&["lock", "--index", "releases.json"], 1);
    assert!(
        says(&err, "cannot read the release index releases.json"),
        "{err}"
    );
    assert!(says(&err, "expected a JSON array of releases"), "{err}");
    assert!(says(&err, "go.dev/dl/?mode=json&include=all"), "{err}");
}

#[test]
fn profile_marker_errors_are_reported_once_with_their_help() {
    let h = Host::new();
    h.lock(
        NEW,
        "[env]\nFOO = \"1\"\n\n[profile]\nfiles = [\"~/.profile\"]\n",
    );
    let cases = [
        (
            "# >>> golock >>>\nexport A=1\n# >>> golock >>>\n",
            "duplicate golock begin marker at lines 1 and 3",
            "keep a single",
        ),
        (
            "echo hi\n# <<< golock <<<\n",
            "golock end marker at line 2 has no matching begin marker",
            "delete the stray",
        ),
    ];
    for (profile, message, help) in cases {
        std::fs::write(h.home.join(".profile"), profile).unwrap();
        let err = h.expect(&["plan"], 1);
        assert_eq!(occurrences(&err, message), 1, "said once: {err}");
        assert!(says(&err, ".profile"), "names the file: {err}");
        assert!(says(&err, help), "keeps the help: {err}");
    }
}

#[test]
fn init_outside_a_module_says_a_go_mod_is_needed_once() {
    let h = Host::new();
    let err = h.expect(&["init"], 1);
    assert_eq!(occurrences(&err, "go.mod not found"), 1, "{err}");
    assert!(says(&err, "golock init needs a go.mod"), "{err}");
    assert!(says(&err, "--repo DIR"), "{err}");
    assert!(!err.contains("No such file"), "{err}");
    assert!(!h.lockfile().exists());
}

#[test]
fn a_wrong_archive_checksum_points_at_lock_update() {
    let h = Host::new();
    h.lock(NEW, "");
    let (sha, _) = digest(&archive(NEW));
    let text = std::fs::read_to_string(h.lockfile()).unwrap();
    std::fs::write(h.lockfile(), text.replace(&sha, &"0".repeat(64))).unwrap();
    let err = h.expect(&["apply", "-y"], 1);
    assert!(says(&err, "checksum mismatch"), "{err}");
    assert!(says(&err, "golock lock --update"), "{err}");
    assert!(!h.root.join("go").exists(), "nothing installed");
}

#[test]
fn bundle_reports_the_size_of_the_file_it_wrote() {
    let h = Host::new();
    h.lock(NEW, "");
    h.expect(&["apply", "-y"], 0);
    let out_path = h.base().join("offline.tar.gz");
    let out = h.expect(&["bundle", "-o", out_path.to_str().unwrap()], 0);
    let size = std::fs::metadata(&out_path).unwrap().len();
    assert!(
        says(&out, &format!("{size} bytes")),
        "reports {size} bytes: {out}"
    );
    assert!(out.contains("MiB"), "and a human size: {out}");
}
