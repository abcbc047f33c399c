//! The one convolution helper every conv in the project goes through.
//!
//! Activations are channels-last (conv1d `[B, T, C]`, conv2d `[B, H, W, C]`);
//! weights come in PyTorch layout and are moved to MLX layout by
//! [`super::torch_layout`]. On the CPU, shapes where MLX's own op is slow are
//! routed to reformulations in [`super::conv_paths`] that equal MLX's op in
//! values and gradients; on a GPU MLX's op is always used.

use mlx_rs::{Array, Device, DeviceType};

use super::conv_opts::{Conv2dOpts, ConvOpts};
use super::conv_paths;
use crate::error::{Error, Result};

/// True when MLX's own conv ops are to be used as they are: on a GPU, where
/// they are fast and the CPU reformulations are never chosen, or when
/// `SOVITS_CONV_PATHS=mlx` asks for them (benchmarks compare both ways).
pub fn use_mlx_ops() -> bool {
    matches!(Device::default().get_type(), Ok(DeviceType::Gpu)) || mlx_ops_forced()
}

/// `SOVITS_CONV_PATHS=mlx`: every conv uses MLX's own op (read once).
fn mlx_ops_forced() -> bool {
    static FORCED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *FORCED.get_or_init(|| std::env::var("SOVITS_CONV_PATHS").is_ok_and(|v| v == "mlx"))
}

fn shape_err(what: &str, expected: String, found: &[i32]) -> Error {
    Error::Shape { what: what.to_string(), expected, found: format!("{found:?}") }
}

/// Checks a conv1d call and returns (cin, cout, k).
pub(crate) fn check_conv1d(x: &Array, w: &Array, bias: Option<&Array>, o: ConvOpts) -> Result<(i32, i32, i32)> {
    let (xs, ws) = (x.shape(), w.shape());
    if xs.len() != 3 {
        return Err(shape_err("conv1d input", "[B, T, Cin]".into(), xs));
    }
    if ws.len() != 3 {
        return Err(shape_err("conv1d weight", "[Cout, Cin/groups, K]".into(), ws));
    }
    if o.stride < 1 || o.dilation < 1 || o.groups < 1 || o.padding < 0 {
        return Err(Error::Shape {
            what: "conv1d options".into(),
            expected: "stride, dilation, groups >= 1 and padding >= 0".into(),
            found: format!("{o:?}"),
        });
    }
    let (cin, cout, k) = (xs[2], ws[0], ws[2]);
    if cin % o.groups != 0 || cout % o.groups != 0 || ws[1] * o.groups != cin {
        return Err(shape_err(
            "conv1d weight",
            format!("[Cout divisible by {g}, {}, K] for {cin} input channels", cin / o.groups, g = o.groups),
            ws,
        ));
    }
    if let Some(b) = bias.filter(|b| b.shape() != [cout]) {
        return Err(shape_err("conv1d bias", format!("[{cout}]"), b.shape()));
    }
    let span = o.dilation * (k - 1) + 1;
    if xs[1] + 2 * o.padding < span {
        return Err(shape_err("conv1d input", format!("at least {} padded frames", span), xs));
    }
    Ok((cin, cout, k))
}

/// `x` in the weight's dtype: a conv computes in its weight's precision, so
/// an f32 submodule (`trainer.f32_modules`) can follow a bf16 one and back.
pub(crate) fn in_weight_dtype(x: &Array, w: &Array) -> Result<Array> {
    Ok(if x.dtype() == w.dtype() { x.clone() } else { x.as_dtype(w.dtype())? })
}

fn add_bias(y: Array, bias: Option<&Array>) -> Result<Array> {
    Ok(match bias {
        Some(b) => super::mixed::add(&y, b)?,
        None => y,
    })
}

/// 1-d convolution, PyTorch `F.conv1d` semantics on channels-last data.
///
/// Picks the fastest path that equals MLX's `conv1d` (see
/// [`conv_paths::choose_conv1d_for`]).
///
/// # Shapes
/// `x` `[B, T, Cin]`, `w` torch `[Cout, Cin/groups, K]`, `bias` `[Cout]` ->
/// `[B, (T + 2p - d(K-1) - 1)/stride + 1, Cout]`.
pub fn conv1d(x: &Array, w: &Array, bias: Option<&Array>, o: ConvOpts) -> Result<Array> {
    check_conv1d(x, w, bias, o)?;
    let x = &in_weight_dtype(x, w)?;
    let path = if use_mlx_ops() { conv_paths::Conv1dPath::Mlx } else { conv_paths::choose_conv1d_for(x, w, o) };
    let y = conv_paths::conv1d_along(path, x, w, o)?;
    add_bias(y, bias)
}

/// Transposed 1-d convolution, PyTorch `F.conv_transpose1d` semantics
/// (groups 1, dilation 1, no output padding) on channels-last data.
///
/// # Shapes
/// `x` `[B, T, Cin]`, `w` torch `[Cin, Cout, K]`, `bias` `[Cout]` ->
/// `[B, (T-1)*stride - 2*padding + K, Cout]`.
pub fn conv_transpose1d(x: &Array, w: &Array, bias: Option<&Array>, stride: i32, padding: i32) -> Result<Array> {
    let (xs, ws) = (x.shape(), w.shape());
    if xs.len() != 3 {
        return Err(shape_err("conv_transpose1d input", "[B, T, Cin]".into(), xs));
    }
    if ws.len() != 3 || ws[0] != xs[2] {
        return Err(shape_err("conv_transpose1d weight", format!("[{}, Cout, K]", xs[2]), ws));
    }
    if stride < 1 || padding < 0 {
        return Err(Error::Shape {
            what: "conv_transpose1d options".into(),
            expected: "stride >= 1, padding >= 0".into(),
            found: format!("stride {stride}, padding {padding}"),
        });
    }
    let out_len = (xs[1] - 1) * stride - 2 * padding + ws[2];
    if out_len < 1 {
        return Err(shape_err("conv_transpose1d input", "a positive output length".into(), xs));
    }
    if let Some(b) = bias.filter(|b| b.shape() != [ws[1]]) {
        return Err(shape_err("conv_transpose1d bias", format!("[{}]", ws[1]), b.shape()));
    }
    let x = &in_weight_dtype(x, w)?;
    let y = if use_mlx_ops() || !conv_paths::use_transpose_matmul(ws[2], stride) {
        conv_paths::conv_transpose1d_mlx(x, w, stride, padding)?
    } else {
        conv_paths::conv_transpose1d_matmul(x, w, stride, padding)?
    };
    add_bias(y, bias)
}

/// 2-d convolution, PyTorch `F.conv2d` semantics on channels-last data.
///
/// Kernels one column wide with a vertical stride (DiscriminatorP's) fold
/// the width into the batch and reuse the conv1d paths on the CPU.
///
/// # Shapes
/// `x` `[B, H, W, Cin]`, `w` torch `[Cout, Cin/groups, KH, KW]`, `bias`
/// `[Cout]` -> `[B, H', W', Cout]` with PyTorch's output size per axis.
pub fn conv2d(x: &Array, w: &Array, bias: Option<&Array>, o: Conv2dOpts) -> Result<Array> {
    let Conv2dOpts { stride, padding, groups } = o;
    let (xs, ws) = (x.shape(), w.shape());
    if xs.len() != 4 {
        return Err(shape_err("conv2d input", "[B, H, W, Cin]".into(), xs));
    }
    if ws.len() != 4 || groups < 1 || xs[3] % groups != 0 || ws[1] * groups != xs[3] || ws[0] % groups != 0 {
        return Err(shape_err("conv2d weight", format!("[Cout, {}, KH, KW] (groups {groups})", xs[3] / groups.max(1)), ws));
    }
    if let Some(b) = bias.filter(|b| b.shape() != [ws[0]]) {
        return Err(shape_err("conv2d bias", format!("[{}]", ws[0]), b.shape()));
    }
    if stride.0 < 1 || stride.1 < 1 || padding.0 < 0 || padding.1 < 0 {
        return Err(Error::Shape {
            what: "conv2d options".into(),
            expected: "strides >= 1, paddings >= 0".into(),
            found: format!("stride {stride:?}, padding {padding:?}"),
        });
    }
    if xs[1] + 2 * padding.0 < ws[2] || xs[2] + 2 * padding.1 < ws[3] {
        return Err(shape_err("conv2d input", format!("at least {}x{} padded pixels", ws[2], ws[3]), xs));
    }
    let x = &in_weight_dtype(x, w)?;
    let y = if !use_mlx_ops() && conv_paths::use_conv2d_fold(ws, o) {
        conv_paths::conv2d_fold_width(x, w, stride.0, padding.0)?
    } else {
        conv_paths::conv2d_mlx(x, w, o)?
    };
    add_bias(y, bias)
}
