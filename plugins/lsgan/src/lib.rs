//! Least-squares GAN loss (Mao et al. 2017, as used by HiFi-GAN and VITS).
//!
//! Reference: RVC-Boss/GPT-SoVITS `GPT_SoVITS/module/losses.py::generator_loss`
//! and `::discriminator_loss`. Values are plain sums over every sub-discriminator
//! of every discriminator in the spec; the weight lives in the spec.
#![deny(missing_docs)]

use mlx_rs::{Array, Dtype};
use serde::{Deserialize, Serialize};
use sovits_core::components::{BuildContext, DiscriminatorOutput, Loss, LossContext, LossTerms, Side};
use sovits_core::registry::{Factory, Kind};
use sovits_core::spec::ComponentSpec;
use sovits_core::{Error, Registration, Result};

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

/// Adds `term` to an optional running sum.
fn accumulate(total: Option<Array>, term: &Array) -> Result<Option<Array>> {
    Ok(Some(match total {
        Some(t) => t.add(term)?,
        None => term.clone(),
    }))
}

/// Generator side of a per-sub-discriminator GAN loss: `sum_i term(D(y_hat)_i)` over
/// every sub-discriminator of every discriminator (0 when there are none).
/// Parts are named `<disc>.<sub>` (GPT-SoVITS `gen_losses`). Shared with other GAN
/// losses (e.g. `hinge`), which differ only in `term`.
pub fn sum_generator_terms(
    disc: &[DiscriminatorOutput],
    term: impl Fn(&Array) -> Result<Array>,
) -> Result<LossTerms> {
    let mut total = None;
    let mut parts = Vec::new();
    for (d, out) in disc.iter().enumerate() {
        for (s, fake) in out.y_d_fake.iter().enumerate() {
            let l = term(fake)?;
            total = accumulate(total, &l)?;
            parts.push((format!("{d}.{s}"), l));
        }
    }
    Ok(LossTerms { value: total.unwrap_or_else(|| Array::from_f32(0.0)), parts })
}

/// Discriminator side of a per-sub-discriminator GAN loss:
/// `sum_i real(D(y)_i) + fake(D(y_hat)_i)` (0 when there are none). Parts are
/// `<disc>.<sub>.real` and `<disc>.<sub>.fake` (GPT-SoVITS `r_losses`, `g_losses`).
/// A discriminator with as many real as fake logits is required; otherwise the
/// error is an [`Error::Plugin`] naming `plugin`.
pub fn sum_discriminator_terms(
    plugin: &str,
    disc: &[DiscriminatorOutput],
    real: impl Fn(&Array) -> Result<Array>,
    fake: impl Fn(&Array) -> Result<Array>,
) -> Result<LossTerms> {
    let mut total = None;
    let mut parts = Vec::new();
    for (d, out) in disc.iter().enumerate() {
        if out.y_d_real.len() != out.y_d_fake.len() {
            return Err(Error::Plugin {
                plugin: plugin.into(),
                message: format!(
                    "discriminator {d} returned {} real but {} fake logits",
                    out.y_d_real.len(),
                    out.y_d_fake.len()
                ),
            });
        }
        for (s, (y, y_hat)) in out.y_d_real.iter().zip(&out.y_d_fake).enumerate() {
            let r = real(y)?;
            let g = fake(y_hat)?;
            total = accumulate(total, &r.add(&g)?)?;
            parts.push((format!("{d}.{s}.real"), r));
            parts.push((format!("{d}.{s}.fake"), g));
        }
    }
    Ok(LossTerms { value: total.unwrap_or_else(|| Array::from_f32(0.0)), parts })
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
    Ok(Box::new(Lsgan))
}

inventory::submit! {
    Registration::new(NAME, "least-squares GAN loss (generator and discriminator sides)", default_config, Factory::Loss(build))
}

/// Referenced by `sovits_plugins::link_all` so this crate and its registration are linked.
pub fn link() {}
