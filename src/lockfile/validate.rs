//! Raw → domain: checks every value of a [`RawLockfile`] and reports each
//! failure as a [`LockfileError`] pointing at the offending bytes.
//!
//! Validation does not stop at the first problem: all are collected, and
//! several come back together as [`LockfileError::Invalid`].

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use miette::{NamedSource, SourceSpan};
use toml::Spanned;

use super::error::{LockfileError, Src};
use super::raw::{
    Entries, RawArchive, RawGo, RawLockfile, RawModuleHashes, RawModules, RawProfile, SchemaProbe,
};
use super::{
    ArchiveSpec, GoSpec, GoVersion, ModuleHashes, ModuleKey, ModulesSpec, Platform, ProfileSpec,
    SCHEMA_VERSION,
};
use super::{require_fast, syntax};
use crate::fetch::{Source, SourceError};
use crate::signing::{self, TrustedKey};

/// `[go] health_check` is a command line, not a script file.
const MAX_HEALTH_CHECK_BYTES: usize = 4096;

/// [`Source::parse_mirror`] or [`Source::parse_proxy`].
type SourceParser = fn(&str, &Path) -> Result<Source, SourceError>;

/// The validated content of a lockfile, before the file's identity is added.
pub(super) struct Validated {
    pub go: GoSpec,
    pub modules: ModulesSpec,
    pub env: Vec<(String, String)>,
    pub profile: ProfileSpec,
    pub trusted_keys: Vec<String>,
}

/// Whether archives of another Go version than `[go] version` are refused
/// (everywhere) or read as they are (by `golock lock`, which replaces them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StaleArchives {
    Refuse,
    Allow,
}

/// Parses `text` (the file at `path`, in `dir`) and validates it.
pub(super) fn validate(
    text: &str,
    path: &Path,
    dir: &Path,
    home: &Path,
    stale_archives: StaleArchives,
) -> Result<Validated, LockfileError> {
    let mut cx = Checker {
        stale_archives,
        src: Arc::new(
            NamedSource::new(path.display().to_string(), text.to_owned()).with_language("toml"),
        ),
        path,
        dir,
        home,
        errors: Vec::new(),
    };
    if let Some(raw) = parse_fast(text, &cx) {
        let validated = cx.lockfile(raw);
        if cx.errors.is_empty() {
            return Ok(validated);
        }
        // Reported as the full parse reports them.
        cx.errors.clear();
    }
    let probe: SchemaProbe = toml::from_str(text).map_err(|e| cx.toml_error(&e))?;
    cx.check_schema(probe.schema)?;
    let raw: RawLockfile = toml::from_str(text).map_err(|e| cx.toml_error(&e))?;
    let validated = cx.lockfile(raw);
    cx.finish(validated)
}

/// The file through [`require_fast`], when that path takes it and the rest
/// parses cleanly; `None` leaves every outcome (and error) to the full parse.
fn parse_fast(text: &str, cx: &Checker<'_>) -> Option<RawLockfile> {
    let split = require_fast::split(text)?;
    let probe: SchemaProbe = toml::from_str(&split.rest).ok()?;
    cx.check_schema(probe.schema).ok()?;
    let mut raw: RawLockfile = toml::from_str(&split.rest).ok()?;
    if !raw.modules.require.0.is_empty() {
        return None;
    }
    raw.modules.require = Entries(split.require);
    Some(raw)
}

/// Walks the raw file and collects problems.
struct Checker<'a> {
    src: Src,
    path: &'a Path,
    dir: &'a Path,
    home: &'a Path,
    stale_archives: StaleArchives,
    errors: Vec<LockfileError>,
}

impl Checker<'_> {
    fn src(&self) -> Src {
        Arc::clone(&self.src)
    }

    fn finish(mut self, validated: Validated) -> Result<Validated, LockfileError> {
        match self.errors.len() {
            0 => Ok(validated),
            1 => Err(self.errors.remove(0)),
            _ => Err(LockfileError::Invalid {
                path: self.path.to_path_buf(),
                errors: self.errors,
            }),
        }
    }

    /// Records a problem; returns `None` so checks can end with `self.fail(..)`.
    fn fail<T>(&mut self, error: LockfileError) -> Option<T> {
        self.errors.push(error);
        None
    }

    fn toml_error(&self, error: &toml::de::Error) -> LockfileError {
        let span = span(error.span().unwrap_or(0..0));
        let message = error.message().trim_end().to_owned();
        if let Some((key, expected)) = unknown_field(&message) {
            return LockfileError::UnknownKey {
                key,
                src: self.src(),
                span,
                help: format!("{expected}; see schemas/golock.schema.json"),
            };
        }
        if let Some(key) = missing_field(&message) {
            return LockfileError::MissingKey {
                help: missing_key_help(&key),
                key,
                src: self.src(),
                span,
            };
        }
        LockfileError::Syntax {
            message,
            src: self.src(),
            span,
        }
    }

    fn check_schema(&self, schema: Option<Spanned<toml::Value>>) -> Result<(), LockfileError> {
        let Some(schema) = schema else {
            return Err(LockfileError::SchemaMissing {
                src: self.src(),
                span: span(0..0),
            });
        };
        match schema.get_ref() {
            toml::Value::Integer(SCHEMA_VERSION) => Ok(()),
            other => Err(LockfileError::SchemaVersion {
                found: other.to_string(),
                src: self.src(),
                span: span(schema.span()),
            }),
        }
    }

    fn lockfile(&mut self, raw: RawLockfile) -> Validated {
        Validated {
            go: self.go(raw.go),
            modules: self.modules(raw.modules),
            env: self.env(raw.env),
            profile: self.profile(raw.profile),
            trusted_keys: self.trusted_keys(raw.trusted_keys),
        }
    }

    /// minisign public keys: "RW" + 54 base64 characters (the second line of a .pub file).
    fn trusted_keys(&mut self, raw: Vec<Spanned<String>>) -> Vec<String> {
        let mut keys = Vec::new();
        for key in raw {
            let k = key.get_ref();
            let ok = k.len() == 56
                && k.starts_with("RW")
                && k.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/');
            if ok {
                keys.push(k.clone());
            } else {
                let _: Option<()> = self.fail(LockfileError::TrustedKey {
                    value: k.clone(),
                    src: self.src(),
                    span: span(key.span()),
                });
            }
        }
        keys
    }

    fn go(&mut self, raw: RawGo) -> GoSpec {
        // An invalid version is recorded as an error, so the placeholder
        // below never leaves `validate`.
        let version = self.go_version(&raw.version);
        if let Some(version) = &version {
            self.archive_versions(&raw.archives, version);
        }
        GoSpec {
            version: version.unwrap_or_else(|| GoVersion(raw.version.into_inner())),
            mirrors: self.sources(&raw.mirrors, Source::parse_mirror),
            link: raw.link.and_then(|link| self.link(&link)),
            health_check: raw.health_check.and_then(|c| self.health_check(&c)),
            platforms: self.platform_list(&raw.platforms),
            signing_keys: self.signing_keys(&raw.signing_keys),
            archives: self.archives(raw.archives),
        }
    }

    /// `[go] signing_keys`: OpenPGP public key files relative to golock.toml,
    /// each read (under a cap) and parsed; the same key twice is refused.
    fn signing_keys(&mut self, raw: &[Spanned<String>]) -> Vec<TrustedKey> {
        let mut keys: Vec<TrustedKey> = Vec::new();
        for item in raw {
            let loaded = self.signing_key(item.get_ref()).and_then(|key| {
                match keys.iter().find(|k| k.fingerprint == key.fingerprint) {
                    Some(other) => Err(format!(
                        "key {} is already named as {:?}",
                        key.fingerprint, other.name
                    )),
                    None => Ok(key),
                }
            });
            match loaded {
                Ok(key) => keys.push(key),
                Err(reason) => self.errors.push(LockfileError::SigningKey {
                    value: item.get_ref().clone(),
                    reason,
                    src: self.src(),
                    span: span(item.span()),
                }),
            }
        }
        keys
    }

    fn signing_key(&self, value: &str) -> Result<TrustedKey, String> {
        if value.is_empty() || value.contains('\0') {
            return Err("not a file path".to_string());
        }
        let path = self.dir.join(value);
        let bytes =
            crate::fsx::read_capped(&path, signing::MAX_KEY_BYTES).map_err(|e| e.to_string())?;
        TrustedKey::parse(value, &bytes)
    }

    fn go_version(&mut self, raw: &Spanned<String>) -> Option<GoVersion> {
        match raw.get_ref().parse() {
            Ok(version) => Some(version),
            Err(_) => self.fail(LockfileError::GoVersion {
                value: raw.get_ref().clone(),
                src: self.src(),
                span: span(raw.span()),
            }),
        }
    }

    fn sources(&mut self, raw: &[Spanned<String>], parse: SourceParser) -> Vec<Source> {
        raw.iter()
            .filter_map(|item| self.source(item, parse))
            .collect()
    }

    fn source(&mut self, raw: &Spanned<String>, parse: SourceParser) -> Option<Source> {
        match parse(raw.get_ref(), self.dir) {
            Ok(source) => Some(source),
            Err(e) => self.fail(LockfileError::Source {
                value: raw.get_ref().clone(),
                reason: e.reason,
                src: self.src(),
                span: span(raw.span()),
            }),
        }
    }

    fn link(&mut self, raw: &Spanned<String>) -> Option<PathBuf> {
        let link = Path::new(raw.get_ref());
        if link.is_absolute() {
            return Some(link.to_path_buf());
        }
        self.fail(LockfileError::Link {
            value: raw.get_ref().clone(),
            src: self.src(),
            span: span(raw.span()),
        })
    }

    fn health_check(&mut self, raw: &Spanned<String>) -> Option<String> {
        let command = raw.get_ref();
        let problem = if command.trim().is_empty() {
            "empty"
        } else if command.contains('\0') {
            "holds a NUL byte"
        } else if command.len() > MAX_HEALTH_CHECK_BYTES {
            "longer than 4096 bytes"
        } else {
            return Some(command.clone());
        };
        self.fail(LockfileError::HealthCheck {
            problem,
            src: self.src(),
            span: span(raw.span()),
        })
    }

    fn platform_list(&mut self, raw: &[Spanned<String>]) -> Vec<Platform> {
        let mut seen = BTreeSet::new();
        let mut platforms = Vec::new();
        for item in raw {
            let Some(platform) = self.platform(item) else {
                continue;
            };
            if seen.insert(platform) {
                platforms.push(platform);
            } else {
                self.errors.push(LockfileError::DuplicatePlatform {
                    value: platform.to_string(),
                    src: self.src(),
                    span: span(item.span()),
                });
            }
        }
        platforms
    }

    fn platform(&mut self, raw: &Spanned<String>) -> Option<Platform> {
        match raw.get_ref().parse::<Platform>() {
            Ok(platform) => Some(platform),
            Err(reason) => self.fail(LockfileError::Platform {
                value: raw.get_ref().clone(),
                src: self.src(),
                span: span(raw.span()),
                help: format!("{reason}"),
            }),
        }
    }

    fn archives(&mut self, raw: Entries<RawArchive>) -> BTreeMap<Platform, ArchiveSpec> {
        let mut archives = BTreeMap::new();
        for (key, archive) in raw.0 {
            let platform = self.platform(&key);
            let spec = self.archive(archive);
            if let (Some(platform), Some(spec)) = (platform, spec) {
                archives.insert(platform, spec);
            }
        }
        archives
    }

    /// An archive whose file names another Go release than `[go] version`
    /// is left from before a version bump; only `golock lock` may read it.
    fn archive_versions(&mut self, raw: &Entries<RawArchive>, version: &GoVersion) {
        if self.stale_archives == StaleArchives::Allow {
            return;
        }
        for (_, archive) in &raw.0 {
            let file = archive.file.get_ref();
            match syntax::archive_file_version(file) {
                Some(named) if named != version.as_str() => {
                    self.errors.push(LockfileError::ArchiveVersion {
                        file: file.clone(),
                        named,
                        version: version.to_string(),
                        src: self.src(),
                        span: span(archive.file.span()),
                    });
                }
                _ => {}
            }
        }
    }

    fn archive(&mut self, raw: RawArchive) -> Option<ArchiveSpec> {
        let file = self.archive_file(&raw.file);
        let sha256 = self.sha256(&raw.sha256);
        Some(ArchiveSpec {
            file: file?,
            sha256: sha256?,
            size: raw.size,
        })
    }

    fn archive_file(&mut self, raw: &Spanned<String>) -> Option<String> {
        if syntax::is_plain_file_name(raw.get_ref()) {
            return Some(raw.get_ref().clone());
        }
        self.fail(LockfileError::ArchiveFile {
            value: raw.get_ref().clone(),
            src: self.src(),
            span: span(raw.span()),
        })
    }

    fn sha256(&mut self, raw: &Spanned<String>) -> Option<[u8; 32]> {
        let mut digest = [0u8; 32];
        let value = raw.get_ref();
        if value.len() == 64 && hex::decode_to_slice(value, &mut digest).is_ok() {
            return Some(digest);
        }
        self.fail(LockfileError::Sha256 {
            value: value.clone(),
            len: value.chars().count(),
            src: self.src(),
            span: span(raw.span()),
        })
    }

    fn modules(&mut self, raw: RawModules) -> ModulesSpec {
        let proxies = self.sources(&raw.proxies, Source::parse_proxy);
        let mut require = BTreeMap::new();
        for (key, hashes) in raw.require.0 {
            let key = self.module_key(&key);
            let hashes = self.module_hashes(hashes);
            if let (Some(key), Some(hashes)) = (key, hashes) {
                require.insert(key, hashes);
            }
        }
        ModulesSpec { proxies, require }
    }

    fn module_key(&mut self, raw: &Spanned<String>) -> Option<ModuleKey> {
        let key = raw.get_ref();
        if let Some(reason) = syntax::module_key_problem(key) {
            return self.fail(LockfileError::ModuleKey {
                value: key.clone(),
                reason: reason.to_owned(),
                src: self.src(),
                span: span(raw.span()),
            });
        }
        let (path, version) = key.split_once('@')?;
        Some(ModuleKey {
            path: path.to_owned(),
            version: version.to_owned(),
        })
    }

    fn module_hashes(&mut self, raw: RawModuleHashes) -> Option<ModuleHashes> {
        let zip = raw.zip.as_ref().map(|zip| self.h1_hash(zip));
        let module = self.h1_hash(&raw.module);
        let zip = match zip {
            None => None,
            Some(checked) => Some(checked?),
        };
        Some(ModuleHashes {
            zip,
            module: module?,
        })
    }

    fn h1_hash(&mut self, raw: &Spanned<String>) -> Option<String> {
        if syntax::is_h1_hash(raw.get_ref()) {
            return Some(raw.get_ref().clone());
        }
        self.fail(LockfileError::ModuleHash {
            value: raw.get_ref().clone(),
            src: self.src(),
            span: span(raw.span()),
        })
    }

    fn env(&mut self, raw: Entries<Spanned<String>>) -> Vec<(String, String)> {
        raw.0
            .into_iter()
            .filter_map(|(name, value)| {
                let name = self.env_name(&name);
                let value = self.env_value(name.as_deref().unwrap_or("variable"), &value);
                Some((name?, value?))
            })
            .collect()
    }

    fn env_name(&mut self, raw: &Spanned<String>) -> Option<String> {
        let name = raw.get_ref();
        if !syntax::is_env_name(name) {
            return self.fail(LockfileError::EnvName {
                value: name.clone(),
                src: self.src(),
                span: span(raw.span()),
            });
        }
        if syntax::is_reserved_env_name(name) {
            return self.fail(LockfileError::EnvReserved {
                name: name.clone(),
                src: self.src(),
                span: span(raw.span()),
            });
        }
        Some(name.clone())
    }

    fn env_value(&mut self, name: &str, raw: &Spanned<String>) -> Option<String> {
        match syntax::forbidden_env_value_char(raw.get_ref()) {
            None => Some(raw.get_ref().clone()),
            Some(what) => self.fail(LockfileError::EnvValue {
                name: name.to_owned(),
                what,
                src: self.src(),
                span: span(raw.span()),
            }),
        }
    }

    fn profile(&mut self, raw: RawProfile) -> ProfileSpec {
        let mut files: Vec<PathBuf> = Vec::new();
        for item in &raw.files {
            let Some(file) = self.profile_file(item) else {
                continue;
            };
            if files.contains(&file) {
                self.errors.push(LockfileError::DuplicateProfileFile {
                    path: file,
                    src: self.src(),
                    span: span(item.span()),
                });
            } else {
                files.push(file);
            }
        }
        ProfileSpec {
            files,
            goenv: raw.goenv,
        }
    }

    fn profile_file(&mut self, raw: &Spanned<String>) -> Option<PathBuf> {
        match resolve_in_home(raw.get_ref(), self.home) {
            Ok(path) => Some(path),
            Err(reason) => self.fail(LockfileError::ProfilePath {
                value: raw.get_ref().clone(),
                reason,
                src: self.src(),
                span: span(raw.span()),
            }),
        }
    }
}

fn span(range: Range<usize>) -> SourceSpan {
    range.into()
}

/// Splits serde's "unknown field `x`, expected …" into the key and the rest.
fn unknown_field(message: &str) -> Option<(String, String)> {
    let rest = message.strip_prefix("unknown field `")?;
    let (key, expected) = rest.split_once('`')?;
    let expected = expected.trim_start_matches(',').trim();
    Some((key.to_owned(), expected.to_owned()))
}

/// The key of serde's "missing field `x`".
fn missing_field(message: &str) -> Option<String> {
    let rest = message.strip_prefix("missing field `")?;
    let (key, _) = rest.split_once('`')?;
    Some(key.to_owned())
}

fn missing_key_help(key: &str) -> String {
    match key {
        "go" => "add a [go] table with the Go version, e.g. `[go]` and `version = \"1.22.5\"`"
            .to_owned(),
        "version" => "add the Go release, e.g. `version = \"1.22.5\"`".to_owned(),
        "mod" => "add the go.mod hash from go.sum: `mod = \"h1:…\"`".to_owned(),
        "file" | "sha256" => format!("add `{key}`, or run `golock lock` to fill in archives"),
        _ => format!("add `{key}`; see schemas/golock.schema.json"),
    }
}

/// Resolves a profile file entry to an absolute path strictly inside `home`:
/// `~/x`, `x` (relative to home) or `/home/me/x`; never `..`.
fn resolve_in_home(value: &str, home: &Path) -> Result<PathBuf, String> {
    let outside = || format!("outside the home directory {}", home.display());
    if value.is_empty() {
        return Err("empty path".to_owned());
    }
    if Path::new(value)
        .components()
        .any(|c| c == Component::ParentDir)
    {
        return Err("`..` is not allowed".to_owned());
    }
    let inside = if let Some(rest) = value.strip_prefix("~/") {
        let rest = Path::new(rest);
        if rest.has_root() {
            return Err("`~/` must be followed by a relative path".to_owned());
        }
        rest
    } else if value.starts_with('~') && value != "~" {
        return Err("`~user` is not supported; write `~/` for the home directory".to_owned());
    } else if value == "~" {
        Path::new("")
    } else if Path::new(value).is_absolute() {
        Path::new(value).strip_prefix(home).map_err(|_| outside())?
    } else if Path::new(value).has_root() {
        return Err(outside());
    } else {
        Path::new(value)
    };
    let normal: PathBuf = inside
        .components()
        .filter(|c| matches!(c, Component::Normal(_)))
        .collect();
    if normal.as_os_str().is_empty() {
        return Err("names the home directory itself, not a file".to_owned());
    }
    Ok(home.join(normal))
}

#[cfg(test)]
mod tests;
