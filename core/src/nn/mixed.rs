//! Ops that stay accurate when activations are bf16 or f16.
//!
//! MLX 0.32.2's CPU backend accumulates sums of half-precision arrays in half
//! precision: summing 100,000 values near 0.8 in bf16 gives 1,064 instead of
//! 80,065. Every reduction over a long axis is hit, and autodiff adds many of
//! them: the gradient of a broadcast operand (a conv bias, a speaker
//! embedding added over time, a layer-norm gain) is a sum over the broadcast
//! axes. Measured on the tiny spec, bias gradients of the HiFi-GAN decoder
//! came out 22-100% wrong in bf16, and a bf16 run fell 32% behind f32 in 100
//! steps. Non-precise softmax is off by 14% in bf16 for the same reason.
//!
//! These helpers run the reducing or broadcasting part in f32 and return the
//! activation's dtype, the way PyTorch's autocast keeps reductions, norms and
//! softmax in f32. For f32 inputs each is exactly the plain op.

use mlx_rs::error::Exception;
use mlx_rs::{Array, Dtype, fast, ops};

use crate::error::Result;

/// Whether `d` is a 16-bit float (bf16 or f16), whose CPU sums lose precision.
pub fn is_half(d: Dtype) -> bool {
    matches!(d, Dtype::Bfloat16 | Dtype::Float16)
}

fn f32_of(x: &Array) -> Result<Array> {
    Ok(if x.dtype() == Dtype::Float32 { x.clone() } else { x.as_dtype(Dtype::Float32)? })
}

/// `x + y` with broadcasting, in `x`'s dtype. When either is half precision
/// and the shapes differ, the add runs in f32, so the gradient of the
/// broadcast operand is summed in f32.
pub fn add(x: &Array, y: &Array) -> Result<Array> {
    broadcast_op(x, y, |a, b| ops::add(a, b))
}

/// `x * y` with broadcasting, in `x`'s dtype; like [`add`], a half-precision
/// broadcast runs in f32 so the broadcast operand's gradient sums in f32.
pub fn multiply(x: &Array, y: &Array) -> Result<Array> {
    broadcast_op(x, y, |a, b| ops::multiply(a, b))
}

fn broadcast_op(x: &Array, y: &Array, op: fn(&Array, &Array) -> std::result::Result<Array, Exception>) -> Result<Array> {
    if (is_half(x.dtype()) || is_half(y.dtype())) && x.shape() != y.shape() {
        Ok(op(&f32_of(x)?, &f32_of(y)?)?.as_dtype(x.dtype())?)
    } else {
        Ok(op(x, y)?)
    }
}

/// Softmax over the last axis, computed in f32 for half inputs (its sum and
/// the sum in its gradient), returned in `x`'s dtype.
pub fn softmax_last(x: &Array) -> Result<Array> {
    if is_half(x.dtype()) {
        Ok(ops::softmax_axis(&f32_of(x)?, -1, None)?.as_dtype(x.dtype())?)
    } else {
        Ok(ops::softmax_axis(x, -1, None)?)
    }
}

/// Layer norm over the last axis with gain and bias; in f32 for half inputs
/// (the gain and bias gradients sum over every position), returned in `x`'s
/// dtype.
pub fn layer_norm(x: &Array, gamma: &Array, beta: &Array, eps: f32) -> Result<Array> {
    if is_half(x.dtype()) {
        let y = fast::layer_norm(f32_of(x)?, &f32_of(gamma)?, &f32_of(beta)?, eps)?;
        Ok(y.as_dtype(x.dtype())?)
    } else {
        Ok(fast::layer_norm(x, gamma, beta, eps)?)
    }
}

/// Sum over `axis`, accumulated in f32 for half inputs, returned in `x`'s
/// dtype.
pub fn sum_axis(x: &Array, axis: i32, keepdims: bool) -> Result<Array> {
    if is_half(x.dtype()) {
        Ok(f32_of(x)?.sum_axis(axis, keepdims)?.as_dtype(x.dtype())?)
    } else {
        Ok(x.sum_axis(axis, keepdims)?)
    }
}
