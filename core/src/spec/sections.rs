//! The non-component sections of a spec: optimizer groups, schedule,
//! trainer and data settings, each with its GPT-SoVITS v2 default.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::component::{ComponentSpec, empty_object};

/// A named parameter group's optimizer settings.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct GroupSpec {
    /// A group name the component declares (e.g. the generator's `text`).
    pub name: String,
    /// Learning-rate multiplier.
    #[serde(default = "one")]
    pub lr_scale: f32,
    /// Frozen groups get no update and no optimizer state.
    #[serde(default)]
    pub frozen: bool,
}

fn one() -> f32 {
    1.0
}

/// An optimizer: registered name, base learning rate, plugin params, groups.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct OptimizerSpec {
    /// Registered optimizer name (`adamw`, `adamw-bf16`).
    pub name: String,
    /// Base learning rate.
    pub learning_rate: f32,
    /// Plugin options (betas, eps, weight_decay).
    #[serde(default = "empty_object")]
    pub params: Value,
    /// Per-group lr multipliers and freezing.
    #[serde(default)]
    pub groups: Vec<GroupSpec>,
}

impl OptimizerSpec {
    /// This optimizer as a component entry (for registry lookup and params parsing).
    pub fn component(&self, at: &str) -> ComponentSpec {
        ComponentSpec { name: self.name.clone(), weight: None, params: self.params.clone(), at: at.to_string() }
    }
}

/// Learning-rate schedule: optional linear warm-up, then exponential decay per epoch.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ScheduleSpec {
    /// Decay factor applied once per epoch (GPT-SoVITS `lr_decay`).
    pub gamma: f32,
    /// Steps of linear warm-up from 0 (0 = none).
    pub warmup_steps: u64,
}

impl Default for ScheduleSpec {
    fn default() -> Self {
        Self { gamma: 0.999875, warmup_steps: 0 }
    }
}

/// Numeric precision of the training step.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    /// Everything in f32.
    F32,
    /// bf16 compute, f32 master weights, losses and STFT in f32.
    Bf16,
}

/// Trainer settings.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct TrainerSpec {
    /// Items per batch.
    pub batch_size: usize,
    /// Training segment in samples; a multiple of `data.hop_length`.
    pub segment_size: usize,
    /// Clip gradients to this global norm (None: measure only, as the reference).
    pub grad_clip: Option<f32>,
    /// Compute precision.
    pub precision: Precision,
    /// Under `bf16`: generator submodules (parameter-name prefixes such as
    /// `dec`) that keep computing in f32. The default keeps the HiFi-GAN
    /// decoder in f32: with it in bf16, its early layers' gradients were
    /// 8-100% off f32 and a 100-step run fell 32% behind (see
    /// `tests/tests/bf16.rs`). Ignored under `f32`.
    pub f32_modules: Vec<String>,
    /// Epochs to train.
    pub epochs: u64,
    /// Stop after this many steps (None: run all epochs).
    pub max_steps: Option<u64>,
    /// Steps between log lines.
    pub log_every: u64,
    /// Steps between evaluations on held-out clips.
    pub eval_every: u64,
    /// Steps between checkpoints.
    pub checkpoint_every: u64,
    /// Also write a checkpoint each time this many epochs are complete
    /// (GPT-SoVITS's `save_every_epoch`); 0 = off.
    pub checkpoint_every_epochs: u64,
    /// Checkpoints kept on disk (oldest removed first).
    pub keep_checkpoints: usize,
    /// Seed of every random draw.
    pub seed: u64,
    /// Skip invalid data items (counted) instead of refusing to train.
    pub skip_bad_items: bool,
    /// Stop the run after this many non-finite (skipped) steps in a row.
    pub max_nonfinite_in_row: u32,
    /// Evaluation metric (lower is better) that picks the run's `best/`
    /// checkpoint, e.g. `eval/mel_l1` or `eval/infer/mcd_db`.
    pub best_metric: String,
    /// MLX CPU streams the step spreads its independent parts over (one per
    /// core is the aim; `nn::lanes`). 0 or 1 runs everything on one stream;
    /// ignored on a GPU.
    pub cpu_streams: usize,
}

impl Default for TrainerSpec {
    fn default() -> Self {
        Self {
            batch_size: 32,
            segment_size: 20480,
            grad_clip: None,
            precision: Precision::F32,
            f32_modules: vec!["dec".into()],
            epochs: 100,
            max_steps: None,
            log_every: 100,
            eval_every: 500,
            checkpoint_every: 500,
            checkpoint_every_epochs: 0,
            keep_checkpoints: 3,
            seed: 1234,
            skip_bad_items: false,
            max_nonfinite_in_row: 10,
            best_metric: "eval/mel_l1".into(),
            cpu_streams: 2,
        }
    }
}

/// Dataset facts.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct DataSpec {
    /// Dataset directory (metadata.json + npy folders); the CLI's `--data` overrides it.
    pub dir: Option<PathBuf>,
    /// Audio sampling rate in Hz.
    pub sampling_rate: usize,
    /// Samples per spectrogram frame.
    pub hop_length: usize,
    /// Held-out items for evaluation.
    pub eval_items: usize,
}

impl Default for DataSpec {
    fn default() -> Self {
        Self { dir: None, sampling_rate: 32000, hop_length: 640, eval_items: 4 }
    }
}
