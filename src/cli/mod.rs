//! The command line: parsed arguments ([`args`]) in, an exit code out. Each
//! command has a handler of its own (`cli/<command>.rs`) that turns its
//! options into library calls and renders what they return; the domain
//! logic lives in the pipeline stages (lockfile → host → plan → apply → txn)
//! and the leaf modules. [`context`] holds what every handler shares: paths,
//! output settings and recovery of an interrupted apply.

mod apply;
mod args;
mod bundle;
mod check;
mod context;
mod docs;
mod env;
mod error;
mod history;
mod hook;
mod init;
mod lock;
mod mirror;
mod output;
mod plan;
mod progress;
mod recover;
mod rollback;
mod status;
mod uninstall;
mod verify;

pub use args::*;
pub use error::CommandError;

use context::Context;
use error::Result;
use output::statusln;

use crate::apply::ApplyError;
use crate::txn::interrupt;

/// Exit codes shared by every command.
pub mod exit {
    pub const OK: u8 = 0;
    /// Any error, usage errors (unknown flags, bad values) included.
    pub const ERROR: u8 = 1;
    /// `plan --detailed-exitcode` with changes; `check` with drift.
    pub const CHANGES: u8 = 2;
    /// Stdout's reader left early: 128 + SIGPIPE, what a shell reports for
    /// a command SIGPIPE stopped.
    pub const STDOUT_CLOSED: u8 = 141;
    /// `exec`: the command is not on the PATH it runs with (as shells say).
    pub const COMMAND_NOT_FOUND: u8 = 127;
    /// `exec`: the command was found but could not be run (as shells say).
    pub const CANNOT_EXECUTE: u8 = 126;
}

/// Parse the command line. A usage error (clap's own code is 2, the code
/// for drift) is printed and exits [`exit::ERROR`]; `--help` and
/// `--version` print to stdout and exit [`exit::OK`].
pub fn parse() -> std::result::Result<Cli, u8> {
    use clap::Parser;
    Cli::try_parse().map_err(|usage| {
        let _ = usage.print();
        if usage.use_stderr() {
            exit::ERROR
        } else {
            exit::OK
        }
    })
}

/// The exit code for what [`run`] returned, after saying what went wrong.
pub fn finish(result: Result<u8>) -> u8 {
    match result {
        Ok(code) => {
            if let Some(signal) = interrupt::received() {
                statusln!("golock: {signal} arrived after the commit: the apply completed");
            }
            code
        }
        Err(CommandError::Apply(ApplyError::Interrupted { signal })) => {
            statusln!("golock: interrupted: rolled back, nothing changed ({signal})");
            signal.exit_code()
        }
        Err(CommandError::StdoutClosed) => exit::STDOUT_CLOSED,
        Err(err @ (CommandError::ExecNotFound { .. } | CommandError::ExecFailed { .. })) => {
            let code = match err {
                CommandError::ExecNotFound { .. } => exit::COMMAND_NOT_FOUND,
                _ => exit::CANNOT_EXECUTE,
            };
            statusln!("{:?}", miette::Report::new(err));
            code
        }
        Err(err) => {
            statusln!("{:?}", miette::Report::new(err));
            exit::ERROR
        }
    }
}

/// Run the command `cli` names; the exit code it asks for.
pub fn run(cli: &Cli) -> Result<u8> {
    set_color(cli.global.color);
    match &cli.command {
        Command::Completions(args) => return docs::completions(args),
        Command::Man(args) => return docs::man(args),
        _ => {}
    }
    let ctx = Context::from_global(&cli.global)?;
    match &cli.command {
        Command::Recover(args) => recover::run(&ctx, args),
        Command::Plan(args) => {
            ctx.refuse_pending()?;
            plan::run(&ctx, args)
        }
        Command::Apply(args) => apply::run(&ctx, args),
        Command::Check(args) => check::run(&ctx, args),
        Command::Lock(args) => lock::run(&ctx, args),
        Command::Init(args) => init::run(&ctx, args),
        Command::Bundle(args) => bundle::run(&ctx, args),
        Command::Mirror(args) => mirror::run(&ctx, args),
        Command::Verify(args) => verify::run(&ctx, args),
        Command::Uninstall(args) => uninstall::run(&ctx, args),
        Command::Status(args) => status::run(&ctx, args),
        Command::History(args) => history::run(&ctx, args),
        Command::Rollback(args) => rollback::run(&ctx, args),
        Command::Env(args) => env::run(&ctx, args),
        Command::Exec(args) => env::exec(&ctx, args),
        Command::Hook(args) => hook::run(&ctx, args),
        Command::Completions(_) | Command::Man(_) => unreachable!("handled above"),
    }
}

fn set_color(choice: ColorChoice) {
    match choice {
        ColorChoice::Auto => {}
        ColorChoice::Always => {
            console::set_colors_enabled(true);
            console::set_colors_enabled_stderr(true);
        }
        ColorChoice::Never => {
            console::set_colors_enabled(false);
            console::set_colors_enabled_stderr(false);
        }
    }
}
