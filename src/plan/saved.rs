//! A plan saved by `plan --out` and executed by `apply --plan`: it is read
//! back from disk, so it is accepted only for the same lockfile, the same
//! plan format and an unchanged host.

use std::path::{Path, PathBuf};

use super::{FORMAT_VERSION, Plan};

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum SavedPlanError {
    #[error("the saved plan {} was made for another lockfile or golock version", path.display())]
    #[diagnostic(code(golock::plan_mismatch), help("run `golock plan --out` again"))]
    Mismatch { path: PathBuf },
    #[error("the saved plan {} is stale: the host changed since it was made", path.display())]
    #[diagnostic(
        code(golock::stale_plan),
        help("run `golock plan --out` again and review the new plan")
    )]
    Stale { path: PathBuf },
    #[error("{} is not a golock plan: {source}", path.display())]
    #[diagnostic(code(golock::bad_plan))]
    NotAPlan {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
}

impl Plan {
    /// The plan in `bytes` (read from `path`), if it was made for the lockfile
    /// with this sha256 (hex) and for a host whose observation still has this
    /// fingerprint.
    pub fn from_saved(
        bytes: &[u8],
        path: &Path,
        lockfile_sha256: &str,
        observed_fingerprint: &str,
    ) -> Result<Plan, SavedPlanError> {
        let plan: Plan =
            serde_json::from_slice(bytes).map_err(|source| SavedPlanError::NotAPlan {
                path: path.to_path_buf(),
                source,
            })?;
        if plan.format_version != FORMAT_VERSION || plan.lockfile_sha256 != lockfile_sha256 {
            return Err(SavedPlanError::Mismatch {
                path: path.to_path_buf(),
            });
        }
        if plan.observed_fingerprint != observed_fingerprint {
            return Err(SavedPlanError::Stale {
                path: path.to_path_buf(),
            });
        }
        Ok(plan)
    }

    /// The stable JSON form (`plan --json`, `plan --out`).
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}
