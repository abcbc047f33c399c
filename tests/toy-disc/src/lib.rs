//! Test-only discriminator `toy-disc` (logits = one learned weight times the
//! audio). It registers exactly as a real discriminator plugin does, so a spec
//! can name it with no change to core (docs/architecture.md, "Adding a
//! component").
#![deny(missing_docs)]
#![forbid(unsafe_code)]

use mlx_rs::macros::ModuleParameters;
use mlx_rs::module::Param;
use mlx_rs::{Array, ops};
use serde::{Deserialize, Serialize};
use sovits_core::{Discriminator, DiscriminatorOutput, Result};

/// Options of `toy-disc`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Initial value of the single scale weight.
    pub scale: f32,
    /// Number of (identical) sub-discriminators.
    pub channels: usize,
}

impl Default for Config {
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

impl ToyDisc {
    /// A toy discriminator with the configured weight and sub-discriminator count.
    pub fn new(config: &Config) -> Self {
        Self { scale: Param::new(Array::from_f32(config.scale)), channels: config.channels }
    }
}

impl Discriminator for ToyDisc {
    /// # Shapes
    /// `y`, `y_hat` `[B, S]` -> per sub-discriminator logits `[B, S]` and one feature map `[B, S]`.
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

sovits_core::register!(discriminator, "toy-disc", "test-only discriminator: logits = scale * audio", Config, |config, _ctx| Ok(ToyDisc::new(&config)));
