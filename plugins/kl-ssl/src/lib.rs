//! The quantizer commitment loss ("kl_ssl") of GPT-SoVITS stage 2.
//!
//! Reference: RVC-Boss/GPT-SoVITS `GPT_SoVITS/s2_train.py` adds the
//! `kl_ssl` returned by `SynthesizerTrn.forward` (the residual vector
//! quantizer's commitment loss, `module/quantize.py`) to the generator loss.
//! The generator computes it; this plugin only exposes it as a loss term so
//! that its weight lives in the spec.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

use mlx_rs::Dtype;
use serde::{Deserialize, Serialize};
use sovits_core::components::{Loss, LossContext, LossTerms};
use sovits_core::{Error, Result};

/// Registered name.
pub const NAME: &str = "kl-ssl";

/// Spec options for `"name": "kl-ssl"` (none).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {}

/// Generator-side commitment loss, read from the generator's output.
#[derive(Debug, Clone, Default)]
pub struct KlSsl;

impl Loss for KlSsl {
    /// `ctx.generated.kl_ssl` as an f32 scalar.
    fn generator(&self, ctx: &LossContext<'_>) -> Result<Option<LossTerms>> {
        let kl_ssl = &ctx.generated.kl_ssl;
        if kl_ssl.size() != 1 {
            return Err(Error::Shape {
                what: format!("{NAME}: generator output kl_ssl"),
                expected: "a scalar".into(),
                found: format!("{:?}", kl_ssl.shape()),
            });
        }
        let value = kl_ssl.as_dtype(Dtype::Float32)?.reshape(&[])?;
        Ok(Some(LossTerms::scalar(value)))
    }
}

sovits_core::register!(loss, NAME, "quantizer commitment loss reported by the generator (kl_ssl)", Config, |_config, _ctx| Ok(KlSsl));
