//! The overlay PNG of `compare-runs`: one panel per metric, every run's
//! curve smoothed by a trailing moving average, side A in blues and side B in
//! reds, so a drift between the sides shows as two separating bundles.

use std::path::Path;

use anyhow::{Result, anyhow};
use plotters::prelude::*;

use crate::compare_runs::Run;

/// Trailing moving average of `(step, value)` points over `n` points.
fn smooth(points: &[(f64, f64)], n: usize) -> Vec<(f64, f64)> {
    let n = n.max(1);
    let mut out = Vec::with_capacity(points.len());
    let mut sum = 0.0;
    for (i, &(x, y)) in points.iter().enumerate() {
        sum += y;
        if i >= n {
            sum -= points[i - n].1;
        }
        out.push((x, sum / (i + 1).min(n) as f64));
    }
    out
}

fn shade(side_a: bool, i: usize, n: usize) -> RGBColor {
    let t = if n > 1 { i as f64 / (n - 1) as f64 } else { 0.0 };
    let v = (40.0 + 120.0 * t) as u8;
    if side_a { RGBColor(v / 2, v, 230) } else { RGBColor(230, v / 2, v / 2) }
}

/// Draws `metrics` of both sides up to step `to` into `path` (PNG).
pub fn draw(path: &Path, a: &[Run], b: &[Run], metrics: &[String], to: u64, smooth_steps: usize) -> Result<()> {
    let err = |e: &dyn std::fmt::Display| anyhow!("plot {}: {e}", path.display());
    let cols = 2usize.min(metrics.len().max(1));
    let rows = metrics.len().div_ceil(cols).max(1);
    let root = BitMapBackend::new(path, (700 * cols as u32, 320 * rows as u32)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(&e))?;
    let panels = root.split_evenly((rows, cols));
    for (panel, metric) in panels.iter().zip(metrics) {
        let curves: Vec<(bool, usize, usize, &Run, Vec<(f64, f64)>)> = [(true, a), (false, b)]
            .into_iter()
            .flat_map(|(is_a, runs)| {
                runs.iter().enumerate().filter_map(move |(i, r)| {
                    let pts: Vec<(f64, f64)> =
                        r.series.get(metric)?.range(..=to).filter(|(_, v)| v.is_finite()).map(|(s, v)| (*s as f64, *v)).collect();
                    Some((is_a, i, runs.len(), r, smooth(&pts, smooth_steps)))
                })
            })
            .collect();
        let ys = curves.iter().flat_map(|c| c.4.iter().map(|p| p.1));
        let (lo, hi) = ys.fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), y| (l.min(y), h.max(y)));
        if !lo.is_finite() {
            continue;
        }
        let pad = ((hi - lo) * 0.05).max(1e-9);
        let mut chart = ChartBuilder::on(panel)
            .caption(format!("{metric} (moving average of {smooth_steps} steps)"), ("sans-serif", 18))
            .margin(10)
            .x_label_area_size(30)
            .y_label_area_size(60)
            .build_cartesian_2d(0f64..to as f64, (lo - pad)..(hi + pad))
            .map_err(|e| err(&e))?;
        chart.configure_mesh().x_desc("step").draw().map_err(|e| err(&e))?;
        for (is_a, i, n, run, pts) in curves {
            let color = shade(is_a, i, n);
            let label = format!("{} {}", if is_a { "A" } else { "B" }, run.name);
            chart
                .draw_series(LineSeries::new(pts, color.stroke_width(2)))
                .map_err(|e| err(&e))?
                .label(label)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], color.stroke_width(2)));
        }
        chart.configure_series_labels().background_style(WHITE.mix(0.8)).border_style(BLACK).draw().map_err(|e| err(&e))?;
    }
    root.present().map_err(|e| err(&e))?;
    Ok(())
}
