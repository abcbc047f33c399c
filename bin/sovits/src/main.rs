//! `sovits`: the command line of the sovits trainer.

mod check;
mod plugins;
mod smoke;
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

fn main() -> Result<()> {
    let cli = Cli::parse();
    sovits_plugins::link_all();
    match &cli.command {
        Command::Smoke => smoke::run(),
        Command::Plugins => plugins::run(),
        Command::Check => {
            let (path, spec) = cli.single_spec()?;
            check::run(&path, &spec)
        }
        Command::Train(args) => {
            let (_, spec) = cli.single_spec()?;
            train::run_train(spec, args)
        }
    }
}
