//! The quantizer commitment loss ("kl_ssl") of GPT-SoVITS stage 2.
//!
//! Reference: RVC-Boss/GPT-SoVITS `GPT_SoVITS/s2_train.py` adds the
//! `kl_ssl` returned by `SynthesizerTrn.forward` (the residual vector
//! quantizer's commitment loss, `module/quantize.py`) to the generator loss.
//! The generator computes it; this plugin only exposes it as a loss term so
//! that its weight lives in the spec.
#![deny(missing_docs)]

use mlx_rs::Dtype;
use serde::{Deserialize, Serialize};
use sovits_core::components::{BuildContext, Loss, LossContext, LossTerms, Side};
use sovits_core::registry::{Factory, Kind};
use sovits_core::spec::ComponentSpec;
use sovits_core::{Error, Registration, Result};

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
    fn sides(&self) -> &'static [Side] {
        &[Side::Generator]
    }

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

fn default_config() -> serde_json::Value {
    serde_json::to_value(Config::default()).unwrap_or_default()
}

fn build(spec: &ComponentSpec, _ctx: &BuildContext) -> Result<Box<dyn Loss>> {
    let _: Config = spec.parse_params(Kind::Loss)?;
    Ok(Box::new(KlSsl))
}

inventory::submit! {
    Registration::new(NAME, "quantizer commitment loss reported by the generator (kl_ssl)", default_config, Factory::Loss(build))
}

/// Referenced by `sovits_plugins::link_all` so this crate and its registration are linked.
pub fn link() {}
