//! Spec options of `"name": "msd"`; defaults are HiFi-GAN's
//! `MultiScaleDiscriminator`.

use serde::{Deserialize, Serialize};

/// Options of the multi-scale discriminator.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Number of scales (HiFi-GAN: 3), each pooled once more than the last.
    pub scales: usize,
    /// Spectral norm on the raw-audio scale (HiFi-GAN: true); others use weight norm.
    pub spectral_norm_first: bool,
}

impl Default for Config {
    fn default() -> Self {
        Self { scales: 3, spectral_norm_first: true }
    }
}

impl Config {
    /// Checks the values serde cannot: at least one scale.
    pub fn validate(&self) -> sovits_core::Result<()> {
        if self.scales == 0 {
            return Err(sovits_core::Error::SpecValue {
                field: "params.scales".into(),
                message: "at least one scale is needed, found 0".into(),
            });
        }
        Ok(())
    }
}
