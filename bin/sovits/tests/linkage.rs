//! The binaries must load Debian's OpenBLAS directly (so it, not the MLX
//! wheel's reference BLAS, serves `cblas_sgemm`) and find libmlx.so through
//! their rpath without LD_LIBRARY_PATH.

use std::process::Command;

fn needed_libraries(path: &str) -> Vec<String> {
    let out = Command::new("readelf")
        .args(["-d", path])
        .output()
        .unwrap_or_else(|e| panic!("cannot run readelf on {path}: {e}"));
    assert!(out.status.success(), "readelf -d {path} failed");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.contains("(NEEDED)"))
        .map(|l| l.to_string())
        .collect()
}

#[test]
fn sovits_binary_depends_on_openblas_and_mlx() {
    let needed = needed_libraries(env!("CARGO_BIN_EXE_sovits"));
    assert!(needed.iter().any(|l| l.contains("libopenblas.so.0")), "libopenblas missing: {needed:#?}");
    assert!(needed.iter().any(|l| l.contains("libmlx.so")), "libmlx missing: {needed:#?}");
}

#[test]
fn sovits_binary_runs_without_library_path() {
    let out = Command::new(env!("CARGO_BIN_EXE_sovits"))
        .arg("smoke")
        .env_remove("LD_LIBRARY_PATH")
        .output()
        .expect("run sovits smoke");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "sovits smoke failed: {}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("blas: OpenBLAS"), "smoke output does not name OpenBLAS:\n{text}");
}

fn smoke_blas_line(timeout: Option<&str>) -> String {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sovits"));
    cmd.arg("smoke").env_remove("SOVITS_SET_OPENBLAS_THREAD_TIMEOUT");
    match timeout {
        Some(v) => cmd.env("OPENBLAS_THREAD_TIMEOUT", v),
        None => cmd.env_remove("OPENBLAS_THREAD_TIMEOUT"),
    };
    let out = cmd.output().expect("run sovits smoke");
    assert!(out.status.success(), "sovits smoke failed: {}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.lines().find(|l| l.starts_with("blas idle threads:")).unwrap_or_else(|| panic!("no `blas idle threads` line:\n{text}")).to_string()
}

/// The value is what OpenBLAS itself read at load time
/// (`openblas_thread_timeout()`), so this fails if the re-execution that
/// sets it does not happen before OpenBLAS starts.
#[test]
fn openblas_idle_threads_sleep_unless_the_user_says_otherwise() {
    let line = smoke_blas_line(None);
    assert!(line.contains("OPENBLAS_THREAD_TIMEOUT=4 (set by sovits"), "{line}");
    let line = smoke_blas_line(Some("20"));
    assert!(line.contains("OPENBLAS_THREAD_TIMEOUT=20 (set by the user)"), "{line}");
}

fn smoke_malloc_line(user_trim: Option<&str>) -> String {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sovits"));
    cmd.arg("smoke").env_remove("MALLOC_MMAP_THRESHOLD_").env_remove("MALLOC_TOP_PAD_").env_remove("GLIBC_TUNABLES");
    match user_trim {
        Some(v) => cmd.env("MALLOC_TRIM_THRESHOLD_", v),
        None => cmd.env_remove("MALLOC_TRIM_THRESHOLD_"),
    };
    let out = cmd.output().expect("run sovits smoke");
    assert!(out.status.success(), "sovits smoke failed: {}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.lines().find(|l| l.starts_with("malloc:")).unwrap_or_else(|| panic!("no `malloc` line:\n{text}")).to_string()
}

/// glibc keeps freed memory mapped (`mallopt` accepted both thresholds) unless
/// the user tuned glibc's malloc, whose settings then stand.
#[test]
fn glibc_keeps_freed_memory_unless_the_user_tuned_malloc() {
    let line = smoke_malloc_line(None);
    if cfg!(all(target_os = "linux", target_env = "gnu")) {
        assert!(line.contains("glibc keeps freed memory"), "{line}");
    }
    let line = smoke_malloc_line(Some("131072"));
    if cfg!(all(target_os = "linux", target_env = "gnu")) {
        assert!(line.contains("as the user set them"), "{line}");
    }
}
