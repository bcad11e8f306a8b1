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
mod error;
mod init;
mod lock;
mod plan;
mod progress;
mod recover;
mod verify;

pub use args::*;
pub use error::CommandError;

use context::Context;
use error::Result;

/// Exit codes shared by every command.
pub mod exit {
    pub const OK: u8 = 0;
    pub const ERROR: u8 = 1;
    /// `plan --detailed-exitcode` with changes; `check` with drift.
    pub const CHANGES: u8 = 2;
}

/// Run the command `cli` names; the exit code it asks for.
pub fn run(cli: &Cli) -> Result<u8> {
    set_color(cli.global.color);
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
        Command::Verify(args) => verify::run(&ctx, args),
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
