//! The training run: data, trainer, resume/fine-tune, checkpoints, metrics
//! and a clean stop (Ctrl-C saves a checkpoint before returning).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use crate::data::dataset::Dataset;
use crate::data::loader::Loader;
use crate::data::sampler::{BucketSampler, Cursor};
use crate::error::{Error, Result};
use crate::spec::Spec;
use crate::train::checkpoint;
use crate::train::metrics::MetricsLog;
use crate::train::step::{StepReport, Trainer};

/// What `sovits train` was asked to do.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Dataset directory.
    pub data: PathBuf,
    /// Run directory (checkpoints, metrics, samples).
    pub out: PathBuf,
    /// Continue from the newest checkpoint in `out`.
    pub resume: bool,
    /// Start from these G (and D) weights: a checkpoint directory or a G safetensors file.
    pub init_from: Option<PathBuf>,
    /// Generator key prefixes `init_from` may lack (kept at initialisation).
    pub init_may_lack: Vec<String>,
    /// Stop after this many steps in total (overrides the spec's `max_steps`).
    pub max_steps: Option<u64>,
}

/// Receives progress while the run goes.
pub trait Observer {
    /// Called once before the first step: first step index and the last one (if bounded).
    fn start(&mut self, first_step: u64, last_step: Option<u64>);
    /// Called after every step with its report and the batch's item ids.
    fn step(&mut self, report: &StepReport, items: &[String], steps_per_second: f64);
    /// A line worth showing (checkpoint written, data skipped, ...).
    fn message(&mut self, text: &str);
}

/// How the run ended.
#[derive(Debug, Clone)]
pub struct RunSummary {
    /// Steps taken in total (including resumed ones).
    pub steps: u64,
    /// The last checkpoint written.
    pub checkpoint: Option<PathBuf>,
    /// True when stopped by a signal.
    pub interrupted: bool,
    /// The last step's report.
    pub last: Option<StepReport>,
}

/// Trains `spec` on `opts.data` into `opts.out` until the step/epoch budget is
/// spent or `stop` is raised.
pub fn run(spec: Spec, opts: &RunOptions, stop: &AtomicBool, obs: &mut dyn Observer) -> Result<RunSummary> {
    let out = &opts.out;
    std::fs::create_dir_all(out).map_err(|e| Error::Data { path: out.clone(), message: format!("cannot create run directory: {e}") })?;
    let segment = spec.trainer.segment_size;
    let dataset = Dataset::open(&opts.data, &spec.data, segment, spec.trainer.skip_bad_items)?;
    if dataset.report().skipped > 0 {
        obs.message(&format!("skipping {} bad item(s):\n{}", dataset.report().skipped, dataset.report()));
    }
    let ids: Vec<String> = dataset.items().iter().map(|i| i.id.clone()).collect();
    let sampler = BucketSampler::new(
        &dataset.frame_lengths(),
        &BucketSampler::reference_boundaries(spec.segment_frames()),
        spec.trainer.batch_size,
        0,
        1,
        spec.trainer.seed,
    )?;

    let mut trainer = Trainer::new(spec.clone())?;
    let mut cursor = Cursor::default();
    if opts.resume {
        let dir = checkpoint::latest(out).ok_or_else(|| Error::Data {
            path: out.join("checkpoints"),
            message: "--resume given but no checkpoint found".into(),
        })?;
        let meta = checkpoint::resume(&mut trainer, &dir)?;
        cursor = serde_json::from_value(meta.data_cursor.clone()).map_err(|e| Error::Data {
            path: dir.join("meta.json"),
            message: format!("bad data_cursor: {e}"),
        })?;
        obs.message(&format!("resumed from {} (step {})", dir.display(), meta.step));
    } else if let Some(src) = &opts.init_from {
        checkpoint::load_weights(&mut trainer, src, &opts.init_may_lack)?;
        obs.message(&format!("initialised weights from {}", src.display()));
    }
    std::fs::write(out.join("spec.json"), trainer.spec.to_json())
        .map_err(|e| Error::Data { path: out.join("spec.json"), message: e.to_string() })?;

    let last_step = opts.max_steps.or(spec.trainer.max_steps);
    let mut metrics = MetricsLog::open(&out.join("metrics.jsonl"))?;
    let mut loader = Loader::spawn(Arc::new(dataset), sampler, cursor, 2);
    obs.start(trainer.step, last_step);
    let mut summary = RunSummary { steps: trainer.step, checkpoint: None, interrupted: false, last: None };
    let save = |t: &Trainer, c: Cursor, obs: &mut dyn Observer| -> Result<PathBuf> {
        let cursor = serde_json::to_value(c).map_err(|e| Error::Data { path: out.clone(), message: e.to_string() })?;
        let dir = checkpoint::save(t, out, cursor, spec.trainer.keep_checkpoints)?;
        obs.message(&format!("checkpoint {}", dir.display()));
        Ok(dir)
    };
    let started = Instant::now();
    let first = trainer.step;
    loop {
        if last_step.is_some_and(|n| trainer.step >= n) {
            break;
        }
        if stop.load(Ordering::SeqCst) {
            summary.interrupted = true;
            break;
        }
        let loaded = match loader.next_batch() {
            Some(l) => l?,
            None => break,
        };
        // the cursor is the one after this batch; position 0 never occurs for a taken batch
        let epoch = loaded.cursor.epoch;
        if epoch >= spec.trainer.epochs {
            break;
        }
        trainer.epoch = epoch;
        let batch = loaded.batch.to_batch()?;
        let t0 = Instant::now();
        let report = trainer.train_step(&batch)?;
        let seconds = t0.elapsed().as_secs_f64();
        let items: Vec<String> = loaded.batch.items.iter().map(|&i| ids[i].clone()).collect();
        let record = MetricsLog::record(&report, seconds, &[("items", serde_json::json!(items))]);
        metrics.write(&record)?;
        let rate = (trainer.step - first) as f64 / started.elapsed().as_secs_f64().max(1e-9);
        obs.step(&report, &items, rate);
        if let Some(why) = &report.skipped {
            obs.message(&format!("step {}: {why}; batch items: {}", report.step, items.join(", ")));
            if trainer.nonfinite_in_row >= spec.trainer.max_nonfinite_in_row {
                return Err(Error::Plugin {
                    plugin: "trainer".into(),
                    message: format!(
                        "{} non-finite steps in a row (trainer.max_nonfinite_in_row = {}); last batch items: {}; \
                         the last checkpoint holds the last finite parameters",
                        trainer.nonfinite_in_row, spec.trainer.max_nonfinite_in_row, items.join(", ")
                    ),
                });
            }
        }
        cursor = loaded.cursor;
        summary.steps = trainer.step;
        summary.last = Some(report);
        if spec.trainer.checkpoint_every > 0 && trainer.step % spec.trainer.checkpoint_every == 0 {
            summary.checkpoint = Some(save(&trainer, cursor, obs)?);
        }
    }
    drop(loader);
    if summary.checkpoint.as_deref().and_then(Path::file_name).map(|n| n.to_string_lossy().into_owned())
        != Some(checkpoint::dir_name(trainer.step))
    {
        summary.checkpoint = Some(save(&trainer, cursor, obs)?);
    }
    Ok(summary)
}
