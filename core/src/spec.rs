//! The JSON spec: which plugins make up the GAN, their params and weights,
//! optimizers, schedule, trainer and data settings. A spec may `"extends"`
//! another file (path relative to itself) and override only what differs:
//! objects merge key by key, any other value (lists included) replaces.
//! Every field has the GPT-SoVITS v2 stage-2 value as its default.

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::kind::Kind;

/// One component entry: a registered name, its params, and (losses only) a weight.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ComponentSpec {
    /// Registered plugin name.
    pub name: String,
    /// Loss weight (losses only; default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<f32>,
    /// Options for the plugin's `Config`; unknown fields are errors.
    #[serde(default = "empty_object")]
    pub params: Value,
    /// JSON path of this entry in the spec (`discriminators[1]`), for errors.
    #[serde(skip)]
    pub at: String,
}

fn empty_object() -> Value {
    Value::Object(Map::new())
}

impl ComponentSpec {
    /// An entry with default params.
    pub fn named(name: &str) -> Self {
        Self { name: name.to_string(), weight: None, params: empty_object(), at: name.to_string() }
    }

    /// A loss entry with a weight.
    pub fn weighted(name: &str, weight: f32) -> Self {
        Self { weight: Some(weight), ..Self::named(name) }
    }

    /// Sets the params object.
    pub fn with_params(mut self, params: Value) -> Self {
        self.params = params;
        self
    }

    /// Parses `params` into the plugin's `Config`; errors name the entry and field.
    pub fn parse_params<C: DeserializeOwned>(&self, kind: Kind) -> Result<C> {
        let params = if self.params.is_null() { empty_object() } else { self.params.clone() };
        serde_path_to_error::deserialize(params).map_err(|e| {
            let path = e.path().to_string();
            Error::PluginConfig {
                kind,
                name: self.name.clone(),
                at: self.at.clone(),
                field: if path == "." { "params".into() } else { format!("params.{path}") },
                message: e.into_inner().to_string(),
            }
        })
    }
}

/// A named parameter group's optimizer settings.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct GroupSpec {
    /// A group name the component declares (e.g. the generator's `text`).
    pub name: String,
    /// Learning-rate multiplier.
    #[serde(default = "one")]
    pub lr_scale: f32,
    /// Frozen groups get no update and no optimizer state.
    #[serde(default)]
    pub frozen: bool,
}

fn one() -> f32 {
    1.0
}

/// An optimizer: registered name, base learning rate, plugin params, groups.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct OptimizerSpec {
    /// Registered optimizer name (`adamw`, `adamw-bf16`).
    pub name: String,
    /// Base learning rate.
    pub learning_rate: f32,
    /// Plugin options (betas, eps, weight_decay).
    #[serde(default = "empty_object")]
    pub params: Value,
    /// Per-group lr multipliers and freezing.
    #[serde(default)]
    pub groups: Vec<GroupSpec>,
}

impl OptimizerSpec {
    /// This optimizer as a component entry (for registry lookup and params parsing).
    pub fn component(&self, at: &str) -> ComponentSpec {
        ComponentSpec { name: self.name.clone(), weight: None, params: self.params.clone(), at: at.to_string() }
    }
}

/// Learning-rate schedule: optional linear warm-up, then exponential decay per epoch.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ScheduleSpec {
    /// Decay factor applied once per epoch (GPT-SoVITS `lr_decay`).
    pub gamma: f32,
    /// Steps of linear warm-up from 0 (0 = none).
    pub warmup_steps: u64,
}

impl Default for ScheduleSpec {
    fn default() -> Self {
        Self { gamma: 0.999875, warmup_steps: 0 }
    }
}

/// Numeric precision of the training step.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    /// Everything in f32.
    F32,
    /// bf16 compute, f32 master weights, losses and STFT in f32.
    Bf16,
}

/// Trainer settings.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct TrainerSpec {
    /// Items per batch.
    pub batch_size: usize,
    /// Training segment in samples; a multiple of `data.hop_length`.
    pub segment_size: usize,
    /// Clip gradients to this global norm (None: measure only, as the reference).
    pub grad_clip: Option<f32>,
    /// Compute precision.
    pub precision: Precision,
    /// Under `bf16`: generator submodules (parameter-name prefixes such as
    /// `dec`) that keep computing in f32. The default keeps the HiFi-GAN
    /// decoder in f32: with it in bf16, its early layers' gradients were
    /// 8-100% off f32 and a 100-step run fell 32% behind (see
    /// `tests/tests/bf16.rs`). Ignored under `f32`.
    pub f32_modules: Vec<String>,
    /// Epochs to train.
    pub epochs: u64,
    /// Stop after this many steps (None: run all epochs).
    pub max_steps: Option<u64>,
    /// Steps between log lines.
    pub log_every: u64,
    /// Steps between evaluations on held-out clips.
    pub eval_every: u64,
    /// Steps between checkpoints.
    pub checkpoint_every: u64,
    /// Also write a checkpoint each time this many epochs are complete
    /// (GPT-SoVITS's `save_every_epoch`); 0 = off.
    pub checkpoint_every_epochs: u64,
    /// Checkpoints kept on disk (oldest removed first).
    pub keep_checkpoints: usize,
    /// Seed of every random draw.
    pub seed: u64,
    /// Skip invalid data items (counted) instead of refusing to train.
    pub skip_bad_items: bool,
    /// Stop the run after this many non-finite (skipped) steps in a row.
    pub max_nonfinite_in_row: u32,
    /// Evaluation metric (lower is better) that picks the run's `best/`
    /// checkpoint, e.g. `eval/mel_l1` or `eval/infer/mcd_db`.
    pub best_metric: String,
    /// MLX CPU streams the step spreads its independent parts over (one per
    /// core is the aim; `nn::lanes`). 0 or 1 runs everything on one stream;
    /// ignored on a GPU.
    pub cpu_streams: usize,
}

impl Default for TrainerSpec {
    fn default() -> Self {
        Self {
            batch_size: 32,
            segment_size: 20480,
            grad_clip: None,
            precision: Precision::F32,
            f32_modules: vec!["dec".into()],
            epochs: 100,
            max_steps: None,
            log_every: 100,
            eval_every: 500,
            checkpoint_every: 500,
            checkpoint_every_epochs: 0,
            keep_checkpoints: 3,
            seed: 1234,
            skip_bad_items: false,
            max_nonfinite_in_row: 10,
            best_metric: "eval/mel_l1".into(),
            cpu_streams: 2,
        }
    }
}

/// Dataset facts.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct DataSpec {
    /// Dataset directory (metadata.json + npy folders); the CLI's `--data` overrides it.
    pub dir: Option<PathBuf>,
    /// Audio sampling rate in Hz.
    pub sampling_rate: usize,
    /// Samples per spectrogram frame.
    pub hop_length: usize,
    /// Held-out items for evaluation.
    pub eval_items: usize,
}

impl Default for DataSpec {
    fn default() -> Self {
        Self { dir: None, sampling_rate: 32000, hop_length: 640, eval_items: 4 }
    }
}

/// A fully resolved spec (extends merged, overrides applied, defaults filled).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Spec {
    /// The generator.
    pub generator: ComponentSpec,
    /// Discriminators; each loss sees their outputs in this order.
    pub discriminators: Vec<ComponentSpec>,
    /// Loss terms with weights.
    pub losses: Vec<ComponentSpec>,
    /// The spectral frontend.
    pub frontend: ComponentSpec,
    /// Generator optimizer.
    pub optimizer_g: OptimizerSpec,
    /// Discriminator optimizer.
    pub optimizer_d: OptimizerSpec,
    /// Learning-rate schedule (both optimizers).
    pub schedule: ScheduleSpec,
    /// Trainer settings.
    pub trainer: TrainerSpec,
    /// Dataset settings.
    pub data: DataSpec,
    /// GPT-SoVITS weight files written while training.
    pub export: crate::export_spec::ExportSpec,
}

impl Default for Spec {
    /// The GPT-SoVITS v2 stage-2 recipe.
    fn default() -> Self {
        let adamw = |groups: Vec<GroupSpec>| OptimizerSpec {
            name: "adamw".into(),
            learning_rate: 1e-4,
            params: serde_json::json!({"betas": [0.8, 0.99], "eps": 1e-9, "weight_decay": 0.01}),
            groups,
        };
        Self {
            generator: ComponentSpec::named("sovits-v2"),
            discriminators: vec![ComponentSpec::named("mpd")],
            losses: vec![
                ComponentSpec::weighted("lsgan", 1.0),
                ComponentSpec::weighted("feature-matching", 2.0),
                ComponentSpec::weighted("mel-l1", 45.0),
                ComponentSpec::weighted("kl", 1.0),
                ComponentSpec::weighted("kl-ssl", 1.0),
            ],
            frontend: ComponentSpec::named("stft-mel"),
            optimizer_g: adamw(vec![GroupSpec { name: "text".into(), lr_scale: 0.4, frozen: false }]),
            optimizer_d: adamw(Vec::new()),
            schedule: ScheduleSpec::default(),
            trainer: TrainerSpec::default(),
            data: DataSpec::default(),
            export: Default::default(),
        }
    }
}

impl Spec {
    /// Loads `path`, following `extends`, applying `overrides` (`key.path=value`,
    /// value parsed as JSON or else taken as a string), then validates.
    pub fn load(path: &Path, overrides: &[String]) -> Result<Spec> {
        let mut merged = load_merged(path, &mut Vec::new())?;
        for o in overrides {
            apply_override(&mut merged, o)?;
        }
        Self::from_value(merged, path)
    }

    /// The built-in GPT-SoVITS v2 recipe with `overrides` applied.
    pub fn builtin(overrides: &[String]) -> Result<Spec> {
        let mut merged = serde_json::to_value(Spec::default())
            .map_err(|e| Error::SpecInvalid { path: "<built-in spec>".into(), message: e.to_string() })?;
        for o in overrides {
            apply_override(&mut merged, o)?;
        }
        Self::from_value(merged, Path::new("<built-in spec>"))
    }

    /// Deserialises and validates a merged spec value; `origin` names it in errors.
    pub fn from_value(value: Value, origin: &Path) -> Result<Spec> {
        let mut spec: Spec = serde_path_to_error::deserialize(value).map_err(|e| Error::SpecInvalid {
            path: origin.to_path_buf(),
            message: format!("field `{}`: {}", e.path(), e.inner()),
        })?;
        spec.label_entries();
        spec.validate()?;
        Ok(spec)
    }

    /// The resolved spec as pretty JSON (written next to every checkpoint).
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
    }

    /// Segment length in frames.
    pub fn segment_frames(&self) -> usize {
        self.trainer.segment_size / self.data.hop_length
    }

    /// The facts plugin constructors get.
    pub fn build_context(&self) -> crate::components::BuildContext {
        crate::components::BuildContext {
            sampling_rate: self.data.sampling_rate,
            hop_length: self.data.hop_length,
            segment_size: self.trainer.segment_size,
        }
    }

    fn label_entries(&mut self) {
        self.generator.at = "generator".into();
        self.frontend.at = "frontend".into();
        for (i, d) in self.discriminators.iter_mut().enumerate() {
            d.at = format!("discriminators[{i}]");
        }
        for (i, l) in self.losses.iter_mut().enumerate() {
            l.at = format!("losses[{i}]");
        }
    }

    fn validate(&self) -> Result<()> {
        let bad = |field: &str, message: String| Err(Error::SpecValue { field: field.into(), message });
        let hop = self.data.hop_length;
        if hop == 0 {
            return bad("data.hop_length", "must be positive, found 0".into());
        }
        let seg = self.trainer.segment_size;
        if seg == 0 || seg % hop != 0 {
            let lower = (seg / hop).max(1) * hop;
            return bad(
                "trainer.segment_size",
                format!("{seg} samples is not a positive multiple of data.hop_length {hop} (nearest valid: {lower} or {})", lower + hop),
            );
        }
        if !self.trainer.best_metric.starts_with("eval/") {
            return bad(
                "trainer.best_metric",
                format!("must name an evaluation metric starting with `eval/` (e.g. eval/mel_l1), found `{}`", self.trainer.best_metric),
            );
        }
        if self.trainer.batch_size == 0 {
            return bad("trainer.batch_size", "must be at least 1, found 0".into());
        }
        for (field, opt) in [("optimizer_g", &self.optimizer_g), ("optimizer_d", &self.optimizer_d)] {
            if !(opt.learning_rate.is_finite() && opt.learning_rate > 0.0) {
                return bad(&format!("{field}.learning_rate"), format!("must be a positive number, found {}", opt.learning_rate));
            }
            for (i, g) in opt.groups.iter().enumerate() {
                if !(g.lr_scale.is_finite() && g.lr_scale >= 0.0) {
                    return bad(&format!("{field}.groups[{i}].lr_scale"), format!("must be >= 0, found {}", g.lr_scale));
                }
            }
        }
        if !(self.schedule.gamma > 0.0 && self.schedule.gamma <= 1.0) {
            return bad("schedule.gamma", format!("must be in (0, 1], found {}", self.schedule.gamma));
        }
        if let Some(c) = self.trainer.grad_clip
            && !(c.is_finite() && c > 0.0)
        {
            return bad("trainer.grad_clip", format!("must be a positive number or null, found {c}"));
        }
        for entry in [&self.generator, &self.frontend].into_iter().chain(&self.discriminators) {
            if entry.weight.is_some() {
                return bad(&format!("{}.weight", entry.at), "only loss entries take a weight".into());
            }
        }
        for l in &self.losses {
            if let Some(w) = l.weight
                && !w.is_finite()
            {
                return bad(&format!("{}.weight", l.at), format!("must be a finite number, found {w}"));
            }
        }
        Ok(())
    }
}

/// Largest spec file read (specs are a few KB; `extends` may name any path,
/// e.g. a device that never ends).
const MAX_SPEC_BYTES: u64 = 16 << 20;

fn read_json(path: &Path) -> Result<Value> {
    let meta = std::fs::metadata(path).map_err(|source| Error::SpecIo { path: path.to_path_buf(), source })?;
    if !meta.is_file() || meta.len() > MAX_SPEC_BYTES {
        let message = format!("expected a JSON file of at most {MAX_SPEC_BYTES} bytes, found {}", if meta.is_file() { format!("{} bytes", meta.len()) } else { "no regular file".into() });
        return Err(Error::SpecInvalid { path: path.to_path_buf(), message });
    }
    let text = std::fs::read_to_string(path).map_err(|source| Error::SpecIo { path: path.to_path_buf(), source })?;
    serde_json::from_str(&text).map_err(|e| Error::SpecInvalid { path: path.to_path_buf(), message: e.to_string() })
}

fn load_merged(path: &Path, chain: &mut Vec<PathBuf>) -> Result<Value> {
    let canonical = path.canonicalize().map_err(|source| Error::SpecIo { path: path.to_path_buf(), source })?;
    if let Some(start) = chain.iter().position(|p| *p == canonical) {
        let mut names: Vec<String> = chain[start..].iter().map(|p| p.display().to_string()).collect();
        names.push(canonical.display().to_string());
        return Err(Error::SpecCycle { chain: names.join(" -> ") });
    }
    chain.push(canonical.clone());
    let mut value = read_json(path)?;
    let Value::Object(obj) = &mut value else {
        return Err(Error::SpecInvalid { path: path.to_path_buf(), message: "top level must be a JSON object".into() });
    };
    let merged = match obj.remove("extends") {
        None => value,
        Some(Value::String(base)) => {
            let base_path = canonical.parent().unwrap_or(Path::new(".")).join(base);
            let mut base = load_merged(&base_path, chain)?;
            merge(&mut base, value);
            base
        }
        Some(other) => {
            return Err(Error::SpecInvalid {
                path: path.to_path_buf(),
                message: format!("field `extends` must be a path string, found {other}"),
            });
        }
    };
    chain.pop();
    Ok(merged)
}

/// Overlays `top` on `base`: objects merge key by key, anything else replaces.
fn merge(base: &mut Value, top: Value) {
    match (base, top) {
        (Value::Object(b), Value::Object(t)) => {
            for (k, v) in t {
                match b.get_mut(&k) {
                    Some(slot) => merge(slot, v),
                    None => {
                        b.insert(k, v);
                    }
                }
            }
        }
        (slot, t) => *slot = t,
    }
}

/// Applies `a.b.0.c=value` to `root`, creating objects on the way.
fn apply_override(root: &mut Value, assignment: &str) -> Result<()> {
    let bad = |message: String| Error::SpecValue { field: assignment.to_string(), message };
    let (path, raw) = assignment.split_once('=').ok_or_else(|| bad("expected key.path=value".into()))?;
    let value = serde_json::from_str(raw).unwrap_or_else(|_| Value::String(raw.to_string()));
    let mut slot = root;
    for part in path.split('.') {
        slot = match slot {
            Value::Object(m) => m.entry(part.to_string()).or_insert(Value::Null),
            Value::Array(a) => {
                let i: usize = part.parse().map_err(|_| bad(format!("`{part}` is not a list index")))?;
                let len = a.len();
                a.get_mut(i).ok_or_else(|| bad(format!("index {i} out of range (list has {len})")))?
            }
            Value::Null => {
                *slot = Value::Object(Map::new());
                match slot {
                    Value::Object(m) => m.entry(part.to_string()).or_insert(Value::Null),
                    _ => unreachable!(),
                }
            }
            other => return Err(bad(format!("cannot descend into `{part}` of {other}"))),
        };
    }
    *slot = value;
    Ok(())
}
