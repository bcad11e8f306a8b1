//! How an apply's progress is shown: a bar per archive on stderr when it is
//! a terminal, nothing otherwise (pipes, CI logs, `-q`).

use std::io::IsTerminal;
use std::sync::Mutex;

use indicatif::{ProgressBar, ProgressStyle};

use crate::apply::{Reporter, Silent};

/// The reporter for this run.
pub(super) fn reporter(quiet: bool) -> Box<dyn Reporter> {
    if quiet || !std::io::stderr().is_terminal() {
        return Box::new(Silent);
    }
    Box::new(ArchiveBar::default())
}

/// One indicatif bar for the archive being extracted.
#[derive(Default)]
struct ArchiveBar {
    bar: Mutex<Option<ProgressBar>>,
}

impl ArchiveBar {
    fn with_bar(&self, f: impl FnOnce(&mut Option<ProgressBar>)) {
        // A panic elsewhere must not take progress reporting down with it.
        let mut bar = self.bar.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut bar);
    }
}

impl Reporter for ArchiveBar {
    fn on_archive_start(&self, name: &str, total: u64) {
        let bar = ProgressBar::new(total);
        let style =
            ProgressStyle::with_template("{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> ");
        bar.set_style(style);
        bar.set_message(name.to_string());
        self.with_bar(|slot| *slot = Some(bar));
    }

    fn on_archive_progress(&self, bytes_read: u64) {
        self.with_bar(|slot| {
            if let Some(bar) = slot {
                bar.set_position(bytes_read);
            }
        });
    }

    fn on_archive_done(&self) {
        self.with_bar(|slot| {
            if let Some(bar) = slot.take() {
                bar.finish_and_clear();
            }
        });
    }
}
