//! Objective quality evaluation of sovits generators on held-out utterances:
//! mel L1 (the training definition), the `mrstft` distance, mel-cepstral
//! distortion (c1..c13, orthonormal DCT-II of the natural-log mel) and YIN
//! F0 RMSE in cents with the voicing-decision error rate, through both the
//! reconstruction and the inference path. Used by `sovits eval` and, through
//! [`hook::HeldOutEvaluator`], by the training run at `trainer.eval_every`.
//! Samples are written as 16-bit wav files, mel comparisons and the run's
//! curves as PNG figures (`plot`).
#![deny(missing_docs)]

pub mod held_out;
pub mod hook;
pub mod mcd;
pub mod pitch;
pub mod plot;
pub mod report;
pub mod scores;
pub mod wav;
pub mod yin;

pub use held_out::{Evaluation, ItemScores, SamplesOut, evaluate};
pub use hook::{HeldOutEvaluator, redraw_curves};
pub use scores::{Reference, Scorer, Scores};
pub use yin::YinConfig;
