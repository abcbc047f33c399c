//! Loading generator weights for inference: strict for every key inference
//! uses, while GPT-SoVITS inference files (`process_ckpt.savee`) omit the
//! posterior encoder `enc_q.*`, which inference never runs.

use mlx_rs::module::ModuleParameters;
use sovits_core::components::ParamMap;
use sovits_core::nn::torch_layout::{LoadReport, load_partial, load_strict};

use crate::error::{InteropError, Result};

/// The only key prefix inference weights may lack.
pub const NOT_USED_BY_INFERENCE: &str = "enc_q.";

/// Loads `weights` into `generator`. When `weights` hold no `enc_q.*` key,
/// all of `enc_q.*` may be missing (those parameters keep their
/// initialisation); every other key must be present with its shape, and no
/// key may be unexpected. Weights that do hold `enc_q.*` load fully strictly.
pub fn load_inference_weights<M: ModuleParameters + ?Sized>(generator: &mut M, weights: &ParamMap) -> Result<LoadReport> {
    if weights.keys().any(|k| k.starts_with(NOT_USED_BY_INFERENCE)) {
        load_strict(generator, weights)?;
        return Ok(LoadReport { loaded: weights.keys().cloned().collect(), ..Default::default() });
    }
    let before = sovits_core::nn::flatten_params(generator);
    let missing: Vec<&String> = before.keys().filter(|k| !k.starts_with(NOT_USED_BY_INFERENCE) && !weights.contains_key(*k)).collect();
    let unexpected: Vec<&String> = weights.keys().filter(|k| !before.contains_key(*k)).collect();
    if !missing.is_empty() || !unexpected.is_empty() {
        return Err(InteropError::Layout {
            what: "inference weights".into(),
            message: format!(
                "{} weight problem(s): missing {missing:?}; unexpected {unexpected:?} (only `{NOT_USED_BY_INFERENCE}*` may be absent)",
                missing.len() + unexpected.len()
            ),
        });
    }
    Ok(load_partial(generator, weights)?)
}
