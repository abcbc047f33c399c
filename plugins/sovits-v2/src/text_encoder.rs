//! The prior encoder `enc_p`: quantized SSL content and phonemes fused by
//! MRTE into the prior mean and log-std. Reference: GPT-SoVITS
//! `GPT_SoVITS/module/models.py::TextEncoder` (v2).

use mlx_rs::Array;
use mlx_rs::macros::ModuleParameters;
use sovits_core::nn::{Conv1d, ConvOpts};
use sovits_core::Result;

use crate::attentions::Encoder;
use crate::checks::expect_channels;
use crate::config::Config;
use crate::embedding::Embedding;
use crate::forward_ctx::Ctx;
use crate::masking::{mul, sequence_mask};
use crate::mrte::Mrte;
use crate::time_axis::{interpolate_linear, interpolate_nearest, split_last};

/// What [`TextEncoder::forward`] returns.
#[derive(Debug, Clone)]
pub struct PriorOutput {
    /// Encoder output before `proj` `[B, T', hidden]`.
    pub x: Array,
    /// Prior mean `[B, T', inter]`.
    pub m_p: Array,
    /// Prior log-std `[B, T', inter]`.
    pub logs_p: Array,
    /// Frame mask `[B, T', 1]` (`T'` differs from `T` only when `speed != 1`).
    pub y_mask: Array,
}

/// `TextEncoder`: `ssl_proj`, `encoder_ssl` (n_layers/2), `text_embedding`,
/// `encoder_text` (n_layers), `mrte`, `encoder2` (n_layers/2), `proj`.
#[derive(Debug, Clone, ModuleParameters)]
pub struct TextEncoder {
    /// SSL (768) -> hidden, kernel 1.
    #[param]
    pub ssl_proj: Conv1d,
    /// Encoder over the SSL content.
    #[param]
    pub encoder_ssl: Encoder,
    /// Encoder over the phonemes.
    #[param]
    pub encoder_text: Encoder,
    /// Phoneme table `[n_vocab, hidden]`.
    #[param]
    pub text_embedding: Embedding,
    /// Cross-attention fusion with the style vector.
    #[param]
    pub mrte: Mrte,
    /// Encoder after MRTE.
    #[param]
    pub encoder2: Encoder,
    /// hidden -> 2 * inter (mean, log-std).
    #[param]
    pub proj: Conv1d,
    /// Latent channels.
    pub out_channels: i32,
    /// SSL feature width.
    pub ssl_dim: i32,
}

impl TextEncoder {
    /// The v2 prior encoder for `cfg`.
    pub fn new(cfg: &Config) -> Result<Self> {
        let h = cfg.hidden_channels;
        let enc = |layers: i32| {
            Encoder::new(h, cfg.filter_channels, cfg.n_heads, layers, cfg.kernel_size, cfg.p_dropout, cfg.window_size)
        };
        Ok(Self {
            ssl_proj: Conv1d::new(cfg.ssl_dim, h, 1, ConvOpts::new(), true)?,
            encoder_ssl: enc(cfg.n_layers / 2)?,
            encoder_text: enc(cfg.n_layers)?,
            text_embedding: Embedding::new(cfg.n_vocab, h)?,
            mrte: Mrte::new(cfg.mrte_content_channels, cfg.mrte_hidden, cfg.mrte_out, cfg.mrte_heads)?,
            encoder2: enc(cfg.n_layers / 2)?,
            proj: Conv1d::new(h, cfg.inter_channels * 2, 1, ConvOpts::new(), true)?,
            out_channels: cfg.inter_channels,
            ssl_dim: cfg.ssl_dim,
        })
    }

    /// Prior statistics; `speed != 1` stretches time linearly before `proj`
    /// (`int(T / speed) + 1` frames, mask by nearest), as the reference.
    ///
    /// # Shapes
    /// `y` `[B, T, ssl_dim]`, `y_lengths` `[B]`, `text` `[B, L]` ids,
    /// `text_lengths` `[B]`, `ge` `[B, 1, gin]` -> [`PriorOutput`].
    #[allow(clippy::too_many_arguments)]
    pub fn forward(
        &self,
        y: &Array,
        y_lengths: &Array,
        text: &Array,
        text_lengths: &Array,
        ge: &Array,
        speed: f32,
        ctx: &mut Ctx<'_>,
    ) -> Result<PriorOutput> {
        expect_channels(y, self.ssl_dim, "enc_p quantized input")?;
        let y_mask = sequence_mask(y_lengths, y.shape()[1])?;
        let x = mul(&self.ssl_proj.forward(&mul(y, &y_mask)?)?, &y_mask)?;
        let x = self.encoder_ssl.forward(&x, &y_mask, ctx, "enc_p.encoder_ssl")?;
        let text_mask = sequence_mask(text_lengths, text.shape()[1])?;
        let t = self.text_embedding.forward(text)?;
        let t = self.encoder_text.forward(&mul(&t, &text_mask)?, &text_mask, ctx, "enc_p.encoder_text")?;
        let x = self.mrte.forward(&x, &y_mask, &t, &text_mask, ge, ctx)?;
        let x = self.encoder2.forward(&mul(&x, &y_mask)?, &y_mask, ctx, "enc_p.encoder2")?;
        let (x, y_mask) = if speed != 1.0 {
            let n = (x.shape()[1] as f32 / speed) as i32 + 1;
            (interpolate_linear(&x, n)?, interpolate_nearest(&y_mask, n)?)
        } else {
            (x, y_mask)
        };
        let stats = mul(&self.proj.forward(&x)?, &y_mask)?;
        let (m_p, logs_p) = split_last(&stats, self.out_channels)?;
        Ok(PriorOutput { x, m_p, logs_p, y_mask })
    }
}
