//! The two GPT-SoVITS `.pth` layouts and the optimizer index -> name map.
//!
//! * Inference weights (`process_ckpt.savee`): `{"weight": {key: fp16},
//!   "config": utils.HParams, "info": str[, "lora_rank"]}`.
//! * Training checkpoint (`utils.save_checkpoint`): `{"model": state_dict,
//!   "iteration": int, "optimizer": AdamW.state_dict(), "learning_rate": float}`.
//!
//! A torch optimizer `state_dict()` numbers parameters 0, 1, ... in the
//! order of the concatenated param groups' lists, and keys `state` by that
//! number. s2_train.py builds the generator's groups as: every parameter
//! except `enc_p.text_embedding`, `enc_p.encoder_text`, `enc_p.mrte` (in
//! `named_parameters` order), then those three modules in that order (at
//! lr x 0.4). The discriminator has one group in model order. Buffers (the
//! quantizer codebook state) appear in the state dict but not in any group.

use crate::error::{InteropError, Result};
use crate::pickle_read::Value;

/// Which layout a `.pth` file has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// A top-level `weight` state dict: `process_ckpt.savee` inference
    /// weights (`weight`/`config`/`info`), or the `pretrained_s2D` layout
    /// s2_train.py reads (`torch.load(f)["weight"]`; `config`/`info` optional).
    InferenceWeights,
    /// `utils.save_checkpoint` training checkpoint (`model`/`optimizer`/...).
    TrainingCheckpoint,
}

impl Layout {
    /// Name used in reports and `interop.json`.
    pub fn name(self) -> &'static str {
        match self {
            Layout::InferenceWeights => "gpt-sovits-inference-weights",
            Layout::TrainingCheckpoint => "gpt-sovits-training-checkpoint",
        }
    }
}

/// Detects the layout from the top-level dict's keys.
pub fn detect(top: &Value, what: &str) -> Result<Layout> {
    let keys = top.str_keys();
    if !matches!(top, Value::Dict { .. }) {
        return Err(InteropError::Layout { what: what.into(), message: format!("top level is a {}, expected a dict", top.kind()) });
    }
    let has = |k: &str| keys.contains(&k);
    if has("weight") {
        Ok(Layout::InferenceWeights)
    } else if has("model") {
        Ok(Layout::TrainingCheckpoint)
    } else {
        Err(InteropError::Layout {
            what: what.into(),
            message: format!(
                "unknown layout: top-level keys [{}]; expected GPT-SoVITS inference weights (weight[, config, info]) or a training checkpoint (model, iteration, optimizer, learning_rate)",
                keys.join(", ")
            ),
        })
    }
}

/// State-dict entries that are buffers, not parameters, in GPT-SoVITS
/// models: the `ResidualVectorQuantization` codebook state.
pub fn is_buffer(key: &str) -> bool {
    const BUFFERS: &[&str] = &["_codebook.inited", "_codebook.cluster_size", "_codebook.embed", "_codebook.embed_avg"];
    BUFFERS.iter().any(|b| key.ends_with(b))
}

/// Modules s2_train.py moves to their own param groups, in group order.
pub const S2_SPLIT_GROUPS: &[&str] = &["enc_p.text_embedding", "enc_p.encoder_text", "enc_p.mrte"];

fn in_module(key: &str, module: &str) -> bool {
    key.strip_prefix(module).is_some_and(|rest| rest.starts_with('.'))
}

/// Names of optimizer indices 0..n: `model_keys` is the state dict's key
/// order, `group_sizes` the length of each param group's `params` list.
///
/// Parameters are the non-buffer keys. With one group, or with group sizes
/// that do not match the s2_train split, the order is model order; when the
/// sizes match the s2_train split ([`S2_SPLIT_GROUPS`]), it is that split.
/// A total that differs from the parameter count is an error.
pub fn optimizer_param_names(model_keys: &[String], group_sizes: &[usize], what: &str) -> Result<Vec<String>> {
    let params: Vec<&String> = model_keys.iter().filter(|k| !is_buffer(k)).collect();
    let total: usize = group_sizes.iter().sum();
    if total != params.len() {
        return Err(InteropError::Layout {
            what: what.into(),
            message: format!(
                "optimizer param groups list {total} parameters ({group_sizes:?}) but the model has {} parameters ({} state-dict entries)",
                params.len(),
                model_keys.len()
            ),
        });
    }
    if group_sizes.len() == 1 + S2_SPLIT_GROUPS.len() {
        let mut groups: Vec<Vec<String>> = vec![Vec::new(); group_sizes.len()];
        for k in &params {
            let g = S2_SPLIT_GROUPS.iter().position(|m| in_module(k, m)).map_or(0, |i| i + 1);
            groups[g].push((*k).clone());
        }
        if groups.iter().map(Vec::len).eq(group_sizes.iter().copied()) {
            return Ok(groups.concat());
        }
    }
    Ok(params.into_iter().cloned().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s2_split_order_and_buffers() -> Result<()> {
        let keys: Vec<String> = [
            "enc_p.ssl_proj.weight",
            "enc_p.text_embedding.weight",
            "enc_p.mrte.c_pre.weight",
            "enc_p.encoder_text.x",
            "quantizer.vq.layers.0._codebook.embed",
            "dec.conv_pre.weight",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let n = optimizer_param_names(&keys, &[2, 1, 1, 1], "t")?;
        assert_eq!(n, ["enc_p.ssl_proj.weight", "dec.conv_pre.weight", "enc_p.text_embedding.weight", "enc_p.encoder_text.x", "enc_p.mrte.c_pre.weight"]);
        let n = optimizer_param_names(&keys, &[5], "t")?;
        assert_eq!(n[1], "enc_p.text_embedding.weight");
        assert!(optimizer_param_names(&keys, &[6], "t").is_err());
        Ok(())
    }
}
