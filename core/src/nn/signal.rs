//! Signal ops on the time axis shared by discriminators, losses, the spectral
//! frontend and the generator: reflect padding (`F.pad(.., mode="reflect")`)
//! and `commons.slice_segments` (VITS, `GPT_SoVITS/module/commons.py`).

use mlx_rs::{Array, Dtype, ops};

use crate::error::{Error, Result};

/// Reflect-pads the last axis by `left` and `right` samples, as torch's
/// `F.pad(x, (left, right), "reflect")` and numpy's "reflect" (the edge sample
/// is not repeated): `[x[left], .., x[1], x[0], .., x[S-1], x[S-2], .., x[S-1-right]]`.
/// Built from two small gathers and a concatenate, so the gradient reaches
/// every mirrored sample.
///
/// # Shapes
/// `[.., S]` -> `[.., left + S + right]`; needs both pads `< S`.
pub fn reflect_pad(x: &Array, left: i32, right: i32) -> Result<Array> {
    if left == 0 && right == 0 {
        return Ok(x.clone());
    }
    let s = x.shape().last().copied().unwrap_or(0);
    if left < 0 || right < 0 || left >= s || right >= s {
        return Err(Error::Shape {
            what: "reflect padding".into(),
            expected: format!("more than {} samples on the last axis", left.max(right)),
            found: format!("{:?}", x.shape()),
        });
    }
    let mut parts = Vec::with_capacity(3);
    if left > 0 {
        let idx: Vec<i32> = (1..=left).rev().collect();
        parts.push(x.take_axis(Array::from_slice(&idx, &[left]), -1)?);
    }
    parts.push(x.clone());
    if right > 0 {
        let idx: Vec<i32> = (0..right).map(|i| s - 2 - i).collect();
        parts.push(x.take_axis(Array::from_slice(&idx, &[right]), -1)?);
    }
    Ok(ops::concatenate(&parts, -1)?)
}

/// `commons.slice_segments`: frames `ids[b] .. ids[b] + frames` of every item,
/// gathered on the device. Starts must satisfy `ids[b] + frames <= T` (the
/// generator draws them that way); that is not checked here, to avoid a host sync.
///
/// # Shapes
/// `x` `[B, T, C]`, `ids` `[B]` (any integer dtype) -> `[B, frames, C]`.
pub fn slice_segments(x: &Array, ids: &Array, frames: i32) -> Result<Array> {
    let shape = x.shape();
    if shape.len() != 3 || ids.shape() != [shape[0]] {
        return Err(Error::Shape {
            what: "slice_segments (x, ids_slice)".into(),
            expected: "x [B, T, C] and ids_slice [B]".into(),
            found: format!("x {shape:?}, ids_slice {:?}", ids.shape()),
        });
    }
    let (b, c) = (shape[0], shape[2]);
    let offsets = ops::arange::<_, i32>(0, frames, 1)?.reshape(&[1, frames, 1])?;
    let starts = ids.as_dtype(Dtype::Int32)?.reshape(&[b, 1, 1])?;
    let idx = ops::broadcast_to(ops::add(&starts, &offsets)?, &[b, frames, c])?;
    Ok(x.take_along_axis(&idx, 1)?)
}
