//! Sequence masks (`GPT_SoVITS/module/commons.py::sequence_mask`) and the
//! masked multiply that keeps bf16 activations bf16, on channels-last `[B, T, C]` data.

use mlx_rs::{Array, Dtype, ops};
use sovits_core::{Error, Result};

/// `commons.sequence_mask` as a float mask.
///
/// # Shapes
/// `lengths` `[B]` (any integer type) -> `[B, t, 1]` f32, 1 inside each length.
pub fn sequence_mask(lengths: &Array, t: i32) -> Result<Array> {
    let b = lengths.shape().first().copied().unwrap_or(0);
    if lengths.ndim() != 1 {
        return Err(Error::Shape { what: "lengths".into(), expected: "[B]".into(), found: format!("{:?}", lengths.shape()) });
    }
    let pos = Array::arange::<_, i32>(None, t, None)?.reshape(&[1, t])?;
    let len = lengths.as_dtype(Dtype::Int32)?.reshape(&[b, 1])?;
    let m = ops::lt(&pos, &len)?.as_dtype(Dtype::Float32)?;
    Ok(m.reshape(&[b, t, 1])?)
}

/// `x * m`, with `m` (typically an f32 [`sequence_mask`]) cast to `x`'s
/// dtype so bf16 activations stay bf16 (a no-op when both are f32).
pub fn mul(x: &Array, m: &Array) -> Result<Array> {
    Ok(ops::multiply(x, &m.as_dtype(x.dtype())?)?)
}
