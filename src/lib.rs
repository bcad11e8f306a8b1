//! golock: make a host's Go setup match a committed `golock.toml`.
//!
//! The crate is a pipeline, one module per stage:
//! [`lockfile`] → [`host`] → [`plan`] → [`apply`] → [`txn`], with leaf
//! modules for archives, the module cache, profile blocks, fetching and
//! bundles, and [`fsx`], the one door to the filesystem. [`cli`] wires the
//! stages to the command line. README's "Architecture" section is the map.

pub mod apply;
mod archive;
mod bundle;
mod civil;
pub mod cli;
pub mod fetch;
pub mod fsx;
mod history;
mod host;
pub mod lockfile;
mod mirror;
pub mod modcache;
mod plan;
mod proc;
mod profile;
mod signing;
pub mod txn;
mod vcs;
