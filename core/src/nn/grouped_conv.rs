//! Grouped conv1d (dilation 1, any stride) on the CPU as direct loops,
//! through the MLX primitive of `sys/mlx-sys/native/grouped_conv1d.cpp` (its
//! file comment says how).
//!
//! Why: DiscriminatorS's grouped K41 stride-4 convs have 4 input channels per
//! group, so im2col copies the input ~10x to multiply over 164-long inner
//! products: 40-49 ms fwd + bwd per conv at 2-8 GFLOP/s
//! (docs/performance.md has the per-layer and whole-step figures).

use mlx_rs::{Array, Dtype};

use super::conv_opts::ConvOpts;
use crate::error::{Error, Result};

/// Whether the direct grouped conv can serve a conv1d with options `o` and
/// inputs of `dtype` on this build: grouped, undilated, float32.
pub fn suits(o: ConvOpts, dtype: Dtype) -> bool {
    super::shifted_conv::available() && o.groups > 1 && o.dilation == 1 && dtype == Dtype::Float32
}

/// Grouped conv1d (dilation 1, no bias) as direct loops on the current
/// stream. Gradients flow to `x` and `w`.
///
/// # Shapes
/// `x` `[B, T, Cin]` f32, `w` torch `[Cout, Cin/g, K]` f32 -> `[B, (T + 2p -
/// K)/s + 1, Cout]`.
pub fn conv1d_grouped_direct(x: &Array, w: &Array, o: ConvOpts) -> Result<Array> {
    if w.ndim() != 3 || o.dilation != 1 || o.groups < 1 || w.shape()[0] % o.groups != 0 {
        return Err(Error::Shape {
            what: "direct grouped conv1d".into(),
            expected: "a [Cout, Cin/groups, K] weight, dilation 1 and Cout divisible by groups".into(),
            found: format!("{o:?}, weight {:?}", w.shape()),
        });
    }
    let (co, cig, k) = (w.shape()[0], w.shape()[1], w.shape()[2]);
    let g = o.groups;
    // [Cout, Cin/g, K] -> [K, G, Cin/g, Cout/g]: per tap and group, the rows
    // of output channels each input channel feeds
    let w_taps = w.reshape(&[g, co / g, cig, k])?.transpose_axes(&[3, 0, 2, 1])?;
    call(x, &w_taps, o.stride, o.padding)
}

#[cfg(target_os = "linux")]
fn call(x: &Array, w_taps: &Array, stride: i32, padding: i32) -> Result<Array> {
    super::native_call::call(
        "direct grouped conv1d",
        Box::new(|res, stream, msg, len| {
            // SAFETY: the handles are live for the call; see `native_call::call`.
            unsafe { mlx_sys::sovits_grouped_conv1d(res, x.as_ptr(), w_taps.as_ptr(), stride, padding, stream, msg, len) }
        }),
    )
}

#[cfg(not(target_os = "linux"))]
fn call(_x: &Array, _w_taps: &Array, _stride: i32, _padding: i32) -> Result<Array> {
    Err(super::native_call::unavailable("direct grouped conv1d"))
}
