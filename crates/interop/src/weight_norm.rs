//! Weight norm both ways (legacy `torch.nn.utils.weight_norm`, `dim=0`):
//! `weight = weight_g * weight_v / ||weight_v||`, the norm taken over every
//! axis except axis 0 of the torch-layout tensor. For Conv1d/Conv2d axis 0
//! is the output channel (`weight_g` `[out,1,1]`); for ConvTranspose1d
//! (`dec.ups.*`, torch weight `[in,out,k]`) it is the *input* channel, so
//! `weight_g` is `[in,1,1]` and the norm runs over out and k. Both cases
//! are the same rule on the stored tensor.

use std::collections::BTreeSet;

use mlx_rs::{Array, Dtype};
use sovits_core::components::ParamMap;

use crate::error::{InteropError, Result};

/// `sqrt(sum(v^2))` over every axis but 0, kept as `[d0, 1, ...]`, in f32.
fn norm_except_dim0(v: &Array) -> Result<Array> {
    Ok(sovits_core::nn::weight_norm::norm_except_dim0(&v.as_dtype(Dtype::Float32)?)?)
}

/// Replaces every `<m>.weight_g` + `<m>.weight_v` pair by `<m>.weight`
/// (computed in f32, stored in `weight_v`'s dtype). Other keys are copied.
/// A `weight_g` without its `weight_v` (or the reverse) is an error.
pub fn fold_weight_norm(params: &ParamMap) -> Result<ParamMap> {
    let mut out = ParamMap::new();
    for (k, a) in params {
        if let Some(m) = k.strip_suffix(".weight_g") {
            let v = params.get(&format!("{m}.weight_v")).ok_or_else(|| InteropError::Layout {
                what: "fold_weight_norm".into(),
                message: format!("`{k}` has no `{m}.weight_v`"),
            })?;
            let g = a.as_dtype(Dtype::Float32)?;
            if g.size() != v.shape().first().map_or(0, |&d| d as usize) {
                return Err(InteropError::Layout {
                    what: "fold_weight_norm".into(),
                    message: format!("`{k}` has shape {:?}, expected one value per row of `{m}.weight_v` {:?}", a.shape(), v.shape()),
                });
            }
            let mut gshape = vec![1i32; v.ndim()];
            gshape[0] = v.shape()[0];
            let w = g.reshape(&gshape)?.multiply(&v.as_dtype(Dtype::Float32)?)?.divide(&norm_except_dim0(v)?)?;
            out.insert(format!("{m}.weight"), w.as_dtype(v.dtype())?);
        } else if let Some(m) = k.strip_suffix(".weight_v") {
            if !params.contains_key(&format!("{m}.weight_g")) {
                return Err(InteropError::Layout { what: "fold_weight_norm".into(), message: format!("`{k}` has no `{m}.weight_g`") });
            }
        } else {
            out.insert(k.clone(), a.clone());
        }
    }
    Ok(out)
}

/// Modules that carry weight norm in `template` (prefixes of `*.weight_g`).
pub fn weight_norm_modules(template: &ParamMap) -> BTreeSet<String> {
    template.keys().filter_map(|k| k.strip_suffix(".weight_g")).map(str::to_string).collect()
}

/// The inverse of [`fold_weight_norm`] for the given modules, as
/// `weight_norm()` initialises it: `weight_v = weight`, `weight_g =
/// ||weight||` over every axis but 0 (shape `[d0, 1, ...]`). Modules
/// without a `<m>.weight` are an error.
pub fn split_weight_norm(params: &ParamMap, modules: &BTreeSet<String>) -> Result<ParamMap> {
    let mut out = params.clone();
    for m in modules {
        let key = format!("{m}.weight");
        let w = out.remove(&key).ok_or_else(|| InteropError::Layout {
            what: "split_weight_norm".into(),
            message: format!("no `{key}` to split"),
        })?;
        out.insert(format!("{m}.weight_g"), norm_except_dim0(&w)?.as_dtype(w.dtype())?);
        out.insert(format!("{m}.weight_v"), w);
    }
    Ok(out)
}
