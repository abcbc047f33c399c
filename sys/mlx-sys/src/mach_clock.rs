//! `mlx-rs` seeds its default PRNG with macOS's `mach_approximate_time`, which
//! does not exist on Linux; debug and test builds then fail to link. This
//! exports a function of that name backed by the system clock (only a seed).

/// Nanoseconds since the Unix epoch, under the macOS symbol name mlx-rs calls.
#[cfg(not(target_os = "macos"))]
#[unsafe(no_mangle)]
pub extern "C" fn mach_approximate_time() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}
