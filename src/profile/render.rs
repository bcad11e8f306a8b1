//! Rendering the managed block for POSIX sh and fish.
//!
//! The block exports `GOROOT`, then every configured variable in order, then
//! moves `$GOROOT/bin` to the front of `PATH`. If `$GOROOT/bin` is already on
//! `PATH` but not first (a user line or another tool prepended something after
//! the block last ran), every copy is removed and one is put first: golock's
//! toolchain must win, and sourcing the file any number of times leaves `PATH`
//! unchanged after the first time.

use std::fmt::Write as _;
use std::path::Path;

use super::{BEGIN_MARKER, END_MARKER, ProfileError, Shell};

const MANAGED_COMMENT: &str =
    "# Managed by golock - edits here are overwritten; change golock.toml instead.";
const PATH_COMMENT: &str = "# Put $GOROOT/bin first on PATH exactly once, even when sourced again.";

/// Names the block sets itself; listing them as env vars would fight it.
const RESERVED_NAMES: [&str; 2] = ["GOROOT", "PATH"];

/// POSIX: drop every `:$GOROOT/bin:` entry (quoted, so globs and `$` in the
/// path stay literal), then prepend one. Empty PATH entries are preserved.
const POSIX_PATH_LOGIC: &str = r#"__golock_path=":${PATH-}:"
while :; do
  case "${__golock_path}" in
    *":${GOROOT}/bin:"*) __golock_path=${__golock_path%%":${GOROOT}/bin:"*}:${__golock_path#*":${GOROOT}/bin:"} ;;
    *) break ;;
  esac
done
__golock_path=${__golock_path#:}
__golock_path=${__golock_path%:}
PATH="${GOROOT}/bin${__golock_path:+:${__golock_path}}"
export PATH
unset __golock_path
"#;

/// fish: rebuild PATH with `$GOROOT/bin` first and every other copy dropped.
/// `test` compares literally, unlike `string match` (glob) or `switch`.
const FISH_PATH_LOGIC: &str = r#"begin
    set -l golock_path $GOROOT/bin
    for golock_dir in $PATH
        if test "$golock_dir" != "$GOROOT/bin"
            set -a golock_path $golock_dir
        end
    end
    set -gx PATH $golock_path
end
"#;

/// The full block text, markers included, LF line endings, ending in "\n".
///
/// Inputs are expected to have passed [`check_block_inputs`] (see
/// [`try_render_block`]). So that a bad input can never break the block's
/// structure or inject shell code, this function still defends itself: env
/// entries with an invalid or reserved name are omitted, and NUL/CR/LF in
/// values or in `goroot` are replaced with U+FFFD. A non-UTF-8 `goroot` is
/// rendered lossily.
pub fn render_block(shell: Shell, goroot: &Path, env: &[(String, String)]) -> String {
    let goroot = sanitize(&goroot.to_string_lossy());
    let mut out = String::new();
    push_line(&mut out, BEGIN_MARKER);
    push_line(&mut out, MANAGED_COMMENT);
    push_line(&mut out, &export_line(shell, "GOROOT", &goroot));
    for (name, value) in env {
        if check_env_name(name).is_ok() {
            push_line(&mut out, &export_line(shell, name, &sanitize(value)));
        }
    }
    push_line(&mut out, PATH_COMMENT);
    out.push_str(match shell {
        Shell::Posix => POSIX_PATH_LOGIC,
        Shell::Fish => FISH_PATH_LOGIC,
    });
    push_line(&mut out, END_MARKER);
    out
}

/// [`render_block`] after [`check_block_inputs`].
pub fn try_render_block(
    shell: Shell,
    goroot: &Path,
    env: &[(String, String)],
) -> Result<String, ProfileError> {
    check_block_inputs(goroot, env)?;
    Ok(render_block(shell, goroot, env))
}

/// The lines `golock env` prints for `eval`: `GOROOT`, every configured
/// variable, then `$GOROOT/bin` first on `PATH` (other copies dropped), with
/// the block's quoting and PATH logic but without its markers and comments.
pub fn try_render_activation(
    shell: Shell,
    goroot: &Path,
    env: &[(String, String)],
) -> Result<String, ProfileError> {
    check_block_inputs(goroot, env)?;
    let mut out = String::new();
    push_line(
        &mut out,
        &export_line(shell, "GOROOT", &sanitize(&goroot.to_string_lossy())),
    );
    for (name, value) in env {
        push_line(&mut out, &export_line(shell, name, &sanitize(value)));
    }
    out.push_str(match shell {
        Shell::Posix => POSIX_PATH_LOGIC,
        Shell::Fish => FISH_PATH_LOGIC,
    });
    Ok(out)
}

/// Checks that every input can be written into a block exactly: names are
/// shell identifiers other than `GOROOT`/`PATH`, and neither values nor the
/// goroot path contain NUL, CR or LF (a newline could forge a marker line and
/// would be corrupted by CRLF conversion), and the goroot path is UTF-8.
pub fn check_block_inputs(goroot: &Path, env: &[(String, String)]) -> Result<(), ProfileError> {
    let goroot_text = goroot
        .to_str()
        .ok_or_else(|| ProfileError::UnwritableValue {
            what: format!("GOROOT path {goroot:?} (not UTF-8)"),
        })?;
    check_value("GOROOT path", goroot_text)?;
    for (name, value) in env {
        check_env_name(name)?;
        check_value(name, value)?;
    }
    Ok(())
}

fn check_env_name(name: &str) -> Result<(), ProfileError> {
    if !is_shell_identifier(name) {
        return Err(ProfileError::InvalidEnvName { name: name.into() });
    }
    if RESERVED_NAMES.contains(&name) {
        return Err(ProfileError::ReservedEnvName { name: name.into() });
    }
    Ok(())
}

fn check_value(what: &str, value: &str) -> Result<(), ProfileError> {
    if value.contains(is_line_breaking) {
        return Err(ProfileError::UnwritableValue { what: what.into() });
    }
    Ok(())
}

fn is_shell_identifier(name: &str) -> bool {
    let mut bytes = name.bytes();
    matches!(bytes.next(), Some(b'A'..=b'Z' | b'a'..=b'z' | b'_'))
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

fn is_line_breaking(c: char) -> bool {
    matches!(c, '\0' | '\r' | '\n')
}

fn sanitize(value: &str) -> String {
    value.replace(is_line_breaking, "\u{FFFD}")
}

fn push_line(out: &mut String, line: &str) {
    out.push_str(line);
    out.push('\n');
}

fn export_line(shell: Shell, name: &str, value: &str) -> String {
    let mut line = String::new();
    // Writing to a String cannot fail.
    let _ = match shell {
        Shell::Posix => write!(line, "export {name}={}", posix_quote(value)),
        Shell::Fish => write!(line, "set -gx {name} {}", fish_quote(value)),
    };
    line
}

/// Single quotes make everything literal in sh; an embedded `'` is written
/// as `'\''` (close, escaped quote, reopen).
pub(super) fn posix_quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', r"'\''"))
}

/// In fish single quotes only `\\` and `\'` are escapes.
pub(super) fn fish_quote(value: &str) -> String {
    format!("'{}'", value.replace('\\', r"\\").replace('\'', r"\'"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fsx;
    use std::path::PathBuf;
    use std::process::Command;

    const NASTY: &str = r#"a'b"c$HOME`id`\n\\ x;y #z *?[a] $(echo no) ~ & | < > ! {a,b}"#;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn posix_block_layout() {
        let block = render_block(
            Shell::Posix,
            Path::new("/opt/golock/go"),
            &env(&[("GOFLAGS", "-mod=mod"), ("GOPROXY", "direct")]),
        );
        let lines: Vec<&str> = block.lines().collect();
        assert_eq!(lines[0], BEGIN_MARKER);
        assert_eq!(lines[1], MANAGED_COMMENT);
        assert_eq!(lines[2], "export GOROOT='/opt/golock/go'");
        assert_eq!(lines[3], "export GOFLAGS='-mod=mod'");
        assert_eq!(lines[4], "export GOPROXY='direct'");
        assert_eq!(lines.last(), Some(&END_MARKER));
        assert!(block.ends_with("\n"));
        assert!(!block.contains('\r'));
    }

    #[test]
    fn fish_block_layout_and_quoting() {
        let block = render_block(
            Shell::Fish,
            Path::new(r"/opt/it's\go"),
            &env(&[("GOFLAGS", NASTY)]),
        );
        let lines: Vec<&str> = block.lines().collect();
        assert_eq!(lines[0], BEGIN_MARKER);
        assert_eq!(lines[1], MANAGED_COMMENT);
        assert_eq!(lines[2], r"set -gx GOROOT '/opt/it\'s\\go'");
        assert_eq!(
            lines[3],
            r#"set -gx GOFLAGS 'a\'b"c$HOME`id`\\n\\\\ x;y #z *?[a] $(echo no) ~ & | < > ! {a,b}'"#
        );
        assert!(block.contains("set -gx PATH $golock_path"));
        assert!(!block.contains("contains"));
        assert!(!block.contains("fish_add_path"));
        assert_eq!(lines.last(), Some(&END_MARKER));
        assert!(block.ends_with("\n"));
    }

    #[test]
    fn fish_quote_round_trips_through_fish_unescaping() {
        // Textual model of fish's single-quote rules, since fish may be absent.
        fn fish_unquote(quoted: &str) -> String {
            let inner = &quoted[1..quoted.len() - 1];
            let mut out = String::new();
            let mut chars = inner.chars();
            while let Some(c) = chars.next() {
                if c == '\\' {
                    match chars.next() {
                        Some(n @ ('\\' | '\'')) => out.push(n),
                        Some(n) => {
                            out.push('\\');
                            out.push(n);
                        }
                        None => out.push('\\'),
                    }
                } else {
                    assert_ne!(c, '\'', "unescaped quote in {quoted}");
                    out.push(c);
                }
            }
            out
        }
        for value in [NASTY, "", "\\", "'", "\\'", "trailing\\"] {
            assert_eq!(fish_unquote(&fish_quote(value)), value);
        }
    }

    #[test]
    fn invalid_inputs_are_rejected_by_check_and_omitted_by_render() {
        let goroot = Path::new("/go");
        for bad in ["", "1X", "A-B", "A B", "X;rm -rf ~", "É"] {
            let e = env(&[(bad, "v")]);
            assert_eq!(
                check_block_inputs(goroot, &e),
                Err(ProfileError::InvalidEnvName { name: bad.into() })
            );
            assert!(!render_block(Shell::Posix, goroot, &e).contains("'v'"));
        }
        for reserved in ["GOROOT", "PATH"] {
            let e = env(&[(reserved, "v")]);
            assert!(matches!(
                try_render_block(Shell::Fish, goroot, &e),
                Err(ProfileError::ReservedEnvName { .. })
            ));
        }
        let forged = format!("x\n{END_MARKER}\nrm -rf ~");
        let e = env(&[("GOFLAGS", &forged)]);
        assert!(matches!(
            check_block_inputs(goroot, &e),
            Err(ProfileError::UnwritableValue { .. })
        ));
        let block = render_block(Shell::Posix, goroot, &e);
        let span = crate::profile::find_block(block.as_bytes())
            .unwrap()
            .unwrap();
        assert_eq!(span.range, 0..block.len());
        assert!(!block.contains("\nrm -rf"));
        assert!(check_block_inputs(Path::new("/go\nroot"), &[]).is_err());
        assert!(check_block_inputs(goroot, &env(&[("_ok_1", NASTY)])).is_ok());
    }

    #[cfg(unix)]
    #[test]
    fn non_utf8_goroot_is_rejected() {
        use std::os::unix::ffi::OsStrExt;
        let goroot = Path::new(std::ffi::OsStr::from_bytes(b"/go\xff"));
        assert!(check_block_inputs(goroot, &[]).is_err());
    }

    /// A scratch dir whose name itself is hostile, holding a rendered block.
    struct Sandbox {
        dir: tempfile::TempDir,
        goroot: PathBuf,
    }

    impl Sandbox {
        fn new(env: &[(String, String)]) -> Sandbox {
            let dir = tempfile::tempdir().unwrap();
            let goroot = dir.path().join(r#"go 'root' "$X" `id` \ ;#*?"#);
            fsx::create_dir_all(goroot.join("bin")).unwrap();
            let block = try_render_block(Shell::Posix, &goroot, env).unwrap();
            fsx::write(dir.path().join("profile"), block).unwrap();
            Sandbox { dir, goroot }
        }

        fn bin(&self) -> String {
            format!("{}/bin", self.goroot.to_str().unwrap())
        }

        /// Runs `script` in `shell` after `./profile` is in place, with PATH set.
        fn run(&self, shell: &Path, path: &str, script: &str) -> String {
            let out = Command::new(shell)
                .arg("-c")
                .arg(script)
                .current_dir(self.dir.path())
                .env("PATH", path)
                .env("HOME", "/nonexistent-home")
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{shell:?} failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            String::from_utf8(out.stdout).unwrap()
        }
    }

    /// Absolute paths, because the tests run shells with a hostile PATH.
    fn find_program(name: &str) -> Option<PathBuf> {
        let path = std::env::var_os("PATH")?;
        std::env::split_paths(&path)
            .map(|dir| dir.join(name))
            .find(|candidate| candidate.is_file())
    }

    fn posix_shells() -> Vec<(&'static str, PathBuf)> {
        ["sh", "bash", "dash", "zsh", "ksh"]
            .into_iter()
            .filter_map(|name| Some((name, find_program(name)?)))
            .collect()
    }

    #[test]
    fn posix_values_survive_sourcing_literally() {
        let values = env(&[
            ("NASTY", NASTY),
            ("QUOTES", r#"'''"""''"#),
            ("EMPTY", ""),
            ("SPACES", "  lead and trail  "),
            ("UNICODE", "héllo — ✓"),
        ]);
        let sandbox = Sandbox::new(&values);
        let shells = posix_shells();
        let names: Vec<&str> = shells.iter().map(|(name, _)| *name).collect();
        assert!(
            names.contains(&"sh") && names.contains(&"bash"),
            "{names:?}"
        );
        for (shell, program) in &shells {
            for (name, value) in &values {
                let script = format!(". ./profile; printf %s \"${name}\"");
                assert_eq!(
                    &sandbox.run(program, "/usr/bin:/bin", &script),
                    value,
                    "{shell}"
                );
            }
            let script = ". ./profile; printf %s \"$GOROOT\"";
            let got = sandbox.run(program, "/usr/bin:/bin", script);
            assert_eq!(got, sandbox.goroot.to_str().unwrap(), "{shell}");
        }
    }

    #[test]
    fn posix_path_is_prefixed_once_and_stable_when_sourced_twice() {
        let sandbox = Sandbox::new(&env(&[("GOFLAGS", "-x")]));
        let bin = sandbox.bin();
        let cases = [
            ("/usr/bin:/bin".to_string(), format!("{bin}:/usr/bin:/bin")),
            // Present but not first (and duplicated): moved to the front once.
            (
                format!("/usr/bin:{bin}:/bin:{bin}"),
                format!("{bin}:/usr/bin:/bin"),
            ),
            (format!("{bin}:/usr/bin"), format!("{bin}:/usr/bin")),
            (bin.clone(), bin.clone()),
            // Empty entries (meaning ".") are kept.
            (
                ":/usr/bin::/bin:".to_string(),
                format!("{bin}::/usr/bin::/bin:"),
            ),
            // The `*?` in GOROOT is literal: an entry it would glob-match stays.
            (
                format!("/usr/bin:{}:/bin", bin.replace("*?", "glob")),
                format!("{bin}:/usr/bin:{}:/bin", bin.replace("*?", "glob")),
            ),
            // A look-alike entry that merely contains the path is kept.
            (
                format!("/usr/bin:{bin}x:/bin"),
                format!("{bin}:/usr/bin:{bin}x:/bin"),
            ),
        ];
        for (shell, program) in posix_shells() {
            for (start, want) in &cases {
                let once = sandbox.run(&program, start, ". ./profile; printf %s \"$PATH\"");
                assert_eq!(&once, want, "{shell} from {start:?}");
                let twice = sandbox.run(
                    &program,
                    start,
                    ". ./profile; . ./profile; printf %s \"$PATH\"",
                );
                assert_eq!(&twice, want, "{shell} twice from {start:?}");
            }
            let leaked = sandbox.run(
                &program,
                "/usr/bin:/bin",
                ". ./profile; printf %s \"${__golock_path-unset}\"",
            );
            assert_eq!(leaked, "unset", "{shell}");
        }
    }

    #[test]
    fn posix_block_works_under_nounset_and_errexit() {
        let sandbox = Sandbox::new(&[]);
        let sh = find_program("sh").unwrap();
        let got = sandbox.run(&sh, "/usr/bin", "set -eu; . ./profile; printf %s \"$PATH\"");
        assert_eq!(got, format!("{}:/usr/bin", sandbox.bin()));
    }

    #[test]
    fn fish_block_sources_when_fish_is_installed() {
        let fish = find_program("fish").expect(
            "fish is needed for this test: scripts/test.sh installs it (apt-get install fish)",
        );
        let dir = tempfile::tempdir().unwrap();
        let goroot = dir.path().join(r"go 'root' $X \ ;#*?");
        let values = env(&[("NASTY", NASTY)]);
        let block = try_render_block(Shell::Fish, &goroot, &values).unwrap();
        fsx::write(dir.path().join("config.fish"), block).unwrap();
        let bin = format!("{}/bin", goroot.to_str().unwrap());
        let out = Command::new(fish)
            .arg("--no-config")
            .arg("-c")
            .arg("source ./config.fish; source ./config.fish; printf '%s\\n' $NASTY; string join : $PATH")
            .current_dir(dir.path())
            .env("PATH", format!("/usr/bin:{bin}:/bin"))
            .output()
            .unwrap();
        let stdout = String::from_utf8(out.stdout).unwrap();
        assert_eq!(stdout, format!("{NASTY}\n{bin}:/usr/bin:/bin\n"));
    }
}
