//! The `config` GPT-SoVITS stores in an s2G file, built from a sovits spec.
//!
//! `s2_train.py` saves `hps`: `GPT_SoVITS/configs/s2.json` (v2) as the WebUI
//! rewrites it before training (`webui.py::open1Ba`, commit 48b1a01), i.e.
//! `train` with the WebUI's additions (`pretrained_s2G`, `pretrained_s2D`,
//! `if_save_latest`, `if_save_every_weights`, `save_every_epoch`,
//! `gpu_numbers`, `lora_rank`), `data` with `exp_dir`, `model` with `version`,
//! and the top-level `s2_ckpt_dir`, `content_module`, `save_weight_dir`,
//! `name`, `version`. GPT-SoVITS passes `hps.model` to `SynthesizerTrn` as
//! keyword arguments after `spec_channels` (positional), so `model` holds
//! exactly the s2.json keys: our extra generator fields (`spec_channels`,
//! MRTE and reference-encoder sizes, ...) are hard-coded in the reference and
//! must not appear. Each value has the type the reference gives it (int or
//! float as in s2.json); floats are the spec's decimal values, not the
//! f32 struct fields widened (`0.1`, never `0.10000000149011612`).

use serde_json::{Map, Value as Json, json};
use sovits_core::{Kind, Spec, registry};

use crate::error::{InteropError, Result};

/// The s2.json `model` keys (the SynthesizerTrn keyword arguments) and
/// whether the reference writes each number as a float.
pub const MODEL_KEYS: &[&str] = &[
    "inter_channels",
    "hidden_channels",
    "filter_channels",
    "n_heads",
    "n_layers",
    "kernel_size",
    "p_dropout",
    "resblock",
    "resblock_kernel_sizes",
    "resblock_dilation_sizes",
    "upsample_rates",
    "upsample_initial_channel",
    "upsample_kernel_sizes",
    "n_layers_q",
    "use_spectral_norm",
    "gin_channels",
    "semantic_frame_rate",
    "freeze_quantizer",
    "version",
];

/// Run-specific strings written into the config (ours, never the fixture's).
#[derive(Debug, Clone, Default)]
pub struct RunStrings {
    /// `name` (the experiment name; GPT-SoVITS names weight files after it).
    pub name: String,
    /// `data.exp_dir` and `s2_ckpt_dir` (the run directory).
    pub exp_dir: String,
    /// `save_weight_dir` (where the `.pth` weights go).
    pub save_weight_dir: String,
    /// `train.pretrained_s2G` (the `--init-from` file, or empty).
    pub pretrained_s2g: String,
    /// `train.pretrained_s2D` (the `--init-d-from` file, or empty).
    pub pretrained_s2d: String,
    /// `train.if_save_every_weights`.
    pub save_every_weights: bool,
    /// `train.save_every_epoch`.
    pub save_every_epoch: i64,
}

/// The decimal a spec file gave for an f32 field: the shortest decimal that
/// rounds to the same f32 (`0.1f32` -> `0.1`).
pub fn f32_decimal(x: f64) -> f64 {
    let f = x as f32;
    format!("{f}").parse::<f64>().unwrap_or(x)
}

/// A float-typed JSON number (`45` -> `45.0`), with f32 decimals restored.
fn float(x: f64) -> Json {
    serde_json::Number::from_f64(f32_decimal(x)).map_or(Json::Null, Json::Number)
}

/// An int-typed JSON number; a non-integral value is an error naming the key.
fn int(x: f64, key: &str) -> Result<Json> {
    let x = f32_decimal(x);
    if x.fract() != 0.0 {
        return Err(InteropError::Layout {
            what: format!("config.{key}"),
            message: format!("GPT-SoVITS stores an integer here; the spec has {x}"),
        });
    }
    Ok(json!(x as i64))
}

/// A plugin's full config: its defaults overlaid with the spec's params.
fn full_params(kind: Kind, name: &str, params: &Json, at: &str) -> Result<Map<String, Json>> {
    let reg = registry::find(kind, name, at)?;
    let mut m = match (reg.default_config)() {
        Json::Object(m) => m,
        _ => Map::new(),
    };
    if let Some(p) = params.as_object() {
        m.extend(p.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
    Ok(m)
}

/// Restores f32 decimals inside a value (numbers that are not integers).
fn clean_floats(v: &Json) -> Json {
    match v {
        Json::Number(n) if n.as_i64().is_none() => n.as_f64().map_or(Json::Null, float),
        Json::Array(a) => Json::Array(a.iter().map(clean_floats).collect()),
        other => other.clone(),
    }
}

/// Builds the GPT-SoVITS config for `spec`'s generator. Returns it with
/// warnings: generator fields GPT-SoVITS hard-codes whose value differs
/// from the reference's (such a model does not build in GPT-SoVITS
/// unmodified), and `spec_channels` not equal to `filter_length / 2 + 1`.
pub fn s2_config(spec: &Spec, run: &RunStrings) -> Result<(Json, Vec<String>)> {
    let gen_reg = registry::find(Kind::Generator, &spec.generator.name, "generator")?;
    let defaults = (gen_reg.default_config)();
    let g = full_params(Kind::Generator, &spec.generator.name, &spec.generator.params, "generator")?;
    let fe = full_params(Kind::Frontend, &spec.frontend.name, &spec.frontend.params, "frontend")?;
    let num = |m: &Map<String, Json>, k: &str| m.get(k).and_then(Json::as_f64);
    let n_fft = num(&fe, "n_fft").unwrap_or(2048.0);
    let mut warnings = Vec::new();
    let mut model = Map::new();
    for key in MODEL_KEYS {
        let v = g.get(*key).cloned().unwrap_or(Json::Null);
        model.insert((*key).to_string(), clean_floats(&v));
    }
    // the generator's own version (v2, v2Pro or v2ProPlus); GPT-SoVITS reads it from model.version
    let version = g.get("version").and_then(Json::as_str).unwrap_or("v2").to_string();
    model.insert("version".into(), json!(version));
    for (k, v) in &g {
        if MODEL_KEYS.contains(&k.as_str()) {
            continue;
        }
        if k == "spec_channels" {
            if v.as_f64() != Some((n_fft as i64 / 2 + 1) as f64) {
                warnings.push(format!("generator spec_channels = {v}, but GPT-SoVITS uses filter_length / 2 + 1 = {}", n_fft as i64 / 2 + 1));
            }
        } else if defaults.get(k).is_some_and(|d| clean_floats(d) != clean_floats(v)) {
            warnings.push(format!(
                "generator {k} = {v}; GPT-SoVITS hard-codes {}: the file will not load in unmodified GPT-SoVITS",
                defaults[k]
            ));
        }
    }
    let loss_w = |name: &str, dflt: f32| spec.losses.iter().find(|l| l.name == name).and_then(|l| l.weight).unwrap_or(dflt) as f64;
    let opt = &spec.optimizer_g.params;
    let betas: Vec<Json> = opt.get("betas").and_then(Json::as_array).map_or_else(|| vec![json!(0.8), json!(0.99)], |b| b.iter().map(clean_floats).collect());
    let text_lr = spec.optimizer_g.groups.iter().find(|g| g.name == "text").map_or(1.0, |g| g.lr_scale) as f64;
    let t = &spec.trainer;
    let train = json!({
        "log_interval": t.log_every,
        "eval_interval": t.eval_every,
        "seed": t.seed,
        "epochs": t.epochs,
        "learning_rate": float(spec.optimizer_g.learning_rate as f64),
        "betas": betas,
        "eps": float(opt.get("eps").and_then(Json::as_f64).unwrap_or(1e-9)),
        "batch_size": t.batch_size,
        "fp16_run": !matches!(serde_json::to_value(t.precision).ok().and_then(|p| p.as_str().map(str::to_owned)).as_deref(), Some("f32")),
        "lr_decay": float(spec.schedule.gamma as f64),
        "segment_size": t.segment_size,
        "init_lr_ratio": 1,
        "warmup_epochs": 0,
        "c_mel": int(loss_w("mel-l1", 45.0), "train.c_mel")?,
        "c_kl": float(loss_w("kl", 1.0)),
        "text_low_lr_rate": float(text_lr),
        "grad_ckpt": false,
        "pretrained_s2G": run.pretrained_s2g,
        "pretrained_s2D": run.pretrained_s2d,
        "if_save_latest": true,
        "if_save_every_weights": run.save_every_weights,
        "save_every_epoch": run.save_every_epoch,
        "gpu_numbers": "0",
        "lora_rank": "32",
    });
    let fmax = match fe.get("fmax") {
        Some(Json::Number(n)) => float(n.as_f64().unwrap_or(0.0)),
        _ => Json::Null,
    };
    let data = json!({
        "max_wav_value": 32768.0,
        "sampling_rate": spec.data.sampling_rate,
        "filter_length": int(n_fft, "data.filter_length")?,
        "hop_length": int(num(&fe, "hop_length").unwrap_or(spec.data.hop_length as f64), "data.hop_length")?,
        "win_length": int(num(&fe, "win_length").unwrap_or(n_fft), "data.win_length")?,
        "n_mel_channels": int(num(&fe, "n_mels").unwrap_or(128.0), "data.n_mel_channels")?,
        "mel_fmin": float(num(&fe, "fmin").unwrap_or(0.0)),
        "mel_fmax": fmax,
        "add_blank": true,
        "n_speakers": 300,
        "cleaned_text": true,
        "exp_dir": run.exp_dir,
    });
    let config = json!({
        "train": train,
        "data": data,
        "model": Json::Object(model),
        "s2_ckpt_dir": run.exp_dir,
        "content_module": "cnhubert",
        "save_weight_dir": run.save_weight_dir,
        "name": run.name,
        "version": version,
    });
    Ok((config, warnings))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn f32_fields_keep_their_decimals() {
        assert_eq!(f32_decimal(0.1f32 as f64), 0.1);
        assert_eq!(f32_decimal(1e-4f32 as f64), 1e-4);
        assert_eq!(f32_decimal(0.999875f32 as f64), 0.999875);
        assert_eq!(float(45.0), json!(45.0));
        assert!(int(0.5, "x").is_err());
    }
}
