//! golock: make a host's Go setup match a committed `golock.toml`.
//!
//! The crate is a pipeline, one module per stage:
//! [`lockfile`] → [`host`] → [`plan`] → [`apply`] → [`txn`], with leaf
//! modules for archives, profile blocks, sources and filesystem primitives.

pub mod archive;
pub mod lockfile;
pub mod profile;
