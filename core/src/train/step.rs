//! One GAN training step, as GPT-SoVITS `s2_train.py::train_and_evaluate`:
//! generator forward; real audio cut at the generator's segment;
//! discriminator update on the detached fake; generator update with every
//! generator-side loss through a fresh pass of the updated discriminators.
//!
//! As in the reference, the generator forward runs once. MLX differentiates
//! a function rather than a recorded graph, so the whole step is built
//! inside the generator's `value_and_grad` closure: the forward, the
//! discriminator update on its detached output (its own gradient and a
//! masked optimizer step, all lazy), and the generator losses through the
//! updated discriminators. Nothing is evaluated inside that trace: an array
//! evaluated there keeps its whole graph (measured at batch 1: 5.6 GiB MLX
//! peak instead of 2.1). The step's one evaluation then runs the forward,
//! the discriminator update and the generator backward, freeing what the
//! backward does not need as it goes. A discriminator loss or gradient that
//! turns out non-finite leaves the discriminators as they were (the masked
//! step of [`crate::components::Optimizer::update_where`], settled after the
//! evaluation); the generator's is checked on the host before its update.

use mlx_rs::Array;

use crate::batch::{Batch, VitsTrainOutput};
use crate::components::{DiscriminatorOutput, LossContext, Optimizer, ParamMap, PendingUpdate, Side};
use crate::distributed::GradReducer;
use crate::error::Result;
use crate::gan::Gan;
use crate::nn::noise::NoiseSource;
use crate::spec::Spec;
use crate::train::audio_slice::slice_audio;
use crate::train::loss_sum::weighted_losses;
use crate::train::params;
use crate::train::phase_clock::PhaseClock;
use crate::train::precision::{compute_batch, in_precision};
use crate::train::side_grad::{LazySide, SideGradients, side_gradients};
use crate::train::trainer::{Trainer, assign_discriminators};

/// Scalars logged for one step.
#[derive(Debug, Clone, Default)]
pub struct StepReport {
    /// Step index (after this step).
    pub step: u64,
    /// Epoch of the step.
    pub epoch: u64,
    /// Generator learning rate used.
    pub learning_rate: f32,
    /// Weighted generator total.
    pub g_total: f32,
    /// Weighted discriminator total.
    pub d_total: f32,
    /// Unweighted loss terms, keyed `g/<name>`, `d/<name>` (and sub-terms).
    pub terms: Vec<(String, f32)>,
    /// Generator gradient norm before clipping.
    pub g_grad_norm: f32,
    /// Discriminator gradient norm before clipping.
    pub d_grad_norm: f32,
    /// Why the update was skipped (non-finite loss or gradient), if it was.
    pub skipped: Option<String>,
    /// Seconds per phase, filled only when [`Trainer::profile`] is set:
    /// `build` (tracing the step's graph on the host), `grads` (its one
    /// evaluation: generator forward, discriminator update, generator
    /// backward) and `g_update`.
    pub phases: Vec<(&'static str, f64)>,
    /// Generator output of this step's first (discriminator-side) pass,
    /// computed with the parameters before the update, `[B, segment]`.
    pub y_hat: Option<Array>,
    /// Start frame of each item's training segment, `[B]` int32.
    pub ids_slice: Option<Array>,
}

/// The real segment `[B, segment]`: in f32 for the losses, in the compute
/// precision for the discriminators.
#[derive(Clone, Copy)]
struct RealSegment<'a> {
    y: &'a Array,
    y_d: &'a Array,
}

impl Trainer {
    /// One full D + G step on `batch` with draws from the trainer's own noise.
    pub fn train_step(&mut self, batch: &Batch) -> Result<StepReport> {
        let mut noise = self.noise.clone();
        let report = self.train_step_with(batch, &mut noise)?;
        self.noise = noise;
        Ok(report)
    }

    /// One full D + G step taking every random draw from `noise` (tests pass
    /// the reference's recorded draws here).
    pub fn train_step_with(&mut self, batch: &Batch, noise: &mut dyn NoiseSource) -> Result<StepReport> {
        let lr = self.apply_schedule();
        let mut report = StepReport { epoch: self.epoch, learning_rate: lr, ..StepReport::default() };
        let mut clock = PhaseClock::new(self.profile);
        // the networks see `compute` (floating inputs in the compute
        // precision) and the discriminators `y_d`; the losses see the f32
        // `batch` and `y`, so targets and loss math stay f32
        let precision = self.spec.trainer.precision;
        let compute = compute_batch(batch, precision)?;
        self.gan.generator.set_training(true);
        let g_inputs = trained(&self.g_compute_params()?, &self.g_master);
        let Trainer { spec, gan, opt_d, d_master, grad_reduce, .. } = &mut *self;
        let spec: &Spec = spec;
        let reduce = grad_reduce.as_ref();
        let mut d_update = None;
        let g_side = side_gradients(g_inputs, reduce, |g_params, names| {
            params::assign(&mut *gan.generator, "", &g_params);
            // 1. generator forward
            let out = gan.generator.forward_train(&compute, &mut *noise)?;
            let y = slice_audio(&batch.audio, &out.ids_slice, spec.data.hop_length, spec.trainer.segment_size)?;
            let y_d = in_precision(&y, precision)?;
            let real = RealSegment { y: &y, y_d: &y_d };
            // 2. discriminator update on the detached fake (a spec without
            // discriminators, e.g. a mel-only ablation, has nothing to update)
            let detached = out.detached()?;
            if !d_master.is_empty() {
                let side = DiscriminatorSide { gan: &mut *gan, opt: &mut **opt_d, master: &mut *d_master, reduce, spec };
                d_update = Some(update_discriminators(side, batch, real, &detached)?);
            }
            report.y_hat = Some(detached.y_hat);
            report.ids_slice = Some(detached.ids_slice);
            // 3. generator losses through the updated discriminators
            let disc = crate::components::real_fake::with_constant_real(|| run_discriminators(gan, real.y_d, &out.y_hat))?;
            let ctx = LossContext {
                batch, y: real.y, y_hat: &out.y_hat, generated: &out, disc: &disc, frontend: &*gan.frontend,
                segment_frames: spec.segment_frames(),
            };
            weighted_losses(gan, Side::Generator, &ctx, names)
        })?;
        clock.mark("build", [])?;
        // the step's one evaluation: both sides' losses and norms, and with
        // them the forward, the discriminator update and every gradient
        mlx_rs::transforms::eval(g_side.outputs().chain(d_update.iter().flat_map(|(d, _)| d.outputs())))?;
        clock.mark("grads", [])?;
        let d_finite = match d_update {
            Some((side, pending)) => self.settle_discriminators(side.finish()?, pending, &mut report)?,
            None => true,
        };
        let side = g_side.finish()?;
        report.g_total = side.total;
        report.g_grad_norm = side.grad_norm;
        report.terms.extend(side.terms.iter().cloned());
        let g_finite = side.apply(&mut *self.opt_g, &mut self.g_master, self.spec.trainer.grad_clip)?;
        self.push_params()?;
        self.eval_state()?;
        clock.mark("g_update", [])?;
        report.phases = clock.finish();

        self.count_nonfinite(d_finite, g_finite, &mut report);
        self.step += 1;
        report.step = self.step;
        Ok(report)
    }

    /// Logs the evaluated discriminator side and completes its masked
    /// optimizer step; returns whether it applied (loss and gradient finite).
    fn settle_discriminators(&mut self, side: SideGradients, pending: PendingUpdate, report: &mut StepReport) -> Result<bool> {
        let finite = side.finite();
        self.opt_d.settle(pending, finite)?;
        report.d_total = side.total;
        report.d_grad_norm = side.grad_norm;
        report.terms.extend(side.terms);
        Ok(finite)
    }

    /// Counts a step with a skipped update towards
    /// `trainer.max_nonfinite_in_row` and says in `report` which side it was.
    fn count_nonfinite(&mut self, d_finite: bool, g_finite: bool, report: &mut StepReport) {
        if d_finite && g_finite {
            self.nonfinite_in_row = 0;
            return;
        }
        self.nonfinite_in_row += 1;
        report.skipped = Some(format!(
            "non-finite {} (d_total {}, d_grad_norm {}, g_total {}, g_grad_norm {}); {} update(s) skipped",
            if d_finite { "generator loss or gradient" } else { "discriminator loss or gradient" },
            report.d_total, report.d_grad_norm, report.g_total, report.g_grad_norm,
            if d_finite || g_finite { "one" } else { "both" },
        ));
    }
}

/// The entries of `compute` for the keys of `master`: the parameters an
/// optimizer trains, in the precision the models compute in.
fn trained(compute: &ParamMap, master: &ParamMap) -> ParamMap {
    master.keys().map(|k| (k.clone(), compute[k].clone())).collect()
}

/// Runs every discriminator on (`y`, `y_hat`), in spec order.
fn run_discriminators(gan: &mut Gan, y: &Array, y_hat: &Array) -> Result<Vec<DiscriminatorOutput>> {
    gan.discriminators.iter_mut().map(|d| d.model.forward(y, y_hat)).collect()
}

/// What the discriminator update reads and writes, borrowed apart from the
/// rest of the trainer (it runs inside the generator's trace).
struct DiscriminatorSide<'a> {
    gan: &'a mut Gan,
    opt: &'a mut dyn Optimizer,
    master: &'a mut ParamMap,
    reduce: Option<&'a GradReducer>,
    spec: &'a Spec,
}

/// Discriminator update on the detached `generated` output, built lazily:
/// gradient of the weighted discriminator side, clipping, an optimizer step
/// masked by the finiteness of the loss and gradient (so a non-finite one
/// leaves every parameter as it was), and the new compute parameters written
/// into the discriminators. Returns the lazy side (its loss and norm are read
/// after the step's one evaluation) and what the optimizer must settle then.
fn update_discriminators(
    d: DiscriminatorSide<'_>,
    batch: &Batch,
    real: RealSegment<'_>,
    generated: &VitsTrainOutput,
) -> Result<(LazySide, PendingUpdate)> {
    let segment_frames = d.spec.segment_frames();
    let inputs = trained(&d.opt.compute_params(d.master)?, d.master);
    let gan = d.gan;
    let y_hat = &generated.y_hat;
    let side = side_gradients(inputs, d.reduce, |d_params, names| {
        assign_discriminators(gan, &d_params);
        let disc = run_discriminators(gan, real.y_d, y_hat)?;
        let ctx = LossContext { batch, y: real.y, y_hat, generated, disc: &disc, frontend: &*gan.frontend, segment_frames };
        weighted_losses(gan, Side::Discriminator, &ctx, names)
    })?;
    let pending = d.opt.update_where(d.master, &side.clipped(d.spec.trainer.grad_clip)?, &side.finite_mask()?)?;
    // the discriminators always get the masters' compute copies (they were
    // loaded with the differentiated inputs above)
    assign_discriminators(gan, &d.opt.compute_params(d.master)?);
    Ok((side, pending))
}
