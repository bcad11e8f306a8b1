//! `golock env` and `golock exec`: this lockfile's toolchain and `[env]` for
//! one shell or one command, without switching the host (see
//! [`crate::host::activate`]). Both read only: no lock, no writes.

use std::ffi::OsString;
use std::os::unix::process::CommandExt as _;

use super::args::{EnvArgs, EnvShell, ExecArgs};
use super::context::Context;
use super::error::{CommandError, Result};
use super::exit;
use super::output::out;
use crate::host::activate::Activation;
use crate::profile::Shell;

pub(super) fn run(ctx: &Context, args: &EnvArgs) -> Result<u8> {
    let activation = activation(ctx)?;
    let shell = args.shell.map_or_else(login_shell, EnvShell::syntax);
    let script = activation.script(shell)?;
    out(format_args!("{script}"))?;
    Ok(exit::OK)
}

/// Replaces golock with the command (exec(2)): its signals and exit code
/// are the command's own. Returns only when the exec failed.
pub(super) fn exec(ctx: &Context, args: &ExecArgs) -> Result<u8> {
    let activation = activation(ctx)?;
    let (program, rest) = args
        .command
        .split_first()
        .ok_or(CommandError::ExecNothing)?;
    let failure = activation.command(program, rest).exec();
    Err(exec_error(program.clone(), failure))
}

fn activation(ctx: &Context) -> Result<Activation> {
    let lock = ctx.load_lockfile()?;
    Ok(Activation::for_lockfile(&lock, &ctx.layout)?)
}

fn exec_error(program: OsString, source: std::io::Error) -> CommandError {
    let program = program.to_string_lossy().into_owned();
    match source.kind() {
        std::io::ErrorKind::NotFound => CommandError::ExecNotFound { program },
        _ => CommandError::ExecFailed { program, source },
    }
}

/// The syntax of `$SHELL` (fish, else POSIX sh).
fn login_shell() -> Shell {
    let shell = std::env::var_os("SHELL").unwrap_or_default();
    match std::path::Path::new(&shell).file_name() {
        Some(name) if name == "fish" => Shell::Fish,
        _ => Shell::Posix,
    }
}
