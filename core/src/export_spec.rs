//! The spec's `export` section: GPT-SoVITS weight files written while
//! training, as `s2_train.py` does with `if_save_every_weights`
//! (`process_ckpt.savee` at every save, into `save_weight_dir`, named
//! `<name>_e<epoch>_s<step>.pth`).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// Options of `"export": {...}`; off by default.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ExportSpec {
    /// Write a GPT-SoVITS s2G `.pth` (fp16 inference weights) of G at every
    /// checkpoint and at the end of the run.
    pub gpt_sovits_weights: bool,
    /// Folder of those files; default `RUN/weights`.
    pub weights_dir: Option<PathBuf>,
    /// Experiment name used in the file names and the config; default: the
    /// run directory's name.
    pub name: Option<String>,
}
