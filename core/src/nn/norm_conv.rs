//! A convolution under either weight norm or spectral norm (the reference's
//! `norm_f = weight_norm if use_spectral_norm == False else spectral_norm`),
//! keeping the state-dict keys of whichever norm is used.

use mlx_rs::Array;

use super::conv_opts::{Conv2dOpts, ConvOpts};
use super::spectral_norm::{SnConv1d, SnConv2d};
use super::weight_norm::{WnConv1d, WnConv2d};
use crate::error::Result;

/// A 1-d conv under weight norm or spectral norm.
#[derive(Debug, Clone)]
pub enum NormConv1d {
    /// `weight_norm`: keys `weight_g`, `weight_v`, `bias`.
    Weight(WnConv1d),
    /// `spectral_norm`: keys `weight_orig`, `weight_u`, `weight_v`, `bias`.
    Spectral(SnConv1d),
}

crate::delegate_module_parameters!(NormConv1d: Weight, Spectral);

impl NormConv1d {
    /// A conv with bias, PyTorch default init, under the chosen norm.
    pub fn new(cin: i32, cout: i32, kernel: i32, opts: ConvOpts, spectral: bool) -> Result<Self> {
        Ok(if spectral {
            Self::Spectral(SnConv1d::new(cin, cout, kernel, opts, true)?)
        } else {
            Self::Weight(WnConv1d::new(cin, cout, kernel, opts, true)?)
        })
    }

    /// Applies the conv.
    ///
    /// # Shapes
    /// `[B, T, in]` -> `[B, T', out]`.
    pub fn forward(&mut self, x: &Array) -> Result<Array> {
        match self {
            Self::Weight(c) => c.forward(x),
            Self::Spectral(c) => c.forward(x),
        }
    }
}

/// A 2-d conv under weight norm or spectral norm.
#[derive(Debug, Clone)]
pub enum NormConv2d {
    /// `weight_norm`: keys `weight_g`, `weight_v`, `bias`.
    Weight(WnConv2d),
    /// `spectral_norm`: keys `weight_orig`, `weight_u`, `weight_v`, `bias`.
    Spectral(SnConv2d),
}

crate::delegate_module_parameters!(NormConv2d: Weight, Spectral);

impl NormConv2d {
    /// A conv with bias, PyTorch default init, under the chosen norm.
    pub fn new(cin: i32, cout: i32, kernel: (i32, i32), opts: Conv2dOpts, spectral: bool) -> Result<Self> {
        Ok(if spectral {
            Self::Spectral(SnConv2d::new(cin, cout, kernel, opts, true)?)
        } else {
            Self::Weight(WnConv2d::new(cin, cout, kernel, opts, true)?)
        })
    }

    /// Applies the conv.
    ///
    /// # Shapes
    /// `[B, H, W, in]` -> `[B, H', W', out]`.
    pub fn forward(&mut self, x: &Array) -> Result<Array> {
        match self {
            Self::Weight(c) => c.forward(x),
            Self::Spectral(c) => c.forward(x),
        }
    }
}
