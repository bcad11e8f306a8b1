//! The repo's own Go files: go.sum (the module set with its `h1:` hashes)
//! and go.mod (the `go` and `toolchain` lines), and how they compare with
//! golock.toml.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::fsx;
use crate::lockfile::{Lockfile, ModuleHashes, ModuleKey};

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum GoModError {
    #[error(transparent)]
    #[diagnostic(transparent)]
    Fs(#[from] fsx::FsError),
    #[error("{}: line {line} is not a go.sum line: {text:?}", path.display())]
    #[diagnostic(
        code(golock::repo::go_sum),
        help(
            "go.sum lines are `<module> <version>[/go.mod] h1:<hash>`; run `go mod tidy` to rewrite it"
        )
    )]
    BadGoSum {
        path: PathBuf,
        line: usize,
        text: String,
    },
    #[error("{} not found", path.display())]
    #[diagnostic(
        code(golock::repo::missing),
        help("run golock in the repo's root, or pass the path")
    )]
    Missing { path: PathBuf },
    #[error("golock init needs a go.mod: {} not found", path.display())]
    #[diagnostic(
        code(golock::init::no_module),
        help("run golock init in the Go module's root directory, or pass --repo DIR")
    )]
    NoModule { path: PathBuf },
    #[error("{} has no go or toolchain line", path.display())]
    #[diagnostic(
        code(golock::no_go_version),
        help("pass the Go release to install, e.g. `golock init --go-version 1.25.0`")
    )]
    NoGoVersion { path: PathBuf },
    #[error(
        "{}: line {line} `{text}` is a language version, not a Go release to install",
        path.display()
    )]
    #[diagnostic(
        code(golock::init::no_release),
        help(
            "pass the Go release to install, e.g. `golock init --go-version 1.25.0` (or add `toolchain go1.N.P` to go.mod)"
        )
    )]
    NotARelease {
        path: PathBuf,
        line: usize,
        text: String,
    },
    #[error("golock.toml is incomplete for this host (--locked):\n  {problems}")]
    #[diagnostic(
        code(golock::locked),
        help("run `golock lock` where the sources are reachable and commit golock.toml")
    )]
    Incomplete { problems: String },
    #[error(transparent)]
    #[diagnostic(transparent)]
    Edit(#[from] crate::lockfile::edit::EditError),
}

/// go.sum as `path@version` → hashes (a module with only a `/go.mod` line
/// has `zip: None`).
pub fn read_go_sum(path: &Path) -> Result<BTreeMap<ModuleKey, ModuleHashes>, GoModError> {
    let bytes = fsx::read_opt(path)?.ok_or_else(|| GoModError::Missing {
        path: path.to_path_buf(),
    })?;
    parse_go_sum(&String::from_utf8_lossy(&bytes), path)
}

pub fn parse_go_sum(
    text: &str,
    path: &Path,
) -> Result<BTreeMap<ModuleKey, ModuleHashes>, GoModError> {
    let mut zips: BTreeMap<ModuleKey, String> = BTreeMap::new();
    let mut mods: BTreeMap<ModuleKey, String> = BTreeMap::new();
    for (i, line) in text.lines().enumerate() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.is_empty() {
            continue;
        }
        let bad = || GoModError::BadGoSum {
            path: path.to_path_buf(),
            line: i + 1,
            text: line.to_string(),
        };
        let [module, version, hash] = fields[..] else {
            return Err(bad());
        };
        if !hash.starts_with("h1:") {
            continue; // a future hash kind: cmd/go skips those too
        }
        let (version, is_mod) = match version.strip_suffix("/go.mod") {
            Some(v) => (v, true),
            None => (version, false),
        };
        let key = ModuleKey {
            path: module.to_string(),
            version: version.to_string(),
        };
        if is_mod {
            mods.insert(key, hash.to_string());
        } else {
            zips.insert(key, hash.to_string());
        }
    }
    let mut out = BTreeMap::new();
    for (key, module) in mods {
        let zip = zips.remove(&key);
        out.insert(key, ModuleHashes { zip, module });
    }
    // A zip line without its go.mod line cannot be installed: go needs the .mod.
    if let Some((key, _)) = zips.into_iter().next() {
        return Err(GoModError::BadGoSum {
            path: path.to_path_buf(),
            line: 0,
            text: format!("{key} has no /go.mod line"),
        });
    }
    Ok(out)
}

/// The Go version go.mod asks for: its `toolchain` line, else its `go` line.
pub fn required_go(go_mod: &str) -> Option<String> {
    directive(go_mod, "toolchain")
        .map(|d| d.value.trim_start_matches("go").to_string())
        .or_else(|| directive(go_mod, "go").map(|d| d.value))
}

/// One `name value` line of go.mod, with its 1-based line number.
struct Directive {
    line: usize,
    text: String,
    value: String,
}

fn directive(go_mod: &str, name: &str) -> Option<Directive> {
    go_mod.lines().enumerate().find_map(|(i, l)| {
        let code = l.split("//").next()?;
        let mut words = code.split_whitespace();
        (words.next()? == name).then_some(())?;
        Some(Directive {
            line: i + 1,
            text: code.trim().to_string(),
            value: words.next()?.to_string(),
        })
    })
}

/// `1.N.P` exactly: the shape `--go-version` takes.
pub fn is_release_version(v: &str) -> bool {
    crate::lockfile::syntax::is_go_version(v) && v.matches('.').count() == 2
}

/// A version that names a Go release one can download: 1.21 and later
/// with a patch or pre-release suffix (`1.25.0`, `1.22rc1`); `1.15` or
/// `1.22` name only a language version.
fn names_release(v: &str) -> bool {
    let (major, minor, patch, _, _) = parse_go_version(v);
    crate::lockfile::syntax::is_go_version(v) && patch != -2 && (major, minor) >= (1, 21)
}

/// The Go release `golock init` locks for go.mod: its `toolchain` line
/// (`go1.27.3` → `1.27.3`), else a `go` line naming a release.
pub fn release_to_install(go_mod: &str, path: &Path) -> Result<String, GoModError> {
    let not_a_release = |d: Directive| GoModError::NotARelease {
        path: path.to_path_buf(),
        line: d.line,
        text: d.text,
    };
    if let Some(toolchain) = directive(go_mod, "toolchain") {
        let version = toolchain.value.trim_start_matches("go").to_string();
        return match names_release(&version) {
            true => Ok(version),
            false => Err(not_a_release(toolchain)),
        };
    }
    match directive(go_mod, "go") {
        Some(go) if names_release(&go.value) => Ok(go.value),
        Some(go) => Err(not_a_release(go)),
        None => Err(GoModError::NoGoVersion {
            path: path.to_path_buf(),
        }),
    }
}

/// Compare Go release versions (`1.21`, `1.21.3`, `1.22rc1`) as the go command does.
pub fn go_version_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    parse_go_version(a).cmp(&parse_go_version(b))
}

/// (major, minor, patch, kind, n): kind 0 beta, 1 rc, 2 release; `1.21` is
/// the 1.21 language version, ordered before 1.21rc1 and 1.21.0.
fn parse_go_version(v: &str) -> (u64, u64, i64, u8, u64) {
    let num = |s: &str| s.parse::<u64>().unwrap_or(0);
    let mut parts = v.splitn(3, '.');
    let major = num(parts.next().unwrap_or("0"));
    let minor_part = parts.next().unwrap_or("0");
    let (minor, kind, n) = match minor_part.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => {
            let (m, rest) = minor_part.split_at(i);
            let (kind, n) = if let Some(n) = rest.strip_prefix("rc") {
                (1, num(n))
            } else {
                (0, num(rest.trim_start_matches("beta")))
            };
            return (major, num(m), -1, kind, n);
        }
        None => (num(minor_part), 2, 0),
    };
    match parts.next() {
        Some(patch) => (major, minor, num(patch) as i64, kind, n),
        None => (major, minor, -2, kind, n),
    }
}

/// One way golock.toml and the repo disagree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GoModDrift {
    NotLocked(String),
    NotInGoSum(String),
    HashDiffers { module: String, what: &'static str },
    GoTooOld { locked: String, required: String },
}

impl std::fmt::Display for GoModDrift {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            GoModDrift::NotLocked(m) => write!(f, "{m} is in go.sum but not in golock.toml"),
            GoModDrift::NotInGoSum(m) => write!(f, "{m} is in golock.toml but not in go.sum"),
            GoModDrift::HashDiffers { module, what } => {
                write!(
                    f,
                    "{module}: the {what} hash in golock.toml differs from go.sum"
                )
            }
            GoModDrift::GoTooOld { locked, required } => write!(
                f,
                "go.mod requires go {required}, golock.toml locks go {locked}"
            ),
        }
    }
}

/// Compare the lockfile with the go.mod and go.sum beside it (either may be absent).
pub fn drift(lock: &Lockfile) -> Result<Vec<GoModDrift>, GoModError> {
    let mut out = Vec::new();
    let go_mod = fsx::read_opt(&lock.dir.join("go.mod"))?;
    let required = go_mod.and_then(|m| required_go(&String::from_utf8_lossy(&m)));
    let locked = lock.go.version.as_str();
    if let Some(required) = required.filter(|r| go_version_cmp(locked, r).is_lt()) {
        out.push(GoModDrift::GoTooOld {
            locked: locked.to_string(),
            required,
        });
    }
    let go_sum = lock.dir.join("go.sum");
    if !go_sum.exists() {
        return Ok(out);
    }
    let sum = read_go_sum(&go_sum)?;
    for (key, hashes) in &sum {
        match lock.modules.require.get(key) {
            None => out.push(GoModDrift::NotLocked(key.to_string())),
            Some(locked) => {
                if locked.module != hashes.module {
                    out.push(GoModDrift::HashDiffers {
                        module: key.to_string(),
                        what: "go.mod",
                    });
                }
                if locked.zip != hashes.zip {
                    out.push(GoModDrift::HashDiffers {
                        module: key.to_string(),
                        what: "zip",
                    });
                }
            }
        }
    }
    for key in lock
        .modules
        .require
        .keys()
        .filter(|k| !sum.contains_key(*k))
    {
        out.push(GoModDrift::NotInGoSum(key.to_string()));
    }
    Ok(out)
}

/// `--locked`: golock.toml must already say everything this host needs (an
/// archive for its platform, every module of the go.sum beside it with the
/// same hashes); a go.mod asking for a newer go is left to `check`.
pub fn ensure_complete_for_host(lock: &Lockfile) -> Result<(), GoModError> {
    let mut missing: Vec<String> = Vec::new();
    match crate::lockfile::Platform::host() {
        Some(p) if lock.go.archives.contains_key(&p) => {}
        Some(p) => missing.push(format!("no [go.archives] entry for {p}")),
        None => missing.push("this host's platform is unknown".into()),
    }
    missing.extend(
        drift(lock)?
            .into_iter()
            .filter(|d| !matches!(d, GoModDrift::GoTooOld { .. }))
            .map(|d| d.to_string()),
    );
    if missing.is_empty() {
        return Ok(());
    }
    Err(GoModError::Incomplete {
        problems: missing.join("\n  "),
    })
}

/// What `golock init` was told beyond go.mod and go.sum.
#[derive(Debug, Clone, Default)]
pub struct StarterOptions {
    /// `--go-version`: overrides go.mod.
    pub go_version: Option<String>,
    /// `--mirror`: `[go] mirrors`, as they go into golock.toml.
    pub mirrors: Vec<String>,
    /// `--profile`: replaces the default `[profile] files`.
    pub profile_files: Vec<String>,
}

const DEFAULT_PROFILE_FILES: [&str; 2] = ["~/.profile", "~/.bashrc"];

/// The starter golock.toml `golock init` writes for the repo in `repo_dir`:
/// the Go release go.mod asks for (or `--go-version`), the mirrors and
/// profile files given, and go.sum's modules when there is one.
pub fn starter_lockfile(repo_dir: &Path, opts: &StarterOptions) -> Result<String, GoModError> {
    let go_mod_path = repo_dir.join("go.mod");
    let go_mod = fsx::read_opt(&go_mod_path)?.ok_or_else(|| GoModError::NoModule {
        path: go_mod_path.clone(),
    })?;
    let version = match &opts.go_version {
        Some(v) => v.clone(),
        None => release_to_install(&String::from_utf8_lossy(&go_mod), &go_mod_path)?,
    };
    let text = starter_text(&version, opts);
    let go_sum = repo_dir.join("go.sum");
    if !go_sum.exists() {
        return Ok(text);
    }
    let mut editor = crate::lockfile::edit::Editor::parse(&text)?;
    editor.set_modules(&read_go_sum(&go_sum)?)?;
    Ok(editor.finish())
}

fn starter_text(version: &str, opts: &StarterOptions) -> String {
    let mirrors = if opts.mirrors.is_empty() {
        "# Where `golock lock` and `golock apply` find the Go archives: URLs or\n\
         # directories holding go1.N.P.<os>-<arch>.tar.gz (and SHA256SUMS), e.g.\n\
         # mirrors = [\"https://go.dev/dl/\", \"/srv/go-mirror\"]\n"
            .to_string()
    } else {
        format!(
            "# Where `golock lock` and `golock apply` find the Go archives.\nmirrors = {}\n",
            toml_array(&opts.mirrors)
        )
    };
    let profile_files = if opts.profile_files.is_empty() {
        toml_array(&DEFAULT_PROFILE_FILES)
    } else {
        toml_array(&opts.profile_files)
    };
    format!(
        "# Written by `golock init` from go.mod and go.sum. Run `golock lock` to\n\
         # record the Go archive checksums, then `golock plan` and `golock apply`.\n\
         schema = 1\n\n[go]\nversion = \"{version}\"\n{mirrors}\n[go.archives]\n\n\
         [env]\nGOTOOLCHAIN = \"local\"\n\n\
         # The shell profiles that get golock's block (PATH and [env]).\n\
         [profile]\nfiles = {profile_files}\n"
    )
}

/// `["a", "b"]`, each item quoted and escaped as TOML.
fn toml_array<S: AsRef<str>>(items: &[S]) -> String {
    toml_edit::Array::from_iter(items.iter().map(AsRef::as_ref)).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_sum_pairs_zip_and_mod_lines() {
        let text = "a.example/x v1.0.0 h1:AAA=\na.example/x v1.0.0/go.mod h1:BBB=\nb.example/y v0.1.0/go.mod h1:CCC=\n";
        let sum = parse_go_sum(text, Path::new("go.sum")).unwrap();
        let x = &sum[&ModuleKey {
            path: "a.example/x".into(),
            version: "v1.0.0".into(),
        }];
        assert_eq!(x.zip.as_deref(), Some("h1:AAA="));
        assert_eq!(x.module, "h1:BBB=");
        let y = &sum[&ModuleKey {
            path: "b.example/y".into(),
            version: "v0.1.0".into(),
        }];
        assert_eq!(y.zip, None);
        assert!(parse_go_sum("a b\n", Path::new("go.sum")).is_err());
    }

    #[test]
    fn go_mod_toolchain_line_wins() {
        assert_eq!(
            required_go("module m\n\ngo 1.21\n").as_deref(),
            Some("1.21")
        );
        assert_eq!(
            required_go("module m\ngo 1.21\ntoolchain go1.22.5 // pinned\n").as_deref(),
            Some("1.22.5")
        );
        assert_eq!(required_go("module m\n"), None);
    }

    #[test]
    fn init_installs_the_toolchain_line_or_a_go_line_naming_a_release() {
        let go_mod = Path::new("go.mod");
        let release = |text: &str| release_to_install(text, go_mod);
        assert_eq!(
            release("module m\ngo 1.21\ntoolchain go1.27.3\n").unwrap(),
            "1.27.3"
        );
        assert_eq!(release("module m\n\ngo 1.25.0 // x\n").unwrap(), "1.25.0");
        assert_eq!(release("module m\ngo 1.22rc1\n").unwrap(), "1.22rc1");
        for (text, line, directive) in [
            ("module m\n\ngo 1.15\n", 3, "go 1.15"),
            ("module m\ngo 1.22\n", 2, "go 1.22"),
            ("module m\ngo 1.20.3\n", 2, "go 1.20.3"),
            (
                "module m\ngo 1.21\ntoolchain go1.22\n",
                3,
                "toolchain go1.22",
            ),
        ] {
            match release(text) {
                Err(GoModError::NotARelease {
                    line: l, text: t, ..
                }) => {
                    assert_eq!((l, t.as_str()), (line, directive), "{text}")
                }
                other => panic!("{text}: {other:?}"),
            }
        }
        assert!(matches!(
            release("module m\n"),
            Err(GoModError::NoGoVersion { .. })
        ));
        assert!(is_release_version("1.25.0"));
        for bad in ["1.25", "1.25.x", "go1.25.0", "1.25.0.1", "1.22rc1", ""] {
            assert!(!is_release_version(bad), "{bad}");
        }
    }

    #[test]
    fn the_starter_lockfile_lists_profiles_and_mirrors_as_toml() {
        let opts = StarterOptions {
            go_version: Some("1.25.0".into()),
            mirrors: vec!["https://go.dev/dl/".into(), "dir \"q\"".into()],
            profile_files: vec!["~/.zshrc".into()],
        };
        let text = starter_text("1.25.0", &opts);
        let parsed: toml::Table = toml::from_str(&text).unwrap();
        let mirrors = parsed["go"]["mirrors"].as_array().unwrap();
        let mirrors: Vec<&str> = mirrors.iter().filter_map(|m| m.as_str()).collect();
        assert_eq!(mirrors, ["https://go.dev/dl/", "dir \"q\""], "{text}");
        assert!(text.contains("\nfiles = [\"~/.zshrc\"]\n"), "{text}");
        let text = starter_text("1.25.0", &StarterOptions::default());
        assert!(
            text.contains("\n# mirrors = [\"https://go.dev/dl/\", \"/srv/go-mirror\"]\n"),
            "{text}"
        );
        assert!(
            text.contains("\nfiles = [\"~/.profile\", \"~/.bashrc\"]\n"),
            "{text}"
        );
        let parsed: toml::Table = toml::from_str(&text).unwrap();
        assert!(parsed["go"].get("mirrors").is_none(), "{text}");
    }

    #[test]
    fn go_versions_order_like_the_go_command() {
        use std::cmp::Ordering::*;
        assert_eq!(go_version_cmp("1.27.3", "1.21"), Greater);
        assert_eq!(go_version_cmp("1.21.0", "1.21"), Greater);
        assert_eq!(go_version_cmp("1.21rc1", "1.21.0"), Less);
        assert_eq!(go_version_cmp("1.21rc1", "1.21"), Greater);
        assert_eq!(go_version_cmp("1.21beta1", "1.21rc1"), Less);
        assert_eq!(go_version_cmp("1.19.8", "1.21"), Less);
        assert_eq!(go_version_cmp("1.21.3", "1.21.3"), Equal);
    }
}
