//! Importing GPT-SoVITS `.pth` files (see [`crate::layouts`]) into sovits
//! tensors, optimizer state in the `adamw` plugin's key format
//! (`exp_avg.<name>`, `exp_avg_sq.<name>`, `step.<name>`, `step`,
//! `learning_rate`) and JSON metadata.

use std::path::{Path, PathBuf};

use mlx_rs::{Array, Dtype};
use serde_json::{Value as Json, json};
use sovits_core::components::ParamMap;
use sovits_core::nn::torch_layout::write_safetensors;

use crate::error::{InteropError, Result};
use crate::hparams;
use crate::layouts::{self, Layout};
use crate::pickle_read::{self, Value};
use crate::tensors;
use crate::zip_container::PthArchive;

/// Optimizer state taken from a training checkpoint.
#[derive(Debug, Clone)]
pub struct ImportedOptimizer {
    /// `exp_avg.<name>`, `exp_avg_sq.<name>`, `step.<name>` (f32 scalar) per
    /// parameter with state, plus `step` (largest per-parameter step) and
    /// `learning_rate` (first group's `lr`), as the `adamw` plugin loads them.
    pub state: ParamMap,
    /// The param groups as JSON (every torch field kept: `lr`, `betas`,
    /// `eps`, `weight_decay`, `initial_lr`, ..., `params` as indices), each
    /// with `param_names` added.
    pub param_groups: Json,
}

/// Everything read from one `.pth` file.
#[derive(Debug, Clone)]
pub struct Imported {
    /// The file read.
    pub source: PathBuf,
    /// Its layout.
    pub layout: Layout,
    /// The zip's root folder.
    pub zip_root: String,
    /// Model tensors by state-dict key, in their stored dtype (fp16 for
    /// inference weights, fp32 for training checkpoints).
    pub weights: ParamMap,
    /// State-dict keys in file order.
    pub key_order: Vec<String>,
    /// `config` (inference weights) as JSON.
    pub config: Option<Json>,
    /// `info` (inference weights), e.g. `"8epoch_1000iteration"`.
    pub info: Option<String>,
    /// `iteration` (training checkpoint).
    pub iteration: Option<i64>,
    /// `learning_rate` (training checkpoint).
    pub learning_rate: Option<f64>,
    /// Optimizer state (training checkpoint with an `optimizer` entry).
    pub optimizer: Option<ImportedOptimizer>,
    /// Other top-level scalar entries (e.g. `lora_rank`) as JSON.
    pub extra: Json,
}

impl Imported {
    /// Whether the weights are a discriminator (`discriminators.*` keys).
    pub fn is_discriminator(&self) -> bool {
        !self.weights.is_empty() && self.weights.keys().all(|k| k.starts_with("discriminators."))
    }
}

fn layout_err(what: &str, message: impl Into<String>) -> InteropError {
    InteropError::Layout { what: what.to_string(), message: message.into() }
}

fn entry<'a>(top: &'a Value, key: &str, what: &str) -> Result<&'a Value> {
    top.get(key).ok_or_else(|| layout_err(what, format!("missing top-level key `{key}` (found: {})", top.str_keys().join(", "))))
}

/// Reads a `{name: tensor}` dict.
fn state_dict(archive: &mut PthArchive, v: &Value, what: &str) -> Result<(ParamMap, Vec<String>)> {
    let Value::Dict { items, .. } = v else {
        return Err(layout_err(what, format!("expected a state dict, found a {}", v.kind())));
    };
    let mut map = ParamMap::new();
    let mut order = Vec::with_capacity(items.len());
    for (k, t) in items {
        let Value::Str(name) = k else {
            return Err(layout_err(what, format!("state-dict key of type {}, expected str", k.kind())));
        };
        let at = format!("{what}[{name:?}]");
        map.insert(name.clone(), tensors::load(archive, t, &at)?);
        order.push(name.clone());
    }
    Ok((map, order))
}

fn scalar_f32(archive: &mut PthArchive, v: &Value, what: &str) -> Result<f32> {
    match v {
        Value::Int(i) => Ok(*i as f32),
        Value::Float(f) => Ok(*f as f32),
        t if tensors::is_tensor(t) => {
            let a = tensors::load(archive, t, what)?.as_dtype(Dtype::Float32)?;
            if a.size() != 1 {
                return Err(layout_err(what, format!("expected a scalar, found shape {:?}", a.shape())));
            }
            a.eval()?;
            Ok(a.as_slice::<f32>()[0])
        }
        other => Err(layout_err(what, format!("expected a number, found a {}", other.kind()))),
    }
}

fn optimizer(archive: &mut PthArchive, opt: &Value, model_keys: &[String], what: &str) -> Result<ImportedOptimizer> {
    let groups_v = opt.get("param_groups").ok_or_else(|| layout_err(what, "optimizer has no `param_groups`"))?;
    let Value::List(groups) = groups_v else {
        return Err(layout_err(what, format!("optimizer.param_groups is a {}, expected a list", groups_v.kind())));
    };
    let mut group_json = Vec::new();
    let mut sizes = Vec::new();
    for (i, g) in groups.iter().enumerate() {
        let gw = format!("{what}.param_groups[{i}]");
        let j = hparams::to_json(g, &gw)?;
        let n = j.get("params").and_then(Json::as_array).map(Vec::len).ok_or_else(|| layout_err(&gw, "no `params` list"))?;
        sizes.push(n);
        group_json.push(j);
    }
    let names = layouts::optimizer_param_names(model_keys, &sizes, what)?;
    let mut pos = 0;
    let mut index_name = std::collections::HashMap::new();
    for (g, j) in group_json.iter_mut().enumerate() {
        let idx: Vec<i64> = j["params"].as_array().map(|a| a.iter().filter_map(Json::as_i64).collect()).unwrap_or_default();
        if idx.len() != sizes[g] {
            return Err(layout_err(what, format!("param_groups[{g}].params holds non-integers")));
        }
        let mut gnames = Vec::new();
        for i in idx {
            index_name.insert(i, names[pos].clone());
            gnames.push(Json::String(names[pos].clone()));
            pos += 1;
        }
        if let Some(o) = j.as_object_mut() {
            o.insert("param_names".into(), Json::Array(gnames));
        }
    }
    let mut state = ParamMap::new();
    let mut max_step = 0f32;
    if let Some(Value::Dict { items, .. }) = opt.get("state") {
        for (k, per) in items {
            let Value::Int(i) = k else {
                return Err(layout_err(what, format!("optimizer.state key of type {}, expected an int index", k.kind())));
            };
            let name = index_name
                .get(i)
                .ok_or_else(|| layout_err(what, format!("optimizer.state[{i}] names no parameter of any param group")))?
                .clone();
            let sw = format!("{what}.state[{i}] ({name})");
            for field in per.str_keys() {
                let v = per.get(field).ok_or_else(|| layout_err(&sw, "missing field"))?;
                match field {
                    "step" => {
                        let s = scalar_f32(archive, v, &format!("{sw}.step"))?;
                        max_step = max_step.max(s);
                        state.insert(format!("step.{name}"), Array::from_f32(s));
                    }
                    "exp_avg" | "exp_avg_sq" => {
                        let a = tensors::load(archive, v, &format!("{sw}.{field}"))?;
                        state.insert(format!("{field}.{name}"), a);
                    }
                    other => {
                        return Err(layout_err(&sw, format!("unsupported optimizer state field `{other}` (AdamW has step, exp_avg, exp_avg_sq)")));
                    }
                }
            }
        }
    }
    state.insert("step".into(), Array::from_f32(max_step));
    let lr = group_json.first().and_then(|g| g.get("lr")).and_then(Json::as_f64).unwrap_or(0.0);
    state.insert("learning_rate".into(), Array::from_f32(lr as f32));
    Ok(ImportedOptimizer { state, param_groups: Json::Array(group_json) })
}

/// Reads a GPT-SoVITS `.pth` (either layout) without Python: zip container,
/// restricted pickle, storages (fp16/bf16/fp32/int64/...). Nothing in the
/// file is executed; unknown globals, opcodes or layouts are errors.
pub fn import_pth(path: &Path) -> Result<Imported> {
    let mut archive = PthArchive::open(path)?;
    let pkl_name = format!("{}:{}/data.pkl", path.display(), archive.root());
    let pkl = archive.read("data.pkl")?;
    let top = pickle_read::parse(&pkl, &pkl_name)?.value;
    let what = path.display().to_string();
    let layout = layouts::detect(&top, &what)?;
    let mut imp = Imported {
        source: path.to_path_buf(),
        layout,
        zip_root: archive.root().to_string(),
        weights: ParamMap::new(),
        key_order: Vec::new(),
        config: None,
        info: None,
        iteration: None,
        learning_rate: None,
        optimizer: None,
        extra: Json::Object(Default::default()),
    };
    let known: &[&str] = match layout {
        Layout::InferenceWeights => {
            let (w, order) = state_dict(&mut archive, entry(&top, "weight", &what)?, &format!("{what}: weight"))?;
            imp.weights = w;
            imp.key_order = order;
            imp.config = match top.get("config") {
                Some(c) => Some(hparams::to_json(c, &format!("{what}: config"))?),
                None => None,
            };
            imp.info = match top.get("info") {
                Some(Value::Str(s)) => Some(s.clone()),
                Some(other) => Some(format!("{other:?}")),
                None => None,
            };
            &["weight", "config", "info"]
        }
        Layout::TrainingCheckpoint => {
            let (w, order) = state_dict(&mut archive, entry(&top, "model", &what)?, &format!("{what}: model"))?;
            imp.weights = w;
            imp.key_order = order;
            imp.iteration = match top.get("iteration") {
                Some(Value::Int(i)) => Some(*i),
                _ => None,
            };
            imp.learning_rate = match top.get("learning_rate") {
                Some(Value::Float(f)) => Some(*f),
                Some(Value::Int(i)) => Some(*i as f64),
                _ => None,
            };
            if let Some(opt) = top.get("optimizer") {
                imp.optimizer = Some(optimizer(&mut archive, opt, &imp.key_order, &format!("{what}: optimizer"))?);
            }
            &["model", "iteration", "optimizer", "learning_rate"]
        }
    };
    if let Value::Dict { items, .. } = &top {
        let mut extra = serde_json::Map::new();
        for (k, v) in items {
            if let Value::Str(k) = k
                && !known.contains(&k.as_str())
                && let Ok(j) = hparams::to_json(v, k)
            {
                extra.insert(k.clone(), j);
            }
        }
        imp.extra = Json::Object(extra);
    }
    Ok(imp)
}

/// Writes an import as a sovits checkpoint-style directory:
/// `G.safetensors` (or `D.safetensors` for a discriminator; floating tensors
/// widened to f32, which is exact), `opt_g.safetensors`/`opt_d.safetensors`
/// when optimizer state was imported, and `interop.json` (source, layout,
/// config, info, iteration, learning rate, param groups, key order).
pub fn write_imported(imp: &Imported, out_dir: &Path) -> Result<()> {
    std::fs::create_dir_all(out_dir)
        .map_err(|source| InteropError::Io { action: "create", path: out_dir.to_path_buf(), source })?;
    let (model_file, opt_file) =
        if imp.is_discriminator() { ("D.safetensors", "opt_d.safetensors") } else { ("G.safetensors", "opt_g.safetensors") };
    let mut widened = ParamMap::new();
    for (k, v) in &imp.weights {
        let is_float = matches!(v.dtype(), Dtype::Float16 | Dtype::Bfloat16 | Dtype::Float64);
        widened.insert(k.clone(), if is_float { v.as_dtype(Dtype::Float32)? } else { v.clone() });
    }
    write_safetensors(&out_dir.join(model_file), &widened)?;
    if let Some(opt) = &imp.optimizer {
        write_safetensors(&out_dir.join(opt_file), &opt.state)?;
    }
    let meta = json!({
        "source": imp.source.display().to_string(),
        "layout": imp.layout.name(),
        "zip_root": imp.zip_root,
        "model_file": model_file,
        "optimizer_file": imp.optimizer.as_ref().map(|_| opt_file),
        "config": imp.config,
        "info": imp.info,
        "iteration": imp.iteration,
        "learning_rate": imp.learning_rate,
        "param_groups": imp.optimizer.as_ref().map(|o| o.param_groups.clone()),
        "extra": imp.extra,
        "key_order": imp.key_order,
    });
    let p = out_dir.join("interop.json");
    let text = serde_json::to_string_pretty(&meta).map_err(|e| layout_err(&p.display().to_string(), e.to_string()))?;
    std::fs::write(&p, text).map_err(|source| InteropError::Io { action: "write", path: p, source })
}
