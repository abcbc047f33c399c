//! BigVGAN multi-resolution spectrogram discriminator, registered as `"mrd"`.
//!
//! Reference: Lee et al., "BigVGAN" (2023) after Jang et al., "UnivNet"
//! (2021); NVIDIA/BigVGAN `discriminators.py::MultiResolutionDiscriminator`
//! and `DiscriminatorR`. Not part of GPT-SoVITS: an option to add beside
//! `mpd`. Keys follow the reference: `discriminators.N.convs.M.*`,
//! `discriminators.N.conv_post.*`; 93,473 weights and biases per resolution
//! with the default 32 channels.
#![deny(missing_docs)]

pub mod config;
pub mod resolution;

use mlx_rs::macros::ModuleParameters;
use mlx_rs::Array;
use sovits_core::components::BuildContext;
use sovits_core::registry::{Factory, Kind, Registration};
use sovits_core::spec::ComponentSpec;
use sovits_core::{Discriminator, DiscriminatorOutput, Result};
use sovits_plugin_mpd::{forward_real_fake, unzip_outputs};

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

fn default_config() -> serde_json::Value {
    serde_json::to_value(Config::default()).unwrap_or(serde_json::Value::Null)
}

fn build(spec: &ComponentSpec, _ctx: &BuildContext) -> Result<Box<dyn Discriminator>> {
    let config: Config = spec.parse_params(Kind::Discriminator)?;
    Ok(Box::new(Mrd::new(&config)?))
}

inventory::submit! {
    Registration::new(
        "mrd",
        "BigVGAN multi-resolution spectrogram discriminator",
        default_config,
        Factory::Discriminator(build),
    )
}

/// Referenced by `sovits_plugins::link_all` so this crate and its registration are linked.
pub fn link() {}
