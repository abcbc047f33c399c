//! The optimizer contract: per-parameter updates for the parameters it owns,
//! learning rate control for schedules, and state for exact resume.

use mlx_rs::Array;

use crate::components::ParamMap;
use crate::error::Result;

/// What [`Optimizer::settle`] needs to take back a masked update
/// ([`Optimizer::update_where`]) that turned out not to apply.
#[derive(Debug, Clone)]
pub enum PendingUpdate {
    /// The whole state before the update, restored if it did not apply (the
    /// default implementation: simple, but the previous state stays in
    /// memory until `settle`).
    Restore(ParamMap),
    /// The update selected its parameters and state itself; only the host
    /// step counters it advanced (these parameter keys, and the update
    /// count) are to be taken back.
    Uncount(Vec<String>),
}

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

    /// [`Optimizer::update`] that takes effect only where the 0-d bool
    /// `apply` is true, without reading it: the training step builds the
    /// discriminator update inside the generator's gradient trace, before
    /// anything is evaluated, and skips it when its loss or gradient turns
    /// out non-finite. Where `apply` is false, `params` keep their values.
    /// Pass the result to [`Optimizer::settle`] once `apply` is known.
    ///
    /// The default selects the parameters lazily and keeps the previous
    /// state to restore; an optimizer can select its state itself (AdamW
    /// does, inside its fused kernel) and return [`PendingUpdate::Uncount`].
    fn update_where(&mut self, params: &mut ParamMap, grads: &ParamMap, apply: &Array) -> Result<PendingUpdate> {
        let previous = self.state()?;
        let before = params.clone();
        self.update(params, grads)?;
        for (key, value) in params.iter_mut() {
            if let Some(old) = before.get(key) {
                *value = mlx_rs::ops::select(apply, &*value, old)?;
            }
        }
        Ok(PendingUpdate::Restore(previous))
    }

    /// Completes an [`Optimizer::update_where`]: when it did not apply,
    /// takes back what it advanced on the host (or restores the state).
    fn settle(&mut self, pending: PendingUpdate, applied: bool) -> Result<()> {
        match pending {
            _ if applied => Ok(()),
            PendingUpdate::Restore(previous) => self.load_state(&previous),
            PendingUpdate::Uncount(_) => Err(crate::error::Error::Plugin {
                plugin: "optimizer".into(),
                message: "settle: an optimizer returning PendingUpdate::Uncount must override settle".into(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The smallest stateful optimizer: `p -= g`, counting its updates in
    /// its state, with the trait's default masked update.
    struct CountingDescent {
        updates: u64,
    }

    impl Optimizer for CountingDescent {
        fn update(&mut self, params: &mut ParamMap, grads: &ParamMap) -> Result<()> {
            for (k, g) in grads {
                let p = params[k].subtract(g)?;
                params.insert(k.clone(), p);
            }
            self.updates += 1;
            Ok(())
        }
        fn learning_rate(&self) -> f32 {
            1.0
        }
        fn set_learning_rate(&mut self, _lr: f32) {}
        fn state(&self) -> Result<ParamMap> {
            Ok([("updates".to_string(), Array::from_f32(self.updates as f32))].into_iter().collect())
        }
        fn load_state(&mut self, state: &ParamMap) -> Result<()> {
            self.updates = state["updates"].item::<f32>() as u64;
            Ok(())
        }
        fn step_count(&self) -> u64 {
            self.updates
        }
    }

    fn one(v: f32) -> ParamMap {
        [("w".to_string(), Array::from_slice(&[v, v], &[2]))].into_iter().collect()
    }

    #[test]
    fn default_masked_update_applies_or_restores() -> Result<()> {
        let mut opt = CountingDescent { updates: 0 };
        let mut params = one(3.0);
        let pending = opt.update_where(&mut params, &one(1.0), &Array::from_bool(true))?;
        opt.settle(pending, true)?;
        assert_eq!(params["w"].as_slice::<f32>(), [2.0, 2.0]);
        assert_eq!(opt.step_count(), 1);

        let pending = opt.update_where(&mut params, &one(f32::NAN), &Array::from_bool(false))?;
        assert_eq!(params["w"].as_slice::<f32>(), [2.0, 2.0], "a masked-off update changed the parameter");
        opt.settle(pending, false)?;
        assert_eq!(opt.step_count(), 1, "a masked-off update stays counted");
        Ok(())
    }
}
