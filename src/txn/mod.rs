//! The journaled transaction every filesystem mutation of an apply goes
//! through: undo records written ahead of each step to a durable journal,
//! rollback newest-first on error, and `recover` after a crash.

mod journal;
mod lock;
mod transaction;

pub use journal::{Journal, JournalError, Record};
pub use lock::{HostLock, LockError, Wait};
pub use transaction::{Recovered, Transaction, TxnError, Undo, recover, recover_if_needed};
