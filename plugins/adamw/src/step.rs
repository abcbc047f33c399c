//! One AdamW step for one parameter, exactly torch's `_single_tensor_adamw`
//! (torch.optim.AdamW docs, `amsgrad=False`, `maximize=False`), in MLX f32 ops.
//! Host-side scalars (bias corrections, step size) are computed in f64, as
//! torch computes them in Python floats.

use mlx_rs::{Array, Dtype};
use sovits_core::Result;

use crate::Config;

/// First and second moments of one parameter and its own step count.
#[derive(Debug, Clone)]
pub struct Moments {
    /// `exp_avg` (f32, parameter shape).
    pub exp_avg: Array,
    /// `exp_avg_sq` (f32, parameter shape).
    pub exp_avg_sq: Array,
    /// Steps applied to this parameter so far (torch's per-parameter `step`).
    pub step: u64,
}

impl Moments {
    /// Fresh state: zero moments of `shape`, step 0.
    pub fn zeros(shape: &[i32]) -> Result<Self> {
        Ok(Self { exp_avg: Array::zeros::<f32>(shape)?, exp_avg_sq: Array::zeros::<f32>(shape)?, step: 0 })
    }
}

fn scalar(x: f64) -> Array {
    Array::from_f32(x as f32)
}

/// Applies one step with learning rate `lr` to `param` (any float dtype; the
/// result is f32) given `grad`, advancing `state`. With `t = state.step + 1`:
///
/// ```text
/// p <- p (1 - lr wd);  m <- b1 m + (1 - b1) g;  v <- b2 v + (1 - b2) g^2
/// p <- p - lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
/// ```
///
/// The gradient is made row-major contiguous first (MLX 0.32.2's CPU
/// element-wise kernels mis-handle mixed-stride operands). Lazy: nothing is
/// evaluated here.
pub fn adamw_step(param: &Array, grad: &Array, state: &mut Moments, lr: f64, cfg: &Config) -> Result<Array> {
    let t = state.step + 1;
    let (b1, b2) = (cfg.betas[0] as f64, cfg.betas[1] as f64);
    let g = grad.as_dtype(Dtype::Float32)?.contiguous()?;
    let p = param.as_dtype(Dtype::Float32)?.multiply(scalar(1.0 - lr * cfg.weight_decay as f64))?;
    let m = state.exp_avg.multiply(scalar(b1))?.add(g.multiply(scalar(1.0 - b1))?)?;
    let v = state.exp_avg_sq.multiply(scalar(b2))?.add(g.square()?.multiply(scalar(1.0 - b2))?)?;
    let step_size = lr / (1.0 - b1.powf(t as f64));
    let bias_correction2_sqrt = (1.0 - b2.powf(t as f64)).sqrt();
    let denom = v.sqrt()?.divide(scalar(bias_correction2_sqrt))?.add(scalar(cfg.eps as f64))?;
    let p = p.subtract(m.divide(&denom)?.multiply(scalar(step_size))?)?;
    *state = Moments { exp_avg: m, exp_avg_sq: v, step: t };
    Ok(p)
}
