//! `mel-l1`: the mel reconstruction loss of GPT-SoVITS stage-2 training.
//!
//! Reference: RVC-Boss/GPT-SoVITS `GPT_SoVITS/s2_train.py` (`train_and_evaluate`):
//! `mel = spec_to_mel_torch(spec)`, `y_mel = commons.slice_segments(mel, ids_slice,
//! segment_size // hop)`, `y_hat_mel = mel_spectrogram_torch(y_hat)`,
//! `loss_mel = F.l1_loss(y_mel, y_hat_mel)`; the weight (`c_mel` = 45) lives in the spec.
#![deny(missing_docs)]

use mlx_rs::{Array, ops};
use serde::{Deserialize, Serialize};
use sovits_core::components::{BuildContext, Loss, LossContext, LossTerms, Side};
use sovits_core::registry::{Factory, Kind};
use sovits_core::spec::ComponentSpec;
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

/// Frames `ids[b] .. ids[b] + frames` of each item, gathered on the device.
///
/// # Shapes
/// `x` `[B, T, C]`, `ids` `[B]` int32 -> `[B, frames, C]`. Starts must satisfy
/// `ids[b] + frames <= T` (the generator draws them that way); this is not checked
/// here, to avoid a host sync.
pub fn slice_segments(x: &Array, ids: &Array, frames: usize) -> Result<Array> {
    let shape = x.shape();
    if shape.len() != 3 || ids.shape() != [shape[0]] {
        return Err(Error::Shape {
            what: format!("{NAME} slice_segments (x, ids_slice)"),
            expected: "x [B, T, C] and ids_slice [B]".into(),
            found: format!("x {shape:?}, ids_slice {:?}", ids.shape()),
        });
    }
    let offsets = ops::arange::<_, i32>(0, frames as i32, 1)?.reshape(&[1, frames as i32, 1])?;
    let starts = ids
        .as_dtype(mlx_rs::Dtype::Int32)?
        .reshape(&[shape[0], 1, 1])?;
    let idx = ops::broadcast_to(starts.add(&offsets)?, &[shape[0], frames as i32, shape[2]])?;
    Ok(x.take_along_axis(&idx, 1)?)
}

impl Loss for MelL1 {
    fn sides(&self) -> &'static [Side] {
        &[Side::Generator]
    }

    /// # Shapes
    /// `batch.spec` `[B, T, n_freq]`, `ids_slice` `[B]`, `y_hat` `[B, segment_frames * hop]` -> scalar.
    fn generator(&self, ctx: &LossContext<'_>) -> Result<Option<LossTerms>> {
        let full_mel = ctx.frontend.spec_to_mel(&ctx.batch.spec)?;
        let target = slice_segments(&full_mel, &ctx.generated.ids_slice, ctx.segment_frames)?;
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

fn default_config() -> serde_json::Value {
    serde_json::to_value(Config::default()).unwrap_or(serde_json::Value::Null)
}

fn build(spec: &ComponentSpec, _ctx: &BuildContext) -> Result<Box<dyn Loss>> {
    let _config: Config = spec.parse_params(Kind::Loss)?;
    Ok(Box::new(MelL1))
}

inventory::submit! {
    sovits_core::Registration::new(
        NAME,
        "L1 between the sliced target log-mel and the log-mel of y_hat (GPT-SoVITS loss_mel)",
        default_config,
        Factory::Loss(build),
    )
}

/// Referenced by `sovits_plugins::link_all` so this crate and its registration are linked.
pub fn link() {}
