//! GPT-SoVITS v2 multi-period discriminator, registered as `"mpd"`.
//!
//! Reference: HiFi-GAN (Kong et al., 2020) as used by GPT-SoVITS,
//! `GPT_SoVITS/module/models.py::MultiPeriodDiscriminator`: a scale
//! discriminator ([`DiscriminatorS`], grouped convs with groups 4, 16, 64, 256)
//! at `discriminators.0`, then one [`DiscriminatorP`] per period at
//! `discriminators.1..`, all weight-normalised (spectral norm by option).
//! Parameter names and shapes are the s2D state-dict's, so a pretrained
//! GPT-SoVITS discriminator loads with `sovits_core::nn::load_strict`.
//!
//! The crate also exports the scale discriminator the `msd` plugin reuses
//! ([`DiscriminatorS::with_layers`]); the norm-convs, the layer stack and the
//! real/fake batching are core building blocks.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod closed_form;
pub mod config;
pub mod error;
pub mod period;

use mlx_rs::macros::ModuleParameters;
use mlx_rs::Array;
use sovits_core::components::real_fake::{check_audio, forward_real_fake, unzip_outputs};
use sovits_core::{Discriminator, DiscriminatorOutput, Result};

pub use config::Config;
pub use error::MpdError;
pub use period::DiscriminatorP;
pub use sovits_core::nn::scale_discriminator::DiscriminatorS;

/// One entry of `discriminators`: the scale discriminator or a period one.
#[derive(Debug, Clone)]
pub enum SubDiscriminator {
    /// `DiscriminatorS` (always index 0).
    Scale(DiscriminatorS),
    /// `DiscriminatorP(period)`.
    Period(DiscriminatorP),
}

sovits_core::delegate_module_parameters!(SubDiscriminator: Scale, Period);

impl SubDiscriminator {
    /// Logits and feature maps of one sub-discriminator.
    ///
    /// # Shapes
    /// `y` `[B, S]` -> logits `[B, N]`, feature maps channels-last (see
    /// [`DiscriminatorS::forward`], [`DiscriminatorP::forward`]).
    pub fn forward(&mut self, y: &Array) -> Result<(Array, Vec<Array>)> {
        match self {
            Self::Scale(d) => {
                let (b, s) = (y.shape()[0], y.shape()[1]);
                d.forward(&y.reshape(&[b, s, 1])?)
            }
            Self::Period(d) => d.forward(y),
        }
    }
}

/// The multi-period discriminator: `discriminators.0` = scale, `1..` = periods.
#[derive(Debug, Clone, ModuleParameters)]
pub struct Mpd {
    /// Scale discriminator, then one period discriminator per configured period.
    #[param]
    pub discriminators: Vec<SubDiscriminator>,
}

impl Mpd {
    /// Builds the discriminator from a validated config (PyTorch default init
    /// from MLX's global PRNG).
    pub fn new(config: &Config) -> Result<Self> {
        config.validate()?;
        let sn = config.use_spectral_norm;
        let mut discriminators = vec![SubDiscriminator::Scale(DiscriminatorS::new(sn)?)];
        for &p in &config.periods {
            discriminators.push(SubDiscriminator::Period(DiscriminatorP::new(p, sn)?));
        }
        Ok(Self { discriminators })
    }

    /// Runs every sub-discriminator on one batch of audio.
    ///
    /// # Shapes
    /// `y` `[B, S]` -> per sub-discriminator: logits `[B, N_i]` and feature maps.
    pub fn forward_one(&mut self, y: &Array) -> Result<(Vec<Array>, Vec<Vec<Array>>)> {
        check_audio("y", y)?;
        // independent sub-discriminators on alternating CPU lanes
        let lanes = self.discriminators.iter_mut().enumerate();
        unzip_outputs(lanes.map(|(i, d)| sovits_core::nn::lanes::on(i, || d.forward(y))))
    }
}

impl Discriminator for Mpd {
    /// Real and fake run as one batch of `2B`; feature maps are channels-last
    /// (`[B, T, C]` for the scale discriminator, `[B, T/p, p, C]` for periods).
    fn forward(&mut self, y: &Array, y_hat: &Array) -> Result<DiscriminatorOutput> {
        forward_real_fake(y, y_hat, |both| self.forward_one(both))
    }
}

sovits_core::register!(discriminator, "mpd", "GPT-SoVITS v2 multi-period discriminator (scale + period sub-discriminators)", Config, |config, _ctx| Mpd::new(&config));
