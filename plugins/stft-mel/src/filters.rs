//! The mel filterbank table, built in f64 and rounded once to f32 (the
//! STFT window is `sovits_core::nn::stft::hann_window`).
//!
//! Reference: `librosa.filters.mel(sr, n_fft, n_mels, fmin, fmax)` with its
//! defaults (slaney mel scale, slaney area normalisation), which GPT-SoVITS
//! `GPT_SoVITS/module/mel_processing.py` uses for its mel basis.

/// Below 1 kHz the slaney scale is linear with this many Hz per mel.
const SLANEY_HZ_PER_MEL: f64 = 200.0 / 3.0;
/// Where the slaney scale turns logarithmic, in Hz.
const SLANEY_LOG_START_HZ: f64 = 1000.0;

/// log step per mel in the logarithmic part (6.4x frequency over 27 mels).
fn slaney_log_step() -> f64 {
    6.4f64.ln() / 27.0
}

/// Hz to slaney mels (librosa `hz_to_mel(htk=False)`).
pub fn hz_to_mel(hz: f64) -> f64 {
    let log_start_mel = SLANEY_LOG_START_HZ / SLANEY_HZ_PER_MEL;
    if hz >= SLANEY_LOG_START_HZ {
        log_start_mel + (hz / SLANEY_LOG_START_HZ).ln() / slaney_log_step()
    } else {
        hz / SLANEY_HZ_PER_MEL
    }
}

/// Slaney mels to Hz (librosa `mel_to_hz(htk=False)`).
pub fn mel_to_hz(mel: f64) -> f64 {
    let log_start_mel = SLANEY_LOG_START_HZ / SLANEY_HZ_PER_MEL;
    if mel >= log_start_mel {
        SLANEY_LOG_START_HZ * (slaney_log_step() * (mel - log_start_mel)).exp()
    } else {
        mel * SLANEY_HZ_PER_MEL
    }
}

/// Triangular slaney-normalised mel filterbank, row-major `[n_mels, n_fft/2 + 1]`.
///
/// Band `m` rises from edge `m` to edge `m+1` and falls to edge `m+2`, where the
/// `n_mels + 2` edges are equally spaced in slaney mels from `fmin` to `fmax`;
/// each band is scaled by `2 / (edge[m+2] - edge[m])` (unit area in Hz).
pub fn mel_filterbank(
    sampling_rate: f64,
    n_fft: usize,
    n_mels: usize,
    fmin: f64,
    fmax: f64,
) -> Vec<f64> {
    let n_freq = n_fft / 2 + 1;
    let (mel_lo, mel_hi) = (hz_to_mel(fmin), hz_to_mel(fmax));
    let edges: Vec<f64> = (0..n_mels + 2)
        .map(|i| mel_to_hz(mel_lo + (mel_hi - mel_lo) * i as f64 / (n_mels + 1) as f64))
        .collect();
    let mut out = vec![0.0; n_mels * n_freq];
    for m in 0..n_mels {
        let (lo, mid, hi) = (edges[m], edges[m + 1], edges[m + 2]);
        let norm = 2.0 / (hi - lo);
        for k in 0..n_freq {
            let f = k as f64 * sampling_rate / n_fft as f64;
            let rising = (f - lo) / (mid - lo);
            let falling = (hi - f) / (hi - mid);
            out[m * n_freq + k] = rising.min(falling).max(0.0) * norm;
        }
    }
    out
}
