//! Central finite differences and a norm-wise gradient error.

/// Central differences `(f(x + h e_i) - f(x - h e_i)) / 2h` for every component `i` of `x`.
pub fn central_differences(x: &[f32], h: f32, mut f: impl FnMut(&[f32]) -> f32) -> Vec<f32> {
    let mut probe = x.to_vec();
    let mut numeric = Vec::with_capacity(x.len());
    for i in 0..x.len() {
        probe[i] = x[i] + h;
        let plus = f(&probe);
        probe[i] = x[i] - h;
        let minus = f(&probe);
        probe[i] = x[i];
        numeric.push((plus - minus) / (2.0 * h));
    }
    numeric
}

/// `(||analytic - numeric||_2, ||numeric||_2)` in f32, for a norm-wise relative
/// gradient error `err / norm`.
pub fn gradient_error(analytic: &[f32], numeric: &[f32]) -> (f32, f32) {
    let err: f32 = analytic
        .iter()
        .zip(numeric)
        .map(|(a, n)| (a - n) * (a - n))
        .sum::<f32>()
        .sqrt();
    let norm: f32 = numeric.iter().map(|n| n * n).sum::<f32>().sqrt();
    (err, norm)
}
