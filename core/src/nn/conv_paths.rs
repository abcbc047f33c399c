//! The individual convolution implementations behind [`super::conv`]: MLX's
//! own ops and the CPU reformulations that equal them in values and
//! gradients, and the choice between them and our CPU primitives
//! ([`super::shifted_conv`], [`super::grouped_conv`]). Public so tests and benchmarks can compare paths directly;
//! models call [`super::conv::conv1d`] and friends, which pick a path.
//!
//! Weights are PyTorch layout and no bias is added here.

use mlx_rs::ops::indexing::TryIndexOp;
use mlx_rs::{Array, ops};

use super::conv_opts::{Conv2dOpts, ConvOpts};
use super::matmul_nt::matmul_nt;
use super::torch_layout::{conv1d_weight_to_mlx, conv2d_weight_to_mlx, conv_transpose1d_weight_to_mlx};
use crate::error::Result;

/// Which implementation a conv1d call uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conv1dPath {
    /// MLX's `conv1d` (GEMM speed for undilated stride-1, ungrouped convs).
    Mlx,
    /// Dilated, stride 1, ungrouped: fold the dilation phases into the batch.
    SpaceToBatch,
    /// Strided or grouped: im2col over strided slices and one batched matmul.
    Im2col,
    /// Stride 1, ungrouped, f32, 16+ channels each way: K shifted GEMMs in
    /// an MLX primitive, no copies of the input (see [`super::shifted_conv`]).
    ShiftedGemm,
    /// Grouped, undilated, f32: direct loops in an MLX primitive (see
    /// [`super::grouped_conv`]).
    GroupedDirect,
}

/// The CPU path for a conv1d with `cin` input channels, kernel size `k` and
/// options `o`: space-to-batch for dilated stride-1 convs, im2col for strided
/// or grouped ones and for wide undilated ones (`cin * k >= 4096`, where
/// MLX's conv backward falls well below GEMM speed: 1.9x measured on
/// DiscriminatorP's 1024-channel K5 conv), MLX's own op otherwise (it is
/// already GEMM speed there, e.g. C128 K11).
pub fn choose_conv1d(cin: i32, k: i32, o: ConvOpts) -> Conv1dPath {
    if k == 1 && o.groups == 1 && o.stride == 1 {
        Conv1dPath::Mlx
    } else if o.groups > 1 || o.stride > 1 {
        Conv1dPath::Im2col
    } else if o.dilation > 1 {
        Conv1dPath::SpaceToBatch
    } else if cin * k >= 4096 {
        Conv1dPath::Im2col
    } else {
        Conv1dPath::Mlx
    }
}

/// The CPU path for conv1d of `x` with torch-layout weight `w`: see
/// [`choose_conv1d_sized`].
pub fn choose_conv1d_for(x: &Array, w: &Array, o: ConvOpts) -> Conv1dPath {
    choose_conv1d_sized(x.shape()[2], w.shape()[0], w.shape()[2], o, x.dtype())
}

/// The CPU path for a conv1d of these sizes and dtype: our primitives where
/// they apply, else [`choose_conv1d`]'s path.
/// - The shifted-GEMM primitive ([`super::shifted_conv::suits`]) where
///   [`choose_conv1d`] would pick MLX's op or space-to-batch. Wide convs keep
///   im2col: for the discriminators' 1024-channel K5 convs over 24-127
///   frames, one im2col GEMM beat K shifted ones (`conv_paths` bench: 35 vs
///   53 ms for DiscriminatorS, 75 vs 133 ms for DiscriminatorP(11)).
/// - The direct grouped primitive ([`super::grouped_conv::suits`]) for
///   grouped convs, which im2col copies ~K/stride times.
pub fn choose_conv1d_sized(cin: i32, cout: i32, k: i32, o: ConvOpts, dtype: mlx_rs::Dtype) -> Conv1dPath {
    match choose_conv1d(cin, k, o) {
        Conv1dPath::Mlx | Conv1dPath::SpaceToBatch if super::shifted_conv::suits(cin, cout, k, o, dtype) => {
            Conv1dPath::ShiftedGemm
        }
        Conv1dPath::Im2col if super::grouped_conv::suits(o, dtype) => Conv1dPath::GroupedDirect,
        path => path,
    }
}

/// Runs conv1d (no bias) along `path`.
///
/// # Shapes
/// `x` `[B, T, Cin]`, `w` `[Cout, Cin/g, K]` -> `[B, T', Cout]`.
pub fn conv1d_along(path: Conv1dPath, x: &Array, w: &Array, o: ConvOpts) -> Result<Array> {
    match path {
        Conv1dPath::Mlx => conv1d_mlx(x, w, o),
        Conv1dPath::SpaceToBatch => conv1d_space_to_batch(x, w, o),
        Conv1dPath::Im2col => conv1d_im2col(x, w, o),
        Conv1dPath::ShiftedGemm => super::shifted_conv::conv1d_shifted_gemm(x, w, o),
        Conv1dPath::GroupedDirect => super::grouped_conv::conv1d_grouped_direct(x, w, o),
    }
}

/// Whether [`conv_transpose1d_matmul`] is used on the CPU: for every
/// upsampling stride (stride 1 is a plain conv, which MLX does at GEMM speed).
pub fn use_transpose_matmul(k: i32, stride: i32) -> bool {
    k >= 1 && stride > 1
}

/// Whether [`conv2d_fold_width`] applies on the CPU: one-column kernels
/// with unit width stride, no width padding and no groups (DiscriminatorP's
/// `(k, 1)` convs), which are conv1d's over height with width in the batch.
pub fn use_conv2d_fold(w_shape: &[i32], o: Conv2dOpts) -> bool {
    w_shape.len() == 4 && w_shape[3] == 1 && o.stride.1 == 1 && o.padding.1 == 0 && o.groups == 1
}

fn ceil_div(a: i32, b: i32) -> i32 {
    (a + b - 1) / b
}

/// MLX's own conv1d on a torch-layout weight.
///
/// # Shapes
/// `x` `[B, T, Cin]`, `w` `[Cout, Cin/g, K]` -> `[B, T', Cout]`.
pub fn conv1d_mlx(x: &Array, w: &Array, o: ConvOpts) -> Result<Array> {
    let wm = conv1d_weight_to_mlx(w)?;
    Ok(ops::conv1d(x, &wm, o.stride, o.padding, o.dilation, o.groups)?)
}

/// MLX's own conv_transpose1d on a torch-layout weight.
///
/// # Shapes
/// `x` `[B, T, Cin]`, `w` `[Cin, Cout, K]` -> `[B, (T-1)s - 2p + K, Cout]`.
pub fn conv_transpose1d_mlx(x: &Array, w: &Array, stride: i32, padding: i32) -> Result<Array> {
    let wm = conv_transpose1d_weight_to_mlx(w)?;
    Ok(ops::conv_transpose1d(x, &wm, stride, padding, 1, 0, 1)?)
}

/// MLX's own conv2d on a torch-layout weight.
///
/// # Shapes
/// `x` `[B, H, W, Cin]`, `w` `[Cout, Cin/g, KH, KW]` -> `[B, H', W', Cout]`.
pub fn conv2d_mlx(x: &Array, w: &Array, o: Conv2dOpts) -> Result<Array> {
    let wm = conv2d_weight_to_mlx(w)?;
    Ok(ops::conv2d(x, &wm, o.stride, o.padding, (1, 1), o.groups)?)
}

/// Dilated stride-1 conv1d via space-to-batch: the `d` interleaved time
/// phases of the padded input are folded into the batch axis, an undilated
/// conv runs on each phase (GEMM speed in MLX), and the phases are
/// interleaved back. Options other than stride 1 / groups 1 use MLX's op.
///
/// # Shapes
/// As [`conv1d_mlx`].
pub fn conv1d_space_to_batch(x: &Array, w: &Array, o: ConvOpts) -> Result<Array> {
    if o.stride != 1 || o.groups != 1 || o.dilation == 1 {
        return conv1d_mlx(x, w, o);
    }
    let (b, t, c) = (x.shape()[0], x.shape()[1], x.shape()[2]);
    let (co, k, d, p) = (w.shape()[0], w.shape()[2], o.dilation, o.padding);
    let tp = t + 2 * p;
    let tout = tp - d * (k - 1);
    let rows = ceil_div(tp, d);
    let xp = ops::pad(x, &[(0, 0), (p, p + rows * d - tp), (0, 0)], None, None)?;
    let phases = xp.reshape(&[b, rows, d, c])?.transpose_axes(&[0, 2, 1, 3])?.reshape(&[b * d, rows, c])?;
    let y = ops::conv1d(&phases, conv1d_weight_to_mlx(w)?, 1, 0, 1, 1)?;
    let l = rows - k + 1;
    let y = y.reshape(&[b, d, l, co])?.transpose_axes(&[0, 2, 1, 3])?.reshape(&[b, l * d, co])?;
    Ok(y.try_index((.., 0..tout, ..))?)
}

/// Strided and/or grouped (and possibly dilated) conv1d via im2col: tap `j`
/// reads padded frame `j*d + s*t`, which after reshaping time into rows of
/// `s` frames is one plain slice (row offset `j*d / s`, phase `j*d % s`); the
/// K slices are stacked and multiplied with the weight in one matmul batched
/// over groups.
///
/// # Shapes
/// As [`conv1d_mlx`].
pub fn conv1d_im2col(x: &Array, w: &Array, o: ConvOpts) -> Result<Array> {
    im2col_conv(x, w, o, true)
}

/// [`conv1d_im2col`] with autodiff's backward for the im2col windows instead
/// of [`shifted_rows`]'s overlap-add: the baseline the benchmark compares it with.
///
/// # Shapes
/// As [`conv1d_mlx`].
pub fn conv1d_im2col_autodiff(x: &Array, w: &Array, o: ConvOpts) -> Result<Array> {
    im2col_conv(x, w, o, false)
}

fn im2col_conv(x: &Array, w: &Array, o: ConvOpts, custom_backward: bool) -> Result<Array> {
    let (b, t, c) = (x.shape()[0], x.shape()[1], x.shape()[2]);
    let (co, cg, k) = (w.shape()[0], w.shape()[1], w.shape()[2]);
    let (s, d, p, g) = (o.stride, o.dilation, o.padding, o.groups);
    let tp = t + 2 * p;
    let tout = (tp - d * (k - 1) - 1) / s + 1;
    // Undilated: taps come in whole rows of `s` (K padded with zero taps to
    // `m*s`), so `m` row slices replace `K` single-tap slices.
    let (k, w) = if d == 1 && s > 1 && k % s != 0 {
        let kp = ceil_div(k, s) * s;
        (kp, ops::pad(w, &[(0, 0), (0, 0), (0, kp - k)], None, None)?)
    } else {
        (k, w.clone())
    };
    let last_row = (d * (k - 1)) / s + tout;
    let rows = ceil_div(tp, s).max(last_row);
    let xp = ops::pad(x, &[(0, 0), (p, p + rows * s - tp), (0, 0)], None, None)?;
    let xr = xp.reshape(&[b, rows, s, c])?;
    let cols = if d == 1 {
        let windows = if custom_backward { shifted_rows(&xr, k / s, tout)? } else { stacked_rows(&xr, k / s, tout)? };
        windows.reshape(&[b, tout, k, c])?
    } else {
        let mut taps = Vec::with_capacity(k as usize);
        for j in 0..k {
            let (q, r) = ((j * d) / s, (j * d) % s);
            taps.push(xr.try_index((.., q..q + tout, r, ..))?);
        }
        ops::stack(&taps, 2)? // [b, tout, k, c]
    };
    let cog = co / g;
    // the weight in [out, k*in] order: a transpose inside each output row
    // (see `matmul_nt` for why not [k*in, out])
    if g == 1 {
        let cols = cols.reshape(&[b * tout, k * c])?;
        let wm = w.transpose_axes(&[0, 2, 1])?.reshape(&[co, k * c])?;
        return Ok(matmul_nt(&cols, &wm)?.reshape(&[b, tout, co])?);
    }
    let cols = cols
        .reshape(&[b, tout, k, g, cg])?
        .transpose_axes(&[3, 0, 1, 2, 4])?
        .reshape(&[g, b * tout, k * cg])?;
    let wm = w.reshape(&[g, cog, cg, k])?.transpose_axes(&[0, 1, 3, 2])?.reshape(&[g, cog, k * cg])?;
    let y = matmul_nt(&cols, &wm)?; // [g, b*tout, cog]
    Ok(y.reshape(&[g, b, tout, cog])?.transpose_axes(&[1, 2, 0, 3])?.reshape(&[b, tout, co])?)
}

/// `m` shifted windows of `tout` rows stacked on a new axis 2:
/// `out[:, t, q] = xr[:, t + q]`, the im2col of a strided conv with whole-row
/// taps.
///
/// Its backward is an overlap-add written directly (`m` padded shifts of
/// the cotangent's windows, summed) instead of autodiff of the `m` slices,
/// which fills `m` zero tensors the input's size and scatters into each;
/// DiscriminatorS's K41 stride-4 convs take `m = 11` windows.
///
/// # Shapes
/// `xr` `[B, rows, s, C]` with `rows >= tout + m - 1` -> `[B, tout, m, s, C]`.
pub fn shifted_rows(xr: &Array, m: i32, tout: i32) -> Result<Array> {
    if m == 1 {
        return stacked_rows(xr, m, tout);
    }
    let f = super::custom_vjp::custom_vjp(
        move |inputs: &[Array]| Ok(vec![stacked_rows(&inputs[0], m, tout)?]),
        move |primals: &[Array], cotangents: &[Array], _outputs: &[Array]| {
            Ok(vec![overlap_add_rows(&cotangents[0], primals[0].shape(), m, tout)?])
        },
    )?;
    Ok(f.call(std::slice::from_ref(xr))?.remove(0))
}

/// [`shifted_rows`] as plain slices and a stack (autodiff's backward).
///
/// # Shapes
/// As [`shifted_rows`].
pub fn stacked_rows(xr: &Array, m: i32, tout: i32) -> Result<Array> {
    let rows: Vec<Array> = (0..m).map(|q| xr.try_index((.., q..q + tout, .., ..))).collect::<Result<_, _>>()?;
    Ok(ops::stack(&rows, 2)?)
}

/// The adjoint of [`shifted_rows`]: `dx[:, t + q] += ct[:, t, q]`, as `m`
/// zero-padded shifts of the cotangent's windows summed. It reads the
/// cotangent's windows where they lie (the matmul's backward hands it over
/// as a transposed view), so nothing is reshaped or transposed first.
///
/// # Shapes
/// `ct` `[B, tout, m, s, C]` -> `x_shape` = `[B, rows, s, C]`.
fn overlap_add_rows(ct: &Array, x_shape: &[i32], m: i32, tout: i32) -> Result<Array> {
    let rows = x_shape[1];
    let mut acc: Option<Array> = None;
    for q in 0..m {
        let window = ct.try_index((.., .., q, .., ..))?; // [B, tout, s, C]
        let shifted = ops::pad(&window, &[(0, 0), (q, rows - tout - q), (0, 0), (0, 0)], None, None)?;
        acc = Some(match acc {
            None => shifted,
            Some(a) => ops::add(&a, &shifted)?,
        });
    }
    acc.ok_or_else(|| crate::error::Error::Shape { what: "im2col windows".into(), expected: "m >= 1".into(), found: format!("m = {m}") })
}

/// conv_transpose1d as one matmul `x[B*T, Cin] @ W[Cin, K*Cout]` followed
/// by overlap-add: with K padded to `m*s` taps, input frame `t` writes rows
/// `t..t+m` of `s` output frames each, so the full output is the sum of `m`
/// shifted copies; `padding` frames are then cropped from both ends.
///
/// # Shapes
/// As [`conv_transpose1d_mlx`].
pub fn conv_transpose1d_matmul(x: &Array, w: &Array, stride: i32, padding: i32) -> Result<Array> {
    let (b, t, ci) = (x.shape()[0], x.shape()[1], x.shape()[2]);
    let (co, k, s) = (w.shape()[1], w.shape()[2], stride);
    let m = ceil_div(k, s);
    let kp = m * s;
    let wm = w.transpose_axes(&[0, 2, 1])?; // [ci, k, co]
    let wm = if kp > k { ops::pad(&wm, &[(0, 0), (0, kp - k), (0, 0)], None, None)? } else { wm };
    let wm = wm.reshape(&[ci, kp * co])?;
    let y = ops::matmul(&x.reshape(&[b * t, ci])?, &wm)?.reshape(&[b, t, m, s * co])?;
    let mut full: Option<Array> = None;
    for j in 0..m {
        let part = y.try_index((.., .., j, ..))?; // [b, t, s*co]
        let part = if m > 1 { ops::pad(&part, &[(0, 0), (j, m - 1 - j), (0, 0)], None, None)? } else { part };
        full = Some(match full {
            None => part,
            Some(acc) => ops::add(&acc, &part)?,
        });
    }
    let full = match full {
        Some(f) => f.reshape(&[b, (t + m - 1) * s, co])?,
        None => return conv_transpose1d_mlx(x, w, stride, padding),
    };
    let out_len = (t - 1) * s - 2 * padding + k;
    Ok(full.try_index((.., padding..padding + out_len, ..))?)
}

/// conv2d with a one-column kernel (`[Cout, Cin, KH, 1]`, width stride 1, no
/// width padding): the width is folded into the batch and the conv1d path
/// chosen by [`choose_conv1d_for`] runs over height.
///
/// # Shapes
/// `x` `[B, H, W, Cin]`, `w` `[Cout, Cin, KH, 1]` -> `[B, H', W, Cout]`.
pub fn conv2d_fold_width(x: &Array, w: &Array, stride: i32, padding: i32) -> Result<Array> {
    let (b, h, wd, c) = (x.shape()[0], x.shape()[1], x.shape()[2], x.shape()[3]);
    let (co, ci, kh) = (w.shape()[0], w.shape()[1], w.shape()[2]);
    let xf = x.transpose_axes(&[0, 2, 1, 3])?.reshape(&[b * wd, h, c])?;
    let w1 = w.reshape(&[co, ci, kh])?;
    let o = ConvOpts::new().stride(stride).padding(padding);
    let y = conv1d_along(choose_conv1d_for(&xf, &w1, o), &xf, &w1, o)?;
    let ho = y.shape()[1];
    Ok(y.reshape(&[b, wd, ho, co])?.transpose_axes(&[0, 2, 1, 3])?)
}
