//! Feature-matching loss (Larsen et al. 2016; HiFi-GAN, VITS): L1 distance
//! between the discriminator's feature maps on real and generated audio.
//!
//! Reference: RVC-Boss/GPT-SoVITS `GPT_SoVITS/module/losses.py::feature_loss`,
//! which returns `2 * sum`; this plugin returns the plain sum and the spec's
//! weight 2 restores the reference value.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

use mlx_rs::{Array, Dtype, stop_gradient};
use serde::{Deserialize, Serialize};
use sovits_core::components::{DiscriminatorOutput, Loss, LossContext, LossTerms};
use sovits_core::{Error, Result};

/// Registered name.
pub const NAME: &str = "feature-matching";

/// Spec options for `"name": "feature-matching"` (none).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {}

/// Generator-side feature matching.
#[derive(Debug, Clone, Default)]
pub struct FeatureMatching;

fn mismatch(what: String, expected: String, found: String) -> Error {
    Error::Shape { what: format!("{NAME}: {what}"), expected, found }
}

/// `mean|stop_gradient(real) - fake|` in f32 for one feature map.
fn map_distance(real: &Array, fake: &Array) -> Result<Array> {
    let real = stop_gradient(real.as_dtype(Dtype::Float32)?)?;
    Ok(real.subtract(fake.as_dtype(Dtype::Float32)?)?.abs()?.mean(None)?)
}

impl FeatureMatching {
    /// `sum over discriminators, sub-discriminators and layers of
    /// mean|stop_gradient(f_real) - f_fake|`. Parts: one per sub-discriminator,
    /// named `<disc>.<sub>`, each the sum over its layers.
    pub fn terms(disc: &[DiscriminatorOutput]) -> Result<LossTerms> {
        let mut total: Option<Array> = None;
        let mut parts = Vec::new();
        for (d, out) in disc.iter().enumerate() {
            if out.fmap_real.len() != out.fmap_fake.len() {
                return Err(mismatch(
                    format!("feature maps of discriminator {d}"),
                    format!("{} fake sub-discriminators (as real)", out.fmap_real.len()),
                    out.fmap_fake.len().to_string(),
                ));
            }
            for (s, (real, fake)) in out.fmap_real.iter().zip(&out.fmap_fake).enumerate() {
                if real.len() != fake.len() {
                    return Err(mismatch(
                        format!("layers of discriminator {d}.{s}"),
                        format!("{} fake maps (as real)", real.len()),
                        fake.len().to_string(),
                    ));
                }
                let mut sub: Option<Array> = None;
                for (l, (r, f)) in real.iter().zip(fake).enumerate() {
                    if r.shape() != f.shape() {
                        return Err(mismatch(
                            format!("feature map {d}.{s}.{l}"),
                            format!("{:?}", r.shape()),
                            format!("{:?}", f.shape()),
                        ));
                    }
                    let m = map_distance(r, f)?;
                    sub = Some(match sub {
                        Some(acc) => acc.add(&m)?,
                        None => m,
                    });
                }
                let sub = sub.unwrap_or_else(|| Array::from_f32(0.0));
                total = Some(match total {
                    Some(acc) => acc.add(&sub)?,
                    None => sub.clone(),
                });
                parts.push((format!("{d}.{s}"), sub));
            }
        }
        Ok(LossTerms { value: total.unwrap_or_else(|| Array::from_f32(0.0)), parts })
    }
}

impl Loss for FeatureMatching {
    fn generator(&self, ctx: &LossContext<'_>) -> Result<Option<LossTerms>> {
        Self::terms(ctx.disc).map(Some)
    }
}

sovits_core::register!(loss, NAME, "feature matching: sum of mean |D_l(y) - D_l(y_hat)| (weight 2 = GPT-SoVITS)", Config, |_config, _ctx| Ok(FeatureMatching));
