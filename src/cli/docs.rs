//! `golock completions SHELL` and the hidden `golock man`: scripts and the
//! man page generated from the command line's own definition ([`Cli`]), so
//! they never disagree with `--help`. Neither needs a lockfile or a host.

use clap::CommandFactory;

use super::args::{Cli, CompletionShell, CompletionsArgs, ManArgs};
use super::error::{CommandError, Result};
use super::exit;
use super::output::out_bytes;

/// Print the completion script for `args.shell`.
pub fn completions(args: &CompletionsArgs) -> Result<u8> {
    let mut command = Cli::command();
    let mut script = Vec::new();
    clap_complete::generate(shell(args.shell), &mut command, "golock", &mut script);
    out_bytes(&script)?;
    Ok(exit::OK)
}

/// Print the man page (roff) of golock, or of the command `args` names.
pub fn man(args: &ManArgs) -> Result<u8> {
    let mut golock = Cli::command();
    // Building names each subcommand's page `golock-COMMAND`.
    golock.build();
    let command = match &args.command {
        None => golock,
        Some(name) => golock
            .find_subcommand(name)
            .cloned()
            .ok_or_else(|| CommandError::UnknownManPage { name: name.clone() })?,
    };
    let mut page = Vec::new();
    clap_mangen::Man::new(command)
        .render(&mut page)
        .map_err(|source| CommandError::Stdout { source })?;
    out_bytes(&page)?;
    Ok(exit::OK)
}

fn shell(choice: CompletionShell) -> clap_complete::Shell {
    match choice {
        CompletionShell::Bash => clap_complete::Shell::Bash,
        CompletionShell::Zsh => clap_complete::Shell::Zsh,
        CompletionShell::Fish => clap_complete::Shell::Fish,
    }
}
