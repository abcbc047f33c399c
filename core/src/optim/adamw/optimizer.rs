//! The `adamw` optimizer: per-group learning rates over the parameters listed
//! in its groups, torch semantics for parameters without a gradient.

use std::collections::{BTreeMap, HashMap};

use mlx_rs::{Array, Dtype};
use crate::components::{Optimizer, OptimizerContext, ParamMap, PendingUpdate};
use crate::nn::lanes;
use crate::error::{Error, Result};

use super::config::Config;
use super::state::{LoadError, TrainingState};
use super::step::{FusedUpdate, Moments, adamw_step};

/// torch-exact AdamW over named parameters.
#[derive(Debug, Clone)]
pub struct AdamW {
    /// Hyper-parameters.
    config: Config,
    /// Owned parameter key -> lr multiplier of its group.
    lr_scale: BTreeMap<String, f32>,
    /// Moments, update count and base learning rate (what a checkpoint saves).
    state: TrainingState,
    /// Keep updated parameters in f32 (master weights) instead of their own dtype.
    keep_f32: bool,
    /// Registered name, for error messages.
    name: &'static str,
    /// The compiled element-wise update shared by every parameter.
    fused: FusedUpdate,
}

impl AdamW {
    /// An optimizer owning the parameters of `ctx.groups`; `name` is the
    /// registered name used in errors. A key listed in two groups is an error.
    pub fn new(name: &'static str, config: Config, ctx: &OptimizerContext) -> Result<Self> {
        let mut lr_scale = BTreeMap::new();
        for group in &ctx.groups {
            for key in &group.params {
                if lr_scale.insert(key.clone(), group.lr_scale).is_some() {
                    return Err(Error::Plugin {
                        plugin: name.into(),
                        message: format!(
                            "parameter `{key}` is listed in more than one group (again in `{}`)",
                            group.name
                        ),
                    });
                }
            }
        }
        Ok(Self {
            config,
            lr_scale,
            state: TrainingState::new(ctx.learning_rate),
            keep_f32: false,
            name,
            fused: FusedUpdate::new(name),
        })
    }

    /// Keeps updated parameters in f32 whatever their incoming dtype (the
    /// master-weight mode of `adamw-bf16`).
    pub fn with_f32_master(mut self) -> Self {
        self.keep_f32 = true;
        self
    }

    /// The hyper-parameters.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Moments of `key`, if it has been stepped.
    pub fn moments(&self, key: &str) -> Option<&Moments> {
        self.state.moments.get(key)
    }

    fn plugin_error(&self, message: String) -> Error {
        Error::Plugin { plugin: self.name.into(), message }
    }
}

impl AdamW {
    /// Steps every owned parameter that has a gradient, masked by `apply`
    /// when given ([`adamw_step`]); returns the keys it stepped.
    fn step_owned(&mut self, params: &mut ParamMap, grads: &ParamMap, apply: Option<&Array>) -> Result<Vec<String>> {
        let mut stepped = Vec::new();
        let base = self.state.learning_rate as f64;
        // parameters are independent: each updated on its CPU lane (`nn::lanes`)
        let lane_of: HashMap<String, usize> = params.keys().cloned().zip(lanes::by_size(params.values())).collect();
        for (key, &scale) in &self.lr_scale {
            let Some(grad) = grads.get(key) else { continue };
            let param = params
                .get(key)
                .ok_or_else(|| self.plugin_error(format!("gradient for `{key}` but no such parameter")))?;
            if grad.shape() != param.shape() {
                return Err(Error::Shape {
                    what: format!("{}: gradient of `{key}`", self.name),
                    expected: format!("{:?}", param.shape()),
                    found: format!("{:?}", grad.shape()),
                });
            }
            let mut moments = match self.state.moments.get(key) {
                Some(m) if m.exp_avg.shape() != param.shape() => {
                    return Err(Error::Shape {
                        what: format!("{}: loaded state exp_avg.{key}", self.name),
                        expected: format!("{:?}", param.shape()),
                        found: format!("{:?}", m.exp_avg.shape()),
                    });
                }
                Some(m) => m.clone(),
                None => Moments::zeros(param.shape())?,
            };
            let lane = lane_of.get(key.as_str()).copied().unwrap_or(0);
            let (config, fused) = (&self.config, &mut self.fused);
            let updated = lanes::on(lane, || adamw_step(param, grad, &mut moments, base * scale as f64, config, fused, apply))?;
            let dtype = param.dtype();
            let updated = if self.keep_f32 || dtype == Dtype::Float32 { updated } else { updated.as_dtype(dtype)? };
            params.insert(key.clone(), updated);
            self.state.moments.insert(key.clone(), moments);
            stepped.push(key.clone());
        }
        self.state.updates += 1;
        Ok(stepped)
    }
}

impl Optimizer for AdamW {
    fn update(&mut self, params: &mut ParamMap, grads: &ParamMap) -> Result<()> {
        self.step_owned(params, grads, None).map(drop)
    }

    /// Masks the step inside the fused kernel (parameters and moments), so
    /// nothing extra is kept; `settle` takes back the step counts.
    fn update_where(&mut self, params: &mut ParamMap, grads: &ParamMap, apply: &Array) -> Result<PendingUpdate> {
        Ok(PendingUpdate::Uncount(self.step_owned(params, grads, Some(apply))?))
    }

    fn settle(&mut self, pending: PendingUpdate, applied: bool) -> Result<()> {
        match pending {
            _ if applied => Ok(()),
            PendingUpdate::Restore(previous) => self.load_state(&previous),
            PendingUpdate::Uncount(keys) => {
                for key in &keys {
                    // a first step taken back leaves no moments, as if never stepped
                    match self.state.moments.get_mut(key) {
                        Some(m) if m.step > 1 => m.step -= 1,
                        Some(_) => drop(self.state.moments.remove(key)),
                        None => {}
                    }
                }
                self.state.updates -= 1;
                Ok(())
            }
        }
    }

    fn learning_rate(&self) -> f32 {
        self.state.learning_rate
    }

    fn set_learning_rate(&mut self, lr: f32) {
        self.state.learning_rate = lr;
    }

    fn state(&self) -> Result<ParamMap> {
        Ok(self.state.export())
    }

    /// Replaces the state; on any problem nothing changes and the error lists
    /// every unknown, incomplete or mis-shaped key by name.
    fn load_state(&mut self, state: &ParamMap) -> Result<()> {
        let lr_scale = &self.lr_scale;
        match super::state::load(&mut self.state, state, |key| lr_scale.contains_key(key)) {
            Ok(()) => Ok(()),
            Err(LoadError::Core(e)) => Err(e),
            Err(LoadError::Invalid(problems)) => {
                Err(self.plugin_error(format!("cannot load optimizer state: {}", problems.join("; "))))
            }
        }
    }

    fn step_count(&self) -> u64 {
        self.state.updates
    }
}
