//! Spec options of `"name": "mrd"`; defaults are BigVGAN's
//! `MultiResolutionDiscriminator` (v2 configs).

use serde::{Deserialize, Serialize};

/// Options of the multi-resolution discriminator.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// One `DiscriminatorR` per `[n_fft, hop_length, win_length]`
    /// (BigVGAN: `[[1024, 120, 600], [2048, 240, 1200], [512, 50, 240]]`).
    pub resolutions: Vec<[i32; 3]>,
    /// Conv channels (BigVGAN: `32 * discriminator_channel_mult`, mult 1).
    pub channels: i32,
    /// Spectral norm instead of weight norm (BigVGAN `use_spectral_norm`, false).
    pub use_spectral_norm: bool,
}

impl Default for Config {
    fn default() -> Self {
        Self { resolutions: vec![[1024, 120, 600], [2048, 240, 1200], [512, 50, 240]], channels: 32, use_spectral_norm: false }
    }
}

impl Config {
    /// Checks the values serde cannot: positive sizes, `win_length <= n_fft`, `hop <= n_fft`.
    pub fn validate(&self) -> sovits_core::Result<()> {
        let bad = |field: String, message: String| sovits_core::Error::SpecValue { field, message };
        if self.resolutions.is_empty() {
            return Err(bad("params.resolutions".into(), "at least one resolution is needed, found []".into()));
        }
        for (i, &[n_fft, hop, win]) in self.resolutions.iter().enumerate() {
            if n_fft < 2 || hop < 1 || win < 1 || win > n_fft || hop > n_fft {
                return Err(bad(
                    format!("params.resolutions[{i}]"),
                    format!("need n_fft >= 2, 1 <= hop_length <= n_fft, 1 <= win_length <= n_fft; found [{n_fft}, {hop}, {win}]"),
                ));
            }
        }
        if self.channels < 1 {
            return Err(bad("params.channels".into(), format!("must be >= 1, found {}", self.channels)));
        }
        Ok(())
    }
}
