//! Go distribution archives: safe, single-pass verify-and-extract.
