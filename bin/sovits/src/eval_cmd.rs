//! `sovits --spec F eval --ckpt DIR [--ckpt DIR2 ...] --data DIR [--items N] [--out FILE]`:
//! scores checkpoints on the held-out items (the last `data.eval_items`, or
//! `--items`) through the reconstruction and inference paths, prints a
//! Markdown table with one column per checkpoint, and with `--out` writes the
//! full JSON report to FILE and the table beside it as FILE with `.md`.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use sovits_core::data::dataset::Dataset;
use sovits_core::nn::torch_layout::{load_strict, read_safetensors};
use sovits_core::train::checkpoint;
use sovits_core::{Spec, registry};
use sovits_eval::report::{Column, to_json, to_markdown};
use sovits_eval::{SamplesOut, Scorer, evaluate};

/// Arguments of `eval`.
#[derive(Debug, clap::Args)]
pub struct EvalArgs {
    /// Checkpoint directory (G.safetensors, spec.json); repeat to compare several.
    #[arg(long, required = true)]
    pub ckpt: Vec<PathBuf>,
    /// Dataset directory; the last items are the held-out ones.
    #[arg(long)]
    pub data: PathBuf,
    /// Held-out items to score (default: the spec's data.eval_items).
    #[arg(long)]
    pub items: Option<usize>,
    /// JSON report file (the Markdown table goes beside it with `.md`).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Also write wav samples and mel PNGs per checkpoint into this directory.
    #[arg(long)]
    pub samples: Option<PathBuf>,
}

/// Runs `eval`.
pub fn run_eval(spec: &Spec, args: &EvalArgs) -> Result<()> {
    let ds = Dataset::open(&args.data, &spec.data, spec.trainer.segment_size, true)?;
    let n = args.items.unwrap_or(spec.data.eval_items);
    if n == 0 {
        bail!("no items to evaluate: --items (or data.eval_items) is 0");
    }
    let held = n.min(ds.len());
    let items: Vec<usize> = (ds.len() - held..ds.len()).collect();
    if held < n {
        eprintln!("the dataset has {} usable item(s): evaluating all of them, not {n}", ds.len());
    }
    let mut columns = Vec::new();
    for (i, ckpt) in args.ckpt.iter().enumerate() {
        let ck_spec = if ckpt.join("spec.json").is_file() { checkpoint::read_spec(ckpt)? } else { spec.clone() };
        let mut generator = registry::build_generator(&ck_spec.generator, "generator", &ck_spec.build_context())?;
        let weights = read_safetensors(&ckpt.join("G.safetensors"))?;
        load_strict(&mut *generator, &weights).with_context(|| format!("loading {}", ckpt.display()))?;
        let frontend = registry::build_frontend(&ck_spec.frontend, "frontend", &ck_spec.build_context())?;
        let scorer = Scorer::new(frontend)?;
        let samples = args.samples.as_ref().map(|d| d.join(format!("ckpt-{i}")));
        let step = checkpoint::read_meta(ckpt).ok().map(|m| m.step);
        let out = samples.as_deref().map(|dir| SamplesOut { dir, step });
        let evaluation = evaluate(&mut *generator, &scorer, &ds, &items, ck_spec.trainer.seed, out)
            .with_context(|| format!("evaluating {}", ckpt.display()))?;
        columns.push(Column { label: ckpt.display().to_string(), evaluation });
    }
    let table = to_markdown(&columns);
    println!("{held} held-out item(s) of {}\n\n{table}", args.data.display());
    if let Some(out) = &args.out {
        let json = serde_json::to_string_pretty(&to_json(&columns))?;
        std::fs::write(out, json).with_context(|| format!("writing {}", out.display()))?;
        let md = out.with_extension("md");
        std::fs::write(&md, &table).with_context(|| format!("writing {}", md.display()))?;
        println!("wrote {} and {}", out.display(), md.display());
    }
    Ok(())
}
