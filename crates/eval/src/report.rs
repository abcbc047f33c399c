//! The `sovits eval` report: JSON with every checkpoint's per-item and mean
//! scores, and a Markdown table with one column per checkpoint.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::held_out::Evaluation;

/// One evaluated checkpoint.
#[derive(Debug, Clone)]
pub struct Column {
    /// Label (the checkpoint path as given).
    pub label: String,
    /// Its evaluation.
    pub evaluation: Evaluation,
}

/// The JSON report.
pub fn to_json(columns: &[Column]) -> Value {
    json!({
        "checkpoints": columns.iter().map(|c| json!({
            "ckpt": c.label,
            "metrics": c.evaluation.metrics,
            "items": c.evaluation.items,
        })).collect::<Vec<_>>()
    })
}

/// A Markdown table: one row per metric, one column per checkpoint, lower is
/// better everywhere; the best value of each row is in bold. With several
/// checkpoints a last column gives the last one's value over the first's
/// (below 1: the last is better).
pub fn to_markdown(columns: &[Column]) -> String {
    let keys: BTreeSet<&String> = columns.iter().flat_map(|c| c.evaluation.metrics.keys()).collect();
    let ratio = columns.len() > 1;
    let mut s = String::from("| metric (lower is better) |");
    for c in columns {
        s.push_str(&format!(" {} |", c.label));
    }
    if ratio {
        s.push_str(" last / first |");
    }
    s.push_str("\n|---|");
    s.push_str(&"---:|".repeat(columns.len() + usize::from(ratio)));
    s.push('\n');
    for k in keys {
        let values: Vec<Option<f64>> = columns.iter().map(|c| c.evaluation.metrics.get(k).copied()).collect();
        let best = values.iter().flatten().copied().fold(f64::INFINITY, f64::min);
        s.push_str(&format!("| {k} |"));
        for &v in &values {
            match v {
                Some(v) if columns.len() > 1 && v == best => s.push_str(&format!(" **{v:.4}** |")),
                Some(v) => s.push_str(&format!(" {v:.4} |")),
                None => s.push_str(" - |"),
            }
        }
        if ratio {
            match (values.first().copied().flatten(), values.last().copied().flatten()) {
                (Some(a), Some(b)) if a != 0.0 => s.push_str(&format!(" {:.3} |", b / a)),
                _ => s.push_str(" - |"),
            }
        }
        s.push('\n');
    }
    s
}
