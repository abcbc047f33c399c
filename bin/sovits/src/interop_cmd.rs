//! `sovits import` / `sovits export`: GPT-SoVITS `.pth` checkpoints in and out.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use sovits_core::nn::torch_layout::read_safetensors;
use sovits_core::train::checkpoint;

/// Arguments of `import`.
#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    /// A GPT-SoVITS `.pth` (s2G inference weights or a training checkpoint).
    #[arg(long)]
    pub pth: PathBuf,
    /// Output directory (G.safetensors or D.safetensors, optimizer state, interop.json).
    #[arg(long)]
    pub out: PathBuf,
}

/// Arguments of `export`.
#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    /// A checkpoint directory (holding G.safetensors).
    #[arg(long)]
    pub ckpt: PathBuf,
    /// Output file.
    #[arg(long)]
    pub out: PathBuf,
    /// `gpt-sovits` (s2G inference .pth, fp16) or `safetensors` (f32).
    #[arg(long, default_value = "gpt-sovits")]
    pub format: String,
}

/// Runs `import`.
pub fn run_import(args: &ImportArgs) -> Result<()> {
    let imported = sovits_interop::import_pth(&args.pth).with_context(|| format!("importing {}", args.pth.display()))?;
    sovits_interop::write_imported(&imported, &args.out)?;
    println!(
        "imported {} tensors ({:?} layout{}) from {} into {}",
        imported.weights.len(),
        imported.layout,
        if imported.optimizer.is_some() { ", with optimizer state" } else { "" },
        args.pth.display(),
        args.out.display()
    );
    Ok(())
}

/// The s2.json-style config to embed in an exported `.pth`: the imported
/// one when the checkpoint came from GPT-SoVITS, otherwise built from the
/// checkpoint's resolved spec.
fn hps_for(ckpt: &Path) -> Result<serde_json::Value> {
    let imported = ckpt.join("interop.json");
    if imported.is_file() {
        let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&imported)?)?;
        if let Some(cfg) = v.get("config").filter(|c| !c.is_null()) {
            return Ok(cfg.clone());
        }
    }
    let spec = checkpoint::read_spec(ckpt).context("reading the checkpoint's spec.json")?;
    // the generator's full config: the plugin's defaults overlaid with the spec's params
    let reg = sovits_core::registry::find(sovits_core::Kind::Generator, &spec.generator.name, "generator")?;
    let mut model = (reg.default_config)();
    if let (Some(m), Some(p)) = (model.as_object_mut(), spec.generator.params.as_object()) {
        m.extend(p.iter().map(|(k, v)| (k.clone(), v.clone())));
        // the generator's own version (v2, v2Pro or v2ProPlus) stays
        m.entry("version").or_insert_with(|| "v2".into());
    }
    let version = model.get("version").cloned().unwrap_or_else(|| "v2".into());
    Ok(serde_json::json!({
        "train": {
            "segment_size": spec.trainer.segment_size,
            "learning_rate": spec.optimizer_g.learning_rate,
            "batch_size": spec.trainer.batch_size,
            "seed": spec.trainer.seed,
            "lr_decay": spec.schedule.gamma,
            "c_mel": spec.losses.iter().find(|l| l.name == "mel-l1").and_then(|l| l.weight).unwrap_or(45.0),
            "c_kl": spec.losses.iter().find(|l| l.name == "kl").and_then(|l| l.weight).unwrap_or(1.0),
            "text_low_lr_rate": spec.optimizer_g.groups.iter().find(|g| g.name == "text").map(|g| g.lr_scale).unwrap_or(1.0),
        },
        "data": {
            "sampling_rate": spec.data.sampling_rate,
            "filter_length": 2048,
            "hop_length": spec.data.hop_length,
            "win_length": 2048,
            "n_mel_channels": 128,
            "mel_fmin": 0.0,
            "mel_fmax": null,
            "n_speakers": 300,
        },
        "model": model,
        "version": version,
    }))
}

/// Runs `export`.
pub fn run_export(args: &ExportArgs) -> Result<()> {
    let g = read_safetensors(&args.ckpt.join("G.safetensors"))?;
    match args.format.as_str() {
        "safetensors" => sovits_interop::export_safetensors(&g, &args.out)?,
        "gpt-sovits" => {
            let meta = checkpoint::read_meta(&args.ckpt).ok();
            let info = meta.map(|m| format!("{}epoch_{}iteration", m.epoch, m.step)).unwrap_or_else(|| "sovits".into());
            sovits_interop::export_gpt_sovits(&g, &hps_for(&args.ckpt)?, &info, &args.out)?;
        }
        other => bail!("unknown --format `{other}`; known: gpt-sovits, safetensors"),
    }
    println!("exported {} as {} to {}", args.ckpt.display(), args.format, args.out.display());
    Ok(())
}

/// For `--init-from x.pth`: imports the file into `run/init/` and returns
/// that directory (checkpoint layout) for the trainer to load.
pub fn resolve_init(src: &Path, run: &Path) -> Result<PathBuf> {
    if src.extension().is_some_and(|e| e == "pth") {
        let dir = run.join("init");
        let imported = sovits_interop::import_pth(src).with_context(|| format!("importing {}", src.display()))?;
        sovits_interop::write_imported(&imported, &dir)?;
        return Ok(dir);
    }
    Ok(src.to_path_buf())
}
