//! Managed blocks in shell profile files, and the go command's env file.
//!
//! This module owns the *text* of everything golock writes into files it does
//! not own: the `# >>> golock >>>` … `# <<< golock <<<` block in shell
//! profiles (`.profile`, `.bashrc`, `.zshrc`, `config.fish`) and the
//! `KEY=VALUE` file that `go env -w` maintains. It is pure: it never touches
//! the filesystem. The caller reads files, asks this module for the new bytes,
//! shows [`unified_diff`]s, and performs durable writes through its journal.
//!
//! Guarantees:
//! - Bytes outside the managed block are preserved exactly (CRLF, missing
//!   final newline, non-UTF-8 content); the block itself is always LF.
//! - [`splice`] is idempotent: splicing the same block into its own output
//!   returns the same bytes.
//! - Values are quoted so that the shell stores them literally.

mod block;
mod error;
mod goenv;
mod render;

use std::path::Path;

pub use block::{BlockSpan, block_hash, crlf_lines, find_block, splice, unified_diff};
pub use error::ProfileError;
pub use goenv::try_render_goenv;
pub use render::{try_render_activation, try_render_block};
#[cfg(test)]
pub(crate) use {goenv::render_goenv, render::render_block};

/// First line of the managed block.
pub const BEGIN_MARKER: &str = "# >>> golock >>>";
/// Last line of the managed block.
pub const END_MARKER: &str = "# <<< golock <<<";

/// The shell language a profile file is written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Shell {
    /// sh, dash, bash, ksh, zsh.
    Posix,
    /// fish.
    Fish,
}

impl Shell {
    /// `config.fish` and any other `*.fish` file are fish; everything else
    /// (`.profile`, `.bashrc`, `.zshrc`, …) is POSIX sh.
    pub fn for_path(path: &Path) -> Shell {
        match path.extension() {
            Some(ext) if ext == "fish" => Shell::Fish,
            _ => Shell::Posix,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_for_path_recognises_fish_files() {
        for fish in ["/home/u/.config/fish/config.fish", "conf.d/golock.fish"] {
            assert_eq!(Shell::for_path(Path::new(fish)), Shell::Fish, "{fish}");
        }
        for posix in [
            "/home/u/.profile",
            "/home/u/.bashrc",
            "/home/u/.zshrc",
            "/etc/profile.d/golock.sh",
            "fish",
            ".fish",
        ] {
            assert_eq!(Shell::for_path(Path::new(posix)), Shell::Posix, "{posix}");
        }
    }

    #[test]
    fn shell_serialises_lowercase() {
        let json = serde_json::to_string(&[Shell::Posix, Shell::Fish]).unwrap();
        assert_eq!(json, r#"["posix","fish"]"#);
        let back: Vec<Shell> = serde_json::from_str(&json).unwrap();
        assert_eq!(back, [Shell::Posix, Shell::Fish]);
    }
}
