//! The go command's env file (`$GOENV`, default `$XDG_CONFIG_HOME/go/env`),
//! the file `go env -w` / `go env -u` maintain.
//!
//! Format, as read by the go command (`readEnvFile` in
//! `src/cmd/go/internal/cfg/cfg.go`, formerly `initEnvCache`): lines split on
//! `\n`; a line is a setting when it contains `=` and its first byte is `A`–`Z`;
//! the key is everything before the first `=`, the value everything after it,
//! verbatim (no quoting, no trimming, a trailing `\r` is part of the value);
//! a later line for the same key wins. Everything else is ignored.
//!
//! Writing mirrors `updateEnvFile` (with `readEnvFileLines` and `lineToKey`)
//! in `src/cmd/go/internal/envcmd/env.go`, so golock produces the bytes
//! `go env -w` would:
//! - a missing final `\n` is added; other lines are kept byte for byte;
//! - for every key, all but the last line setting it are deleted, since only
//!   the last takes effect (this applies to keys golock does not manage too);
//! - a set key's line is rewritten in place as `KEY=VALUE\n`; new keys are
//!   appended; removed keys' lines are deleted;
//! - finally each run of consecutive setting lines (runs are separated by
//!   comments, blank or invalid lines) is sorted by key.
//!
//! One deliberate difference: the go command leaves deleted lines in place as
//! empty strings while sorting, so they split runs, and a second identical
//! `go env -w` can then reorder the file again. golock drops deleted lines
//! before sorting, which makes rendering idempotent (a second run is a no-op).
//!
//! Here `lineToKey` differs from the reader: a line is a setting for the
//! writer when it has `=` and no `#` before it, whatever its first byte.
//!
//! Validation mirrors `checkEnvWrite` in the same file, and the `GOTMPDIR`
//! check in `runEnvW`; see [`goenv_rejects`] and [`goenv_value_rejects`].

use std::collections::{HashMap, HashSet};
use std::path::Path;

use super::ProfileError;

/// A reason the go command refuses to store `key` with `go env -w`/`-u`, if
/// any (mirrors the key checks of `checkEnvWrite`).
///
/// Not mirrored: the go command also refuses keys it does not know (its known
/// list varies by Go version, so golock cannot judge it for every toolchain).
/// Keys golock cannot write in a form the go command would read back are
/// refused too.
pub fn goenv_rejects(key: &str) -> Option<&'static str> {
    match key {
        "GOEXE" | "GOGCCFLAGS" | "GOHOSTARCH" | "GOHOSTOS" | "GOMOD" | "GOWORK" | "GOTOOLDIR"
        | "GOVERSION" => Some("it cannot be modified"),
        "GOENV" | "GODEBUG" => Some("it can only be set using the OS environment"),
        _ if !is_storable_key(key) => Some(
            "it is not a go command variable name (the go env file only holds names made of A-Z, a-z, 0-9 and _ starting with A-Z)",
        ),
        _ => None,
    }
}

/// Names the go env file can hold and read back: first byte `A`–`Z` (the
/// reader's rule), no `=`/`#`/whitespace (which the writer would misparse).
fn is_storable_key(key: &str) -> bool {
    let mut bytes = key.bytes();
    matches!(bytes.next(), Some(b'A'..=b'Z'))
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// A reason the go command refuses `key=value` with `go env -w`, if any
/// (mirrors the value checks of `checkEnvWrite`, plus `runEnvW`'s `GOTMPDIR`).
///
/// Not mirrored: the `CC`/`CXX` quoting check and the `GOOS`/`GOARCH`/
/// `GOEXPERIMENT` consistency check (`checkBuildConfig`), which need the
/// toolchain's own tables.
pub fn goenv_value_rejects(key: &str, value: &str) -> Option<String> {
    if let Some(reason) = goenv_rejects(key) {
        return Some(reason.to_string());
    }
    let must_be_absolute = |what: &str| {
        (!value.is_empty() && !Path::new(value).is_absolute())
            .then(|| format!("{what} is relative; must be absolute path: {value:?}"))
    };
    let specific = match key {
        "GO111MODULE" if !matches!(value, "" | "auto" | "on" | "off") => {
            Some(format!("invalid GO111MODULE value {value:?}"))
        }
        "GOPATH" if value.starts_with('~') => Some(format!(
            "GOPATH entry cannot start with shell metacharacter '~': {value:?}"
        )),
        "GOPATH" => must_be_absolute("GOPATH entry"),
        "GOMODCACHE" => must_be_absolute("GOMODCACHE entry"),
        "GOTMPDIR" => must_be_absolute("GOTMPDIR"),
        _ => None,
    };
    specific.or_else(|| {
        if value.contains('\0') {
            Some(format!("invalid NUL in {key}=... value"))
        } else if value.contains(['\u{b}', '\r', '\n']) {
            Some(format!("invalid newline in {key}=... value"))
        } else {
            None
        }
    })
}

/// Checks a whole change the way `go env -w`/`-u` would before writing:
/// every key and value is storable, no key is set twice, and no key is both
/// set and removed.
pub fn check_goenv(set: &[(String, String)], remove: &[String]) -> Result<(), ProfileError> {
    let rejected = |key: &str, reason: String| ProfileError::GoEnvRejected {
        key: key.to_string(),
        reason,
    };
    let mut seen = HashSet::new();
    for (key, value) in set {
        if let Some(reason) = goenv_value_rejects(key, value) {
            return Err(rejected(key, reason));
        }
        if !seen.insert(key.as_str()) {
            return Err(rejected(key, "multiple values for key".into()));
        }
    }
    for key in remove {
        if let Some(reason) = goenv_rejects(key) {
            return Err(rejected(key, reason.into()));
        }
        if seen.contains(key.as_str()) {
            return Err(rejected(key, "it is both set and removed".into()));
        }
    }
    Ok(())
}

/// [`render_goenv`] after [`check_goenv`].
pub fn try_render_goenv(
    existing: Option<&[u8]>,
    set: &[(String, String)],
    remove: &[String],
) -> Result<Vec<u8>, ProfileError> {
    check_goenv(set, remove)?;
    Ok(render_goenv(existing, set, remove))
}

/// The env file after setting `set` and removing `remove`, as `go env -w`
/// would write it (see the module doc). The result ends in `\n` unless it is
/// empty.
///
/// Inputs should have passed [`check_goenv`]. Defensively, entries it would
/// reject for their key, or for a NUL/CR/LF in the value (which would forge
/// extra lines), are skipped here; a later duplicate in `set` wins; a key in
/// both `set` and `remove` is removed.
pub fn render_goenv(
    existing: Option<&[u8]>,
    set: &[(String, String)],
    remove: &[String],
) -> Vec<u8> {
    let mut lines = file_lines(existing.unwrap_or_default());
    let last_line_of = keep_last_setting_per_key(&mut lines);

    let removed = |key: &str| remove.iter().any(|r| r == key);
    let mut appended: Vec<&str> = Vec::new();
    for (index, (key, value)) in set.iter().enumerate() {
        let superseded = set[index + 1..].iter().any(|(later, _)| later == key);
        if superseded || removed(key) || !is_writable(key, value) {
            continue;
        }
        let line = format!("{key}={value}\n").into_bytes();
        match last_line_of.get(key.as_bytes()) {
            Some(&at) => lines[at] = line,
            None => {
                appended.push(key);
                lines.push(line);
            }
        }
    }
    for key in remove {
        if let Some(&at) = last_line_of.get(key.as_bytes()) {
            lines[at].clear();
        }
    }
    sort_setting_runs(&mut lines);
    lines.concat()
}

fn is_writable(key: &str, value: &str) -> bool {
    goenv_rejects(key).is_none() && !value.contains(['\0', '\r', '\n'])
}

/// The file's lines, each ending in `\n` (one is added to a last line that
/// lacks it), like `readEnvFileLines`.
fn file_lines(content: &[u8]) -> Vec<Vec<u8>> {
    content
        .split_inclusive(|&b| b == b'\n')
        .map(|line| {
            let mut line = line.to_vec();
            if !line.ends_with(b"\n") {
                line.push(b'\n');
            }
            line
        })
        .collect()
}

/// `lineToKey`: the bytes before the first `=`, unless there is none or they
/// contain `#`. Empty (deleted) lines have no key.
fn line_key(line: &[u8]) -> Option<&[u8]> {
    let eq = line.iter().position(|&b| b == b'=')?;
    let key = &line[..eq];
    (!key.contains(&b'#')).then_some(key)
}

/// Empties every setting line but the last for its key; returns, per key,
/// the index of the line that survives.
fn keep_last_setting_per_key(lines: &mut [Vec<u8>]) -> HashMap<Vec<u8>, usize> {
    let mut last_line_of: HashMap<Vec<u8>, usize> = HashMap::new();
    for index in 0..lines.len() {
        let Some(key) = line_key(&lines[index]).map(<[u8]>::to_vec) else {
            continue;
        };
        if let Some(previous) = last_line_of.insert(key, index) {
            lines[previous].clear();
        }
    }
    last_line_of
}

/// Drops deleted lines, then sorts each maximal run of setting lines by key
/// (keys are unique by now, so the order is fully determined).
fn sort_setting_runs(lines: &mut Vec<Vec<u8>>) {
    lines.retain(|line| !line.is_empty());
    for run in lines.split_mut(|line| line_key(line).is_none()) {
        run.sort_by(|a, b| line_key(a).cmp(&line_key(b)));
    }
}

/// The settings the go command reads from the env file: each key once, with
/// the value that takes effect (the last), in order of first appearance.
/// Bytes are decoded lossily; a CRLF file's values keep their `\r`, as the go
/// command's do.
#[cfg(test)]
pub fn parse_goenv(content: &[u8]) -> Vec<(String, String)> {
    let mut settings: Vec<(String, String)> = Vec::new();
    for line in content.split(|&b| b == b'\n') {
        let Some((key, value)) = read_setting(line) else {
            continue;
        };
        let value = String::from_utf8_lossy(value).into_owned();
        match settings.iter_mut().find(|(k, _)| k.as_bytes() == key) {
            Some(existing) => existing.1 = value,
            None => settings.push((String::from_utf8_lossy(key).into_owned(), value)),
        }
    }
    settings
}

/// `readEnvFile`'s rule for one line (without its `\n`).
#[cfg(test)]
fn read_setting(line: &[u8]) -> Option<(&[u8], &[u8])> {
    let eq = line.iter().position(|&b| b == b'=')?;
    if !line.first()?.is_ascii_uppercase() {
        return None;
    }
    Some((&line[..eq], &line[eq + 1..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn remove(keys: &[&str]) -> Vec<String> {
        keys.iter().map(|k| k.to_string()).collect()
    }

    fn render(existing: Option<&str>, s: &[(&str, &str)], r: &[&str]) -> String {
        let out = render_goenv(existing.map(str::as_bytes), &set(s), &remove(r));
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn goenv_new_file_gets_sorted_lines() {
        let out = render(None, &[("GOPROXY", "direct"), ("GOFLAGS", "-mod=mod")], &[]);
        assert_eq!(out, "GOFLAGS=-mod=mod\nGOPROXY=direct\n");
        assert_eq!(render(Some(""), &[], &[]), "");
        assert_eq!(render(None, &[], &["GOPROXY"]), "");
    }

    #[test]
    fn goenv_values_are_written_verbatim() {
        let value = r#" a 'b' "c" $d \e #f=g "#;
        let out = render(None, &[("GOFLAGS", value)], &[]);
        assert_eq!(out, format!("GOFLAGS={value}\n"));
        assert_eq!(parse_goenv(out.as_bytes()), set(&[("GOFLAGS", value)]));
    }

    #[test]
    fn goenv_replaces_in_place_and_keeps_other_lines() {
        let existing = "# my settings\nGOPROXY=old\nGOSUMDB=off\n\nGOPRIVATE=x";
        let out = render(
            Some(existing),
            &[("GOPROXY", "new"), ("GOFLAGS", "-v")],
            &[],
        );
        assert_eq!(
            out,
            "# my settings\nGOPROXY=new\nGOSUMDB=off\n\nGOFLAGS=-v\nGOPRIVATE=x\n"
        );
    }

    #[test]
    fn goenv_adds_missing_final_newline() {
        assert_eq!(render(Some("GOPROXY=x"), &[], &[]), "GOPROXY=x\n");
    }

    #[test]
    fn goenv_dedupes_every_key_keeping_the_last() {
        let existing = "GOSUMDB=a\nGOPROXY=1\nGOSUMDB=b\n";
        assert_eq!(render(Some(existing), &[], &[]), "GOPROXY=1\nGOSUMDB=b\n");
        // The earlier duplicate does not split the run (unlike the go command).
        let existing = "GOZ=1\nGOA=1\nGOZ=2\nGOB=3\n";
        assert_eq!(render(Some(existing), &[], &[]), "GOA=1\nGOB=3\nGOZ=2\n");
        let existing = "GOPROXY=1\nGOPROXY=2\n# c\n";
        assert_eq!(
            render(Some(existing), &[("GOPROXY", "3")], &[]),
            "GOPROXY=3\n# c\n"
        );
    }

    #[test]
    fn goenv_remove_deletes_the_line() {
        let existing = "GOFLAGS=x\n# keep\nGOPROXY=y\nGOSUMDB=z\n";
        assert_eq!(
            render(Some(existing), &[], &["GOPROXY", "GOTOOLCHAIN"]),
            "GOFLAGS=x\n# keep\nGOSUMDB=z\n"
        );
    }

    #[test]
    fn goenv_sorts_only_within_runs() {
        let existing = "GOZ=1\nGOA=2\n# sep\nGOY=3\nGOB=4\ngarbage\n";
        assert_eq!(
            render(Some(existing), &[("GOC", "5")], &[]),
            "GOA=2\nGOZ=1\n# sep\nGOB=4\nGOY=3\ngarbage\nGOC=5\n"
        );
        // GO sorts before GO386 (by key, not by whole line).
        assert_eq!(
            render(None, &[("GO386", "sse2"), ("GO", "x")], &[]),
            "GO=x\nGO386=sse2\n"
        );
    }

    #[test]
    fn goenv_comment_lines_with_equals_are_not_settings() {
        let existing = "# GOPROXY=commented\nGOPROXY=real\n";
        assert_eq!(
            render(Some(existing), &[("GOPROXY", "new")], &[]),
            "# GOPROXY=commented\nGOPROXY=new\n"
        );
    }

    #[test]
    fn goenv_preserves_foreign_bytes_and_crlf_lines() {
        let existing: &[u8] = b"\xff\xfe junk\r\nGOPROXY=a\r\nGOSUMDB=b\n";
        let out = render_goenv(Some(existing), &set(&[("GOSUMDB", "c")]), &[]);
        assert_eq!(out, b"\xff\xfe junk\r\nGOPROXY=a\r\nGOSUMDB=c\n");
    }

    #[test]
    fn goenv_render_is_idempotent() {
        let s = set(&[("GOPROXY", "p"), ("GOFLAGS", "f")]);
        let existing: &[u8] = b"# c\nGOSUMDB=x\nGOPROXY=old\nGOSUMDB=y";
        let once = render_goenv(Some(existing), &s, &remove(&["GOSUMDB"]));
        let twice = render_goenv(Some(&once), &s, &remove(&["GOSUMDB"]));
        assert_eq!(once, twice);
        assert_eq!(once, b"# c\nGOFLAGS=f\nGOPROXY=p\n");
    }

    #[test]
    fn goenv_render_skips_unwritable_entries() {
        let out = render(
            None,
            &[
                ("GOFLAGS", "a\nGOPROXY=evil"),
                ("GOENV", "x"),
                ("bad key", "v"),
            ],
            &[],
        );
        assert_eq!(out, "");
        assert_eq!(render(None, &[("GOA", "1"), ("GOA", "2")], &[]), "GOA=2\n");
        assert_eq!(render(Some("GOA=0\n"), &[("GOA", "1")], &["GOA"]), "");
    }

    #[test]
    fn goenv_rejects_what_go_env_w_refuses() {
        for key in [
            "GOEXE",
            "GOGCCFLAGS",
            "GOHOSTARCH",
            "GOHOSTOS",
            "GOMOD",
            "GOWORK",
            "GOTOOLDIR",
            "GOVERSION",
        ] {
            assert_eq!(goenv_rejects(key), Some("it cannot be modified"), "{key}");
        }
        for key in ["GOENV", "GODEBUG"] {
            assert_eq!(
                goenv_rejects(key),
                Some("it can only be set using the OS environment")
            );
        }
        for key in ["", "goproxy", "GO PROXY", "GO=X", "GO#X", "_GO", "1GO"] {
            assert!(goenv_rejects(key).is_some(), "{key:?}");
        }
        for key in ["GOPROXY", "GOFLAGS", "CGO_CFLAGS", "GO111MODULE", "CC"] {
            assert_eq!(goenv_rejects(key), None, "{key}");
        }
    }

    #[test]
    fn goenv_value_rules_follow_check_env_write() {
        let rejects = |k: &str, v: &str| goenv_value_rejects(k, v).is_some();
        assert!(rejects("GO111MODULE", "yes"));
        for ok in ["", "auto", "on", "off"] {
            assert!(!rejects("GO111MODULE", ok));
        }
        assert!(rejects("GOPATH", "~/go"));
        assert!(rejects("GOPATH", "go"));
        assert!(!rejects("GOPATH", "/home/u/go"));
        assert!(!rejects("GOPATH", ""));
        assert!(rejects("GOMODCACHE", "cache"));
        assert!(rejects("GOTMPDIR", "tmp"));
        assert!(!rejects("GOTMPDIR", "/tmp"));
        assert!(rejects("GOFLAGS", "a\nb"));
        assert!(rejects("GOFLAGS", "a\rb"));
        assert!(rejects("GOFLAGS", "a\u{b}b"));
        assert!(rejects("GOFLAGS", "a\0b"));
        assert!(rejects("GOVERSION", "go1.22"));
        assert!(!rejects("GOFLAGS", "-mod=mod '$x'"));
    }

    #[test]
    fn goenv_check_reports_duplicates_and_conflicts() {
        let err = check_goenv(&set(&[("GOA", "1"), ("GOA", "2")]), &[]).unwrap_err();
        assert!(err.to_string().contains("multiple values for key"), "{err}");
        let err = check_goenv(&set(&[("GOA", "1")]), &remove(&["GOA"])).unwrap_err();
        assert!(matches!(err, ProfileError::GoEnvRejected { .. }));
        let err = try_render_goenv(None, &[], &remove(&["GOENV"])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "the go env file cannot store GOENV: it can only be set using the OS environment"
        );
        assert!(try_render_goenv(None, &set(&[("GOPROXY", "direct")]), &[]).is_ok());
    }

    #[test]
    fn goenv_parse_follows_the_go_reader() {
        let content: &[u8] =
            b"# c=1\nGOPROXY=a\n lead=1\ngoflags=x\nnoequals\nGOSUMDB=x=y\nGOPROXY=b\nGOCR=v\r\n\xffX=1\nGOLAST=z";
        assert_eq!(
            parse_goenv(content),
            set(&[
                ("GOPROXY", "b"),
                ("GOSUMDB", "x=y"),
                ("GOCR", "v\r"),
                ("GOLAST", "z"),
            ])
        );
        assert!(parse_goenv(b"").is_empty());
    }
}
