//! Deterministic test signals (no RNG state from MLX).

/// Deterministic test signal of `n` samples: `tone(i)` plus a uniform LCG noise in
/// `[-noise / 2, noise / 2)` seeded by `seed`, computed in f64 and rounded to f32.
pub fn lcg_signal(n: usize, seed: u64, noise: f64, tone: impl Fn(f64) -> f64) -> Vec<f32> {
    let mut s = seed;
    (0..n)
        .map(|i| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let noise = ((s >> 33) as f64 / (1u64 << 31) as f64 - 0.5) * noise;
            (tone(i as f64) + noise) as f32
        })
        .collect()
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
