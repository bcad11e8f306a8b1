//! The plan: a pure function from what golock.toml wants and what the host
//! has to an ordered list of actions. `Display` prints it for people; serde
//! gives the stable `--json` form that `apply --plan` executes.

mod action;
mod diff;
mod finding;
mod render;
mod saved;
#[cfg(test)]
mod tests;
mod uninstall;

pub use action::{Action, FileRole, LinkRole, Sigil};
pub use diff::{PlanError, PlanOptions, plan};
pub use render::NO_CHANGES as NO_CHANGES_MESSAGE;
pub use saved::SavedPlanError;
pub use uninstall::{NOTHING_TO_UNINSTALL, UninstallOptions, uninstall};

use serde::{Deserialize, Serialize};

use crate::host::state::State;

/// Bumped when the JSON shape changes incompatibly.
pub const FORMAT_VERSION: u32 = 1;

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Plan {
    pub format_version: u32,
    pub golock_version: String,
    pub lockfile: std::path::PathBuf,
    pub lockfile_sha256: String,
    pub platform: String,
    /// Fingerprint of the observed host the plan was computed from.
    pub observed_fingerprint: String,
    pub actions: Vec<Action>,
    /// Things already as golock.toml wants them.
    pub in_place: Vec<String>,
    pub summary: Summary,
    /// Things about the host the user should know that do not stop the
    /// apply (a profile file with CRLF lines, …).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// golock's state after a successful apply of this plan.
    pub state_after: State,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub install: usize,
    pub change: usize,
    pub remove: usize,
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.actions.is_empty()
    }

    /// The first profile file (in golock.toml's order) this plan gives
    /// golock's block for the first time, if any.
    pub fn first_new_profile_block(&self) -> Option<&std::path::Path> {
        self.actions.iter().find_map(|a| match a {
            Action::WriteFile {
                role: FileRole::Profile,
                adds_block: true,
                path,
                ..
            } => Some(path.as_path()),
            _ => None,
        })
    }
}

impl Summary {
    pub fn of(actions: &[Action]) -> Summary {
        let mut s = Summary::default();
        for a in actions {
            match a.sigil() {
                Sigil::Add => s.install += 1,
                Sigil::Change => s.change += 1,
                Sigil::Remove => s.remove += 1,
            }
        }
        s
    }
}
