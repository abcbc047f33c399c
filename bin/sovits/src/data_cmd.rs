//! `sovits data check DIR` and `sovits prepare ...`: dataset validation and
//! preparation from wav + transcripts.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use sovits_core::Spec;
use sovits_core::data::dataset::Dataset;
use sovits_core::data::prepare::{self, PrepareOptions, PrepareUnits};
use sovits_core::registry;

/// `data` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum DataCommand {
    /// Validate a dataset directory and print one report listing every problem.
    Check {
        /// Dataset directory (metadata.json + npy folders).
        dir: PathBuf,
    },
}

/// Arguments of `prepare`.
#[derive(Debug, clap::Args)]
pub struct PrepareArgs {
    /// Folder of `<stem>.wav` files.
    #[arg(long)]
    pub audio: PathBuf,
    /// Transcripts, one `stem|text` per line.
    #[arg(long)]
    pub transcripts: PathBuf,
    /// Output dataset directory.
    #[arg(long)]
    pub out: PathBuf,
    /// Semantic units: `kmeans` (a stand-in clustering of log-mel frames, NOT HuBERT).
    #[arg(long)]
    pub units: Option<String>,
    /// Number of k-means codes.
    #[arg(long, default_value_t = 256)]
    pub k: usize,
    /// espeak-ng voice used for phonemes.
    #[arg(long, default_value = "en-us")]
    pub voice: String,
    /// Speaker name written to the metadata.
    #[arg(long, default_value = "speaker0")]
    pub speaker: String,
}

/// Runs `data check`; exits non-zero when the data has problems.
pub fn run_check(spec: &Spec, cmd: &DataCommand) -> Result<()> {
    let DataCommand::Check { dir } = cmd;
    let report = Dataset::check(dir, &spec.data, spec.trainer.segment_size)
        .with_context(|| format!("checking {}", dir.display()))?;
    println!("{report}");
    if !report.is_ok() {
        std::process::exit(1);
    }
    Ok(())
}

/// Runs `prepare`.
pub fn run_prepare(spec: &Spec, args: &PrepareArgs) -> Result<()> {
    let units = match args.units.as_deref() {
        Some("kmeans") => PrepareUnits::Kmeans { k: args.k },
        Some(other) => bail!("unknown --units `{other}`; known: kmeans"),
        None => bail!(
            "semantic ids from SSL features need a checkpoint quantizer: not implemented yet; \
             pass --units kmeans for the stand-in units"
        ),
    };
    let frontend = registry::build_frontend(&spec.frontend, &spec.frontend.at, &spec.build_context())?;
    let opts = PrepareOptions {
        audio_dir: args.audio.clone(),
        transcripts: args.transcripts.clone(),
        out: args.out.clone(),
        units,
        voice: args.voice.clone(),
        speaker: args.speaker.clone(),
        seed: spec.trainer.seed,
    };
    let summary = prepare::run(&opts, &*frontend).context("preparing the dataset")?;
    for w in &summary.warnings {
        eprintln!("WARNING: {w}");
    }
    for (stem, why) in &summary.dropped {
        eprintln!("dropped {stem}: {why}");
    }
    println!("prepared {} item(s) into {}", summary.written, args.out.display());
    Ok(())
}
