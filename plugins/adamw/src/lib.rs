//! torch-exact AdamW (Loshchilov & Hutter 2019) as GPT-SoVITS stage 2 uses it:
//! `torch.optim.AdamW(params, lr, betas=(0.8, 0.99), eps=1e-9)` in
//! RVC-Boss/GPT-SoVITS `GPT_SoVITS/s2_train.py`, with the update of torch's
//! `_single_tensor_adamw` (bias-corrected moments, eps added after the
//! bias-corrected square root, decoupled weight decay). mlx-rs's own AdamW has
//! no bias correction, hence this plugin.
//!
//! Only parameters listed in the optimizer's groups are touched; a listed
//! parameter without a gradient gets no update, no decay and no state, and
//! each parameter counts its own steps, as in torch.
#![deny(missing_docs)]

mod config;
mod optimizer;
pub mod state;
mod step;

pub use config::Config;
pub use optimizer::AdamW;
pub use step::{FusedUpdate, Moments, adamw_step};

use sovits_core::components::{Optimizer, OptimizerContext};
use sovits_core::registry::{Factory, Kind};
use sovits_core::spec::ComponentSpec;
use sovits_core::{Registration, Result};

/// Registered name.
pub const NAME: &str = "adamw";

/// Parses and validates the spec entry's params.
pub fn parse_config(spec: &ComponentSpec) -> Result<Config> {
    let config: Config = spec.parse_params(Kind::Optimizer)?;
    config.validate(&spec.at)?;
    Ok(config)
}

fn default_config() -> serde_json::Value {
    serde_json::to_value(Config::default()).unwrap_or_default()
}

fn build(spec: &ComponentSpec, ctx: &OptimizerContext) -> Result<Box<dyn Optimizer>> {
    Ok(Box::new(AdamW::new(NAME, parse_config(spec)?, ctx)?))
}

inventory::submit! {
    Registration::new(NAME, "torch-exact AdamW (bias correction, decoupled decay, per-group lr), f32", default_config, Factory::Optimizer(build))
}

/// Referenced by `sovits_plugins::link_all` so this crate and its registration are linked.
pub fn link() {}
