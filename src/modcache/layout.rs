//! Where the go command keeps each module file under GOMODCACHE, and the
//! exact bytes of the small metadata files it writes there
//! (cmd/go `modfetch.cacheDir`, `CachePath`, `DownloadDir`,
//! `writeDiskStat`, `rewriteVersionList`, `hashZip`).
//!
//! ```text
//! <root>/cache/download/<esc path>/@v/list           versions with a .mod, one per line
//! <root>/cache/download/<esc path>/@v/<esc v>.info   {"Version":..,"Time":..}
//! <root>/cache/download/<esc path>/@v/<esc v>.mod    go.mod bytes
//! <root>/cache/download/<esc path>/@v/<esc v>.zip    module zip
//! <root>/cache/download/<esc path>/@v/<esc v>.ziphash  "h1:..." (no newline)
//! <root>/cache/download/<esc path>/@v/<esc v>.lock   empty, flock'd by cmd/go
//! <root>/cache/download/<esc path>/@v/<esc v>.partial  present while extracting
//! <root>/<esc path>@<esc v>/                          extracted tree (read-only)
//! ```

use std::path::PathBuf;

use super::error::ModError;
use super::escape::{escape_path, escape_version};
use super::semver;

/// A GOMODCACHE directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheLayout {
    pub root: PathBuf,
}

impl CacheLayout {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        CacheLayout { root: root.into() }
    }

    /// `<root>/cache/download/<escaped path>/@v` (cmd/go `cacheDir`).
    pub fn download_dir(&self, path: &str) -> Result<PathBuf, ModError> {
        let esc = escape_path(path)?;
        Ok(self.root.join("cache/download").join(esc).join("@v"))
    }

    /// `@v/list`: the version list file.
    pub fn list(&self, path: &str) -> Result<PathBuf, ModError> {
        Ok(self.download_dir(path)?.join("list"))
    }

    /// `@v/<v>.zip`.
    pub fn zip(&self, path: &str, version: &str) -> Result<PathBuf, ModError> {
        self.cache_path(path, version, "zip")
    }

    /// `@v/<v>.ziphash`: the zip's `h1:` hash, written after a verified download.
    pub fn ziphash(&self, path: &str, version: &str) -> Result<PathBuf, ModError> {
        self.cache_path(path, version, "ziphash")
    }

    /// `@v/<v>.mod`: the module's go.mod.
    pub fn mod_file(&self, path: &str, version: &str) -> Result<PathBuf, ModError> {
        self.cache_path(path, version, "mod")
    }

    /// `@v/<v>.info`: the version's JSON info.
    pub fn info(&self, path: &str, version: &str) -> Result<PathBuf, ModError> {
        self.cache_path(path, version, "info")
    }

    /// `@v/<v>.lock`: the per-version mutex file cmd/go locks (cmd/go `lockVersion`).
    pub fn lock_file(&self, path: &str, version: &str) -> Result<PathBuf, ModError> {
        self.cache_path(path, version, "lock")
    }

    /// `@v/<v>.partial`: exists while the extracted tree is incomplete.
    ///
    /// cmd/go keeps this marker in the download directory beside the zip
    /// (`CachePath(m, "partial")` in `modfetch.unzip`), *not* next to the
    /// extracted tree; `DownloadDir` treats the tree as absent while it exists.
    pub fn partial_marker(&self, path: &str, version: &str) -> Result<PathBuf, ModError> {
        self.cache_path(path, version, "partial")
    }

    /// `<root>/<escaped path>@<escaped version>` (cmd/go `DownloadDir`).
    pub fn extracted_dir(&self, path: &str, version: &str) -> Result<PathBuf, ModError> {
        let esc = escape_path(path)?;
        let ver = cache_version(path, version)?;
        Ok(self.root.join(format!("{esc}@{ver}")))
    }

    /// cmd/go `CachePath`: `<download dir>/<escaped version>.<suffix>`.
    fn cache_path(&self, path: &str, version: &str, suffix: &str) -> Result<PathBuf, ModError> {
        let dir = self.download_dir(path)?;
        let ver = cache_version(path, version)?;
        Ok(dir.join(format!("{ver}.{suffix}")))
    }
}

/// The escaped version, after cmd/go's cache-path checks: valid semver,
/// already canonical (`+incompatible` kept).
fn cache_version(path: &str, version: &str) -> Result<String, ModError> {
    let bad = |reason: String| ModError::InvalidVersion {
        path: path.to_string(),
        version: version.to_string(),
        reason,
    };
    if !semver::is_valid(version) {
        return Err(bad("non-semver module version".into()));
    }
    if semver::canonical_version(version).as_deref() != Some(version) {
        return Err(bad("non-canonical module version".into()));
    }
    escape_version(version).map_err(|_| bad("disallowed version string".into()))
}

/// The `@v/list` file as cmd/go `rewriteVersionList` writes it: one line
/// `v\n` per version, deduplicated, in semver order with string order
/// breaking ties.
///
/// cmd/go builds the list from the *escaped* `.mod` file names and keeps
/// only those that are canonical semver, so a version with upper-case
/// letters (`v1.0.0-RC1`, stored as `v1.0.0-!r!c1.mod`) never appears in
/// the list; neither does a non-canonical one. This mirrors both.
pub fn render_list<'a>(versions: impl IntoIterator<Item = &'a str>) -> String {
    let mut list: Vec<String> = versions
        .into_iter()
        .filter(|v| !v.bytes().any(|b| b.is_ascii_uppercase()))
        .filter(|v| semver::canonical_version(v).as_deref() == Some(*v))
        .map(str::to_string)
        .collect();
    semver::sort(&mut list);
    list.dedup();
    list.iter().map(|v| format!("{v}\n")).collect()
}

/// Go's zero `time.Time` in JSON, written when no time is known.
pub const ZERO_TIME: &str = "0001-01-01T00:00:00Z";

/// The `.info` file as cmd/go writes it to the cache (`writeDiskStat`:
/// `json.Marshal` of `RevInfo`): compact, `Version` then `Time`, no
/// trailing newline, e.g. `{"Version":"v1.0.0","Time":"2019-11-09T02:19:31Z"}`.
///
/// The proxy's `.info` is parsed and re-marshaled by cmd/go, so `time` is
/// normalized with [`normalize_time`]; `None` gives Go's zero time. A time
/// that does not parse is written verbatim — use [`try_render_info`] to
/// reject it instead. This is the `.info` golock makes when a source has
/// none; a served one goes through [`super::info::info_from_served`],
/// which keeps its `Origin` as cmd/go does.
pub fn render_info(version: &str, time: Option<&str>) -> String {
    let time = match time {
        None => ZERO_TIME.to_string(),
        Some(t) => normalize_time(t).unwrap_or_else(|_| t.to_string()),
    };
    info_json(version, &time)
}

/// [`render_info`], failing on a time that is not RFC 3339.
pub fn try_render_info(version: &str, time: Option<&str>) -> Result<String, ModError> {
    let time = match time {
        None => ZERO_TIME.to_string(),
        Some(t) => normalize_time(t)?,
    };
    Ok(info_json(version, &time))
}

fn info_json(version: &str, time: &str) -> String {
    let q = |s: &str| serde_json::Value::from(s).to_string();
    format!("{{\"Version\":{},\"Time\":{}}}", q(version), q(time))
}

/// Rewrites an RFC 3339 time the way Go's `time.Time` JSON round trip does
/// (`time.Parse(RFC3339)` then `Format(RFC3339Nano)`): fractional seconds
/// beyond nanoseconds are truncated and trailing zeros dropped, and a zero
/// offset is written `Z`.
pub fn normalize_time(t: &str) -> Result<String, ModError> {
    parse_rfc3339(t).map_err(|reason| ModError::InvalidTime {
        time: t.to_string(),
        reason: reason.to_string(),
    })
}

fn parse_rfc3339(t: &str) -> Result<String, &'static str> {
    if !t.is_ascii() {
        return Err("non-ASCII character");
    }
    let b = t.as_bytes();
    if b.len() < 20 {
        return Err("too short");
    }
    let shape_ok = b[4] == b'-' && b[7] == b'-' && b[10] == b'T' && b[13] == b':' && b[16] == b':';
    if !shape_ok {
        return Err("not of the form YYYY-MM-DDTHH:MM:SS");
    }
    let num = |r: std::ops::Range<usize>| -> Result<u32, &'static str> {
        let s = &t[r];
        if !s.bytes().all(|c| c.is_ascii_digit()) {
            return Err("non-digit in date or time");
        }
        s.parse().map_err(|_| "bad number")
    };
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, min, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return Err("day out of range");
    }
    if hour > 23 || min > 59 || sec > 59 {
        return Err("time out of range");
    }
    let (frac, zone) = split_fraction(&t[19..])?;
    let zone = normalize_zone(zone)?;
    let frac = frac.get(..9).unwrap_or(frac).trim_end_matches('0');
    let dot = if frac.is_empty() { "" } else { "." };
    Ok(format!("{}{dot}{frac}{zone}", &t[..19]))
}

/// Splits `.ddd<zone>` into the digits and the zone.
fn split_fraction(rest: &str) -> Result<(&str, &str), &'static str> {
    let Some(after_dot) = rest.strip_prefix('.') else {
        return Ok(("", rest));
    };
    let n = after_dot.bytes().take_while(u8::is_ascii_digit).count();
    if n == 0 {
        return Err("empty fractional second");
    }
    Ok(after_dot.split_at(n))
}

fn normalize_zone(zone: &str) -> Result<String, &'static str> {
    if zone == "Z" {
        return Ok("Z".into());
    }
    let b = zone.as_bytes();
    let shape_ok = b.len() == 6
        && (b[0] == b'+' || b[0] == b'-')
        && b[3] == b':'
        && [1, 2, 4, 5].iter().all(|&i| b[i].is_ascii_digit());
    if !shape_ok {
        return Err("bad time zone (want Z or ±hh:mm)");
    }
    let hh: u32 = zone[1..3].parse().map_err(|_| "bad zone")?;
    let mm: u32 = zone[4..6].parse().map_err(|_| "bad zone")?;
    if hh > 23 || mm > 59 {
        return Err("time zone offset out of range");
    }
    Ok(if hh == 0 && mm == 0 {
        "Z".into()
    } else {
        zone.into()
    })
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        2 if year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400)) => {
            29
        }
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn paths() {
        let l = CacheLayout::new("/c");
        let p = "github.com/BurntSushi/toml";
        let dl = "/c/cache/download/github.com/!burnt!sushi/toml/@v";
        assert_eq!(l.download_dir(p).unwrap(), Path::new(dl));
        assert_eq!(l.list(p).unwrap(), Path::new(dl).join("list"));
        let v = "v1.0.0-RC1";
        assert_eq!(l.zip(p, v).unwrap(), Path::new(dl).join("v1.0.0-!r!c1.zip"));
        assert_eq!(
            l.ziphash(p, v).unwrap(),
            Path::new(dl).join("v1.0.0-!r!c1.ziphash")
        );
        assert_eq!(
            l.mod_file(p, v).unwrap(),
            Path::new(dl).join("v1.0.0-!r!c1.mod")
        );
        assert_eq!(
            l.info(p, v).unwrap(),
            Path::new(dl).join("v1.0.0-!r!c1.info")
        );
        assert_eq!(
            l.lock_file(p, v).unwrap(),
            Path::new(dl).join("v1.0.0-!r!c1.lock")
        );
        assert_eq!(
            l.partial_marker(p, v).unwrap(),
            Path::new(dl).join("v1.0.0-!r!c1.partial")
        );
        assert_eq!(
            l.extracted_dir(p, v).unwrap(),
            Path::new("/c/github.com/!burnt!sushi/toml@v1.0.0-!r!c1")
        );
        assert_eq!(
            l.extracted_dir("gopkg.in/yaml.v2", "v2.4.0").unwrap(),
            Path::new("/c/gopkg.in/yaml.v2@v2.4.0")
        );
        assert_eq!(
            l.zip("github.com/Azure/go-autorest", "v14.2.0+incompatible")
                .unwrap(),
            Path::new(
                "/c/cache/download/github.com/!azure/go-autorest/@v/v14.2.0+incompatible.zip"
            )
        );
    }

    #[test]
    fn paths_reject_bad_input() {
        let l = CacheLayout::new("/c");
        assert!(l.download_dir("Example.com/x").is_err());
        assert!(l.zip("example.com/x", "v1.0").is_err());
        assert!(l.zip("example.com/x", "v1.0.0+meta").is_err());
        assert!(l.zip("example.com/x", "latest").is_err());
        assert!(l.extracted_dir("example.com/x", "../v1.0.0").is_err());
    }

    #[test]
    fn list_is_sorted_canonical() {
        let got = render_list([
            "v1.10.0",
            "v1.2.0",
            "v1.2.0",
            "v1.0.0-rc.1",
            "v2.0.0+incompatible",
            "v1.0",
            "v1.0.0-RC1",
            "junk",
            "",
            "v0.0.0-20191109021931-daa7c04131f5",
        ]);
        assert_eq!(
            got,
            "v0.0.0-20191109021931-daa7c04131f5\nv1.0.0-rc.1\nv1.2.0\nv1.10.0\nv2.0.0+incompatible\n"
        );
        assert_eq!(render_list([]), "");
    }

    #[test]
    fn info_matches_cmd_go() {
        assert_eq!(
            render_info("v1.5.2", Some("2018-02-14T15:44:20Z")),
            r#"{"Version":"v1.5.2","Time":"2018-02-14T15:44:20Z"}"#
        );
        assert_eq!(
            render_info("v1.0.0", None),
            r#"{"Version":"v1.0.0","Time":"0001-01-01T00:00:00Z"}"#
        );
        assert_eq!(
            render_info("v1.0.0", Some("2019-11-09T02:19:31.120000000+00:00")),
            r#"{"Version":"v1.0.0","Time":"2019-11-09T02:19:31.12Z"}"#
        );
        assert_eq!(
            render_info("v1.0.0", Some("2019-11-09T02:19:31.000-07:00")),
            r#"{"Version":"v1.0.0","Time":"2019-11-09T02:19:31-07:00"}"#
        );
        assert_eq!(
            normalize_time("2019-11-09T02:19:31.1234567891Z").unwrap(),
            "2019-11-09T02:19:31.123456789Z"
        );
        for bad in [
            "2019-11-09",
            "2019-13-09T02:19:31Z",
            "2019-02-29T02:19:31Z",
            "2019-11-09T24:00:00Z",
            "2019-11-09T02:19:31",
            "2019-11-09T02:19:31.Z",
            "2019-11-09 02:19:31Z",
            "2019-11-09T02:19:31+0100",
            "2019-11-09T02:19:3éZ",
        ] {
            assert!(normalize_time(bad).is_err(), "{bad}");
            assert!(try_render_info("v1.0.0", Some(bad)).is_err(), "{bad}");
        }
        assert!(normalize_time("2020-02-29T00:00:00Z").is_ok());
    }
}
