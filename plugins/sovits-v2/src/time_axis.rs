//! Slicing, splitting, repeating and resampling along the time (or last)
//! axis of channels-last `[B, T, C]` data (`F.interpolate` modes of the reference).

use mlx_rs::{Array, ops};
use sovits_core::{Error, Result};

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
