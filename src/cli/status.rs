//! `golock status`: what golock manages on this host, as short aligned
//! sections (or `--json`). Reads only; exits 0 whatever it finds.

use std::path::PathBuf;

use serde::Serialize;

use super::args::StatusArgs;
use super::context::Context;
use super::error::Result;
use super::exit;
use super::output::outln;
use crate::host::status::{HostStatus, ToolchainStatus};
use crate::host::{self, layout::Layout};
use crate::{fsx, txn};

/// `--json`'s document (schemas/status.schema.json).
#[derive(Serialize)]
struct StatusDoc {
    format_version: u32,
    root: PathBuf,
    /// The golock.toml read, `None` when there is none.
    lockfile: Option<PathBuf>,
    #[serde(flatten)]
    host: HostStatus,
    last_apply_utc: Option<String>,
    /// The history's last entry.
    last_change: Option<crate::history::Entry>,
    pending: Vec<PendingDoc>,
}

#[derive(Serialize)]
struct PendingDoc {
    journal: PathBuf,
    started: Option<u64>,
    /// The pid of a golock running that apply now.
    running: Option<String>,
}

pub(super) fn run(ctx: &Context, args: &StatusArgs) -> Result<u8> {
    let lockfile = ctx.lockfile_path().filter(|p| fsx::exists_no_follow(p));
    let lock = match &lockfile {
        Some(_) => Some(ctx.load_lockfile()?),
        None => None,
    };
    let host = host::status::status(&ctx.layout, lock.as_ref())?;
    let pending = txn::pending(&ctx.layout)?;
    let doc = StatusDoc {
        format_version: 1,
        root: ctx.layout.root.clone(),
        lockfile,
        last_apply_utc: host.last_apply.map(txn::utc),
        last_change: super::history::last_entry(ctx),
        host,
        pending: pending
            .iter()
            .map(|p| PendingDoc {
                journal: p.journal.clone(),
                started: p.started,
                running: p.running.clone(),
            })
            .collect(),
    };
    if args.json {
        outln!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default())?;
    } else {
        let pending: Vec<String> = pending.iter().map(ToString::to_string).collect();
        render(&ctx.layout, &doc, &pending)?;
    }
    Ok(exit::OK)
}

/// `rustup show`-like sections: a label column, then the value.
fn render(layout: &Layout, doc: &StatusDoc, pending: &[String]) -> Result<()> {
    let host = &doc.host;
    row("Data dir", &doc.root.display().to_string())?;
    row(
        "Lockfile",
        &doc.lockfile
            .as_ref()
            .map_or("none found".to_string(), |p| p.display().to_string()),
    )?;
    row(
        "Active toolchain",
        &host.active.as_ref().map_or("none".to_string(), |a| {
            format!(
                "{} ({} -> {})",
                a.toolchain.as_deref().unwrap_or("not golock's"),
                a.link.display(),
                a.target.display()
            )
        }),
    )?;
    if host.toolchains.is_empty() {
        row("Toolchains", "none installed")?;
    } else {
        outln!("Toolchains:")?;
        for t in &host.toolchains {
            outln!("  {}", toolchain_line(t))?;
        }
    }
    row(
        "Module cache",
        &host.module_cache.path.display().to_string(),
    )?;
    let cache = &host.module_cache;
    if let (Some(locked), Some(present)) = (cache.locked, cache.locked_present) {
        row("  locked", &format!("{locked} ({present} present)"))?;
    }
    row("  cached", &format!("{} module version(s)", cache.cached))?;
    let blocks: Vec<String> = host
        .profile_blocks
        .iter()
        .map(|p| layout.display_path(p))
        .collect();
    row("Profile blocks", &list_or_none(&blocks))?;
    row("Go env keys", &list_or_none(&host.goenv_keys))?;
    if pending.is_empty() {
        row("Pending journal", "none")?;
    }
    for line in pending {
        row("Pending journal", line)?;
    }
    row(
        "Last apply",
        doc.last_apply_utc.as_deref().unwrap_or("never"),
    )?;
    match &doc.last_change {
        None => row("Last change", "none recorded"),
        // The head and the lockfile; `golock history -n 1` lists the actions.
        Some(entry) => {
            let lines = super::history::entry_lines(entry);
            row("Last change", lines[0].trim())?;
            if entry.lockfile.is_some() {
                outln!("{:<14}{}", "", lines[1])?;
            }
            let count = entry.actions.len() + entry.actions_omitted;
            outln!("{:<18}{count} action(s) (`golock history -n 1`)", "")
        }
    }
}

fn row(label: &str, value: &str) -> Result<()> {
    outln!("{:<18}{value}", format!("{label}:"))
}

fn toolchain_line(t: &ToolchainStatus) -> String {
    let marker = if t.active { "*" } else { " " };
    let mut line = format!(
        "{marker} {:<12} {:>10}  {}",
        t.name,
        human_size(t.size_bytes),
        t.platform.as_deref().unwrap_or("-"),
    );
    match &t.archive_sha256 {
        Some(sha) => line.push_str(&format!("  sha256 {sha}")),
        None => line.push_str("  (not installed by golock)"),
    }
    if let Some(problem) = &t.problem {
        line.push_str(&format!("  [{problem}]"));
    }
    line
}

fn list_or_none(items: &[String]) -> String {
    if items.is_empty() {
        "none".to_string()
    } else {
        items.join(", ")
    }
}

/// `123.4 MiB`: binary units, one decimal.
fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}
