//! `mrstft`: multi-resolution STFT loss (spectral convergence + log-magnitude L1).
//!
//! Reference: Yamamoto et al., "Parallel WaveGAN" (ICASSP 2020), section 2.3, and the
//! `MultiResolutionSTFTLoss` of kan-bayashi/ParallelWaveGAN (`stft_loss.py`): per
//! resolution `||S_y - S_hat||_F / ||S_y||_F + mean|log S_y - log S_hat|`, averaged,
//! with `S = sqrt(max(|STFT|^2, 1e-7))` (the power clamped before the square root,
//! as `stft_loss.py` does, so the magnitude floor is `sqrt(1e-7)`).
//! The STFT is core's ([`sovits_core::nn::stft::Stft`], the one `stft-mel` uses) with `torch.stft`'s
//! `center=True` framing (reflect pad `n_fft / 2` per side) and a periodic Hann
//! window of `win_length` centred in `n_fft`.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

use mlx_rs::{Array, ops};
use serde::{Deserialize, Serialize};
use sovits_core::components::{Loss, LossContext, LossTerms};
use sovits_core::{Error, Result};
use sovits_core::nn::stft::{DEFAULT_DFT, DftMethod, Stft};

/// Registered name of this loss.
pub const NAME: &str = "mrstft";

/// The power `|STFT|^2` is clamped to at least this before the square root
/// (Parallel WaveGAN `stft_loss.py`), which keeps the log and the gradient
/// finite at silent bins; magnitudes are therefore at least `sqrt(1e-7)`.
pub const POWER_CLAMP: f32 = 1e-7;

/// One STFT resolution.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Resolution {
    /// FFT size.
    pub n_fft: usize,
    /// Samples between frames.
    pub hop_length: usize,
    /// Hann window length (at most `n_fft`).
    pub win_length: usize,
}

/// Spec options for `"name": "mrstft"`; defaults are the Parallel WaveGAN resolutions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// The resolutions averaged over.
    pub resolutions: Vec<Resolution>,
    /// Weight of the spectral-convergence term.
    pub sc_weight: f32,
    /// Weight of the log-magnitude L1 term.
    pub mag_weight: f32,
    /// DFT path, as in `stft-mel` (`"rfft"` or `"matmul"`).
    pub dft: DftMethod,
}

impl Default for Config {
    fn default() -> Self {
        let r = |n_fft, hop_length, win_length| Resolution {
            n_fft,
            hop_length,
            win_length,
        };
        Self {
            resolutions: vec![r(512, 50, 240), r(1024, 120, 600), r(2048, 240, 1200)],
            sc_weight: 1.0,
            mag_weight: 1.0,
            dft: DEFAULT_DFT,
        }
    }
}

impl Config {
    /// Validates the resolutions and builds the loss.
    pub fn build(&self) -> Result<Mrstft> {
        if self.resolutions.is_empty() {
            return Err(Error::Plugin {
                plugin: NAME.into(),
                message: "params.resolutions must not be empty".into(),
            });
        }
        let stfts = self
            .resolutions
            .iter()
            .enumerate()
            .map(|(i, r)| {
                Stft::new(r.n_fft, r.hop_length, r.win_length, r.n_fft / 2, self.dft).map_err(|e| {
                    Error::Plugin {
                        plugin: NAME.into(),
                        message: format!("params.resolutions[{i}]: {e}"),
                    }
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Mrstft {
            stfts,
            sc_weight: self.sc_weight,
            mag_weight: self.mag_weight,
        })
    }
}

/// The multi-resolution STFT loss.
#[derive(Debug, Clone)]
pub struct Mrstft {
    stfts: Vec<Stft>,
    sc_weight: f32,
    mag_weight: f32,
}

/// `sqrt(max(|STFT|^2, POWER_CLAMP))`, see [`POWER_CLAMP`].
///
/// # Shapes
/// `[B, S]` -> `[B, T, n_fft/2 + 1]`.
pub fn magnitude(stft: &Stft, audio: &Array) -> Result<Array> {
    let floor = Array::from_f32(POWER_CLAMP);
    Ok(ops::maximum(stft.power(audio)?, floor)?.sqrt()?)
}

/// Spectral convergence and log-magnitude L1 at one resolution, both scalars.
///
/// The convergence term's gradient is undefined when `y_hat == y` exactly (the
/// norm of zero), as for any Frobenius-norm loss.
///
/// # Shapes
/// `y`, `y_hat` `[B, S]` -> `(sc [], mag [])`.
pub fn resolution_terms(stft: &Stft, y: &Array, y_hat: &Array) -> Result<(Array, Array)> {
    let s_y = magnitude(stft, y)?;
    let s_hat = magnitude(stft, y_hat)?;
    let diff = s_y.subtract(&s_hat)?;
    let sc = diff
        .square()?
        .sum(None)?
        .sqrt()?
        .divide(s_y.square()?.sum(None)?.sqrt()?)?;
    let mag = s_y.log()?.subtract(s_hat.log()?)?.abs()?.mean(None)?;
    Ok((sc, mag))
}

impl Mrstft {
    /// The weighted loss averaged over resolutions, with the averaged `sc` and `mag` parts.
    ///
    /// # Shapes
    /// `y`, `y_hat` `[B, S]` -> scalar.
    pub fn forward(&self, y: &Array, y_hat: &Array) -> Result<LossTerms> {
        if y.shape() != y_hat.shape() {
            return Err(Error::Shape {
                what: format!("{NAME}: y_hat vs y"),
                expected: format!("{:?}", y.shape()),
                found: format!("{:?}", y_hat.shape()),
            });
        }
        let mut sc_sum = Array::from_f32(0.0);
        let mut mag_sum = Array::from_f32(0.0);
        for stft in &self.stfts {
            let (sc, mag) = resolution_terms(stft, y, y_hat)?;
            sc_sum = sc_sum.add(sc)?;
            mag_sum = mag_sum.add(mag)?;
        }
        let inv = Array::from_f32(1.0 / self.stfts.len() as f32);
        let (sc, mag) = (sc_sum.multiply(&inv)?, mag_sum.multiply(&inv)?);
        let value = sc
            .multiply(Array::from_f32(self.sc_weight))?
            .add(mag.multiply(Array::from_f32(self.mag_weight))?)?;
        Ok(LossTerms {
            value,
            parts: vec![("sc".into(), sc), ("mag".into(), mag)],
        })
    }
}

impl Loss for Mrstft {
    /// # Shapes
    /// `ctx.y`, `ctx.y_hat` `[B, segment_size]` -> scalar.
    fn generator(&self, ctx: &LossContext<'_>) -> Result<Option<LossTerms>> {
        self.forward(ctx.y, ctx.y_hat).map(Some)
    }
}

sovits_core::register!(loss, NAME, "multi-resolution STFT loss: spectral convergence + log-magnitude L1, averaged", Config, |config, _ctx| config.build());
