//! The JSON spec: which plugins make up the GAN, their params and weights,
//! optimizers, schedule, trainer and data settings. A spec may `"extends"`
//! another file (path relative to itself) and override only what differs:
//! objects merge key by key, any other value (lists included) replaces.
//! Every field has the GPT-SoVITS v2 stage-2 value as its default.

use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{Error, Result};

mod component;
mod loading;
mod sections;

pub use component::ComponentSpec;
pub use sections::*;
use loading::{apply_override, load_merged};

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
