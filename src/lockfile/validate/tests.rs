//! Diagnostics of `validate`: message, code, label position and help.

use std::path::{Path, PathBuf};

use miette::Diagnostic;

use super::resolve_in_home;
use crate::fetch::Source;
use crate::lockfile::{LockfileError, Platform, parse};

const HOME: &str = "/home/me";
const LOCKFILE: &str = "/repo/golock.toml";
const ZEROS: &str = "0000000000000000000000000000000000000000000000000000000000000000";
const H1: &str = "h1:iURUrRGxPUNPdy5/HRSm+Yj6okJ6UtLINN0Q9M4+h3I=";

fn parse_text(text: &str) -> Result<crate::lockfile::Lockfile, LockfileError> {
    parse(text, Path::new(LOCKFILE), Path::new(HOME))
}

fn with_go(extra: &str) -> String {
    format!("schema = 1\n[go]\nversion = \"1.22.5\"\n{extra}")
}

/// Asserts that `text` fails with exactly one diagnostic of `code`, whose
/// message contains `message`, whose label starts at the first occurrence of
/// `offending` in `text`, and which has a help text.
fn assert_diagnostic(text: &str, code: &str, message: &str, offending: &str) -> LockfileError {
    let expected = text
        .find(offending)
        .expect("offending text is in the input");
    assert_diagnostic_at(text, code, message, expected)
}

/// Like [`assert_diagnostic`], with the label's expected byte offset.
fn assert_diagnostic_at(text: &str, code: &str, message: &str, expected: usize) -> LockfileError {
    let error = parse_text(text).expect_err("lockfile should be rejected");
    assert_eq!(
        error.code().map(|c| c.to_string()).as_deref(),
        Some(code),
        "wrong code for {error:?}"
    );
    assert!(
        error.to_string().contains(message),
        "message {:?} lacks {message:?}",
        error.to_string()
    );
    let labels: Vec<_> = error.labels().expect("diagnostic has a label").collect();
    assert_eq!(labels.len(), 1, "{error:?}");
    assert_eq!(
        labels[0].offset(),
        expected,
        "label of {error} points at {:?}",
        &text[labels[0].offset()..]
    );
    assert!(error.source_code().is_some(), "no source code on {error:?}");
    assert!(error.help().is_some(), "no help on {error:?}");
    error
}

fn render(error: &LockfileError) -> String {
    let mut out = String::new();
    miette::GraphicalReportHandler::new_themed(miette::GraphicalTheme::unicode_nocolor())
        .with_width(100)
        .render_report(&mut out, error)
        .expect("render");
    out
}

#[test]
fn minimal_lockfile_parses_with_defaults() {
    let lockfile = parse_text(&with_go("")).unwrap();
    assert_eq!(lockfile.path, PathBuf::from(LOCKFILE));
    assert_eq!(lockfile.dir, PathBuf::from("/repo"));
    assert_eq!(lockfile.go.version.as_str(), "1.22.5");
    assert_eq!(lockfile.go.version.dir_name(), "go1.22.5");
    assert!(lockfile.go.mirrors.is_empty());
    assert!(lockfile.go.archives.is_empty());
    assert!(lockfile.modules.require.is_empty());
    assert!(lockfile.env.is_empty());
    assert!(lockfile.profile.files.is_empty());
    assert!(!lockfile.profile.goenv);
}

#[test]
fn full_lockfile_parses_into_domain_types() {
    let text = format!(
        r#"schema = 1
[go]
version = "1.27.3"
mirrors = ["file:///srv/mirror/go", "../archives", "https://mirror.internal/golang", "/abs/dir"]
link = "/usr/local/go"
platforms = ["linux-amd64", "darwin-arm64"]
[go.archives]
linux-amd64 = {{ file = "go1.27.3.linux-amd64.tar.gz", sha256 = "{upper}", size = 12345 }}
[modules]
proxies = ["file:///srv/goproxy", "https://athens.internal"]
[modules.require]
"github.com/pkg/errors@v0.9.1" = {{ zip = "{H1}", mod = "{H1}" }}
"golang.org/x/mod@v0.17.0" = {{ mod = "{H1}" }}
[env]
ZED = "last-alphabetically-first-in-file"
GOPROXY = "off"
GOFLAGS = "-mod=mod"
[profile]
files = ["~/.profile", ".bashrc", "/home/me/.config/fish/config.fish"]
goenv = true
"#,
        upper = "AB".repeat(32),
    );
    let lockfile = parse_text(&text).unwrap();
    assert_eq!(
        lockfile.go.mirrors,
        vec![
            Source::Local("/srv/mirror/go".into()),
            Source::Local("/repo/../archives".into()),
            Source::Http("https://mirror.internal/golang".into()),
            Source::Local("/abs/dir".into()),
        ]
    );
    assert_eq!(lockfile.go.link, Some(PathBuf::from("/usr/local/go")));
    let linux: Platform = "linux-amd64".parse().unwrap();
    assert_eq!(
        lockfile.go.platforms,
        vec![linux, "darwin-arm64".parse().unwrap()]
    );
    let archive = &lockfile.go.archives[&linux];
    assert_eq!(archive.file, "go1.27.3.linux-amd64.tar.gz");
    assert_eq!(archive.sha256, [0xab; 32]);
    assert_eq!(archive.size, 12345);
    assert_eq!(lockfile.modules.proxies.len(), 2);
    let keys: Vec<String> = lockfile
        .modules
        .require
        .keys()
        .map(|k| k.to_string())
        .collect();
    assert_eq!(
        keys,
        ["github.com/pkg/errors@v0.9.1", "golang.org/x/mod@v0.17.0"]
    );
    let errors = lockfile.modules.require.values().next().unwrap();
    assert_eq!(errors.zip.as_deref(), Some(H1));
    assert_eq!(errors.module, H1);
    assert_eq!(lockfile.modules.require.values().nth(1).unwrap().zip, None);
    let names: Vec<&str> = lockfile.env.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(names, ["ZED", "GOPROXY", "GOFLAGS"], "env keeps file order");
    assert_eq!(
        lockfile.profile.files,
        vec![
            PathBuf::from("/home/me/.profile"),
            PathBuf::from("/home/me/.bashrc"),
            PathBuf::from("/home/me/.config/fish/config.fish"),
        ]
    );
    assert!(lockfile.profile.goenv);
}

#[test]
fn sha256_of_lockfile_is_of_the_exact_bytes() {
    let text = with_go("");
    let lockfile = parse_text(&text).unwrap();
    let other = parse_text(&format!("{text}\n")).unwrap();
    assert_ne!(lockfile.sha256, other.sha256);
    assert_eq!(lockfile.sha256, parse_text(&text).unwrap().sha256);
}

#[test]
fn malformed_toml() {
    let text = "schema = 1\n[go]\nversion = \"1.22.5\"\nlink = \n";
    let error = assert_diagnostic_at(text, "golock::lockfile::syntax", "", text.len() - 1);
    assert!(render(&error).contains("golock::lockfile::syntax"));
}

#[test]
fn wrong_value_type() {
    let text = with_go("platforms = \"linux-amd64\"\n");
    assert_diagnostic(
        &text,
        "golock::lockfile::syntax",
        "invalid type",
        "\"linux-amd64\"",
    );
}

#[test]
fn unknown_key() {
    let text = with_go("mirror = [\"/srv\"]\n");
    let error = assert_diagnostic(
        &text,
        "golock::lockfile::unknown_key",
        "unknown key `mirror`",
        "mirror",
    );
    let help = error.help().unwrap().to_string();
    assert!(help.contains("`mirrors`"), "{help}");
}

#[test]
fn unknown_key_in_archive() {
    let text = with_go(&format!(
        "[go.archives]\nlinux-amd64 = {{ file = \"a.tar.gz\", sha256 = \"{ZEROS}\", sha512 = \"x\" }}\n"
    ));
    assert_diagnostic(&text, "golock::lockfile::unknown_key", "`sha512`", "sha512");
}

#[test]
fn missing_schema() {
    let text = "[go]\nversion = \"1.22.5\"\n";
    let error = assert_diagnostic(
        text,
        "golock::lockfile::schema_missing",
        "missing `schema`",
        "[go]",
    );
    assert!(error.help().unwrap().to_string().contains("schema = 1"));
}

#[test]
fn unsupported_schema_is_reported_before_unknown_keys() {
    let text = "schema = 2\n[go]\nversion = \"1.22.5\"\nfuture_key = true\n";
    assert_diagnostic(
        text,
        "golock::lockfile::schema_version",
        "unsupported lockfile schema 2",
        "2\n",
    );
}

#[test]
fn schema_as_string_is_unsupported() {
    let text = "schema = \"1\"\n[go]\nversion = \"1.22.5\"\n";
    assert_diagnostic(
        text,
        "golock::lockfile::schema_version",
        "schema \"1\"",
        "\"1\"",
    );
}

#[test]
fn bad_go_versions() {
    for bad in ["v1.2", "1.2.3.4", "go1.2", "1.22rc", ""] {
        let text = format!("schema = 1\n[go]\nversion = \"{bad}\"\n");
        assert_diagnostic(
            &text,
            "golock::lockfile::go_version",
            "invalid Go version",
            &format!("\"{bad}\""),
        );
    }
}

#[test]
fn bad_sha256() {
    for bad in ["abc", &"g".repeat(64), &"0".repeat(65)] {
        let text = with_go(&format!(
            "[go.archives]\nlinux-amd64 = {{ file = \"a.tar.gz\", sha256 = \"{bad}\" }}\n"
        ));
        assert_diagnostic(
            &text,
            "golock::lockfile::sha256",
            "invalid sha256",
            &format!("\"{bad}\""),
        );
    }
}

#[test]
fn unknown_platform_archive_key() {
    let text = with_go(&format!(
        "[go.archives]\nlinux-x86_64 = {{ file = \"a.tar.gz\", sha256 = \"{ZEROS}\" }}\n"
    ));
    let error = assert_diagnostic(
        &text,
        "golock::lockfile::platform",
        "unknown platform",
        "linux-x86_64",
    );
    assert!(error.help().unwrap().to_string().contains("amd64"));
}

#[test]
fn unknown_platform_in_list() {
    let text = with_go("platforms = [\"linux-amd64\", \"macos-arm64\"]\n");
    let error = assert_diagnostic(
        &text,
        "golock::lockfile::platform",
        "\"macos-arm64\"",
        "\"macos-arm64\"",
    );
    assert!(error.help().unwrap().to_string().contains("darwin"));
}

#[test]
fn duplicate_platform_in_list() {
    let text = with_go("platforms = [\"linux-amd64\", \"linux-amd64\" ]\n");
    assert_diagnostic(
        &text,
        "golock::lockfile::duplicate_platform",
        "listed twice",
        "\"linux-amd64\" ]",
    );
}

#[test]
fn bad_archive_file_names() {
    for bad in [
        "../go.tar.gz",
        "dir/go.tar.gz",
        "..",
        "",
        "dir\\\\go.tar.gz",
    ] {
        let text = with_go(&format!(
            "[go.archives]\nlinux-amd64 = {{ file = \"{bad}\", sha256 = \"{ZEROS}\" }}\n"
        ));
        assert_diagnostic(
            &text,
            "golock::lockfile::archive_file",
            "invalid archive file name",
            &format!("\"{bad}\""),
        );
    }
}

#[test]
fn negative_archive_size() {
    let text = with_go(&format!(
        "[go.archives]\nlinux-amd64 = {{ file = \"a.tar.gz\", sha256 = \"{ZEROS}\", size = -1 }}\n"
    ));
    assert_diagnostic(&text, "golock::lockfile::syntax", "", "-1");
}

#[test]
fn relative_link() {
    let text = with_go("link = \"usr/local/go\"\n");
    assert_diagnostic(
        &text,
        "golock::lockfile::link",
        "absolute",
        "\"usr/local/go\"",
    );
}

#[test]
fn bad_sources() {
    for bad in [
        "ftp://mirror/go",
        "file://host/srv",
        "https:///path",
        "",
        "file:///a%zz",
    ] {
        let text = with_go(&format!("mirrors = [\"{bad}\"]\n"));
        assert_diagnostic(
            &text,
            "golock::lockfile::source",
            "invalid source",
            &format!("\"{bad}\""),
        );
    }
    let text = format!("{}[modules]\nproxies = [\"gopher://x\"]\n", with_go(""));
    assert_diagnostic(
        &text,
        "golock::lockfile::source",
        "unsupported URL scheme",
        "\"gopher://x\"",
    );
}

#[test]
fn file_urls_are_decoded() {
    let text = with_go("mirrors = [\"file://localhost/srv/go%20mirror\"]\n");
    let lockfile = parse_text(&text).unwrap();
    assert_eq!(
        lockfile.go.mirrors,
        vec![Source::Local("/srv/go mirror".into())]
    );
}

#[test]
fn bad_h1_hashes() {
    for bad in ["h1:short=", "sha256:abc", &H1.replace("h1:", "h2:")] {
        let text = format!(
            "{}[modules.require]\n\"github.com/pkg/errors@v0.9.1\" = {{ mod = \"{bad}\" }}\n",
            with_go("")
        );
        assert_diagnostic(
            &text,
            "golock::lockfile::module_hash",
            "invalid module hash",
            &format!("\"{bad}\""),
        );
    }
    let text = format!(
        "{}[modules.require]\n\"github.com/pkg/errors@v0.9.1\" = {{ zip = \"nope\", mod = \"{H1}\" }}\n",
        with_go("")
    );
    assert_diagnostic(
        &text,
        "golock::lockfile::module_hash",
        "\"nope\"",
        "\"nope\"",
    );
}

#[test]
fn bad_module_keys() {
    for bad in [
        "github.com/pkg/errors",
        "github.com/pkg/errors@0.9.1",
        "github.com/pkg/errors@v0.9.1/go.mod",
        "errors@v1.0.0",
    ] {
        let text = format!(
            "{}[modules.require]\n\"{bad}\" = {{ mod = \"{H1}\" }}\n",
            with_go("")
        );
        assert_diagnostic(
            &text,
            "golock::lockfile::module_key",
            "invalid module key",
            &format!("\"{bad}\""),
        );
    }
}

#[test]
fn env_name_not_an_identifier() {
    let text = format!("{}[env]\n\"GO-FLAGS\" = \"x\"\n", with_go(""));
    assert_diagnostic(
        &text,
        "golock::lockfile::env_name",
        "\"GO-FLAGS\"",
        "\"GO-FLAGS\"",
    );
}

#[test]
fn env_value_with_line_break_or_nul() {
    for (escaped, what) in [
        ("\\n", "newline"),
        ("\\r", "carriage return"),
        ("\\u0000", "NUL"),
    ] {
        let text = format!("{}[env]\nGOFLAGS = \"a{escaped}b\"\n", with_go(""));
        let error = assert_diagnostic(
            &text,
            "golock::lockfile::env_value",
            what,
            &format!("\"a{escaped}b\""),
        );
        assert!(error.to_string().contains("GOFLAGS"));
    }
}

#[test]
fn reserved_env_names() {
    for name in ["PATH", "GOROOT", "Path"] {
        let text = format!("{}[env]\n{name} = \"/x\"\n", with_go(""));
        let error = assert_diagnostic(
            &text,
            "golock::lockfile::env_reserved",
            "managed by golock",
            &format!("{name} ="),
        );
        assert!(error.help().unwrap().to_string().contains("remove"));
    }
}

#[test]
fn profile_paths_outside_home() {
    for bad in [
        "/etc/profile",
        "~/../other/.bashrc",
        "../.bashrc",
        "/home/me/../x",
        "~",
        "~bob/.bashrc",
        "/home/meow/.bashrc",
        "~//etc/x",
    ] {
        let text = format!("{}[profile]\nfiles = [\"{bad}\"]\n", with_go(""));
        assert_diagnostic(
            &text,
            "golock::lockfile::profile_path",
            "invalid profile file",
            &format!("\"{bad}\""),
        );
    }
}

#[test]
fn duplicate_profile_files() {
    let text = format!(
        "{}[profile]\nfiles = [\"~/.bashrc\", \".bashrc\"]\n",
        with_go("")
    );
    assert_diagnostic(
        &text,
        "golock::lockfile::duplicate_profile_file",
        "listed twice",
        "\".bashrc\"",
    );
}

#[test]
fn resolves_profile_paths_inside_home() {
    let home = Path::new(HOME);
    assert_eq!(
        resolve_in_home("~/.bashrc", home).unwrap(),
        home.join(".bashrc")
    );
    assert_eq!(
        resolve_in_home("./.config/x", home).unwrap(),
        home.join(".config/x")
    );
    assert_eq!(
        resolve_in_home("/home/me/.zshrc", home).unwrap(),
        home.join(".zshrc")
    );
    assert!(resolve_in_home("/home/me", home).is_err());
    assert!(resolve_in_home("", home).is_err());
}

#[test]
fn several_problems_are_reported_together() {
    let text = "schema = 1\n[go]\nversion = \"v1\"\nlink = \"rel\"\n[env]\nPATH = \"x\"\n";
    let error = parse_text(text).unwrap_err();
    assert_eq!(
        error.code().unwrap().to_string(),
        "golock::lockfile::invalid"
    );
    let codes: Vec<String> = error
        .problems()
        .iter()
        .map(|p| p.code().unwrap().to_string())
        .collect();
    assert_eq!(
        codes,
        [
            "golock::lockfile::go_version",
            "golock::lockfile::link",
            "golock::lockfile::env_reserved"
        ]
    );
    let rendered = render(&error);
    assert!(rendered.contains("has 3 problems"), "{rendered}");
    assert!(rendered.contains("invalid Go version \"v1\""), "{rendered}");
    assert!(
        rendered.contains("environment variable PATH is managed by golock"),
        "{rendered}"
    );
}

#[test]
fn rendered_diagnostic_reads_well() {
    let text = with_go(
        "[go.archives]\nlinux-amd64 = { file = \"go1.22.5.linux-amd64.tar.gz\", sha256 = \"abc123\" }\n",
    );
    let error = parse_text(&text).unwrap_err();
    let rendered = render(&error);
    let expected = r#"golock::lockfile::sha256

  × invalid sha256 "abc123"
   ╭─[/repo/golock.toml:5:64]
 4 │ [go.archives]
 5 │ linux-amd64 = { file = "go1.22.5.linux-amd64.tar.gz", sha256 = "abc123" }
   ·                                                                ────┬───
   ·                                                                    ╰── expected 64 hex characters, found 6 characters
   ╰────
  help: a sha256 is exactly 64 hexadecimal characters; `golock lock` fills it in
"#;
    assert_eq!(rendered, expected, "\n{rendered}");
}

#[test]
fn read_error_names_the_path() {
    let error =
        crate::lockfile::load(Path::new("/nonexistent/golock.toml"), Path::new(HOME)).unwrap_err();
    assert!(matches!(error, LockfileError::Read { .. }));
    assert!(error.to_string().contains("/nonexistent/golock.toml"));
    assert_eq!(error.code().unwrap().to_string(), "golock::lockfile::read");
}

#[test]
fn missing_required_keys() {
    let error = assert_diagnostic_at(
        "schema = 1\n",
        "golock::lockfile::missing_key",
        "missing key `go`",
        0,
    );
    assert!(error.help().unwrap().to_string().contains("[go]"));
    let text = "schema = 1\n[go]\nmirrors = []\n";
    let error = assert_diagnostic(
        text,
        "golock::lockfile::missing_key",
        "missing key `version`",
        "[go]",
    );
    assert!(render(&error).contains("this table lacks `version`"));
}

/// An archive left from before a version bump is refused where its `file`
/// is, pointing at `golock lock`; `lock` itself reads it to replace it.
#[test]
fn archive_of_another_go_version_is_refused() {
    let text = with_go(&format!(
        "[go.archives]\nlinux-amd64 = {{ file = \"go1.27.3.linux-amd64.tar.gz\", sha256 = \"{ZEROS}\" }}\n"
    ));
    let error = assert_diagnostic(
        &text,
        "golock::lockfile::archive_version",
        "archive \"go1.27.3.linux-amd64.tar.gz\" is Go 1.27.3, but [go] version is 1.22.5",
        "\"go1.27.3.linux-amd64.tar.gz\"",
    );
    let help = error.help().map(|h| h.to_string()).unwrap_or_default();
    assert!(help.contains("golock lock"), "{help}");
    let lenient = crate::lockfile::parse_with(
        &text,
        Path::new(LOCKFILE),
        Path::new(HOME),
        crate::lockfile::StaleArchives::Allow,
    )
    .unwrap();
    assert_eq!(lenient.go.archives.len(), 1);
}

/// Files of this version, rc names and a mirror's own names are accepted.
#[test]
fn archive_of_this_go_version_or_no_version_is_accepted() {
    for file in [
        "go1.22.5.linux-amd64.tar.gz",
        "go1.22.5.windows-amd64.zip",
        "a.tar.gz",
        "golang-linux.tgz",
    ] {
        let text = with_go(&format!(
            "[go.archives]\nlinux-amd64 = {{ file = \"{file}\", sha256 = \"{ZEROS}\" }}\n"
        ));
        assert!(parse_text(&text).is_ok(), "{file}");
    }
    let rc = format!(
        "schema = 1\n[go]\nversion = \"1.23rc1\"\n[go.archives]\nlinux-amd64 = {{ file = \"go1.23rc1.linux-amd64.tar.gz\", sha256 = \"{ZEROS}\" }}\n"
    );
    assert!(parse_text(&rc).is_ok());
}
