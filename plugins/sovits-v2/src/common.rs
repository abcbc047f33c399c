//! Helpers shared by the submodules: sequence masks, dropout drawn from the
//! noise source, activations and time slicing (GPT-SoVITS
//! `GPT_SoVITS/module/commons.py`), all on channels-last `[B, T, C]` data.

use mlx_rs::{Array, Dtype, ops};
use sovits_core::nn::noise::NoiseSource;
use sovits_core::{Error, Result};

/// The randomness and mode of one forward pass: dropout masks come from
/// `noise` as `uniform("dropout.<module>") < p`, and only when `training`.
pub struct Ctx<'a> {
    /// Source of every random draw.
    pub noise: &'a mut dyn NoiseSource,
    /// Training mode: dropout active.
    pub training: bool,
}

impl<'a> Ctx<'a> {
    /// A context over `noise` in training or eval mode.
    pub fn new(noise: &'a mut dyn NoiseSource, training: bool) -> Self {
        Self { noise, training }
    }

    /// Inverted dropout with probability `p` (identity in eval mode or when
    /// `p == 0`); the mask is `uniform("dropout.<what>", shape) >= p`.
    ///
    /// # Shapes
    /// any -> same.
    pub fn dropout(&mut self, x: &Array, p: f32, what: &str) -> Result<Array> {
        if !self.training || p <= 0.0 {
            return Ok(x.clone());
        }
        let u = self.noise.uniform(&format!("dropout.{what}"), x.shape())?;
        // mask and scale in x's dtype, so bf16 activations stay bf16
        let keep = ops::ge(&u, Array::from_f32(p))?.as_dtype(x.dtype())?;
        Ok(ops::multiply(x, &ops::multiply(&keep, Array::from_f32(1.0 / (1.0 - p)).as_dtype(x.dtype())?)?)?)
    }
}

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

/// `x + y` (broadcasting); a half-precision broadcast runs in f32 so the
/// broadcast operand's gradient is summed in f32 ([`sovits_core::nn::mixed`]).
pub fn add(x: &Array, y: &Array) -> Result<Array> {
    sovits_core::nn::mixed::add(x, y)
}

/// `max(x, slope * x)`, PyTorch `F.leaky_relu` for `slope < 1`.
pub fn leaky_relu(x: &Array, slope: f32) -> Result<Array> {
    Ok(ops::maximum(x, &ops::multiply(x, Array::from_f32(slope).as_dtype(x.dtype())?)?)?)
}

/// `x * tanh(softplus(x))` (`modules.Mish`).
pub fn mish(x: &Array) -> Result<Array> {
    let sp = ops::logaddexp(x, Array::from_f32(0.0).as_dtype(x.dtype())?)?;
    Ok(ops::multiply(x, &ops::tanh(&sp)?)?)
}

/// `x[.., start..end]` along `axis` (a gather of the index range; errors name bad bounds).
pub fn slice_axis(x: &Array, axis: i32, start: i32, end: i32) -> Result<Array> {
    let n = x.shape()[axis.rem_euclid(x.ndim() as i32) as usize];
    if start < 0 || end > n || start > end {
        return Err(Error::Shape {
            what: "slice".into(),
            expected: format!("0 <= {start} <= {end} <= {n} on axis {axis}"),
            found: format!("{:?}", x.shape()),
        });
    }
    if start == 0 && end == n {
        return Ok(x.clone());
    }
    let idx = Array::arange::<_, i32>(start, end, None)?;
    Ok(x.take_axis(&idx, axis)?)
}

/// Splits the last axis in two at `at`.
///
/// # Shapes
/// `[.., C]` -> (`[.., at]`, `[.., C - at]`).
pub fn split_last(x: &Array, at: i32) -> Result<(Array, Array)> {
    let c = x.shape().last().copied().unwrap_or(0);
    Ok((slice_axis(x, -1, 0, at)?, slice_axis(x, -1, at, c)?))
}

/// Repeats every frame `factor` times (`F.interpolate(mode="nearest")` to
/// an integer multiple of the length).
///
/// # Shapes
/// `[B, T, C]` -> `[B, factor*T, C]`.
pub fn repeat_frames(x: &Array, factor: i32) -> Result<Array> {
    let s = x.shape();
    let (b, t, c) = (s[0], s[1], s[2]);
    let e = x.reshape(&[b, t, 1, c])?;
    let e = ops::broadcast_to(&e, &[b, t, factor, c])?;
    Ok(e.reshape(&[b, t * factor, c])?)
}

/// `F.interpolate(mode="linear", align_corners=False)` along time.
///
/// # Shapes
/// `[B, T, C]` -> `[B, out_len, C]`.
pub fn interpolate_linear(x: &Array, out_len: i32) -> Result<Array> {
    let t = x.shape()[1];
    let scale = t as f64 / out_len as f64;
    let (mut i0, mut i1, mut w1) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..out_len {
        let src = ((i as f64 + 0.5) * scale - 0.5).max(0.0);
        let lo = (src.floor() as i32).min(t - 1);
        let hi = (lo + 1).min(t - 1);
        i0.push(lo);
        i1.push(hi);
        w1.push((src - lo as f64) as f32);
    }
    let n = out_len;
    let a = x.take_axis(Array::from_slice(&i0, &[n]), 1)?;
    let b = x.take_axis(Array::from_slice(&i1, &[n]), 1)?;
    let w = Array::from_slice(&w1, &[1, n, 1]);
    let one_minus = ops::subtract(Array::from_f32(1.0), &w)?;
    Ok(ops::add(&ops::multiply(&a, &one_minus)?, &ops::multiply(&b, &w)?)?)
}

/// `F.interpolate(mode="nearest")` along time.
///
/// # Shapes
/// `[B, T, C]` -> `[B, out_len, C]`.
pub fn interpolate_nearest(x: &Array, out_len: i32) -> Result<Array> {
    let t = x.shape()[1];
    let scale = t as f64 / out_len as f64;
    let idx: Vec<i32> = (0..out_len).map(|i| ((i as f64 * scale).floor() as i32).min(t - 1)).collect();
    Ok(x.take_axis(Array::from_slice(&idx, &[out_len]), 1)?)
}

/// Checks that `x` has rank 3 with last axis `c`, naming `what` on failure.
pub fn expect_channels(x: &Array, c: i32, what: &str) -> Result<()> {
    let s = x.shape();
    if s.len() != 3 || s[2] != c {
        return Err(Error::Shape { what: what.into(), expected: format!("[B, T, {c}]"), found: format!("{s:?}") });
    }
    Ok(())
}

/// The value of a scalar array as i32 (evaluates it).
pub fn scalar_i32(a: &Array) -> Result<i32> {
    a.try_item_cast::<i32>()
        .map_err(|e| Error::Plugin { plugin: "sovits-v2".into(), message: format!("reading a scalar: {e}") })
}
