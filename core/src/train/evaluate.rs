//! Evaluation during a run: the hook the run loop calls at
//! `trainer.eval_every` (implemented outside core, by the `sovits-eval`
//! crate, since the metrics need concrete plugins), and the run's `best/`
//! checkpoint chosen by `trainer.best_metric` (lower is better).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::data::dataset::Dataset;
use crate::durable;
use crate::error::{Error, Result};
use crate::train::checkpoint;
use crate::train::trainer::Trainer;

/// Scores a trainer's generator on held-out items.
pub trait Evaluator {
    /// Evaluates `trainer`'s generator on the dataset items `items` (indices
    /// into `dataset.items()`), writing audio samples and plots into
    /// `samples_dir`. Returns scalar metrics keyed `eval/...`.
    fn evaluate(
        &mut self,
        trainer: &mut Trainer,
        dataset: &Dataset,
        items: &[usize],
        samples_dir: &Path,
    ) -> Result<Vec<(String, f64)>>;
}

/// What `RUN/best/best.json` records about the best checkpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BestRecord {
    /// The metric that chose it (`trainer.best_metric`).
    pub metric: String,
    /// Its value at `step` (lower is better).
    pub value: f64,
    /// Step of the checkpoint.
    pub step: u64,
}

/// File name of the record inside the best directory.
pub const BEST_FILE: &str = "best.json";

/// `RUN/best`.
pub fn best_dir(run: &Path) -> PathBuf {
    run.join("best")
}

/// The run's best record, if a best checkpoint exists for the same metric.
pub fn read_best(run: &Path, metric: &str) -> Option<BestRecord> {
    let text = std::fs::read_to_string(best_dir(run).join(BEST_FILE)).ok()?;
    serde_json::from_str::<BestRecord>(&text).ok().filter(|r| r.metric == metric)
}

/// The value of `metric` among `metrics`; the error lists the known keys.
pub fn pick(metrics: &[(String, f64)], metric: &str) -> Result<f64> {
    metrics.iter().find(|(k, _)| k == metric).map(|(_, v)| *v).ok_or_else(|| Error::SpecValue {
        field: "trainer.best_metric".into(),
        message: format!(
            "expected one of the evaluation metrics ({}), found `{metric}`",
            metrics.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>().join(", ")
        ),
    })
}

/// Saves `trainer` as `RUN/best` when `value` beats `previous` (or there is
/// none); returns the new record when it did. Non-finite values never win.
/// `best.json` is written inside the new directory before it atomically
/// replaces the old one, so there is never a moment without a complete
/// `best/` and its record.
pub fn update_best(
    trainer: &Trainer,
    run: &Path,
    cursor: serde_json::Value,
    metric: &str,
    value: f64,
    previous: Option<&BestRecord>,
) -> Result<Option<BestRecord>> {
    if !value.is_finite() || previous.is_some_and(|p| p.value <= value) {
        return Ok(None);
    }
    let record = BestRecord { metric: metric.to_string(), value, step: trainer.step };
    let text = serde_json::to_string_pretty(&record).map_err(|e| Error::Weights(e.to_string()))?;
    checkpoint::save_to_with(&durable::Real, trainer, &best_dir(run), cursor, &[(BEST_FILE, text)])?;
    Ok(Some(record))
}
