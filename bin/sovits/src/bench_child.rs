//! The measuring half of `sovits bench`: one configuration in its own process
//! (so peak RSS is its own), synthetic batches of the baseline's shapes,
//! warm-up steps, then timed full G+D steps. Prints one JSON line prefixed
//! with [`RESULT_MARKER`] for the parent to collect.

use std::time::Instant;

use anyhow::{Context, Result, bail};
use mlx_rs::{Array, Dtype, random};
use serde_json::{Value, json};
use sovits_core::{Batch, Spec, train::Trainer};

/// Prefix of the stdout line that carries the child's result.
pub const RESULT_MARKER: &str = "SOVITS_BENCH_RESULT ";

/// Shapes of one synthetic batch (the PyTorch baseline's 4 s utterances by default).
#[derive(Debug, Clone, Copy, clap::Args)]
pub struct BatchShape {
    /// Padded spectrogram / SSL frames per item.
    #[arg(long, default_value_t = 202)]
    pub frames: i32,
    /// Valid frames per item (the rest is padding).
    #[arg(long, default_value_t = 200)]
    pub valid_frames: i32,
    /// Audio samples per item.
    #[arg(long, default_value_t = 128_000)]
    pub samples: i32,
    /// Phoneme ids per item.
    #[arg(long, default_value_t = 50)]
    pub text_ids: i32,
}

/// Arguments of the hidden `bench-child` subcommand (one configuration).
#[derive(Debug, clap::Args)]
pub struct ChildArgs {
    /// Items per batch.
    #[arg(long)]
    pub batch: usize,
    /// Training segment in samples.
    #[arg(long)]
    pub segment: usize,
    /// `f32` or `bf16`.
    #[arg(long)]
    pub precision: String,
    /// Timed steps.
    #[arg(long)]
    pub steps: usize,
    /// Untimed warm-up steps.
    #[arg(long)]
    pub warmup: usize,
    /// Time each phase of the step (`build`, `grads`, `g_update`; adds a
    /// host sync between them).
    #[arg(long)]
    pub profile: bool,
    #[command(flatten)]
    shape: BatchShape,
}

/// The `--set` overrides that select a precision (bf16 also swaps in the
/// bf16 optimizers, which hand the model bf16 compute copies).
pub fn precision_overrides(precision: &str) -> Result<Vec<String>> {
    match precision {
        "f32" => Ok(vec!["trainer.precision=f32".into()]),
        "bf16" => Ok(vec![
            "trainer.precision=bf16".into(),
            "optimizer_g.name=adamw-bf16".into(),
            "optimizer_d.name=adamw-bf16".into(),
        ]),
        other => bail!("unknown precision `{other}` in --precision; known: f32, bf16"),
    }
}

/// A batch of the given shapes: random SSL features and positive spectra,
/// small random audio, phoneme ids in 1..700, every item fully valid.
pub fn synthetic_batch(batch: i32, shape: BatchShape) -> Result<Batch> {
    let BatchShape { frames, valid_frames, samples, text_ids } = shape;
    let lens = |n: i32| Array::from_slice(&vec![n; batch as usize], &[batch]);
    let ssl = random::normal::<f32>(&[batch, frames, 768], None, None, None)?;
    let spec = random::uniform::<_, f32>(0.0, 1.0, &[batch, frames, 1025], None)?;
    let audio = random::uniform::<_, f32>(-0.5, 0.5, &[batch, samples], None)?;
    let text = random::randint::<_, i32>(1, 700, &[batch, text_ids], None)?;
    let b = Batch {
        ssl: Some(ssl),
        semantic: None,
        spec,
        spec_lengths: lens(valid_frames),
        text,
        text_lengths: lens(text_ids),
        audio,
        audio_lengths: lens(valid_frames * 640),
        sv: None,
    };
    mlx_rs::transforms::eval([&b.spec, &b.audio, &b.text, b.ssl.as_ref().context("ssl")?])?;
    Ok(b)
}

/// Process peak resident set size in bytes (getrusage ru_maxrss, KiB on Linux).
pub fn peak_rss_bytes() -> u64 {
    // SAFETY: getrusage only writes into the zeroed struct we pass it.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    if rc != 0 {
        return 0;
    }
    u64::try_from(usage.ru_maxrss).unwrap_or(0) * 1024
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    match values.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => values[n / 2],
        n => 0.5 * (values[n / 2 - 1] + values[n / 2]),
    }
}

/// Runs one configuration and prints its result line.
pub fn run(spec: Spec, args: &ChildArgs) -> Result<()> {
    if args.steps == 0 {
        bail!("--steps must be at least 1");
    }
    let batch = synthetic_batch(i32::try_from(args.batch).context("--batch too large")?, args.shape)?;
    let mut trainer = Trainer::new(spec).context("building the trainer")?;
    trainer.profile = args.profile;
    let mut times = Vec::with_capacity(args.steps);
    let mut phases: Vec<(String, Vec<f64>)> = Vec::new();
    let mut last = None;
    for i in 0..args.warmup + args.steps {
        let start = Instant::now();
        let report = trainer.train_step(&batch).with_context(|| format!("bench step {}", i + 1))?;
        let secs = start.elapsed().as_secs_f64();
        eprintln!(
            "  step {}/{}: {secs:.3} s{}",
            i + 1,
            args.warmup + args.steps,
            if i < args.warmup { " (warm-up)" } else { "" }
        );
        if i >= args.warmup {
            times.push(secs);
            for (name, t) in &report.phases {
                match phases.iter_mut().find(|(n, _)| n == name) {
                    Some((_, v)) => v.push(*t),
                    None => phases.push((name.to_string(), vec![*t])),
                }
            }
        }
        last = Some(report);
    }
    let step_s = median(&mut times);
    let peak_mlx = mlx_rs::memory::peak_memory().unwrap_or(0);
    let phase_json: Vec<Value> =
        phases.iter_mut().map(|(n, v)| json!({"phase": n, "median_s": median(v)})).collect();
    let dtype = trainer.g_master.values().next().map(|a| a.dtype());
    let compute = trainer.opt_g.compute_params(&trainer.g_master)?;
    let compute_dtype = compute.values().find(|a| a.dtype() != Dtype::Int32).map(|a| format!("{:?}", a.dtype()));
    let result = json!({
        "batch": args.batch,
        "segment": args.segment,
        "precision": args.precision,
        "steps": args.steps,
        "warmup": args.warmup,
        "median_step_s": step_s,
        "steps_per_s": 1.0 / step_s,
        "step_times_s": times,
        "peak_rss_bytes": peak_rss_bytes(),
        "mlx_peak_bytes": peak_mlx,
        "master_dtype": dtype.map(|d| format!("{d:?}")),
        "compute_dtype": compute_dtype,
        "phases": phase_json,
        "last_g_total": last.as_ref().map(|r| r.g_total),
        "last_d_total": last.as_ref().map(|r| r.d_total),
    });
    println!("{RESULT_MARKER}{result}");
    Ok(())
}
