//! The human form of a plan, in the manner of `terraform plan`: one line per
//! action with its sigil, the unified diff of every file edit, a summary.

use std::fmt;
use std::path::Path;

use console::Style;

use super::action::{Action, FileRole, LinkRole, Sigil};
use super::{Plan, Summary};

pub const NO_CHANGES: &str = "No changes. The host matches golock.toml.";

impl Sigil {
    fn style(self) -> Style {
        match self {
            Sigil::Add => Style::new().green(),
            Sigil::Change => Style::new().yellow(),
            Sigil::Remove => Style::new().red(),
        }
    }
}

impl Plan {
    /// One line per action, sigil first, without colour or diffs (the
    /// history's record of what an apply did).
    pub fn action_lines(&self) -> Vec<String> {
        self.actions
            .iter()
            .map(|a| format!("{} {}", a.sigil().symbol(), a.headline()))
            .collect()
    }
}

/// `, signature by FPR (keys/a.asc)` (or `one of …`) for a toolchain
/// install under `[go] signing_keys`; empty without keys.
fn signed_by_note(keys: &[String]) -> String {
    match keys {
        [] => String::new(),
        [one] => format!(", signature by {one}"),
        many => format!(", signature by one of {}", many.join(", ")),
    }
}

impl Action {
    /// One line saying what the action does, without its diff.
    pub fn headline(&self) -> String {
        match self {
            Action::InstallToolchain {
                version,
                platform,
                file,
                target,
                replaces,
                signed_by,
                ..
            } => {
                let mut s = format!(
                    "install go{version} ({platform}) from {file} into {}",
                    target.display()
                );
                if let Some(why) = replaces {
                    s.push_str(&format!(" (replacing a broken install: {why})"));
                }
                s.push_str(&signed_by_note(signed_by));
                s
            }
            Action::SwitchLink {
                role,
                link,
                from,
                to,
            } => {
                let what = match role {
                    LinkRole::Active => "link",
                    LinkRole::Extra => "system link",
                };
                match from {
                    Some(old) => format!(
                        "switch {what} {} -> {} (was {})",
                        link.display(),
                        to.display(),
                        old.display()
                    ),
                    None => format!("create {what} {} -> {}", link.display(), to.display()),
                }
            }
            Action::WriteFile {
                role,
                path,
                write_path,
                before_sha256,
                ..
            } => {
                let verb = if before_sha256.is_some() {
                    "update"
                } else {
                    "create"
                };
                let shown = shown_path(path, write_path);
                match role {
                    FileRole::Profile => format!("{verb} golock block in {shown}"),
                    FileRole::GoEnv => format!("{verb} go env file {shown}"),
                }
            }
            Action::ReinstallToolchain {
                version,
                reason,
                signed_by,
                ..
            } => format!(
                "reinstall go{version} ({reason}){}",
                signed_by_note(signed_by)
            ),
            Action::RemoveBlock {
                path, write_path, ..
            } => format!("remove golock block in {}", shown_path(path, write_path)),
            Action::RemoveToolchain { version, dir } => {
                format!("remove go{version} ({})", dir.display())
            }
            Action::AddModule {
                path,
                version,
                repair,
                ..
            } => match repair {
                Some(why) => format!("module {path}@{version} (repair: {why})"),
                None => format!("module {path}@{version}"),
            },
            Action::RemoveLink { role, link, target } => {
                let what = match role {
                    LinkRole::Active => "link",
                    LinkRole::Extra => "system link",
                };
                format!("remove {what} {} -> {}", link.display(), target.display())
            }
            Action::RemoveFile {
                role,
                path,
                write_path,
                ..
            } => {
                let shown = shown_path(path, write_path);
                match role {
                    FileRole::Profile => format!("remove {shown} (golock created it)"),
                    FileRole::GoEnv => format!("remove go env file {shown} (golock created it)"),
                }
            }
            Action::RemoveModule { path, version, .. } => {
                format!("remove module {path}@{version}")
            }
        }
    }

    pub fn diff(&self) -> Option<&str> {
        match self {
            Action::WriteFile { diff, .. }
            | Action::RemoveBlock { diff, .. }
            | Action::RemoveFile { diff, .. }
                if !diff.is_empty() =>
            {
                Some(diff)
            }
            _ => None,
        }
    }
}

/// Through a symlink: name the file that is really written.
fn shown_path(path: &Path, write_path: &Path) -> String {
    if write_path == path {
        path.display().to_string()
    } else {
        format!("{} \u{2192} {}", path.display(), write_path.display())
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Plan: {} to install, {} to change, {} to remove.",
            self.install, self.change, self.remove
        )
    }
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            return writeln!(f, "{NO_CHANGES}");
        }
        writeln!(f, "golock will perform the following actions:\n")?;
        for action in &self.actions {
            let sigil = action.sigil();
            writeln!(
                f,
                "  {} {}",
                sigil.style().apply_to(sigil.symbol()),
                action.headline()
            )?;
            if let Some(diff) = action.diff() {
                write_diff(f, diff)?;
            }
        }
        writeln!(f, "\n{}", Style::new().bold().apply_to(self.summary))
    }
}

fn write_diff(f: &mut fmt::Formatter<'_>, diff: &str) -> fmt::Result {
    for line in diff.lines() {
        let style = if line.starts_with("+++") || line.starts_with("---") {
            Style::new().bold()
        } else if line.starts_with('+') {
            Style::new().green()
        } else if line.starts_with('-') {
            Style::new().red()
        } else if line.starts_with("@@") {
            Style::new().cyan()
        } else {
            Style::new()
        };
        writeln!(f, "      {}", style.apply_to(line))?;
    }
    Ok(())
}
