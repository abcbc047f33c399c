//! PyTorch's default initialisation for convs and linears: weight and bias
//! both drawn from U(-1/sqrt(fan_in), 1/sqrt(fan_in)) (what
//! `kaiming_uniform_(a=sqrt(5))` reduces to), from MLX's global PRNG.

use mlx_rs::{Array, random};

use crate::error::Result;

/// Uniform draws in `[-1/sqrt(fan_in), 1/sqrt(fan_in))` of `shape` (f32).
pub fn torch_uniform(shape: &[i32], fan_in: i32) -> Result<Array> {
    let bound = 1.0 / (fan_in.max(1) as f32).sqrt();
    Ok(random::uniform::<_, f32>(-bound, bound, shape, None)?)
}

/// An optional bias `[n]` initialised like the weight, `None` when `bias` is false.
pub fn torch_bias(n: i32, fan_in: i32, bias: bool) -> Result<Option<Array>> {
    if bias { Ok(Some(torch_uniform(&[n], fan_in)?)) } else { Ok(None) }
}
