//! `sovits --spec FILE bench [--batch B] [--segment S] [--precision f32|bf16]
//! [--steps N] [--warmup W] [--out FILE.json] [--profile]`: full G+D training
//! steps on synthetic batches, each configuration in its own child process,
//! printed beside GPT-SoVITS's PyTorch step: measured in the same run,
//! alternating with ours, when `--reference-python` and `--reference-root`
//! (or their environment variables) are given, else the dated figure
//! recorded on this machine kind ([`crate::bench_reference`]). The machine's
//! matmul speed is printed with every run: timings are comparable only
//! within one session.

use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};
use sovits_core::backend;

use crate::bench_child::{BatchShape, RESULT_MARKER, precision_overrides};
use crate::bench_reference::{self as reference, MATMUL_PRECISIONS, RECORDED_SOURCE, Reference, ReferenceArgs};

/// Arguments of `bench`.
#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// Batch sizes, comma-separated.
    #[arg(long, value_delimiter = ',', default_values_t = vec![1usize])]
    pub batch: Vec<usize>,
    /// Segment sizes in samples (multiples of the hop), comma-separated.
    #[arg(long, value_delimiter = ',', default_values_t = vec![20480usize])]
    pub segment: Vec<usize>,
    /// Precisions (`f32`, `bf16`), comma-separated.
    #[arg(long, value_delimiter = ',', default_values_t = vec!["f32".to_string()])]
    pub precision: Vec<String>,
    /// Timed steps per configuration (the median is reported).
    #[arg(long, default_value_t = 3)]
    pub steps: usize,
    /// Untimed warm-up steps per configuration.
    #[arg(long, default_value_t = 1)]
    pub warmup: usize,
    /// Also time each phase of the step: `build` (tracing the graph), `grads`
    /// (its one evaluation: generator forward, discriminator update,
    /// generator backward) and `g_update` (adds a host sync between them).
    #[arg(long)]
    pub profile: bool,
    /// Write the results as JSON here.
    #[arg(long)]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    shape: BatchShape,
    #[command(flatten)]
    reference: ReferenceArgs,
}

const GIB: f64 = 1024.0 * 1024.0 * 1024.0;

/// Runs every configuration in a child process and reports them.
pub fn run(spec_args: &[PathBuf], sets: &[String], args: &BenchArgs) -> Result<()> {
    if spec_args.len() > 1 {
        bail!("--spec given {} times; bench takes one spec", spec_args.len());
    }
    for p in &args.precision {
        precision_overrides(p)?;
    }
    let exe = std::env::current_exe().context("locating the sovits binary to re-run per configuration")?;
    let torch = Reference::from_args(&args.reference)?;
    let gflops = backend::matmul_peak_gflops(1024, 25)?;
    let device = format!("{} ({})", backend::device_name(), backend::cpu_name());
    println!("device: {device}");
    println!("matmul 1024x1024 f32 (best of 25): {gflops:.1} GFLOP/s");
    let torch_source = match &torch {
        Some(r) => r.describe(),
        None => format!("{RECORDED_SOURCE} (not measured in this run; --reference-python and --reference-root measure it)"),
    };
    println!("PyTorch column: {torch_source}");
    if let Some(w) = sovits_core::train::cpu_bf16::warning(args.precision.iter().any(|p| p == "bf16")) {
        eprintln!("warning: {w}");
    }
    let mut results = Vec::new();
    for &batch in &args.batch {
        for &segment in &args.segment {
            for precision in &args.precision {
                eprintln!("bench: batch {batch}, segment {segment}, {precision}");
                let mut cmd = Command::new(&exe);
                for s in spec_args {
                    cmd.arg("--spec").arg(s);
                }
                for s in sets {
                    cmd.arg("--set").arg(s);
                }
                cmd.arg("--set").arg(format!("trainer.batch_size={batch}"));
                cmd.arg("--set").arg(format!("trainer.segment_size={segment}"));
                for s in precision_overrides(precision)? {
                    cmd.arg("--set").arg(s);
                }
                let sh = args.shape;
                cmd.arg("bench-child")
                    .args(["--batch", &batch.to_string(), "--segment", &segment.to_string()])
                    .args(["--precision", precision, "--steps", &args.steps.to_string()])
                    .args(["--warmup", &args.warmup.to_string()])
                    .args(["--frames", &sh.frames.to_string(), "--valid-frames", &sh.valid_frames.to_string()])
                    .args(["--samples", &sh.samples.to_string(), "--text-ids", &sh.text_ids.to_string()]);
                if args.profile {
                    cmd.arg("--profile");
                }
                let out = cmd.stderr(std::process::Stdio::inherit()).output().context("running a bench child")?;
                let stdout = String::from_utf8_lossy(&out.stdout);
                let line = stdout.lines().find_map(|l| l.strip_prefix(RESULT_MARKER));
                match (out.status.success(), line) {
                    (true, Some(l)) => {
                        let v: Value = serde_json::from_str(l).context("parsing a bench child's result")?;
                        let mut measured = Vec::new();
                        if let (Some(r), "f32") = (&torch, precision.as_str()) {
                            for p in MATMUL_PRECISIONS {
                                eprintln!("bench: PyTorch reference, batch {batch}, segment {segment}, matmul {p}");
                                measured.push((p, r.measure(batch, segment, p, args.steps, args.warmup)?));
                            }
                        }
                        results.push(reference::attach(v, &measured));
                    }
                    _ => bail!("bench child for batch {batch}, segment {segment}, {precision} failed ({})", out.status),
                }
            }
        }
    }
    print_table(&results);
    let doc = json!({
        "device": device,
        "blas": backend::blas_description(),
        "matmul_gflops": gflops,
        "reference": {"source": torch_source},
        "results": results,
    });
    if let Some(path) = &args.out {
        std::fs::write(path, serde_json::to_string_pretty(&doc)?).with_context(|| format!("writing {}", path.display()))?;
        println!("wrote {}", path.display());
    }
    Ok(())
}

fn print_table(results: &[Value]) {
    println!(
        "\n{:>5} {:>7} {:>5} | {:>8} {:>7} | {:>8} {:>8} {:>6} {:>6} | {:>8} {:>9} {:>6} | {:>8}",
        "batch", "segment", "prec", "s/step", "steps/s", "torch hi", "torch md", "x hi", "x md", "RSS GiB", "torch GiB",
        "ratio", "MLX GiB"
    );
    for v in results {
        let f = |k: &str| v[k].as_f64();
        let opt = |x: Option<f64>, p: usize| x.map(|x| format!("{x:.p$}")).unwrap_or_else(|| "-".into());
        println!(
            "{:>5} {:>7} {:>5} | {:>8} {:>7} | {:>8} {:>8} {:>6} {:>6} | {:>8} {:>9} {:>6} | {:>8}",
            v["batch"].as_u64().unwrap_or(0),
            v["segment"].as_u64().unwrap_or(0),
            v["precision"].as_str().unwrap_or("?"),
            opt(f("median_step_s"), 3),
            opt(f("steps_per_s"), 3),
            opt(f("torch_highest_s"), 2),
            opt(f("torch_medium_s"), 2),
            opt(f("step_ratio_vs_torch_highest"), 2),
            opt(f("step_ratio_vs_torch_medium"), 2),
            opt(f("peak_rss_bytes").map(|b| b / GIB), 2),
            opt(f("torch_peak_rss_gib"), 2),
            opt(f("rss_ratio_vs_torch"), 2),
            opt(f("mlx_peak_bytes").map(|b| b / GIB), 2),
        );
        if let Some(phases) = v["phases"].as_array().filter(|p| !p.is_empty()) {
            let parts: Vec<String> = phases
                .iter()
                .map(|p| format!("{} {:.3}", p["phase"].as_str().unwrap_or("?"), p["median_s"].as_f64().unwrap_or(f64::NAN)))
                .collect();
            println!("      phases (s): {}", parts.join(", "));
        }
    }
}
