//! The posterior encoder `enc_q`: linear spectrogram -> `z ~ N(m_q, exp(logs_q))`.
//! Reference: GPT-SoVITS `GPT_SoVITS/module/models.py::PosteriorEncoder`
//! (kernel 5, dilation 1, 16 WN layers; `g` is detached).

use mlx_rs::{Array, ops, stop_gradient};
use mlx_rs::macros::ModuleParameters;
use sovits_core::nn::{Conv1d, ConvOpts};
use sovits_core::nn::noise::NoiseSource;
use sovits_core::Result;

use crate::checks::expect_channels;
use crate::masking::{mul, sequence_mask};
use crate::time_axis::split_last;
use crate::wn::Wn;

/// What [`PosteriorEncoder::forward`] returns.
#[derive(Debug, Clone)]
pub struct PosteriorOutput {
    /// Sample `(m + eps * exp(logs)) * mask` `[B, T, inter]`.
    pub z: Array,
    /// Mean `[B, T, inter]`.
    pub m: Array,
    /// Log-std `[B, T, inter]`.
    pub logs: Array,
    /// Frame mask `[B, T, 1]`.
    pub mask: Array,
}

/// `PosteriorEncoder`: `pre` (1x1), `enc` (WN), `proj` (1x1 -> 2*inter).
#[derive(Debug, Clone, ModuleParameters)]
pub struct PosteriorEncoder {
    /// Spectrogram bins -> hidden.
    #[param]
    pub pre: Conv1d,
    /// The WN stack.
    #[param]
    pub enc: Wn,
    /// hidden -> mean and log-std.
    #[param]
    pub proj: Conv1d,
    /// Input bins.
    pub in_channels: i32,
    /// Latent channels.
    pub out_channels: i32,
}

impl PosteriorEncoder {
    /// `in_ch` bins -> `out_ch` latents through `hidden`, WN kernel `k`, `n_layers`.
    pub fn new(in_ch: i32, out_ch: i32, hidden: i32, k: i32, rate: i32, n_layers: i32, gin: i32) -> Result<Self> {
        Ok(Self {
            pre: Conv1d::new(in_ch, hidden, 1, ConvOpts::new(), true)?,
            enc: Wn::new(hidden, k, rate, n_layers, gin)?,
            proj: Conv1d::new(hidden, out_ch * 2, 1, ConvOpts::new(), true)?,
            in_channels: in_ch,
            out_channels: out_ch,
        })
    }

    /// Draws `eps` as `noise.normal("enc_q.noise", [B, T, inter])`.
    ///
    /// # Shapes
    /// `x` `[B, T, in]`, `lengths` `[B]`, `g` `[B, 1, gin]` -> [`PosteriorOutput`].
    pub fn forward(&self, x: &Array, lengths: &Array, g: Option<&Array>, noise: &mut dyn NoiseSource) -> Result<PosteriorOutput> {
        expect_channels(x, self.in_channels, "enc_q input")?;
        let g = g.map(stop_gradient).transpose()?;
        let mask = sequence_mask(lengths, x.shape()[1])?;
        let h = mul(&self.pre.forward(x)?, &mask)?;
        let h = self.enc.forward(&h, &mask, g.as_ref())?;
        let stats = mul(&self.proj.forward(&h)?, &mask)?;
        let (m, logs) = split_last(&stats, self.out_channels)?;
        // drawn in f32 (the recorded stream), used in m's compute dtype
        let eps = noise.normal("enc_q.noise", m.shape())?.as_dtype(m.dtype())?;
        let z = mul(&ops::add(&m, &ops::multiply(&eps, &ops::exp(&logs)?)?)?, &mask)?;
        Ok(PosteriorOutput { z, m, logs, mask })
    }
}
