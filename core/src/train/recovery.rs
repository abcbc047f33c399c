//! Starting again after a crash: resume from the newest checkpoint that
//! loads (saying which newer ones were skipped and why), drop the
//! `metrics.jsonl` records a resumed run will write again, and remove the
//! temporary leftovers of writers that died.

use std::path::{Path, PathBuf};

use crate::data::sampler::Cursor;
use crate::durable;
use crate::error::{Error, Result};
use crate::train::checkpoint::{self, CheckpointMeta};
use crate::train::trainer::Trainer;

/// The checkpoint a run resumed from.
#[derive(Debug, Clone)]
pub struct Resumed {
    /// Its directory.
    pub dir: PathBuf,
    /// Its metadata.
    pub meta: CheckpointMeta,
    /// Its data cursor.
    pub cursor: Cursor,
    /// Newer checkpoints that could not be loaded: (directory, why).
    pub skipped: Vec<(PathBuf, String)>,
}

/// Every `step-*` directory under `run/checkpoints`, oldest first (also
/// those without `meta.json`, which [`checkpoint::list`] leaves out).
fn step_dirs(run: &Path) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(run.join("checkpoints"))
        .map(|rd| {
            rd.flatten()
                .map(|e| e.path())
                .filter(|p| p.is_dir() && p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with("step-")))
                .collect()
        })
        .unwrap_or_default();
    dirs.sort();
    dirs
}

/// Restores the checkpoint `dir` into `t` with its data cursor; errors name
/// the file at fault (a missing file, a header, a key, the cursor).
pub fn resume_from(t: &mut Trainer, dir: &Path) -> Result<(CheckpointMeta, Cursor)> {
    if let Some(name) = checkpoint::FILES.iter().find(|n| !dir.join(n).is_file()) {
        return Err(Error::Weights(format!("{}: checkpoint lacks {name}", dir.display())));
    }
    let meta = checkpoint::resume(t, dir)?;
    let cursor = serde_json::from_value(meta.data_cursor.clone()).map_err(|e| Error::Data {
        path: dir.join("meta.json"),
        message: format!("field `data_cursor`: expected {{\"epoch\": N, \"position\": N}}, found {} ({e})", meta.data_cursor),
    })?;
    Ok((meta, cursor))
}

/// Resumes `t` from the newest checkpoint of `run` that loads; the ones
/// skipped on the way are in [`Resumed::skipped`]. Errors when none loads,
/// listing each one's problem.
pub fn resume_latest(t: &mut Trainer, run: &Path) -> Result<Resumed> {
    let mut skipped = Vec::new();
    for dir in step_dirs(run).into_iter().rev() {
        match resume_from(t, &dir) {
            Ok((meta, cursor)) => return Ok(Resumed { dir, meta, cursor, skipped }),
            Err(e) => skipped.push((dir, e.to_string())),
        }
    }
    let why: Vec<String> = skipped.iter().map(|(d, e)| format!("{}: {e}", d.display())).collect();
    Err(Error::Data {
        path: run.join("checkpoints"),
        message: if why.is_empty() {
            "--resume given but no checkpoint found".into()
        } else {
            format!("--resume given but no checkpoint loads: {}", why.join("; "))
        },
    })
}

/// Rewrites `metrics.jsonl` without the records after `step` (which a run
/// starting at `step`, resumed or fresh, logs again) and without torn lines; returns how many lines
/// it dropped. A missing file is left missing.
pub fn truncate_metrics(path: &Path, step: u64) -> Result<usize> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(Error::Data { path: path.to_path_buf(), message: format!("cannot read: {e}") }),
    };
    let keep = |line: &str| {
        serde_json::from_str::<serde_json::Value>(line)
            .ok()
            .and_then(|v| v.get("step").and_then(serde_json::Value::as_u64))
            .is_some_and(|s| s <= step)
    };
    let mut kept = String::with_capacity(text.len());
    let mut dropped = 0;
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        if keep(line) {
            kept.push_str(line);
            kept.push('\n');
        } else {
            dropped += 1;
        }
    }
    if dropped > 0 || !text.ends_with('\n') && !text.is_empty() {
        durable::write_file(&durable::Real, path, kept.as_bytes())?;
    }
    Ok(dropped)
}

/// Removes the temporary leftovers of dead processes in `run/checkpoints`
/// (checkpoint directories) and `run` (`best/`, files); returns what it removed.
pub fn clean_stale(run: &Path) -> Vec<PathBuf> {
    let mut removed = durable::remove_stale(&run.join("checkpoints"));
    removed.extend(durable::remove_stale(run));
    removed
}
