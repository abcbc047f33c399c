//! Evaluation during a run: every `trainer.eval_every` steps the evaluator
//! scores the held-out items, the scores go to `metrics.jsonl`, samples to
//! `RUN/samples/step-N/`, and `RUN/best/` follows `trainer.best_metric`.

use std::path::Path;

use crate::data::dataset::Dataset;
use crate::data::sampler::Cursor;
use crate::error::{Error, Result};
use crate::spec::Spec;
use crate::train::evaluate::{self, BestRecord, Evaluator};
use crate::train::metrics::MetricsLog;
use crate::train::run::Observer;
use crate::train::trainer::Trainer;

/// Periodic held-out evaluation with best-checkpoint tracking.
pub(super) struct Evaluation<'a> {
    evaluator: &'a mut dyn Evaluator,
    out: &'a Path,
    items: Vec<usize>,
    every: u64,
    metric: String,
    best: Option<BestRecord>,
}

impl<'a> Evaluation<'a> {
    /// Evaluation of `items` into the run directory `out`; `None` when
    /// there is nothing to do (no held-out items, or `trainer.eval_every` 0).
    /// The best so far is read back from `RUN/best/`.
    pub fn new(evaluator: &'a mut dyn Evaluator, spec: &Spec, out: &'a Path, items: Vec<usize>) -> Option<Self> {
        if items.is_empty() || spec.trainer.eval_every == 0 {
            return None;
        }
        let metric = spec.trainer.best_metric.clone();
        let best = evaluate::read_best(out, &metric);
        Some(Self { evaluator, out, items, every: spec.trainer.eval_every, metric, best })
    }

    /// Whether step `step` is evaluated.
    pub fn due(&self, step: u64) -> bool {
        step % self.every == 0
    }

    /// Scores the trainer, logs the scores, and saves `RUN/best/` (with the
    /// data `cursor`) when the best metric improved.
    pub fn evaluate(
        &mut self,
        trainer: &mut Trainer,
        dataset: &Dataset,
        cursor: Cursor,
        metrics: Option<&mut MetricsLog>,
        obs: &mut dyn Observer,
    ) -> Result<()> {
        let samples = self.out.join("samples").join(format!("step-{}", trainer.step));
        let scores = self.evaluator.evaluate(trainer, dataset, &self.items, &samples)?;
        let mut record = serde_json::Map::new();
        record.insert("step".into(), serde_json::json!(trainer.step));
        for (k, v) in &scores {
            record.insert(k.clone(), serde_json::json!(v));
        }
        if let Some(m) = metrics {
            m.write(&serde_json::Value::Object(record))?;
        }
        let metric = &self.metric;
        let value = evaluate::pick(&scores, metric)?;
        let c = serde_json::to_value(cursor).map_err(|e| Error::Data { path: self.out.to_path_buf(), message: e.to_string() })?;
        if let Some(r) = evaluate::update_best(trainer, self.out, c, metric, value, self.best.as_ref())? {
            obs.message(&format!("step {}: {metric} {value:.4}, new best -> {}", r.step, evaluate::best_dir(self.out).display()));
            self.best = Some(r);
        } else {
            obs.message(&format!("step {}: {metric} {value:.4}; samples in {}", trainer.step, samples.display()));
        }
        Ok(())
    }
}
