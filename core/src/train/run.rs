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
use crate::train::evaluate::{self, Evaluator};
use crate::train::metrics::MetricsLog;
use crate::train::step::StepReport;
use crate::train::trainer::Trainer;

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
    /// A checkpoint directory was written (e.g. to export it as well).
    fn checkpoint_saved(&mut self, _dir: &Path) {}
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
    run_with(spec, opts, stop, obs, None)
}

/// [`run`] with an evaluator: every `trainer.eval_every` steps it scores the
/// held-out items (the last `data.eval_items`, never trained on), logs the
/// metrics to `metrics.jsonl`, writes samples to `RUN/samples/step-N/` and
/// keeps `RUN/best/` by `trainer.best_metric`.
pub fn run_with(
    spec: Spec,
    opts: &RunOptions,
    stop: &AtomicBool,
    obs: &mut dyn Observer,
    evaluator: Option<&mut dyn Evaluator>,
) -> Result<RunSummary> {
    run_ranked(spec, opts, stop, obs, evaluator, None)
}

/// [`run_with`] as one rank of a data-parallel group (`None`: a single process).
/// Each rank reads its shard of the sampler (rank, world), gradients are
/// averaged over the ranks before every update, and only rank 0 writes
/// `spec.json`, `metrics.jsonl`, checkpoints and evaluations. The ranks agree
/// on stopping at every step (epoch end, Ctrl-C on any rank), so none is left
/// waiting in a collective. Checkpoints hold rank 0's data cursor, which is a
/// position among the batches of a `world`-rank shard: resuming with the same
/// number of ranks continues exactly; with another number the cursor's epoch
/// is kept and that epoch restarts from its first batch (see docs/distributed.md).
pub fn run_ranked(
    spec: Spec,
    opts: &RunOptions,
    stop: &AtomicBool,
    obs: &mut dyn Observer,
    mut evaluator: Option<&mut dyn Evaluator>,
    group: Option<std::rc::Rc<crate::distributed::Group>>,
) -> Result<RunSummary> {
    let (rank, world) = group.as_ref().map_or((0, 1), |g| (g.rank(), g.size()));
    let root = rank == 0;
    if !root {
        evaluator = None;
    }
    let out = &opts.out;
    std::fs::create_dir_all(out).map_err(|e| Error::Data { path: out.clone(), message: format!("cannot create run directory: {e}") })?;
    let segment = spec.trainer.segment_size;
    let dataset = Dataset::open(&opts.data, &spec.data, segment, spec.trainer.skip_bad_items)?;
    if dataset.report().skipped > 0 {
        obs.message(&format!("skipping {} bad item(s):\n{}", dataset.report().skipped, dataset.report()));
    }
    let ids: Vec<String> = dataset.items().iter().map(|i| i.id.clone()).collect();
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
    let eval_items: Vec<usize> = split.eval.clone().collect();
    let sampler = BucketSampler::new(
        &dataset.frame_lengths()[split.train.clone()],
        &BucketSampler::reference_boundaries(spec.segment_frames()),
        spec.trainer.batch_size,
        rank,
        world,
        spec.trainer.seed,
    )?;

    let mut trainer = Trainer::new(spec.clone())?;
    if let Some(g) = &group {
        trainer.grad_reduce = Some(crate::distributed::average_grads(g.clone()));
    }
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
        let saved_world = meta.data_cursor.get("world").and_then(serde_json::Value::as_u64).unwrap_or(1) as usize;
        if saved_world != world {
            obs.message(&format!(
                "checkpoint written by {saved_world} rank(s), resuming with {world}: epoch {} restarts from its first batch",
                cursor.epoch
            ));
            cursor.position = 0;
        }
        obs.message(&format!("resumed from {} (step {})", dir.display(), meta.step));
    } else if let Some(src) = &opts.init_from {
        checkpoint::load_weights(&mut trainer, src, &opts.init_may_lack)?;
        obs.message(&format!("initialised weights from {}", src.display()));
    }
    if root {
        std::fs::write(out.join("spec.json"), trainer.spec.to_json())
            .map_err(|e| Error::Data { path: out.join("spec.json"), message: e.to_string() })?;
    }

    let last_step = opts.max_steps.or(spec.trainer.max_steps);
    let mut metrics = if root { Some(MetricsLog::open(&out.join("metrics.jsonl"))?) } else { None };
    let dataset = Arc::new(dataset);
    trainer.data_units = Some(dataset.units().to_string());
    let mut best = evaluate::read_best(out, &spec.trainer.best_metric);
    let mut loader = Loader::spawn(dataset.clone(), sampler, cursor, 2);
    obs.start(trainer.step, last_step);
    let mut summary = RunSummary { steps: trainer.step, checkpoint: None, interrupted: false, last: None };
    let save = |t: &Trainer, c: Cursor, obs: &mut dyn Observer| -> Result<PathBuf> {
        let mut cursor = serde_json::to_value(c).map_err(|e| Error::Data { path: out.clone(), message: e.to_string() })?;
        if let Some(map) = cursor.as_object_mut() {
            // the position counts batches of a `world`-rank shard
            map.insert("world".into(), serde_json::json!(world));
        }
        let dir = checkpoint::save(t, out, cursor, spec.trainer.keep_checkpoints)?;
        obs.message(&format!("checkpoint {}", dir.display()));
        obs.checkpoint_saved(&dir);
        Ok(dir)
    };
    let started = Instant::now();
    let first = trainer.step;
    loop {
        if last_step.is_some_and(|n| trainer.step >= n) {
            break;
        }
        let interrupted = stop.load(Ordering::SeqCst);
        let next = if interrupted { None } else { loader.next_batch().transpose()? };
        // the cursor is the one after this batch; position 0 never occurs for a taken batch
        let local_stop = next.as_ref().is_none_or(|l| l.cursor.epoch >= spec.trainer.epochs);
        let any_stop = match &group {
            Some(g) => g.any(local_stop || interrupted)?,
            None => local_stop,
        };
        if any_stop {
            summary.interrupted = interrupted || group.as_ref().is_some_and(|_| !local_stop);
            break;
        }
        let Some(loaded) = next else { break };
        let epoch = loaded.cursor.epoch;
        let epochs_done = epoch > trainer.epoch;
        trainer.epoch = epoch;
        if root && epochs_done && crate::train::epoch_saves::due(&spec.trainer, epoch, trainer.step, summary.checkpoint.as_deref()) {
            summary.checkpoint = Some(save(&trainer, cursor, obs)?);
        }
        let batch = loaded.batch.to_batch()?;
        let t0 = Instant::now();
        let report = trainer.train_step(&batch)?;
        let seconds = t0.elapsed().as_secs_f64();
        let items: Vec<String> = loaded.batch.items.iter().map(|&i| ids[i].clone()).collect();
        let record = MetricsLog::record(&report, seconds, &[("items", serde_json::json!(items))]);
        if let Some(m) = metrics.as_mut() {
            m.write(&record)?;
        }
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
        if root && spec.trainer.checkpoint_every > 0 && trainer.step % spec.trainer.checkpoint_every == 0 {
            summary.checkpoint = Some(save(&trainer, cursor, obs)?);
        }
        if let Some(ev) = evaluator.as_deref_mut()
            && !eval_items.is_empty()
            && spec.trainer.eval_every > 0
            && trainer.step % spec.trainer.eval_every == 0
        {
            let samples = out.join("samples").join(format!("step-{}", trainer.step));
            let scores = ev.evaluate(&mut trainer, &dataset, &eval_items, &samples)?;
            let mut record = serde_json::Map::new();
            record.insert("step".into(), serde_json::json!(trainer.step));
            for (k, v) in &scores {
                record.insert(k.clone(), serde_json::json!(v));
            }
            if let Some(m) = metrics.as_mut() {
                m.write(&serde_json::Value::Object(record))?;
            }
            let metric = &spec.trainer.best_metric;
            let value = evaluate::pick(&scores, metric)?;
            let c = serde_json::to_value(cursor).map_err(|e| Error::Data { path: out.clone(), message: e.to_string() })?;
            if let Some(r) = evaluate::update_best(&trainer, out, c, metric, value, best.as_ref())? {
                obs.message(&format!("step {}: {metric} {value:.4}, new best -> {}", r.step, evaluate::best_dir(out).display()));
                best = Some(r);
            } else {
                obs.message(&format!("step {}: {metric} {value:.4}; samples in {}", trainer.step, samples.display()));
            }
        }
    }
    drop(loader);
    if root && summary.checkpoint.as_deref().and_then(Path::file_name).map(|n| n.to_string_lossy().into_owned())
        != Some(checkpoint::dir_name(trainer.step))
    {
        summary.checkpoint = Some(save(&trainer, cursor, obs)?);
    }
    Ok(summary)
}
