//! WaveNet-style gated residual stack with global conditioning, used by the
//! posterior encoder and every flow coupling layer. Reference: GPT-SoVITS
//! `GPT_SoVITS/module/modules.py::WN` (from VITS). Its dropout is 0 in both
//! uses (`PosteriorEncoder`, `ResidualCouplingLayer`), so none is applied.

use mlx_rs::{Array, ops};
use mlx_rs::macros::ModuleParameters;
use sovits_core::nn::{ConvOpts, WnConv1d};
use sovits_core::nn::mixed::add;
use sovits_core::Result;

use crate::masking::mul;
use crate::time_axis::{slice_axis, split_last};

/// `WN`: weight-normed `in_layers` (dilated, kernel k), `res_skip_layers`
/// (1x1; the last one skip-only) and an optional `cond_layer` (gin -> 2*H*L).
#[derive(Debug, Clone, ModuleParameters)]
pub struct Wn {
    /// Dilated convs `H -> 2H`.
    #[param]
    pub in_layers: Vec<WnConv1d>,
    /// 1x1 convs `H -> 2H` (last: `H -> H`).
    #[param]
    pub res_skip_layers: Vec<WnConv1d>,
    /// Conditioning projection of `g`, present when `gin_channels > 0`.
    #[param]
    pub cond_layer: Option<WnConv1d>,
    /// Hidden channels `H`.
    pub hidden: i32,
}

impl Wn {
    /// `n_layers` layers of width `hidden`, kernel `k`, dilation `rate^i`.
    pub fn new(hidden: i32, k: i32, rate: i32, n_layers: i32, gin: i32) -> Result<Self> {
        let mut in_layers = Vec::new();
        let mut res_skip_layers = Vec::new();
        for i in 0..n_layers {
            let d = rate.pow(i as u32);
            let opts = ConvOpts::new().dilation(d).padding((k * d - d) / 2);
            in_layers.push(WnConv1d::new(hidden, 2 * hidden, k, opts, true)?);
            let rs = if i < n_layers - 1 { 2 * hidden } else { hidden };
            res_skip_layers.push(WnConv1d::new(hidden, rs, 1, ConvOpts::new(), true)?);
        }
        let cond_layer =
            if gin > 0 { Some(WnConv1d::new(gin, 2 * hidden * n_layers, 1, ConvOpts::new(), true)?) } else { None };
        Ok(Self { in_layers, res_skip_layers, cond_layer, hidden })
    }

    /// # Shapes
    /// `x` `[B, T, H]`, `mask` `[B, T, 1]`, `g` `[B, 1, gin]` -> `[B, T, H]`.
    pub fn forward(&self, x: &Array, mask: &Array, g: Option<&Array>) -> Result<Array> {
        let h = self.hidden;
        let g = match (g, &self.cond_layer) {
            (Some(g), Some(c)) => Some(c.forward(g)?),
            _ => None,
        };
        let n = self.in_layers.len();
        let mut x = x.clone();
        let mut output: Option<Array> = None;
        for (i, (inl, rsl)) in self.in_layers.iter().zip(&self.res_skip_layers).enumerate() {
            let mut a = inl.forward(&x)?;
            if let Some(g) = &g {
                let off = i as i32 * 2 * h;
                a = add(&a, &slice_axis(g, 2, off, off + 2 * h)?)?;
            }
            let (t, s) = split_last(&a, h)?;
            let acts = ops::multiply(&ops::tanh(&t)?, &ops::sigmoid(&s)?)?;
            let rs = rsl.forward(&acts)?;
            let skip = if i < n - 1 {
                let (res, skip) = split_last(&rs, h)?;
                x = mul(&add(&x, &res)?, mask)?;
                skip
            } else {
                rs
            };
            output = Some(match output {
                Some(o) => add(&o, &skip)?,
                None => skip,
            });
        }
        match output {
            Some(o) => mul(&o, mask),
            None => Ok(ops::zeros_like(&x)?),
        }
    }
}
