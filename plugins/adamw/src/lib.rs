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
#![forbid(unsafe_code)]

mod config;
mod optimizer;
pub mod state;
mod step;

pub use config::Config;
pub use optimizer::AdamW;
pub use step::{FusedUpdate, Moments, adamw_step};

use sovits_core::registry::Kind;
use sovits_core::spec::ComponentSpec;
use sovits_core::Result;

/// Registered name.
pub const NAME: &str = "adamw";

/// Parses and validates the spec entry's params.
pub fn parse_config(spec: &ComponentSpec) -> Result<Config> {
    let config: Config = spec.parse_params(Kind::Optimizer)?;
    config.validate(&spec.at)?;
    Ok(config)
}

sovits_core::register!(optimizer, NAME, "torch-exact AdamW (bias correction, decoupled decay, per-group lr), f32", Config, from_spec |spec, ctx| AdamW::new(NAME, parse_config(spec)?, ctx));
