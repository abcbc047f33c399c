//! Padding a list of samples into one batch (GPT-SoVITS `TextAudioSpeakerCollate`).
//!
//! Items are sorted by spec frames, longest first, as the reference does. Spec and
//! ssl are zero-padded to `2 * (T_max // 2 + 1)` frames (even, and at least one
//! frame longer than the longest item), semantic ids to half of that, audio to the
//! longest clip, text to the longest phoneme sequence. Spec and ssl are transposed
//! to channels-last here. Everything stays in host `Vec`s so a loader thread can
//! build it; [`HostBatch::to_batch`] makes the MLX arrays on the training thread.

use mlx_rs::Array;

use super::dataset::Sample;
use super::layout;
use crate::batch::Batch;
use crate::error::{Error, Result};

/// A padded batch in host memory (channels-last, like [`Batch`]).
#[derive(Debug, Clone, PartialEq)]
pub struct HostBatch {
    /// Dataset item indices, in batch order (longest spec first).
    pub items: Vec<usize>,
    /// Padded frames: `2 * (max frames // 2 + 1)`.
    pub frames: usize,
    /// Spectrogram `[B, frames, 1025]`.
    pub spec: Vec<f32>,
    /// Valid frames `[B]`.
    pub spec_lengths: Vec<i32>,
    /// SSL `[B, frames, 768]` when the dataset has ssl.
    pub ssl: Option<Vec<f32>>,
    /// Semantic ids `[B, frames / 2]` when the dataset has no ssl.
    pub semantic: Option<Vec<i32>>,
    /// Phoneme ids `[B, text_len]`, zero-padded.
    pub text: Vec<i32>,
    /// Padded phoneme length.
    pub text_len: usize,
    /// Valid phoneme ids `[B]`.
    pub text_lengths: Vec<i32>,
    /// Waveform `[B, audio_len]`, zero-padded.
    pub audio: Vec<f32>,
    /// Padded samples.
    pub audio_len: usize,
    /// Valid samples `[B]`.
    pub audio_lengths: Vec<i32>,
    /// Speaker-verification embeddings `[B, 20480]` when the dataset has `sv/`.
    pub sv: Option<Vec<f32>>,
}

fn shape_err(what: &str, expected: String, found: String) -> Error {
    Error::Shape { what: what.into(), expected, found }
}

fn as_i32(n: usize, what: &str) -> Result<i32> {
    i32::try_from(n).map_err(|_| shape_err(what, "a length < 2^31".into(), n.to_string()))
}

/// Pads `samples` (paired with their dataset indices) into one batch.
pub fn collate(mut samples: Vec<(usize, Sample)>) -> Result<HostBatch> {
    if samples.is_empty() {
        return Err(shape_err("collate", "at least one sample".into(), "0".into()));
    }
    // Stable sort: equal lengths keep sampler order.
    samples.sort_by(|a, b| b.1.frames.cmp(&a.1.frames));
    let b = samples.len();
    let max_frames = samples.iter().map(|s| s.1.frames).max().unwrap_or(0);
    let frames = 2 * (max_frames / 2 + 1);
    let text_len = samples.iter().map(|s| s.1.text.len()).max().unwrap_or(0);
    let audio_len = samples.iter().map(|s| s.1.audio.len()).max().unwrap_or(0);
    let with_ssl = samples[0].1.ssl.is_some();
    let with_sv = samples[0].1.sv.is_some();
    let f = layout::N_FREQ;
    let d = layout::SSL_DIM;

    let mut out = HostBatch {
        items: Vec::with_capacity(b),
        frames,
        spec: vec![0.0; b * frames * f],
        spec_lengths: Vec::with_capacity(b),
        ssl: with_ssl.then(|| vec![0.0; b * frames * d]),
        semantic: (!with_ssl).then(|| vec![0; b * (frames / 2)]),
        text: vec![0; b * text_len],
        text_len,
        text_lengths: Vec::with_capacity(b),
        audio: vec![0.0; b * audio_len],
        audio_len,
        audio_lengths: Vec::with_capacity(b),
        sv: with_sv.then(|| Vec::with_capacity(b * layout::SV_DIM)),
    };

    for (row, (index, s)) in samples.iter().enumerate() {
        let t = s.frames;
        if s.spec.len() != f * t {
            return Err(shape_err("collate spec", format!("[{f}, {t}]"), format!("{} values", s.spec.len())));
        }
        transpose_into(&s.spec, f, t, &mut out.spec[row * frames * f..(row + 1) * frames * f]);
        match (&mut out.ssl, &s.ssl, &mut out.semantic, &s.semantic) {
            (Some(dst), Some(src), _, _) => {
                if src.len() != d * t {
                    return Err(shape_err("collate ssl", format!("[{d}, {t}]"), format!("{} values", src.len())));
                }
                transpose_into(src, d, t, &mut dst[row * frames * d..(row + 1) * frames * d]);
            }
            (_, _, Some(dst), Some(src)) => {
                let half = frames / 2;
                let n = src.len().min(half);
                dst[row * half..row * half + n].copy_from_slice(&src[..n]);
            }
            _ => {
                return Err(shape_err(
                    "collate",
                    "every sample with ssl, or every sample with semantic ids".into(),
                    format!("item {index} differs from the first"),
                ))
            }
        }
        match (&mut out.sv, &s.sv) {
            (Some(dst), Some(src)) if src.len() == layout::SV_DIM => dst.extend_from_slice(src),
            (None, None) => {}
            _ => {
                return Err(shape_err(
                    "collate sv",
                    format!("[{}] for every sample or for none", layout::SV_DIM),
                    format!("item {index} differs from the first"),
                ))
            }
        }
        out.text[row * text_len..row * text_len + s.text.len()].copy_from_slice(&s.text);
        out.audio[row * audio_len..row * audio_len + s.audio.len()].copy_from_slice(&s.audio);
        out.items.push(*index);
        out.spec_lengths.push(as_i32(t, "spec frames")?);
        out.text_lengths.push(as_i32(s.text.len(), "phoneme ids")?);
        out.audio_lengths.push(as_i32(s.audio.len(), "audio samples")?);
    }
    Ok(out)
}

/// `[c, t]` row-major into the first `t` rows of a `[T, c]` row-major block.
fn transpose_into(src: &[f32], c: usize, t: usize, dst: &mut [f32]) {
    for (ch, row) in src.chunks_exact(t.max(1)).take(c).enumerate() {
        for (j, &v) in row.iter().enumerate() {
            dst[j * c + ch] = v;
        }
    }
}

impl HostBatch {
    /// Batch size.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// True for an empty batch (never produced by [`collate`]).
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Makes the MLX arrays (call on the training thread).
    pub fn to_batch(&self) -> Result<Batch> {
        let b = self.len() as i32;
        let t = self.frames as i32;
        let f = layout::N_FREQ as i32;
        let d = layout::SSL_DIM as i32;
        Ok(Batch {
            ssl: self.ssl.as_ref().map(|v| Array::from_slice(v, &[b, t, d])),
            semantic: self.semantic.as_ref().map(|v| Array::from_slice(v, &[b, t / 2])),
            spec: Array::from_slice(&self.spec, &[b, t, f]),
            spec_lengths: Array::from_slice(&self.spec_lengths, &[b]),
            text: Array::from_slice(&self.text, &[b, self.text_len as i32]),
            text_lengths: Array::from_slice(&self.text_lengths, &[b]),
            audio: Array::from_slice(&self.audio, &[b, self.audio_len as i32]),
            audio_lengths: Array::from_slice(&self.audio_lengths, &[b]),
            sv: self.sv.as_ref().map(|v| Array::from_slice(v, &[b, layout::SV_DIM as i32])),
        })
    }
}
