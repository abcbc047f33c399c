//! Weight-normalised convolutions, PyTorch's legacy `weight_norm` hook as a
//! real reparametrisation: `weight = weight_g * weight_v / ||weight_v||`, the
//! norm taken over every torch dim but 0, so gradients reach both `weight_g`
//! and `weight_v` (no folding into a plain weight, which the reference does
//! not do either during training).
//!
//! Norm axes (`shared/notes/reference.md`): Conv1d `weight_g` `[out,1,1]`,
//! Conv2d `[out,1,1,1]`, ConvTranspose1d `[in,1,1]` (its torch weight is
//! `[in,out,k]`, so one norm per input channel).

use mlx_rs::macros::ModuleParameters;
use mlx_rs::module::Param;
use mlx_rs::{Array, ops};

use super::conv::conv_transpose1d;
use super::conv_rank::{ConvRank, Rank1, Rank2, check_groups, conv_weight_shape};
use super::init::{torch_bias, torch_uniform};
use crate::error::Result;

/// `||v||` over every axis but 0, keeping dims (`[n, 1, ..]`), in `v`'s dtype
/// (torch's `norm_except_dim(v, 2, 0)`); a 1-d `v` gives `|v|`.
pub fn norm_except_dim0(v: &Array) -> Result<Array> {
    let axes: Vec<i32> = (1..v.ndim() as i32).collect();
    let sq = ops::multiply(v, v)?;
    let sum = if axes.is_empty() { sq } else { sq.sum_axes(&axes, true)? };
    Ok(ops::sqrt(&sum)?)
}

/// The folded weight `g * v / ||v||` with `v`'s (torch) shape.
///
/// Its elements are stored channels-last (`v`'s axis 1 moved to the end)
/// and handed back as a torch-shaped view of that storage: every conv path
/// moves axis 1 last before its GEMM (`[out, k.., in]`), which then needs no
/// copy, and the element-wise multiply that forms the weight does the
/// transpose on the way. Values are bit-identical to the plain fold.
///
/// # Shapes
/// `g` `[n, 1, ..]`, `v` `[n, ..]` -> `v`'s shape.
pub fn fold_weight(g: &Array, v: &Array) -> Result<Array> {
    // the norm is a long reduction: take it in f32 even when computing in
    // bf16 (a bf16 sum over fan-ins of ~4e4 loses most of its digits), then
    // return the weight in v's compute dtype (a no-op under f32)
    let dtype = v.dtype();
    let (g32, v32) = (g.as_dtype(mlx_rs::Dtype::Float32)?, v.as_dtype(mlx_rs::Dtype::Float32)?);
    let scale = ops::divide(&g32, &norm_except_dim0(&v32)?)?;
    let n = v.ndim() as i32;
    if n < 3 {
        return Ok(ops::multiply(&v32, &scale)?.as_dtype(dtype)?);
    }
    let to_last: Vec<i32> = std::iter::once(0).chain(2..n).chain(std::iter::once(1)).collect();
    let back: Vec<i32> = std::iter::once(0).chain(std::iter::once(n - 1)).chain(1..n - 1).collect();
    let w = ops::multiply(&v32.transpose_axes(&to_last)?, &scale.transpose_axes(&to_last)?)?;
    Ok(w.as_dtype(dtype)?.transpose_axes(&back)?)
}

/// `weight_norm(nn.Conv1d)` or `weight_norm(nn.Conv2d)`, by rank `R`:
/// `weight_g` `[out, 1, ..]`, `weight_v` `[out, in/g, k..]`, `bias` `[out]`.
#[derive(Debug, Clone, ModuleParameters)]
pub struct WnConv<R: ConvRank> {
    /// Per-output-channel magnitude `[out, 1, ..]`.
    #[param]
    pub weight_g: Param<Array>,
    /// Direction, torch layout `[out, in/groups, k..]`.
    #[param]
    pub weight_v: Param<Array>,
    /// Optional bias `[out]`.
    #[param]
    pub bias: Param<Option<Array>>,
    /// Stride, padding, (1-d: dilation,) groups.
    pub opts: R::Opts,
}

/// `weight_norm(nn.Conv1d)`: `weight_g` `[out,1,1]`, `weight_v` `[out,in/g,k]`, `bias` `[out]`.
pub type WnConv1d = WnConv<Rank1>;

/// `weight_norm(nn.Conv2d)`: `weight_g` `[out,1,1,1]`, `weight_v` `[out,in/g,kh,kw]`, `bias` `[out]`.
pub type WnConv2d = WnConv<Rank2>;

/// PyTorch's default conv init for `weight_v` `shape` and the bias,
/// `weight_g = ||weight_v||` (so the folded weight starts equal to
/// `weight_v`, as `weight_norm` does): `(weight_g, weight_v, bias)`.
fn weight_norm_init(shape: &[i32], fan_in: i32, bias_len: i32, bias: bool) -> Result<(Param<Array>, Param<Array>, Param<Option<Array>>)> {
    let v = torch_uniform(shape, fan_in)?;
    Ok((Param::new(norm_except_dim0(&v)?), Param::new(v), Param::new(torch_bias(bias_len, fan_in, bias)?)))
}

impl<R: ConvRank> WnConv<R> {
    /// PyTorch's default conv init (fan_in = in/groups * prod(k)) for
    /// `weight_v` and bias, `weight_g = ||weight_v||`.
    pub fn new(in_channels: i32, out_channels: i32, kernel: R::Kernel, opts: R::Opts, bias: bool) -> Result<Self> {
        let (shape, fan_in) = conv_weight_shape::<R>(in_channels, out_channels, kernel, &opts)?;
        let (weight_g, weight_v, bias) = weight_norm_init(&shape, fan_in, out_channels, bias)?;
        Ok(Self { weight_g, weight_v, bias, opts })
    }

    /// The folded torch-layout weight `[out, in/groups, k..]`.
    pub fn weight(&self) -> Result<Array> {
        fold_weight(&self.weight_g, &self.weight_v)
    }

    /// Applies the conv with the folded weight.
    ///
    /// # Shapes
    /// 1-d `[B, T, in]` -> `[B, T', out]`; 2-d `[B, H, W, in]` -> `[B, H', W', out]`.
    pub fn forward(&self, x: &Array) -> Result<Array> {
        R::conv(x, &self.weight()?, self.bias.value.as_ref(), self.opts)
    }
}

/// `weight_norm(nn.ConvTranspose1d)`: `weight_g` `[in,1,1]`, `weight_v` `[in,out,k]`, `bias` `[out]`.
#[derive(Debug, Clone, ModuleParameters)]
pub struct WnConvTranspose1d {
    /// Per-input-channel magnitude `[in, 1, 1]`.
    #[param]
    pub weight_g: Param<Array>,
    /// Direction, torch layout `[in, out, k]`.
    #[param]
    pub weight_v: Param<Array>,
    /// Optional bias `[out]`.
    #[param]
    pub bias: Param<Option<Array>>,
    /// Upsampling factor.
    pub stride: i32,
    /// Frames cropped from both ends of the full output.
    pub padding: i32,
}

impl WnConvTranspose1d {
    /// PyTorch's default init: torch computes fan_in from the weight's dim 1,
    /// which for `[in, out, k]` is `out * k`; `weight_g = ||weight_v||`.
    pub fn new(in_channels: i32, out_channels: i32, kernel: i32, stride: i32, padding: i32, bias: bool) -> Result<Self> {
        check_groups(in_channels, out_channels, 1)?;
        let fan_in = out_channels * kernel;
        let (weight_g, weight_v, bias) = weight_norm_init(&[in_channels, out_channels, kernel], fan_in, out_channels, bias)?;
        Ok(Self { weight_g, weight_v, bias, stride, padding })
    }

    /// The folded torch-layout weight `[in, out, k]`.
    pub fn weight(&self) -> Result<Array> {
        fold_weight(&self.weight_g, &self.weight_v)
    }

    /// Applies the transposed conv with the folded weight.
    ///
    /// # Shapes
    /// `[B, T, in]` -> `[B, (T-1)*stride - 2*padding + k, out]`.
    pub fn forward(&self, x: &Array) -> Result<Array> {
        conv_transpose1d(x, &self.weight()?, self.bias.value.as_ref(), self.stride, self.padding)
    }
}
