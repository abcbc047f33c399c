//! `sovits`: the command line of the sovits trainer.

mod bench;
mod bench_child;
mod bench_reference;
mod blas_env;
mod check;
mod compare_plot;
mod compare_runs;
mod data_cmd;
mod eval_cmd;
mod gpt_sovits_prepare;
mod infer;
mod interop_cmd;
mod launch;
mod malloc_policy;
mod plugins;
mod progress_line;
mod smoke;
mod sweep;
mod train;

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use sovits_core::Spec;

/// Train GPT-SoVITS "SoVITS" (VITS) voice models natively on MLX.
#[derive(Debug, Parser)]
#[command(name = "sovits", version, about)]
struct Cli {
    /// Spec file (JSON); given before the subcommand. Several only for `sweep`.
    #[arg(long = "spec", global = true)]
    spec: Vec<PathBuf>,
    /// Override a spec field, e.g. `--set trainer.batch_size=4` (value parsed as JSON, else a string).
    #[arg(long = "set", global = true)]
    set: Vec<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check the MLX backend: device, BLAS, matmul/conv throughput and a gradient.
    Smoke,
    /// List every registered component per kind with its default config.
    Plugins,
    /// Validate the spec: resolve `extends`, build every component, print the resolved spec.
    Check,
    /// Train on a dataset, writing checkpoints and metrics into a run directory.
    Train(train::TrainArgs),
    /// Dataset tools.
    #[command(subcommand)]
    Data(data_cmd::DataCommand),
    /// Build a dataset from wav files and transcripts.
    Prepare(data_cmd::PrepareArgs),
    /// Train several spec variants (one `--spec` each) and compare them.
    Sweep(sweep::SweepArgs),
    /// Synthesise a dataset item with a trained checkpoint into a wav file.
    Infer(infer::InferArgs),
    /// Score checkpoints on held-out items: mel L1, MR-STFT, MCD, F0 RMSE (reconstruction and inference).
    Eval(eval_cmd::EvalArgs),
    /// Time full G+D training steps on synthetic batches against the PyTorch reference.
    Bench(bench::BenchArgs),
    /// One `bench` configuration, run by `bench` in its own process.
    #[command(hide = true)]
    BenchChild(bench_child::ChildArgs),
    /// Import a GPT-SoVITS `.pth` (inference weights or training checkpoint).
    Import(interop_cmd::ImportArgs),
    /// Export a checkpoint as a GPT-SoVITS `.pth` or safetensors.
    Export(interop_cmd::ExportArgs),
    /// Compare training runs (e.g. sovits vs the PyTorch reference): window means, gaps, seed spread, overlay PNG.
    CompareRuns(compare_runs::CompareArgs),
}

impl Cli {
    /// The one spec of a single-spec command, with `--set` overrides applied.
    fn single_spec(&self) -> Result<(PathBuf, Spec)> {
        match self.spec.as_slice() {
            [path] => {
                let spec = Spec::load(path, &self.set).with_context(|| format!("loading spec {}", path.display()))?;
                Ok((path.clone(), spec))
            }
            [] => bail!("no spec given: pass --spec FILE before the subcommand (e.g. --spec configs/vits_default.json)"),
            _ => bail!("--spec given {} times; only `sweep` takes several specs", self.spec.len()),
        }
    }
}

impl Cli {
    /// The given spec, or the built-in GPT-SoVITS v2 recipe when none is given.
    fn spec_or_default(&self) -> Result<Spec> {
        if self.spec.is_empty() {
            return Ok(Spec::builtin(&self.set)?);
        }
        Ok(self.single_spec()?.1)
    }
}

fn main() -> Result<()> {
    blas_env::ensure_thread_timeout();
    malloc_policy::keep_freed_memory();
    let cli = Cli::parse();
    sovits_plugins::link_all();
    match &cli.command {
        Command::Smoke => smoke::run(),
        Command::Plugins => plugins::run(),
        Command::Check => {
            let (path, spec) = cli.single_spec()?;
            check::run(&path, &spec)
        }
        Command::Data(cmd) => data_cmd::run_check(&cli.spec_or_default()?, cmd),
        Command::Prepare(args) => data_cmd::run_prepare(&cli.spec_or_default()?, args),
        Command::Import(args) => interop_cmd::run_import(args),
        Command::Bench(args) => bench::run(&cli.spec, &cli.set, args),
        Command::BenchChild(args) => bench_child::run(cli.spec_or_default()?, args),
        Command::Sweep(args) => sweep::run_sweep(&cli.spec, &cli.set, args),
        Command::Infer(args) => infer::run_infer(&cli.single_spec()?.1, args),
        Command::Eval(args) => eval_cmd::run_eval(&cli.spec_or_default()?, args),
        Command::Export(args) => interop_cmd::run_export(args),
        Command::CompareRuns(args) => compare_runs::run(args),
        Command::Train(args) => {
            let (_, spec) = cli.single_spec()?;
            train::run_train(spec, args)
        }
    }
}
