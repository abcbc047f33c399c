//! Replays dropout masks recorded on the reference side (GPT-SoVITS, every
//! `nn.Dropout` call of `SynthesizerTrn.forward` in call order) as the
//! uniform draws our dropout takes, so a training-mode forward can be compared
//! with the reference's element by element.
//!
//! Our dropout keeps an element when `uniform("dropout.<what>") >= p`
//! (`plugins/sovits-v2` `Ctx::dropout`); a recorded keep mask is replayed as
//! the uniform `1` (kept) or `0` (dropped), which reproduces it exactly for
//! any `0 < p <= 1`.

use std::collections::VecDeque;

use mlx_rs::Array;
use sovits_core::nn::noise::{NoiseSource, RecordedNoise};
use sovits_core::{Error, Result};

/// One dropout call recorded on the reference side.
#[derive(Debug, Clone)]
pub struct RecordedCall {
    /// The `nn.Dropout` module's qualified name (`enc_p.encoder_ssl.drop`).
    pub module: String,
    /// The class owning that module (`module.attentions.Encoder`): it fixes
    /// the tensor layout.
    pub parent: String,
    /// Shape of the dropped tensor in the reference's layout.
    pub shape: Vec<i32>,
    /// Keep mask in the reference's layout, row-major.
    pub keep: Vec<bool>,
}

/// Splits little-endian packed bits (`np.packbits(.., bitorder="little")`)
/// into the masks of `calls` (module, parent, shape), in order.
pub fn unpack_calls(bits: &[u8], calls: Vec<(String, String, Vec<i32>)>) -> Vec<RecordedCall> {
    let mut at = 0usize;
    let bit = |i: usize| bits[i / 8] >> (i % 8) & 1 == 1;
    calls
        .into_iter()
        .map(|(module, parent, shape)| {
            let n: usize = shape.iter().map(|&d| d as usize).product();
            assert!((at + n).div_ceil(8) <= bits.len(), "mask bits end before call `{module}`");
            let keep = (at..at + n).map(bit).collect();
            at += n;
            RecordedCall { module, parent, shape, keep }
        })
        .collect()
}

/// The reference layout of a call as ours: `[B, C, T]` convs and residual
/// branches become channels-last `[B, T, C]`; the style encoder's
/// head-major attention `[H*B, T, T]` becomes `[B, H, T, T]`; attention
/// probabilities `[B, H, T, T]` and the style encoder's `[B, T, C]` linears
/// keep theirs. `want` is the shape our code asked for (it gives the heads).
fn to_our_layout(call: &RecordedCall, a: Array, want: &[i32]) -> Result<Array> {
    let s = &call.shape;
    Ok(match call.parent.as_str() {
        "module.attentions.Encoder" | "module.attentions.FFN" | "module.modules.Conv1dGLU" => a.transpose_axes(&[0, 2, 1])?,
        "module.modules.ScaledDotProductAttention" => {
            // heads come first in the reference: index h * B + b
            let (hb, t, u) = (s[0], s[1], s[2]);
            let h = want.get(1).copied().filter(|&h| h > 0 && hb % h == 0).unwrap_or(1);
            a.reshape(&[h, hb / h, t, u])?.transpose_axes(&[1, 0, 2, 3])?
        }
        "module.attentions.MultiHeadAttention" | "module.modules.MultiHeadAttention" | "torch.nn.modules.container.Sequential" => a,
        other => {
            return Err(Error::Plugin { plugin: "dropout-replay".into(), message: format!("no layout rule for `{other}`") });
        }
    })
}

/// The draw name our code should use for a reference module: the module
/// path without its `.drop`/`.dropout` leaf and one trailing index.
fn expected_prefix(module: &str) -> String {
    let base = module.strip_suffix(".dropout").or_else(|| module.strip_suffix(".drop")).unwrap_or(module);
    match base.rsplit_once('.') {
        Some((head, tail)) if tail.chars().all(|c| c.is_ascii_digit()) => format!("dropout.{head}"),
        _ => format!("dropout.{base}"),
    }
}

/// A noise source that answers every `dropout.*` uniform draw with the next
/// recorded mask (checking shape and module) and every other draw from
/// `others` (the recorded posterior noise and slice draw).
pub struct MaskReplay {
    calls: VecDeque<RecordedCall>,
    others: RecordedNoise,
    /// Our draw names, in order, paired with the reference module each got.
    pub log: Vec<(String, String)>,
}

impl MaskReplay {
    /// Masks of `calls` in order; other draws from `others`.
    pub fn new(calls: Vec<RecordedCall>, others: RecordedNoise) -> Self {
        Self { calls: calls.into(), others, log: Vec::new() }
    }

    /// Recorded calls not consumed, plus other draws left.
    pub fn remaining(&self) -> (usize, Vec<(String, usize)>) {
        (self.calls.len(), self.others.remaining())
    }
}

fn replay_err(message: String) -> Error {
    Error::Plugin { plugin: "dropout-replay".into(), message }
}

impl NoiseSource for MaskReplay {
    fn normal(&mut self, what: &str, shape: &[i32]) -> Result<Array> {
        self.others.normal(what, shape)
    }

    fn uniform(&mut self, what: &str, shape: &[i32]) -> Result<Array> {
        if !what.starts_with("dropout.") {
            return self.others.uniform(what, shape);
        }
        let call = self.calls.pop_front().ok_or_else(|| replay_err(format!("`{what}`: no recorded dropout call left")))?;
        let want = expected_prefix(&call.module);
        if !what.starts_with(&want) {
            return Err(replay_err(format!("`{what}` drew the mask of reference module `{}` (expected a draw named {want}*)", call.module)));
        }
        let u: Vec<f32> = call.keep.iter().map(|&k| if k { 1.0 } else { 0.0 }).collect();
        let ours = to_our_layout(&call, Array::from_slice(&u, &call.shape), shape)?;
        if ours.shape() != shape {
            return Err(Error::Shape {
                what: format!("dropout mask `{what}` (reference `{}`)", call.module),
                expected: format!("{shape:?}"),
                found: format!("{:?} (reference {:?})", ours.shape(), call.shape),
            });
        }
        self.log.push((what.to_string(), call.module.clone()));
        Ok(ours)
    }
}
