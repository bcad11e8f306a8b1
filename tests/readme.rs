//! README's command table (`| command | flags |`), its "Global flags",
//! "The HTTP flags" and "Module flags" paragraphs agree with what
//! `golock --help` and `golock <command> --help` list: every flag the help
//! shows is in the README and every flag the README names exists.
// Tests set up and inspect the host directly, not through golock::fsx.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

fn readme() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap()
}

fn help(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_golock"))
        .args(args)
        .arg("-h") // the short form: one line per flag
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert!(out.status.success(), "golock {args:?} -h failed");
    String::from_utf8(out.stdout).unwrap()
}

/// The flag names in backtick spans of `text`: `-o FILE` → `-o`,
/// `--sync full\|deferred` → `--sync`.
fn flags_in(text: &str) -> BTreeSet<String> {
    text.split('`')
        .skip(1)
        .step_by(2)
        .filter_map(|span| span.split_whitespace().next())
        .filter(|word| word.starts_with('-'))
        .map(str::to_owned)
        .collect()
}

/// One flag as the help lists it: every name it answers to (`-y`, `--yes`).
type Names = BTreeSet<String>;

/// The flags an Options section of `--help` lists.
fn help_flags(text: &str) -> Vec<Names> {
    text.lines()
        .skip_while(|line| !line.starts_with("Options:"))
        .skip(1)
        .take_while(|line| line.starts_with(' '))
        .filter_map(|line| {
            let line = line.trim_start();
            if !line.starts_with('-') {
                return None; // a wrapped description line
            }
            let names: Names = line
                .split("  ")
                .next()
                .unwrap_or_default()
                .split([',', ' '])
                .filter(|w| w.starts_with('-'))
                .map(str::to_owned)
                .collect();
            Some(names)
        })
        .collect()
}

/// The text of the README paragraph that starts with `opening`.
fn paragraph<'a>(readme: &'a str, opening: &str) -> &'a str {
    let start = readme
        .find(opening)
        .unwrap_or_else(|| panic!("README has no paragraph starting {opening:?}"));
    let rest = &readme[start..];
    &rest[..rest.find("\n\n").unwrap_or(rest.len())]
}

/// Command → the flags its README row names, "the HTTP flags" and the
/// module flags expanded.
fn readme_rows(readme: &str) -> BTreeMap<String, BTreeSet<String>> {
    let http = flags_in(paragraph(readme, "The HTTP flags"));
    let modules_paragraph = paragraph(readme, "Module flags of");
    let (module_commands, module_flags) = modules_paragraph
        .split_once(':')
        .expect("Module flags of `a`, `b`: …");
    let module_commands = backticked(module_commands);
    let module_flags = flags_in(module_flags);
    let table = &readme[readme
        .find("| command | flags |")
        .expect("README has the command table")..];
    table
        .lines()
        .skip(2)
        .take_while(|line| line.starts_with('|'))
        .map(|line| {
            let cells: Vec<&str> = line.split(" | ").collect();
            let command = cells[0]
                .trim_start_matches("| ")
                .trim_matches('`')
                .to_owned();
            let row = cells[1..].join(" | ");
            let mut flags = flags_in(&row);
            if row.contains("the HTTP flags") {
                flags.extend(http.iter().cloned());
            }
            if module_commands.contains(&command) {
                flags.extend(module_flags.iter().cloned());
            }
            (command, flags)
        })
        .collect()
}

fn backticked(text: &str) -> BTreeSet<String> {
    text.split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect()
}

/// The subcommands `golock --help` lists (but `help`).
fn commands(top: &str) -> BTreeSet<String> {
    top.lines()
        .skip_while(|line| !line.starts_with("Commands:"))
        .skip(1)
        .take_while(|line| line.starts_with(' '))
        .filter_map(|line| line.split_whitespace().next())
        .filter(|c| *c != "help")
        .map(str::to_owned)
        .collect()
}

/// Flags every command has and the "Global flags" paragraph documents.
fn is_help_or_version(names: &Names) -> bool {
    names.contains("--help") || names.contains("--version")
}

/// What is wrong between `documented` and the `listed` help flags.
fn mismatches(
    what: &str,
    documented: &BTreeSet<String>,
    listed: &[Names],
    skip: &dyn Fn(&Names) -> bool,
) -> Vec<String> {
    let mut problems = Vec::new();
    for names in listed.iter().filter(|n| !skip(n)) {
        if names.is_disjoint(documented) {
            problems.push(format!("{what}: --help lists {names:?}, README does not"));
        }
    }
    for flag in documented {
        if !listed.iter().any(|names| names.contains(flag)) {
            problems.push(format!(
                "{what}: README names {flag}, --help does not list it"
            ));
        }
    }
    problems
}

#[test]
fn readme_flag_tables_match_the_help() {
    let readme = readme();
    let top = help(&[]);
    let global_listed = help_flags(&top);
    let global = flags_in(paragraph(&readme, "Global flags:"));
    let mut problems = mismatches("global", &global, &global_listed, &is_help_or_version);

    let rows = readme_rows(&readme);
    for command in commands(&top) {
        if !rows.contains_key(&command) {
            problems.push(format!("`{command}` has no row in README's command table"));
        }
    }
    for (command, documented) in &rows {
        let listed = help_flags(&help(&[command]));
        let is_global =
            |names: &Names| is_help_or_version(names) || global_listed.iter().any(|g| g == names);
        problems.extend(mismatches(command, documented, &listed, &is_global));
    }
    assert!(
        problems.is_empty(),
        "README is out of date:\n{}",
        problems.join("\n")
    );
}

#[test]
fn the_help_parser_sees_flags_and_their_short_names() {
    let listed = help_flags(&help(&["apply"]));
    assert!(
        listed
            .iter()
            .any(|n| n.contains("-y") && n.contains("--yes")),
        "{listed:?}"
    );
    assert!(listed.iter().any(|n| n.contains("--sync")), "{listed:?}");
    assert!(flags_in("`--sync full\\|deferred`, `-o FILE`").contains("--sync"));
}
