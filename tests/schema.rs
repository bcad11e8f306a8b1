//! The JSON Schema in `schemas/golock.schema.json` and the lockfile parser
//! agree: the examples pass both, bad inputs fail both (or, where a schema
//! cannot express the rule, the parser alone).
// Tests set up and inspect the host directly, not through golock::fsx.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod support;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use golock::lockfile::{LockfileError, parse};
use miette::Diagnostic;
use serde_json::Value;

const HOME: &str = "/home/me";
const H1: &str = "h1:iURUrRGxPUNPdy5/HRSm+Yj6okJ6UtLINN0Q9M4+h3I=";
const ZEROS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

fn repo_path(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

fn validator() -> jsonschema::Validator {
    let text = std::fs::read_to_string(repo_path("schemas/golock.schema.json")).unwrap();
    let schema: Value = serde_json::from_str(&text).unwrap();
    jsonschema::validator_for(&schema).expect("the schema itself is valid")
}

/// The lockfile as the schema sees it: TOML parsed, then converted to JSON.
fn toml_to_json(text: &str) -> Value {
    let value: toml::Value = toml::from_str(text).expect("test input is valid TOML");
    serde_json::to_value(value).unwrap()
}

fn schema_errors(validator: &jsonschema::Validator, text: &str) -> Vec<String> {
    validator
        .iter_errors(&toml_to_json(text))
        .map(|error| format!("{} at {}", error, error.instance_path()))
        .collect()
}

fn parse_text(text: &str) -> Result<golock::lockfile::Lockfile, LockfileError> {
    parse(text, &repo_path("golock.toml"), Path::new(HOME))
}

fn example_lockfiles() -> Vec<PathBuf> {
    walkdir::WalkDir::new(repo_path("examples"))
        .into_iter()
        .map(|entry| entry.unwrap().into_path())
        .filter(|path| path.file_name().is_some_and(|name| name == "golock.toml"))
        .collect()
}

#[test]
fn examples_parse_and_match_the_schema() {
    let validator = validator();
    let examples = example_lockfiles();
    assert!(!examples.is_empty(), "no examples/**/golock.toml found");
    for path in examples {
        let text = std::fs::read_to_string(&path).unwrap();
        if let Err(error) = golock::lockfile::load(&path, Path::new(HOME)) {
            panic!(
                "{} does not parse: {:?}",
                path.display(),
                miette::Report::new(error)
            );
        }
        let errors = schema_errors(&validator, &text);
        assert!(errors.is_empty(), "{}: {errors:#?}", path.display());
    }
}

#[test]
fn basic_example_has_the_documented_content() {
    let path = repo_path("examples/basic/golock.toml");
    let lockfile = golock::lockfile::load(&path, Path::new(HOME)).unwrap();
    assert_eq!(lockfile.go.version.dir_name(), "go1.27.3");
    assert_eq!(
        lockfile.go.mirrors,
        vec![golock::fetch::Source::Local(
            repo_path("examples/basic").join("../../target/golock-test/archives")
        )]
    );
    let names: Vec<&str> = lockfile.env.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(names, ["GOTOOLCHAIN", "GOFLAGS", "GOPROXY"]);
    assert_eq!(
        lockfile.profile.files,
        [
            Path::new(HOME).join(".profile"),
            Path::new(HOME).join(".bashrc")
        ]
    );
    assert!(lockfile.profile.goenv);
}

const MINIMAL: &str = "schema = 1\n[go]\nversion = \"1.22.5\"\n";

#[test]
fn minimal_lockfile_is_accepted_by_both() {
    assert!(parse_text(MINIMAL).is_ok());
    assert_eq!(schema_errors(&validator(), MINIMAL), Vec::<String>::new());
}

#[test]
fn full_lockfile_is_accepted_by_both() {
    let text = format!(
        r#"schema = 1
[go]
version = "1.23rc1"
mirrors = ["file:///srv/mirror/go", "../archives", "https://mirror.internal/golang"]
link = "/usr/local/go"
platforms = ["linux-amd64", "darwin-arm64"]
[go.archives]
linux-amd64 = {{ file = "go1.23rc1.linux-amd64.tar.gz", sha256 = "{ZEROS}", size = 12345 }}
[modules]
proxies = ["file:///srv/goproxy", "https://athens.internal"]
[modules.require]
"github.com/pkg/errors@v0.9.1" = {{ zip = "{H1}", mod = "{H1}" }}
"golang.org/x/sys@v0.0.0-20191109021931-daa7c04131f5" = {{ mod = "{H1}" }}
[env]
GOFLAGS = "-mod=mod"
[profile]
files = ["~/.profile", ".bashrc", "/home/me/.config/fish/config.fish"]
goenv = false
"#
    );
    assert!(parse_text(&text).is_ok(), "{:?}", parse_text(&text));
    assert_eq!(schema_errors(&validator(), &text), Vec::<String>::new());
}

/// `MINIMAL` with `extra` appended.
fn minimal_with(extra: &str) -> String {
    format!("{MINIMAL}{extra}")
}

fn archive_with(file: &str, sha256: &str) -> String {
    minimal_with(&format!(
        "[go.archives]\nlinux-amd64 = {{ file = \"{file}\", sha256 = \"{sha256}\" }}\n"
    ))
}

fn module_with(key: &str, hash: &str) -> String {
    minimal_with(&format!(
        "[modules.require]\n\"{key}\" = {{ mod = \"{hash}\" }}\n"
    ))
}

/// Inputs both the parser and the schema reject, with the parser's code.
fn rejected_by_both() -> Vec<(&'static str, String, &'static str)> {
    vec![
        (
            "missing schema",
            "[go]\nversion = \"1.22.5\"\n".into(),
            "schema_missing",
        ),
        (
            "schema 2",
            MINIMAL.replace("schema = 1", "schema = 2"),
            "schema_version",
        ),
        (
            "schema as string",
            MINIMAL.replace("schema = 1", "schema = \"1\""),
            "schema_version",
        ),
        ("missing [go]", "schema = 1\n".into(), "missing_key"),
        (
            "missing version",
            "schema = 1\n[go]\n".into(),
            "missing_key",
        ),
        (
            "unknown top-level key",
            minimal_with("[tools]\n"),
            "unknown_key",
        ),
        (
            "unknown go key",
            minimal_with("mirror = []\n"),
            "unknown_key",
        ),
        (
            "version v prefix",
            MINIMAL.replace("1.22.5", "v1.22"),
            "go_version",
        ),
        (
            "version go prefix",
            MINIMAL.replace("1.22.5", "go1.2"),
            "go_version",
        ),
        (
            "version four parts",
            MINIMAL.replace("1.22.5", "1.2.3.4"),
            "go_version",
        ),
        (
            "version rc0",
            MINIMAL.replace("1.22.5", "1.22rc0"),
            "go_version",
        ),
        (
            "version as number",
            MINIMAL.replace("\"1.22.5\"", "1.22"),
            "syntax",
        ),
        ("sha256 short", archive_with("a.tar.gz", "abc"), "sha256"),
        (
            "sha256 not hex",
            archive_with("a.tar.gz", &"z".repeat(64)),
            "sha256",
        ),
        (
            "archive file with slash",
            archive_with("../a.tar.gz", ZEROS),
            "archive_file",
        ),
        (
            "archive file dot-dot",
            archive_with("..", ZEROS),
            "archive_file",
        ),
        (
            "archive file backslash",
            archive_with("a\\\\b.tar.gz", ZEROS),
            "archive_file",
        ),
        (
            "archive unknown key",
            minimal_with(&format!(
                "[go.archives]\nlinux-amd64 = {{ file = \"a\", sha256 = \"{ZEROS}\", md5 = \"x\" }}\n"
            )),
            "unknown_key",
        ),
        (
            "archive negative size",
            minimal_with(&format!(
                "[go.archives]\nlinux-amd64 = {{ file = \"a\", sha256 = \"{ZEROS}\", size = -1 }}\n"
            )),
            "syntax",
        ),
        (
            "unknown archive platform",
            minimal_with(&format!(
                "[go.archives]\nlinux-x86_64 = {{ file = \"a\", sha256 = \"{ZEROS}\" }}\n"
            )),
            "platform",
        ),
        (
            "unknown listed platform",
            minimal_with("platforms = [\"macos-arm64\"]\n"),
            "platform",
        ),
        (
            "duplicate listed platform",
            minimal_with("platforms = [\"linux-amd64\", \"linux-amd64\"]\n"),
            "duplicate_platform",
        ),
        (
            "relative link",
            minimal_with("link = \"usr/local/go\"\n"),
            "link",
        ),
        (
            "ftp mirror",
            minimal_with("mirrors = [\"ftp://host/go\"]\n"),
            "source",
        ),
        (
            "file URL with host",
            minimal_with("mirrors = [\"file://host/go\"]\n"),
            "source",
        ),
        ("empty mirror", minimal_with("mirrors = [\"\"]\n"), "source"),
        (
            "http URL without host",
            minimal_with("mirrors = [\"https:///go\"]\n"),
            "source",
        ),
        (
            "module key without version",
            module_with("github.com/pkg/errors", H1),
            "module_key",
        ),
        (
            "module version without v",
            module_with("github.com/pkg/errors@0.9.1", H1),
            "module_key",
        ),
        (
            "module key go.mod suffix",
            module_with("github.com/pkg/errors@v0.9.1/go.mod", H1),
            "module_key",
        ),
        (
            "module path without dot",
            module_with("errors@v1.0.0", H1),
            "module_key",
        ),
        (
            "h1 hash too short",
            module_with("github.com/pkg/errors@v0.9.1", "h1:abc="),
            "module_hash",
        ),
        (
            "h1 hash wrong prefix",
            module_with("github.com/pkg/errors@v0.9.1", &H1.replace("h1:", "h2:")),
            "module_hash",
        ),
        (
            "module without mod hash",
            minimal_with(&format!(
                "[modules.require]\n\"github.com/pkg/errors@v0.9.1\" = {{ zip = \"{H1}\" }}\n"
            )),
            "missing_key",
        ),
        (
            "env name with dash",
            minimal_with("[env]\n\"GO-FLAGS\" = \"x\"\n"),
            "env_name",
        ),
        (
            "env name with digit first",
            minimal_with("[env]\n\"1GO\" = \"x\"\n"),
            "env_name",
        ),
        (
            "env PATH",
            minimal_with("[env]\nPATH = \"/bin\"\n"),
            "env_reserved",
        ),
        (
            "env GOROOT",
            minimal_with("[env]\nGOROOT = \"/go\"\n"),
            "env_reserved",
        ),
        (
            "env value newline",
            minimal_with("[env]\nGOFLAGS = \"a\\nb\"\n"),
            "env_value",
        ),
        (
            "env value CR",
            minimal_with("[env]\nGOFLAGS = \"a\\rb\"\n"),
            "env_value",
        ),
        (
            "env value NUL",
            minimal_with("[env]\nGOFLAGS = \"a\\u0000b\"\n"),
            "env_value",
        ),
        (
            "env value not a string",
            minimal_with("[env]\nGOFLAGS = 1\n"),
            "syntax",
        ),
        (
            "profile unknown key",
            minimal_with("[profile]\nshell = \"bash\"\n"),
            "unknown_key",
        ),
        (
            "profile empty file",
            minimal_with("[profile]\nfiles = [\"\"]\n"),
            "profile_path",
        ),
        (
            "goenv not a bool",
            minimal_with("[profile]\ngoenv = \"yes\"\n"),
            "syntax",
        ),
    ]
}

/// Inputs only the parser can reject: rules a JSON Schema cannot state
/// (paths relative to the home directory, path element rules) or input that
/// is not TOML at all.
fn rejected_by_parser_only() -> Vec<(&'static str, String, &'static str)> {
    vec![
        (
            "profile file outside home",
            minimal_with("[profile]\nfiles = [\"/etc/profile\"]\n"),
            "profile_path",
        ),
        (
            "profile file with ..",
            minimal_with("[profile]\nfiles = [\"~/../x/.bashrc\"]\n"),
            "profile_path",
        ),
        (
            "profile file ~user",
            minimal_with("[profile]\nfiles = [\"~bob/.bashrc\"]\n"),
            "profile_path",
        ),
        (
            "duplicate profile file",
            minimal_with("[profile]\nfiles = [\"~/.bashrc\", \".bashrc\"]\n"),
            "duplicate_profile_file",
        ),
        (
            "module path with ..",
            module_with("github.com/../x@v1.0.0", H1),
            "module_key",
        ),
        (
            "file URL with bad escape",
            minimal_with("mirrors = [\"file:///a%zz\"]\n"),
            "source",
        ),
    ]
}

fn assert_parser_rejects(name: &str, text: &str, code: &str) {
    let error = match parse_text(text) {
        Ok(_) => panic!("{name}: parser accepted\n{text}"),
        Err(error) => error,
    };
    let expected = format!("golock::lockfile::{code}");
    let codes: Vec<String> = error
        .problems()
        .iter()
        .filter_map(|problem| problem.code().map(|c| c.to_string()))
        .collect();
    assert!(
        codes.contains(&expected),
        "{name}: expected {expected}, got {codes:?}"
    );
}

#[test]
fn bad_inputs_are_rejected_by_parser_and_schema() {
    let validator = validator();
    for (name, text, code) in rejected_by_both() {
        assert_parser_rejects(name, &text, code);
        assert!(
            !schema_errors(&validator, &text).is_empty(),
            "{name}: schema accepted\n{text}"
        );
    }
}

#[test]
fn rules_beyond_a_schema_are_rejected_by_the_parser() {
    let validator = validator();
    for (name, text, code) in rejected_by_parser_only() {
        assert_parser_rejects(name, &text, code);
        assert_eq!(
            schema_errors(&validator, &text),
            Vec::<String>::new(),
            "{name}: the schema rejects this after all; move it to rejected_by_both"
        );
    }
}

#[test]
fn malformed_toml_is_a_syntax_error() {
    assert_parser_rejects(
        "unterminated string",
        "schema = 1\n[go]\nversion = \"1.22\n",
        "syntax",
    );
    assert_parser_rejects("duplicate key", "schema = 1\nschema = 1\n", "syntax");
}

/// A validator for one of the command output schemas in `schemas/`.
fn output_validator(name: &str) -> jsonschema::Validator {
    let text = std::fs::read_to_string(repo_path(&format!("schemas/{name}"))).unwrap();
    let schema: Value = serde_json::from_str(&text).unwrap();
    jsonschema::validator_for(&schema).expect("the schema itself is valid")
}

/// Run golock with `args`, expect `code`, and check its stdout against the
/// schema; the parsed document.
fn checked_output(
    h: &support::Host,
    validator: &jsonschema::Validator,
    args: &[&str],
    code: i32,
) -> Value {
    let out = h.golock().args(args).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(code),
        "{args:?}: {}",
        support::combined_output(&out)
    );
    let doc: Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    let errors: Vec<String> = validator
        .iter_errors(&doc)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{args:?}: {errors:?}\n{doc:#}");
    doc
}

fn kinds(doc: &Value) -> Vec<&str> {
    doc["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["kind"].as_str().unwrap())
        .collect()
}

#[test]
fn status_json_matches_its_schema_before_and_after_apply() {
    let validator = output_validator("status.schema.json");
    let h = support::Host::new();
    let fresh = checked_output(&h, &validator, &["status", "--json"], 0);
    assert_eq!(fresh["toolchains"].as_array().unwrap().len(), 0);
    h.lock(support::NEW, support::Host::standard_extra());
    h.expect(&["apply", "-y"], 0);
    let applied = checked_output(&h, &validator, &["status", "--json"], 0);
    assert_eq!(applied["toolchains"].as_array().unwrap().len(), 1);
    assert_eq!(
        applied["active"]["toolchain"],
        format!("go{}", support::NEW)
    );
}

#[test]
fn check_and_verify_json_match_the_drift_schema_with_drift_and_damage() {
    let validator = output_validator("drift.schema.json");
    let h = support::Host::new();
    h.lock(support::NEW, support::Host::standard_extra());
    let module = "example.com/unlocked";
    std::fs::write(
        h.repo.join("go.sum"),
        format!("{module} v1.0.0 {H1}\n{module} v1.0.0/go.mod {H1}\n"),
    )
    .unwrap();
    let drift = checked_output(&h, &validator, &["check", "--json"], 2);
    assert_eq!(drift["in_sync"], false);
    let found = kinds(&drift);
    for kind in [
        "repo_not_locked",
        "toolchain_missing",
        "link",
        "profile_block",
    ] {
        assert!(found.contains(&kind), "{kind} missing: {drift:#}");
    }
    let repo = &drift["items"][0];
    assert_eq!(repo["module"], format!("{module}@v1.0.0"));
    assert_eq!(repo["fix"], "golock lock");
    let host_fixes: Vec<&Value> = drift["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["kind"] != "repo_not_locked")
        .map(|i| &i["fix"])
        .collect();
    assert!(host_fixes.iter().all(|f| *f == "golock apply"), "{drift:#}");
    // The text output is unchanged by --json's existence.
    let text = h.expect(&["check"], 2);
    assert!(
        text.contains(&format!(
            "drift: repo: {module}@v1.0.0 is in go.sum but not in golock.toml"
        )),
        "{text}"
    );

    std::fs::remove_file(h.repo.join("go.sum")).unwrap();
    h.expect(&["apply", "-y"], 0);
    let clean = checked_output(&h, &validator, &["check", "--json"], 0);
    assert_eq!(
        (clean["in_sync"].clone(), kinds(&clean).len()),
        (Value::Bool(true), 0)
    );
    let verified = checked_output(&h, &validator, &["verify", "--json"], 0);
    assert_eq!(verified["in_sync"], true);

    let go = h
        .root
        .join(format!("toolchains/go{}/VERSION", support::NEW));
    let mode = std::fs::metadata(&go).unwrap().permissions().mode();
    std::fs::set_permissions(&go, std::fs::Permissions::from_mode(0o644)).unwrap();
    let mut version = std::fs::read(&go).unwrap();
    version.extend_from_slice(b"tampered\n");
    std::fs::write(&go, version).unwrap();
    std::fs::set_permissions(&go, std::fs::Permissions::from_mode(mode)).unwrap();
    let damage = checked_output(&h, &validator, &["verify", "--json"], 2);
    assert_eq!(damage["in_sync"], false);
    let item = &damage["items"][0];
    assert_eq!(item["kind"], "toolchain_file", "{damage:#}");
    assert_eq!(item["path"], go.display().to_string());
    assert_eq!(item["actual"], "content changed");
    assert_eq!(item["fix"], "golock apply --repair");
    let text = h.expect(&["verify"], 2);
    assert!(
        text.contains(&format!(
            "mismatch: go{}/VERSION: content changed",
            support::NEW
        )),
        "{text}"
    );
}

#[test]
fn verify_and_check_json_name_damaged_modules_and_a_pending_journal() {
    let validator = output_validator("drift.schema.json");
    let h = support::Host::new();
    let proxy = format!("\"file://{}\"", support::corpus().join("proxy").display());
    let cache = h.lock_corpus_modules(&proxy, "");
    h.expect(&["apply", "-y"], 0);
    let ziphash = cache.join("cache/download/corp.example/files/@v/v1.0.0.ziphash");
    std::fs::remove_file(&ziphash).unwrap();
    let damage = checked_output(&h, &validator, &["verify", "--json", "--modules-only"], 2);
    let items = damage["items"].as_array().unwrap();
    let item = items
        .iter()
        .find(|i| i["module"] == "corp.example/files@v1.0.0")
        .unwrap_or_else(|| panic!("the damaged module is listed: {damage:#}"));
    assert!(
        item["kind"].as_str().unwrap().starts_with("module"),
        "{damage:#}"
    );
    assert_eq!(item["fix"], "golock apply --repair", "{damage:#}");
    h.expect(&["apply", "-y", "--repair"], 0);
    checked_output(&h, &validator, &["verify", "--json", "--modules-only"], 0);

    // An apply killed before its commit leaves a journal: check names it.
    std::fs::remove_file(&ziphash).unwrap();
    h.kill_at(&["apply", "-y", "--repair"], "before-commit");
    let pending = checked_output(&h, &validator, &["check", "--json"], 2);
    assert!(
        pending["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["fix"] == "golock recover"),
        "{pending:#}"
    );
}
