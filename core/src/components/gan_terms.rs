//! Sums of a per-sub-discriminator GAN term over every sub-discriminator of
//! every discriminator (GPT-SoVITS `losses.py::generator_loss` /
//! `discriminator_loss` loop structure), shared by the adversarial losses
//! (`lsgan`, `hinge`), which differ only in the per-logit term.

use mlx_rs::Array;

use super::{DiscriminatorOutput, LossTerms};
use crate::error::{Error, Result};

/// Adds `term` to an optional running sum.
fn accumulate(total: Option<Array>, term: &Array) -> Result<Option<Array>> {
    Ok(Some(match total {
        Some(t) => t.add(term)?,
        None => term.clone(),
    }))
}

/// Generator side: `sum_i term(D(y_hat)_i)` over every sub-discriminator of
/// every discriminator (0 when there are none). Parts are named `<disc>.<sub>`
/// (GPT-SoVITS `gen_losses`).
pub fn sum_generator_terms(disc: &[DiscriminatorOutput], term: impl Fn(&Array) -> Result<Array>) -> Result<LossTerms> {
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

/// Discriminator side: `sum_i real(D(y)_i) + fake(D(y_hat)_i)` (0 when there
/// are none). Parts are `<disc>.<sub>.real` and `<disc>.<sub>.fake`
/// (GPT-SoVITS `r_losses`, `g_losses`). A discriminator with as many real as
/// fake logits is required; otherwise the error is an [`Error::Plugin`] naming `plugin`.
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
