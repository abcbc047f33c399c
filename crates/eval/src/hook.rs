//! The run loop's evaluator: scores the trainer's generator on the held-out
//! items with the spec's frontend, writes samples and mel figures into
//! `RUN/samples/step-N/` and redraws `RUN/curves.png`; [`redraw_curves`]
//! draws it once more when a run ends between evaluations.

use std::path::Path;

use sovits_core::Result;
use sovits_core::data::dataset::Dataset;
use sovits_core::registry;
use sovits_core::spec::Spec;
use sovits_core::train::Trainer;
use sovits_core::train::evaluate::Evaluator;

use crate::held_out::{SamplesOut, evaluate};
use crate::plot::curves;
use crate::scores::Scorer;

/// [`Evaluator`] for `sovits_core::train::run::run` (`RunHooks::with_evaluator`).
pub struct HeldOutEvaluator {
    scorer: Scorer,
    seed: u64,
}

impl HeldOutEvaluator {
    /// Builds the scorer from `spec`'s frontend; draws are seeded with `trainer.seed`.
    pub fn new(spec: &Spec) -> Result<Self> {
        let frontend = registry::build_frontend(&spec.frontend, &spec.frontend.at, &spec.build_context())?;
        Ok(Self { scorer: Scorer::new(frontend)?, seed: spec.trainer.seed })
    }
}

impl Evaluator for HeldOutEvaluator {
    fn evaluate(
        &mut self,
        trainer: &mut Trainer,
        dataset: &Dataset,
        items: &[usize],
        samples_dir: &Path,
    ) -> Result<Vec<(String, f64)>> {
        let out = SamplesOut { dir: samples_dir, step: Some(trainer.step) };
        let result = evaluate(&mut *trainer.gan.generator, &self.scorer, dataset, items, self.seed, Some(out));
        trainer.gan.generator.set_training(true);
        let pairs = result?.pairs();
        // samples_dir is RUN/samples/step-N; this evaluation's row is not in metrics.jsonl yet
        if let Some(run) = samples_dir.parent().and_then(Path::parent) {
            let metrics = run.join("metrics.jsonl");
            let mut rows = if metrics.is_file() { curves::read_rows(&metrics)? } else { Vec::new() };
            let mut row = serde_json::Map::new();
            row.insert("step".into(), serde_json::json!(trainer.step));
            for (k, v) in &pairs {
                row.insert(k.clone(), serde_json::json!(v));
            }
            rows.push(serde_json::Value::Object(row));
            curves::draw(&run.join("curves.png"), &rows)?;
        }
        Ok(pairs)
    }
}

/// Redraws `RUN/curves.png` from `RUN/metrics.jsonl` with every step logged,
/// for a run that ended after its last evaluation (a time budget, Ctrl-C),
/// so the picture reaches the final step. Does nothing (returns `false`)
/// when the run has no curves yet: it never evaluated.
pub fn redraw_curves(run: &Path) -> Result<bool> {
    let (png, metrics) = (run.join("curves.png"), run.join("metrics.jsonl"));
    if !png.is_file() || !metrics.is_file() {
        return Ok(false);
    }
    curves::draw(&png, &curves::read_rows(&metrics)?)?;
    Ok(true)
}
