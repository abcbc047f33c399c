//! Hinge GAN loss (Lim & Ye 2017, "Geometric GAN"; used by MelGAN and BigVGAN
//! variants), an alternative to GPT-SoVITS's least-squares loss
//! (`GPT_SoVITS/module/losses.py` has only LSGAN). Values are plain sums over
//! every sub-discriminator of every discriminator; the weight lives in the spec.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

use mlx_rs::{Array, Dtype, ops};
use serde::{Deserialize, Serialize};
use sovits_core::components::gan_terms::{sum_discriminator_terms, sum_generator_terms};
use sovits_core::components::{DiscriminatorOutput, Loss, LossContext, LossTerms};
use sovits_core::Result;

/// Registered name.
pub const NAME: &str = "hinge";

/// Spec options for `"name": "hinge"` (none).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {}

/// The hinge loss on both sides.
#[derive(Debug, Clone, Default)]
pub struct Hinge;

/// `mean(relu(1 + sign * x))` in f32.
fn mean_hinge(x: &Array, sign: f32) -> Result<Array> {
    let margin = x.as_dtype(Dtype::Float32)?.multiply(Array::from_f32(sign))?.add(Array::from_f32(1.0))?;
    Ok(ops::maximum(&margin, Array::from_f32(0.0))?.mean(None)?)
}

impl Hinge {
    /// Generator side: `sum_i -mean(D(y_hat)_i)`; parts named `<disc>.<sub>`.
    pub fn generator_terms(disc: &[DiscriminatorOutput]) -> Result<LossTerms> {
        sum_generator_terms(disc, |fake| Ok(fake.as_dtype(Dtype::Float32)?.mean(None)?.negative()?))
    }

    /// Discriminator side: `sum_i mean(relu(1 - D(y)_i)) + mean(relu(1 + D(y_hat)_i))`;
    /// parts named `<disc>.<sub>.real` and `<disc>.<sub>.fake`.
    pub fn discriminator_terms(disc: &[DiscriminatorOutput]) -> Result<LossTerms> {
        sum_discriminator_terms(NAME, disc, |real| mean_hinge(real, -1.0), |fake| mean_hinge(fake, 1.0))
    }
}

impl Loss for Hinge {
    fn generator(&self, ctx: &LossContext<'_>) -> Result<Option<LossTerms>> {
        Self::generator_terms(ctx.disc).map(Some)
    }

    fn discriminator(&self, ctx: &LossContext<'_>) -> Result<Option<LossTerms>> {
        Self::discriminator_terms(ctx.disc).map(Some)
    }
}

sovits_core::register!(loss, NAME, "hinge GAN loss (generator and discriminator sides)", Config, |_config, _ctx| Ok(Hinge));
