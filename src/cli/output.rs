//! Where a command's words go. Stdout carries what was asked for (plans,
//! drift lines, JSON): a reader that left early (`golock plan | head -1`)
//! stops the command quietly with [`exit::STDOUT_CLOSED`](super::exit),
//! before anything else happens, as a command killed by SIGPIPE would;
//! other write failures are errors. Stderr carries status lines and
//! diagnostics, written on a best-effort basis: a closed stderr silences
//! them and never stops the command.

use std::fmt;
use std::io::{self, Write};

use super::error::{CommandError, Result};
use crate::host::verify::Finding;

/// Write to stdout (and flush, so a closed reader is noticed here).
pub(crate) fn out(args: fmt::Arguments) -> Result<()> {
    let mut stdout = io::stdout().lock();
    stdout
        .write_fmt(args)
        .and_then(|()| stdout.flush())
        .map_err(stdout_error)
}

/// Write bytes as they are to stdout (and flush), as [`out`] does.
pub(crate) fn out_bytes(bytes: &[u8]) -> Result<()> {
    let mut stdout = io::stdout().lock();
    stdout
        .write_all(bytes)
        .and_then(|()| stdout.flush())
        .map_err(stdout_error)
}

/// Write a status or diagnostic line to stderr, ignoring failures.
pub(crate) fn status(args: fmt::Arguments) {
    let mut stderr = io::stderr().lock();
    let _ = stderr.write_fmt(args).and_then(|()| stderr.flush());
}

/// `check --json` and `verify --json` (schemas/drift.schema.json): one item per drifted or damaged thing.
pub(crate) fn findings_json(items: &[Finding]) -> String {
    let doc = serde_json::json!({
        "format_version": 1,
        "in_sync": items.is_empty(),
        "items": items,
    });
    serde_json::to_string_pretty(&doc).unwrap_or_default()
}

fn stdout_error(source: io::Error) -> CommandError {
    if source.kind() == io::ErrorKind::BrokenPipe {
        CommandError::StdoutClosed
    } else {
        CommandError::Stdout { source }
    }
}

/// `println!` through [`out`]: `Err` when stdout cannot take it.
macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::cli::output::out(format_args!("{}\n", format_args!($($arg)*)))
    };
}

/// `eprintln!` through [`status`]: never panics, never fails.
macro_rules! statusln {
    ($($arg:tt)*) => {
        $crate::cli::output::status(format_args!("{}\n", format_args!($($arg)*)))
    };
}

pub(crate) use {outln, statusln};
