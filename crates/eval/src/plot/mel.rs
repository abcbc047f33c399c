//! One PNG per evaluated item: its real, reconstructed and inferred log-mel
//! spectrograms stacked, each titled, with a time axis in seconds, a mel-bin
//! axis and one colour bar shared by every panel (scaled to the real panel's
//! range, so the panels compare directly).

use std::path::Path;

use plotters::prelude::*;
use sovits_core::Result;

use super::{FONT, plot_error};

/// Width of every mel figure in pixels.
pub const WIDTH: u32 = 1000;
/// Height of one panel in pixels.
pub const PANEL_HEIGHT: u32 = 240;
const TITLE_HEIGHT: u32 = 40;
const BAR_WIDTH: u32 = 110;

/// What one figure shows.
#[derive(Debug, Clone, Copy)]
pub struct MelFigure<'a> {
    /// Figure title (item id and step).
    pub title: &'a str,
    /// `(panel title, log-mel [frames, n_mels] row-major)` from top to bottom.
    pub panels: &'a [(&'a str, &'a [f32])],
    /// Mel bands per frame.
    pub n_mels: usize,
    /// Frames per second (sampling rate / hop).
    pub frame_rate: f64,
}

/// The colour range: the first panel's finite min..max (a flat or empty panel
/// gets the frontend's floor, ln 1e-5, to +2).
fn range(panel: &[f32]) -> (f64, f64) {
    let (lo, hi) = panel
        .iter()
        .filter(|v| v.is_finite())
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), &v| (a.min(v), b.max(v)));
    if lo.is_finite() && hi > lo { (lo as f64, hi as f64) } else { (-11.5, 2.0) }
}

fn colour(v: f64, lo: f64, hi: f64) -> RGBColor {
    let t = if v.is_finite() { ((v - lo) / (hi - lo)).clamp(0.0, 1.0) } else { 0.0 };
    ViridisRGB::get_color_normalized(t as f32, 0.0, 1.0)
}

/// Draws `fig` into the PNG file `path`.
pub fn draw(path: &Path, fig: &MelFigure) -> Result<()> {
    draw_inner(path, fig).map_err(plot_error(path))
}

fn draw_inner(path: &Path, fig: &MelFigure) -> std::result::Result<(), String> {
    let e = |x: &dyn std::fmt::Display| x.to_string();
    let m = fig.n_mels.max(1);
    let frames = fig.panels.iter().map(|(_, p)| p.len() / m).max().unwrap_or(0).max(1);
    let seconds = frames as f64 / fig.frame_rate;
    let (lo, hi) = fig.panels.first().map_or((-11.5, 2.0), |(_, p)| range(p));
    let height = TITLE_HEIGHT + PANEL_HEIGHT * fig.panels.len().max(1) as u32;
    let root = BitMapBackend::new(path, (WIDTH, height)).into_drawing_area();
    root.fill(&WHITE).map_err(|x| e(&x))?;
    let root = root.titled(fig.title, (FONT, 22)).map_err(|x| e(&x))?;
    let (left, right) = root.split_horizontally(WIDTH - BAR_WIDTH);
    let areas = left.split_evenly((fig.panels.len().max(1), 1));
    for (area, (name, mel)) in areas.iter().zip(fig.panels) {
        let mut chart = ChartBuilder::on(area)
            .caption(*name, (FONT, 16))
            .margin(6)
            .x_label_area_size(34)
            .y_label_area_size(52)
            .build_cartesian_2d(0f64..seconds, 0f64..m as f64)
            .map_err(|x| e(&x))?;
        chart
            .configure_mesh()
            .disable_mesh()
            .x_desc("time (s)")
            .y_desc("mel bin")
            .y_label_formatter(&|v| format!("{v:.0}"))
            .label_style((FONT, 13))
            .draw()
            .map_err(|x| e(&x))?;
        let dt = 1.0 / fig.frame_rate;
        let cells = mel.chunks_exact(m).enumerate().flat_map(|(t, frame)| {
            frame.iter().enumerate().map(move |(b, &v)| {
                let x0 = t as f64 * dt;
                Rectangle::new([(x0, b as f64), (x0 + dt, b as f64 + 1.0)], colour(v as f64, lo, hi).filled())
            })
        });
        chart.draw_series(cells).map_err(|x| e(&x))?;
    }
    let mut bar = ChartBuilder::on(&right)
        .caption("ln mel", (FONT, 14))
        .margin_top(40)
        .margin_bottom(40)
        .margin_right(10)
        .y_label_area_size(48)
        .build_cartesian_2d(0f64..1.0, lo..hi)
        .map_err(|x| e(&x))?;
    bar.configure_mesh().disable_mesh().disable_x_axis().label_style((FONT, 13)).draw().map_err(|x| e(&x))?;
    let steps = 128;
    let cells = (0..steps).map(|i| {
        let a = lo + (hi - lo) * i as f64 / steps as f64;
        let b = lo + (hi - lo) * (i + 1) as f64 / steps as f64;
        Rectangle::new([(0.0, a), (1.0, b)], colour((a + b) / 2.0, lo, hi).filled())
    });
    bar.draw_series(cells).map_err(|x| e(&x))?;
    root.present().map_err(|x| e(&x))?;
    Ok(())
}
