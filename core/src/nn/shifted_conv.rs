//! Stride-1, ungrouped float32 conv1d on the CPU as K shifted GEMMs, through
//! the MLX primitive of `sys/mlx-sys/native/shifted_conv1d.cpp` (its file
//! comment says how). The only unsafe FFI for it is here.
//!
//! Why: every other CPU path copies the input once per conv (padding, im2col
//! windows or dilation phases) and multiplies over inner dimensions as small
//! as the channel count; the HiFi-GAN decoder's 16-128 channel convs ran at
//! 10-80 GFLOP/s that way. Here each tap is one `cblas_sgemm` over a shifted
//! row range of the input itself, forward and backward (docs/performance.md
//! has the per-layer and whole-step figures).
//!
//! Linux only: the primitive is compiled by our own `mlx-sys` (the published
//! crate used on macOS has no such symbol); elsewhere [`available`] is false
//! and callers keep the other paths.

use mlx_rs::{Array, Dtype};

use super::conv_opts::ConvOpts;
use crate::error::{Error, Result};

/// Whether the shifted-GEMM conv can serve a conv1d with these options and
/// sizes on this build: stride 1, no groups, a kernel wider than one tap,
/// float32, and at least 16 input and output channels (with fewer, each
/// tap's GEMM degenerates to rank-1 updates and the im2col paths win).
pub fn suits(cin: i32, cout: i32, k: i32, o: ConvOpts, dtype: Dtype) -> bool {
    available() && o.stride == 1 && o.groups == 1 && k > 1 && cin >= 16 && cout >= 16 && dtype == Dtype::Float32
}

/// True where the primitive is compiled in (Linux builds of `mlx-sys`).
pub const fn available() -> bool {
    cfg!(target_os = "linux")
}

/// conv1d (stride 1, groups 1, no bias) as shifted GEMMs on the current
/// stream. Gradients flow to `x` and `w`.
///
/// # Shapes
/// `x` `[B, T, Cin]` f32, `w` torch `[Cout, Cin, K]` f32 -> `[B, T + 2p -
/// d(K-1), Cout]`.
pub fn conv1d_shifted_gemm(x: &Array, w: &Array, o: ConvOpts) -> Result<Array> {
    if !available() || o.stride != 1 || o.groups != 1 {
        return Err(Error::Shape {
            what: "shifted-GEMM conv1d options".into(),
            expected: "stride 1 and groups 1 on a Linux build".into(),
            found: format!("{o:?}"),
        });
    }
    // [Cout, Cin, K] -> [K, Cin, Cout]: tap k's [Cin, Cout] block is one
    // GEMM operand (the primitive makes it contiguous in the graph)
    let w_taps = w.transpose_axes(&[2, 1, 0])?;
    call(x, &w_taps, o.padding, o.dilation)
}

#[cfg(target_os = "linux")]
fn call(x: &Array, w_taps: &Array, padding: i32, dilation: i32) -> Result<Array> {
    super::native_call::call(
        "shifted-GEMM conv1d",
        Box::new(|res, stream, msg, len| {
            // SAFETY: the handles are live for the call; see `native_call::call`.
            unsafe { mlx_sys::sovits_shifted_conv1d(res, x.as_ptr(), w_taps.as_ptr(), padding, dilation, stream, msg, len) }
        }),
    )
}

#[cfg(not(target_os = "linux"))]
fn call(_x: &Array, _w_taps: &Array, _padding: i32, _dilation: i32) -> Result<Array> {
    Err(super::native_call::unavailable("shifted-GEMM conv1d"))
}
