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
use sovits_core::{Error, Registration, Result};

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

/// Adds `term` to an optional running sum.
fn accumulate(total: Option<Array>, term: &Array) -> Result<Option<Array>> {
    Ok(Some(match total {
        Some(t) => t.add(term)?,
        None => term.clone(),
    }))
}

impl Hinge {
    /// Generator side: `sum_i -mean(D(y_hat)_i)`; parts named `<disc>.<sub>`.
    pub fn generator_terms(disc: &[DiscriminatorOutput]) -> Result<LossTerms> {
        let mut total = None;
        let mut parts = Vec::new();
        for (d, out) in disc.iter().enumerate() {
            for (s, fake) in out.y_d_fake.iter().enumerate() {
                let l = fake.as_dtype(Dtype::Float32)?.mean(None)?.negative()?;
                total = accumulate(total, &l)?;
                parts.push((format!("{d}.{s}"), l));
            }
        }
        Ok(LossTerms { value: total.unwrap_or_else(|| Array::from_f32(0.0)), parts })
    }

    /// Discriminator side: `sum_i mean(relu(1 - D(y)_i)) + mean(relu(1 + D(y_hat)_i))`;
    /// parts named `<disc>.<sub>.real` and `<disc>.<sub>.fake`.
    pub fn discriminator_terms(disc: &[DiscriminatorOutput]) -> Result<LossTerms> {
        let mut total = None;
        let mut parts = Vec::new();
        for (d, out) in disc.iter().enumerate() {
            if out.y_d_real.len() != out.y_d_fake.len() {
                return Err(Error::Plugin {
                    plugin: NAME.into(),
                    message: format!(
                        "discriminator {d} returned {} real but {} fake logits",
                        out.y_d_real.len(),
                        out.y_d_fake.len()
                    ),
                });
            }
            for (s, (real, fake)) in out.y_d_real.iter().zip(&out.y_d_fake).enumerate() {
                let r = mean_hinge(real, -1.0)?;
                let g = mean_hinge(fake, 1.0)?;
                total = accumulate(total, &r.add(&g)?)?;
                parts.push((format!("{d}.{s}.real"), r));
                parts.push((format!("{d}.{s}.fake"), g));
            }
        }
        Ok(LossTerms { value: total.unwrap_or_else(|| Array::from_f32(0.0)), parts })
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
