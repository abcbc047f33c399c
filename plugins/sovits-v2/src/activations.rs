//! The activations of the generator's modules (`F.leaky_relu`,
//! `modules.Mish`), in the input's dtype.

use mlx_rs::{Array, ops};
use sovits_core::Result;

/// `max(x, slope * x)`, PyTorch `F.leaky_relu` for `slope < 1`.
pub fn leaky_relu(x: &Array, slope: f32) -> Result<Array> {
    Ok(ops::maximum(x, &ops::multiply(x, Array::from_f32(slope).as_dtype(x.dtype())?)?)?)
}

/// `x * tanh(softplus(x))` (`modules.Mish`).
pub fn mish(x: &Array) -> Result<Array> {
    let sp = ops::logaddexp(x, Array::from_f32(0.0).as_dtype(x.dtype())?)?;
    Ok(ops::multiply(x, &ops::tanh(&sp)?)?)
}
