//! `RUN/curves.png`: the run's training losses and held-out metrics against
//! step, from `metrics.jsonl` (redrawn at every evaluation). Four panels: the
//! D and G totals; mel L1 in training and on the held-out items (same units,
//! so over-fitting shows as a gap); KL and feature matching; and the held-out
//! voicing-decision error.

use std::path::Path;

use plotters::prelude::*;
use serde_json::Value;
use sovits_core::{Error, Result};

use super::{FONT, plot_error};

/// Width and height of the curves figure in pixels.
pub const SIZE: (u32, u32) = (1200, 800);

/// Panels: title and the `metrics.jsonl` keys drawn in it.
pub const PANELS: [(&str, &[&str]); 4] = [
    ("loss totals", &["d/total", "g/total"]),
    ("mel L1 (ln mel): training and held-out", &["g/mel-l1", "eval/recon/mel_l1", "eval/infer/mel_l1"]),
    ("KL and feature matching (unweighted)", &["g/kl", "g/feature-matching"]),
    ("held-out voicing-decision error", &["eval/recon/vde", "eval/infer/vde"]),
];

/// The `metrics.jsonl` rows of `path` (unparseable lines are skipped, as a
/// crash can leave a partial last line).
pub fn read_rows(path: &Path) -> Result<Vec<Value>> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::Data { path: path.to_path_buf(), message: format!("cannot read metrics: {e}") })?;
    Ok(text.lines().filter_map(|l| serde_json::from_str(l).ok()).collect())
}

/// `(step, value)` of every row holding a finite `key`.
pub fn series(rows: &[Value], key: &str) -> Vec<(f64, f64)> {
    rows.iter()
        .filter_map(|r| Some((r.get("step")?.as_f64()?, r.get(key)?.as_f64()?)))
        .filter(|(_, v)| v.is_finite())
        .collect()
}

/// Draws the curves of `rows` into the PNG file `path`.
pub fn draw(path: &Path, rows: &[Value]) -> Result<()> {
    draw_inner(path, rows).map_err(plot_error(path))
}

fn bounds(lines: &[Vec<(f64, f64)>]) -> ((f64, f64), (f64, f64)) {
    let pts = lines.iter().flatten();
    let (mut x0, mut x1, mut y0, mut y1) = (f64::INFINITY, f64::NEG_INFINITY, f64::INFINITY, f64::NEG_INFINITY);
    for &(x, y) in pts {
        (x0, x1, y0, y1) = (x0.min(x), x1.max(x), y0.min(y), y1.max(y));
    }
    if !x0.is_finite() {
        return ((0.0, 1.0), (0.0, 1.0));
    }
    let pad = ((y1 - y0) * 0.05).max(1e-3);
    ((x0, x1.max(x0 + 1.0)), (y0 - pad, y1 + pad))
}

fn draw_inner(path: &Path, rows: &[Value]) -> std::result::Result<(), String> {
    let e = |x: &dyn std::fmt::Display| x.to_string();
    let root = BitMapBackend::new(path, SIZE).into_drawing_area();
    root.fill(&WHITE).map_err(|x| e(&x))?;
    let last = rows.iter().filter_map(|r| r.get("step")?.as_u64()).max().unwrap_or(0);
    let root = root.titled(&format!("training curves up to step {last}"), (FONT, 22)).map_err(|x| e(&x))?;
    for (area, (title, keys)) in root.split_evenly((2, 2)).iter().zip(PANELS) {
        let lines: Vec<Vec<(f64, f64)>> = keys.iter().map(|k| series(rows, k)).collect();
        let ((x0, x1), (y0, y1)) = bounds(&lines);
        let mut chart = ChartBuilder::on(area)
            .caption(title, (FONT, 16))
            .margin(8)
            .x_label_area_size(34)
            .y_label_area_size(56)
            .build_cartesian_2d(x0..x1, y0..y1)
            .map_err(|x| e(&x))?;
        chart.configure_mesh().x_desc("step").label_style((FONT, 13)).draw().map_err(|x| e(&x))?;
        for (i, (key, line)) in keys.iter().zip(&lines).enumerate() {
            if line.is_empty() {
                continue;
            }
            let colour = Palette99::pick(i).to_rgba();
            // per-step training series are jagged: a 2-px polyline's miter
            // joins at their sharp spikes shoot far past the data (and out
            // of the panel), so they are drawn 1 px wide
            let width = if key.starts_with("eval/") { 2 } else { 1 };
            let drawn = chart.draw_series(LineSeries::new(line.iter().copied(), colour.stroke_width(width))).map_err(|x| e(&x))?;
            drawn.label(*key).legend(move |(x, y)| PathElement::new([(x, y), (x + 18, y)], colour.stroke_width(2)));
            if key.starts_with("eval/") {
                chart.draw_series(line.iter().map(|&p| Circle::new(p, 4, colour.filled()))).map_err(|x| e(&x))?;
            }
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .label_font((FONT, 13))
            .draw()
            .map_err(|x| e(&x))?;
    }
    root.present().map_err(|x| e(&x))?;
    Ok(())
}
