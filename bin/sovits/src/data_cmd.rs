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
    /// Folder of `<stem>.wav` or `<stem>.flac` files.
    #[arg(long, required_unless_present = "from_gpt_sovits")]
    pub audio: Option<PathBuf>,
    /// Transcripts, one `stem|text` per line.
    #[arg(long, required_unless_present = "from_gpt_sovits")]
    pub transcripts: Option<PathBuf>,
    /// A GPT-SoVITS experiment folder (`logs/<exp>`: 2-name2text.txt, 4-cnhubert/,
    /// 5-wav32k/, [6-name2semantic.tsv]) to convert instead of wav + transcripts.
    #[arg(long, conflicts_with_all = ["audio", "transcripts", "units"])]
    pub from_gpt_sovits: Option<PathBuf>,
    /// With --from-gpt-sovits: write the dataset without the items that have problems.
    #[arg(long, requires = "from_gpt_sovits")]
    pub skip_bad: bool,
    /// Output dataset directory.
    #[arg(long)]
    pub out: PathBuf,
    /// Semantic units: `ssl` (provided HuBERT features quantized by --ckpt's
    /// quantizer, the reference pipeline) or `kmeans` (a stand-in clustering of
    /// log-mel frames, NOT HuBERT).
    #[arg(long)]
    pub units: Option<String>,
    /// With `--units ssl`: folder of `<stem>.npy` SSL features `[768, T]` at 50 Hz.
    #[arg(long)]
    pub ssl: Option<PathBuf>,
    /// With `--units ssl`: checkpoint directory (G.safetensors) or G safetensors
    /// file whose `ssl_proj` + quantizer make the codes.
    #[arg(long)]
    pub ckpt: Option<PathBuf>,
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
    if let Some(exp) = &args.from_gpt_sovits {
        return crate::gpt_sovits_prepare::run(spec, exp, &args.out, args.skip_bad);
    }
    let (Some(audio), Some(transcripts)) = (&args.audio, &args.transcripts) else {
        bail!("pass --audio DIR --transcripts FILE, or --from-gpt-sovits logs/<exp>");
    };
    let units = match args.units.as_deref() {
        Some("kmeans") => PrepareUnits::Kmeans { k: args.k },
        Some("ssl") => PrepareUnits::Ssl { dir: args.ssl.clone().context("--units ssl needs --ssl DIR (the SSL feature files)")? },
        Some(other) => bail!("unknown --units `{other}`; known: ssl, kmeans"),
        None => bail!("pass --units ssl --ssl DIR --ckpt CKPT (HuBERT features) or --units kmeans (stand-in units)"),
    };
    let frontend = registry::build_frontend(&spec.frontend, &spec.frontend.at, &spec.build_context())?;
    let opts = PrepareOptions {
        audio_dir: audio.clone(),
        transcripts: transcripts.clone(),
        out: args.out.clone(),
        units,
        voice: args.voice.clone(),
        speaker: args.speaker.clone(),
        seed: spec.trainer.seed,
    };
    let summary = match &opts.units {
        PrepareUnits::Ssl { .. } => {
            let ckpt = args.ckpt.as_ref().context("--units ssl needs --ckpt (a checkpoint with the quantizer)")?;
            let file = if ckpt.is_dir() { ckpt.join("G.safetensors") } else { ckpt.clone() };
            let mut generator = registry::build_generator(&spec.generator, "generator", &spec.build_context())?;
            let weights = sovits_core::nn::torch_layout::read_safetensors(&file)?;
            // inference exports lack enc_q, which the quantizer does not need
            let report = sovits_core::nn::torch_layout::load_partial(&mut *generator, &weights)
                .with_context(|| format!("loading {}", file.display()))?;
            if let Some(k) = report.missing.iter().find(|k| k.starts_with("quantizer.") || k.starts_with("ssl_proj.")) {
                bail!("{}: `{k}` is missing; the quantizer needs it", file.display());
            }
            let mut quantize = |ssl: &mlx_rs::Array| generator.semantic_ids(ssl);
            prepare::run_with(&opts, &*frontend, Some(&mut quantize)).context("preparing the dataset")?
        }
        PrepareUnits::Kmeans { .. } => prepare::run(&opts, &*frontend).context("preparing the dataset")?,
    };
    for w in &summary.warnings {
        eprintln!("WARNING: {w}");
    }
    for (stem, why) in &summary.dropped {
        eprintln!("dropped {stem}: {why}");
    }
    println!("prepared {} item(s) into {}", summary.written, args.out.display());
    Ok(())
}
