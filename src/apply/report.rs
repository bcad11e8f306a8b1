//! How apply tells its caller how far it got. The CLI hands in a
//! [`Reporter`] (a progress bar on a terminal); apply never draws anything.

/// Progress of an apply, as uv's installer reports it: calls in order, from
/// one thread at a time for a given archive. Every method does nothing by
/// default, so a reporter implements only what it shows.
pub trait Reporter: Send + Sync {
    /// Extracting the archive `name` starts; `total` is its size in bytes
    /// (0: unknown).
    fn on_archive_start(&self, name: &str, total: u64) {
        let _ = (name, total);
    }

    /// `bytes_read` bytes of the archive have been read so far.
    fn on_archive_progress(&self, bytes_read: u64) {
        let _ = bytes_read;
    }

    /// The archive is extracted, or its extraction failed.
    fn on_archive_done(&self) {}
}

/// Reports nothing: for `-q`, scripts and tests.
pub struct Silent;

impl Reporter for Silent {}
