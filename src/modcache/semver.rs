//! Semantic versions as the go command reads them (`golang.org/x/mod/semver`:
//! `IsValid`, `Canonical`, `Major`, `Prerelease`, `Build`, `Compare`, `Sort`)
//! and the module path/version agreement check (`module.Check`,
//! `module.CheckPathMajor`, `module.CanonicalVersion`).

use std::cmp::Ordering;

use super::error::ModError;
use super::escape::{check_path, split_path_version};

/// The parts of a version, borrowed from the input (x/mod semver `parsed`).
#[derive(Debug, Default, Clone, Copy)]
struct Parsed<'a> {
    major: &'a str,
    minor: &'a str,
    patch: &'a str,
    /// `.0.0` or `.0` when minor/patch were omitted (`v1`, `v1.2`).
    short: &'static str,
    prerelease: &'a str,
    build: &'a str,
}

/// x/mod semver `parse`.
fn parse(v: &str) -> Option<Parsed<'_>> {
    let mut p = Parsed::default();
    let (major, rest) = parse_int(v.strip_prefix('v')?)?;
    p.major = major;
    if rest.is_empty() {
        p.minor = "0";
        p.patch = "0";
        p.short = ".0.0";
        return Some(p);
    }
    let (minor, rest) = parse_int(rest.strip_prefix('.')?)?;
    p.minor = minor;
    if rest.is_empty() {
        p.patch = "0";
        p.short = ".0";
        return Some(p);
    }
    let (patch, mut rest) = parse_int(rest.strip_prefix('.')?)?;
    p.patch = patch;
    if rest.starts_with('-') {
        (p.prerelease, rest) = parse_prerelease(rest)?;
    }
    if rest.starts_with('+') {
        (p.build, rest) = parse_build(rest)?;
    }
    rest.is_empty().then_some(p)
}

/// x/mod semver `parseInt`: digits without a leading zero.
fn parse_int(v: &str) -> Option<(&str, &str)> {
    let n = v.bytes().take_while(u8::is_ascii_digit).count();
    if n == 0 || (v.starts_with('0') && n != 1) {
        return None;
    }
    Some(v.split_at(n))
}

/// x/mod semver `parsePrerelease`: `-` then dot-separated identifiers, no
/// empty identifier, no numeric identifier with a leading zero.
fn parse_prerelease(v: &str) -> Option<(&str, &str)> {
    let end = v[1..].find('+').map_or(v.len(), |i| i + 1);
    let body = &v[1..end];
    let ok = body
        .split('.')
        .all(|id| !id.is_empty() && id.bytes().all(is_ident_char) && !is_bad_num(id));
    ok.then(|| v.split_at(end))
}

/// x/mod semver `parseBuild`: `+` then dot-separated non-empty identifiers.
fn parse_build(v: &str) -> Option<(&str, &str)> {
    let body = &v[1..];
    let ok = body
        .split('.')
        .all(|id| !id.is_empty() && id.bytes().all(is_ident_char));
    ok.then_some((v, ""))
}

fn is_ident_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'-'
}

fn is_bad_num(v: &str) -> bool {
    v.len() > 1 && v.starts_with('0') && is_num(v)
}

fn is_num(v: &str) -> bool {
    v.bytes().all(|b| b.is_ascii_digit())
}

/// Reports whether `v` is a valid semantic version in Go's `v`-prefixed
/// form; `v1` and `v1.2` are accepted as shorthands (x/mod `semver.IsValid`).
pub fn is_valid(v: &str) -> bool {
    parse(v).is_some()
}

/// The canonical form of `v`: shorthands expanded, build suffix dropped
/// (x/mod `semver.Canonical`). `None` if `v` is invalid.
pub fn canonical(v: &str) -> Option<String> {
    let p = parse(v)?;
    Some(if !p.build.is_empty() {
        v[..v.len() - p.build.len()].to_string()
    } else {
        format!("{v}{}", p.short)
    })
}

/// Like [`canonical`] but keeps a `+incompatible` build suffix
/// (x/mod `module.CanonicalVersion`).
pub fn canonical_version(v: &str) -> Option<String> {
    let mut c = canonical(v)?;
    if build(v) == "+incompatible" {
        c.push_str("+incompatible");
    }
    Some(c)
}

/// The major version prefix, e.g. `v2` (x/mod `semver.Major`); `""` if invalid.
pub fn major(v: &str) -> &str {
    parse(v).map_or("", |p| &v[..1 + p.major.len()])
}

/// The prerelease suffix including its `-` (x/mod `semver.Prerelease`).
pub fn prerelease(v: &str) -> &str {
    parse(v).map_or("", |p| p.prerelease)
}

/// The build suffix including its `+` (x/mod `semver.Build`).
pub fn build(v: &str) -> &str {
    parse(v).map_or("", |p| p.build)
}

/// Compares two versions by semver precedence; invalid versions sort
/// before all valid ones and equal to each other (x/mod `semver.Compare`).
pub fn compare(a: &str, b: &str) -> Ordering {
    match (parse(a), parse(b)) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Less,
        (Some(_), None) => Ordering::Greater,
        (Some(pa), Some(pb)) => compare_int(pa.major, pb.major)
            .then_with(|| compare_int(pa.minor, pb.minor))
            .then_with(|| compare_int(pa.patch, pb.patch))
            .then_with(|| compare_prerelease(pa.prerelease, pb.prerelease)),
    }
}

/// Sorts by [`compare`], breaking ties by string order (x/mod `semver.Sort`).
pub fn sort(list: &mut [String]) {
    list.sort_by(|a, b| compare(a, b).then_with(|| a.cmp(b)));
}

/// Decimal strings without leading zeros: longer is larger.
fn compare_int(x: &str, y: &str) -> Ordering {
    x.len().cmp(&y.len()).then_with(|| x.cmp(y))
}

/// x/mod semver `comparePrerelease`: no prerelease sorts last; numeric
/// identifiers sort before alphanumeric ones and numerically among themselves.
fn compare_prerelease(x: &str, y: &str) -> Ordering {
    if x == y {
        return Ordering::Equal;
    }
    if x.is_empty() {
        return Ordering::Greater;
    }
    if y.is_empty() {
        return Ordering::Less;
    }
    let mut xs = x[1..].split('.');
    let mut ys = y[1..].split('.');
    loop {
        match (xs.next(), ys.next()) {
            (Some(dx), Some(dy)) => {
                let c = compare_ident(dx, dy);
                if c != Ordering::Equal {
                    return c;
                }
            }
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (None, None) => return Ordering::Equal,
        }
    }
}

fn compare_ident(dx: &str, dy: &str) -> Ordering {
    if dx == dy {
        return Ordering::Equal;
    }
    match (is_num(dx), is_num(dy)) {
        (true, false) => Ordering::Less,
        (false, true) => Ordering::Greater,
        (true, true) => compare_int(dx, dy),
        (false, false) => dx.cmp(dy),
    }
}

fn version_error(path: &str, version: &str, reason: impl Into<String>) -> ModError {
    ModError::InvalidVersion {
        path: path.to_string(),
        version: version.to_string(),
        reason: reason.into(),
    }
}

/// Checks that `version` is a canonical semantic version appropriate for
/// module `path` (x/mod `module.Check` + `module.CanonicalVersion`):
///
/// * `path` is a valid module path;
/// * `version` is valid semver and already canonical (`+incompatible` is the
///   only build suffix kept);
/// * a `/vN` path (or gopkg.in `.vN`) requires major version `vN`; a path
///   without one requires `v0`/`v1`, or `vN+incompatible` with N ≥ 2.
///   gopkg.in `.v1` also accepts old `v0.0.0-` pseudo-versions.
///
/// Stricter than `module.Check` in two places, both matching what cmd/go
/// accepts from a proxy: the version must be canonical, and
/// `+incompatible` is refused on `v0`/`v1` and on paths with a major suffix.
pub fn check_version(path: &str, version: &str) -> Result<(), ModError> {
    check_path(path)?;
    if !is_valid(version) {
        return Err(version_error(path, version, "not a semantic version"));
    }
    let canon = canonical_version(version).unwrap_or_default();
    if canon != version {
        return Err(version_error(
            path,
            version,
            format!("not canonical (should be {canon:?})"),
        ));
    }
    let (_, path_major) = split_path_version(path)
        .ok_or_else(|| version_error(path, version, "invalid major version suffix in path"))?;
    let incompatible = build(version) == "+incompatible";
    if incompatible && (!path_major.is_empty() || matches!(major(version), "v0" | "v1")) {
        return Err(version_error(
            path,
            version,
            "+incompatible is only allowed for major versions 2 and above on paths without a /vN suffix",
        ));
    }
    check_path_major(version, path_major).map_err(|r| version_error(path, version, r))
}

/// x/mod `module.CheckPathMajor`: does version `v` fit the path's major
/// suffix (`""`, `/vN`, `.vN`, `.vN-unstable`)? Returns the reason if not.
pub fn check_path_major(v: &str, path_major: &str) -> Result<(), String> {
    let mut pm = path_major;
    if pm.starts_with(".v") {
        pm = pm.strip_suffix("-unstable").unwrap_or(pm);
    }
    if v.starts_with("v0.0.0-") && pm == ".v1" {
        // Old vgo bug: v0 pseudo-versions for gopkg.in .v1 paths are accepted.
        return Ok(());
    }
    let m = major(v);
    let want = if pm.is_empty() {
        if m == "v0" || m == "v1" || build(v) == "+incompatible" {
            return Ok(());
        }
        "v0 or v1"
    } else if let Some(suffix) = pm.strip_prefix(['/', '.']) {
        if m == suffix {
            return Ok(());
        }
        suffix
    } else {
        pm
    };
    Err(format!("should be {want}, not {m}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// x/mod semver_test.go `tests`, in ascending order; `""` = invalid.
    const TESTS: &[(&str, &str)] = &[
        ("bad", ""),
        ("v1-alpha.beta.gamma", ""),
        ("v1-pre", ""),
        ("v1+meta", ""),
        ("v1-pre+meta", ""),
        ("v1.2-pre", ""),
        ("v1.2+meta", ""),
        ("v1.2-pre+meta", ""),
        ("v1.0.0-alpha", "v1.0.0-alpha"),
        ("v1.0.0-alpha.1", "v1.0.0-alpha.1"),
        ("v1.0.0-alpha.beta", "v1.0.0-alpha.beta"),
        ("v1.0.0-beta", "v1.0.0-beta"),
        ("v1.0.0-beta.2", "v1.0.0-beta.2"),
        ("v1.0.0-beta.11", "v1.0.0-beta.11"),
        ("v1.0.0-rc.1", "v1.0.0-rc.1"),
        ("v1", "v1.0.0"),
        ("v1.0", "v1.0.0"),
        ("v1.0.0", "v1.0.0"),
        ("v1.2", "v1.2.0"),
        ("v1.2.0", "v1.2.0"),
        ("v1.2.3-456", "v1.2.3-456"),
        ("v1.2.3-456.789", "v1.2.3-456.789"),
        ("v1.2.3-456-789", "v1.2.3-456-789"),
        ("v1.2.3-456a", "v1.2.3-456a"),
        ("v1.2.3-pre", "v1.2.3-pre"),
        ("v1.2.3-pre+meta", "v1.2.3-pre"),
        ("v1.2.3-pre.1", "v1.2.3-pre.1"),
        ("v1.2.3-zzz", "v1.2.3-zzz"),
        ("v1.2.3", "v1.2.3"),
        ("v1.2.3+meta", "v1.2.3"),
        ("v1.2.3+meta-pre", "v1.2.3"),
        ("v1.2.3+meta-pre.sha.256a", "v1.2.3"),
    ];

    #[test]
    fn valid_and_canonical() {
        for &(v, out) in TESTS {
            assert_eq!(is_valid(v), !out.is_empty(), "is_valid({v:?})");
            assert_eq!(canonical(v).unwrap_or_default(), out, "canonical({v:?})");
            let want_major = out.split('.').next().filter(|_| !out.is_empty());
            assert_eq!(major(v), want_major.unwrap_or(""), "major({v:?})");
        }
        for bad in [
            "v01.0.0",
            "v1.02.0",
            "v1.0.0-01",
            "v1.0.0-",
            "v1.0.0+",
            "v1.0.0-a..b",
            "1.0.0",
            "",
        ] {
            assert!(!is_valid(bad), "{bad}");
        }
        assert!(is_valid("v1.0.0-0"));
        assert_eq!(prerelease("v1.2.3-pre+meta"), "-pre");
        assert_eq!(build("v1.2.3-pre+meta"), "+meta");
        assert_eq!(
            canonical_version("v2.0.0+incompatible").unwrap(),
            "v2.0.0+incompatible"
        );
        assert_eq!(canonical_version("v2.0+incompatible"), None);
        assert_eq!(canonical_version("v2.0.0+meta").unwrap(), "v2.0.0");
    }

    #[test]
    fn compare_matrix() {
        for (i, &(vi, oi)) in TESTS.iter().enumerate() {
            for (j, &(vj, oj)) in TESTS.iter().enumerate() {
                let want = if oi == oj { Ordering::Equal } else { i.cmp(&j) };
                assert_eq!(compare(vi, vj), want, "compare({vi:?}, {vj:?})");
            }
        }
    }

    #[test]
    fn sort_golden() {
        let mut list: Vec<String> = TESTS.iter().rev().map(|(v, _)| v.to_string()).collect();
        sort(&mut list);
        let golden = [
            "bad",
            "v1+meta",
            "v1-alpha.beta.gamma",
            "v1-pre",
            "v1-pre+meta",
            "v1.2+meta",
            "v1.2-pre",
            "v1.2-pre+meta",
            "v1.0.0-alpha",
            "v1.0.0-alpha.1",
            "v1.0.0-alpha.beta",
            "v1.0.0-beta",
            "v1.0.0-beta.2",
            "v1.0.0-beta.11",
            "v1.0.0-rc.1",
            "v1",
            "v1.0",
            "v1.0.0",
            "v1.2",
            "v1.2.0",
            "v1.2.3-456",
            "v1.2.3-456.789",
            "v1.2.3-456-789",
            "v1.2.3-456a",
            "v1.2.3-pre",
            "v1.2.3-pre+meta",
            "v1.2.3-pre.1",
            "v1.2.3-zzz",
            "v1.2.3",
            "v1.2.3+meta",
            "v1.2.3+meta-pre",
            "v1.2.3+meta-pre.sha.256a",
        ];
        assert_eq!(list, golden);
    }

    /// x/mod module_test.go `checkTests`, adjusted where golock is stricter.
    #[test]
    fn check_version_table() {
        let cases = [
            ("rsc.io/quote", "0.1.0", false),
            ("rsc io/quote", "v1.0.0", false),
            ("github.com/go-yaml/yaml", "v0.8.0", true),
            ("github.com/go-yaml/yaml", "v1.0.0", true),
            ("github.com/go-yaml/yaml", "v2.0.0", false),
            ("github.com/go-yaml/yaml", "v2.1.5", false),
            ("github.com/go-yaml/yaml", "v3.0.0", false),
            ("github.com/go-yaml/yaml/v2", "v1.0.0", false),
            ("github.com/go-yaml/yaml/v2", "v2.0.0", true),
            ("github.com/go-yaml/yaml/v2", "v2.1.5", true),
            ("github.com/go-yaml/yaml/v2", "v3.0.0", false),
            ("gopkg.in/yaml.v0", "v0.8.0", true),
            ("gopkg.in/yaml.v0", "v1.0.0", false),
            ("gopkg.in/yaml.v0", "v2.0.0", false),
            ("gopkg.in/yaml.v0", "v2.1.5", false),
            ("gopkg.in/yaml.v0", "v3.0.0", false),
            ("gopkg.in/yaml.v1", "v0.8.0", false),
            ("gopkg.in/yaml.v1", "v1.0.0", true),
            ("gopkg.in/yaml.v1", "v2.0.0", false),
            ("gopkg.in/yaml.v1", "v2.1.5", false),
            ("gopkg.in/yaml.v1", "v3.0.0", false),
            ("gopkg.in/check.v1", "v0.0.0", false),
            (
                "gopkg.in/check.v1",
                "v0.0.0-20160102150405-abcdef123456",
                true,
            ),
            ("gopkg.in/yaml.v2", "v1.0.0", false),
            ("gopkg.in/yaml.v2", "v2.0.0", true),
            ("gopkg.in/yaml.v2", "v2.1.5", true),
            ("gopkg.in/yaml.v2", "v3.0.0", false),
            ("rsc.io/quote", "v17.0.0", false),
            ("rsc.io/quote", "v17.0.0+incompatible", true),
            // golock additions: canonical only, +incompatible only where meaningful.
            ("rsc.io/quote", "v1.5", false),
            ("rsc.io/quote", "v1.5.2+meta", false),
            ("rsc.io/quote", "v1.5.2+incompatible", false),
            ("rsc.io/quote/v3", "v3.0.0+incompatible", false),
            ("rsc.io/quote/v3", "v3.1.0", true),
            ("rsc.io/quote", "v0.0.0-20191109021931-daa7c04131f5", true),
            (
                "rsc.io/quote/v2",
                "v2.0.0-20191109021931-daa7c04131f5",
                true,
            ),
            ("github.com/Azure/go-autorest", "v14.2.0+incompatible", true),
            ("gopkg.in/yaml.v3-unstable", "v3.0.0-rc1", true),
        ];
        for (path, v, ok) in cases {
            assert_eq!(
                check_version(path, v).is_ok(),
                ok,
                "check_version({path:?}, {v:?})"
            );
        }
        let msg = check_version("github.com/go-yaml/yaml/v2", "v3.0.0")
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains("github.com/go-yaml/yaml/v2@v3.0.0")
                && msg.contains("should be v2, not v3"),
            "{msg}"
        );
    }

    #[test]
    fn path_major_table() {
        let cases = [
            ("v0.0.0", "", true),
            ("v0.0.0", "/v2", false),
            ("v0.0.0", ".v0", true),
            ("v0.0.0-20190510104115-cbcb75029529", ".v1", true),
            ("v1.0.0", "/v2", false),
            ("v1.0.0", ".v1", true),
            ("v1.0.0", ".v1-unstable", true),
            ("v2.0.0+incompatible", "", true),
            ("v2.0.0", "", false),
            ("v2.0.0", "/v2", true),
            ("v2.0.0", ".v2", true),
        ];
        for (v, pm, ok) in cases {
            assert_eq!(
                check_path_major(v, pm).is_ok(),
                ok,
                "check_path_major({v:?}, {pm:?})"
            );
        }
    }
}
