//! BigVGAN multi-resolution spectrogram discriminator, registered as `"mrd"`.
//!
//! Reference: Lee et al., "BigVGAN" (2023) after Jang et al., "UnivNet"
//! (2021); NVIDIA/BigVGAN `discriminators.py::MultiResolutionDiscriminator`
//! and `DiscriminatorR`. Not part of GPT-SoVITS: an option to add beside
//! `mpd`. Keys follow the reference: `discriminators.N.convs.M.*`,
//! `discriminators.N.conv_post.*`; 93,473 weights and biases per resolution
//! with the default 32 channels.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod config;
pub mod resolution;

use mlx_rs::macros::ModuleParameters;
use mlx_rs::Array;
use sovits_core::components::real_fake::{forward_real_fake, unzip_outputs};
use sovits_core::{Discriminator, DiscriminatorOutput, Result};

pub use config::Config;
pub use resolution::DiscriminatorR;

/// The multi-resolution discriminator.
#[derive(Debug, Clone, ModuleParameters)]
pub struct Mrd {
    /// One spectrogram discriminator per resolution.
    #[param]
    pub discriminators: Vec<DiscriminatorR>,
}

impl Mrd {
    /// Builds the discriminator from a validated config.
    pub fn new(config: &Config) -> Result<Self> {
        config.validate()?;
        let discriminators = config
            .resolutions
            .iter()
            .map(|&r| DiscriminatorR::new(r, config.channels, config.use_spectral_norm))
            .collect::<Result<Vec<_>>>()?;
        Ok(Self { discriminators })
    }

    /// Runs every resolution on one batch of audio.
    ///
    /// # Shapes
    /// `y` `[B, S]` -> per resolution: logits `[B, N_i]`, feature maps `[B, F_i, T_ij, C]`.
    pub fn forward_one(&mut self, y: &Array) -> Result<(Vec<Array>, Vec<Vec<Array>>)> {
        // independent sub-discriminators on alternating CPU lanes
        let lanes = self.discriminators.iter_mut().enumerate();
        unzip_outputs(lanes.map(|(i, d)| sovits_core::nn::lanes::on(i, || d.forward(y))))
    }
}

impl Discriminator for Mrd {
    /// Real and fake run as one batch of `2B`.
    fn forward(&mut self, y: &Array, y_hat: &Array) -> Result<DiscriminatorOutput> {
        forward_real_fake(y, y_hat, |both| self.forward_one(both))
    }
}

sovits_core::register!(discriminator, "mrd", "BigVGAN multi-resolution spectrogram discriminator", Config, |config, _ctx| Mrd::new(&config));
