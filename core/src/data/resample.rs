//! A windowed-sinc resampler (Hann-windowed, 32 zero crossings) for preparing
//! audio at the dataset rate. Not fast, exact enough for data preparation.

use std::f64::consts::PI;

/// Resamples `x` from `from` Hz to `to` Hz. Output length is `round(len * to / from)`.
pub fn resample(x: &[f32], from: usize, to: usize) -> Vec<f32> {
    if from == to || x.is_empty() {
        return x.to_vec();
    }
    let ratio = to as f64 / from as f64;
    let n_out = (x.len() as f64 * ratio).round() as usize;
    // Low-pass at the lower Nyquist.
    let cutoff = ratio.min(1.0);
    let zeros = 32.0;
    let half = (zeros / cutoff).ceil() as isize;
    (0..n_out)
        .map(|i| {
            let t = i as f64 / ratio; // position in input samples
            let center = t.floor() as isize;
            let mut acc = 0.0;
            for k in (center - half + 1)..=(center + half) {
                if k < 0 || k as usize >= x.len() {
                    continue;
                }
                let d = (t - k as f64) * cutoff;
                let sinc = if d.abs() < 1e-12 { 1.0 } else { (PI * d).sin() / (PI * d) };
                let w = d / zeros;
                if w.abs() >= 1.0 {
                    continue;
                }
                let hann = 0.5 + 0.5 * (PI * w).cos();
                acc += x[k as usize] as f64 * sinc * hann * cutoff;
            }
            acc as f32
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::resample;

    #[test]
    fn keeps_a_low_tone() {
        let x: Vec<f32> = (0..22050).map(|i| (2.0 * std::f32::consts::PI * 440.0 * i as f32 / 22050.0).sin()).collect();
        let y = resample(&x, 22050, 32000);
        assert_eq!(y.len(), 32000);
        for i in (1000..31000).step_by(997) {
            let want = (2.0 * std::f32::consts::PI * 440.0 * i as f32 / 32000.0).sin();
            assert!((y[i] - want).abs() < 1e-2, "sample {i}: {} vs {want}", y[i]);
        }
    }
}
