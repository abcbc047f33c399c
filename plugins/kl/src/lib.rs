//! The VITS KL term between the posterior sample mapped through the flow and
//! the text-conditioned prior (Kim et al. 2021, eq. 3), masked and normalised
//! by the whole batch's valid-frame count.
//!
//! Reference: RVC-Boss/GPT-SoVITS `GPT_SoVITS/module/losses.py::kl_loss`.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

use mlx_rs::{Array, Dtype};
use serde::{Deserialize, Serialize};
use sovits_core::components::{Loss, LossContext, LossTerms};
use sovits_core::{Error, Result, VitsTrainOutput};

/// Registered name.
pub const NAME: &str = "kl";

/// Spec options for `"name": "kl"` (none).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {}

/// Generator-side KL loss, read from the generator's output.
#[derive(Debug, Clone, Default)]
pub struct Kl;

fn shape_error(what: &str, expected: String, found: &[i32]) -> Error {
    Error::Shape { what: format!("{NAME}: {what}"), expected, found: format!("{found:?}") }
}

/// `sum(((logs_p - logs_q - 0.5) + 0.5 (z_p - m_p)^2 exp(-2 logs_p)) * mask) / sum(mask)`,
/// computed in f32.
///
/// # Shapes
/// `z_p`, `logs_q`, `m_p`, `logs_p`: `[B, T, C]`; `z_mask`: `[B, T, 1]`
/// (broadcast over C, so the denominator counts frames, not frames x C).
/// Returns a scalar.
pub fn kl_loss(z_p: &Array, logs_q: &Array, m_p: &Array, logs_p: &Array, z_mask: &Array) -> Result<Array> {
    let shape = z_p.shape();
    if shape.len() != 3 {
        return Err(shape_error("z_p", "[B, T, C]".into(), shape));
    }
    for (name, a) in [("logs_q", logs_q), ("m_p", m_p), ("logs_p", logs_p)] {
        if a.shape() != shape {
            return Err(shape_error(name, format!("{shape:?} (as z_p)"), a.shape()));
        }
    }
    if z_mask.shape() != [shape[0], shape[1], 1] {
        return Err(shape_error("z_mask", format!("[{}, {}, 1]", shape[0], shape[1]), z_mask.shape()));
    }
    let f32 = |a: &Array| a.as_dtype(Dtype::Float32);
    let (z_p, logs_q, m_p, logs_p, mask) = (f32(z_p)?, f32(logs_q)?, f32(m_p)?, f32(logs_p)?, f32(z_mask)?);
    let log_ratio = logs_p.subtract(&logs_q)?.subtract(Array::from_f32(0.5))?;
    let inv_var = logs_p.multiply(Array::from_f32(-2.0))?.exp()?;
    let quad = z_p.subtract(&m_p)?.square()?.multiply(&inv_var)?.multiply(Array::from_f32(0.5))?;
    let kl = log_ratio.add(&quad)?.multiply(&mask)?.sum(None)?;
    Ok(kl.divide(mask.sum(None)?)?)
}

impl Kl {
    /// [`kl_loss`] on a generator's training output.
    pub fn of(out: &VitsTrainOutput) -> Result<Array> {
        kl_loss(&out.z_p, &out.logs_q, &out.m_p, &out.logs_p, &out.z_mask)
    }
}

impl Loss for Kl {
    fn generator(&self, ctx: &LossContext<'_>) -> Result<Option<LossTerms>> {
        Ok(Some(LossTerms::scalar(Self::of(ctx.generated)?)))
    }
}

sovits_core::register!(loss, NAME, "VITS KL(posterior through flow || prior), masked, over the batch's frames", Config, |_config, _ctx| Ok(Kl));
