//! The `--units kmeans` STAND-IN for semantic ids: k-means codes of log-mel
//! frames at 25 Hz. These are NOT HuBERT units; a model trained on them is a
//! toy that exercises the pipeline, and datasets made this way say
//! `"units": "kmeans-standin"` in `metadata.json`.

use super::sampler::SplitMix64;

/// Averages pairs of `[t, d]` frames (50 Hz) into `[t / 2, d]` (25 Hz).
pub fn halve_rate(frames: &[f32], d: usize) -> Vec<f32> {
    let t = frames.len() / d.max(1);
    let mut out = Vec::with_capacity((t / 2) * d);
    for p in 0..t / 2 {
        for j in 0..d {
            out.push(0.5 * (frames[2 * p * d + j] + frames[(2 * p + 1) * d + j]));
        }
    }
    out
}

/// Lloyd's k-means on rows of `data` (`[n, d]`), k-means++-free seeding by
/// distinct random rows; returns the centroids `[k', d]` with `k' = min(k, n)`.
pub fn fit(data: &[f32], d: usize, k: usize, iters: usize, seed: u64) -> Vec<f32> {
    let n = data.len() / d.max(1);
    let k = k.min(n).max(1);
    if n == 0 {
        return vec![0.0; d];
    }
    let mut rng = SplitMix64::new(seed);
    let mut order: Vec<usize> = (0..n).collect();
    rng.shuffle(&mut order);
    let mut cent: Vec<f32> = order[..k].iter().flat_map(|&i| data[i * d..(i + 1) * d].to_vec()).collect();
    for _ in 0..iters {
        let mut sum = vec![0.0f64; k * d];
        let mut count = vec![0usize; k];
        for i in 0..n {
            let c = nearest(&cent, d, &data[i * d..(i + 1) * d]);
            count[c] += 1;
            for j in 0..d {
                sum[c * d + j] += data[i * d + j] as f64;
            }
        }
        for c in 0..k {
            if count[c] > 0 {
                for j in 0..d {
                    cent[c * d + j] = (sum[c * d + j] / count[c] as f64) as f32;
                }
            }
        }
    }
    cent
}

/// Index of the centroid nearest to `x`.
pub fn nearest(cent: &[f32], d: usize, x: &[f32]) -> usize {
    let mut best = (0, f32::INFINITY);
    for (c, row) in cent.chunks_exact(d).enumerate() {
        let dist: f32 = row.iter().zip(x).map(|(a, b)| (a - b) * (a - b)).sum();
        if dist < best.1 {
            best = (c, dist);
        }
    }
    best.0
}

/// Code of every row of `data` (`[n, d]`).
pub fn assign(cent: &[f32], d: usize, data: &[f32]) -> Vec<i32> {
    data.chunks_exact(d).map(|x| nearest(cent, d, x) as i32).collect()
}
