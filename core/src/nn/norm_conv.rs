//! A convolution under either weight norm or spectral norm (the reference's
//! `norm_f = weight_norm if use_spectral_norm == False else spectral_norm`),
//! keeping the state-dict keys of whichever norm is used; one generic type
//! for both ranks.

use mlx_rs::Array;

use super::conv_rank::{ConvRank, Rank1, Rank2};
use super::spectral_norm::SnConv;
use super::weight_norm::WnConv;
use crate::error::Result;

/// A conv of rank `R` under weight norm or spectral norm.
#[derive(Debug, Clone)]
pub enum NormConv<R: ConvRank> {
    /// `weight_norm`: keys `weight_g`, `weight_v`, `bias`.
    Weight(WnConv<R>),
    /// `spectral_norm`: keys `weight_orig`, `weight_u`, `weight_v`, `bias`.
    Spectral(SnConv<R>),
}

/// A 1-d conv under weight norm or spectral norm.
pub type NormConv1d = NormConv<Rank1>;

/// A 2-d conv under weight norm or spectral norm.
pub type NormConv2d = NormConv<Rank2>;

crate::delegate_module_parameters!(NormConv<R: ConvRank>: Weight, Spectral);

impl<R: ConvRank> NormConv<R> {
    /// A conv with bias, PyTorch default init, under the chosen norm.
    pub fn new(cin: i32, cout: i32, kernel: R::Kernel, opts: R::Opts, spectral: bool) -> Result<Self> {
        Ok(if spectral {
            Self::Spectral(SnConv::new(cin, cout, kernel, opts, true)?)
        } else {
            Self::Weight(WnConv::new(cin, cout, kernel, opts, true)?)
        })
    }

    /// Applies the conv.
    ///
    /// # Shapes
    /// 1-d `[B, T, in]` -> `[B, T', out]`; 2-d `[B, H, W, in]` -> `[B, H', W', out]`.
    pub fn forward(&mut self, x: &Array) -> Result<Array> {
        match self {
            Self::Weight(c) => c.forward(x),
            Self::Spectral(c) => c.forward(x),
        }
    }
}
