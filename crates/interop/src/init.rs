//! Fine-tuning sources: turns `--init-from G` and `--init-d-from D` (GPT-SoVITS
//! `.pth` files, sovits checkpoint directories or safetensors files) into one
//! checkpoint-style directory `RUN/init/` (`G.safetensors` [+ `D.safetensors`])
//! that the trainer loads strictly.
//!
//! GPT-SoVITS fine-tunes from a pair: `s2_train.py` loads `pretrained_s2G`
//! (`torch.load(f)["weight"]`, strict=False) and `pretrained_s2D`
//! (`torch.load(f)["weight"]`); an empty `pretrained_s2D` leaves D random.
//! Its own `logs_s2_<ver>/D_*.pth` are training checkpoints
//! (`{"model", "iteration", "optimizer", "learning_rate"}`). Both D layouts
//! are read here. A D source that is named but missing or unreadable is an
//! error; only an absent `--init-d-from` (with a G source that holds no D)
//! leaves D random, which [`InitPlan::notes`] says.

use std::path::{Path, PathBuf};

use crate::error::{InteropError, Result};
use crate::import::{Imported, import_pth, write_imported};
use crate::layouts::Layout;

/// What [`prepare_init`] made.
#[derive(Debug, Clone)]
pub struct InitPlan {
    /// Directory (or G safetensors file) to pass to the trainer's weight loader.
    pub source: PathBuf,
    /// Generator key prefixes the source may lack (`enc_q.` for GPT-SoVITS
    /// inference weights, which omit the posterior encoder).
    pub g_may_lack: Vec<String>,
    /// Whether discriminator weights will be loaded.
    pub has_d: bool,
    /// Lines for the training log (what was read, D random, ...).
    pub notes: Vec<String>,
}

fn io(action: &'static str, path: &Path, source: std::io::Error) -> InteropError {
    InteropError::Io { action, path: path.to_path_buf(), source }
}

fn bad(path: &Path, message: impl Into<String>) -> InteropError {
    InteropError::Layout { what: path.display().to_string(), message: message.into() }
}

fn is_pth(p: &Path) -> bool {
    p.extension().is_some_and(|e| e == "pth" || e == "pt" || e == "ckpt")
}

/// Imports a `.pth` into `tmp` and moves its model file to `dest`.
fn import_into(src: &Path, tmp: &Path, dest: &Path, want_d: bool) -> Result<Imported> {
    let imp = import_pth(src)?;
    if imp.is_discriminator() != want_d {
        let (is, flag) = if want_d { ("a generator", "--init-from") } else { ("a discriminator", "--init-d-from") };
        return Err(bad(src, format!("holds {is} (keys like `{}`); pass it with {flag}", imp.key_order.first().map_or("", String::as_str))));
    }
    write_imported(&imp, tmp)?;
    let file = tmp.join(if want_d { "D.safetensors" } else { "G.safetensors" });
    std::fs::rename(&file, dest).map_err(|e| io("move", &file, e))?;
    Ok(imp)
}

/// A sovits D source: a checkpoint directory (its `D.safetensors`) or a file.
fn sovits_d_file(src: &Path) -> Result<PathBuf> {
    let f = if src.is_dir() { src.join("D.safetensors") } else { src.to_path_buf() };
    if !f.is_file() {
        return Err(bad(src, format!("--init-d-from names {}, which does not exist", f.display())));
    }
    Ok(f)
}

/// Prepares `run/init/` from a G source and an optional D source.
///
/// With only a sovits checkpoint directory or G safetensors file, that
/// source is used as it is (a directory's `D.safetensors` is loaded when
/// present). Otherwise G and D are imported or copied into `run/init/`
/// (emptied first, so nothing stale is loaded).
pub fn prepare_init(g: &Path, d: Option<&Path>, run: &Path) -> Result<InitPlan> {
    if !g.exists() {
        return Err(bad(g, "--init-from names a path that does not exist"));
    }
    if !is_pth(g) && d.is_none() {
        let has_d = g.is_dir() && g.join("D.safetensors").is_file();
        let mut notes = vec![format!("initialising G from {}", g.display())];
        if !has_d {
            notes.push(format!("no discriminator weights in {}: D starts from its random initialisation (pass --init-d-from to load one)", g.display()));
        }
        return Ok(InitPlan { source: g.to_path_buf(), g_may_lack: Vec::new(), has_d, notes });
    }
    let dir = run.join("init");
    if dir.exists() {
        std::fs::remove_dir_all(&dir).map_err(|e| io("clear", &dir, e))?;
    }
    std::fs::create_dir_all(&dir).map_err(|e| io("create", &dir, e))?;
    let mut notes = Vec::new();
    let mut g_may_lack = Vec::new();
    let g_dest = dir.join("G.safetensors");
    if is_pth(g) {
        let imp = import_into(g, &dir.join("g"), &g_dest, false)?;
        if imp.layout == Layout::InferenceWeights {
            // GPT-SoVITS inference weights omit the posterior encoder
            g_may_lack.push("enc_q.".to_string());
        }
        notes.push(format!("initialising G from {} ({}, {} tensors)", g.display(), imp.layout.name(), imp.weights.len()));
    } else {
        let f = if g.is_dir() { g.join("G.safetensors") } else { g.to_path_buf() };
        std::fs::copy(&f, &g_dest).map_err(|e| io("copy", &f, e))?;
        notes.push(format!("initialising G from {}", f.display()));
    }
    let d_dest = dir.join("D.safetensors");
    let has_d = match d {
        Some(d) if is_pth(d) => {
            if !d.is_file() {
                return Err(bad(d, "--init-d-from names a file that does not exist"));
            }
            let imp = import_into(d, &dir.join("d"), &d_dest, true)?;
            notes.push(format!("initialising D from {} ({}, {} tensors)", d.display(), imp.layout.name(), imp.weights.len()));
            true
        }
        Some(d) => {
            let f = sovits_d_file(d)?;
            std::fs::copy(&f, &d_dest).map_err(|e| io("copy", &f, e))?;
            notes.push(format!("initialising D from {}", f.display()));
            true
        }
        None => {
            notes.push(format!(
                "{} holds no discriminator: D starts from its random initialisation (as GPT-SoVITS does with an empty pretrained_s2D; pass --init-d-from s2D.pth)",
                g.display()
            ));
            false
        }
    };
    let sources = serde_json::json!({
        "init_from": g.display().to_string(),
        "init_d_from": d.map(|d| d.display().to_string()),
    });
    let p = dir.join("sources.json");
    std::fs::write(&p, sources.to_string()).map_err(|e| io("write", &p, e))?;
    Ok(InitPlan { source: dir, g_may_lack, has_d, notes })
}
