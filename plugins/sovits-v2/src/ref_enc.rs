//! The reference (style) encoder `ref_enc`: spectral MLP, two gated convs,
//! self-attention and masked temporal average pooling to one style vector.
//! Reference: GPT-SoVITS `GPT_SoVITS/module/modules.py::MelStyleEncoder`
//! (with `LinearNorm`, `Conv1dGLU`, `ConvNorm`, `MultiHeadAttention`,
//! `ScaledDotProductAttention`), from Meta-StyleSpeech.

use mlx_rs::{Array, ops};
use mlx_rs::macros::ModuleParameters;
use sovits_core::nn::{Conv1d, ConvOpts, Linear};
use sovits_core::Result;

use crate::activations::mish;
use crate::checks::expect_channels;
use crate::forward_ctx::Ctx;
use crate::masking::mul;
use crate::numbered::Numbered;
use crate::time_axis::split_last;

/// `LinearNorm`: a linear layer under the key `fc`.
#[derive(Debug, Clone, ModuleParameters)]
pub struct LinearNorm {
    /// The layer.
    #[param]
    pub fc: Linear,
}

impl LinearNorm {
    /// `inp -> out` with bias.
    pub fn new(inp: i32, out: i32) -> Result<Self> {
        Ok(Self { fc: Linear::new(inp, out, true)? })
    }
}

/// `ConvNorm`: a "same"-padded conv under the key `conv`.
#[derive(Debug, Clone, ModuleParameters)]
pub struct ConvNorm {
    /// The conv.
    #[param]
    pub conv: Conv1d,
}

/// `Conv1dGLU`: `x + dropout(a * sigmoid(b))` with `[a, b] = conv1(x)`.
#[derive(Debug, Clone, ModuleParameters)]
pub struct Conv1dGlu {
    /// `C -> 2C` conv, kernel 5.
    #[param]
    pub conv1: ConvNorm,
    /// Output channels.
    pub channels: i32,
}

/// `modules.MultiHeadAttention` (style encoder): linear `w_qs/w_ks/w_vs/fc`,
/// temperature `sqrt(d_model)`, `-inf` on padded keys, residual output.
#[derive(Debug, Clone, ModuleParameters)]
pub struct StyleAttention {
    /// Query projection.
    #[param]
    pub w_qs: Linear,
    /// Key projection (its bias has an exactly zero gradient).
    #[param]
    pub w_ks: Linear,
    /// Value projection.
    #[param]
    pub w_vs: Linear,
    /// Output projection.
    #[param]
    pub fc: Linear,
    /// Heads (2).
    pub n_head: i32,
}

/// `MelStyleEncoder`: `spectral.0/3` (linears; Mish and Dropout sit at
/// 1, 2, 4, 5), `temporal.0/1`, `slf_attn`, `fc`.
#[derive(Debug, Clone, ModuleParameters)]
pub struct MelStyleEncoder {
    /// The two spectral linears at PyTorch indices 0 and 3.
    #[param]
    pub spectral: Numbered<LinearNorm>,
    /// Two gated convs.
    #[param]
    pub temporal: Vec<Conv1dGlu>,
    /// Self-attention.
    #[param]
    pub slf_attn: StyleAttention,
    /// hidden -> style vector.
    #[param]
    pub fc: LinearNorm,
    /// Input bins.
    pub in_dim: i32,
    /// Dropout of every branch (training mode only).
    pub dropout: f32,
}

impl MelStyleEncoder {
    /// `in_dim` bins -> `out_dim` style vector through `hidden` channels.
    pub fn new(in_dim: i32, hidden: i32, out_dim: i32, dropout: f32) -> Result<Self> {
        let glu = || -> Result<Conv1dGlu> {
            Ok(Conv1dGlu {
                conv1: ConvNorm { conv: Conv1d::new(hidden, 2 * hidden, 5, ConvOpts::new().padding(2), true)? },
                channels: hidden,
            })
        };
        Ok(Self {
            spectral: Numbered::at(vec![LinearNorm::new(in_dim, hidden)?, LinearNorm::new(hidden, hidden)?], vec![0, 3]),
            temporal: vec![glu()?, glu()?],
            slf_attn: StyleAttention {
                w_qs: Linear::new(hidden, hidden, true)?,
                w_ks: Linear::new(hidden, hidden, true)?,
                w_vs: Linear::new(hidden, hidden, true)?,
                fc: Linear::new(hidden, hidden, true)?,
                n_head: 2,
            },
            fc: LinearNorm::new(hidden, out_dim)?,
            in_dim,
            dropout,
        })
    }

    /// Style vector of a (masked) spectrogram.
    ///
    /// # Shapes
    /// `x` `[B, T, in_dim]`, `mask` `[B, T, 1]` -> `[B, 1, out_dim]`.
    pub fn forward(&self, x: &Array, mask: &Array, ctx: &mut Ctx<'_>) -> Result<Array> {
        expect_channels(x, self.in_dim, "ref_enc input")?;
        let p = self.dropout;
        let mut h = x.clone();
        for lin in &self.spectral.items {
            h = mish(&lin.fc.forward(&h)?)?;
            h = ctx.dropout(&h, p, "ref_enc.spectral")?;
        }
        for glu in &self.temporal {
            let y = glu.conv1.conv.forward(&h)?;
            let (a, b) = split_last(&y, glu.channels)?;
            let g = ops::multiply(&a, &ops::sigmoid(&b)?)?;
            h = ops::add(&h, &ctx.dropout(&g, p, "ref_enc.temporal")?)?;
        }
        h = mul(&h, mask)?;
        h = self.slf_attn.forward(&h, mask, p, ctx)?;
        let h = self.fc.fc.forward(&h)?;
        // temporal_avg_pool: padded frames zeroed, divided by the length, summed.
        let len = mask.sum_axis(1, true)?.as_dtype(h.dtype())?; // [B, 1, 1]
        let pooled = sovits_core::nn::mixed::sum_axis(&ops::divide(&mul(&h, mask)?, &len)?, 1, true)?;
        // the input's (compute) dtype
        Ok(pooled.as_dtype(x.dtype())?)
    }
}

impl StyleAttention {
    /// # Shapes
    /// `x` `[B, T, C]`, `mask` `[B, T, 1]` (padded keys get `-inf`) -> `[B, T, C]`.
    pub fn forward(&self, x: &Array, mask: &Array, p: f32, ctx: &mut Ctx<'_>) -> Result<Array> {
        let s = x.shape();
        let (b, t, c) = (s[0], s[1], s[2]);
        let d = c / self.n_head;
        let split = |y: Array| -> Result<Array> {
            Ok(y.reshape(&[b, t, self.n_head, d])?.transpose_axes(&[0, 2, 1, 3])?)
        };
        let q = split(self.w_qs.forward(x)?)?;
        let k = split(self.w_ks.forward(x)?)?;
        let v = split(self.w_vs.forward(x)?)?;
        let scores = ops::matmul(&q, &k.transpose_axes(&[0, 1, 3, 2])?)?;
        // constants in the scores' dtype, so bf16 stays bf16 (no-op for f32)
        let dt = scores.dtype();
        let scores = ops::divide(&scores, Array::from_f32((c as f32).sqrt()).as_dtype(dt)?)?;
        let key_ok = ops::gt(&mask.reshape(&[b, 1, 1, t])?, Array::from_f32(0.0))?;
        let scores = ops::select(&key_ok, &scores, Array::from_f32(f32::NEG_INFINITY).as_dtype(dt)?)?;
        let attn = sovits_core::nn::mixed::softmax_last(&scores)?;
        let attn = ctx.dropout(&attn, p, "ref_enc.slf_attn.attention")?;
        let out = ops::matmul(&attn, &v)?.transpose_axes(&[0, 2, 1, 3])?.reshape(&[b, t, c])?;
        let out = self.fc.forward(&out)?;
        Ok(ops::add(&ctx.dropout(&out, p, "ref_enc.slf_attn")?, x)?)
    }
}
