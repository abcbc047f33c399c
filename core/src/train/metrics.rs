//! `metrics.jsonl`: one JSON object per step (step, epoch, lr, every loss
//! term, gradient norms, timing), appended and flushed as training goes so a
//! crash loses at most the current line.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::Path;

use serde_json::{Map, Value, json};

use crate::error::{Error, Result};
use crate::train::step::StepReport;

/// Appends step records to a run's `metrics.jsonl`.
pub struct MetricsLog {
    out: BufWriter<File>,
}

impl MetricsLog {
    /// Opens (appending to) `path`.
    pub fn open(path: &Path) -> Result<Self> {
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| Error::Data { path: path.to_path_buf(), message: format!("cannot open for appending: {e}") })?;
        Ok(Self { out: BufWriter::new(file) })
    }

    /// The JSON record of one step.
    pub fn record(report: &StepReport, seconds: f64, extra: &[(&str, Value)]) -> Value {
        let mut m = Map::new();
        m.insert("step".into(), json!(report.step));
        m.insert("epoch".into(), json!(report.epoch));
        m.insert("lr".into(), json!(report.learning_rate));
        m.insert("g/total".into(), json!(report.g_total));
        m.insert("d/total".into(), json!(report.d_total));
        m.insert("g/grad_norm".into(), json!(report.g_grad_norm));
        m.insert("d/grad_norm".into(), json!(report.d_grad_norm));
        for (k, v) in &report.terms {
            m.insert(k.clone(), json!(v));
        }
        m.insert("seconds".into(), json!(seconds));
        if let Some(why) = &report.skipped {
            m.insert("skipped".into(), json!(why));
        }
        for (k, v) in extra {
            m.insert((*k).to_string(), v.clone());
        }
        Value::Object(m)
    }

    /// Writes one record and flushes.
    pub fn write(&mut self, record: &Value) -> Result<()> {
        let line = record.to_string();
        writeln!(self.out, "{line}")
            .and_then(|_| self.out.flush())
            .map_err(|e| Error::Data { path: "metrics.jsonl".into(), message: format!("cannot write: {e}") })
    }
}
