//! Checkpoint cadence of a run: every `trainer.checkpoint_every` steps and
//! once at the end (unless the last step was just saved), on rank 0 only,
//! keeping the newest `trainer.keep_checkpoints`.

use std::path::{Path, PathBuf};

use crate::data::sampler::Cursor;
use crate::error::{Error, Result};
use crate::spec::Spec;
use crate::train::checkpoint;
use crate::train::run::Observer;
use crate::train::run::setup::Ranks;
use crate::train::trainer::Trainer;

/// Writes the run's checkpoints.
pub(super) struct Checkpointer<'a> {
    out: &'a Path,
    ranks: Ranks,
    every: u64,
    keep: usize,
    spec_trainer: crate::spec::TrainerSpec,
}

impl<'a> Checkpointer<'a> {
    /// Checkpoints of `spec`'s cadence under `out`, written by rank 0 of `ranks`.
    pub fn new(spec: &Spec, out: &'a Path, ranks: Ranks) -> Self {
        Self { out, ranks, every: spec.trainer.checkpoint_every, keep: spec.trainer.keep_checkpoints, spec_trainer: spec.trainer.clone() }
    }

    /// Whether step `step` ends with a checkpoint (on this rank).
    pub fn due(&self, step: u64) -> bool {
        self.ranks.root() && self.every > 0 && step % self.every == 0
    }

    /// Whether reaching epoch `epoch` calls for a checkpoint
    /// (`trainer.checkpoint_every_epochs`; see [`crate::train::epoch_saves`]).
    pub fn due_after_epoch(&self, epoch: u64, step: u64, last_saved: Option<&Path>) -> bool {
        self.ranks.root() && crate::train::epoch_saves::due(&self.spec_trainer, epoch, step, last_saved)
    }

    /// Saves `trainer` with the data `cursor` (tagged with the number of
    /// ranks, since its position counts batches of a `world`-rank shard).
    pub fn save(&self, trainer: &Trainer, cursor: Cursor, obs: &mut dyn Observer) -> Result<PathBuf> {
        let mut value = serde_json::to_value(cursor).map_err(|e| Error::Data { path: self.out.to_path_buf(), message: e.to_string() })?;
        if let Some(map) = value.as_object_mut() {
            map.insert("world".into(), serde_json::json!(self.ranks.world));
        }
        let dir = checkpoint::save(trainer, self.out, value, self.keep)?;
        obs.message(&format!("checkpoint {}", dir.display()));
        obs.checkpoint_saved(&dir);
        Ok(dir)
    }

    /// At the end of the run, saves the last step unless `last_saved` is
    /// its checkpoint already; returns the new checkpoint, if any.
    pub fn save_final(&self, trainer: &Trainer, cursor: Cursor, last_saved: Option<&Path>, obs: &mut dyn Observer) -> Result<Option<PathBuf>> {
        let saved_name = last_saved.and_then(Path::file_name).map(|n| n.to_string_lossy().into_owned());
        if !self.ranks.root() || saved_name == Some(checkpoint::dir_name(trainer.step)) {
            return Ok(None);
        }
        self.save(trainer, cursor, obs).map(Some)
    }
}
