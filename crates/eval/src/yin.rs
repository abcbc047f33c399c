//! YIN fundamental-frequency estimation on host audio.
//!
//! de Cheveigné & Kawahara, "YIN, a fundamental frequency estimator for speech
//! and music", JASA 111(4), 2002: the difference function (step 2), its
//! cumulative-mean normalisation (step 3), the absolute threshold (step 4) and
//! parabolic interpolation (step 5). A frame is unvoiced when no lag in the
//! search range dips below the threshold, or when it is near silence.

/// YIN settings. Frame `i` covers samples `i * hop .. i * hop + window + max_lag`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct YinConfig {
    /// Sampling rate in Hz.
    pub sampling_rate: usize,
    /// Integration window `W` in samples.
    pub window: usize,
    /// Samples between frames.
    pub hop: usize,
    /// Lowest detectable f0 in Hz (sets the longest lag).
    pub fmin: f32,
    /// Highest detectable f0 in Hz (sets the shortest lag).
    pub fmax: f32,
    /// Absolute threshold on the normalised difference (the paper's 0.1).
    pub threshold: f32,
    /// Frames whose RMS is below this are unvoiced (1e-3 = -60 dBFS).
    pub min_rms: f32,
}

impl YinConfig {
    /// Speech settings at `sampling_rate` with frames every `hop` samples:
    /// 50-1000 Hz, a window of 32 ms, threshold 0.1, silence below -60 dBFS.
    pub fn speech(sampling_rate: usize, hop: usize) -> Self {
        Self { sampling_rate, window: sampling_rate * 32 / 1000, hop, fmin: 50.0, fmax: 1000.0, threshold: 0.1, min_rms: 1e-3 }
    }

    fn lags(&self) -> (usize, usize) {
        let sr = self.sampling_rate as f32;
        let min_lag = (sr / self.fmax).floor().max(2.0) as usize;
        let max_lag = (sr / self.fmin).ceil() as usize;
        (min_lag, max_lag.max(min_lag + 2))
    }

    /// Frames YIN yields for `samples` samples.
    pub fn frames(&self, samples: usize) -> usize {
        let (_, max_lag) = self.lags();
        let span = self.window + max_lag + 1;
        if samples < span || self.hop == 0 { 0 } else { (samples - span) / self.hop + 1 }
    }
}

/// f0 per frame in Hz, `None` where unvoiced.
pub fn track(audio: &[f32], cfg: &YinConfig) -> Vec<Option<f32>> {
    let (min_lag, max_lag) = cfg.lags();
    let w = cfg.window;
    let mut d = vec![0f64; max_lag + 2];
    let mut cmnd = vec![1f64; max_lag + 2];
    (0..cfg.frames(audio.len()))
        .map(|i| {
            let x = &audio[i * cfg.hop..i * cfg.hop + w + max_lag + 1];
            let energy: f64 = x[..w].iter().map(|&v| (v as f64) * (v as f64)).sum();
            if ((energy / w as f64).sqrt() as f32) < cfg.min_rms {
                return None;
            }
            // step 2: d(tau) = sum_j (x_j - x_{j+tau})^2
            for (tau, slot) in d.iter_mut().enumerate().take(max_lag + 2).skip(1) {
                *slot = x[..w].iter().zip(&x[tau..tau + w]).map(|(&a, &b)| ((a - b) as f64).powi(2)).sum();
            }
            // step 3: cumulative mean normalised difference
            let mut running = 0.0;
            for tau in 1..max_lag + 2 {
                running += d[tau];
                cmnd[tau] = if running > 0.0 { d[tau] * tau as f64 / running } else { 1.0 };
            }
            // step 4: first lag under the threshold, then down to its local minimum
            let mut tau = min_lag;
            while tau <= max_lag && cmnd[tau] >= cfg.threshold as f64 {
                tau += 1;
            }
            if tau > max_lag {
                return None;
            }
            while tau < max_lag && cmnd[tau + 1] < cmnd[tau] {
                tau += 1;
            }
            // step 5: parabolic interpolation around the minimum
            let (a, b, c) = (cmnd[tau - 1], cmnd[tau], cmnd[tau + 1]);
            let denom = a - 2.0 * b + c;
            let shift = if denom.abs() > 1e-12 { (0.5 * (a - c) / denom).clamp(-1.0, 1.0) } else { 0.0 };
            Some((cfg.sampling_rate as f64 / (tau as f64 + shift)) as f32)
        })
        .collect()
}
