//! Helpers shared by the integration tests: reading arrays back to host
//! memory and comparing them with tolerances that name where they failed.
#![deny(missing_docs)]

use mlx_rs::Array;

pub mod data_fixtures;
pub mod fuzz_targets;
pub mod train_fixtures;

/// Evaluates `a` (made contiguous, as f32) and copies it to a host vector.
pub fn host(a: &Array) -> Vec<f32> {
    let a = a
        .as_dtype(mlx_rs::Dtype::Float32)
        .and_then(|a| mlx_rs::ops::reshape(&a, &[-1]))
        .expect("reshape to host vector");
    a.eval().expect("eval");
    a.as_slice::<f32>().to_vec()
}

/// Largest absolute element difference; panics with the index when lengths differ.
pub fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len(), "length mismatch");
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}

/// Asserts every element of `got` is within `atol + rtol*|want|` of `want`,
/// reporting the first offending index and both values.
pub fn assert_close(what: &str, got: &[f32], want: &[f32], atol: f32, rtol: f32) {
    assert_eq!(got.len(), want.len(), "{what}: length {} vs {}", got.len(), want.len());
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= atol + rtol * w.abs(),
            "{what}[{i}]: got {g}, want {w} (max abs diff {})",
            max_abs_diff(got, want)
        );
    }
}

/// Deterministic pseudo-random values in [-1, 1) (a small LCG), so tests need
/// no RNG state from MLX.
pub fn pseudo_random(n: usize, seed: u64) -> Vec<f32> {
    let mut s = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect()
}
