//! Checkpoints: one directory per save holding the generator, the
//! discriminator(s) and both optimizers' state as safetensors (GPT-SoVITS key
//! names), plus `meta.json` (step, epoch, learning rates, noise key, data
//! cursor) and the resolved `spec.json`. Each save is written into a
//! temporary directory and renamed into place, so a crash mid-save leaves the
//! previous checkpoint intact; only the newest `keep` are kept.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::components::ParamMap;
use crate::error::{Error, Result};
use crate::nn::noise::SeededNoise;
use crate::nn::torch_layout::{load_partial, load_strict, read_safetensors, write_safetensors};
use crate::spec::Spec;
use crate::train::params;
use crate::train::trainer::Trainer;

/// Version of the checkpoint layout written by this build.
pub const FORMAT_VERSION: u32 = 1;

/// The JSON side of a checkpoint.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CheckpointMeta {
    /// Layout version ([`FORMAT_VERSION`]).
    pub format_version: u32,
    /// Steps taken.
    pub step: u64,
    /// Epoch the next step belongs to.
    pub epoch: u64,
    /// Generator learning rate at the save.
    pub learning_rate_g: f32,
    /// Discriminator learning rate at the save.
    pub learning_rate_d: f32,
    /// The noise source's PRNG key (its whole state).
    pub noise_key: Vec<u32>,
    /// Non-finite steps in a row at the save.
    pub nonfinite_in_row: u32,
    /// Where the data loader stands (opaque to the checkpoint code).
    pub data_cursor: serde_json::Value,
    /// Units of the training data (`hubert`, or `kmeans-standin` for a toy
    /// model trained on stand-in units); absent when unknown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_units: Option<String>,
}

fn io(path: &Path, what: &str, e: std::io::Error) -> Error {
    Error::Weights(format!("cannot {what} {}: {e}", path.display()))
}

/// Directory name of the checkpoint after `step` steps.
pub fn dir_name(step: u64) -> String {
    format!("step-{step:08}")
}

/// Checkpoint directories under `run/checkpoints`, oldest first.
pub fn list(run: &Path) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(run.join("checkpoints"))
        .map(|rd| {
            rd.flatten()
                .map(|e| e.path())
                .filter(|p| {
                    p.is_dir()
                        && p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with("step-"))
                        && p.join("meta.json").is_file()
                })
                .collect()
        })
        .unwrap_or_default();
    dirs.sort();
    dirs
}

/// The newest complete checkpoint of a run, if any.
pub fn latest(run: &Path) -> Option<PathBuf> {
    list(run).pop()
}

/// Generator parameters to save: the model's tensors with the trainable
/// ones replaced by their f32 masters and the frozen ones by their f32
/// copies (bf16 runs).
fn generator_tensors(t: &Trainer) -> ParamMap {
    let mut all = params::collect(&*t.gan.generator, "");
    all.extend(t.g_master.iter().chain(&t.g_frozen).map(|(k, v)| (k.clone(), v.clone())));
    all
}

fn discriminator_tensors(t: &Trainer) -> ParamMap {
    let mut all = t.gan.discriminator_params();
    all.extend(t.d_master.iter().map(|(k, v)| (k.clone(), v.clone())));
    all
}

/// Writes a checkpoint of `t` into `run/checkpoints/step-N` and removes all
/// but the newest `keep`. Returns the directory.
pub fn save(t: &Trainer, run: &Path, data_cursor: serde_json::Value, keep: usize) -> Result<PathBuf> {
    let root = run.join("checkpoints");
    std::fs::create_dir_all(&root).map_err(|e| io(&root, "create", e))?;
    let final_dir = root.join(dir_name(t.step));
    save_to(t, &final_dir, data_cursor)?;
    let all = list(run);
    if keep > 0 && all.len() > keep {
        for old in &all[..all.len() - keep] {
            std::fs::remove_dir_all(old).map_err(|e| io(old, "remove", e))?;
        }
    }
    Ok(final_dir)
}

/// Writes a checkpoint of `t` into `final_dir` (replacing it) through a
/// temporary sibling directory renamed into place.
pub fn save_to(t: &Trainer, final_dir: &Path, data_cursor: serde_json::Value) -> Result<()> {
    let root = final_dir.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(root).map_err(|e| io(root, "create", e))?;
    let name = final_dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| dir_name(t.step));
    let tmp = root.join(format!(".{name}.tmp-{}", std::process::id()));
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp).map_err(|e| io(&tmp, "clear", e))?;
    }
    std::fs::create_dir_all(&tmp).map_err(|e| io(&tmp, "create", e))?;
    write_safetensors(&tmp.join("G.safetensors"), &generator_tensors(t))?;
    write_safetensors(&tmp.join("D.safetensors"), &discriminator_tensors(t))?;
    write_safetensors(&tmp.join("opt_g.safetensors"), &t.opt_g.state()?)?;
    write_safetensors(&tmp.join("opt_d.safetensors"), &t.opt_d.state()?)?;
    let key = t.noise.key().as_dtype(mlx_rs::Dtype::Uint32)?;
    key.eval()?;
    let meta = CheckpointMeta {
        format_version: FORMAT_VERSION,
        step: t.step,
        epoch: t.epoch,
        learning_rate_g: t.opt_g.learning_rate(),
        learning_rate_d: t.opt_d.learning_rate(),
        noise_key: key.as_slice::<u32>().to_vec(),
        nonfinite_in_row: t.nonfinite_in_row,
        data_cursor,
        data_units: t.data_units.clone(),
    };
    let write_json = |name: &str, text: String| -> Result<()> {
        let p = tmp.join(name);
        std::fs::write(&p, text).map_err(|e| io(&p, "write", e))
    };
    write_json("meta.json", serde_json::to_string_pretty(&meta).map_err(|e| Error::Weights(e.to_string()))?)?;
    write_json("spec.json", t.spec.to_json())?;
    if final_dir.exists() {
        std::fs::remove_dir_all(final_dir).map_err(|e| io(final_dir, "replace", e))?;
    }
    std::fs::rename(&tmp, final_dir).map_err(|e| io(final_dir, "rename into", e))?;
    Ok(())
}

/// Reads a checkpoint's metadata.
pub fn read_meta(dir: &Path) -> Result<CheckpointMeta> {
    let p = dir.join("meta.json");
    let text = std::fs::read_to_string(&p).map_err(|e| io(&p, "read", e))?;
    let meta: CheckpointMeta =
        serde_json::from_str(&text).map_err(|e| Error::Weights(format!("{}: {e}", p.display())))?;
    if meta.format_version != FORMAT_VERSION {
        return Err(Error::Weights(format!(
            "{}: checkpoint format {} is not supported (this build reads {FORMAT_VERSION})",
            p.display(),
            meta.format_version
        )));
    }
    Ok(meta)
}

/// Loads generator and discriminator weights (strictly: every key, every
/// shape) from `G.safetensors` / `D.safetensors` in `dir`, or from a single
/// generator safetensors file, into `t` and its master copies. Generator keys
/// under one of `may_lack` (e.g. `enc_q.`, which GPT-SoVITS inference files
/// omit) may be missing and then keep their initial values.
pub fn load_weights(t: &mut Trainer, source: &Path, may_lack: &[String]) -> Result<()> {
    let (g_path, d_path) = if source.is_dir() {
        (source.join("G.safetensors"), Some(source.join("D.safetensors")))
    } else {
        (source.to_path_buf(), None)
    };
    let g = read_safetensors(&g_path)?;
    let in_file = |e| Error::Weights(format!("{}: {e}", g_path.display()));
    if may_lack.is_empty() {
        load_strict(&mut *t.gan.generator, &g).map_err(in_file)?;
    } else {
        let report = load_partial(&mut *t.gan.generator, &g).map_err(in_file)?;
        let not_allowed: Vec<&String> =
            report.missing.iter().filter(|k| !may_lack.iter().any(|p| k.starts_with(p.as_str()))).collect();
        if !not_allowed.is_empty() || !report.unexpected.is_empty() {
            return Err(Error::Weights(format!(
                "{}: missing {:?}; unexpected {:?}",
                g_path.display(),
                not_allowed,
                report.unexpected
            )));
        }
    }
    for (k, v) in t.g_master.iter_mut() {
        if let Some(loaded) = g.get(k) {
            *v = loaded.as_dtype(mlx_rs::Dtype::Float32)?;
        }
    }
    if let Some(d_path) = d_path.filter(|p| p.is_file()) {
        let d = read_safetensors(&d_path)?;
        for disc in &mut t.gan.discriminators {
            let prefix = &disc.prefix;
            let part: ParamMap =
                d.iter().filter_map(|(k, v)| k.strip_prefix(prefix.as_str()).map(|r| (r.to_string(), v.clone()))).collect();
            load_strict(&mut *disc.model, &part)
                .map_err(|e| Error::Weights(format!("{} (prefix `{prefix}`): {e}", d_path.display())))?;
        }
        for (k, v) in t.d_master.iter_mut() {
            *v = d[k].as_dtype(mlx_rs::Dtype::Float32)?;
        }
    }
    t.push_params()
}

/// Restores everything a checkpoint holds into `t`; returns its metadata
/// (the caller restores the data cursor).
pub fn resume(t: &mut Trainer, dir: &Path) -> Result<CheckpointMeta> {
    let meta = read_meta(dir)?;
    load_weights(t, dir, &[])?;
    t.opt_g.load_state(&read_safetensors(&dir.join("opt_g.safetensors"))?)?;
    t.opt_d.load_state(&read_safetensors(&dir.join("opt_d.safetensors"))?)?;
    t.opt_g.set_learning_rate(meta.learning_rate_g);
    t.opt_d.set_learning_rate(meta.learning_rate_d);
    let key = mlx_rs::Array::from_slice(&meta.noise_key, &[meta.noise_key.len() as i32]);
    t.noise = SeededNoise::from_key(key);
    t.step = meta.step;
    t.epoch = meta.epoch;
    t.nonfinite_in_row = meta.nonfinite_in_row;
    t.data_units = meta.data_units.clone();
    Ok(meta)
}

/// The resolved spec stored with a checkpoint.
pub fn read_spec(dir: &Path) -> Result<Spec> {
    let p = dir.join("spec.json");
    let text = std::fs::read_to_string(&p).map_err(|e| io(&p, "read", e))?;
    let value: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| Error::SpecInvalid { path: p.clone(), message: e.to_string() })?;
    Spec::from_value(value, &p)
}
