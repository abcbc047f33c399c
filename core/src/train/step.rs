//! One GAN training step, as GPT-SoVITS `s2_train.py::train_and_evaluate`:
//! generator forward; real audio cut at the generator's segment;
//! discriminator update on the detached fake; generator update with every
//! generator-side loss through a fresh pass of the updated discriminators.
//! The generator update re-runs the generator forward with the first pass's
//! random draws replayed, so both updates see the same segment and noise
//! (evaluating one forward inside the generator's value_and_grad and running
//! the discriminator update there was measured slower and 3x the memory:
//! arrays evaluated during a trace keep their graphs).

use mlx_rs::Array;

use crate::batch::{Batch, VitsTrainOutput};
use crate::components::{DiscriminatorOutput, LossContext, ParamMap, Side};
use crate::error::Result;
use crate::gan::Gan;
use crate::nn::noise::{NoiseSource, RecordedNoise};
use crate::train::audio_slice::slice_audio;
use crate::train::loss_sum::weighted_losses;
use crate::train::noise_replay::RecordingNoise;
use crate::train::params;
use crate::train::phase_clock::PhaseClock;
use crate::train::precision::{compute_batch, in_precision};
use crate::train::side_grad::side_gradients;
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
    /// Seconds per phase (`g_forward`, `d_grad`, `d_update`, `g_grad`,
    /// `g_update`), filled only when [`Trainer::profile`] is set.
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

        // 1. generator forward (draws recorded for the generator update)
        self.gan.generator.set_training(true);
        let mut recording = RecordingNoise::new(noise);
        let first = self.gan.generator.forward_train(&compute, &mut recording)?;
        let y = slice_audio(&batch.audio, &first.ids_slice, self.spec.data.hop_length, self.spec.trainer.segment_size)?;
        let y_d = in_precision(&y, precision)?;
        let real = RealSegment { y: &y, y_d: &y_d };
        let y_hat_detached = mlx_rs::stop_gradient(&first.y_hat)?;
        report.y_hat = Some(y_hat_detached.clone());
        report.ids_slice = Some(first.ids_slice.clone());
        clock.mark("g_forward", [&y, &first.y_hat, &first.z_p, &first.m_p, &first.logs_p, &first.m_q, &first.logs_q])?;

        // 2. discriminator update on the detached fake (a spec without
        // discriminators, e.g. a mel-only ablation, has nothing to update)
        let d_finite = if self.d_master.is_empty() {
            true
        } else {
            self.discriminator_update(batch, real, &y_hat_detached, &first, &mut report, &mut clock)?
        };
        // 3. generator update through the updated discriminators
        let g_finite = self.generator_update(batch, &compute, real, recording.replay(), &mut report, &mut clock)?;
        report.phases = clock.finish();

        self.count_nonfinite(d_finite, g_finite, &mut report);
        self.step += 1;
        report.step = self.step;
        Ok(report)
    }

    /// Discriminator update on the detached fake `y_hat`: gradient of the
    /// weighted discriminator side, clipping, optimizer step and the new
    /// compute parameters written into the discriminators. Returns whether
    /// the loss and gradient were finite (the update is skipped otherwise).
    fn discriminator_update(
        &mut self,
        batch: &Batch,
        real: RealSegment<'_>,
        y_hat: &Array,
        generated: &VitsTrainOutput,
        report: &mut StepReport,
        clock: &mut PhaseClock,
    ) -> Result<bool> {
        let segment_frames = self.spec.segment_frames();
        let inputs = trained(&self.opt_d.compute_params(&self.d_master)?, &self.d_master);
        let Trainer { gan, grad_reduce, .. } = &mut *self;
        let side = side_gradients(inputs, grad_reduce.as_ref(), |d_params, names| {
            assign_discriminators(gan, &d_params);
            let disc = run_discriminators(gan, real.y_d, y_hat)?;
            let ctx = LossContext {
                batch, y: real.y, y_hat, generated, disc: &disc, frontend: &*gan.frontend, segment_frames,
            };
            weighted_losses(gan, Side::Discriminator, &ctx, names)
        })?;
        report.d_total = side.total;
        report.d_grad_norm = side.grad_norm;
        report.terms.extend(side.terms.iter().cloned());
        clock.mark("d_grad", [])?;
        let finite = side.apply(&mut *self.opt_d, &mut self.d_master, self.spec.trainer.grad_clip)?;
        // the discriminators always get the masters' compute copies (they
        // were loaded with the differentiated inputs above)
        self.push_d_params()?;
        clock.mark("d_update", self.d_master.values())?;
        Ok(finite)
    }

    /// Generator update: the generator forward again on `compute` with the
    /// first pass's draws `replay`ed, the updated discriminators on its
    /// output, the gradient of the weighted generator side, clipping,
    /// optimizer step and the new compute parameters in both models.
    /// Returns whether the loss and gradient were finite.
    fn generator_update(
        &mut self,
        batch: &Batch,
        compute: &Batch,
        real: RealSegment<'_>,
        mut replay: RecordedNoise,
        report: &mut StepReport,
        clock: &mut PhaseClock,
    ) -> Result<bool> {
        let segment_frames = self.spec.segment_frames();
        let inputs = trained(&self.g_compute_params()?, &self.g_master);
        let Trainer { gan, grad_reduce, .. } = &mut *self;
        let side = side_gradients(inputs, grad_reduce.as_ref(), |g_params, names| {
            params::assign(&mut *gan.generator, "", &g_params);
            let out = gan.generator.forward_train(compute, &mut replay)?;
            let disc = crate::components::real_fake::with_constant_real(|| run_discriminators(gan, real.y_d, &out.y_hat))?;
            let ctx = LossContext {
                batch, y: real.y, y_hat: &out.y_hat, generated: &out, disc: &disc, frontend: &*gan.frontend, segment_frames,
            };
            weighted_losses(gan, Side::Generator, &ctx, names)
        })?;
        report.g_total = side.total;
        report.g_grad_norm = side.grad_norm;
        report.terms.extend(side.terms.iter().cloned());
        clock.mark("g_grad", [])?;
        let finite = side.apply(&mut *self.opt_g, &mut self.g_master, self.spec.trainer.grad_clip)?;
        self.push_params()?;
        self.eval_state()?;
        clock.mark("g_update", [])?;
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
