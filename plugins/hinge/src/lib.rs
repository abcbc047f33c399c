//! Hinge GAN loss (Lim & Ye 2017, "Geometric GAN"; used by MelGAN and BigVGAN
//! variants), an alternative to GPT-SoVITS's least-squares loss
//! (`GPT_SoVITS/module/losses.py` has only LSGAN). Values are plain sums over
//! every sub-discriminator of every discriminator; the weight lives in the spec.
#![deny(missing_docs)]

use mlx_rs::{Array, Dtype, ops};
use serde::{Deserialize, Serialize};
use sovits_core::components::{BuildContext, DiscriminatorOutput, Loss, LossContext, LossTerms, Side};
use sovits_core::registry::{Factory, Kind};
use sovits_core::spec::ComponentSpec;
use sovits_core::{Registration, Result};
use sovits_plugin_lsgan::{sum_discriminator_terms, sum_generator_terms};

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
    fn sides(&self) -> &'static [Side] {
        &[Side::Generator, Side::Discriminator]
    }

    fn generator(&self, ctx: &LossContext<'_>) -> Result<Option<LossTerms>> {
        Self::generator_terms(ctx.disc).map(Some)
    }

    fn discriminator(&self, ctx: &LossContext<'_>) -> Result<Option<LossTerms>> {
        Self::discriminator_terms(ctx.disc).map(Some)
    }
}

fn default_config() -> serde_json::Value {
    serde_json::to_value(Config::default()).unwrap_or_default()
}

fn build(spec: &ComponentSpec, _ctx: &BuildContext) -> Result<Box<dyn Loss>> {
    let _: Config = spec.parse_params(Kind::Loss)?;
    Ok(Box::new(Hinge))
}

inventory::submit! {
    Registration::new(NAME, "hinge GAN loss (generator and discriminator sides)", default_config, Factory::Loss(build))
}

/// Referenced by `sovits_plugins::link_all` so this crate and its registration are linked.
pub fn link() {}
