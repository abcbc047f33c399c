//! A convolution under either weight norm or spectral norm (the reference's
//! `norm_f = weight_norm if use_spectral_norm == False else spectral_norm`),
//! keeping the state-dict keys of whichever norm is used; one generic type
//! for both ranks.

use mlx_rs::Array;

use super::conv::conv1d;
use super::conv_opts::ConvOpts;
use super::conv_rank::{ConvRank, Rank1, Rank2};
use super::spectral_norm::{SnConv, spectral_weight};
use super::weight_norm::WnConv;
use crate::error::{Error, Result};

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

impl NormConv<Rank2> {
    /// A one-column `(kh, 1)` conv (width stride 1, no width padding, no
    /// groups: DiscriminatorP's) applied to columns already folded into the
    /// batch, i.e. a conv1d over height. A stack of such convs keeps the
    /// folded layout from layer to layer instead of transposing every
    /// layer's input into it and its output back (what [`super::conv2d`]
    /// does for one call); the values are the same.
    ///
    /// # Shapes
    /// `x` `[N, H, in]` (N = batch x width) -> `[N, H', out]`.
    pub fn forward_columns(&mut self, x: &Array) -> Result<Array> {
        let (w, bias, o) = match self {
            Self::Weight(c) => (c.weight()?, c.bias.value.clone(), c.opts),
            Self::Spectral(c) => (spectral_weight(&c.weight_orig, &mut c.weight_u.value, &mut c.weight_v.value)?, c.bias.value.clone(), c.opts),
        };
        let ws = w.shape();
        if ws[3] != 1 || o.stride.1 != 1 || o.padding.1 != 0 || o.groups != 1 {
            return Err(Error::Shape {
                what: "column conv2d".into(),
                expected: "a (kh, 1) kernel, width stride 1, no width padding, groups 1".into(),
                found: format!("weight {ws:?}, {o:?}"),
            });
        }
        let w1 = w.reshape(&[ws[0], ws[1], ws[2]])?;
        conv1d(x, &w1, bias.as_ref(), ConvOpts::new().stride(o.stride.0).padding(o.padding.0))
    }
}
