//! `sovits compare-runs A1 [A2 ..] --vs B1 [B2 ..]`: compares two sides of
//! training runs (e.g. sovits against the PyTorch reference driver
//! `scripts/reference_train.py`, several seeds per side) from their
//! `metrics.jsonl`: the mean of each metric over the last `--window` steps
//! per run, each side's mean and seed spread, the relative gap of A to B,
//! whether A lies inside B's seed range, per-chunk gaps (`--chunk`), and one
//! PNG overlaying the smoothed curves (`--plot`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::compare_plot;

/// Arguments of `compare-runs`.
#[derive(Debug, clap::Args)]
pub struct CompareArgs {
    /// Side A: run directories (with metrics.jsonl) or .jsonl files.
    #[arg(required = true)]
    pub runs: Vec<PathBuf>,
    /// Side B. Without it, two positional runs are compared one against the other.
    #[arg(long, num_args = 1..)]
    pub vs: Vec<PathBuf>,
    /// Metrics to compare (metrics.jsonl keys).
    #[arg(long, value_delimiter = ',', default_value = "d/total,g/total,g/mel-l1,g/kl,g/feature-matching,g/lsgan")]
    pub metrics: Vec<String>,
    /// Window: the last N steps that every run has.
    #[arg(long, default_value_t = 200)]
    pub window: u64,
    /// Also print the gap per chunk of N steps (0: off).
    #[arg(long, default_value_t = 0)]
    pub chunk: u64,
    /// Write the Markdown report here too.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Write a PNG overlaying every run's curves (moving average of `--smooth` steps).
    #[arg(long)]
    pub plot: Option<PathBuf>,
    /// Moving-average length of the plotted curves, in steps.
    #[arg(long, default_value_t = 10)]
    pub smooth: usize,
}

/// One run's metric values by step.
#[derive(Debug, Clone)]
pub struct Run {
    /// Label: the run's directory or file name.
    pub name: String,
    /// metric -> step -> value.
    pub series: BTreeMap<String, BTreeMap<u64, f64>>,
}

impl Run {
    /// Last step with any of `metrics`.
    fn last_step(&self, metrics: &[String]) -> u64 {
        metrics.iter().filter_map(|m| self.series.get(m)?.keys().next_back().copied()).max().unwrap_or(0)
    }

    /// Mean of `metric` over steps in `(from, to]`, with the count.
    fn mean(&self, metric: &str, from: u64, to: u64) -> Option<(f64, usize)> {
        let vals: Vec<f64> = self.series.get(metric)?.range(from + 1..=to).map(|(_, v)| *v).filter(|v| v.is_finite()).collect();
        (!vals.is_empty()).then(|| (vals.iter().sum::<f64>() / vals.len() as f64, vals.len()))
    }
}

/// Reads `metrics.jsonl` of a run directory (or a .jsonl file): every
/// numeric field but step, epoch, lr and seconds, by step; lines that do not
/// parse are reported.
pub fn load_run(path: &Path) -> Result<Run> {
    let file = if path.is_dir() { path.join("metrics.jsonl") } else { path.to_path_buf() };
    let text = std::fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?;
    let mut series: BTreeMap<String, BTreeMap<u64, f64>> = BTreeMap::new();
    for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let v: serde_json::Value =
            serde_json::from_str(line).with_context(|| format!("{} line {}: not JSON", file.display(), i + 1))?;
        let Some(step) = v.get("step").and_then(|s| s.as_u64()) else {
            bail!("{} line {}: no integer `step`", file.display(), i + 1)
        };
        for (k, x) in v.as_object().into_iter().flatten() {
            if ["step", "epoch", "lr", "seconds"].contains(&k.as_str()) {
                continue;
            }
            if let Some(x) = x.as_f64() {
                series.entry(k.clone()).or_default().insert(step, x);
            }
        }
    }
    let name = path.file_name().map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into_owned());
    Ok(Run { name, series })
}

/// Mean over runs, and the spread `(max - min) / |mean|`.
fn side_stats(means: &[f64]) -> (f64, f64, f64, f64) {
    let mean = means.iter().sum::<f64>() / means.len() as f64;
    let lo = means.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = means.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    (mean, lo, hi, (hi - lo) / mean.abs())
}

/// Markdown table of window means, gaps and spreads, for `(from, to]`.
pub fn window_table(a: &[Run], b: &[Run], metrics: &[String], from: u64, to: u64) -> String {
    let mut s = format!(
        "| metric | A mean | A runs | A spread | B mean | B runs | B spread | gap A vs B | A in B's range |\n|---|---|---|---|---|---|---|---|---|\n"
    );
    for m in metrics {
        let per = |runs: &[Run]| -> Vec<f64> { runs.iter().filter_map(|r| r.mean(m, from, to).map(|x| x.0)).collect() };
        let (ma, mb) = (per(a), per(b));
        if ma.len() != a.len() || mb.len() != b.len() {
            s += &format!("| {m} | missing in {} run(s) | | | | | | | |\n", a.len() + b.len() - ma.len() - mb.len());
            continue;
        }
        let (am, alo, ahi, asp) = side_stats(&ma);
        let (bm, blo, bhi, bsp) = side_stats(&mb);
        let list = |v: &[f64]| v.iter().map(|x| format!("{x:.4}")).collect::<Vec<_>>().join(", ");
        let inside = if b.len() > 1 {
            let tol = 0.02 * bm.abs();
            if am >= blo && am <= bhi { "yes".to_string() } else if am >= blo - tol && am <= bhi + tol { "within 2%".into() } else { "no".into() }
        } else {
            "(one B run)".into()
        };
        let spread = |n: usize, sp: f64, lo: f64, hi: f64| if n > 1 { format!("{:.2}% ({lo:.4}-{hi:.4})", 100.0 * sp) } else { "-".into() };
        s += &format!(
            "| {m} | {am:.4} | {} | {} | {bm:.4} | {} | {} | {:+.2}% | {inside} |\n",
            list(&ma),
            spread(ma.len(), asp, alo, ahi),
            list(&mb),
            spread(mb.len(), bsp, blo, bhi),
            100.0 * (am - bm) / bm.abs()
        );
    }
    s
}

/// Gap of A's mean to B's mean per chunk of `chunk` steps up to `to`.
pub fn chunk_table(a: &[Run], b: &[Run], metrics: &[String], chunk: u64, to: u64) -> String {
    let mut s = format!("| steps | {} |\n|---|{}\n", metrics.join(" | "), "---|".repeat(metrics.len()));
    let mut from = 0;
    while from < to {
        let end = (from + chunk).min(to);
        let cells: Vec<String> = metrics
            .iter()
            .map(|m| {
                let side = |runs: &[Run]| -> Option<f64> {
                    let v: Vec<f64> = runs.iter().filter_map(|r| r.mean(m, from, end).map(|x| x.0)).collect();
                    (v.len() == runs.len()).then(|| v.iter().sum::<f64>() / v.len() as f64)
                };
                match (side(a), side(b)) {
                    (Some(x), Some(y)) => format!("{:+.2}%", 100.0 * (x - y) / y.abs()),
                    _ => "-".into(),
                }
            })
            .collect();
        s += &format!("| {}-{end} | {} |\n", from + 1, cells.join(" | "));
        from = end;
    }
    s
}

/// Runs `compare-runs`.
pub fn run(args: &CompareArgs) -> Result<()> {
    let (a_paths, b_paths): (Vec<PathBuf>, Vec<PathBuf>) = if args.vs.is_empty() {
        match args.runs.as_slice() {
            [x, y] => (vec![x.clone()], vec![y.clone()]),
            _ => bail!("give side B with --vs (e.g. `compare-runs ours1 ours2 --vs ref1 ref2`), or exactly two runs"),
        }
    } else {
        (args.runs.clone(), args.vs.clone())
    };
    let load = |ps: &[PathBuf]| ps.iter().map(|p| load_run(p)).collect::<Result<Vec<_>>>();
    let (a, b) = (load(&a_paths)?, load(&b_paths)?);
    let ends: Vec<u64> = a.iter().chain(&b).map(|r| r.last_step(&args.metrics)).collect();
    let to = ends.iter().copied().min().unwrap_or(0);
    if to == 0 {
        bail!("no run has any of the metrics {:?}", args.metrics);
    }
    let from = to.saturating_sub(args.window);
    let mut report = format!(
        "A: {}\nB: {}\n\nMean of each run over steps {}-{to} (last common step {to}; runs end at {ends:?}); spread = (max - min) / mean over a side's runs.\n\n",
        a.iter().map(|r| r.name.as_str()).collect::<Vec<_>>().join(", "),
        b.iter().map(|r| r.name.as_str()).collect::<Vec<_>>().join(", "),
        from + 1
    );
    report += &window_table(&a, &b, &args.metrics, from, to);
    if args.chunk > 0 {
        report += &format!("\nGap of A's mean to B's mean per {} steps:\n\n", args.chunk);
        report += &chunk_table(&a, &b, &args.metrics, args.chunk, to);
    }
    print!("{report}");
    if let Some(out) = &args.out {
        std::fs::write(out, &report).with_context(|| format!("writing {}", out.display()))?;
    }
    if let Some(png) = &args.plot {
        compare_plot::draw(png, &a, &b, &args.metrics, to, args.smooth)?;
        println!("\nplot: {}", png.display());
    }
    Ok(())
}
