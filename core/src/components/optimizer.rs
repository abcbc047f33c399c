//! The optimizer contract: per-parameter updates for the parameters it owns,
//! learning rate control for schedules, and state for exact resume.

use crate::components::ParamMap;
use crate::error::Result;

/// One resolved parameter group: which parameters, at what lr multiplier.
#[derive(Debug, Clone)]
pub struct GroupAssignment {
    /// Group name ("default" for parameters in no named group).
    pub name: String,
    /// Learning-rate multiplier of the group.
    pub lr_scale: f32,
    /// Parameter keys in the group (frozen parameters are never listed).
    pub params: Vec<String>,
}

/// What an optimizer constructor gets: base lr and the groups it owns.
#[derive(Debug, Clone)]
pub struct OptimizerContext {
    /// Base learning rate.
    pub learning_rate: f32,
    /// Groups of trainable parameters.
    pub groups: Vec<GroupAssignment>,
}

/// An optimizer over a fixed set of named parameters.
pub trait Optimizer {
    /// Applies one step to the owned entries of `params` using `grads`
    /// (parameters without a gradient are left untouched, with no state).
    fn update(&mut self, params: &mut ParamMap, grads: &ParamMap) -> Result<()>;
    /// Base learning rate now in effect.
    fn learning_rate(&self) -> f32;
    /// Sets the base learning rate (groups keep their multipliers).
    fn set_learning_rate(&mut self, lr: f32);
    /// Full state for a checkpoint: tensors by key (e.g. `exp_avg.enc_p.proj.weight`, `step`).
    fn state(&self) -> Result<ParamMap>;
    /// Restores a state written by [`Optimizer::state`].
    fn load_state(&mut self, state: &ParamMap) -> Result<()>;
    /// Parameters (in their compute precision) this optimizer wants the model
    /// to use after `update`; by default the updated `params` themselves.
    fn compute_params(&self, params: &ParamMap) -> Result<ParamMap> {
        Ok(params.clone())
    }
    /// Number of updates applied so far.
    fn step_count(&self) -> u64;
}

