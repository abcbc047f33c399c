//! OpenBLAS's idle worker threads sleep at once instead of spinning.
//!
//! After each GEMM, OpenBLAS's worker spins in `sched_yield` for up to 2^28
//! cycles (its `OPENBLAS_THREAD_TIMEOUT` default) waiting for the next one.
//! In a training step MLX's two CPU lanes need both cores between GEMMs, and
//! the spinning worker took them: at batch 1, segment 20480 the step ran
//! 0.956x the time (median, 5 alternating pairs) and used 0.71x the CPU with
//! `OPENBLAS_THREAD_TIMEOUT=4` (see docs/performance.md).
//!
//! OpenBLAS reads the variable once, in its library constructor, before
//! `main` runs (and an executable's `.preinit_array` runs too early: glibc
//! resets the environment after it). So when the user set none, `main`
//! re-executes the program once with the variable set; a value the user
//! set is kept. Only on Linux: macOS uses Accelerate, not OpenBLAS.

use std::ffi::OsStr;

/// The environment variable OpenBLAS reads.
pub const THREAD_TIMEOUT_VAR: &str = "OPENBLAS_THREAD_TIMEOUT";

/// The value set when the user gave none: the shortest spin OpenBLAS allows.
const DEFAULT: &str = "4";

/// Set next to [`THREAD_TIMEOUT_VAR`] when sovits, not the user, set it.
const SET_BY_SOVITS_VAR: &str = "SOVITS_SET_OPENBLAS_THREAD_TIMEOUT";

/// Whether `OPENBLAS_THREAD_TIMEOUT` was set by sovits (the user gave none).
/// Children that run other software (the PyTorch reference) then get the
/// environment the user gave: see [`user_environment`].
pub fn thread_timeout_set_by_sovits() -> bool {
    std::env::var_os(SET_BY_SOVITS_VAR).is_some_and(|v| v == OsStr::new(DEFAULT))
}

/// Removes from `cmd`'s environment what [`ensure_thread_timeout`] added.
pub fn user_environment(cmd: &mut std::process::Command) {
    if thread_timeout_set_by_sovits() {
        cmd.env_remove(THREAD_TIMEOUT_VAR).env_remove(SET_BY_SOVITS_VAR);
    }
}

/// Re-executes this program with `OPENBLAS_THREAD_TIMEOUT=4` when the
/// variable is unset (Linux). Returns when nothing was to be done, or when
/// the re-execution failed (then with a note on stderr: the run goes on with
/// OpenBLAS's spinning default).
pub fn ensure_thread_timeout() {
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::process::CommandExt;
        if std::env::var_os(THREAD_TIMEOUT_VAR).is_some() {
            return;
        }
        let Ok(exe) = std::env::current_exe() else { return };
        let mut args = std::env::args_os();
        let mut cmd = std::process::Command::new(exe);
        if let Some(arg0) = args.next() {
            cmd.arg0(arg0);
        }
        cmd.args(args).env(THREAD_TIMEOUT_VAR, DEFAULT).env(SET_BY_SOVITS_VAR, DEFAULT);
        let err = cmd.exec(); // returns only on failure
        eprintln!("note: could not re-execute with {THREAD_TIMEOUT_VAR}={DEFAULT} ({err}); OpenBLAS's idle threads will spin");
    }
}
