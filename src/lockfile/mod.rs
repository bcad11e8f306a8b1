//! golock.toml: parse, validate, domain types.
