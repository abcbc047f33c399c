//! Exporting a generator to files GPT-SoVITS loads: the s2G inference
//! layout (`.pth`) and plain safetensors.
//!
//! # What GPT-SoVITS checks (`GPT_SoVITS/process_ckpt.py`, commit 48b1a01)
//! `get_sovits_version_from_path_fast` decides the version before loading:
//! 1. the MD5 of the first 8192 bytes is compared with the three official
//!    pretrained files (never matches an export);
//! 2. if the first two bytes are not `PK`, they are a tag:
//!    `00` v1, `01` v2, `02` v3, `03` v3 LoRA, `04` v4 LoRA, `05` v2Pro,
//!    `06` v2ProPlus (`my_save2` overwrites `PK` for LoRA and Pro models);
//! 3. a file starting with `PK` is classified by size: under 82978 KiB ->
//!    "v1", under 700 MiB -> "v2", else v3.
//!
//! `load_sovits_new` then restores `PK` and `torch.load`s it, and both
//! `inference_webui.py` and `TTS_infer_pack/TTS.py` set
//! `hps.model.version` from the weights: no `enc_p.text_embedding.weight`
//! -> v3-style, 322 rows -> v1, otherwise v2; for a non-v3/v4, non-Pro
//! file that key decides the model version. They read
//! `hps.data.{filter_length,sampling_rate,hop_length,win_length,n_speakers}`,
//! `hps.train.segment_size` and pass `hps.model` as SynthesizerTrn kwargs,
//! with attribute access, so `config` must be a nested `utils.HParams`.
//!
//! Our exports start with `PK` (no tag, like `my_save`), have no
//! `lora_rank`, and must carry `enc_p.text_embedding.weight` with a row
//! count other than 322, so they load as v2. A full-size v2 export (fp16,
//! ~83 MB) also passes the size rule as v2; a smaller model (such as the
//! tiny test model) is reported as "v1" by the size rule alone, which only
//! picks the UI's language list before the key rule sets v2.

use std::path::Path;

use mlx_rs::Dtype;
use serde_json::Value as Json;
use sovits_core::components::ParamMap;
use sovits_core::nn::torch_layout::write_safetensors;

use crate::error::{InteropError, Result};
use crate::hparams;
use crate::pickle_read::Value;
use crate::pickle_write;
use crate::storages::Storages;
use crate::zip_container::write_pth;

/// Rows of the v1 text embedding; GPT-SoVITS treats such files as v1.
pub const V1_TEXT_VOCAB: usize = 322;

/// Config fields GPT-SoVITS reads when loading inference weights.
pub const REQUIRED_CONFIG: &[(&str, &str)] = &[
    ("data", "filter_length"),
    ("data", "sampling_rate"),
    ("data", "hop_length"),
    ("data", "win_length"),
    ("data", "n_speakers"),
    ("train", "segment_size"),
];

fn layout(out: &Path, message: impl Into<String>) -> InteropError {
    InteropError::Layout { what: out.display().to_string(), message: message.into() }
}

/// Checks that `config` and `g` will load in GPT-SoVITS as a v2 model.
fn check_v2(g: &ParamMap, config: &Json, out: &Path) -> Result<()> {
    for (section, field) in REQUIRED_CONFIG {
        if config.get(section).and_then(|s| s.get(field)).is_none() {
            return Err(layout(out, format!("config lacks `{section}.{field}`, which GPT-SoVITS reads when loading weights")));
        }
    }
    if !config.get("model").is_some_and(Json::is_object) {
        return Err(layout(out, "config lacks the `model` section (the SynthesizerTrn arguments)"));
    }
    let key = "enc_p.text_embedding.weight";
    let emb = g.get(key).ok_or_else(|| layout(out, format!("`{key}` is missing; GPT-SoVITS would load the file as v3")))?;
    if emb.shape().first().map(|&r| r as usize) == Some(V1_TEXT_VOCAB) {
        return Err(layout(out, format!("`{key}` has {V1_TEXT_VOCAB} rows; GPT-SoVITS would load the file as v1")));
    }
    Ok(())
}

/// Zip root folder name for `out` (its file stem, as `torch.save(path)` uses).
pub(crate) fn root_name(out: &Path) -> String {
    let stem = out.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let clean: String = stem.chars().map(|c| if c.is_ascii_alphanumeric() || "._-".contains(c) { c } else { '_' }).collect();
    if clean.is_empty() { "archive".into() } else { clean }
}

/// Writes the s2G inference layout `process_ckpt.savee` writes for v2:
/// an OrderedDict `{"weight": {key: fp16 tensor for every key not containing
/// "enc_q"}, "config": utils.HParams(**config) (nested HParams for each
/// section), "info": info}` in torch's zip format (stored entries,
/// `data.pkl`, `byteorder`, `data/<n>`, `version`, ...), atomically.
/// `config` is the s2.json-style hps (`train`, `data`, `model`, ...). A
/// v2Pro / v2ProPlus `model.version` writes `my_save2`'s tag (`05` / `06`)
/// over `PK`, as `savee(..., model_version=...)` does.
pub fn export_gpt_sovits(g: &ParamMap, config: &Json, info: &str, out: &Path) -> Result<()> {
    check_v2(g, config, out)?;
    let version = crate::pro::export_version(g, config, out)?;
    let mut items = Vec::new();
    let mut storages = Storages::default();
    for (key, a) in g.iter().filter(|(k, _)| !k.contains("enc_q")) {
        let a = if matches!(a.dtype(), Dtype::Float32 | Dtype::Float64 | Dtype::Bfloat16 | Dtype::Float16) {
            a.as_dtype(Dtype::Float16)?
        } else {
            a.clone()
        };
        let node = storages.tensor(&a, &format!("{}: weight[{key:?}]", out.display()))?;
        items.push((Value::Str(key.clone()), node));
    }
    let top = Value::Dict {
        ordered: true,
        items: vec![
            (Value::Str("weight".into()), Value::Dict { ordered: false, items }),
            (Value::Str("config".into()), hparams::from_json(config)),
            (Value::Str("info".into()), Value::Str(info.into())),
        ],
    };
    let pickle = pickle_write::to_bytes(&top);
    match crate::pro::head_tag(&version) {
        // v2Pro / v2ProPlus: `my_save2`'s version tag over `PK` (see `pro.rs`).
        Some(tag) => crate::pro::write_tagged(out, tag, |tmp| write_pth(tmp, &root_name(out), &pickle, &storages.entries)),
        None => write_pth(out, &root_name(out), &pickle, &storages.entries),
    }
}

/// Writes `g` as plain safetensors (dtypes kept, so f32 stays bit-exact).
pub fn export_safetensors(g: &ParamMap, out: &Path) -> Result<()> {
    Ok(write_safetensors(out, g)?)
}
