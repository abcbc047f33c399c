//! The kill-test hook: `SOVITS_CRASH_AT=PHASE` (or `PHASE#N` for its N-th
//! occurrence, counting from 1) makes the process kill itself with SIGKILL
//! when it reaches that write phase, so a test can stop a real run inside a
//! checkpoint write. Unset (always, outside tests) it costs one string
//! comparison per phase.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Environment variable naming the phase to stop at.
pub const CRASH_ENV: &str = "SOVITS_CRASH_AT";

struct Target {
    phase: String,
    nth: usize,
    seen: AtomicUsize,
}

fn target() -> Option<&'static Target> {
    static T: OnceLock<Option<Target>> = OnceLock::new();
    T.get_or_init(|| {
        let v = std::env::var(CRASH_ENV).ok()?;
        let (phase, nth) = match v.rsplit_once('#') {
            Some((p, n)) => (p.to_string(), n.parse().ok()?),
            None => (v, 1),
        };
        Some(Target { phase, nth, seen: AtomicUsize::new(0) })
    })
    .as_ref()
}

/// Counts reaching `phase`; true when this is the occurrence the hook names.
pub(crate) fn reached(phase: &str) -> bool {
    target().is_some_and(|t| t.phase == phase && t.seen.fetch_add(1, Ordering::SeqCst) + 1 == t.nth)
}

/// Kills the process (SIGKILL on Unix, abort elsewhere), naming the phase.
pub(crate) fn die(phase: &str) -> ! {
    eprintln!("{CRASH_ENV}: stopping at {phase}");
    #[cfg(unix)]
    // SAFETY: kill(2) on our own pid with a constant signal has no memory effects.
    unsafe {
        libc::kill(libc::getpid(), libc::SIGKILL);
    }
    std::process::abort()
}

/// Marks reaching `phase`; kills the process when the hook names it.
pub fn crash_point(phase: &str) {
    if reached(phase) {
        die(phase);
    }
}
