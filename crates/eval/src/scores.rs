//! The four distances between a reference and a generated utterance, all
//! frame-aligned (the first frames of each; no time warping):
//! mel L1 (the training definition: mean |log-mel target - log-mel(generated)|
//! through the spec's frontend), the `mrstft` loss value, mel-cepstral
//! distortion and the YIN pitch scores.

use mlx_rs::Array;
use serde::Serialize;
use sovits_core::components::SpectralFrontend;
use sovits_core::{Error, Result};
use sovits_plugin_mrstft::Mrstft;

use crate::mcd::mel_cepstral_distortion;
use crate::pitch::{PitchScores, compare};
use crate::yin::{YinConfig, track};

/// Scores of one generated utterance against its reference.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Scores {
    /// Mean absolute log-mel difference.
    pub mel_l1: f64,
    /// `mrstft` loss (spectral convergence + log-magnitude L1, averaged over resolutions).
    pub mrstft: f64,
    /// Mel-cepstral distortion in dB (`None` with 13 or fewer mel bands).
    pub mcd_db: Option<f64>,
    /// F0 RMSE in cents over frames voiced in both (`None` when none is).
    pub f0_rmse_cents: Option<f64>,
    /// Voicing-decision error rate.
    pub vde: f64,
}

impl Scores {
    /// `(name, value)` pairs; absent values are left out.
    pub fn named(&self) -> Vec<(&'static str, f64)> {
        let mut out = vec![("mel_l1", self.mel_l1), ("mrstft", self.mrstft)];
        if let Some(v) = self.mcd_db {
            out.push(("mcd_db", v));
        }
        if let Some(v) = self.f0_rmse_cents {
            out.push(("f0_rmse_cents", v));
        }
        out.push(("vde", self.vde));
        out
    }
}

/// A reference utterance: its audio, its log-mel target and its f0 track.
#[derive(Debug, Clone)]
pub struct Reference {
    /// Waveform.
    pub audio: Vec<f32>,
    /// Log-mel `[frames, n_mels]` row-major.
    pub mel: Vec<f32>,
    /// YIN track of `audio`.
    pub f0: Vec<Option<f32>>,
}

/// Metric settings: the spec's frontend, the `mrstft` definition and YIN.
pub struct Scorer {
    /// The spectral frontend of the spec (mel definition of training).
    pub frontend: Box<dyn SpectralFrontend>,
    /// The multi-resolution STFT distance.
    pub mrstft: Mrstft,
    /// Pitch tracker settings.
    pub yin: YinConfig,
}

fn host(a: &Array) -> Result<Vec<f32>> {
    let a = a.as_dtype(mlx_rs::Dtype::Float32)?;
    a.eval()?;
    Ok(a.as_slice::<f32>().to_vec())
}

fn row(audio: &[f32]) -> Array {
    Array::from_slice(audio, &[1, audio.len() as i32])
}

impl Scorer {
    /// A scorer with the default `mrstft` resolutions and speech YIN at the
    /// frontend's rate and hop.
    pub fn new(frontend: Box<dyn SpectralFrontend>) -> Result<Self> {
        let yin = YinConfig::speech(frontend.sampling_rate(), frontend.hop_length());
        Ok(Self { frontend, mrstft: sovits_plugin_mrstft::Config::default().build()?, yin })
    }

    /// A reference whose log-mel target is the frontend's mel of `audio`.
    pub fn reference_from_audio(&self, audio: &[f32]) -> Result<Reference> {
        let mel = host(&self.frontend.mel(&row(audio))?)?;
        Ok(Reference { audio: audio.to_vec(), mel, f0: track(audio, &self.yin) })
    }

    /// A reference whose log-mel target is `spec_to_mel` of a stored linear
    /// spectrogram `[1, T, n_freq]`, exactly as the training mel loss takes it.
    pub fn reference_from_spec(&self, audio: &[f32], spec: &Array) -> Result<Reference> {
        let mel = host(&self.frontend.spec_to_mel(spec)?)?;
        Ok(Reference { audio: audio.to_vec(), mel, f0: track(audio, &self.yin) })
    }

    /// Log-mel `[frames, n_mels]` of host audio.
    pub fn mel(&self, audio: &[f32]) -> Result<Vec<f32>> {
        host(&self.frontend.mel(&row(audio))?)
    }

    /// Scores `generated` against `reference`.
    pub fn score(&self, reference: &Reference, generated: &[f32]) -> Result<Scores> {
        let m = self.frontend.n_mels();
        let gen_mel = self.mel(generated)?;
        let frames = (reference.mel.len() / m).min(gen_mel.len() / m);
        if frames == 0 {
            return Err(Error::Shape {
                what: "evaluation: mel frames of reference and generated audio".into(),
                expected: "at least one frame each".into(),
                found: format!("{} and {}", reference.mel.len() / m, gen_mel.len() / m),
            });
        }
        let n = frames * m;
        let mel_l1 = reference.mel[..n].iter().zip(&gen_mel[..n]).map(|(a, b)| (a - b).abs() as f64).sum::<f64>() / n as f64;
        let samples = reference.audio.len().min(generated.len());
        let terms = self.mrstft.forward(&row(&reference.audio[..samples]), &row(&generated[..samples]))?;
        let mrstft = host(&terms.value)?.first().copied().unwrap_or(f32::NAN) as f64;
        let mcd_db = mel_cepstral_distortion(&reference.mel[..n], &gen_mel[..n], m);
        let PitchScores { f0_rmse_cents, voicing_error, .. } = compare(&reference.f0, &track(generated, &self.yin));
        Ok(Scores { mel_l1, mrstft, mcd_db, f0_rmse_cents, vde: voicing_error })
    }
}
