//! The trainer's state: the GAN, both optimizers with their f32 masters, the
//! noise source and the counters, i.e. everything a checkpoint restores;
//! built from a resolved spec.

use crate::components::{Optimizer, OptimizerContext, ParamMap};
use crate::error::{Error, Result};
use crate::gan::{Gan, assign_groups};
use crate::nn::noise::SeededNoise;
use crate::registry;
use crate::spec::Spec;
use crate::train::precision::{check_f32_modules, check_precision, hold_frozen_in_compute_dtype, with_f32_modules};
use crate::train::{params, schedule};

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
    /// Time each phase of the step into [`crate::train::StepReport::phases`];
    /// this adds a host sync after each phase, so leave it off outside benchmarks.
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

impl Trainer {
    /// Builds every component and both optimizers from `spec`.
    pub fn new(spec: Spec) -> Result<Trainer> {
        // parameter initialisation draws from MLX's global PRNG: seed it so a
        // spec builds the same initial model every time
        mlx_rs::random::seed(spec.trainer.seed)?;
        crate::nn::lanes::configure(spec.trainer.cpu_streams);
        let gan = Gan::build(&spec)?;
        let g_all = params::collect_trainable(&*gan.generator, "");
        let ctx_g = assign_groups(
            g_all.keys(),
            &gan.generator.parameter_groups(),
            &gan.generator.frozen_prefixes(),
            &spec.optimizer_g,
            "optimizer_g",
        )?;
        let d_all: ParamMap =
            gan.discriminators.iter().flat_map(|d| params::collect_trainable(&*d.model, &d.prefix)).collect();
        let ctx_d = assign_groups(d_all.keys(), &[], &[], &spec.optimizer_d, "optimizer_d")?;
        let opt_g = registry::build_optimizer(&spec.optimizer_g.component("optimizer_g"), "optimizer_g", &ctx_g)?;
        let opt_d = registry::build_optimizer(&spec.optimizer_d.component("optimizer_d"), "optimizer_d", &ctx_d)?;
        check_precision(&spec, &*opt_g, &*opt_d)?;
        check_f32_modules(&spec, &*gan.generator)?;
        let g_master = f32_masters(&ctx_g, &g_all)?;
        let d_master = f32_masters(&ctx_d, &d_all)?;
        let noise = SeededNoise::new(spec.trainer.seed)?;
        let mut t = Trainer {
            spec, gan, opt_g, opt_d, g_master, d_master, g_frozen: ParamMap::new(), noise,
            step: 0, epoch: 0, nonfinite_in_row: 0, profile: false, grad_reduce: None, data_units: None,
        };
        t.push_params()?;
        Ok(t)
    }

    /// Gives the generator's frozen unit codebook distinct vectors when it
    /// is still all zero (see
    /// [`crate::components::Generator::seed_zero_codebook`]), drawn with
    /// `trainer.seed`, and writes them into the compute copies. Called for a
    /// fresh run on k-means stand-in units, whose ids would otherwise all
    /// decode to zero. Returns whether the codebook was filled.
    pub fn seed_zero_codebook(&mut self) -> Result<bool> {
        let filled = self.gan.generator.seed_zero_codebook(self.spec.trainer.seed)?;
        if filled {
            self.push_params()?;
        }
        Ok(filled)
    }

    /// Replaces every generator (`g`, state-dict keys) and discriminator (`d`,
    /// the joint keys of [`Trainer::d_master`]) parameter, strictly: a missing,
    /// unexpected or mis-shaped key is an error naming it. The f32 masters are
    /// set too, so the next step starts from these values.
    pub fn set_weights(&mut self, g: &ParamMap, d: &ParamMap) -> Result<()> {
        crate::nn::load_strict(&mut *self.gan.generator, g)
            .map_err(|e| Error::Weights(format!("generator weights: {e}")))?;
        for disc in &mut self.gan.discriminators {
            let prefix = &disc.prefix;
            let part: ParamMap =
                d.iter().filter_map(|(k, v)| k.strip_prefix(prefix.as_str()).map(|r| (r.to_string(), v.clone()))).collect();
            crate::nn::load_strict(&mut *disc.model, &part)
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

    /// Writes the optimizers' compute-precision copies of the masters into the
    /// models. Under bf16, generator parameters without a master are held in
    /// bf16 too ([`Trainer::g_frozen`] keeps their f32 values), so the
    /// generator computes in bf16 except the submodules of `trainer.f32_modules`.
    pub fn push_params(&mut self) -> Result<()> {
        let g = self.g_compute_params()?;
        params::assign(&mut *self.gan.generator, "", &g);
        hold_frozen_in_compute_dtype(&mut *self.gan.generator, &self.g_master, &mut self.g_frozen, &self.spec.trainer)?;
        self.push_d_params()
    }

    /// The generator's compute parameters: the optimizer's compute copies,
    /// except parameters of `trainer.f32_modules`, which use the f32 masters.
    pub(crate) fn g_compute_params(&self) -> Result<ParamMap> {
        Ok(with_f32_modules(self.opt_g.compute_params(&self.g_master)?, &self.g_master, &self.spec.trainer))
    }

    /// Writes the discriminator optimizer's compute copies of the masters
    /// into the discriminators.
    pub(crate) fn push_d_params(&mut self) -> Result<()> {
        let d = self.opt_d.compute_params(&self.d_master)?;
        assign_discriminators(&mut self.gan, &d);
        Ok(())
    }

    /// Sets both optimizers' learning rates from the schedule at the current
    /// step; returns the generator's.
    pub(crate) fn apply_schedule(&mut self) -> f32 {
        let s = &self.spec.schedule;
        let lr_g = schedule::learning_rate(s, self.spec.optimizer_g.learning_rate, self.epoch, self.step);
        let lr_d = schedule::learning_rate(s, self.spec.optimizer_d.learning_rate, self.epoch, self.step);
        self.opt_g.set_learning_rate(lr_g);
        self.opt_d.set_learning_rate(lr_d);
        lr_g
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

/// Loads the joint (prefixed) discriminator parameters `d` into every
/// discriminator of `gan`, each under its prefix.
pub(crate) fn assign_discriminators(gan: &mut Gan, d: &ParamMap) {
    for disc in &mut gan.discriminators {
        params::assign(&mut *disc.model, &disc.prefix, d);
    }
}

/// f32 copies of the parameters that the optimizer of `ctx` updates.
fn f32_masters(ctx: &OptimizerContext, all: &ParamMap) -> Result<ParamMap> {
    ctx.groups
        .iter()
        .flat_map(|g| g.params.iter())
        .map(|k| Ok((k.clone(), all[k].as_dtype(mlx_rs::Dtype::Float32)?)))
        .collect()
}
