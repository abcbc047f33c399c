//! `sovits --spec FILE train --data DIR --out RUN [--resume] [--init-from CKPT] [--steps N]`:
//! runs the trainer with a progress bar (plain lines every `trainer.log_every`
//! steps when stderr is not a terminal); Ctrl-C saves a checkpoint and exits.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use sovits_core::Spec;
use sovits_core::train::StepReport;
use sovits_core::train::run::{Observer, RunHooks, RunOptions, run};

/// Arguments of `train`.
#[derive(Debug, clap::Args)]
pub struct TrainArgs {
    /// Dataset directory (metadata.json + npy folders); defaults to the spec's data.dir.
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Run directory for checkpoints, metrics.jsonl and samples.
    #[arg(long)]
    pub out: PathBuf,
    /// Continue from the newest checkpoint in --out.
    #[arg(long)]
    pub resume: bool,
    /// Initialise G (and D) from a checkpoint directory, a G safetensors file or a GPT-SoVITS `.pth`.
    #[arg(long)]
    pub init_from: Option<PathBuf>,
    /// Initialise D from a GPT-SoVITS `pretrained_s2D` / `D_*.pth` file, a checkpoint directory or a D safetensors file (needs --init-from).
    #[arg(long, requires = "init_from")]
    pub init_d_from: Option<PathBuf>,
    /// Stop after N steps in total.
    #[arg(long)]
    pub steps: Option<u64>,
    /// Stop after this many minutes of training, as Ctrl-C does (the current
    /// step finishes and a checkpoint is written): a time budget for demos.
    #[arg(long)]
    pub minutes: Option<f64>,
    /// Data-parallel training: an MLX launcher host file (one rank per host entry).
    #[arg(long)]
    pub distributed: Option<PathBuf>,
    /// First TCP port of the ring (rank i listens on port + i).
    #[arg(long, default_value_t = 5520)]
    pub port: u16,
}

struct Progress {
    bar: ProgressBar,
    /// `export.gpt_sovits_weights`: where each save's GPT-SoVITS `.pth` goes, and the experiment name.
    weights: Option<(PathBuf, String)>,
}

impl Observer for Progress {
    fn start(&mut self, first_step: u64, last_step: Option<u64>) {
        if let Some(n) = last_step {
            self.bar.set_length(n);
        }
        self.bar.set_position(first_step);
    }

    fn step(&mut self, r: &StepReport, _items: &[String], rate: f64) {
        let pick = |k: &str| r.terms.iter().find(|(n, _)| n == k).map(|(_, v)| *v);
        let mel = pick("g/mel-l1").map(|v| format!(" mel {v:.3}")).unwrap_or_default();
        self.bar.set_position(r.step);
        self.bar.set_message(format!("g {:.3} d {:.3}{mel} | {rate:.2} steps/s", r.g_total, r.d_total));
    }

    fn message(&mut self, text: &str) {
        // a hidden bar (stderr not a terminal) drops println: keep the line
        if self.bar.is_hidden() {
            eprintln!("{text}");
        } else {
            self.bar.println(text);
        }
    }

    fn checkpoint_saved(&mut self, dir: &std::path::Path) {
        if let Some(line) = save_weights_line(&self.weights, dir) {
            self.message(&line);
        }
    }
}

/// Writes the GPT-SoVITS `.pth` of G for a just-saved checkpoint when
/// `export.gpt_sovits_weights` asks for it (`target`: folder and experiment
/// name); returns the line to log, a warning when the write failed.
pub(crate) fn save_weights_line(target: &Option<(PathBuf, String)>, dir: &std::path::Path) -> Option<String> {
    let (folder, name) = target.as_ref()?;
    Some(match crate::interop_cmd::save_every_weights(dir, folder, name) {
        Ok(path) => format!("GPT-SoVITS weights {}", path.display()),
        Err(e) => format!("WARNING: writing the GPT-SoVITS weights of {} failed: {e:#}", dir.display()),
    })
}

/// Runs `train`.
pub fn run_train(spec: Spec, args: &TrainArgs) -> Result<()> {
    if let Some(hostfile) = &args.distributed {
        if std::env::var_os("MLX_RANK").is_none() {
            return crate::launch::launch(hostfile, &args.out, args.port);
        }
    }
    let group = crate::launch::rank_group()?;
    let root = group.as_ref().is_none_or(|g| g.is_root());
    let bf16 = spec.trainer.precision == sovits_core::spec::Precision::Bf16;
    if let (true, Some(w)) = (root, sovits_core::train::cpu_bf16::warning(bf16)) {
        eprintln!("warning: {w}");
    }
    let data = args
        .data
        .clone()
        .or_else(|| spec.data.dir.clone())
        .context("no dataset: pass --data DIR or set data.dir in the spec")?;
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    ctrlc::set_handler(move || {
        if flag.swap(true, Ordering::SeqCst) {
            eprintln!("second interrupt: exiting without a checkpoint");
            std::process::exit(130);
        }
        eprintln!("interrupt: finishing the current step and writing a checkpoint (Ctrl-C again to abort)");
    })
    .context("installing the Ctrl-C handler")?;
    if let Some(minutes) = args.minutes {
        crate::progress_line::stop_after(minutes, stop.clone());
    }
    let bar = if root { ProgressBar::new(0) } else { ProgressBar::hidden() };
    bar.set_style(
        ProgressStyle::with_template("{spinner} step {pos}/{len} [{elapsed_precise} < {eta_precise}] {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let (init_from, init_may_lack) = match &args.init_from {
        Some(src) if !args.resume => {
            let plan = sovits_interop::prepare_init(src, args.init_d_from.as_deref(), &args.out)
                .with_context(|| format!("preparing the initial weights from {}", src.display()))?;
            // before the bar draws; plain stderr so a redirected log keeps it too
            for note in &plan.notes {
                eprintln!("{note}");
            }
            (Some(plan.source), plan.g_may_lack)
        }
        _ => (None, Vec::new()),
    };
    let opts = RunOptions { data, out: args.out.clone(), resume: args.resume, init_from, init_may_lack, max_steps: args.steps };
    let weights = spec.export.gpt_sovits_weights.then(|| {
        let folder = spec.export.weights_dir.clone().unwrap_or_else(|| args.out.join("weights"));
        let run_name = args.out.file_name().map(|n| n.to_string_lossy().into_owned());
        let name = spec.export.name.clone().or(run_name).unwrap_or_else(|| "sovits".into());
        (folder, name)
    });
    let weights = if root { weights } else { None };
    let mut progress = Progress { bar, weights: weights.clone() };
    // without a terminal the bar draws nothing: print plain lines instead
    let mut lines = crate::progress_line::LineProgress::new(spec.trainer.log_every, weights).with_budget(args.minutes);
    let observer: &mut dyn Observer = if root && !std::io::stderr().is_terminal() { &mut lines } else { &mut progress };
    let mut evaluator = sovits_eval::HeldOutEvaluator::new(&spec).context("building the evaluator")?;
    let hooks = RunHooks::new(&stop, observer).with_evaluator(&mut evaluator).with_group(group);
    let summary = run(spec, &opts, hooks).context("training")?;
    if !root {
        return Ok(());
    }
    progress.bar.finish();
    // curves.png was drawn at the last evaluation; bring it to the last step
    if let Err(e) = sovits_eval::redraw_curves(&args.out) {
        eprintln!("warning: could not redraw {}: {e:#}", args.out.join("curves.png").display());
    }
    let resources = serde_json::json!({ "peak_rss_bytes": crate::sweep::peak_rss_bytes() });
    std::fs::write(args.out.join("resources.json"), resources.to_string())
        .with_context(|| format!("writing {}", args.out.join("resources.json").display()))?;
    println!(
        "{} after {} steps; checkpoint {}; metrics {}",
        if summary.interrupted { "stopped" } else { "done" },
        summary.steps,
        summary.checkpoint.map(|p| p.display().to_string()).unwrap_or_else(|| "(none)".into()),
        args.out.join("metrics.jsonl").display()
    );
    Ok(())
}
