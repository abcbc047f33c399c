//! The normalising flow between the posterior latent and the prior:
//! 4 mean-only affine coupling layers, each followed by a channel flip.
//! Reference: GPT-SoVITS `GPT_SoVITS/module/models.py::ResidualCouplingBlock`
//! and `modules.py::{ResidualCouplingLayer, Flip}`.

use mlx_rs::{Array, ops};
use mlx_rs::macros::ModuleParameters;
use sovits_core::nn::{Conv1d, ConvOpts};
use sovits_core::nn::mixed::add;
use sovits_core::Result;

use crate::masking::mul;
use crate::numbered::Numbered;
use crate::time_axis::split_last;
use crate::wn::Wn;

/// `ResidualCouplingLayer(mean_only=True)`: `x1 <- x1 + post(WN(pre(x0)))`.
#[derive(Debug, Clone, ModuleParameters)]
pub struct ResidualCouplingLayer {
    /// half -> hidden.
    #[param]
    pub pre: Conv1d,
    /// The WN stack.
    #[param]
    pub enc: Wn,
    /// hidden -> half (zero-initialised, so the flow starts as the identity).
    #[param]
    pub post: Conv1d,
    /// Half the channels.
    pub half: i32,
}

impl ResidualCouplingLayer {
    /// A coupling layer over `channels` (even).
    pub fn new(channels: i32, hidden: i32, k: i32, rate: i32, n_layers: i32, gin: i32) -> Result<Self> {
        let half = channels / 2;
        let mut post = Conv1d::new(hidden, half, 1, ConvOpts::new(), true)?;
        *post.weight = ops::zeros_like(&*post.weight)?;
        post.bias.value = Some(Array::zeros::<f32>(&[half])?);
        Ok(Self { pre: Conv1d::new(half, hidden, 1, ConvOpts::new(), true)?, enc: Wn::new(hidden, k, rate, n_layers, gin)?, post, half })
    }

    /// # Shapes
    /// `x` `[B, T, C]`, `mask` `[B, T, 1]`, `g` `[B, 1, gin]` -> `[B, T, C]`.
    pub fn forward(&self, x: &Array, mask: &Array, g: Option<&Array>, reverse: bool) -> Result<Array> {
        let (x0, x1) = split_last(x, self.half)?;
        let h = mul(&self.pre.forward(&x0)?, mask)?;
        let h = self.enc.forward(&h, mask, g)?;
        let m = mul(&self.post.forward(&h)?, mask)?;
        let x1 = if reverse { mul(&ops::subtract(&x1, &m)?, mask)? } else { add(&m, &mul(&x1, mask)?)? };
        Ok(ops::concatenate(&[x0, x1], -1)?)
    }
}

/// `Flip`: reverses the channel order.
fn flip(x: &Array) -> Result<Array> {
    let c = x.shape().last().copied().unwrap_or(0);
    let idx = Array::arange::<_, i32>(c - 1, -1, -1)?;
    Ok(x.take_axis(&idx, -1)?)
}

/// `ResidualCouplingBlock`: couplings at `flows.0/2/4/6`, Flips at the odd indices.
#[derive(Debug, Clone, ModuleParameters)]
pub struct ResidualCouplingBlock {
    /// The coupling layers, numbered with stride 2.
    #[param]
    pub flows: Numbered<ResidualCouplingLayer>,
}

impl ResidualCouplingBlock {
    /// `n_flows` couplings over `channels`, WN kernel `k`, `n_layers` each.
    pub fn new(channels: i32, hidden: i32, k: i32, rate: i32, n_layers: i32, n_flows: usize, gin: i32) -> Result<Self> {
        let items = (0..n_flows)
            .map(|_| ResidualCouplingLayer::new(channels, hidden, k, rate, n_layers, gin))
            .collect::<Result<Vec<_>>>()?;
        Ok(Self { flows: Numbered::strided(items, 2) })
    }

    /// Forward (posterior -> prior space) or reverse (prior -> posterior).
    ///
    /// # Shapes
    /// `x` `[B, T, C]`, `mask` `[B, T, 1]`, `g` `[B, 1, gin]` -> `[B, T, C]`.
    pub fn forward(&self, x: &Array, mask: &Array, g: Option<&Array>, reverse: bool) -> Result<Array> {
        let mut x = x.clone();
        if reverse {
            for layer in self.flows.items.iter().rev() {
                x = layer.forward(&flip(&x)?, mask, g, true)?;
            }
        } else {
            for layer in &self.flows.items {
                x = flip(&layer.forward(&x, mask, g, false)?)?;
            }
        }
        Ok(x)
    }
}
