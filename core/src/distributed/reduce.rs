//! Gradient averaging across ranks, applied by the trainer to both the D and
//! the G gradients before the global norm, clipping and the optimizer step.
//!
//! One packed `all_sum` per call (every gradient flattened to f32 and
//! concatenated in key order), the way `mlx.nn.average_gradients` batches its
//! communication, then divided by the world size.
//!
//! Loss normalisation: each rank's loss is a mean over its own items (the KL
//! term divides by its own mask sum). With equal-length items every rank's
//! mask sum is the same, so the mean over ranks equals the loss of one process
//! on the combined batch, and so do the averaged gradients. With unequal
//! lengths the KL term of each rank is weighted 1/world instead of by its
//! share of the global mask sum; the bucketed sampler keeps lengths within a
//! bucket close, so the gap is small, but it is not the single-process value.
//! The segment-sliced terms (mel, adversarial, feature matching) have a fixed
//! size per item and match exactly for equal per-rank batch sizes.

use std::rc::Rc;

use mlx_rs::{Array, Dtype, ops};

use crate::components::ParamMap;
use crate::distributed::Group;
use crate::error::Result;

/// A map from one rank's gradients to the gradients the update uses.
pub type GradReducer = Box<dyn Fn(ParamMap) -> Result<ParamMap>>;

/// A reducer that replaces each gradient with its mean over the ranks of `group`.
pub fn average_grads(group: Rc<Group>) -> GradReducer {
    Box::new(move |grads: ParamMap| average(&group, grads))
}

fn average(group: &Group, grads: ParamMap) -> Result<ParamMap> {
    if group.size() <= 1 || grads.is_empty() {
        return Ok(grads);
    }
    // BTreeMap order: the same key order on every rank
    let flat: Vec<Array> = grads.values().map(|g| Ok(g.as_dtype(Dtype::Float32)?.reshape(&[-1])?)).collect::<Result<_>>()?;
    let mut cuts = Vec::with_capacity(flat.len());
    let mut offset = 0i32;
    for f in &flat[..flat.len() - 1] {
        offset += f.size() as i32;
        cuts.push(offset);
    }
    let packed = ops::concatenate(&flat, 0)?;
    let summed = group.all_sum(&packed)?;
    let mean = ops::multiply(&summed, &Array::from_f32(1.0 / group.size() as f32))?;
    let parts = mean.split_at_indices(&cuts, 0)?;
    grads
        .into_iter()
        .zip(parts)
        .map(|((k, g), p)| Ok((k, p.reshape(g.shape())?.as_dtype(g.dtype())?)))
        .collect()
}
