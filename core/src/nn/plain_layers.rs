//! Plain (not weight-normalised) Conv1d and Linear with PyTorch state-dict
//! names (`weight`, `bias`) and layouts.

use mlx_rs::macros::ModuleParameters;
use mlx_rs::module::Param;
use mlx_rs::{Array, ops};

use super::conv::conv1d;
use super::conv_opts::ConvOpts;
use super::conv_rank::{Rank1, conv_weight_shape};
use super::init::{torch_bias, torch_uniform};
use crate::error::{Error, Result};

/// `nn.Conv1d`: weight `[out, in/groups, k]`, bias `[out]`.
#[derive(Debug, Clone, ModuleParameters)]
pub struct Conv1d {
    /// Kernel, torch layout `[out, in/groups, k]`.
    #[param]
    pub weight: Param<Array>,
    /// Optional bias `[out]`.
    #[param]
    pub bias: Param<Option<Array>>,
    /// Stride, padding, dilation, groups.
    pub opts: ConvOpts,
}

impl Conv1d {
    /// A conv with PyTorch's default init (fan_in = in/groups * k).
    pub fn new(in_channels: i32, out_channels: i32, kernel: i32, opts: ConvOpts, bias: bool) -> Result<Self> {
        let (shape, fan_in) = conv_weight_shape::<Rank1>(in_channels, out_channels, kernel, &opts)?;
        Ok(Self {
            weight: Param::new(torch_uniform(&shape, fan_in)?),
            bias: Param::new(torch_bias(out_channels, fan_in, bias)?),
            opts,
        })
    }

    /// Applies the conv.
    ///
    /// # Shapes
    /// `[B, T, in]` -> `[B, T', out]`.
    pub fn forward(&self, x: &Array) -> Result<Array> {
        conv1d(x, &self.weight, self.bias.value.as_ref(), self.opts)
    }
}

/// `nn.Linear`: weight `[out, in]`, bias `[out]`.
#[derive(Debug, Clone, ModuleParameters)]
pub struct Linear {
    /// Weight, torch layout `[out, in]`.
    #[param]
    pub weight: Param<Array>,
    /// Optional bias `[out]`.
    #[param]
    pub bias: Param<Option<Array>>,
}

impl Linear {
    /// A linear layer with PyTorch's default init (fan_in = in).
    pub fn new(in_features: i32, out_features: i32, bias: bool) -> Result<Self> {
        Ok(Self {
            weight: Param::new(torch_uniform(&[out_features, in_features], in_features)?),
            bias: Param::new(torch_bias(out_features, in_features, bias)?),
        })
    }

    /// `x @ weight.T + bias` over the last axis.
    ///
    /// # Shapes
    /// `[.., in]` -> `[.., out]`.
    pub fn forward(&self, x: &Array) -> Result<Array> {
        let w = &*self.weight;
        let inner = x.shape().last().copied().unwrap_or(0);
        if inner != w.shape()[1] {
            return Err(Error::Shape {
                what: "linear input".into(),
                expected: format!("[.., {}]", w.shape()[1]),
                found: format!("{:?}", x.shape()),
            });
        }
        let wt = w.t();
        let y = ops::matmul(&super::conv::in_weight_dtype(x, w)?, &wt)?;
        Ok(match self.bias.value.as_ref() {
            Some(b) => super::mixed::add(&y, b)?,
            None => y,
        })
    }
}
