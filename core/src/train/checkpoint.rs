//! Checkpoints: one directory per save holding the generator, the
//! discriminator(s) and both optimizers' state as safetensors (GPT-SoVITS key
//! names), plus `meta.json` (step, epoch, learning rates, noise key, data
//! cursor) and the resolved `spec.json`. Each save is written into a
//! temporary directory, every file and the directory fsynced, and renamed
//! into place (`crate::durable::publish_dir`), so a crash or power loss
//! mid-save leaves the previous checkpoint intact; only the newest `keep`
//! are kept.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::components::ParamMap;
use crate::durable::{self, FileOps};
use crate::error::{Error, Result};
use crate::nn::noise::SeededNoise;
use crate::nn::safetensors_file;
use crate::nn::torch_layout::{load_partial, load_strict, read_safetensors};
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

/// The files every checkpoint directory holds.
pub const FILES: [&str; 6] = ["G.safetensors", "D.safetensors", "opt_g.safetensors", "opt_d.safetensors", "meta.json", "spec.json"];

/// Writes a checkpoint of `t` into `run/checkpoints/step-N` and removes all
/// but the newest `keep`. Returns the directory.
pub fn save(t: &Trainer, run: &Path, data_cursor: serde_json::Value, keep: usize) -> Result<PathBuf> {
    save_with(&durable::Real, t, run, data_cursor, keep)
}

/// [`save`] through the given file operations (tests record or fail them).
pub fn save_with(ops: &dyn FileOps, t: &Trainer, run: &Path, data_cursor: serde_json::Value, keep: usize) -> Result<PathBuf> {
    let root = run.join("checkpoints");
    std::fs::create_dir_all(&root).map_err(|e| io(&root, "create", e))?;
    let final_dir = root.join(dir_name(t.step));
    save_to_with(ops, t, &final_dir, data_cursor, &[])?;
    let all = list(run);
    if keep > 0 && all.len() > keep {
        for old in &all[..all.len() - keep] {
            durable::crash_point("prune");
            durable::remove_dir(ops, old)?;
        }
    }
    Ok(final_dir)
}

/// Writes a checkpoint of `t` into `final_dir` (replacing it atomically)
/// through a temporary sibling directory.
pub fn save_to(t: &Trainer, final_dir: &Path, data_cursor: serde_json::Value) -> Result<()> {
    save_to_with(&durable::Real, t, final_dir, data_cursor, &[])
}

/// [`save_to`] through the given file operations, with `extra` (name,
/// text) files written into the same directory before it is published.
pub fn save_to_with(
    ops: &dyn FileOps,
    t: &Trainer,
    final_dir: &Path,
    data_cursor: serde_json::Value,
    extra: &[(&str, String)],
) -> Result<()> {
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
    let meta = serde_json::to_string_pretty(&meta).map_err(|e| Error::Weights(e.to_string()))?;
    durable::publish_dir(ops, final_dir, |st| {
        st.file("G.safetensors", &safetensors_file::to_bytes(&generator_tensors(t))?)?;
        st.file("D.safetensors", &safetensors_file::to_bytes(&discriminator_tensors(t))?)?;
        st.file("opt_g.safetensors", &safetensors_file::to_bytes(&t.opt_g.state()?)?)?;
        st.file("opt_d.safetensors", &safetensors_file::to_bytes(&t.opt_d.state()?)?)?;
        st.file("spec.json", t.spec.to_json().as_bytes())?;
        for (name, text) in extra {
            st.file(name, text.as_bytes())?;
        }
        // last, so a directory with meta.json has everything before it
        st.file("meta.json", meta.as_bytes())
    })
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
    load_weights_as(t, source, may_lack, false)
}

/// [`load_weights`]; with `require_d` a directory without `D.safetensors`
/// is an error (a checkpoint being resumed), not a G-only initialisation.
fn load_weights_as(t: &mut Trainer, source: &Path, may_lack: &[String], require_d: bool) -> Result<()> {
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
    if require_d && let Some(d_path) = d_path.as_ref().filter(|p| !p.is_file()) {
        return Err(Error::Weights(format!(
            "{}: checkpoint lacks {} (the discriminator); it would stay random while its optimizer state is restored",
            source.display(),
            d_path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
        )));
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
            let loaded = d.get(k).ok_or_else(|| Error::Weights(format!("{}: missing `{k}`", d_path.display())))?;
            *v = loaded.as_dtype(mlx_rs::Dtype::Float32)?;
        }
    }
    t.push_params()
}

/// Restores everything a checkpoint holds into `t`; returns its metadata
/// (the caller restores the data cursor).
pub fn resume(t: &mut Trainer, dir: &Path) -> Result<CheckpointMeta> {
    let meta = read_meta(dir)?;
    let want_key = t.noise.key().size();
    if meta.noise_key.len() != want_key {
        return Err(Error::Weights(format!(
            "{}: field `noise_key`: expected {want_key} u32 values, found {}",
            dir.join("meta.json").display(),
            meta.noise_key.len()
        )));
    }
    load_weights_as(t, dir, &[], true)?;
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
