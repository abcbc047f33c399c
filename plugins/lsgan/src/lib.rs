//! Least-squares GAN loss (Mao et al. 2017, as used by HiFi-GAN and VITS).
//!
//! Reference: RVC-Boss/GPT-SoVITS `GPT_SoVITS/module/losses.py::generator_loss`
//! and `::discriminator_loss`. Values are plain sums over every sub-discriminator
//! of every discriminator in the spec; the weight lives in the spec.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

use mlx_rs::{Array, Dtype};
use serde::{Deserialize, Serialize};
use sovits_core::components::gan_terms::{sum_discriminator_terms, sum_generator_terms};
use sovits_core::components::{DiscriminatorOutput, Loss, LossContext, LossTerms};
use sovits_core::Result;

/// Registered name.
pub const NAME: &str = "lsgan";

/// Spec options for `"name": "lsgan"`; the reference has none.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {}

/// The LSGAN loss on both sides.
#[derive(Debug, Clone, Default)]
pub struct Lsgan;

/// `mean((1 - x)^2)` in f32.
fn mean_sq_from_one(x: &Array) -> Result<Array> {
    Ok(Array::from_f32(1.0).subtract(x.as_dtype(Dtype::Float32)?)?.square()?.mean(None)?)
}

/// `mean(x^2)` in f32.
fn mean_sq(x: &Array) -> Result<Array> {
    Ok(x.as_dtype(Dtype::Float32)?.square()?.mean(None)?)
}

impl Lsgan {
    /// Generator side: `sum_i mean((1 - D(y_hat)_i)^2)` over every sub-discriminator.
    /// Parts are named `<disc>.<sub>` (GPT-SoVITS `gen_losses`).
    pub fn generator_terms(disc: &[DiscriminatorOutput]) -> Result<LossTerms> {
        sum_generator_terms(disc, mean_sq_from_one)
    }

    /// Discriminator side: `sum_i mean((1 - D(y)_i)^2) + mean(D(y_hat)_i^2)`.
    /// Parts are `<disc>.<sub>.real` and `<disc>.<sub>.fake` (GPT-SoVITS
    /// `r_losses`, `g_losses`).
    pub fn discriminator_terms(disc: &[DiscriminatorOutput]) -> Result<LossTerms> {
        sum_discriminator_terms(NAME, disc, mean_sq_from_one, mean_sq)
    }
}

impl Loss for Lsgan {
    fn generator(&self, ctx: &LossContext<'_>) -> Result<Option<LossTerms>> {
        Self::generator_terms(ctx.disc).map(Some)
    }

    fn discriminator(&self, ctx: &LossContext<'_>) -> Result<Option<LossTerms>> {
        Self::discriminator_terms(ctx.disc).map(Some)
    }
}

sovits_core::register!(loss, NAME, "least-squares GAN loss (generator and discriminator sides)", Config, |_config, _ctx| Ok(Lsgan));
