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
    /// A checkpoint directory (holding G.safetensors, and D.safetensors for `gpt-sovits-d`).
    #[arg(long)]
    pub ckpt: PathBuf,
    /// Output file.
    #[arg(long)]
    pub out: PathBuf,
    /// `gpt-sovits` (s2G inference .pth, fp16), `gpt-sovits-d` (D in the
    /// `pretrained_s2D` layout, f32) or `safetensors` (G, f32).
    #[arg(long, default_value = "gpt-sovits")]
    pub format: String,
    /// Experiment name written into the config (default: the run directory's name).
    #[arg(long)]
    pub name: Option<String>,
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

/// The run directory a checkpoint directory belongs to (`RUN/checkpoints/step-N`, `RUN/best`).
fn run_dir(ckpt: &Path) -> PathBuf {
    let parent = ckpt.parent().unwrap_or(Path::new("."));
    if parent.file_name().is_some_and(|n| n == "checkpoints") { parent.parent().unwrap_or(parent).to_path_buf() } else { parent.to_path_buf() }
}

/// The s2.json-style config to embed in an exported `.pth`: the imported
/// one when the checkpoint came from GPT-SoVITS, otherwise built from the
/// checkpoint's resolved spec ([`sovits_interop::s2_config`]), with warnings.
fn hps_for(ckpt: &Path, out: &Path, name: Option<&str>) -> Result<(serde_json::Value, Vec<String>)> {
    let imported = ckpt.join("interop.json");
    if imported.is_file() {
        let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&imported)?)?;
        if let Some(cfg) = v.get("config").filter(|c| !c.is_null()) {
            return Ok((cfg.clone(), Vec::new()));
        }
    }
    let spec = checkpoint::read_spec(ckpt).context("reading the checkpoint's spec.json")?;
    let run = run_dir(ckpt);
    let sources: serde_json::Value = std::fs::read_to_string(run.join("init").join("sources.json"))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default();
    let source = |k: &str| sources.get(k).and_then(|v| v.as_str()).unwrap_or("").to_string();
    let run_name = run.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "sovits".into());
    let strings = sovits_interop::RunStrings {
        name: name.map_or(run_name, str::to_string),
        exp_dir: run.display().to_string(),
        save_weight_dir: out.parent().map(|p| p.display().to_string()).unwrap_or_default(),
        pretrained_s2g: source("init_from"),
        pretrained_s2d: source("init_d_from"),
        save_every_weights: spec.export.gpt_sovits_weights,
        save_every_epoch: spec.trainer.checkpoint_every_epochs.max(1) as i64,
    };
    Ok(sovits_interop::s2_config(&spec, &strings)?)
}

/// Writes the GPT-SoVITS s2G `.pth` of checkpoint `ckpt` to `out`; returns the config warnings.
pub fn export_g_pth(ckpt: &Path, out: &Path, name: Option<&str>) -> Result<Vec<String>> {
    let g = read_safetensors(&ckpt.join("G.safetensors"))?;
    let meta = checkpoint::read_meta(ckpt).ok();
    let info = meta.map(|m| format!("{}epoch_{}iteration", m.epoch, m.step)).unwrap_or_else(|| "sovits".into());
    let (hps, warnings) = hps_for(ckpt, out, name)?;
    sovits_interop::export_gpt_sovits(&g, &hps, &info, out)?;
    Ok(warnings)
}

/// `export.gpt_sovits_weights`: writes checkpoint `ckpt` as
/// `folder/<name>_e<epoch>_s<step>.pth` (s2_train.py's file name); returns the path.
pub fn save_every_weights(ckpt: &Path, folder: &Path, name: &str) -> Result<PathBuf> {
    let meta = checkpoint::read_meta(ckpt)?;
    std::fs::create_dir_all(folder).with_context(|| format!("creating {}", folder.display()))?;
    let out = folder.join(format!("{name}_e{}_s{}.pth", meta.epoch, meta.step));
    export_g_pth(ckpt, &out, Some(name))?;
    Ok(out)
}

/// Runs `export`.
pub fn run_export(args: &ExportArgs) -> Result<()> {
    match args.format.as_str() {
        "safetensors" => sovits_interop::export_safetensors(&read_safetensors(&args.ckpt.join("G.safetensors"))?, &args.out)?,
        "gpt-sovits" => {
            for w in export_g_pth(&args.ckpt, &args.out, args.name.as_deref())? {
                eprintln!("WARNING: {w}");
            }
        }
        "gpt-sovits-d" => {
            let d = read_safetensors(&args.ckpt.join("D.safetensors"))?;
            sovits_interop::export_d::export_pretrained(&d, &[], &args.out)?;
        }
        other => bail!("unknown --format `{other}`; known: gpt-sovits, gpt-sovits-d, safetensors"),
    }
    println!("exported {} as {} to {}", args.ckpt.display(), args.format, args.out.display());
    Ok(())
}
