//! The journaled transaction every filesystem mutation of an apply goes
//! through: undo records written ahead of each step to a durable journal,
//! rollback newest-first on error, and `recover` after a crash, which checks
//! a journal whole before replaying any of it.

pub mod checkpoint;
mod host_lock;
pub mod interrupt;
mod journal;
mod recover;
mod transaction;
mod undo;
mod validate;

#[cfg(test)]
mod tests;

pub use host_lock::{HostLock, LockError, Wait};
pub use journal::{Journal, JournalError, Record};
pub use recover::{
    Discarded, Pending, Recovered, Verdict, discard, ensure_trusted, pending, recover, utc,
};
pub use transaction::{Transaction, TxnError};
pub use undo::{Identity, Installed, Kind, Undo};
pub use validate::Scope;
