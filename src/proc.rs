//! Running another program with a deadline and capped output: every wait
//! golock does on a child process ends, and a child that talks forever
//! cannot fill golock's memory. The child leads its own process group, and
//! a deadline kills the whole group: a script's own children (a `sleep` in
//! a `sh -c`) cannot keep its output pipes open past the deadline.

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// What a finished child printed, each stream cut at the cap.
#[derive(Debug)]
pub struct Output {
    pub status: ExitStatus,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

#[derive(Debug, thiserror::Error)]
pub enum ProcError {
    #[error("could not start `{program}`: {source}")]
    Spawn {
        program: String,
        source: std::io::Error,
    },
    #[error("`{program}` did not finish within {} and was killed", seconds_text(.deadline))]
    Timeout { program: String, deadline: Duration },
    #[error("`{program}` printed more than {cap} bytes and was killed")]
    TooMuchOutput { program: String, cap: u64 },
    #[error("waiting for `{program}` failed: {source}")]
    Wait {
        program: String,
        source: std::io::Error,
    },
}

/// Runs `cmd` (stdin closed), killing it after `deadline` or once either
/// stream passes `cap` bytes.
pub fn run(cmd: &mut Command, deadline: Duration, cap: u64) -> Result<Output, ProcError> {
    let program = cmd.get_program().to_string_lossy().into_owned();
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .map_err(|source| ProcError::Spawn {
            program: program.clone(),
            source,
        })?;
    let stdout = child.stdout.take().map(|s| drain(s, cap));
    let stderr = child.stderr.take().map(|s| drain(s, cap));
    let status = wait_until(&mut child, Instant::now() + deadline, &program)?;
    let (stdout, out_over) = joined(stdout);
    let (stderr, err_over) = joined(stderr);
    if out_over || err_over {
        return Err(ProcError::TooMuchOutput { program, cap });
    }
    let Some(status) = status else {
        return Err(ProcError::Timeout { program, deadline });
    };
    Ok(Output {
        status,
        stdout,
        stderr,
    })
}

/// Reads a stream to its end, keeping `cap` bytes; reports whether it
/// held more (the rest is read and dropped so the child never blocks).
fn drain(mut stream: impl Read + Send + 'static, cap: u64) -> JoinHandle<(Vec<u8>, bool)> {
    thread::spawn(move || {
        let mut kept = Vec::new();
        let _ = (&mut stream).take(cap).read_to_end(&mut kept);
        let over = std::io::copy(&mut stream, &mut std::io::sink()).is_ok_and(|n| n > 0);
        (kept, over)
    })
}

fn joined(handle: Option<JoinHandle<(Vec<u8>, bool)>>) -> (Vec<u8>, bool) {
    handle.and_then(|h| h.join().ok()).unwrap_or_default()
}

/// The child's status, or `None` when the deadline passed (it is killed).
fn wait_until(
    child: &mut Child,
    deadline: Instant,
    program: &str,
) -> Result<Option<ExitStatus>, ProcError> {
    let wait_err = |source| ProcError::Wait {
        program: program.to_owned(),
        source,
    };
    let mut pause = Duration::from_millis(1);
    loop {
        if let Some(status) = child.try_wait().map_err(wait_err)? {
            return Ok(Some(status));
        }
        if Instant::now() >= deadline {
            kill_group(child);
            child.wait().map_err(wait_err)?;
            return Ok(None);
        }
        thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(50));
    }
}

/// SIGKILL the child's process group (it leads it: `process_group(0)`).
fn kill_group(child: &mut Child) {
    if let Ok(pid) = libc::pid_t::try_from(child.id()) {
        // SAFETY: kill(2) with a negative pid signals that process group;
        // it takes no pointers.
        unsafe {
            libc::kill(-pid, libc::SIGKILL);
        }
    }
    let _ = child.kill();
}

/// `30 s`, `0.5 s`.
fn seconds_text(d: &Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{} s", d.as_secs())
    } else {
        format!("{:.1} s", d.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_and_status_come_back() {
        let out = run(
            Command::new("sh").args(["-c", "echo out; echo err >&2; exit 3"]),
            Duration::from_secs(10),
            1024,
        )
        .unwrap();
        assert_eq!(out.stdout, b"out\n");
        assert_eq!(out.stderr, b"err\n");
        assert_eq!(out.status.code(), Some(3));
    }

    #[test]
    fn a_child_past_its_deadline_is_killed() {
        let started = Instant::now();
        let err = run(
            Command::new("sleep").arg("30"),
            Duration::from_millis(200),
            1024,
        )
        .unwrap_err();
        assert!(matches!(err, ProcError::Timeout { .. }), "{err}");
        assert!(started.elapsed() < Duration::from_secs(10));
    }

    /// A script's own child holds the pipes too: the whole group goes.
    #[test]
    fn a_scripts_children_die_with_it() {
        let started = Instant::now();
        let err = run(
            Command::new("sh").args(["-c", "sleep 30; echo late"]),
            Duration::from_millis(200),
            1024,
        )
        .unwrap_err();
        assert!(matches!(err, ProcError::Timeout { .. }), "{err}");
        assert!(err.to_string().contains("within 0.2 s"), "{err}");
        assert!(started.elapsed() < Duration::from_secs(10));
    }

    #[test]
    fn output_past_the_cap_is_refused() {
        let err = run(
            Command::new("sh").args(["-c", "head -c 100000 /dev/zero"]),
            Duration::from_secs(10),
            1000,
        )
        .unwrap_err();
        assert!(matches!(err, ProcError::TooMuchOutput { .. }), "{err}");
    }
}
