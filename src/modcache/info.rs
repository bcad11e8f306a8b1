//! The `.info` file cmd/go keeps for a version it got from a proxy.
//!
//! cmd/go (`modfetch/proxy.go` `Stat`) unmarshals the served `.info` into
//! `RevInfo{Version, Time, Origin *codehost.Origin}`, refuses a `Version`
//! other than the one it asked for, and `cache.go` `writeDiskStat`
//! re-marshals it with `json.Marshal`: in `Origin` it clears `TagPrefix`,
//! `TagSum` and `RepoSum` always and `Ref` for a pseudo-version; the other
//! fields stay, in struct order, each omitted when empty. This module
//! produces those bytes from what a source served, which is untrusted.

use serde_json::{Map, Value};

use super::ModError;
use super::layout::{ZERO_TIME, normalize_time};

/// `codehost.Origin`'s fields in struct order, and whether cmd/go keeps
/// each in the cache (`Ref` only for a version that is not a pseudo-version).
const ORIGIN_FIELDS: [(&str, Keep); 8] = [
    ("VCS", Keep::Always),
    ("URL", Keep::Always),
    ("Subdir", Keep::Always),
    ("Hash", Keep::Always),
    ("TagPrefix", Keep::Never),
    ("TagSum", Keep::Never),
    ("Ref", Keep::UnlessPseudo),
    ("RepoSum", Keep::Never),
];

#[derive(Clone, Copy, PartialEq, Eq)]
enum Keep {
    Always,
    Never,
    UnlessPseudo,
}

/// The bytes cmd/go writes to `@v/<version>.info` when a source served
/// `served` for `version`: `{"Version":…,"Time":…}` plus the kept part of
/// `Origin`. A served file that is not a JSON object, has a field of the
/// wrong type, a time that is not RFC 3339, or another version is refused.
pub fn info_from_served(version: &str, served: &[u8]) -> Result<String, ModError> {
    let bad = |reason: String| ModError::InvalidInfo {
        version: version.to_string(),
        reason,
    };
    let value: Value =
        serde_json::from_slice(served).map_err(|e| bad(format!("not valid JSON: {e}")))?;
    let Value::Object(info) = value else {
        return Err(bad("not a JSON object".to_string()));
    };
    let served_version = string_field(&info, "Version").map_err(&bad)?;
    if served_version != Some(version) {
        return Err(bad(format!(
            "it is for version {:?}, not the one requested",
            served_version.unwrap_or_default()
        )));
    }
    let time = match string_field(&info, "Time").map_err(&bad)? {
        None => ZERO_TIME.to_string(),
        Some(t) => normalize_time(t).map_err(|e| bad(e.to_string()))?,
    };
    let mut out = format!(
        "{{\"Version\":{},\"Time\":{}",
        go_json_string(version),
        go_json_string(&time)
    );
    match field(&info, "Origin") {
        None | Some(Value::Null) => {}
        Some(Value::Object(origin)) => {
            out.push_str(",\"Origin\":");
            out.push_str(&render_origin(origin, is_pseudo_version(version)).map_err(&bad)?);
        }
        Some(_) => return Err(bad("Origin is not a JSON object".to_string())),
    }
    out.push('}');
    Ok(out)
}

/// `Origin` as `writeDiskStat` leaves it, marshaled.
fn render_origin(origin: &Map<String, Value>, pseudo: bool) -> Result<String, String> {
    let mut fields = Vec::new();
    for (name, keep) in ORIGIN_FIELDS {
        let value = string_field(origin, name).map_err(|e| format!("Origin: {e}"))?;
        let kept = match keep {
            Keep::Always => true,
            Keep::Never => false,
            Keep::UnlessPseudo => !pseudo,
        };
        match value {
            Some(v) if kept && !v.is_empty() => {
                fields.push(format!("{}:{}", go_json_string(name), go_json_string(v)));
            }
            _ => {}
        }
    }
    Ok(format!("{{{}}}", fields.join(",")))
}

/// A field as Go's `encoding/json` finds it for a struct field: the exact
/// name, else a name that differs only in ASCII case.
fn field<'a>(object: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    object.get(name).or_else(|| {
        object
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value)
    })
}

/// A string field; `null` and a missing field are `None`, as Go leaves
/// the field empty; any other type is an error, as for Go.
fn string_field<'a>(object: &'a Map<String, Value>, name: &str) -> Result<Option<&'a str>, String> {
    match field(object, name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => Err(format!("{name} is not a string: {other}")),
    }
}

/// A JSON string as Go's `json.Marshal` writes it: `<`, `>`, `&`, U+2028
/// and U+2029 as `\u` escapes, the short escapes `\b \f \n \r \t`, other
/// control characters as `\u00XX`.
pub fn go_json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                out.push_str(&format!("\\u{:04x}", u32::from(c)));
            }
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// x/mod `module.IsPseudoVersion`: at least two dashes, valid semver, and
/// `^v[0-9]+\.(0\.0-|\d+\.\d+-([^+]*\.)?0\.)\d{14}-[A-Za-z0-9]+(\+[0-9A-Za-z-]+)?$`.
pub fn is_pseudo_version(v: &str) -> bool {
    v.matches('-').count() >= 2 && super::semver::is_valid(v) && matches_pseudo_shape(v)
}

fn matches_pseudo_shape(v: &str) -> bool {
    let (main, build) = match v.split_once('+') {
        Some((main, build)) => (main, Some(build)),
        None => (v, None),
    };
    if let Some(build) = build {
        let build_ok = !build.is_empty()
            && build
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-');
        if !build_ok {
            return false;
        }
    }
    let Some((stamped, revision)) = main.rsplit_once('-') else {
        return false;
    };
    if revision.is_empty() || !revision.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return false;
    }
    let Some(head) = stamped.len().checked_sub(14).and_then(|i| stamped.get(..i)) else {
        return false;
    };
    stamped[head.len()..].bytes().all(|b| b.is_ascii_digit()) && pseudo_head_ok(head)
}

/// `v[0-9]+\.(0\.0-|\d+\.\d+-([^+]*\.)?0\.)`, the part before the timestamp.
fn pseudo_head_ok(head: &str) -> bool {
    let Some(rest) = head.strip_prefix('v') else {
        return false;
    };
    let Some(rest) = digits_then(rest, '.') else {
        return false;
    };
    if rest == "0.0-" {
        return true;
    }
    let Some(rest) = digits_then(rest, '.').and_then(|r| digits_then(r, '-')) else {
        return false;
    };
    rest == "0." || rest.ends_with(".0.")
}

/// `s` after one or more ASCII digits and then `sep`.
fn digits_then(s: &str, sep: char) -> Option<&str> {
    let n = s.bytes().take_while(u8::is_ascii_digit).count();
    if n == 0 {
        return None;
    }
    s[n..].strip_prefix(sep)
}

/// The `.info` as cmd/go stores it: the served one re-marshaled as
/// `writeDiskStat` does (refused when cmd/go would refuse it). A source
/// without one gets one made up, with the time a pseudo-version carries.
pub fn normalized_info(version: &str, served: Option<&[u8]>) -> Result<String, ModError> {
    match served {
        Some(bytes) => info_from_served(version, bytes),
        None => Ok(super::render_info(
            version,
            pseudo_version_time(version).as_deref(),
        )),
    }
}

/// `v0.0.0-20240102030405-abcdef…` → `2024-01-02T03:04:05Z`.
pub fn pseudo_version_time(version: &str) -> Option<String> {
    let stamp = version.rsplit('-').nth(1)?;
    let stamp = stamp.rsplit('.').next()?;
    if stamp.len() != 14 || !stamp.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let s = |a: usize, b: usize| &stamp[a..b];
    Some(format!(
        "{}-{}-{}T{}:{}:{}Z",
        s(0, 4),
        s(4, 6),
        s(6, 8),
        s(8, 10),
        s(10, 12),
        s(12, 14)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TAGGED: &str = r#"{"Version":"v1.2.3","Time":"2023-01-01T00:00:00Z","Origin":{"VCS":"git","URL":"https://github.com/x/y","Hash":"abc","Ref":"refs/tags/v1.2.3","TagPrefix":"","TagSum":"t1:xyz","RepoSum":"r1:q"}}"#;

    #[test]
    fn origin_keeps_what_cmd_go_keeps() {
        assert_eq!(
            info_from_served("v1.2.3", TAGGED.as_bytes()).unwrap(),
            r#"{"Version":"v1.2.3","Time":"2023-01-01T00:00:00Z","Origin":{"VCS":"git","URL":"https://github.com/x/y","Hash":"abc","Ref":"refs/tags/v1.2.3"}}"#
        );
        let pseudo = "v0.0.0-20240102030405-abcdefabcdef";
        let served = format!(
            r#"{{"Origin":{{"Ref":"refs/heads/main","Subdir":"sub","Hash":"h","VCS":"git"}},"Time":"2024-01-02T03:04:05.100+02:00","Version":"{pseudo}","Extra":1}}"#
        );
        assert_eq!(
            info_from_served(pseudo, served.as_bytes()).unwrap(),
            format!(
                r#"{{"Version":"{pseudo}","Time":"2024-01-02T03:04:05.1+02:00","Origin":{{"VCS":"git","Subdir":"sub","Hash":"h"}}}}"#
            )
        );
    }

    #[test]
    fn an_origin_left_empty_stays_an_empty_object_and_null_goes() {
        let empty = r#"{"Version":"v1.0.0","Origin":{"TagSum":"t1:x"}}"#;
        assert_eq!(
            info_from_served("v1.0.0", empty.as_bytes()).unwrap(),
            r#"{"Version":"v1.0.0","Time":"0001-01-01T00:00:00Z","Origin":{}}"#
        );
        let null = r#"{"Version":"v1.0.0","Time":"2020-01-01T00:00:00Z","Origin":null}"#;
        assert_eq!(
            info_from_served("v1.0.0", null.as_bytes()).unwrap(),
            r#"{"Version":"v1.0.0","Time":"2020-01-01T00:00:00Z"}"#
        );
    }

    #[test]
    fn strings_are_escaped_as_go_escapes_them() {
        assert_eq!(
            go_json_string("a<b>&c\"\\\n\t\u{1}\u{2028}é"),
            r#""a\u003cb\u003e\u0026c\"\\\n\t\u0001\u2028é""#
        );
        let served = r#"{"Version":"v1.0.0","Origin":{"URL":"https://h/x?a=1&b=<2>"}}"#;
        assert!(
            info_from_served("v1.0.0", served.as_bytes())
                .unwrap()
                .contains(r#""URL":"https://h/x?a=1\u0026b=\u003c2\u003e""#)
        );
    }

    #[test]
    fn untrusted_info_is_refused_with_the_reason() {
        let cases = [
            ("{not json", "not valid JSON"),
            ("[1]", "not a JSON object"),
            (r#"{"Version":"v9.9.9"}"#, "version \"v9.9.9\""),
            (r#"{"Time":"2020-01-01T00:00:00Z"}"#, "version \"\""),
            (r#"{"Version":1}"#, "Version is not a string"),
            (r#"{"Version":"v1.0.0","Time":"yesterday"}"#, "yesterday"),
            (r#"{"Version":"v1.0.0","Origin":"git"}"#, "Origin is not"),
            (
                r#"{"Version":"v1.0.0","Origin":{"Hash":[1]}}"#,
                "Hash is not a string",
            ),
        ];
        for (served, why) in cases {
            let err = info_from_served("v1.0.0", served.as_bytes()).unwrap_err();
            assert!(err.to_string().contains(why), "{served}: {err}");
        }
    }

    #[test]
    fn field_names_match_as_go_matches_them() {
        let served = r#"{"version":"v1.0.0","TIME":"2020-01-01T00:00:00Z"}"#;
        assert_eq!(
            info_from_served("v1.0.0", served.as_bytes()).unwrap(),
            r#"{"Version":"v1.0.0","Time":"2020-01-01T00:00:00Z"}"#
        );
    }

    #[test]
    fn pseudo_versions_are_recognised_like_x_mod() {
        for v in [
            "v0.0.0-20240102030405-abcdefabcdef",
            "v1.2.4-0.20240102030405-abcdefabcdef",
            "v1.2.4-pre.0.20240102030405-abcdefabcdef",
            "v2.0.0-20240102030405-abcdefabcdef+incompatible",
        ] {
            assert!(is_pseudo_version(v), "{v}");
        }
        for v in [
            "v1.2.3",
            "v1.0.0-RC1",
            "v1.2.4-1.20240102030405-abcdefabcdef",
            "v0.0.0-2024010203040-abcdefabcdef",
            "v0.0.0-20240102030405-",
            "v0.0.0-20240102030405-abc_def",
        ] {
            assert!(!is_pseudo_version(v), "{v}");
        }
    }
}
