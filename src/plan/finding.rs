//! A planned action as drift, for `check --json`: what it changes, what is
//! there now and what golock.toml wants, and that `golock apply` fixes it.

use std::path::Path;

use super::action::{Action, FileRole};
use crate::host::verify::Finding;

const APPLY: &str = "golock apply";

impl Action {
    /// This action as one drifted item; `message` is `check`'s text line.
    pub fn finding(&self) -> Finding {
        let (kind, path, module, expected, actual) = self.drift_parts();
        Finding {
            kind: kind.to_string(),
            path: path.map(|p| p.display().to_string()),
            module,
            expected,
            actual,
            message: format!("host: {}", self.headline()),
            fix: APPLY.to_string(),
        }
    }

    #[allow(clippy::type_complexity)]
    fn drift_parts(
        &self,
    ) -> (
        &'static str,
        Option<&Path>,
        Option<String>,
        Option<String>,
        Option<String>,
    ) {
        let sha = |s: &str| Some(format!("archive sha256 {s}"));
        match self {
            Action::InstallToolchain {
                version,
                sha256,
                target,
                replaces,
                ..
            } => (
                "toolchain_missing",
                Some(target),
                None,
                sha(sha256).map(|s| format!("go{version} from {s}")),
                Some(replaces.clone().unwrap_or_else(|| "not installed".into())),
            ),
            Action::ReinstallToolchain {
                version,
                sha256,
                target,
                reason,
                ..
            } => (
                "toolchain_differs",
                Some(target),
                None,
                sha(sha256).map(|s| format!("go{version} from {s}")),
                Some(reason.clone()),
            ),
            Action::SwitchLink { link, from, to, .. } => (
                "link",
                Some(link),
                None,
                Some(to.display().to_string()),
                Some(
                    from.as_ref()
                        .map_or("missing".into(), |f| f.display().to_string()),
                ),
            ),
            Action::WriteFile {
                role,
                path,
                before_sha256,
                ..
            } => (
                match role {
                    FileRole::Profile => "profile_block",
                    FileRole::GoEnv => "goenv_file",
                },
                Some(path),
                None,
                Some("the content golock.toml renders".into()),
                Some(
                    before_sha256
                        .as_ref()
                        .map_or("missing".into(), |s| format!("sha256 {s}")),
                ),
            ),
            Action::RemoveBlock { path, .. } => (
                "profile_block_unlisted",
                Some(path),
                None,
                Some("no golock block (not in [profile] files)".into()),
                Some("a golock block".into()),
            ),
            Action::RemoveToolchain { version, dir } => (
                "toolchain_unlocked",
                Some(dir),
                None,
                Some("not installed (not in golock.toml)".into()),
                Some(format!("go{version} installed")),
            ),
            Action::AddModule {
                path,
                version,
                zip,
                go_mod,
                repair,
                ..
            } => (
                if repair.is_some() {
                    "module_damaged"
                } else {
                    "module_missing"
                },
                None,
                Some(format!("{path}@{version}")),
                Some(zip.clone().unwrap_or_else(|| go_mod.clone())),
                Some(repair.clone().unwrap_or_else(|| "missing".into())),
            ),
            // Only `uninstall` plans these; described for completeness.
            Action::RemoveLink { link, target, .. } => (
                "link_removed",
                Some(link),
                None,
                Some("no link".into()),
                Some(target.display().to_string()),
            ),
            Action::RemoveFile { path, .. } => (
                "file_removed",
                Some(path),
                None,
                Some("no file".into()),
                Some("a file golock created".into()),
            ),
            Action::RemoveModule { path, version, .. } => (
                "module_unlocked",
                None,
                Some(format!("{path}@{version}")),
                Some("not cached (not in golock.toml)".into()),
                Some("cached".into()),
            ),
        }
    }
}
