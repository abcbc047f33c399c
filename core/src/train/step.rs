//! One GAN training step, as GPT-SoVITS `s2_train.py::train_and_evaluate`:
//! generator forward; real audio cut at the generator's segment;
//! discriminator update on the detached fake; generator update with every
//! generator-side loss through a fresh pass of the updated discriminators.
//! The generator update re-runs the generator forward with the first pass's
//! random draws replayed, so both updates see the same segment and noise
//! (evaluating one forward inside the generator's value_and_grad and running
//! the discriminator update there was measured slower and 3x the memory:
//! arrays evaluated during a trace keep their graphs).

use std::cell::RefCell;

use mlx_rs::error::Exception;
use mlx_rs::transforms::value_and_grad_with_argnums;
use mlx_rs::{Array, Dtype, ops};

use crate::batch::{Batch, VITSTrainOutput};
use crate::components::{DiscriminatorOutput, LossContext, Optimizer, ParamMap, Side};
use crate::error::{Error, Result};
use crate::gan::{Gan, assign_groups};
use crate::nn::noise::{NoiseSource, SeededNoise};
use crate::registry;
use crate::spec::{Precision, Spec};
use crate::train::audio_slice::slice_audio;
use crate::train::noise_replay::RecordingNoise;
use crate::train::phase_clock::PhaseClock;
use crate::train::{params, schedule};

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

/// The model, optimizers and all state that a checkpoint must restore.
pub struct Trainer {
    /// The resolved spec.
    pub spec: Spec,
    /// Generator, discriminators, losses, frontend.
    pub gan: Gan,
    /// Generator optimizer.
    pub opt_g: Box<dyn Optimizer>,
    /// Discriminator optimizer.
    pub opt_d: Box<dyn Optimizer>,
    /// f32 master copies of the trainable generator parameters.
    pub g_master: ParamMap,
    /// f32 master copies of the trainable discriminator parameters (prefixed keys).
    pub d_master: ParamMap,
    /// f32 copies of the generator's floating parameters that have no master
    /// (frozen groups such as the quantizer codebook), kept while the model
    /// holds them in a lower compute precision so checkpoints stay exact.
    /// Empty under f32.
    pub g_frozen: ParamMap,
    /// Source of every random draw in training.
    pub noise: SeededNoise,
    /// Steps taken.
    pub step: u64,
    /// Current epoch (0-based).
    pub epoch: u64,
    /// Non-finite steps in a row (the run stops past `trainer.max_nonfinite_in_row`).
    pub nonfinite_in_row: u32,
    /// Time each phase of the step into [`StepReport::phases`]; this adds a
    /// host sync after each phase, so leave it off outside benchmarks.
    pub profile: bool,
    /// Applied to the D and the G gradients right after they are computed,
    /// before the global norm, clipping and the update: data-parallel runs
    /// average them over the ranks here ([`crate::distributed::average_grads`]).
    /// `None` (the default) leaves them as they are.
    pub grad_reduce: Option<crate::distributed::GradReducer>,
    /// Units of the training data (`hubert` or `kmeans-standin`), recorded in
    /// every checkpoint so a model trained on stand-in units says so.
    pub data_units: Option<String>,
}

/// Converts a core error inside an MLX transform closure, keeping the original.
fn stash(slot: &RefCell<Option<Error>>, e: Error) -> Exception {
    let msg = e.to_string();
    *slot.borrow_mut() = Some(e);
    Exception::custom(msg)
}

/// Differentiate with respect to every input (mlx's default is the first only).
fn all_argnums(n: usize) -> Vec<i32> {
    (0..n as i32).collect()
}

fn scalar(a: &Array) -> f32 {
    a.item_cast::<f32>()
}

impl Trainer {
    /// Builds every component and both optimizers from `spec`.
    pub fn new(spec: Spec) -> Result<Trainer> {
        // parameter initialisation draws from MLX's global PRNG: seed it so a
        // spec builds the same initial model every time
        mlx_rs::random::seed(spec.trainer.seed)?;
        let gan = Gan::build(&spec)?;
        let g_all = params::collect_trainable(&*gan.generator, "");
        let ctx_g = assign_groups(
            g_all.keys(),
            &gan.generator.parameter_groups(),
            &gan.generator.frozen_prefixes(),
            &spec.optimizer_g,
            "optimizer_g",
        )?;
        let mut d_all = ParamMap::new();
        for (i, (_, d)) in gan.discriminators.iter().enumerate() {
            d_all.extend(params::collect_trainable(&**d, &gan.discriminator_prefix(i)));
        }
        let ctx_d = assign_groups(d_all.keys(), &[], &[], &spec.optimizer_d, "optimizer_d")?;
        let opt_g = registry::build_optimizer(&spec.optimizer_g.component("optimizer_g"), "optimizer_g", &ctx_g)?;
        let opt_d = registry::build_optimizer(&spec.optimizer_d.component("optimizer_d"), "optimizer_d", &ctx_d)?;
        check_precision(&spec, &*opt_g, &*opt_d)?;
        check_f32_modules(&spec, &*gan.generator)?;
        let owned = |ctx: &crate::components::OptimizerContext, all: &ParamMap| -> Result<ParamMap> {
            ctx.groups
                .iter()
                .flat_map(|g| g.params.iter())
                .map(|k| Ok((k.clone(), all[k].as_dtype(mlx_rs::Dtype::Float32)?)))
                .collect()
        };
        let g_master = owned(&ctx_g, &g_all)?;
        let d_master = owned(&ctx_d, &d_all)?;
        let noise = SeededNoise::new(spec.trainer.seed)?;
        let mut t = Trainer { spec, gan, opt_g, opt_d, g_master, d_master, g_frozen: ParamMap::new(), noise, step: 0, epoch: 0, nonfinite_in_row: 0, profile: false, grad_reduce: None, data_units: None };
        t.push_params()?;
        Ok(t)
    }

    /// Replaces every generator (`g`, state-dict keys) and discriminator (`d`,
    /// the joint keys of [`Trainer::d_master`]) parameter, strictly: a missing,
    /// unexpected or mis-shaped key is an error naming it. The f32 masters are
    /// set too, so the next step starts from these values.
    pub fn set_weights(&mut self, g: &ParamMap, d: &ParamMap) -> Result<()> {
        crate::nn::load_strict(&mut *self.gan.generator, g, false)
            .map_err(|e| Error::Weights(format!("generator weights: {e}")))?;
        for i in 0..self.gan.discriminators.len() {
            let prefix = self.gan.discriminator_prefix(i);
            let part: ParamMap =
                d.iter().filter_map(|(k, v)| k.strip_prefix(&prefix).map(|r| (r.to_string(), v.clone()))).collect();
            crate::nn::load_strict(&mut *self.gan.discriminators[i].1, &part, false)
                .map_err(|e| Error::Weights(format!("discriminator weights (prefix `{prefix}`): {e}")))?;
        }
        for (which, src, master) in [("generator", g, &mut self.g_master), ("discriminator", d, &mut self.d_master)] {
            for (k, v) in master.iter_mut() {
                let value = src.get(k).ok_or_else(|| Error::Weights(format!("{which} weights: missing `{k}`")))?;
                *v = value.as_dtype(mlx_rs::Dtype::Float32)?;
            }
        }
        self.push_params()
    }

    /// The generator's compute parameters: the optimizer's compute copies,
    /// except parameters of `trainer.f32_modules`, which use the f32 masters.
    fn g_compute_params(&self) -> Result<ParamMap> {
        let mut g = self.opt_g.compute_params(&self.g_master)?;
        if self.spec.trainer.precision != Precision::F32 {
            for (k, v) in g.iter_mut() {
                if in_f32_module(&self.spec.trainer.f32_modules, k) {
                    *v = self.g_master[k].clone();
                }
            }
        }
        Ok(g)
    }

    /// Writes the optimizers' compute-precision copies of the masters into the
    /// models. Under bf16, generator parameters without a master that the
    /// model holds in f32 (fresh, or just loaded) are kept in
    /// [`Trainer::g_frozen`] and cast to bf16 in the model, so the generator
    /// computes in bf16 except the submodules of `trainer.f32_modules`.
    pub fn push_params(&mut self) -> Result<()> {
        let g = self.g_compute_params()?;
        params::assign(&mut *self.gan.generator, "", &g);
        let dtype = compute_dtype(self.spec.trainer.precision);
        if dtype != Dtype::Float32 {
            let mut cast = ParamMap::new();
            for (k, v) in params::collect(&*self.gan.generator, "") {
                if v.dtype() == Dtype::Float32 && !self.g_master.contains_key(&k) && !in_f32_module(&self.spec.trainer.f32_modules, &k) {
                    cast.insert(k.clone(), v.as_dtype(dtype)?);
                    self.g_frozen.insert(k, v);
                }
            }
            params::assign(&mut *self.gan.generator, "", &cast);
        }
        let d = self.opt_d.compute_params(&self.d_master)?;
        for (i, (_, disc)) in self.gan.discriminators.iter_mut().enumerate() {
            let prefix = crate::gan::discriminator_prefix(&self.spec.discriminators.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(), i);
            params::assign(&mut **disc, &prefix, &d);
        }
        Ok(())
    }

    /// Sets both optimizers' learning rates from the schedule at the current step.
    fn apply_schedule(&mut self) -> f32 {
        let s = &self.spec.schedule;
        let lr_g = schedule::learning_rate(s, self.spec.optimizer_g.learning_rate, self.epoch, self.step);
        let lr_d = schedule::learning_rate(s, self.spec.optimizer_d.learning_rate, self.epoch, self.step);
        self.opt_g.set_learning_rate(lr_g);
        self.opt_d.set_learning_rate(lr_d);
        lr_g
    }

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
        let hop = self.spec.data.hop_length;
        let segment = self.spec.trainer.segment_size;
        let frames = self.spec.segment_frames();
        let clip = self.spec.trainer.grad_clip;
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
        let y = slice_audio(&batch.audio, &first.ids_slice, hop, segment)?;
        let y_d = in_precision(&y, precision)?;
        let y_hat_detached = mlx_rs::stop_gradient(&first.y_hat)?;
        report.y_hat = Some(y_hat_detached.clone());
        report.ids_slice = Some(first.ids_slice.clone());
        clock.mark("g_forward", [&y, &first.y_hat, &first.z_p, &first.m_p, &first.logs_p, &first.m_q, &first.logs_q])?;

        // 2. discriminator update on the detached fake
        let d_finite = self.discriminator_update(batch, (&y, &y_d), &y_hat_detached, &first, &mut report, &mut clock)?;

        // 3. generator update through the updated discriminators
        let g_keys: Vec<String> = self.g_master.keys().cloned().collect();
        let g_inputs: Vec<Array> = {
            let current = self.g_compute_params()?;
            g_keys.iter().map(|k| current[k].clone()).collect()
        };
        let replay = RefCell::new(recording.replay());
        let (g_values, g_names, g_grads) = {
            let failure = RefCell::new(None);
            let names = RefCell::new(Vec::new());
            let Trainer { gan, spec, .. } = &mut *self;
            let disc_names: Vec<&str> = spec.discriminators.iter().map(|c| c.name.as_str()).collect();
            let gan = RefCell::new(gan);
            let closure = |inputs: &[Array]| -> std::result::Result<Vec<Array>, Exception> {
                let run = || -> Result<Vec<Array>> {
                    let map: ParamMap = g_keys.iter().cloned().zip(inputs.iter().cloned()).collect();
                    let mut gan = gan.borrow_mut();
                    params::assign(&mut *gan.generator, "", &map);
                    let out: VITSTrainOutput = gan.generator.forward_train(&compute, &mut *replay.borrow_mut())?;
                    let outs = run_discriminators(&mut gan, &disc_names, None, &y_d, &out.y_hat)?;
                    let ctx = LossContext {
                        batch, y: &y, y_hat: &out.y_hat, generated: &out, disc: &outs,
                        frontend: &*gan.frontend, segment_frames: frames,
                    };
                    weighted_side(&gan, Side::Generator, &ctx, &mut names.borrow_mut())
                };
                run().map_err(|e| stash(&failure, e))
            };
            let argnums = all_argnums(g_inputs.len());
            let mut vg = value_and_grad_with_argnums(closure, &argnums[..]);
            let result = vg(&g_inputs);
            drop(vg);
            match (result, failure.into_inner()) {
                (Ok((values, grads)), _) => (values, names.into_inner(), grads),
                (Err(_), Some(e)) => return Err(e),
                (Err(e), None) => return Err(e.into()),
            }
        };
        // contiguous first: MLX 0.32.2 CPU mis-combines column-major views (nn::grad)
        let g_grads: ParamMap = g_keys.iter().cloned().zip(g_grads).collect();
        let g_grads = grads_f32(crate::nn::grad::contiguous_map(&g_grads)?)?;
        let g_grads = match &self.grad_reduce { Some(f) => f(g_grads)?, None => g_grads };
        let g_norm = params::global_norm(&g_grads)?;
        mlx_rs::transforms::eval(g_values.iter().chain(std::iter::once(&g_norm)))?;
        report.g_total = scalar(&g_values[0]);
        report.g_grad_norm = scalar(&g_norm);
        clock.mark("g_grad", [])?;
        report.terms.extend(g_names.into_iter().zip(g_values[1..].iter().map(scalar)));
        let g_finite = report.g_total.is_finite() && report.g_grad_norm.is_finite();
        if g_finite {
            let grads = match clip { Some(c) => params::clip(&g_grads, &g_norm, c)?, None => g_grads };
            self.opt_g.update(&mut self.g_master, &grads)?;
        }
        self.push_params()?;
        self.eval_state()?;
        clock.mark("g_update", [])?;
        report.phases = clock.finish();

        if d_finite && g_finite {
            self.nonfinite_in_row = 0;
        } else {
            self.nonfinite_in_row += 1;
            report.skipped = Some(format!(
                "non-finite {} (d_total {}, d_grad_norm {}, g_total {}, g_grad_norm {}); {} update(s) skipped",
                if d_finite { "generator loss or gradient" } else { "discriminator loss or gradient" },
                report.d_total, report.d_grad_norm, report.g_total, report.g_grad_norm,
                if d_finite || g_finite { "one" } else { "both" },
            ));
        }
        self.step += 1;
        report.step = self.step;
        Ok(report)
    }

    /// Discriminator update on the detached fake `y_hat`: gradient of the
    /// weighted discriminator side, clipping, optimizer step and the new
    /// compute parameters written into the discriminators. `(y, y_d)` is the
    /// real segment in f32 (for the losses) and in the compute precision (for
    /// the discriminators). Returns whether the loss and gradient were finite
    /// (the update is skipped otherwise).
    fn discriminator_update(
        &mut self,
        batch: &Batch,
        (y, y_d): (&Array, &Array),
        y_hat: &Array,
        generated: &VITSTrainOutput,
        report: &mut StepReport,
        clock: &mut PhaseClock,
    ) -> Result<bool> {
        let frames = self.spec.segment_frames();
        let d_keys: Vec<String> = self.d_master.keys().cloned().collect();
        let d_inputs: Vec<Array> = {
            let current = self.opt_d.compute_params(&self.d_master)?;
            d_keys.iter().map(|k| current[k].clone()).collect()
        };
        let (d_values, d_names, d_grads) = {
            let failure = RefCell::new(None);
            let names = RefCell::new(Vec::new());
            let Trainer { gan, spec, .. } = &mut *self;
            let disc_names: Vec<&str> = spec.discriminators.iter().map(|c| c.name.as_str()).collect();
            let closure = |inputs: &[Array]| -> std::result::Result<Vec<Array>, Exception> {
                let mut run = || -> Result<Vec<Array>> {
                    let map: ParamMap = d_keys.iter().cloned().zip(inputs.iter().cloned()).collect();
                    let outs = run_discriminators(gan, &disc_names, Some(&map), y_d, y_hat)?;
                    let ctx = LossContext {
                        batch, y, y_hat, generated, disc: &outs,
                        frontend: &*gan.frontend, segment_frames: frames,
                    };
                    weighted_side(gan, Side::Discriminator, &ctx, &mut names.borrow_mut())
                };
                run().map_err(|e| stash(&failure, e))
            };
            let argnums = all_argnums(d_inputs.len());
            let mut vg = value_and_grad_with_argnums(closure, &argnums[..]);
            let result = vg(&d_inputs);
            drop(vg);
            match (result, failure.into_inner()) {
                (Ok((values, grads)), _) => (values, names.into_inner(), grads),
                (Err(_), Some(e)) => return Err(e),
                (Err(e), None) => return Err(e.into()),
            }
        };
        let d_grads: ParamMap = d_keys.iter().cloned().zip(d_grads).collect();
        let d_grads = grads_f32(crate::nn::grad::contiguous_map(&d_grads)?)?;
        let d_grads = match &self.grad_reduce { Some(f) => f(d_grads)?, None => d_grads };
        let d_norm = params::global_norm(&d_grads)?;
        mlx_rs::transforms::eval(d_values.iter().chain(std::iter::once(&d_norm)))?;
        report.d_total = scalar(&d_values[0]);
        report.d_grad_norm = scalar(&d_norm);
        clock.mark("d_grad", [])?;
        report.terms.extend(d_names.into_iter().zip(d_values[1..].iter().map(scalar)));
        let finite = report.d_total.is_finite() && report.d_grad_norm.is_finite();
        if finite {
            let grads = match self.spec.trainer.grad_clip { Some(c) => params::clip(&d_grads, &d_norm, c)?, None => d_grads };
            self.opt_d.update(&mut self.d_master, &grads)?;
        }
        // the discriminators always get the masters' compute copies (they
        // were loaded with the differentiated inputs above)
        let d = self.opt_d.compute_params(&self.d_master)?;
        for i in 0..self.gan.discriminators.len() {
            let prefix = self.gan.discriminator_prefix(i);
            params::assign(&mut *self.gan.discriminators[i].1, &prefix, &d);
        }
        clock.mark("d_update", self.d_master.values())?;
        Ok(finite)
    }

    /// Evaluates every parameter and optimizer state so the next step starts
    /// from concrete arrays (bounds the lazy graph).
    pub fn eval_state(&self) -> Result<()> {
        let s_g = self.opt_g.state()?;
        let s_d = self.opt_d.state()?;
        mlx_rs::transforms::eval(self.g_master.values().chain(self.d_master.values()).chain(s_g.values()).chain(s_d.values()))?;
        Ok(())
    }
}

/// Runs every discriminator on (`y`, `y_hat`); with `params`, first loads the
/// given (prefixed) discriminator parameters.
fn run_discriminators(
    gan: &mut Gan,
    names: &[&str],
    params: Option<&ParamMap>,
    y: &Array,
    y_hat: &Array,
) -> Result<Vec<DiscriminatorOutput>> {
    let mut outs = Vec::with_capacity(gan.discriminators.len());
    for (i, (_, d)) in gan.discriminators.iter_mut().enumerate() {
        if let Some(map) = params {
            params::assign(&mut **d, &crate::gan::discriminator_prefix(names, i), map);
        }
        outs.push(d.forward(y, y_hat)?);
    }
    Ok(outs)
}

/// [weighted total, each unweighted term...] of one side; `names` receives
/// the log key of each returned term.
fn weighted_side(gan: &Gan, side: Side, ctx: &LossContext<'_>, names: &mut Vec<String>) -> Result<Vec<Array>> {
    names.clear();
    let prefix = match side {
        Side::Generator => "g",
        Side::Discriminator => "d",
    };
    let mut total = Array::from_f32(0.0);
    let mut terms = Vec::new();
    for wl in &gan.losses {
        if !wl.loss.sides().contains(&side) {
            continue;
        }
        let value = match side {
            Side::Generator => wl.loss.generator(ctx)?,
            Side::Discriminator => wl.loss.discriminator(ctx)?,
        };
        let Some(t) = value else { continue };
        // totals in f32 whatever precision a loss returned (a no-op for f32)
        let value = t.value.as_dtype(Dtype::Float32)?;
        total = ops::add(&total, &ops::multiply(&value, &Array::from_f32(wl.weight))?)?;
        names.push(format!("{prefix}/{}", wl.name));
        terms.push(value);
        for (part, v) in t.parts {
            names.push(format!("{prefix}/{}/{part}", wl.name));
            terms.push(v.as_dtype(Dtype::Float32)?);
        }
    }
    let mut out = vec![total];
    out.extend(terms);
    Ok(out)
}

/// The floating dtype networks compute in under `precision`.
pub fn compute_dtype(precision: Precision) -> Dtype {
    match precision {
        Precision::F32 => Dtype::Float32,
        Precision::Bf16 => Dtype::Bfloat16,
    }
}

/// `x` in the compute precision (no copy when it already is).
fn in_precision(x: &Array, precision: Precision) -> Result<Array> {
    Ok(x.as_dtype(compute_dtype(precision))?)
}

/// The batch the networks see: SSL features and the linear spectrogram in
/// the compute precision; ids, lengths and the audio (which only the losses
/// read, as the f32 target) unchanged. Borrowed as is under f32.
pub fn compute_batch(batch: &Batch, precision: Precision) -> Result<std::borrow::Cow<'_, Batch>> {
    if precision == Precision::F32 {
        return Ok(std::borrow::Cow::Borrowed(batch));
    }
    let mut b = batch.clone();
    b.spec = in_precision(&batch.spec, precision)?;
    b.ssl = batch.ssl.as_ref().map(|s| in_precision(s, precision)).transpose()?;
    Ok(std::borrow::Cow::Owned(b))
}

/// Gradients in f32, the dtype of the masters they update (a no-op for f32
/// gradients; bf16 ones are upcast before the norm, clipping and any
/// cross-rank averaging).
fn grads_f32(grads: ParamMap) -> Result<ParamMap> {
    grads.into_iter().map(|(k, g)| Ok((k, g.as_dtype(Dtype::Float32)?))).collect()
}

/// Refuses optimizers whose compute copies disagree with
/// `trainer.precision`: bf16 needs bf16 copies of f32 masters (`adamw-bf16`),
/// f32 needs f32 copies (`adamw`). Probed on a one-element f32 parameter, so
/// any optimizer plugin that follows the contract is accepted.
fn check_precision(spec: &Spec, opt_g: &dyn Optimizer, opt_d: &dyn Optimizer) -> Result<()> {
    let want = compute_dtype(spec.trainer.precision);
    let probe: ParamMap = [("precision_probe".to_string(), Array::from_slice(&[0.0f32], &[1]))].into_iter().collect();
    for (field, opt, name) in [("optimizer_g", opt_g, &spec.optimizer_g.name), ("optimizer_d", opt_d, &spec.optimizer_d.name)] {
        let got = opt.compute_params(&probe)?.get("precision_probe").map(|a| a.dtype());
        if got != Some(want) {
            let hint = match spec.trainer.precision {
                Precision::Bf16 => "use an optimizer with f32 masters and bf16 compute copies (`adamw-bf16`)",
                Precision::F32 => "set trainer.precision to \"bf16\" or use an f32 optimizer (`adamw`)",
            };
            return Err(Error::SpecValue {
                field: "trainer.precision".into(),
                message: format!(
                    "is \"{}\" but {field}.name `{name}` gives compute parameters in {}; {hint}",
                    match spec.trainer.precision { Precision::F32 => "f32", Precision::Bf16 => "bf16" },
                    got.map_or("nothing".to_string(), |d| format!("{d:?}")),
                ),
            });
        }
    }
    Ok(())
}

/// Under bf16, every `trainer.f32_modules` entry names a generator
/// submodule (a typo would silently leave it in bf16). Under f32 the list is
/// unused, so a generator without the default `dec` is fine.
fn check_f32_modules<G: mlx_rs::module::ModuleParameters + ?Sized>(spec: &Spec, generator: &G) -> Result<()> {
    if spec.trainer.precision == Precision::F32 {
        return Ok(());
    }
    let g_params = params::collect(generator, "");
    for (i, m) in spec.trainer.f32_modules.iter().enumerate() {
        if !g_params.keys().any(|k| in_f32_module(std::slice::from_ref(m), k)) {
            let mut tops: Vec<&str> = g_params.keys().filter_map(|k| k.split('.').next()).collect();
            tops.dedup();
            return Err(Error::SpecValue {
                field: format!("trainer.f32_modules[{i}]"),
                message: format!(
                    "`{m}` is not a generator submodule; top-level ones: {} (an empty list computes everything in bf16)",
                    tops.join(", ")
                ),
            });
        }
    }
    Ok(())
}

/// Whether generator parameter `key` belongs to one of `trainer.f32_modules`.
fn in_f32_module(modules: &[String], key: &str) -> bool {
    modules.iter().any(|m| key.strip_prefix(m.as_str()).is_some_and(|rest| rest.starts_with('.')))
}
