//! Timing helpers for the examples that time kernels.

use mlx_rs::Array;

/// Median milliseconds of `reps` evaluations of `f` after two warm-ups (for the
/// examples that time kernels).
pub fn median_ms(reps: usize, mut f: impl FnMut() -> Array) -> f64 {
    for _ in 0..2 {
        f().eval().expect("eval");
    }
    let mut t: Vec<f64> = (0..reps)
        .map(|_| {
            let s = std::time::Instant::now();
            f().eval().expect("eval");
            s.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    t.sort_by(f64::total_cmp);
    t[reps / 2]
}

/// Repetition count from the first command-line argument, `default` when it is
/// absent or not a number.
pub fn reps_arg(default: usize) -> usize {
    std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(default)
}
