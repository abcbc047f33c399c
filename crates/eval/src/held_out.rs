//! Scores a generator on dataset items through both synthesis paths:
//! reconstruction (the item's spectrogram through posterior -> flow -> decoder)
//! and inference (the item's semantic ids and phonemes, its own spectrogram as
//! the voice reference). Every random draw comes from a noise source seeded
//! with the given seed, so repeated evaluations of the same weights agree.

use std::collections::BTreeMap;
use std::path::Path;

use mlx_rs::Array;
use serde::Serialize;
use sovits_core::components::Generator;
use sovits_core::data::dataset::{Dataset, Sample};
use sovits_core::nn::noise::SeededNoise;
use sovits_core::{Error, InferInput, Result};

use crate::plot::mel::{MelFigure, draw};
use crate::scores::{Scorer, Scores};
use crate::wav::write_wav;

/// GPT-SoVITS's default prior noise scale at inference.
pub const NOISE_SCALE: f32 = 0.5;

/// One item's scores per path.
#[derive(Debug, Clone, Serialize)]
pub struct ItemScores {
    /// Item id.
    pub id: String,
    /// Reconstruction path.
    pub recon: Scores,
    /// Inference path (`None` for items without semantic ids).
    pub infer: Option<Scores>,
}

/// Scores of every evaluated item and their means.
#[derive(Debug, Clone, Serialize)]
pub struct Evaluation {
    /// Per item.
    pub items: Vec<ItemScores>,
    /// Means over items, keyed `eval/<path>/<metric>`, plus `eval/mel_l1`
    /// (the reconstruction path's, the validation counterpart of the training
    /// mel loss, which is also taken on the posterior path).
    pub metrics: BTreeMap<String, f64>,
}

impl Evaluation {
    /// The metrics as `(key, value)` pairs.
    pub fn pairs(&self) -> Vec<(String, f64)> {
        self.metrics.iter().map(|(k, v)| (k.clone(), *v)).collect()
    }
}

fn host(a: &Array) -> Result<Vec<f32>> {
    let a = a.reshape(&[-1])?.as_dtype(mlx_rs::Dtype::Float32)?;
    a.eval()?;
    Ok(a.as_slice::<f32>().to_vec())
}

/// The item's `[n_freq, T]` spectrogram as `[1, T, n_freq]`.
fn spec_array(s: &Sample) -> Result<Array> {
    let t = s.frames as i32;
    let f = if s.frames == 0 { 0 } else { (s.spec.len() / s.frames) as i32 };
    Ok(Array::from_slice(&s.spec, &[f, t]).transpose_axes(&[1, 0])?.reshape(&[1, t, f])?)
}

/// Where [`evaluate`] writes its samples, and the step they show.
#[derive(Debug, Clone, Copy)]
pub struct SamplesOut<'a> {
    /// Directory of the wavs and PNGs (created if missing).
    pub dir: &'a Path,
    /// Training step of the weights, for the figure titles (`None`: unknown).
    pub step: Option<u64>,
}

/// Evaluates `generator` on `items` of `dataset`; with `samples`, writes
/// `<id>_real.wav`, `<id>_recon.wav`, `<id>_infer.wav` and `<id>_mel.png`
/// (real, reconstruction, inference log-mels stacked, see [`crate::plot::mel`]) there.
pub fn evaluate(
    generator: &mut dyn Generator,
    scorer: &Scorer,
    dataset: &Dataset,
    items: &[usize],
    seed: u64,
    samples: Option<SamplesOut>,
) -> Result<Evaluation> {
    if let Some(SamplesOut { dir, .. }) = samples {
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::Data { path: dir.to_path_buf(), message: format!("cannot create samples directory: {e}") })?;
    }
    generator.set_training(false);
    let mut noise = SeededNoise::new(seed)?;
    let sr = scorer.frontend.sampling_rate();
    let mut out = Vec::with_capacity(items.len());
    for &index in items {
        let id = dataset.items().get(index).map(|i| i.id.clone()).unwrap_or_default();
        let sample = dataset.read(index)?;
        let spec = spec_array(&sample)?;
        let reference = scorer.reference_from_spec(&sample.audio, &spec)?;
        let lengths = Array::from_slice(&[sample.frames as i32], &[1]);
        // v2Pro/v2ProPlus: the item's speaker-verification embedding (sv/), it is also the refer.
        let sv = sample.sv.as_ref().map(|v| Array::from_slice(v, &[1, v.len() as i32]));
        let recon_audio = host(&generator.reconstruct(&spec, &lengths, sv.as_ref(), &mut noise)?)?;
        let recon = scorer.score(&reference, &recon_audio)?;
        let infer_audio = match &sample.semantic {
            Some(sem) => {
                let input = InferInput {
                    semantic: Array::from_slice(sem, &[1, sem.len() as i32]),
                    text: Array::from_slice(&sample.text, &[1, sample.text.len() as i32]),
                    text_lengths: Array::from_slice(&[sample.text.len() as i32], &[1]),
                    refer: spec.clone(),
                    refer_lengths: lengths.clone(),
                    noise_scale: NOISE_SCALE,
                    speed: 1.0,
                    sv: sv.clone(),
                };
                Some(host(&generator.infer(&input, &mut noise)?)?)
            }
            None => None,
        };
        let infer = infer_audio.as_deref().map(|a| scorer.score(&reference, a)).transpose()?;
        if let Some(SamplesOut { dir, step }) = samples {
            write_wav(&dir.join(format!("{id}_real.wav")), &sample.audio, sr)?;
            write_wav(&dir.join(format!("{id}_recon.wav")), &recon_audio, sr)?;
            let recon_mel = scorer.mel(&recon_audio)?;
            let infer_mel = match &infer_audio {
                Some(a) => {
                    write_wav(&dir.join(format!("{id}_infer.wav")), a, sr)?;
                    Some(scorer.mel(a)?)
                }
                None => None,
            };
            let mut panels: Vec<(&str, &[f32])> =
                vec![("real", reference.mel.as_slice()), ("reconstructed (posterior -> flow -> decoder)", recon_mel.as_slice())];
            if let Some(m) = &infer_mel {
                panels.push(("inferred (semantic ids + text, own spectrogram as reference)", m.as_slice()));
            }
            let title = match step {
                Some(n) => format!("{id}: log-mel spectrograms at step {n}"),
                None => format!("{id}: log-mel spectrograms"),
            };
            let frame_rate = sr as f64 / scorer.frontend.hop_length() as f64;
            let figure = MelFigure { title: &title, panels: &panels, n_mels: scorer.frontend.n_mels(), frame_rate };
            draw(&dir.join(format!("{id}_mel.png")), &figure)?;
        }
        out.push(ItemScores { id, recon, infer });
    }
    Ok(Evaluation { metrics: means(&out), items: out })
}

fn means(items: &[ItemScores]) -> BTreeMap<String, f64> {
    let mut sums: BTreeMap<String, (f64, usize)> = BTreeMap::new();
    for it in items {
        for (path, scores) in [("recon", Some(&it.recon)), ("infer", it.infer.as_ref())] {
            let Some(s) = scores else { continue };
            for (name, v) in s.named() {
                let e = sums.entry(format!("eval/{path}/{name}")).or_insert((0.0, 0));
                e.0 += v;
                e.1 += 1;
            }
        }
    }
    let mut m: BTreeMap<String, f64> = sums.into_iter().map(|(k, (s, n))| (k, s / n as f64)).collect();
    if let Some(v) = m.get("eval/recon/mel_l1").copied() {
        m.insert("eval/mel_l1".into(), v);
    }
    m
}
