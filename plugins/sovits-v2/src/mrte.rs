//! Multi-reference timbre encoder: the SSL content attends to the encoded
//! phonemes, and the style vector `ge` is added. Reference: GPT-SoVITS
//! `GPT_SoVITS/module/mrte_model.py::MRTE` (the `test=None` path).

use mlx_rs::{Array, ops};
use mlx_rs::macros::ModuleParameters;
use sovits_core::nn::{Conv1d, ConvOpts};
use sovits_core::nn::mixed::add;
use sovits_core::Result;

use crate::attentions::MultiHeadAttention;
use crate::forward_ctx::Ctx;
use crate::masking::mul;

/// `MRTE`: `c_pre`/`text_pre` (content -> hidden), `cross_attention`
/// (hidden, plain attention, no dropout), `c_post` (hidden -> out).
#[derive(Debug, Clone, ModuleParameters)]
pub struct Mrte {
    /// Cross-attention, SSL queries over text keys/values.
    #[param]
    pub cross_attention: MultiHeadAttention,
    /// SSL content projection.
    #[param]
    pub c_pre: Conv1d,
    /// Text projection.
    #[param]
    pub text_pre: Conv1d,
    /// Output projection.
    #[param]
    pub c_post: Conv1d,
}

impl Mrte {
    /// `content` channels in, `hidden` inside (= gin), `out` channels out.
    pub fn new(content: i32, hidden: i32, out: i32, n_heads: i32) -> Result<Self> {
        Ok(Self {
            cross_attention: MultiHeadAttention::new(hidden, hidden, n_heads, 0.0, None)?,
            c_pre: Conv1d::new(content, hidden, 1, ConvOpts::new(), true)?,
            text_pre: Conv1d::new(content, hidden, 1, ConvOpts::new(), true)?,
            c_post: Conv1d::new(hidden, out, 1, ConvOpts::new(), true)?,
        })
    }

    /// # Shapes
    /// `ssl` `[B, Ts, content]`, `ssl_mask` `[B, Ts, 1]`, `text` `[B, Tt, content]`,
    /// `text_mask` `[B, Tt, 1]`, `ge` `[B, 1, hidden]` -> `[B, Ts, out]`.
    pub fn forward(
        &self,
        ssl: &Array,
        ssl_mask: &Array,
        text: &Array,
        text_mask: &Array,
        ge: &Array,
        ctx: &mut Ctx<'_>,
    ) -> Result<Array> {
        let (b, ts, tt) = (ssl.shape()[0], ssl.shape()[1], text.shape()[1]);
        let attn_mask = ops::multiply(&ssl_mask.reshape(&[b, 1, ts, 1])?, &text_mask.reshape(&[b, 1, 1, tt])?)?;
        let ssl_enc = self.c_pre.forward(&mul(ssl, ssl_mask)?)?;
        let text_enc = self.text_pre.forward(&mul(text, text_mask)?)?;
        let att = self.cross_attention.forward(
            &mul(&ssl_enc, ssl_mask)?,
            &mul(&text_enc, text_mask)?,
            Some(&attn_mask),
            ctx,
            "enc_p.mrte",
        )?;
        let x = add(&add(&att, &ssl_enc)?, ge)?;
        self.c_post.forward(&mul(&x, ssl_mask)?)
    }
}
