//! `stft-mel`: the GPT-SoVITS spectral frontend on MLX.
//!
//! Reference: RVC-Boss/GPT-SoVITS `GPT_SoVITS/module/mel_processing.py`
//! (`spectrogram_torch`, `spec_to_mel_torch`, `mel_spectrogram_torch`): reflect pad
//! `(n_fft - hop) / 2` per side, `center=False`, periodic Hann window, magnitude
//! `sqrt(re^2 + im^2 + 1e-8)`, librosa slaney mel basis, `log(clamp(x, 1e-5))`.
//! Every path is differentiable (the mel loss backpropagates into generated audio).
//!
//! Data preparation computes `spec/*.npy` with [`StftMel::linear_spectrogram_np`],
//! which runs the same [`SpectralFrontend::linear`] as training.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod filters;

use mlx_rs::{Array, ops};
use serde::{Deserialize, Serialize};
use sovits_core::components::{BuildContext, SpectralFrontend};
use sovits_core::{Error, Result};

pub use sovits_core::nn::stft::{DEFAULT_DFT, DftMethod, Stft};

/// Registered name of this frontend.
pub const NAME: &str = "stft-mel";

/// Added to `re^2 + im^2` before the square root (GPT-SoVITS `spectrogram_torch`).
pub const MAGNITUDE_EPS: f32 = 1e-8;
/// Mel energies are clamped to at least this before the log (`spectral_normalize_torch`).
pub const LOG_CLAMP: f32 = 1e-5;

/// Spec options for `"name": "stft-mel"`; defaults are GPT-SoVITS v2 `s2.json` `data`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// FFT size (`filter_length`).
    pub n_fft: usize,
    /// Samples between frames.
    pub hop_length: usize,
    /// Hann window length, at most `n_fft` (centred and zero-padded to it).
    pub win_length: usize,
    /// Sampling rate in Hz.
    pub sampling_rate: usize,
    /// Number of mel bands.
    pub n_mels: usize,
    /// Lowest mel edge in Hz.
    pub fmin: f64,
    /// Highest mel edge in Hz; `null` means `sampling_rate / 2`.
    pub fmax: Option<f64>,
    /// DFT path: `"rfft"` (MLX FFT, fastest measured on CPU) or `"matmul"` (cos/sin
    /// basis matmul, for backends without an FFT kernel). Not a GPT-SoVITS field.
    pub dft: DftMethod,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            n_fft: 2048,
            hop_length: 640,
            win_length: 2048,
            sampling_rate: 32000,
            n_mels: 128,
            fmin: 0.0,
            fmax: None,
            dft: DEFAULT_DFT,
        }
    }
}

impl Config {
    /// Validates the sizes and builds the frontend with the given DFT path (ignoring `dft`).
    pub fn build_with(&self, method: DftMethod) -> Result<StftMel> {
        let bad = |message: String| {
            Err(Error::Plugin {
                plugin: NAME.into(),
                message,
            })
        };
        if self.n_fft == 0
            || self.hop_length == 0
            || self.win_length == 0
            || self.sampling_rate == 0
            || self.n_mels == 0
        {
            return bad(format!(
                "n_fft, hop_length, win_length, sampling_rate and n_mels must be > 0; got {self:?}"
            ));
        }
        if self.win_length > self.n_fft || self.hop_length > self.n_fft {
            return bad(format!(
                "win_length ({}) and hop_length ({}) must not exceed n_fft ({})",
                self.win_length, self.hop_length, self.n_fft
            ));
        }
        let fmax = self.fmax.unwrap_or(self.sampling_rate as f64 / 2.0);
        if !(self.fmin >= 0.0 && self.fmin < fmax && fmax.is_finite()) {
            return bad(format!(
                "need 0 <= fmin < fmax; got fmin {}, fmax {fmax}",
                self.fmin
            ));
        }
        let pad = (self.n_fft - self.hop_length) / 2;
        let stft = Stft::new(self.n_fft, self.hop_length, self.win_length, pad, method)?;
        let n_freq = stft.n_freq();
        let basis = filters::mel_filterbank(
            self.sampling_rate as f64,
            self.n_fft,
            self.n_mels,
            self.fmin,
            fmax,
        );
        // stored transposed, [n_freq, n_mels], so channels-last spectra multiply on the right
        let mut basis_t = vec![0f32; basis.len()];
        for m in 0..self.n_mels {
            for k in 0..n_freq {
                basis_t[k * self.n_mels + m] = basis[m * n_freq + k] as f32;
            }
        }
        let mel_basis_t = Array::from_slice(&basis_t, &[n_freq as i32, self.n_mels as i32]);
        Ok(StftMel {
            config: Config {
                dft: method,
                ..self.clone()
            },
            stft,
            mel_basis_t,
        })
    }

    /// Validates the sizes and builds the frontend with the configured DFT path.
    pub fn build(&self) -> Result<StftMel> {
        self.build_with(self.dft)
    }
}

/// The GPT-SoVITS spectral frontend.
#[derive(Debug, Clone)]
pub struct StftMel {
    config: Config,
    stft: Stft,
    /// Mel basis transposed, f32 `[n_freq, n_mels]`.
    mel_basis_t: Array,
}

impl StftMel {
    /// The resolved config.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The underlying STFT (window, sizes, DFT path).
    pub fn stft(&self) -> &Stft {
        &self.stft
    }

    /// The mel basis as librosa lays it out, f32 `[n_mels, n_freq]`.
    pub fn mel_basis(&self) -> Result<Array> {
        Ok(self.mel_basis_t.transpose()?)
    }

    /// Linear spectrogram of one clip in the seed's `spec/*.npy` layout, evaluated.
    ///
    /// This is what data preparation stores; it runs [`SpectralFrontend::linear`].
    ///
    /// # Shapes
    /// `audio` `[S]` -> `[n_freq, T]` f32 with `T = S / hop` for `S` a multiple of hop.
    pub fn linear_spectrogram_np(&self, audio: &[f32]) -> Result<Array> {
        let x = Array::from_slice(audio, &[1, audio.len() as i32]);
        let spec = self.linear(&x)?;
        let out = spec.squeeze_axes(&[0])?.transpose()?;
        out.eval()?;
        Ok(out)
    }
}

impl SpectralFrontend for StftMel {
    fn hop_length(&self) -> usize {
        self.config.hop_length
    }

    fn sampling_rate(&self) -> usize {
        self.config.sampling_rate
    }

    fn n_mels(&self) -> usize {
        self.config.n_mels
    }

    fn n_freq(&self) -> usize {
        self.stft.n_freq()
    }

    /// # Shapes
    /// `[B, S]` -> `[B, T, n_freq]`, `T = (S + 2 pad - n_fft) / hop + 1` (`S / hop` in v2).
    fn linear(&self, audio: &Array) -> Result<Array> {
        let power = self.stft.power(audio)?;
        Ok(power.add(Array::from_f32(MAGNITUDE_EPS))?.sqrt()?)
    }

    /// # Shapes
    /// `[B, S]` -> `[B, T, n_mels]`.
    fn mel(&self, audio: &Array) -> Result<Array> {
        self.spec_to_mel(&self.linear(audio)?)
    }

    /// # Shapes
    /// `[B, T, n_freq]` -> `[B, T, n_mels]`.
    fn spec_to_mel(&self, spec: &Array) -> Result<Array> {
        let shape = spec.shape();
        if shape.len() != 3 || shape[2] as usize != self.stft.n_freq() {
            return Err(Error::Shape {
                what: format!("{NAME} spec_to_mel input"),
                expected: format!("[B, T, {}]", self.stft.n_freq()),
                found: format!("{shape:?}"),
            });
        }
        // mel math in f32 whatever the compute precision (no-op for f32)
        let mel = ops::matmul(&spec.as_dtype(mlx_rs::Dtype::Float32)?, &self.mel_basis_t)?;
        Ok(ops::maximum(&mel, Array::from_f32(LOG_CLAMP))?.log()?)
    }
}

/// Builds the frontend after checking that its hop and rate are the data's.
fn build_for_data(config: Config, ctx: &BuildContext) -> Result<StftMel> {
    for (field, ours, data) in [
        ("hop_length", config.hop_length, ctx.hop_length),
        ("sampling_rate", config.sampling_rate, ctx.sampling_rate),
    ] {
        if ours != data {
            return Err(Error::Plugin {
                plugin: NAME.into(),
                message: format!(
                    "params.{field} is {ours} but data.{field} is {data}; they must agree"
                ),
            });
        }
    }
    config.build()
}

sovits_core::register!(frontend, NAME, "GPT-SoVITS STFT: linear magnitude and slaney log-mel spectra (differentiable)", Config, build_for_data);
