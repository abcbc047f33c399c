//! Spectral-normalised convolutions, PyTorch's legacy
//! `torch.nn.utils.spectral_norm` hook (one power iteration per forward,
//! `eps = 1e-12`, norm over dim 0): `weight = weight_orig / sigma`, sigma the
//! largest singular value of `weight_orig.reshape(out, -1)` estimated from the
//! persistent vectors `weight_u` `[out]` and `weight_v` `[in/groups * prod(k)]`.
//!
//! As in the reference, the power iteration runs without gradient and `u`, `v`
//! are buffers: here frozen parameters, so they are saved and loaded under
//! their state-dict names but never reach an optimizer. The iteration runs on
//! every forward (the discriminator is only run in training mode).

use mlx_rs::macros::ModuleParameters;
use mlx_rs::module::{Param, Parameter};
use mlx_rs::{Array, ops, random};

use super::conv_rank::{ConvRank, Rank1, Rank2, conv_weight_shape};
use super::init::{torch_bias, torch_uniform};
use crate::error::Result;

const EPS: f32 = 1e-12;

fn normalize(x: &Array) -> Result<Array> {
    let n = ops::sqrt(&ops::sum(&ops::multiply(x, x)?, None)?)?;
    Ok(ops::divide(x, &ops::maximum(&n, Array::from_f32(EPS))?)?)
}

fn random_unit(n: i32) -> Result<Array> {
    normalize(&random::normal::<f32>(&[n], None, None, None)?)
}

/// One power iteration on `weight_orig`, updating `u` and `v` in place, and
/// the normalised weight `weight_orig / sigma` (gradient flows through
/// `weight_orig` in both numerator and sigma, as in torch).
///
/// # Shapes
/// `w_orig` `[out, ...]`, `u` `[out]`, `v` `[prod(...)]` -> `w_orig`'s shape.
pub fn spectral_weight(w_orig: &Array, u: &mut Array, v: &mut Array) -> Result<Array> {
    let out = w_orig.shape()[0];
    let w_mat = w_orig.reshape(&[out, -1])?;
    let w_fixed = mlx_rs::stop_gradient(&w_mat)?;
    let new_v = normalize(&ops::matmul(w_fixed.t(), &*u)?)?;
    let new_u = normalize(&ops::matmul(&w_fixed, &new_v)?)?;
    *u = mlx_rs::stop_gradient(&new_u)?;
    *v = mlx_rs::stop_gradient(&new_v)?;
    let sigma = ops::sum(&ops::multiply(&*u, &ops::matmul(&w_mat, &*v)?)?, None)?;
    Ok(ops::divide(w_orig, &sigma)?)
}

/// `spectral_norm(nn.Conv1d)` or `spectral_norm(nn.Conv2d)`, by rank `R`:
/// `weight_orig` `[out, in/g, k..]`, buffers `weight_u` `[out]`, `weight_v`
/// `[in/g * prod(k)]`, `bias` `[out]`.
#[derive(Debug, Clone, ModuleParameters)]
pub struct SnConv<R: ConvRank> {
    /// Un-normalised weight, torch layout `[out, in/groups, k..]`.
    #[param]
    pub weight_orig: Param<Array>,
    /// Left singular vector estimate `[out]` (frozen buffer).
    #[param]
    pub weight_u: Param<Array>,
    /// Right singular vector estimate `[in/groups * prod(k)]` (frozen buffer).
    #[param]
    pub weight_v: Param<Array>,
    /// Optional bias `[out]`.
    #[param]
    pub bias: Param<Option<Array>>,
    /// Stride, padding, (1-d: dilation,) groups.
    pub opts: R::Opts,
}

/// `spectral_norm(nn.Conv1d)`: `weight_orig` `[out,in/g,k]`, buffers `weight_u` `[out]`,
/// `weight_v` `[in/g*k]`, `bias` `[out]`.
pub type SnConv1d = SnConv<Rank1>;

/// `spectral_norm(nn.Conv2d)`: `weight_orig` `[out,in/g,kh,kw]`, buffers `weight_u`,
/// `weight_v`, `bias` `[out]`.
pub type SnConv2d = SnConv<Rank2>;

impl<R: ConvRank> SnConv<R> {
    /// PyTorch's default conv init for `weight_orig` and bias; random unit `u`, `v`.
    pub fn new(in_channels: i32, out_channels: i32, kernel: R::Kernel, opts: R::Opts, bias: bool) -> Result<Self> {
        let (shape, fan_in) = conv_weight_shape::<R>(in_channels, out_channels, kernel, &opts)?;
        let mut s = Self {
            weight_orig: Param::new(torch_uniform(&shape, fan_in)?),
            weight_u: Param::new(random_unit(out_channels)?),
            weight_v: Param::new(random_unit(fan_in)?),
            bias: Param::new(torch_bias(out_channels, fan_in, bias)?),
            opts,
        };
        s.weight_u.freeze(false);
        s.weight_v.freeze(false);
        Ok(s)
    }

    /// Applies the conv with the spectrally normalised weight (one power iteration).
    ///
    /// # Shapes
    /// 1-d `[B, T, in]` -> `[B, T', out]`; 2-d `[B, H, W, in]` -> `[B, H', W', out]`.
    pub fn forward(&mut self, x: &Array) -> Result<Array> {
        let w = spectral_weight(&self.weight_orig, &mut self.weight_u.value, &mut self.weight_v.value)?;
        R::conv(x, &w, self.bias.value.as_ref(), self.opts)
    }
}
