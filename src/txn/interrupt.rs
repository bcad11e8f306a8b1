//! SIGINT and SIGTERM during an apply. While [`Handlers`] is alive, the
//! first signal is only recorded; the apply polls it at safe points (between
//! actions, between module chunks, inside extraction loops), stops there and
//! rolls back. A second signal exits at once: the journal covers that case,
//! and the next golock command rolls it back.

use std::sync::atomic::{AtomicI32, Ordering};

/// The first signal received while the handlers were installed (0: none).
static RECEIVED: AtomicI32 = AtomicI32::new(0);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Signal {
    Int,
    Term,
}

impl Signal {
    fn from_raw(raw: i32) -> Option<Signal> {
        match raw {
            libc::SIGINT => Some(Signal::Int),
            libc::SIGTERM => Some(Signal::Term),
            _ => None,
        }
    }

    fn raw(self) -> i32 {
        match self {
            Signal::Int => libc::SIGINT,
            Signal::Term => libc::SIGTERM,
        }
    }

    /// The shell convention for "ended by this signal": 128 + its number.
    pub fn exit_code(self) -> u8 {
        match self {
            Signal::Int => 130,
            Signal::Term => 143,
        }
    }
}

impl std::fmt::Display for Signal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Signal::Int => "SIGINT",
            Signal::Term => "SIGTERM",
        })
    }
}

/// Work stopped at a safe point because a signal arrived.
#[derive(Clone, Copy, Debug, thiserror::Error, miette::Diagnostic)]
#[error("interrupted by {signal}")]
#[diagnostic(code(golock::interrupted))]
pub struct Interrupted {
    pub signal: Signal,
}

/// The signal received, if any.
pub fn received() -> Option<Signal> {
    Signal::from_raw(RECEIVED.load(Ordering::SeqCst))
}

/// A safe point: `Err` once a signal has arrived.
pub fn check() -> Result<(), Interrupted> {
    match received() {
        Some(signal) => Err(Interrupted { signal }),
        None => Ok(()),
    }
}

/// SIGINT and SIGTERM handlers, installed for this value's lifetime; the
/// previous dispositions come back on drop.
pub struct Handlers {
    previous: Vec<(Signal, libc::sigaction)>,
}

impl Handlers {
    pub fn install() -> Handlers {
        let previous = [Signal::Int, Signal::Term]
            .into_iter()
            .filter_map(|s| {
                set_action(
                    s,
                    on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t,
                )
                .map(|old| (s, old))
            })
            .collect();
        Handlers { previous }
    }
}

impl Drop for Handlers {
    fn drop(&mut self) {
        for (signal, old) in &self.previous {
            // SAFETY: restores a disposition sigaction returned earlier.
            unsafe { libc::sigaction(signal.raw(), old, std::ptr::null_mut()) };
        }
    }
}

/// Install `handler` for `signal` (restarting interrupted system calls, so
/// only the safe points notice); returns the old action.
fn set_action(signal: Signal, handler: libc::sighandler_t) -> Option<libc::sigaction> {
    // SAFETY: zeroed sigaction structs are valid; the handler only does
    // async-signal-safe work (an atomic swap, write(2), _exit(2)).
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = handler;
        action.sa_flags = libc::SA_RESTART;
        libc::sigemptyset(&mut action.sa_mask);
        let mut old: libc::sigaction = std::mem::zeroed();
        (libc::sigaction(signal.raw(), &action, &mut old) == 0).then_some(old)
    }
}

const FIRST: &[u8] =
    b"\ngolock: interrupted: stopping at the next safe point to roll back (again: exit at once)\n";
const SECOND: &[u8] =
    b"\ngolock: interrupted again: exiting now; the next golock command rolls the apply back\n";

extern "C" fn on_signal(raw: libc::c_int) {
    let first = RECEIVED
        .compare_exchange(0, raw, Ordering::SeqCst, Ordering::SeqCst)
        .is_ok();
    let message = if first { FIRST } else { SECOND };
    // SAFETY: write(2) and _exit(2) are async-signal-safe.
    unsafe {
        libc::write(libc::STDERR_FILENO, message.as_ptr().cast(), message.len());
        if !first {
            libc::_exit(128 + raw);
        }
    }
}
