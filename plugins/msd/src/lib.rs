//! HiFi-GAN multi-scale discriminator, registered as `"msd"`.
//!
//! Reference: Kong et al., "HiFi-GAN" (2020), `jik876/hifi-gan`
//! `models.py::MultiScaleDiscriminator`: three `DiscriminatorS` with HiFi-GAN's
//! layer list ([`HIFIGAN_LAYERS`]: 9,870,209 weights and biases each), the
//! first under spectral norm and the others under weight norm, each seeing the
//! audio average-pooled once more (`AvgPool1d(4, 2, padding=2)`) than the one
//! before. Keys follow the reference: `discriminators.{0,1,2}.convs.N.*`,
//! `discriminators.N.conv_post.*` (the pools have no parameters).
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod config;

use mlx_rs::macros::ModuleParameters;
use mlx_rs::Array;
use sovits_core::components::real_fake::{forward_real_fake, unzip_outputs};
use sovits_core::nn::{ConvOpts, conv1d};
use sovits_core::nn::scale_discriminator::{DiscriminatorS, HIFIGAN_LAYERS};
use sovits_core::{Discriminator, DiscriminatorOutput, Result};

pub use config::Config;

/// `AvgPool1d(4, 2, padding=2)` (zero padding counted, torch's default), as a
/// fixed conv of four 0.25 taps.
///
/// # Shapes
/// `[B, T, 1]` -> `[B, T / 2 + 1, 1]`.
pub fn mean_pool(x: &Array) -> Result<Array> {
    let w = Array::from_slice(&[0.25f32; 4], &[1, 1, 4]);
    conv1d(x, &w, None, ConvOpts::new().stride(2).padding(2))
}

/// The multi-scale discriminator.
#[derive(Debug, Clone, ModuleParameters)]
pub struct Msd {
    /// One scale discriminator per scale (0 = raw audio).
    #[param]
    pub discriminators: Vec<DiscriminatorS>,
}

impl Msd {
    /// Builds the discriminator from a validated config.
    pub fn new(config: &Config) -> Result<Self> {
        config.validate()?;
        let discriminators = (0..config.scales)
            .map(|i| DiscriminatorS::with_layers(&HIFIGAN_LAYERS, i == 0 && config.spectral_norm_first))
            .collect::<Result<Vec<_>>>()?;
        Ok(Self { discriminators })
    }

    /// Runs every scale on one batch of audio.
    ///
    /// # Shapes
    /// `y` `[B, S]` -> per scale: logits `[B, N_i]`, feature maps `[B, T_ij, C_ij]`.
    pub fn forward_one(&mut self, y: &Array) -> Result<(Vec<Array>, Vec<Vec<Array>>)> {
        let (b, s) = (y.shape()[0], y.shape()[1]);
        let mut x = y.reshape(&[b, s, 1])?;
        unzip_outputs(self.discriminators.iter_mut().enumerate().map(|(i, d)| {
            if i > 0 {
                x = mean_pool(&x)?;
            }
            d.forward(&x)
        }))
    }
}

impl Discriminator for Msd {
    /// Real and fake run as one batch of `2B`; feature maps are channels-last `[B, T, C]`.
    fn forward(&mut self, y: &Array, y_hat: &Array) -> Result<DiscriminatorOutput> {
        forward_real_fake(y, y_hat, |both| self.forward_one(both))
    }
}

sovits_core::register!(discriminator, "msd", "HiFi-GAN multi-scale discriminator (three scale discriminators, average-pooled audio)", Config, |config, _ctx| Msd::new(&config));
