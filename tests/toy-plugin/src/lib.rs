//! Test-only plugins: `toy-disc` (a one-weight discriminator) and `toy-l1`
//! (mean |y - y_hat|). They register exactly as real plugins do, so a spec can
//! name them with no change to core.
#![deny(missing_docs)]

use mlx_rs::macros::ModuleParameters;
use mlx_rs::module::Param;
use mlx_rs::{Array, ops};
use serde::{Deserialize, Serialize};
use sovits_core::components::{BuildContext, Discriminator, DiscriminatorOutput, Loss, LossContext, LossTerms, Side};
use sovits_core::registry::{Factory, Kind, Registration};
use sovits_core::spec::ComponentSpec;
use sovits_core::Result;

/// Options of `toy-disc`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ToyDiscConfig {
    /// Initial value of the single scale weight.
    pub scale: f32,
    /// Number of (identical) sub-discriminators.
    pub channels: usize,
}

impl Default for ToyDiscConfig {
    fn default() -> Self {
        Self { scale: 0.5, channels: 1 }
    }
}

/// A discriminator whose logits are `scale * y` for each sub-discriminator.
#[derive(Debug, ModuleParameters)]
pub struct ToyDisc {
    /// The one learned weight.
    #[param]
    pub scale: Param<Array>,
    channels: usize,
}

impl Discriminator for ToyDisc {
    fn forward(&mut self, y: &Array, y_hat: &Array) -> Result<DiscriminatorOutput> {
        let mut out = DiscriminatorOutput::default();
        for _ in 0..self.channels {
            let r = ops::multiply(y, &*self.scale)?;
            let f = ops::multiply(y_hat, &*self.scale)?;
            out.fmap_real.push(vec![r.clone()]);
            out.fmap_fake.push(vec![f.clone()]);
            out.y_d_real.push(r);
            out.y_d_fake.push(f);
        }
        Ok(out)
    }
}

fn disc_defaults() -> serde_json::Value {
    serde_json::to_value(ToyDiscConfig::default()).unwrap_or_default()
}

fn build_disc(spec: &ComponentSpec, _ctx: &BuildContext) -> Result<Box<dyn Discriminator>> {
    let cfg: ToyDiscConfig = spec.parse_params(Kind::Discriminator)?;
    Ok(Box::new(ToyDisc { scale: Param::new(Array::from_f32(cfg.scale)), channels: cfg.channels }))
}

inventory::submit! {
    Registration::new("toy-disc", "test-only discriminator: logits = scale * audio", disc_defaults, Factory::Discriminator(build_disc))
}

/// `toy-l1`: mean |y - y_hat| on the generator side.
pub struct ToyL1;

impl Loss for ToyL1 {
    fn sides(&self) -> &'static [Side] {
        &[Side::Generator]
    }

    fn generator(&self, ctx: &LossContext<'_>) -> Result<Option<LossTerms>> {
        let d = ops::abs(&ops::subtract(ctx.y, ctx.y_hat)?)?;
        Ok(Some(LossTerms::scalar(d.mean(None)?)))
    }
}

fn loss_defaults() -> serde_json::Value {
    serde_json::json!({})
}

/// Options of `toy-l1` (none; unknown fields are rejected).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ToyL1Config {}

fn build_loss(spec: &ComponentSpec, _ctx: &BuildContext) -> Result<Box<dyn Loss>> {
    let ToyL1Config {} = spec.parse_params(Kind::Loss)?;
    Ok(Box::new(ToyL1))
}

inventory::submit! {
    Registration::new("toy-l1", "test-only loss: mean |y - y_hat|", loss_defaults, Factory::Loss(build_loss))
}

/// Referenced by tests so this crate (and its registrations) is linked.
pub fn link() {}
