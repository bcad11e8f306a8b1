//! Named crash points for tests (rustup's `kill_at_checkpoint` pattern).
//!
//! With `GOLOCK_TEST_CHECKPOINT=<name>`, reaching `<name>` writes the name to
//! the file named by `GOLOCK_TEST_CHECKPOINT_FILE` and parks the process
//! forever, so a test can SIGKILL it at exactly that point.

use std::time::Duration;

/// Every checkpoint, in the order an apply reaches them. README lists them.
pub const ALL: &[&str] = &[
    "after-staging",
    "before-rename-toolchain-aside",
    "after-rename-toolchain-aside",
    "before-rename-toolchain",
    "after-rename-toolchain",
    "after-temp-write-manifest",
    "before-rename-manifest",
    "after-rename-manifest",
    "before-rename-modules",
    "after-rename-modules",
    "before-rename-modules-list",
    "after-rename-modules-list",
    "before-rename-link",
    "after-rename-link",
    "before-rename-extra-link",
    "after-rename-extra-link",
    "after-temp-write-profile",
    "before-rename-profile",
    "after-rename-profile",
    "after-temp-write-goenv",
    "before-rename-goenv",
    "after-rename-goenv",
    "before-rename-prune",
    "after-rename-prune",
    "after-temp-write-state",
    "before-rename-state",
    "after-rename-state",
    "before-commit",
    "after-commit",
];

pub fn reach(name: &str) {
    let Some(wanted) = std::env::var_os("GOLOCK_TEST_CHECKPOINT") else {
        return;
    };
    if wanted != name {
        return;
    }
    if let Some(file) = std::env::var_os("GOLOCK_TEST_CHECKPOINT_FILE") {
        let _ = std::fs::write(file, name);
    }
    loop {
        std::thread::sleep(Duration::from_secs(3600));
    }
}
