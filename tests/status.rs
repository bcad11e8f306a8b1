//! `golock status`: what it shows on a fresh host, after a real apply and
//! with an interrupted apply's journal pending, and that it writes nothing.
// Tests set up and inspect the host directly, not through golock::fsx.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod support;

use std::collections::BTreeMap;

use serde_json::Value;
use support::{Host, NEW, archive, digest, snapshot};

/// Every file and dir under the host's base (root, home, repo), lock included.
fn whole_host(h: &Host) -> BTreeMap<String, String> {
    snapshot(&h.base())
}

fn status_json(h: &Host) -> Value {
    let out = h.succeed(&["status", "--json"]);
    serde_json::from_slice(&out.stdout).expect("status --json prints JSON")
}

/// Run `status` and `status --json`, assert they wrote nothing; their outputs.
fn status_writing_nothing(h: &Host) -> (String, Value) {
    let before = whole_host(h);
    let text = h.expect(&["status"], 0);
    let json = status_json(h);
    assert_eq!(whole_host(h), before, "status wrote to the host");
    (text, json)
}

#[test]
fn a_fresh_host_shows_nothing_installed_and_status_creates_nothing() {
    let h = Host::new();
    let (text, json) = status_writing_nothing(&h);
    assert!(!h.root.exists(), "status created the data dir");
    assert!(text.contains("Toolchains:       none installed"), "{text}");
    assert!(text.contains("Active toolchain: none"), "{text}");
    assert!(text.contains("Lockfile:         none found"), "{text}");
    assert!(text.contains("Pending journal:  none"), "{text}");
    assert!(text.contains("Last apply:       never"), "{text}");
    assert_eq!(json["format_version"], 1);
    assert_eq!(json["toolchains"], Value::Array(vec![]));
    assert_eq!(json["lockfile"], Value::Null);
    assert_eq!(json["module_cache"]["locked"], Value::Null);
    assert_eq!(
        json["module_cache"]["path"],
        h.home.join("go/pkg/mod").display().to_string()
    );
}

#[test]
fn after_apply_status_lists_the_toolchain_its_archive_and_the_profile_blocks() {
    let h = Host::new();
    h.lock(NEW, Host::standard_extra());
    h.expect(&["apply", "-y"], 0);
    let (sha, _) = digest(&archive(NEW));
    let (text, json) = status_writing_nothing(&h);

    let toolchains = json["toolchains"].as_array().unwrap();
    assert_eq!(toolchains.len(), 1, "{json:#}");
    let go = &toolchains[0];
    assert_eq!(go["name"], format!("go{NEW}"));
    assert_eq!(go["active"], true);
    assert_eq!(go["archive_sha256"], sha.as_str());
    assert_eq!(go["platform"], "linux-amd64");
    let size = go["size_bytes"].as_u64().unwrap();
    let on_disk: u64 = walkdir::WalkDir::new(h.root.join(format!("toolchains/go{NEW}")))
        .into_iter()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().is_file())
        .map(|e| e.metadata().unwrap().len())
        .sum();
    assert!(size > 0 && size == on_disk, "{size} vs {on_disk}");
    assert_eq!(json["active"]["toolchain"], format!("go{NEW}"));
    let blocks: Vec<&str> = json["profile_blocks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b.as_str().unwrap())
        .collect();
    let profile = h.home.join(".profile").display().to_string();
    let bashrc = h.home.join(".bashrc").display().to_string();
    assert_eq!(blocks.len(), 2, "{blocks:?}");
    assert!(blocks.contains(&profile.as_str()) && blocks.contains(&bashrc.as_str()));
    assert_eq!(json["module_cache"]["locked"], 0);
    assert!(json["last_apply"].as_u64().unwrap() > 0);
    assert_eq!(json["pending"], Value::Array(vec![]));

    assert!(
        text.contains(&format!("* go{NEW}")) && text.contains(&format!("sha256 {sha}")),
        "{text}"
    );
    assert!(
        text.contains("Profile blocks:   ~/.profile, ~/.bashrc")
            || text.contains("Profile blocks:   ~/.bashrc, ~/.profile"),
        "{text}"
    );
    assert!(!text.contains("Last apply:       never"), "{text}");
}

#[test]
fn an_interrupted_apply_shows_as_a_pending_journal() {
    let h = Host::new();
    h.lock(NEW, Host::standard_extra());
    h.kill_at(&["apply", "-y"], "before-commit");
    let (text, json) = status_writing_nothing(&h);
    let pending = json["pending"].as_array().unwrap();
    assert_eq!(pending.len(), 1, "{json:#}");
    let journal = pending[0]["journal"].as_str().unwrap();
    assert!(
        std::path::Path::new(journal).starts_with(h.root.join("journal")),
        "{journal}"
    );
    assert_eq!(pending[0]["running"], Value::Null);
    assert!(pending[0]["started"].as_u64().unwrap() > 0);
    assert!(
        text.contains("Pending journal:  an interrupted apply from"),
        "{text}"
    );
    assert!(text.contains("golock recover"), "{text}");
    // status exits 0 even so: it is not a drift check.
    h.expect(&["recover"], 0);
    assert_eq!(status_json(&h)["pending"], Value::Array(vec![]));
}
