//! Per-step bookkeeping of a run: the metrics line (rank 0), the observer's
//! progress with the step rate, and the abort after too many non-finite
//! steps in a row.

use std::time::Instant;

use crate::error::{Error, Result};
use crate::train::metrics::MetricsLog;
use crate::train::run::Observer;
use crate::train::step::StepReport;

/// Logs each step: a `metrics.jsonl` line where this rank writes one, and
/// the observer's progress with the mean step rate since the run started.
pub(super) struct StepLog {
    metrics: Option<MetricsLog>,
    started: Instant,
    first_step: u64,
}

impl StepLog {
    /// A log for a run whose first step index is `first_step`; `metrics` is
    /// `None` on ranks other than 0.
    pub fn new(metrics: Option<MetricsLog>, first_step: u64) -> Self {
        Self { metrics, started: Instant::now(), first_step }
    }

    /// Records the step of `report` (which took `seconds`, on the batch of `items`).
    pub fn record(&mut self, report: &StepReport, seconds: f64, items: &[String], obs: &mut dyn Observer) -> Result<()> {
        let record = MetricsLog::record(report, seconds, &[("items", serde_json::json!(items))]);
        if let Some(m) = self.metrics.as_mut() {
            m.write(&record)?;
        }
        let rate = (report.step - self.first_step) as f64 / self.started.elapsed().as_secs_f64().max(1e-9);
        obs.step(report, items, rate);
        Ok(())
    }

    /// The metrics log, where this rank writes one (evaluations add lines).
    pub fn metrics(&mut self) -> Option<&mut MetricsLog> {
        self.metrics.as_mut()
    }
}

/// Tells `obs` why a skipped step was skipped, and ends the run with
/// [`Error::NonFinite`] once `in_row` reaches `limit`
/// (`trainer.max_nonfinite_in_row`).
pub(super) fn check_finite(report: &StepReport, items: &[String], in_row: u32, limit: u32, obs: &mut dyn Observer) -> Result<()> {
    let Some(why) = &report.skipped else { return Ok(()) };
    obs.message(&format!("step {}: {why}; batch items: {}", report.step, items.join(", ")));
    if in_row >= limit {
        return Err(Error::NonFinite { steps: in_row, limit, items: items.join(", ") });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Default)]
    struct Messages(Vec<String>);
    impl Observer for Messages {
        fn start(&mut self, _: u64, _: Option<u64>) {}
        fn step(&mut self, _: &StepReport, _: &[String], _: f64) {}
        fn message(&mut self, text: &str) {
            self.0.push(text.to_string());
        }
    }

    fn skipped(step: u64) -> StepReport {
        StepReport { step, skipped: Some("non-finite generator loss or gradient".into()), ..StepReport::default() }
    }

    #[test]
    fn non_finite_steps_abort_at_the_limit_with_the_items() {
        let items = vec!["a".to_string(), "b".to_string()];
        let mut obs = Messages::default();
        assert!(check_finite(&skipped(7), &items, 2, 3, &mut obs).is_ok());
        let err = check_finite(&skipped(8), &items, 3, 3, &mut obs).expect_err("third non-finite step in a row");
        assert!(matches!(&err, Error::NonFinite { steps: 3, limit: 3, items } if items == "a, b"), "{err:?}");
        assert_eq!(obs.0, [
            "step 7: non-finite generator loss or gradient; batch items: a, b",
            "step 8: non-finite generator loss or gradient; batch items: a, b",
        ]);
    }

    #[test]
    fn finite_steps_pass_silently() {
        let mut obs = Messages::default();
        assert!(check_finite(&StepReport::default(), &["a".to_string()], 5, 1, &mut obs).is_ok());
        assert!(obs.0.is_empty());
    }
}
