//! Named crash points for tests (rustup's `kill_at_checkpoint` pattern).
//!
//! With `GOLOCK_TEST_CHECKPOINT=<name>`, reaching `<name>` writes the name to
//! the file named by `GOLOCK_TEST_CHECKPOINT_FILE` and parks the process, so
//! a test can SIGKILL it at exactly that point. A parked process also leaves
//! the park when SIGINT or SIGTERM arrives (see [`crate::txn::interrupt`]), so
//! tests can interrupt it there too.
//!
//! Checkpoints are typed: every transaction step names its [`FileStep`] or
//! [`RenameStep`], and [`ALL`] is generated from the same declaration as
//! those enums, so no reachable checkpoint can be missing from it.

use std::fmt;
use std::time::Duration;

/// Declares the steps once: the two step enums, their kebab-case names, and
/// [`ALL`] (every checkpoint each kind of step passes).
macro_rules! steps {
    (
        files { $($file:ident => $file_name:literal,)* }
        renames { $($rename:ident => $rename_name:literal,)* }
    ) => {
        /// A file replaced through a temp file (`Transaction::write_file`):
        /// passes `after-temp-write-`, `before-rename-` and `after-rename-<name>`.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum FileStep { $($file,)* }

        /// A rename of a prepared tree, link or batch (install, move aside,
        /// switch link, rename batch): passes `before-rename-` and
        /// `after-rename-<name>`.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum RenameStep { $($rename,)* }

        impl FileStep {
            pub const fn name(self) -> &'static str {
                match self { $(FileStep::$file => $file_name,)* }
            }
        }

        impl RenameStep {
            pub const fn name(self) -> &'static str {
                match self { $(RenameStep::$rename => $rename_name,)* }
            }
        }

        /// Every checkpoint. README lists them; tests/crash.rs reaches each.
        pub const ALL: &[Checkpoint] = &[
            Checkpoint::AfterStaging,
            Checkpoint::BeforeHealthCheck,
            $(
                Checkpoint::TempWritten(FileStep::$file),
                Checkpoint::BeforeRename(Step::File(FileStep::$file)),
                Checkpoint::AfterRename(Step::File(FileStep::$file)),
            )*
            $(
                Checkpoint::BeforeRename(Step::Rename(RenameStep::$rename)),
                Checkpoint::AfterRename(Step::Rename(RenameStep::$rename)),
            )*
            Checkpoint::BeforeCommit,
            Checkpoint::AfterCommit,
        ];
    };
}

steps! {
    files {
        Manifest => "manifest",
        List => "list",
        Profile => "profile",
        GoEnv => "goenv",
        State => "state",
    }
    renames {
        ToolchainAside => "toolchain-aside",
        Toolchain => "toolchain",
        ModuleAside => "module-aside",
        Modules => "modules",
        ModulesList => "modules-list",
        Link => "link",
        ExtraLink => "extra-link",
        Prune => "prune",
        ModuleRemove => "module-remove",
    }
}

/// The step a rename checkpoint belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Step {
    File(FileStep),
    Rename(RenameStep),
}

impl Step {
    pub const fn name(self) -> &'static str {
        match self {
            Step::File(s) => s.name(),
            Step::Rename(s) => s.name(),
        }
    }
}

impl From<FileStep> for Step {
    fn from(s: FileStep) -> Step {
        Step::File(s)
    }
}

impl From<RenameStep> for Step {
    fn from(s: RenameStep) -> Step {
        Step::Rename(s)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Checkpoint {
    /// A toolchain verified and extracted in staging, nothing installed.
    AfterStaging,
    /// About to run a toolchain's `go version` before a link switches to it.
    BeforeHealthCheck,
    /// A file's new content is in its temp file.
    TempWritten(FileStep),
    BeforeRename(Step),
    AfterRename(Step),
    /// Every step done, no commit record yet.
    BeforeCommit,
    /// Commit record written, cleanup not yet done.
    AfterCommit,
}

impl Checkpoint {
    /// The name `GOLOCK_TEST_CHECKPOINT` takes.
    pub fn name(self) -> String {
        match self {
            Checkpoint::AfterStaging => "after-staging".into(),
            Checkpoint::BeforeHealthCheck => "before-health-check".into(),
            Checkpoint::TempWritten(s) => format!("after-temp-write-{}", s.name()),
            Checkpoint::BeforeRename(s) => format!("before-rename-{}", s.name()),
            Checkpoint::AfterRename(s) => format!("after-rename-{}", s.name()),
            Checkpoint::BeforeCommit => "before-commit".into(),
            Checkpoint::AfterCommit => "after-commit".into(),
        }
    }

    pub fn from_name(name: &str) -> Option<Checkpoint> {
        ALL.iter().copied().find(|c| c.name() == name)
    }
}

impl fmt::Display for Checkpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

/// Park here if a test asked for this checkpoint; leave when interrupted.
pub fn reach(checkpoint: Checkpoint) {
    let Some(wanted) = std::env::var_os("GOLOCK_TEST_CHECKPOINT") else {
        return;
    };
    let name = checkpoint.name();
    if wanted != name.as_str() {
        return;
    }
    if let Some(file) = std::env::var_os("GOLOCK_TEST_CHECKPOINT_FILE") {
        let _ = crate::fsx::write(file, &name);
    }
    while crate::txn::interrupt::received().is_none() {
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn names_are_unique_and_parse_back() {
        let names: BTreeSet<String> = ALL.iter().map(|c| c.name()).collect();
        assert_eq!(names.len(), ALL.len());
        for c in ALL {
            assert_eq!(Checkpoint::from_name(&c.name()), Some(*c));
        }
    }

    /// The env var keeps taking the names it took before checkpoints were typed.
    #[test]
    fn earlier_names_still_work() {
        for name in [
            "after-staging",
            "before-rename-toolchain-aside",
            "after-rename-toolchain",
            "after-temp-write-manifest",
            "before-rename-modules",
            "after-rename-modules-list",
            "before-rename-link",
            "after-rename-extra-link",
            "after-temp-write-profile",
            "before-rename-goenv",
            "after-rename-prune",
            "after-temp-write-state",
            "before-commit",
            "after-commit",
            "before-rename-module-aside",
            "after-rename-module-remove",
            "after-temp-write-list",
        ] {
            assert!(Checkpoint::from_name(name).is_some(), "{name}");
        }
    }

    /// README's checkpoint table names exactly the checkpoints of `ALL`.
    #[test]
    fn readme_lists_every_checkpoint() {
        let readme = include_str!("../../README.md");
        let section = readme
            .split("### Checkpoints")
            .nth(1)
            .and_then(|s| s.split("\n## ").next())
            .expect("README has a Checkpoints section");
        let listed: BTreeSet<&str> = section
            .lines()
            .filter(|l| l.starts_with("| `"))
            .filter_map(|l| l.split('|').nth(1))
            .flat_map(|cell| cell.split('`').skip(1).step_by(2))
            .collect();
        let all: Vec<String> = ALL.iter().map(|c| c.name()).collect();
        let all: BTreeSet<&str> = all.iter().map(String::as_str).collect();
        assert_eq!(listed, all);
    }
}
