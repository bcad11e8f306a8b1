//! Errors raised while reading managed blocks or validating what goes into them.

/// Why a profile file or a golock-managed setting cannot be handled safely.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, miette::Diagnostic)]
pub enum ProfileError {
    #[error("duplicate golock begin marker at lines {first} and {second}")]
    #[diagnostic(
        code(golock::profile::duplicate_begin),
        help(
            "keep a single `# >>> golock >>>` … `# <<< golock <<<` block: delete the other copy, golock rewrites the block's contents"
        )
    )]
    DuplicateBegin { first: usize, second: usize },

    #[error("duplicate golock end marker at lines {first} and {second}")]
    #[diagnostic(
        code(golock::profile::duplicate_end),
        help(
            "keep a single `# >>> golock >>>` … `# <<< golock <<<` block: delete the stray `# <<< golock <<<` line"
        )
    )]
    DuplicateEnd { first: usize, second: usize },

    #[error("golock begin marker at line {line} has no matching end marker")]
    #[diagnostic(
        code(golock::profile::unpaired_begin),
        help(
            "add a `# <<< golock <<<` line after the block, or delete the begin marker line and the lines golock wrote after it"
        )
    )]
    UnpairedBegin { line: usize },

    #[error("golock end marker at line {line} has no matching begin marker")]
    #[diagnostic(
        code(golock::profile::unpaired_end),
        help(
            "delete the stray `# <<< golock <<<` line, or add a `# >>> golock >>>` line where the block starts"
        )
    )]
    UnpairedEnd { line: usize },

    #[error("golock end marker at line {end} comes before the begin marker at line {begin}")]
    #[diagnostic(
        code(golock::profile::reversed_markers),
        help(
            "the block must start with `# >>> golock >>>` and end with `# <<< golock <<<`; fix or delete both marker lines"
        )
    )]
    ReversedMarkers { begin: usize, end: usize },

    #[error("invalid environment variable name {name:?}")]
    #[diagnostic(
        code(golock::profile::invalid_env_name),
        help("names must match [A-Za-z_][A-Za-z0-9_]* to be exported by sh and fish")
    )]
    InvalidEnvName { name: String },

    #[error("{name} is managed by the golock block itself and cannot be set as an env var")]
    #[diagnostic(
        code(golock::profile::reserved_env_name),
        help("remove {name} from the env settings in golock.toml")
    )]
    ReservedEnvName { name: String },

    #[error("{what} contains a NUL, carriage return or newline character")]
    #[diagnostic(
        code(golock::profile::unwritable_value),
        help(
            "managed block lines must each be one whole shell statement; remove the control character from the value"
        )
    )]
    UnwritableValue { what: String },

    #[error("the go env file cannot store {key}: {reason}")]
    #[diagnostic(
        code(golock::profile::goenv_rejected),
        help("`go env -w` refuses this setting too; change or remove it in golock.toml")
    )]
    GoEnvRejected { key: String, reason: String },
}
