//! `sovits --spec A.json --spec B.json sweep --data DIR --out DIR --steps N`:
//! trains every spec variant from the same seed and data, each in its own
//! child process (so its peak RSS is its own), then writes a comparison of
//! final losses, validation mel L1, steps/s and peak RSS as Markdown and CSV.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

/// Arguments of `sweep`.
#[derive(Debug, clap::Args)]
pub struct SweepArgs {
    /// Dataset directory shared by every variant.
    #[arg(long)]
    pub data: PathBuf,
    /// Output directory: one run directory per variant plus sweep.md / sweep.csv.
    #[arg(long)]
    pub out: PathBuf,
    /// Steps per variant.
    #[arg(long, default_value_t = 100)]
    pub steps: u64,
}

/// One variant's outcome.
#[derive(Debug, Clone)]
struct Row {
    variant: String,
    g_total: f64,
    d_total: f64,
    mel_l1: f64,
    eval_mel_l1: Option<f64>,
    steps_per_second: f64,
    peak_rss_gib: Option<f64>,
}

/// Peak resident set size of this process in bytes (Linux `VmHWM`).
pub fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

fn summarise(variant: &str, run: &Path) -> Result<Row> {
    let metrics = run.join("metrics.jsonl");
    let text = std::fs::read_to_string(&metrics).with_context(|| format!("reading {}", metrics.display()))?;
    let rows: Vec<serde_json::Value> = text.lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
    let num = |v: &serde_json::Value, k: &str| v.get(k).and_then(|x| x.as_f64());
    // eval rows (written after the step a multiple of eval_every) carry no losses
    let Some(last) = rows.iter().rev().find(|r| num(r, "g/total").is_some()) else {
        bail!("{}: no training step recorded", metrics.display())
    };
    let mut secs: Vec<f64> = rows.iter().filter_map(|r| num(r, "seconds")).collect();
    secs.sort_by(f64::total_cmp);
    let median = secs.get(secs.len() / 2).copied().unwrap_or(f64::NAN);
    let eval = rows.iter().rev().find_map(|r| num(r, "eval/mel_l1"));
    let rss = std::fs::read_to_string(run.join("resources.json"))
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .and_then(|v| num(&v, "peak_rss_bytes"))
        .map(|b| b / (1u64 << 30) as f64);
    Ok(Row {
        variant: variant.to_string(),
        g_total: num(last, "g/total").unwrap_or(f64::NAN),
        d_total: num(last, "d/total").unwrap_or(f64::NAN),
        mel_l1: num(last, "g/mel-l1").unwrap_or(f64::NAN),
        eval_mel_l1: eval,
        steps_per_second: 1.0 / median,
        peak_rss_gib: rss,
    })
}

fn opt(v: Option<f64>) -> String {
    v.map(|x| format!("{x:.4}")).unwrap_or_else(|| "n/a".into())
}

/// Runs `sweep` over `specs` with the global `--set` overrides.
pub fn run_sweep(specs: &[PathBuf], sets: &[String], args: &SweepArgs) -> Result<()> {
    if specs.len() < 2 {
        bail!("sweep needs at least two --spec variants, found {}", specs.len());
    }
    std::fs::create_dir_all(&args.out).with_context(|| format!("creating {}", args.out.display()))?;
    let exe = std::env::current_exe().context("locating the sovits binary")?;
    let mut rows = Vec::new();
    for (i, spec) in specs.iter().enumerate() {
        let stem = spec.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| format!("variant{i}"));
        let variant = format!("{i:02}-{stem}");
        let run = args.out.join(&variant);
        eprintln!("[sweep] {variant}: training {} steps into {}", args.steps, run.display());
        let mut cmd = Command::new(&exe);
        cmd.arg("--spec").arg(spec);
        for s in sets {
            cmd.arg("--set").arg(s);
        }
        cmd.arg("train").arg("--data").arg(&args.data).arg("--out").arg(&run).arg("--steps").arg(args.steps.to_string());
        let status = cmd.status().with_context(|| format!("starting the {variant} child"))?;
        if !status.success() {
            bail!("variant {variant} ({}) failed with {status}", spec.display());
        }
        rows.push(summarise(&variant, &run)?);
    }
    let mut md = String::from(
        "| variant | g total | d total | mel L1 (train) | mel L1 (eval) | steps/s | peak RSS GiB |\n|---|---|---|---|---|---|---|\n",
    );
    let mut csv = String::from("variant,g_total,d_total,mel_l1,eval_mel_l1,steps_per_second,peak_rss_gib\n");
    for r in &rows {
        md.push_str(&format!(
            "| {} | {:.4} | {:.4} | {:.4} | {} | {:.3} | {} |\n",
            r.variant, r.g_total, r.d_total, r.mel_l1, opt(r.eval_mel_l1), r.steps_per_second, opt(r.peak_rss_gib)
        ));
        csv.push_str(&format!(
            "{},{},{},{},{},{},{}\n",
            r.variant,
            r.g_total,
            r.d_total,
            r.mel_l1,
            r.eval_mel_l1.map(|v| v.to_string()).unwrap_or_default(),
            r.steps_per_second,
            r.peak_rss_gib.map(|v| v.to_string()).unwrap_or_default()
        ));
    }
    std::fs::write(args.out.join("sweep.md"), &md)?;
    std::fs::write(args.out.join("sweep.csv"), &csv)?;
    print!("{md}");
    println!("written {} and {}", args.out.join("sweep.md").display(), args.out.join("sweep.csv").display());
    Ok(())
}
