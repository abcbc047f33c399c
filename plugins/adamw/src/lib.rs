//! `adamw`: torch-exact AdamW (Loshchilov & Hutter 2019) as GPT-SoVITS stage 2
//! uses it (`torch.optim.AdamW(params, lr, betas=(0.8, 0.99), eps=1e-9)` in
//! RVC-Boss/GPT-SoVITS `GPT_SoVITS/s2_train.py`), in f32. The update is core's
//! shared block [`sovits_core::optim::adamw`] (also used by `adamw-bf16`); this
//! crate registers it and re-exports its paths.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub use sovits_core::optim::adamw::{AdamW, Config, FusedUpdate, Moments, adamw_step, parse_config, state};

/// Registered name.
pub const NAME: &str = "adamw";

sovits_core::register!(optimizer, NAME, "torch-exact AdamW (bias correction, decoupled decay, per-group lr), f32", Config, from_spec |spec, ctx| AdamW::new(NAME, parse_config(spec)?, ctx));
