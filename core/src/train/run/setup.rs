//! Before the first step: the run directory, the dataset and its held-out
//! split, this rank's sampler, the trainer (resumed from the newest
//! checkpoint or initialised from given weights) and `spec.json`.

use std::rc::Rc;
use std::sync::Arc;

use crate::data::dataset::Dataset;
use crate::data::holdout::HoldOut;
use crate::data::metadata::Units;
use crate::data::sampler::{BucketSampler, Cursor};
use crate::distributed::Group;
use crate::error::{Error, Result};
use crate::spec::Spec;
use crate::train::checkpoint;
use crate::train::run::{Observer, RunOptions};
use crate::train::trainer::Trainer;

/// This process's place in a data-parallel group (rank 0 of 1 alone).
#[derive(Debug, Clone, Copy)]
pub(super) struct Ranks {
    /// This process's rank.
    pub rank: usize,
    /// Number of ranks.
    pub world: usize,
}

impl Ranks {
    /// The ranks of `group`, or a single process.
    pub fn of(group: Option<&Group>) -> Self {
        group.map_or(Ranks { rank: 0, world: 1 }, |g| Ranks { rank: g.rank(), world: g.size() })
    }

    /// Whether this process writes the run's files (rank 0).
    pub fn root(self) -> bool {
        self.rank == 0
    }
}

/// Everything the step loop starts from.
pub(super) struct Setup {
    /// The trainer, resumed or initialised as asked.
    pub trainer: Trainer,
    /// The dataset, shared with the loader thread.
    pub dataset: Arc<Dataset>,
    /// Item ids by dataset index.
    pub ids: Vec<String>,
    /// Dataset indices held out for evaluation (never trained on).
    pub eval_items: Vec<usize>,
    /// This rank's sampler over the training items.
    pub sampler: BucketSampler,
    /// Where the data resumes.
    pub cursor: Cursor,
}

/// Creates the run directory and builds the [`Setup`] of a run.
pub(super) fn prepare(
    spec: &Spec,
    opts: &RunOptions,
    ranks: Ranks,
    group: Option<&Rc<Group>>,
    obs: &mut dyn Observer,
) -> Result<Setup> {
    let out = &opts.out;
    std::fs::create_dir_all(out).map_err(|e| Error::Data { path: out.clone(), message: format!("cannot create run directory: {e}") })?;
    let (dataset, split) = open_dataset(spec, opts, obs)?;
    let ids: Vec<String> = dataset.items().iter().map(|i| i.id.clone()).collect();
    let sampler = BucketSampler::new(
        &dataset.frame_lengths()[split.train],
        &BucketSampler::reference_boundaries(spec.segment_frames()),
        spec.trainer.batch_size,
        ranks.rank,
        ranks.world,
        spec.trainer.seed,
    )?;
    let mut trainer = Trainer::new(spec.clone())?;
    if let Some(g) = group {
        trainer.grad_reduce = Some(crate::distributed::average_grads(g.clone()));
    }
    if ranks.root() {
        for p in crate::train::recovery::clean_stale(out) {
            obs.message(&format!("removed {} (left by a writer that is gone)", p.display()));
        }
    }
    let cursor = restore(&mut trainer, opts, ranks, obs)?;
    if !opts.resume && opts.init_from.is_none() && dataset.units() == Units::KmeansStandin && trainer.seed_zero_codebook()? {
        obs.message(
            "the fresh model's unit codebook is all zero (as GPT-SoVITS's fresh model: it is learnt in pretraining), so \
             every k-means stand-in id would decode to zero content; filled it with N(0, 1) vectors (trainer.seed)",
        );
    }
    if ranks.root() {
        let dropped = crate::train::recovery::truncate_metrics(&out.join("metrics.jsonl"), trainer.step)?;
        if dropped > 0 {
            obs.message(&format!("metrics.jsonl: dropped {dropped} record(s) after step {} (logged again now)", trainer.step));
        }
        std::fs::write(out.join("spec.json"), trainer.spec.to_json())
            .map_err(|e| Error::Data { path: out.join("spec.json"), message: e.to_string() })?;
    }
    trainer.data_units = Some(dataset.units().to_string());
    Ok(Setup { trainer, dataset: Arc::new(dataset), ids, eval_items: split.eval.collect(), sampler, cursor })
}

/// Opens the dataset, telling `obs` about skipped items and the held-out
/// split; returns it with that split.
fn open_dataset(spec: &Spec, opts: &RunOptions, obs: &mut dyn Observer) -> Result<(Dataset, HoldOut)> {
    let dataset = Dataset::open(&opts.data, &spec.data, spec.trainer.segment_size, spec.trainer.skip_bad_items)?;
    if dataset.report().skipped > 0 {
        obs.message(&format!("skipping {} bad item(s):\n{}", dataset.report().skipped, dataset.report()));
    }
    let split = dataset.holdout(spec.data.eval_items);
    if split.has_eval() {
        obs.message(&format!("holding out {} item(s) for evaluation (data.eval_items)", split.eval.len()));
    } else if spec.data.eval_items > 0 {
        obs.message(&format!(
            "data.eval_items = {} but the dataset has only {} usable item(s): nothing held out, evaluation off",
            spec.data.eval_items,
            dataset.len()
        ));
    }
    Ok((dataset, split))
}

/// Resumes `trainer` from the newest checkpoint of the run (`opts.resume`)
/// or loads the weights of `opts.init_from`; returns the data cursor to
/// continue from (the start for a fresh run). A checkpoint written by
/// another number of ranks restarts its epoch from the first batch.
fn restore(trainer: &mut Trainer, opts: &RunOptions, ranks: Ranks, obs: &mut dyn Observer) -> Result<Cursor> {
    if opts.resume {
        let resumed = crate::train::recovery::resume_latest(trainer, &opts.out)?;
        for (skipped, why) in &resumed.skipped {
            obs.message(&format!("skipping checkpoint {}: {why}", skipped.display()));
        }
        let (dir, meta, mut cursor) = (resumed.dir, resumed.meta, resumed.cursor);
        let saved_world = meta.data_cursor.get("world").and_then(serde_json::Value::as_u64).unwrap_or(1) as usize;
        if saved_world != ranks.world {
            obs.message(&format!(
                "checkpoint written by {saved_world} rank(s), resuming with {}: epoch {} restarts from its first batch",
                ranks.world, cursor.epoch
            ));
            cursor.position = 0;
        }
        obs.message(&format!("resumed from {} (step {})", dir.display(), meta.step));
        return Ok(cursor);
    }
    if let Some(src) = &opts.init_from {
        checkpoint::load_weights(trainer, src, &opts.init_may_lack)?;
        obs.message(&format!("initialised weights from {}", src.display()));
    }
    Ok(Cursor::default())
}
