//! Health checks around the switch. Before a link moves to a toolchain,
//! that toolchain's own `bin/go version` and `go env GOROOT` must name the
//! locked version, this host's platform and the toolchain's own directory;
//! after every switch, `[go] health_check` (when set) must succeed. Both run
//! with a clean environment in a private work dir under the transaction's
//! staging dir, with a deadline and capped output ([`crate::proc::run`]);
//! a failure is an error, so the apply rolls back through its journal.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::fsx;
use crate::proc::{self, ProcError};
use crate::txn::checkpoint::{self, Checkpoint};

/// How long `go version` and `go env GOROOT` may take, each.
const TOOLCHAIN_TIMEOUT: Duration = Duration::from_secs(30);
/// How long `[go] health_check` may take (it may compile).
const COMMAND_TIMEOUT: Duration = Duration::from_secs(300);
/// Overrides both deadlines, in milliseconds (for tests).
pub const TIMEOUT_ENV: &str = "GOLOCK_HEALTH_TIMEOUT_MS";
/// Output kept from `go version` / `go env GOROOT`, per stream.
const TOOLCHAIN_OUTPUT_CAP: u64 = 64 * 1024;
/// Output kept from `[go] health_check`, per stream.
const COMMAND_OUTPUT_CAP: u64 = 1024 * 1024;
/// How much of a failed command's output the error shows (its end).
const SHOWN_OUTPUT: usize = 4000;

/// What the checks expect: from golock.toml and the plan.
#[derive(Debug, Clone)]
pub struct Health {
    /// The locked Go version, `1.27.3`.
    pub version: String,
    /// `[go] health_check`.
    pub command: Option<String>,
    pub toolchain_timeout: Duration,
    pub command_timeout: Duration,
}

impl Health {
    /// The checks for `version`, with the deadlines from [`TIMEOUT_ENV`]
    /// when it holds a number of milliseconds.
    pub fn new(version: &str, command: Option<String>) -> Health {
        let custom = std::env::var(TIMEOUT_ENV)
            .ok()
            .and_then(|ms| ms.trim().parse::<u64>().ok())
            .map(Duration::from_millis);
        Health {
            version: version.to_string(),
            command,
            toolchain_timeout: custom.unwrap_or(TOOLCHAIN_TIMEOUT),
            command_timeout: custom.unwrap_or(COMMAND_TIMEOUT),
        }
    }
}

/// A command that failed: what ran, why it failed, what it printed.
#[derive(Debug)]
pub struct Failure {
    pub command: String,
    pub problem: String,
    pub output: String,
}

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum HealthError {
    #[error(
        "the toolchain in {} failed its health check: `{}` {}{}",
        dir.display(),
        failed.command,
        failed.problem,
        shown(&failed.output)
    )]
    #[diagnostic(
        code(golock::health::toolchain),
        help(
            "nothing was switched. The archive locked for {platform} is not a working Go \
             {version} for this host (another architecture, a missing loader, a broken or \
             hanging build). Lock the right archive (`golock lock --update`) and apply again"
        )
    )]
    Toolchain {
        dir: PathBuf,
        failed: Box<Failure>,
        version: String,
        platform: String,
    },
    #[error(
        "[go] health_check failed: `{}` {}{}",
        failed.command,
        failed.problem,
        shown(&failed.output)
    )]
    #[diagnostic(
        code(golock::health::command),
        help(
            "the whole apply was rolled back. The command ran with sh -c in an empty work dir, \
             {} first on PATH and a clean environment (see README \"Health checks\")",
            bin.display()
        )
    )]
    Command { failed: Box<Failure>, bin: PathBuf },
    #[error(transparent)]
    #[diagnostic(transparent)]
    Fs(#[from] fsx::FsError),
}

/// The output under the message, its end when long.
fn shown(output: &str) -> String {
    let output = output.trim_end();
    if output.is_empty() {
        return String::new();
    }
    let cut = output
        .char_indices()
        .map(|(i, _)| i)
        .find(|&i| output.len() - i <= SHOWN_OUTPUT)
        .unwrap_or(0);
    let dots = if cut > 0 { "…" } else { "" };
    format!("; its output:\n{dots}{}", &output[cut..])
}

/// `go version` and `go env GOROOT` of the toolchain in `goroot`, run in
/// the fresh work dir `work`: they must print `go version go<version>
/// <os>/<arch>` and `goroot` (as the kernel resolves it).
pub fn check_toolchain(
    goroot: &Path,
    health: &Health,
    platform: &str,
    work: &Path,
) -> Result<(), HealthError> {
    fresh_work_dir(work)?;
    checkpoint::reach(Checkpoint::BeforeHealthCheck);
    let go = goroot.join("bin/go");
    let failed = |command: &str, problem: String, output: String| HealthError::Toolchain {
        dir: goroot.to_path_buf(),
        failed: Box::new(Failure {
            command: format!("{} {command}", go.display()),
            problem,
            output,
        }),
        version: health.version.clone(),
        platform: platform.to_string(),
    };
    let bin = goroot.join("bin");
    let want = format!(
        "go version go{} {}",
        health.version,
        platform.replacen('-', "/", 1)
    );
    let got = run_go(&go, "version", &bin, work, health.toolchain_timeout)
        .map_err(|(problem, output)| failed("version", problem, output))?;
    if got.trim() != want {
        let problem = format!("printed {:?}, expected {want:?}", got.trim());
        return Err(failed("version", problem, String::new()));
    }
    let got = run_go(&go, "env GOROOT", &bin, work, health.toolchain_timeout)
        .map_err(|(problem, output)| failed("env GOROOT", problem, output))?;
    let reported = PathBuf::from(got.trim());
    let real = fsx::canonicalize(goroot)?;
    if reported != real && reported != goroot {
        let problem = format!(
            "printed {:?}, expected {:?}",
            got.trim(),
            real.display().to_string()
        );
        return Err(failed("env GOROOT", problem, String::new()));
    }
    Ok(())
}

/// `[go] health_check` with `bin` (the active link's `bin`) first on PATH.
pub fn run_command(
    command: &str,
    bin: &Path,
    work: &Path,
    timeout: Duration,
) -> Result<(), HealthError> {
    fresh_work_dir(work)?;
    let mut cmd = clean(Command::new("sh"), bin, work);
    cmd.arg("-c").arg(command);
    let failed = |problem: String, output: String| HealthError::Command {
        failed: Box::new(Failure {
            command: command.to_string(),
            problem,
            output,
        }),
        bin: bin.to_path_buf(),
    };
    match proc::run(&mut cmd, timeout, COMMAND_OUTPUT_CAP) {
        Ok(out) if out.status.success() => Ok(()),
        Ok(out) => Err(failed(
            format!("exited with {}", out.status),
            both(&out.stdout, &out.stderr),
        )),
        Err(e) => Err(failed(problem_of(&e), String::new())),
    }
}

/// One `go` subcommand's stdout, or (problem, output) when it failed.
fn run_go(
    go: &Path,
    args: &str,
    bin: &Path,
    work: &Path,
    timeout: Duration,
) -> Result<String, (String, String)> {
    let mut cmd = clean(Command::new(go), bin, work);
    cmd.args(args.split(' '));
    match proc::run(&mut cmd, timeout, TOOLCHAIN_OUTPUT_CAP) {
        Ok(out) if out.status.success() => Ok(String::from_utf8_lossy(&out.stdout).into_owned()),
        Ok(out) => Err((
            format!("exited with {}", out.status),
            both(&out.stdout, &out.stderr),
        )),
        Err(e) => Err((problem_of(&e), String::new())),
    }
}

/// Why the command gave no status: `could not start: Exec format error`.
fn problem_of(e: &ProcError) -> String {
    match e {
        ProcError::Spawn { source, .. } => format!("could not start: {source}"),
        ProcError::Timeout { deadline, .. } => format!(
            "did not finish within {:.1} s and was killed",
            deadline.as_secs_f64()
        ),
        ProcError::TooMuchOutput { cap, .. } => {
            format!("printed more than {cap} bytes and was killed")
        }
        ProcError::Wait { source, .. } => format!("could not be waited for: {source}"),
    }
}

fn both(stdout: &[u8], stderr: &[u8]) -> String {
    let mut text = String::from_utf8_lossy(stdout).into_owned();
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
    text.push_str(&String::from_utf8_lossy(stderr));
    text
}

/// No inherited environment: `bin` first on a minimal PATH, HOME, caches
/// and temp files inside `work`, the go env file off, no toolchain switch.
fn clean(mut cmd: Command, bin: &Path, work: &Path) -> Command {
    cmd.env_clear()
        .env("PATH", format!("{}:/usr/bin:/bin", bin.display()))
        .env("HOME", work.join("home"))
        .env("TMPDIR", work.join("tmp"))
        .env("GOCACHE", work.join("cache"))
        .env("GOPATH", work.join("gopath"))
        .env("GOFLAGS", "-modcacherw")
        .env("GOENV", "off")
        .env("GOTOOLCHAIN", "local")
        .env("LC_ALL", "C")
        .current_dir(work);
    cmd
}

/// An empty `work` with the dirs [`clean`] names.
fn fresh_work_dir(work: &Path) -> Result<(), fsx::FsError> {
    fsx::remove_tree_opt(work)?;
    for sub in ["home", "tmp"] {
        fsx::create_dir_all(work.join(sub))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_output_shows_its_end() {
        let long = format!("{}END", "x".repeat(10_000));
        let text = shown(&long);
        assert!(text.ends_with("END"), "{text}");
        assert!(text.len() < SHOWN_OUTPUT + 100);
        assert_eq!(shown("  \n"), "");
    }

    #[test]
    fn a_failing_command_reports_its_output_and_status() {
        let dir = tempfile::tempdir().unwrap();
        let work = dir.path().join("work");
        let err = run_command(
            "echo out; echo err >&2; test -z \"$GOPROXY\" && exit 3",
            Path::new("/nonexistent/bin"),
            &work,
            Duration::from_secs(10),
        )
        .unwrap_err();
        let text = err.to_string();
        assert!(text.contains("exit status: 3"), "{text}");
        assert!(text.contains("out\nerr"), "{text}");
    }

    #[test]
    fn the_command_sees_a_clean_environment_in_its_work_dir() {
        let dir = tempfile::tempdir().unwrap();
        let work = dir.path().join("work");
        run_command(
            "test \"$(pwd -P)\" = \"$(cd \"$HOME/..\" && pwd -P)\" \
             && test -z \"${CARGO:-}\" && test \"$GOTOOLCHAIN\" = local \
             && case \"$PATH\" in /opt/x/bin:*) ;; *) exit 1;; esac",
            Path::new("/opt/x/bin"),
            &work,
            Duration::from_secs(10),
        )
        .unwrap();
    }
}
