//! AdamW with f32 master weights for bf16 training: the update is core's
//! shared AdamW block (torch `AdamW`, see `sovits_core::optim::adamw`, which the
//! `adamw` plugin registers in f32), applied in f32 to the
//! f32 master parameters with f32 moments; the model computes with the bf16
//! copies returned by [`Optimizer::compute_params`]. GPT-SoVITS itself trains
//! with fp16 autocast + GradScaler (`GPT_SoVITS/s2_train.py`); bf16 needs no
//! loss scaling.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

use mlx_rs::Dtype;
use sovits_core::components::{Optimizer, OptimizerContext, ParamMap, PendingUpdate};
use sovits_core::Result;
use sovits_core::optim::adamw::{AdamW, Config, parse_config};

/// Registered name.
pub const NAME: &str = "adamw-bf16";

/// AdamW over f32 master weights; compute copies are bf16.
#[derive(Debug, Clone)]
pub struct AdamWBf16 {
    inner: AdamW,
}

impl AdamWBf16 {
    /// An optimizer owning the parameters of `ctx.groups`.
    pub fn new(config: Config, ctx: &OptimizerContext) -> Result<Self> {
        Ok(Self { inner: AdamW::new(NAME, config, ctx)?.with_f32_master() })
    }

    /// The wrapped f32 optimizer.
    pub fn inner(&self) -> &AdamW {
        &self.inner
    }
}

impl Optimizer for AdamWBf16 {
    /// Steps the master weights in `params` (made f32 if they are not) with
    /// `grads` of any float dtype, upcast to f32.
    fn update(&mut self, params: &mut ParamMap, grads: &ParamMap) -> Result<()> {
        self.inner.update(params, grads)
    }

    fn update_where(&mut self, params: &mut ParamMap, grads: &ParamMap, apply: &mlx_rs::Array) -> Result<PendingUpdate> {
        self.inner.update_where(params, grads, apply)
    }

    fn settle(&mut self, pending: PendingUpdate, applied: bool) -> Result<()> {
        self.inner.settle(pending, applied)
    }

    fn learning_rate(&self) -> f32 {
        self.inner.learning_rate()
    }

    fn set_learning_rate(&mut self, lr: f32) {
        self.inner.set_learning_rate(lr)
    }

    fn state(&self) -> Result<ParamMap> {
        self.inner.state()
    }

    fn load_state(&mut self, state: &ParamMap) -> Result<()> {
        self.inner.load_state(state)
    }

    /// bf16 copies of every f32 entry of `params` (frozen ones included, so
    /// the whole model computes in bf16); other dtypes are passed through.
    fn compute_params(&self, params: &ParamMap) -> Result<ParamMap> {
        params
            .iter()
            .map(|(k, p)| {
                let p = if p.dtype() == Dtype::Float32 { p.as_dtype(Dtype::Bfloat16)? } else { p.clone() };
                Ok((k.clone(), p))
            })
            .collect()
    }

    fn step_count(&self) -> u64 {
        self.inner.step_count()
    }
}

sovits_core::register!(optimizer, NAME, "torch-exact AdamW on f32 master weights, bf16 compute copies", Config, from_spec |spec, ctx| AdamWBf16::new(parse_config(spec)?, ctx));
