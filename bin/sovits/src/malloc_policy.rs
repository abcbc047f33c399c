//! glibc keeps the memory a training step frees for the next step.
//!
//! MLX's CPU allocator hands freed buffers beyond its small cache back to
//! `free`. With glibc's defaults, buffers above the dynamic mmap threshold
//! are unmapped on free, and the top of the heap is trimmed whenever more
//! than twice that threshold is free there; the next step then faults every
//! page in anew and the kernel zeroes it (`clear_page_erms` was ~10% of all
//! CPU samples of a b1 step). A fixed mmap threshold at glibc's maximum
//! (32 MiB) and a trim threshold of 2 GiB keep those pages mapped: page
//! faults per step fell from ~86k to ~3k at batch 1, segment 20480 (see
//! docs/performance.md for the step times and peak RSS).
//!
//! Only where the C library is glibc, and only when the user set none of
//! glibc's own malloc variables (`MALLOC_MMAP_THRESHOLD_`,
//! `MALLOC_TRIM_THRESHOLD_`, `MALLOC_TOP_PAD_`, or a `glibc.malloc.*`
//! tunable), which then win.

/// glibc's upper limit for `M_MMAP_THRESHOLD` on 64-bit targets.
const MMAP_THRESHOLD: i32 = 32 << 20;

/// Free memory at the top of the heap beyond which glibc returns it.
const TRIM_THRESHOLD: i32 = i32::MAX;

/// What [`keep_freed_memory`] did, for diagnostics (`sovits smoke`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MallocPolicy {
    /// The thresholds above are in effect.
    KeepFreed,
    /// The user set glibc's malloc variables; they are left as given.
    UserSet,
    /// Not a glibc target: the system allocator is left alone.
    Unsupported,
}

/// The policy [`keep_freed_memory`] put in place (None before it ran).
static IN_EFFECT: std::sync::OnceLock<MallocPolicy> = std::sync::OnceLock::new();

/// What [`keep_freed_memory`] did in this process, if it ran.
pub fn in_effect() -> Option<MallocPolicy> {
    IN_EFFECT.get().copied()
}

/// Whether the environment already tunes glibc's malloc.
fn user_tuned() -> bool {
    ["MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_"]
        .iter()
        .any(|v| std::env::var_os(v).is_some())
        || std::env::var("GLIBC_TUNABLES").is_ok_and(|t| t.contains("glibc.malloc."))
}

/// Sets glibc's mmap and trim thresholds (see the module comment); call it
/// first in `main`, before MLX allocates.
pub fn keep_freed_memory() -> MallocPolicy {
    *IN_EFFECT.get_or_init(apply)
}

fn apply() -> MallocPolicy {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        if user_tuned() {
            return MallocPolicy::UserSet;
        }
        // SAFETY: mallopt only sets allocator parameters; both values are
        // within glibc's accepted ranges (it returns 0 and changes nothing
        // otherwise, which leaves glibc's defaults: harmless).
        let ok = unsafe {
            libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1
                && libc::mallopt(libc::M_TRIM_THRESHOLD, TRIM_THRESHOLD) == 1
        };
        if ok { MallocPolicy::KeepFreed } else { MallocPolicy::Unsupported }
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    {
        let _ = user_tuned;
        MallocPolicy::Unsupported
    }
}
