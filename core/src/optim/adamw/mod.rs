//! torch-exact AdamW (Loshchilov & Hutter 2019) as GPT-SoVITS stage 2 uses it:
//! `torch.optim.AdamW(params, lr, betas=(0.8, 0.99), eps=1e-9)` in
//! RVC-Boss/GPT-SoVITS `GPT_SoVITS/s2_train.py`, with the update of torch's
//! `_single_tensor_adamw` (bias-corrected moments, eps added after the
//! bias-corrected square root, decoupled weight decay). mlx-rs's own AdamW has
//! no bias correction, hence this block.
//!
//! Only parameters listed in the optimizer's groups are touched; a listed
//! parameter without a gradient gets no update, no decay and no state, and
//! each parameter counts its own steps, as in torch. Registered by the
//! `adamw` and `adamw-bf16` plugins, each under its own name.

mod config;
mod optimizer;
pub mod state;
mod step;

pub use config::Config;
pub use optimizer::AdamW;
pub use step::{FusedUpdate, Moments, adamw_step};

use crate::error::Result;
use crate::kind::Kind;
use crate::spec::ComponentSpec;

/// Parses and validates an AdamW spec entry's params.
pub fn parse_config(spec: &ComponentSpec) -> Result<Config> {
    let config: Config = spec.parse_params(Kind::Optimizer)?;
    config.validate(&spec.at)?;
    Ok(config)
}
