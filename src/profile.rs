//! Managed blocks in shell profile files.
