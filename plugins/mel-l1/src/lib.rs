//! `mel-l1`: the mel reconstruction loss of GPT-SoVITS stage-2 training.
//!
//! Reference: RVC-Boss/GPT-SoVITS `GPT_SoVITS/s2_train.py` (`train_and_evaluate`):
//! `mel = spec_to_mel_torch(spec)`, `y_mel = commons.slice_segments(mel, ids_slice,
//! segment_size // hop)`, `y_hat_mel = mel_spectrogram_torch(y_hat)`,
//! `loss_mel = F.l1_loss(y_mel, y_hat_mel)`; the weight (`c_mel` = 45) lives in the spec.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

use serde::{Deserialize, Serialize};
use sovits_core::components::{Loss, LossContext, LossTerms};
use sovits_core::nn::signal::slice_segments;
use sovits_core::{Error, Result};

/// Registered name of this loss.
pub const NAME: &str = "mel-l1";

/// Spec options for `"name": "mel-l1"`: none (the frontend comes from the spec's
/// `frontend` entry, the weight from the loss entry).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {}

/// Mean absolute difference between the sliced target log-mel and the log-mel of
/// the generated audio.
#[derive(Debug, Clone, Default)]
pub struct MelL1;

impl Loss for MelL1 {
    /// # Shapes
    /// `batch.spec` `[B, T, n_freq]`, `ids_slice` `[B]`, `y_hat` `[B, segment_frames * hop]` -> scalar.
    fn generator(&self, ctx: &LossContext<'_>) -> Result<Option<LossTerms>> {
        let full_mel = ctx.frontend.spec_to_mel(&ctx.batch.spec)?;
        let target = slice_segments(&full_mel, &ctx.generated.ids_slice, ctx.segment_frames as i32)?;
        let predicted = ctx.frontend.mel(ctx.y_hat)?;
        if predicted.shape() != target.shape() {
            return Err(Error::Shape {
                what: format!("{NAME}: mel of y_hat vs target mel sliced by ids_slice"),
                expected: format!("{:?} (target)", target.shape()),
                found: format!("{:?} (y_hat mel)", predicted.shape()),
            });
        }
        let value = target.subtract(&predicted)?.abs()?.mean(None)?;
        Ok(Some(LossTerms::scalar(value)))
    }
}

sovits_core::register!(loss, NAME, "L1 between the sliced target log-mel and the log-mel of y_hat (GPT-SoVITS loss_mel)", Config, |_config, _ctx| Ok(MelL1));
