//! golock: make a host's Go setup match a committed `golock.toml`.
//!
//! The crate is a pipeline, one module per stage:
//! [`lockfile`] → [`host`] → [`plan`] → [`apply`] → [`txn`], with leaf
//! modules for archives, profile blocks and filesystem primitives.
//! [`commands`] wires the stages to the command line.

pub mod apply;
pub mod archive;
pub mod bundle;
pub mod checkpoint;
pub mod cli;
pub mod commands;
pub mod durability;
pub mod fetch;
pub mod fsx;
pub mod host;
pub mod interrupt;
pub mod layout;
pub mod lockfile;
pub mod locking;
pub mod modcache;
pub mod plan;
pub mod profile;
pub mod repo;
pub mod state;
pub mod txn;
pub mod verify;
