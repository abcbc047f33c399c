//! `sovits prepare`: wav files + transcripts -> a dataset directory.
//!
//! Per clip (facts from GPT-SoVITS `prepare_datasets/2-get-hubert-wav32k.py`):
//! decode (hound; mono by channel mean), resample to the frontend's rate, drop
//! clips with max|x| > 2.2, peak-mix `x / max|x| * 0.475 + 0.5 x`, drop clips
//! outside 0.6 s .. 54 s; spec with the given frontend (`linear`); phoneme ids via
//! espeak-ng (`phonemes.rs`). Semantic ids: only the `kmeans` STAND-IN exists
//! (`kmeans.rs`: log-mel frames at 25 Hz clustered into codes, NOT HuBERT); the
//! dataset is marked `"units": "kmeans-standin"`. Every dropped clip is counted
//! with its reason.

use std::path::{Path, PathBuf};

use mlx_rs::Array;

use super::kmeans;
use super::layout::{self, Folder};
use super::metadata::{ItemMeta, Metadata, Units};
use super::npy;
use super::phonemes;
use super::resample::resample;
use crate::components::SpectralFrontend;
use crate::error::{Error, Result};

/// Where semantic ids come from.
#[derive(Debug, Clone, PartialEq)]
pub enum PrepareUnits {
    /// The stand-in: k-means with `k` codes over log-mel frames at 25 Hz.
    Kmeans {
        /// Number of codes (at most the codebook size, 1024).
        k: usize,
    },
    /// HuBERT features provided as `<dir>/<stem>.npy` (`[768, T]` f32 at 50 Hz),
    /// written to `ssl/` and quantized to semantic ids by a model's quantizer
    /// (the reference pipeline); needs [`run_with`]'s quantizer.
    Ssl {
        /// Folder of the provided SSL feature files.
        dir: std::path::PathBuf,
    },
}

/// Maps SSL features `[1, T, 768]` to semantic ids `[1, T/2]` int32 (a
/// checkpoint's `ssl_proj` + quantizer, e.g. `Generator::semantic_ids`).
pub type Quantizer<'a> = &'a mut dyn FnMut(&Array) -> Result<Array>;

/// Options of `sovits prepare`.
#[derive(Debug, Clone)]
pub struct PrepareOptions {
    /// Folder with `<stem>.wav` (or `<stem>.flac`) files.
    pub audio_dir: PathBuf,
    /// Text file, one `stem|text` (or `stem<TAB>text`) per line.
    pub transcripts: PathBuf,
    /// Output dataset directory (created).
    pub out: PathBuf,
    /// Semantic units.
    pub units: PrepareUnits,
    /// espeak-ng voice (`en-us`).
    pub voice: String,
    /// Speaker name written to the metadata.
    pub speaker: String,
    /// Seed of the k-means initialisation.
    pub seed: u64,
}

/// What `prepare::run` did.
#[derive(Debug, Clone, Default)]
pub struct PrepareSummary {
    /// Items written.
    pub written: usize,
    /// Clips left out: (stem, reason).
    pub dropped: Vec<(String, String)>,
    /// Things the user must hear about (the stand-in units).
    pub warnings: Vec<String>,
}

fn data_err(path: &Path, message: impl Into<String>) -> Error {
    Error::Data { path: path.to_path_buf(), message: message.into() }
}

/// Lowest and highest sampling rates accepted from audio files, Hz: below or
/// above them a rate is a damaged header, and resampling from it would
/// allocate without bound.
pub const RATE_RANGE: std::ops::RangeInclusive<usize> = 1000..=768_000;

/// Checks a decoded header's sampling rate and integer sample width.
fn check_header(path: &Path, rate: usize, int_bits: Option<u32>) -> Result<()> {
    if !RATE_RANGE.contains(&rate) {
        return Err(data_err(path, format!("sample rate: expected {} ..= {} Hz, found {rate}", RATE_RANGE.start(), RATE_RANGE.end())));
    }
    if let Some(bits) = int_bits.filter(|b| !(1..=32).contains(b)) {
        return Err(data_err(path, format!("bits per sample: expected 1 ..= 32 for integer samples, found {bits}")));
    }
    Ok(())
}

/// Decodes a FLAC file to mono f32 in [-1, 1] and its sampling rate.
pub fn read_flac(path: &Path) -> Result<(Vec<f32>, usize)> {
    let mut r = claxon::FlacReader::open(path).map_err(|e| data_err(path, format!("cannot decode flac: {e}")))?;
    let info = r.streaminfo();
    check_header(path, info.sample_rate as usize, Some(info.bits_per_sample))?;
    let ch = info.channels.max(1) as usize;
    let scale = 1.0 / (1u64 << (info.bits_per_sample - 1)) as f32;
    let raw: Vec<f32> = r
        .samples()
        .map(|s| s.map(|v| v as f32 * scale))
        .collect::<std::result::Result<_, _>>()
        .map_err(|e| data_err(path, format!("cannot read samples: {e}")))?;
    let mono = raw.chunks(ch).map(|c| c.iter().sum::<f32>() / c.len() as f32).collect();
    Ok((mono, info.sample_rate as usize))
}

/// Reads `<dir>/<stem>.wav`, or `<dir>/<stem>.flac` when there is no wav.
pub fn read_audio(dir: &Path, stem: &str) -> Result<(Vec<f32>, usize, std::path::PathBuf)> {
    let wav = dir.join(format!("{stem}.wav"));
    let flac = dir.join(format!("{stem}.flac"));
    if !wav.exists() && flac.exists() {
        let (x, rate) = read_flac(&flac)?;
        return Ok((x, rate, flac));
    }
    let (x, rate) = read_wav(&wav)?;
    Ok((x, rate, wav))
}

/// Decodes a wav file to mono f32 in [-1, 1] and its sampling rate.
pub fn read_wav(path: &Path) -> Result<(Vec<f32>, usize)> {
    let mut r = hound::WavReader::open(path).map_err(|e| data_err(path, format!("cannot decode wav: {e}")))?;
    let spec = r.spec();
    let int_bits = (spec.sample_format == hound::SampleFormat::Int).then_some(u32::from(spec.bits_per_sample));
    check_header(path, spec.sample_rate as usize, int_bits)?;
    let ch = spec.channels.max(1) as usize;
    let raw: Vec<f32> = match spec.sample_format {
        hound::SampleFormat::Float => r.samples::<f32>().collect::<std::result::Result<_, _>>(),
        hound::SampleFormat::Int => {
            let scale = 1.0 / (1u64 << (spec.bits_per_sample - 1)) as f32;
            r.samples::<i32>().map(|s| s.map(|v| v as f32 * scale)).collect()
        }
    }
    .map_err(|e| data_err(path, format!("cannot read samples: {e}")))?;
    if let Some((i, v)) = raw.iter().enumerate().find(|(_, v)| !v.is_finite()) {
        return Err(data_err(path, format!("samples: expected finite values, found {v} at sample {i}")));
    }
    let mono = raw.chunks(ch).map(|c| c.iter().sum::<f32>() / c.len() as f32).collect();
    Ok((mono, spec.sample_rate as usize))
}

fn host(a: &Array) -> Result<Vec<f32>> {
    let a = mlx_rs::ops::reshape(a, &[-1])?;
    a.eval()?;
    Ok(a.as_slice::<f32>().to_vec())
}

fn host_i32(a: &Array) -> Result<Vec<i32>> {
    let a = mlx_rs::ops::reshape(&a.as_dtype(mlx_rs::Dtype::Int32)?, &[-1])?;
    a.eval()?;
    Ok(a.as_slice::<i32>().to_vec())
}

/// Parses the transcript file into (stem, text) pairs.
fn transcripts(path: &Path) -> Result<Vec<(String, String)>> {
    let text = std::fs::read_to_string(path).map_err(|e| data_err(path, format!("cannot read: {e}")))?;
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((stem, t)) = line.split_once('|').or_else(|| line.split_once('\t')) else {
            return Err(data_err(path, format!("line {}: expected `stem|text`, found `{line}`", n + 1)));
        };
        let stem = stem.trim();
        layout::check_stem(stem).map_err(|why| data_err(path, format!("line {}: stem {why}", n + 1)))?;
        out.push((stem.to_string(), t.trim().to_string()));
    }
    Ok(out)
}

/// Runs the preparation; see the module docs.
pub fn run(opts: &PrepareOptions, frontend: &dyn SpectralFrontend) -> Result<PrepareSummary> {
    run_with(opts, frontend, None)
}

/// Reads `<dir>/<stem>.npy` ([768, T'] f32), checks it against the `t` spec
/// frames (|T' - t| < 3, the reference's rule) and returns it channels-last
/// `[t][768]`, the last frame replicated or extra frames dropped.
fn read_ssl(dir: &std::path::Path, stem: &str, t: usize) -> Result<Vec<f32>> {
    let path = dir.join(format!("{stem}.npy"));
    let (info, v) = npy::read_f32(&path)?;
    let d = layout::SSL_DIM;
    if info.shape.len() != 2 || info.shape[0] != d {
        return Err(data_err(&path, format!("shape: expected [{d}, T], found {:?}", info.shape)));
    }
    let frames = info.shape[1];
    if frames.abs_diff(t) >= layout::SSL_TOLERANCE || frames == 0 {
        return Err(data_err(&path, format!("frames: expected within {} of {t} (samples // hop), found {frames}", layout::SSL_TOLERANCE - 1)));
    }
    Ok((0..t).flat_map(|j| { let src = j.min(frames - 1); (0..d).map(move |c| (c, src)) }).map(|(c, src)| v[c * frames + src]).collect())
}

/// [`run`] with a quantizer for [`PrepareUnits::Ssl`].
pub fn run_with(opts: &PrepareOptions, frontend: &dyn SpectralFrontend, mut quantize: Option<Quantizer<'_>>) -> Result<PrepareSummary> {
    if matches!(opts.units, PrepareUnits::Ssl { .. }) && quantize.is_none() {
        return Err(data_err(&opts.out, "semantic ids from SSL features need a model's quantizer (pass a checkpoint)"));
    }
    let sr = frontend.sampling_rate();
    let hop = frontend.hop_length();
    let mut summary = PrepareSummary::default();
    for f in [Folder::Audio, Folder::Spec, Folder::PhonemeIds, Folder::SemanticIds] {
        let d = opts.out.join(f.name());
        std::fs::create_dir_all(&d).map_err(|e| data_err(&d, format!("cannot create: {e}")))?;
    }
    let mut items = Vec::new();
    let mut mels: Vec<(String, Vec<f32>)> = Vec::new();
    let n_mels = frontend.n_mels();
    for (stem, text) in transcripts(&opts.transcripts)? {
        let (x, rate, wav) = read_audio(&opts.audio_dir, &stem)?;
        let x = resample(&x, rate, sr).map_err(|m| data_err(&wav, format!("cannot resample from {rate} Hz to {sr} Hz: {m}")))?;
        let peak = x.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        if peak > 2.2 {
            summary.dropped.push((stem, format!("max|x| = {peak:.3} > 2.2")));
            continue;
        }
        if peak == 0.0 {
            summary.dropped.push((stem, "silent clip (max|x| = 0)".into()));
            continue;
        }
        // the peak mix reaches 0.475 + 0.5 * peak; audio/ must stay in [-1, 1]
        if 0.475 + 0.5 * peak > 1.0 {
            summary.dropped.push((stem, format!("max|x| = {peak:.3}: the peak mix would leave [-1, 1]")));
            continue;
        }
        let secs = x.len() as f64 / sr as f64;
        if !(secs > layout::MIN_SECONDS && secs < layout::MAX_SECONDS) {
            summary.dropped.push((stem, format!("duration {secs:.3} s outside 0.6 s .. 54 s")));
            continue;
        }
        let x: Vec<f32> = x.iter().map(|v| v / peak * 0.475 + 0.5 * v).collect();
        let audio = Array::from_slice(&x, &[1, x.len() as i32]);
        let lin = host(&frontend.linear(&audio)?)?; // [1, T, F]
        let nf = frontend.n_freq();
        let t = lin.len() / nf;
        if t != x.len() / hop {
            return Err(data_err(&wav, format!("spec frames from the frontend: expected {} (= {} samples // {hop}), found {t}", x.len() / hop, x.len())));
        }
        let mut spec = vec![0.0f32; nf * t];
        for (j, row) in lin.chunks_exact(nf).enumerate() {
            for (f, &v) in row.iter().enumerate() {
                spec[f * t + j] = v;
            }
        }
        let (_, ids) = phonemes::text_to_ids(&text, &opts.voice)?;
        npy::write_f32(&Folder::Audio.file(&opts.out, &stem), &[x.len()], &x)?;
        npy::write_f32(&Folder::Spec.file(&opts.out, &stem), &[nf, t], &spec)?;
        npy::write_i32(&Folder::PhonemeIds.file(&opts.out, &stem), &[ids.len()], &ids)?;
        match (&opts.units, quantize.as_mut()) {
            (PrepareUnits::Ssl { dir }, Some(q)) => {
                let ssl = read_ssl(dir, &stem, t)?;
                let ssl_dir = opts.out.join(Folder::Ssl.name());
                std::fs::create_dir_all(&ssl_dir).map_err(|e| data_err(&ssl_dir, format!("cannot create: {e}")))?;
                let d = layout::SSL_DIM;
                let torch: Vec<f32> = (0..d * t).map(|i| ssl[(i % t) * d + i / t]).collect();
                npy::write_f32(&Folder::Ssl.file(&opts.out, &stem), &[d, t], &torch)?;
                let even = t - t % 2;
                let feats = Array::from_slice(&ssl[..even * d], &[1, even as i32, d as i32]);
                let codes: Vec<i32> = host_i32(&q(&feats)?)?;
                npy::write_i32(&Folder::SemanticIds.file(&opts.out, &stem), &[codes.len()], &codes)?;
            }
            _ => mels.push((stem.clone(), kmeans::halve_rate(&host(&frontend.mel(&audio)?)?, n_mels))),
        }
        items.push(ItemMeta {
            id: stem.clone(),
            speaker: opts.speaker.clone(),
            text,
            stem: None,
            samples: Some(x.len() as u64),
            frames: Some(t as u64),
            phonemes: Some(ids.len() as u64),
        });
    }
    let PrepareUnits::Kmeans { k } = opts.units else {
        summary.written = items.len();
        let meta = Metadata { version: 1, sampling_rate: sr, hop_length: hop, units: Units::Hubert, items };
        meta.save(&opts.out)?;
        return Ok(summary);
    };
    let all: Vec<f32> = mels.iter().flat_map(|(_, m)| m.iter().copied()).collect();
    let cent = kmeans::fit(&all, n_mels, k.min(layout::CODEBOOK_SIZE as usize), 20, opts.seed);
    for (stem, m) in &mels {
        let codes = kmeans::assign(&cent, n_mels, m);
        npy::write_i32(&Folder::SemanticIds.file(&opts.out, stem), &[codes.len()], &codes)?;
    }
    summary.warnings.push(format!(
        "STAND-IN UNITS: semantic_ids are k-means codes ({k}) of log-mel frames, NOT HuBERT units; \
         the dataset is marked \"units\": \"kmeans-standin\" and models trained on it are toys"
    ));
    summary.written = items.len();
    let meta = Metadata { version: 1, sampling_rate: sr, hop_length: hop, units: Units::KmeansStandin, items };
    meta.save(&opts.out)?;
    Ok(summary)
}
