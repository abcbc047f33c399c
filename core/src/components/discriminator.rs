//! The discriminator contract (HiFi-GAN style `forward(y, y_hat)`).

use mlx_rs::{Array, module::ModuleParameters};

use crate::error::Result;

/// Logits and feature maps of every sub-discriminator, for real and fake audio.
#[derive(Debug, Clone, Default)]
pub struct DiscriminatorOutput {
    /// Logits on real audio, one per sub-discriminator.
    pub y_d_real: Vec<Array>,
    /// Logits on generated audio, one per sub-discriminator.
    pub y_d_fake: Vec<Array>,
    /// Feature maps on real audio: per sub-discriminator, per layer.
    pub fmap_real: Vec<Vec<Array>>,
    /// Feature maps on generated audio: per sub-discriminator, per layer.
    pub fmap_fake: Vec<Vec<Array>>,
}

/// A discriminator judging real vs generated audio.
pub trait Discriminator: ModuleParameters {
    /// Runs on real `y` and generated `y_hat`, both `[B, S]`.
    fn forward(&mut self, y: &Array, y_hat: &Array) -> Result<DiscriminatorOutput>;
}
