//! The transformer encoder of the text encoder: relative-position multi-head
//! attention (shared key/value position embeddings, window 4), a 2-conv FFN
//! and post-norm residual layers. Reference: GPT-SoVITS
//! `GPT_SoVITS/module/attentions.py::{Encoder, MultiHeadAttention, FFN}`
//! (from VITS, Shaw et al. 2018 relative positions).

use mlx_rs::{Array, ops, random};
use mlx_rs::macros::ModuleParameters;
use mlx_rs::module::Param;
use sovits_core::nn::{Conv1d, ConvOpts};
use sovits_core::Result;

use crate::forward_ctx::Ctx;
use crate::layer_norm::LayerNorm;
use crate::masking::mul;
use crate::time_axis::slice_axis;

/// `attentions.MultiHeadAttention`: 1x1 convs `conv_q/k/v/o`, optional
/// relative embeddings `emb_rel_k`/`emb_rel_v` `[1, 2w+1, C/heads]`.
#[derive(Debug, Clone, ModuleParameters)]
pub struct MultiHeadAttention {
    /// Query projection.
    #[param]
    pub conv_q: Conv1d,
    /// Key projection (its bias has an exactly zero gradient: softmax ignores it).
    #[param]
    pub conv_k: Conv1d,
    /// Value projection.
    #[param]
    pub conv_v: Conv1d,
    /// Output projection.
    #[param]
    pub conv_o: Conv1d,
    /// Relative key embeddings `[1, 2w+1, d]` (windowed attention only).
    #[param]
    pub emb_rel_k: Param<Option<Array>>,
    /// Relative value embeddings `[1, 2w+1, d]` (windowed attention only).
    #[param]
    pub emb_rel_v: Param<Option<Array>>,
    /// Heads.
    pub n_heads: i32,
    /// Relative window, `None` for plain attention (MRTE).
    pub window_size: Option<i32>,
    /// Dropout on the attention weights.
    pub p_dropout: f32,
}

fn xavier_conv(channels: i32, out: i32) -> Result<Conv1d> {
    let mut c = Conv1d::new(channels, out, 1, ConvOpts::new(), true)?;
    let bound = (6.0 / (channels + out) as f32).sqrt();
    *c.weight = random::uniform::<_, f32>(-bound, bound, &[out, channels, 1], None)?;
    Ok(c)
}

impl MultiHeadAttention {
    /// `channels -> out_channels` with `n_heads` heads; `window_size` enables
    /// relative positions (self-attention only).
    pub fn new(channels: i32, out_channels: i32, n_heads: i32, p_dropout: f32, window_size: Option<i32>) -> Result<Self> {
        let d = channels / n_heads;
        let rel = |w: i32| -> Result<Array> {
            let e = random::normal::<f32>(&[1, 2 * w + 1, d], None, None, None)?;
            Ok(ops::multiply(&e, Array::from_f32((d as f32).powf(-0.5)))?)
        };
        Ok(Self {
            conv_q: xavier_conv(channels, channels)?,
            conv_k: xavier_conv(channels, channels)?,
            conv_v: xavier_conv(channels, channels)?,
            conv_o: Conv1d::new(channels, out_channels, 1, ConvOpts::new(), true)?,
            emb_rel_k: Param::new(window_size.map(rel).transpose()?),
            emb_rel_v: Param::new(window_size.map(rel).transpose()?),
            n_heads,
            window_size,
            p_dropout,
        })
    }

    /// Attention of `x` (queries) over `c` (keys and values).
    ///
    /// # Shapes
    /// `x` `[B, Tq, C]`, `c` `[B, Tk, C]`, `mask` `[B, 1, Tq, Tk]` (0 = masked,
    /// filled with -1e4 before the softmax) -> `[B, Tq, out]`.
    pub fn forward(&self, x: &Array, c: &Array, mask: Option<&Array>, ctx: &mut Ctx<'_>, what: &str) -> Result<Array> {
        let q = self.conv_q.forward(x)?;
        let k = self.conv_k.forward(c)?;
        let v = self.conv_v.forward(c)?;
        let out = self.attention(&q, &k, &v, mask, ctx, what)?;
        self.conv_o.forward(&out)
    }

    fn heads(&self, x: &Array) -> Result<Array> {
        let s = x.shape();
        let d = s[2] / self.n_heads;
        Ok(x.reshape(&[s[0], s[1], self.n_heads, d])?.transpose_axes(&[0, 2, 1, 3])?)
    }

    fn attention(&self, q: &Array, k: &Array, v: &Array, mask: Option<&Array>, ctx: &mut Ctx<'_>, what: &str) -> Result<Array> {
        let (b, tq, ch) = (q.shape()[0], q.shape()[1], q.shape()[2]);
        let tk = k.shape()[1];
        let d = ch / self.n_heads;
        // constants in q's dtype, so bf16 stays bf16 (no-op for f32)
        let q = ops::multiply(&self.heads(q)?, Array::from_f32(1.0 / (d as f32).sqrt()).as_dtype(q.dtype())?)?;
        let k = self.heads(k)?;
        let v = self.heads(v)?;
        let mut scores = ops::matmul(&q, &k.transpose_axes(&[0, 1, 3, 2])?)?;
        let rel = match (self.window_size, self.emb_rel_k.value.as_ref(), self.emb_rel_v.value.as_ref()) {
            (Some(w), Some(ek), Some(ev)) if tq == tk => Some((w, ek, ev)),
            _ => None,
        };
        if let Some((w, ek, _)) = rel {
            let ek = relative_embeddings(ek, w, tk)?; // [1, 2t-1, d]
            let rel_logits = ops::matmul(&q, &ek.transpose_axes(&[0, 2, 1])?.expand_dims(0)?)?;
            scores = ops::add(&scores, &relative_to_absolute(&rel_logits)?)?;
        }
        if let Some(m) = mask {
            let keep = ops::gt(m, Array::from_f32(0.0))?;
            scores = ops::select(&keep, &scores, Array::from_f32(-1e4).as_dtype(scores.dtype())?)?;
        }
        let p = sovits_core::nn::mixed::softmax_last(&scores)?;
        let p = ctx.dropout(&p, self.p_dropout, what)?;
        let mut out = ops::matmul(&p, &v)?;
        if let Some((w, _, ev)) = rel {
            let ev = relative_embeddings(ev, w, tk)?;
            let rw = absolute_to_relative(&p)?;
            out = ops::add(&out, &ops::matmul(&rw, &ev.expand_dims(0)?)?)?;
        }
        Ok(out.transpose_axes(&[0, 2, 1, 3])?.reshape(&[b, tq, ch])?)
    }
}

/// The `2*length - 1` relative embeddings a length needs: the window's
/// `2w+1` rows zero-padded (long inputs) or cropped (short inputs).
///
/// # Shapes
/// `[1, 2w+1, d]` -> `[1, 2*length-1, d]`.
fn relative_embeddings(e: &Array, w: i32, length: i32) -> Result<Array> {
    let pad = (length - (w + 1)).max(0);
    let start = ((w + 1) - length).max(0);
    let end = start + 2 * length - 1;
    let padded = if pad > 0 { ops::pad(e, &[(0, 0), (pad, pad), (0, 0)], None, None)? } else { e.clone() };
    slice_axis(&padded, 1, start, end)
}

/// Relative logits to absolute positions by the pad-and-reshape skew.
///
/// # Shapes
/// `[b, h, l, 2l-1]` -> `[b, h, l, l]`.
fn relative_to_absolute(x: &Array) -> Result<Array> {
    let s = x.shape();
    let (b, h, l) = (s[0], s[1], s[2]);
    let x = ops::pad(x, &[(0, 0), (0, 0), (0, 0), (0, 1)], None, None)?;
    let flat = x.reshape(&[b, h, l * 2 * l])?;
    let flat = ops::pad(&flat, &[(0, 0), (0, 0), (0, l - 1)], None, None)?;
    let full = flat.reshape(&[b, h, l + 1, 2 * l - 1])?;
    let full = slice_axis(&full, 2, 0, l)?;
    slice_axis(&full, 3, l - 1, 2 * l - 1)
}

/// Absolute attention weights to relative positions (inverse skew).
///
/// # Shapes
/// `[b, h, l, l]` -> `[b, h, l, 2l-1]`.
fn absolute_to_relative(x: &Array) -> Result<Array> {
    let s = x.shape();
    let (b, h, l) = (s[0], s[1], s[2]);
    let x = ops::pad(x, &[(0, 0), (0, 0), (0, 0), (0, l - 1)], None, None)?;
    let flat = x.reshape(&[b, h, l * l + l * (l - 1)])?;
    let flat = ops::pad(&flat, &[(0, 0), (0, 0), (l, 0)], None, None)?;
    let full = flat.reshape(&[b, h, l, 2 * l])?;
    slice_axis(&full, 3, 1, 2 * l)
}

/// `attentions.FFN`: `conv_1` (C -> F, kernel k, "same" padding), ReLU,
/// dropout, `conv_2` (F -> C), masked.
#[derive(Debug, Clone, ModuleParameters)]
pub struct Ffn {
    /// First conv `[F, C, k]`.
    #[param]
    pub conv_1: Conv1d,
    /// Second conv `[C, F, k]`.
    #[param]
    pub conv_2: Conv1d,
    /// Kernel size.
    pub kernel_size: i32,
    /// Dropout after the ReLU.
    pub p_dropout: f32,
}

impl Ffn {
    /// `channels -> filter -> channels` with kernel `k`.
    pub fn new(channels: i32, filter: i32, k: i32, p_dropout: f32) -> Result<Self> {
        Ok(Self {
            conv_1: Conv1d::new(channels, filter, k, ConvOpts::new(), true)?,
            conv_2: Conv1d::new(filter, channels, k, ConvOpts::new(), true)?,
            kernel_size: k,
            p_dropout,
        })
    }

    fn same_pad(&self, x: &Array) -> Result<Array> {
        let k = self.kernel_size;
        if k == 1 {
            return Ok(x.clone());
        }
        Ok(ops::pad(x, &[(0, 0), ((k - 1) / 2, k / 2), (0, 0)], None, None)?)
    }

    /// # Shapes
    /// `x` `[B, T, C]`, `mask` `[B, T, 1]` -> `[B, T, C]`.
    pub fn forward(&self, x: &Array, mask: &Array, ctx: &mut Ctx<'_>, what: &str) -> Result<Array> {
        let h = self.conv_1.forward(&self.same_pad(&mul(x, mask)?)?)?;
        let h = ops::maximum(&h, Array::from_f32(0.0).as_dtype(h.dtype())?)?;
        let h = ctx.dropout(&h, self.p_dropout, what)?;
        let h = self.conv_2.forward(&self.same_pad(&mul(&h, mask)?)?)?;
        mul(&h, mask)
    }
}

/// `attentions.Encoder`: `n_layers` x (relative self-attention, add & norm,
/// FFN, add & norm), with dropout on both branches.
#[derive(Debug, Clone, ModuleParameters)]
pub struct Encoder {
    /// Self-attention of each layer.
    #[param]
    pub attn_layers: Vec<MultiHeadAttention>,
    /// Norm after attention.
    #[param]
    pub norm_layers_1: Vec<LayerNorm>,
    /// FFN of each layer.
    #[param]
    pub ffn_layers: Vec<Ffn>,
    /// Norm after the FFN.
    #[param]
    pub norm_layers_2: Vec<LayerNorm>,
    /// Residual-branch dropout.
    pub p_dropout: f32,
}

impl Encoder {
    /// An encoder of `n_layers` layers of width `hidden`.
    pub fn new(hidden: i32, filter: i32, n_heads: i32, n_layers: i32, kernel: i32, p_dropout: f32, window: i32) -> Result<Self> {
        let mut e = Self {
            attn_layers: Vec::new(),
            norm_layers_1: Vec::new(),
            ffn_layers: Vec::new(),
            norm_layers_2: Vec::new(),
            p_dropout,
        };
        for _ in 0..n_layers {
            e.attn_layers.push(MultiHeadAttention::new(hidden, hidden, n_heads, p_dropout, Some(window))?);
            e.norm_layers_1.push(LayerNorm::new(hidden)?);
            e.ffn_layers.push(Ffn::new(hidden, filter, kernel, p_dropout)?);
            e.norm_layers_2.push(LayerNorm::new(hidden)?);
        }
        Ok(e)
    }

    /// # Shapes
    /// `x` `[B, T, C]`, `mask` `[B, T, 1]` -> `[B, T, C]` (zero past each length).
    pub fn forward(&self, x: &Array, mask: &Array, ctx: &mut Ctx<'_>, what: &str) -> Result<Array> {
        let s = mask.shape();
        let (b, t) = (s[0], s[1]);
        let attn_mask = ops::multiply(&mask.reshape(&[b, 1, t, 1])?, &mask.reshape(&[b, 1, 1, t])?)?;
        let mut x = mul(x, mask)?;
        let layers = self.attn_layers.iter().zip(&self.norm_layers_1).zip(&self.ffn_layers).zip(&self.norm_layers_2);
        for (i, (((attn, n1), ffn), n2)) in layers.enumerate() {
            let y = attn.forward(&x, &x, Some(&attn_mask), ctx, &format!("{what}.attn_layers.{i}"))?;
            let y = ctx.dropout(&y, self.p_dropout, &format!("{what}.attn.{i}"))?;
            x = n1.forward(&ops::add(&x, &y)?)?;
            let y = ffn.forward(&x, mask, ctx, &format!("{what}.ffn_layers.{i}"))?;
            let y = ctx.dropout(&y, self.p_dropout, &format!("{what}.ffn.{i}"))?;
            x = n2.forward(&ops::add(&x, &y)?)?;
        }
        mul(&x, mask)
    }
}
