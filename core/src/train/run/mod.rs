//! The training run: data, trainer, resume/fine-tune, checkpoints, metrics,
//! evaluation and a clean stop (Ctrl-C saves a checkpoint before returning).
//! [`run`] is the one entry point; [`RunHooks`] carries what the caller
//! plugs in (stop flag, observer, evaluator, data-parallel group).

mod bookkeeping;
mod checkpoints;
mod evaluation;
mod setup;
mod stop;

use std::path::PathBuf;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use crate::data::loader::Loader;
use crate::distributed::Group;
use crate::error::Result;
use crate::spec::Spec;
use crate::train::evaluate::Evaluator;
use crate::train::metrics::MetricsLog;
use crate::train::step::StepReport;

use bookkeeping::StepLog;
use checkpoints::Checkpointer;
use evaluation::Evaluation;
use setup::{Ranks, Setup};
use stop::Consensus;

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
    fn checkpoint_saved(&mut self, _dir: &std::path::Path) {}
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

/// What the caller plugs into [`run`]: the stop flag and the observer that
/// every run has, and optionally an evaluator and a data-parallel group.
pub struct RunHooks<'a> {
    /// Raised (e.g. by Ctrl-C) to end the run after the current step, with a checkpoint.
    pub stop: &'a AtomicBool,
    /// Receives progress and messages.
    pub observer: &'a mut dyn Observer,
    /// Every `trainer.eval_every` steps, scores the held-out items (the last
    /// `data.eval_items`, never trained on), logs the metrics to
    /// `metrics.jsonl`, writes samples to `RUN/samples/step-N/` and keeps
    /// `RUN/best/` by `trainer.best_metric`. Used on rank 0 only.
    pub evaluator: Option<&'a mut dyn Evaluator>,
    /// The data-parallel group this process is one rank of (`None`: a single process).
    pub group: Option<Rc<Group>>,
}

impl<'a> RunHooks<'a> {
    /// A single-process run without evaluation.
    pub fn new(stop: &'a AtomicBool, observer: &'a mut dyn Observer) -> Self {
        Self { stop, observer, evaluator: None, group: None }
    }

    /// Adds held-out evaluation (see [`RunHooks::evaluator`]).
    pub fn with_evaluator(mut self, evaluator: &'a mut dyn Evaluator) -> Self {
        self.evaluator = Some(evaluator);
        self
    }

    /// Runs as one rank of `group` (`None`: a single process).
    pub fn with_group(mut self, group: Option<Rc<Group>>) -> Self {
        self.group = group;
        self
    }
}

/// Trains `spec` on `opts.data` into `opts.out` until the step/epoch budget
/// is spent or `hooks.stop` is raised.
///
/// As one rank of a data-parallel group, each rank reads its shard of the
/// sampler (rank, world), gradients are averaged over the ranks before every
/// update, and only rank 0 writes `spec.json`, `metrics.jsonl`, checkpoints
/// and evaluations. The ranks agree on stopping at every step (epoch end,
/// Ctrl-C on any rank), so none is left waiting in a collective. Checkpoints
/// hold rank 0's data cursor, which is a position among the batches of a
/// `world`-rank shard: resuming with the same number of ranks continues
/// exactly; with another number the cursor's epoch is kept and that epoch
/// restarts from its first batch (see docs/distributed.md).
pub fn run(spec: Spec, opts: &RunOptions, hooks: RunHooks<'_>) -> Result<RunSummary> {
    let RunHooks { stop, observer: obs, evaluator, group } = hooks;
    let ranks = Ranks::of(group.as_deref());
    let Setup { mut trainer, dataset, ids, eval_items, sampler, mut cursor } =
        setup::prepare(&spec, opts, ranks, group.as_ref(), obs)?;
    let last_step = opts.max_steps.or(spec.trainer.max_steps);
    let metrics = if ranks.root() { Some(MetricsLog::open(&opts.out.join("metrics.jsonl"))?) } else { None };
    let checkpointer = Checkpointer::new(&spec, &opts.out, ranks);
    let mut evaluation = evaluator.filter(|_| ranks.root()).and_then(|ev| Evaluation::new(ev, &spec, &opts.out, eval_items));
    let mut loader = Loader::spawn(dataset.clone(), sampler, cursor, 2);
    obs.start(trainer.step, last_step);
    let mut summary = RunSummary { steps: trainer.step, checkpoint: None, interrupted: false, last: None };
    let mut log = StepLog::new(metrics, trainer.step);
    loop {
        if last_step.is_some_and(|n| trainer.step >= n) {
            break;
        }
        let interrupted = stop.load(Ordering::SeqCst);
        let next = if interrupted { None } else { loader.next_batch().transpose()? };
        if let Consensus::Stop { interrupted } = stop::consensus(group.as_deref(), next.as_ref(), interrupted, spec.trainer.epochs)? {
            summary.interrupted = interrupted;
            break;
        }
        let Some(loaded) = next else { break };
        let epochs_done = loaded.cursor.epoch > trainer.epoch;
        trainer.epoch = loaded.cursor.epoch;
        if epochs_done && checkpointer.due_after_epoch(trainer.epoch, trainer.step, summary.checkpoint.as_deref()) {
            summary.checkpoint = Some(checkpointer.save(&trainer, cursor, obs)?);
        }
        let batch = loaded.batch.to_batch()?;
        let t0 = Instant::now();
        let report = trainer.train_step(&batch)?;
        let seconds = t0.elapsed().as_secs_f64();
        let items: Vec<String> = loaded.batch.items.iter().map(|&i| ids[i].clone()).collect();
        log.record(&report, seconds, &items, obs)?;
        bookkeeping::check_finite(&report, &items, trainer.nonfinite_in_row, spec.trainer.max_nonfinite_in_row, obs)?;
        cursor = loaded.cursor;
        summary.steps = trainer.step;
        summary.last = Some(report);
        if checkpointer.due(trainer.step) {
            summary.checkpoint = Some(checkpointer.save(&trainer, cursor, obs)?);
        }
        if let Some(ev) = evaluation.as_mut().filter(|ev| ev.due(trainer.step)) {
            ev.evaluate(&mut trainer, &dataset, cursor, log.metrics(), obs)?;
        }
    }
    drop(loader);
    if let Some(dir) = checkpointer.save_final(&trainer, cursor, summary.checkpoint.as_deref(), obs)? {
        summary.checkpoint = Some(dir);
    }
    Ok(summary)
}
