//! Keeps OpenBLAS a direct dependency of every binary linking MLX.
//!
//! rustc links with `--as-needed`, which drops `libopenblas.so.0` unless some
//! object references one of its symbols; libmlx would then fall back to the
//! wheel's reference BLAS (about 30x slower matmuls). This static is such a
//! reference.

unsafe extern "C" {
    fn openblas_get_config() -> *const std::ffi::c_char;
    fn openblas_thread_timeout() -> std::ffi::c_int;
}

/// Address of an OpenBLAS function, kept so the linker records the library.
#[used]
pub static OPENBLAS_ANCHOR: unsafe extern "C" fn() -> *const std::ffi::c_char = openblas_get_config;

/// OpenBLAS's build description (e.g. "OpenBLAS 0.3.21 DYNAMIC_ARCH ..."),
/// printed by diagnostics to show which BLAS serves MLX.
pub fn openblas_config() -> String {
    // SAFETY: openblas_get_config returns a static NUL-terminated string.
    unsafe { std::ffi::CStr::from_ptr(OPENBLAS_ANCHOR()) }
        .to_string_lossy()
        .into_owned()
}

/// The `OPENBLAS_THREAD_TIMEOUT` OpenBLAS read when it started (0 when it was
/// unset): its idle worker threads spin for 2^N cycles (N clamped to 4..=30,
/// the build's default when 0) before they sleep.
pub fn openblas_thread_timeout_env() -> i32 {
    // SAFETY: a plain getter of an int OpenBLAS parsed at load time.
    unsafe { openblas_thread_timeout() }
}
