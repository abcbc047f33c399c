//! Mel-cepstral distortion from log-mel spectrograms.
//!
//! Cepstra are the orthonormal DCT-II of each frame's natural-log mel energies;
//! coefficients `c1..c13` (c0, the energy, is left out) are compared frame by
//! frame with no time warping: `MCD = (10 sqrt(2) / ln 10) * mean_t sqrt(sum_k (c_k - c'_k)^2)`
//! in dB (Kubichek, "Mel-cepstral distance measure for objective speech quality
//! assessment", 1993, with the usual `10/ln10 * sqrt(2 ...)` scaling).

/// Cepstral coefficients compared: `c1..=c13`.
pub const MCD_COEFFS: usize = 13;

/// `10 sqrt(2) / ln 10`: natural-log cepstra to dB.
pub fn mcd_factor() -> f64 {
    10.0 * 2f64.sqrt() / std::f64::consts::LN_10
}

/// Coefficient `k` of the orthonormal DCT-II of `x`:
/// `c_k = s_k sum_n x_n cos(pi k (2n + 1) / (2N))`, `s_0 = sqrt(1/N)`, `s_k = sqrt(2/N)`.
pub fn dct_ii_ortho(x: &[f32], k: usize) -> f64 {
    let n = x.len() as f64;
    let scale = if k == 0 { (1.0 / n).sqrt() } else { (2.0 / n).sqrt() };
    let sum: f64 = x
        .iter()
        .enumerate()
        .map(|(i, &v)| v as f64 * (std::f64::consts::PI * k as f64 * (2.0 * i as f64 + 1.0) / (2.0 * n)).cos())
        .sum();
    scale * sum
}

/// MCD in dB between log-mel frames `reference` and `generated`, both row-major
/// `[frames, n_mels]`; the first `min` frames of each are compared. `None` when
/// there is no frame or `n_mels <= 13`.
pub fn mel_cepstral_distortion(reference: &[f32], generated: &[f32], n_mels: usize) -> Option<f64> {
    if n_mels <= MCD_COEFFS {
        return None;
    }
    let frames = (reference.len() / n_mels).min(generated.len() / n_mels);
    if frames == 0 {
        return None;
    }
    let total: f64 = reference
        .chunks_exact(n_mels)
        .zip(generated.chunks_exact(n_mels))
        .take(frames)
        .map(|(r, g)| {
            (1..=MCD_COEFFS).map(|k| (dct_ii_ortho(r, k) - dct_ii_ortho(g, k)).powi(2)).sum::<f64>().sqrt()
        })
        .sum();
    Some(mcd_factor() * total / frames as f64)
}
