//! Per-repo activation (`golock env`, `golock exec`): the environment that
//! puts *this* lockfile's installed toolchain first, without switching the
//! host's link or touching a profile file.
//!
//! Cheap on purpose (it runs at every shell prompt through direnv): it parses
//! nothing but the lockfile and looks only at the toolchain dir, as
//! [`super::check_toolchain`] does (`VERSION` names it, `bin/go` is there).
//! No lock, no state.json, no writes, no rehash.

use std::ffi::{OsStr, OsString};
use std::path::PathBuf;
use std::process::Command;

use super::layout::Layout;
use super::{ToolchainState, check_toolchain};
use crate::lockfile::Lockfile;
use crate::profile::{self, ProfileError, Shell};

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum ActivateError {
    #[error("go{version}, which {} locks, is not installed in {} ({reason})", lockfile.display(), dir.display())]
    #[diagnostic(
        code(golock::activate::not_installed),
        help(
            "run golock apply (with this golock.toml) to install it; golock env and exec never install"
        )
    )]
    NotInstalled {
        version: String,
        lockfile: PathBuf,
        dir: PathBuf,
        reason: String,
    },
    #[error(transparent)]
    #[diagnostic(transparent)]
    Profile(#[from] ProfileError),
}

/// What a repo's shell needs: its toolchain's GOROOT and golock.toml's `[env]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Activation {
    pub goroot: PathBuf,
    pub env: Vec<(String, String)>,
}

impl Activation {
    /// The activation for `lock`, if its toolchain is installed and well-formed.
    pub fn for_lockfile(lock: &Lockfile, layout: &Layout) -> Result<Activation, ActivateError> {
        let dir_name = lock.go.version.dir_name();
        let goroot = layout.toolchain_dir(&dir_name);
        let reason = match check_toolchain(&goroot, &dir_name) {
            ToolchainState::Valid => None,
            ToolchainState::Invalid { reason } | ToolchainState::Damaged { reason } => Some(reason),
        };
        if let Some(reason) = reason {
            let reason = match goroot.is_dir() {
                true => reason,
                false => "no such directory".to_string(),
            };
            return Err(ActivateError::NotInstalled {
                version: lock.go.version.to_string(),
                lockfile: lock.path.clone(),
                dir: goroot,
                reason,
            });
        }
        Ok(Activation {
            goroot,
            env: lock.env.clone(),
        })
    }

    /// The export lines for `shell`, for `eval "$(golock env)"`.
    pub fn script(&self, shell: Shell) -> Result<String, ActivateError> {
        Ok(profile::try_render_activation(
            shell,
            &self.goroot,
            &self.env,
        )?)
    }

    /// `program args…` with this environment on top of the current one: the
    /// same variables [`Activation::script`] exports, and `PATH` with the
    /// toolchain's bin first (the program is looked up on that PATH).
    pub fn command(&self, program: &OsStr, args: &[OsString]) -> Command {
        let mut cmd = Command::new(program);
        cmd.args(args)
            .env("GOROOT", &self.goroot)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .env("PATH", self.path(std::env::var_os("PATH")));
        cmd
    }

    /// `current` with the toolchain's bin first and every other copy of it
    /// dropped, as the profile block's PATH logic does.
    pub fn path(&self, current: Option<OsString>) -> OsString {
        let bin = self.goroot.join("bin");
        let mut entries = vec![bin.clone()];
        if let Some(current) = current.filter(|c| !c.is_empty()) {
            entries.extend(std::env::split_paths(&current).filter(|p| *p != bin));
        }
        join_paths(&entries)
    }
}

/// Joined with `:`; an entry holding a `:` (which `join_paths` refuses)
/// cannot be one PATH entry anyway, so it is kept verbatim.
fn join_paths(entries: &[PathBuf]) -> OsString {
    std::env::join_paths(entries).unwrap_or_else(|_| {
        let mut joined = OsString::new();
        for (i, entry) in entries.iter().enumerate() {
            if i > 0 {
                joined.push(":");
            }
            joined.push(entry.as_os_str());
        }
        joined
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn activation() -> Activation {
        Activation {
            goroot: PathBuf::from("/r/toolchains/go1.27.3"),
            env: vec![("GOFLAGS".into(), "-mod=mod".into())],
        }
    }

    #[test]
    fn path_puts_the_toolchain_first_exactly_once() {
        let a = activation();
        let path = a.path(Some("/usr/bin:/r/toolchains/go1.27.3/bin:/bin".into()));
        assert_eq!(path, "/r/toolchains/go1.27.3/bin:/usr/bin:/bin");
        assert_eq!(a.path(Some(path.clone())), path);
        assert_eq!(a.path(None), "/r/toolchains/go1.27.3/bin");
        assert_eq!(a.path(Some("".into())), "/r/toolchains/go1.27.3/bin");
    }

    #[test]
    fn command_carries_goroot_env_and_path() {
        let a = activation();
        let cmd = a.command(OsStr::new("go"), &["version".into()]);
        let envs: Vec<(String, String)> = cmd
            .get_envs()
            .map(|(k, v)| {
                (
                    k.to_string_lossy().into_owned(),
                    v.unwrap_or_default().to_string_lossy().into_owned(),
                )
            })
            .collect();
        assert!(envs.contains(&("GOROOT".into(), "/r/toolchains/go1.27.3".into())));
        assert!(envs.contains(&("GOFLAGS".into(), "-mod=mod".into())));
        let path = &envs.iter().find(|(k, _)| k == "PATH").unwrap().1;
        assert!(path.starts_with("/r/toolchains/go1.27.3/bin"), "{path}");
    }

    #[test]
    fn script_has_no_markers_and_refuses_reserved_names() {
        let a = activation();
        let posix = a.script(Shell::Posix).unwrap();
        assert!(
            posix
                .starts_with("export GOROOT='/r/toolchains/go1.27.3'\nexport GOFLAGS='-mod=mod'\n")
        );
        assert!(!posix.contains(profile::BEGIN_MARKER));
        let fish = a.script(Shell::Fish).unwrap();
        assert!(fish.starts_with("set -gx GOROOT '/r/toolchains/go1.27.3'\n"));
        let bad = Activation {
            env: vec![("PATH".into(), "x".into())],
            ..a
        };
        assert!(bad.script(Shell::Posix).is_err());
    }
}
