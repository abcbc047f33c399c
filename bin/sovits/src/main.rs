//! `sovits`: the command line of the sovits trainer.

mod smoke;

use std::path::PathBuf;

use anyhow::Result;
use clap::{Parser, Subcommand};

/// Train GPT-SoVITS "SoVITS" (VITS) voice models natively on MLX.
#[derive(Debug, Parser)]
#[command(name = "sovits", version, about)]
struct Cli {
    /// Spec file (JSON); given before the subcommand. Several only for `sweep`.
    #[arg(long = "spec", global = true)]
    spec: Vec<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check the MLX backend: device, BLAS, matmul/conv throughput and a gradient.
    Smoke,
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    sovits_plugins::link_all();
    match cli.command {
        Command::Smoke => smoke::run(),
    }
}
