//! Differentiating one side of the GAN (discriminator or generator): the
//! weighted loss and its gradient with respect to every trained parameter,
//! the gradients made contiguous, f32 and (data-parallel) reduced, their
//! global norm, and the clipped optimizer step when all of it is finite
//! (checked on the host for the generator; as a mask inside the lazy
//! optimizer step for the discriminator, whose update is built before
//! anything is evaluated).
//! Both updates of a step go through here, so they cannot drift apart.

use std::cell::RefCell;

use mlx_rs::Array;
use mlx_rs::error::Exception;
use mlx_rs::transforms::value_and_grad_with_argnums;

use crate::components::{Optimizer, ParamMap};
use crate::distributed::GradReducer;
use crate::error::{Error, Result};
use crate::train::params;
use crate::train::precision::grads_f32;

/// One side's loss and gradients, evaluated and ready for the update.
pub(crate) struct SideGradients {
    /// Weighted loss total.
    pub total: f32,
    /// Global gradient norm before clipping.
    pub grad_norm: f32,
    /// Unweighted terms with their log keys.
    pub terms: Vec<(String, f32)>,
    /// f32 gradients, reduced over ranks when a reducer is set.
    grads: ParamMap,
    /// `grad_norm` as an array (the clipping input).
    norm: Array,
}

impl SideGradients {
    /// Whether the loss and the gradient norm are finite (else the update is skipped).
    pub fn finite(&self) -> bool {
        self.total.is_finite() && self.grad_norm.is_finite()
    }

    /// Steps `opt` on `master` with the gradients, clipped to `clip` when
    /// set, if they are finite; returns whether it stepped.
    pub fn apply(self, opt: &mut dyn Optimizer, master: &mut ParamMap, clip: Option<f32>) -> Result<bool> {
        if !self.finite() {
            return Ok(false);
        }
        opt.update(master, &clipped(&self.grads, &self.norm, clip)?)?;
        Ok(true)
    }
}

/// One side's loss and gradients as a lazy graph (nothing evaluated yet).
/// The step builds both sides' graphs and evaluates them together, so that
/// nothing is evaluated inside the generator's trace.
pub(crate) struct LazySide {
    /// `[weighted total, terms...]`.
    values: Vec<Array>,
    /// Log keys of the terms.
    names: Vec<String>,
    /// f32 gradients, reduced over ranks when a reducer is set.
    grads: ParamMap,
    /// Global gradient norm.
    norm: Array,
}

impl LazySide {
    /// The arrays to evaluate before [`LazySide::finish`] reads them.
    pub fn outputs(&self) -> impl Iterator<Item = &Array> {
        self.values.iter().chain(std::iter::once(&self.norm))
    }

    /// Whether the loss total and the gradient norm are finite, as a lazy
    /// 0-d bool (the mask of a masked optimizer step).
    pub fn finite_mask(&self) -> Result<Array> {
        let total = self.values[0].is_finite()?;
        Ok(mlx_rs::ops::logical_and(&total, &self.norm.is_finite()?)?)
    }

    /// The gradients clipped to a global norm of `clip` when set (lazy).
    pub fn clipped(&self, clip: Option<f32>) -> Result<ParamMap> {
        clipped(&self.grads, &self.norm, clip)
    }

    /// Reads the evaluated values (evaluating what is not yet).
    pub fn finish(self) -> Result<SideGradients> {
        mlx_rs::transforms::eval(self.outputs())?;
        let terms = self.names.into_iter().zip(self.values[1..].iter().map(scalar)).collect();
        Ok(SideGradients { total: scalar(&self.values[0]), grad_norm: scalar(&self.norm), terms, grads: self.grads, norm: self.norm })
    }
}

/// Differentiates `loss` at `inputs` (the compute parameters, one entry per
/// trained key). `loss` loads the parameters it is given into the models and
/// returns `[weighted total, terms...]`, writing the terms' log keys into
/// its second argument. The gradients are then made contiguous, cast to f32,
/// passed through `reduce`, and measured; all of it lazily (the caller
/// evaluates [`LazySide::outputs`] and reads them with [`LazySide::finish`]).
pub(crate) fn side_gradients(
    inputs: ParamMap,
    reduce: Option<&GradReducer>,
    loss: impl FnMut(ParamMap, &mut Vec<String>) -> Result<Vec<Array>>,
) -> Result<LazySide> {
    let (values, names, grads) = value_and_grads(inputs, loss)?;
    // contiguous first: MLX 0.32.2 CPU mis-combines column-major views (nn::grad)
    let grads = grads_f32(crate::nn::grad::contiguous_map(&grads)?)?;
    let grads = match reduce {
        Some(f) => f(grads)?,
        None => grads,
    };
    let norm = params::global_norm(&grads)?;
    Ok(LazySide { values, names, grads, norm })
}

/// `mlx`'s `value_and_grad` over every entry of `inputs` (mlx's default is
/// the first argument only), with a closure that speaks core's error type:
/// the first core error raised inside the transform is returned as is.
/// Returns the loss values, the log keys and the gradients by key.
fn value_and_grads(
    inputs: ParamMap,
    mut loss: impl FnMut(ParamMap, &mut Vec<String>) -> Result<Vec<Array>>,
) -> Result<(Vec<Array>, Vec<String>, ParamMap)> {
    let (keys, arrays): (Vec<String>, Vec<Array>) = inputs.into_iter().unzip();
    let failure = RefCell::new(None);
    let mut names = Vec::new();
    let closure = |args: &[Array]| -> std::result::Result<Vec<Array>, Exception> {
        let map: ParamMap = keys.iter().cloned().zip(args.iter().cloned()).collect();
        loss(map, &mut names).map_err(|e| stash(&failure, e))
    };
    let argnums: Vec<i32> = (0..arrays.len() as i32).collect();
    let mut vg = value_and_grad_with_argnums(closure, &argnums[..]);
    let result = vg(&arrays);
    drop(vg);
    match (result, failure.into_inner()) {
        (Ok((values, grads)), _) => Ok((values, names, keys.into_iter().zip(grads).collect())),
        (Err(_), Some(e)) => Err(e),
        (Err(e), None) => Err(e.into()),
    }
}

/// `grads` (of global norm `norm`) clipped to a norm of `clip` when set.
fn clipped(grads: &ParamMap, norm: &Array, clip: Option<f32>) -> Result<ParamMap> {
    match clip {
        Some(c) => params::clip(grads, norm, c),
        None => Ok(grads.clone()),
    }
}

/// Converts a core error inside an MLX transform closure, keeping the original.
fn stash(slot: &RefCell<Option<Error>>, e: Error) -> Exception {
    let msg = e.to_string();
    *slot.borrow_mut() = Some(e);
    Exception::custom(msg)
}

fn scalar(a: &Array) -> f32 {
    a.item_cast::<f32>()
}
