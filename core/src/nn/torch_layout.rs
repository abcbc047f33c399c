//! PyTorch state-dict layout: the one place that moves conv weight axes
//! between PyTorch and MLX, plus strict safetensors loading and saving by
//! state-dict key.
//!
//! Parameters are stored in PyTorch layout and names everywhere in the
//! project, so checkpoints, fixtures and optimizer state map 1:1; only the
//! conv functions call the `*_to_mlx` conversions, right before MLX's ops.

use std::path::Path;

use mlx_rs::Array;
use mlx_rs::module::ModuleParameters;

use crate::components::ParamMap;
use crate::error::{Error, Result};
use crate::nn::safetensors_file;

/// Conv1d weight, torch `[Cout, Cin/g, K]` -> MLX `[Cout, K, Cin/g]`.
pub fn conv1d_weight_to_mlx(w: &Array) -> Result<Array> {
    Ok(w.swap_axes(1, 2)?)
}

/// Conv1d weight, MLX `[Cout, K, Cin/g]` -> torch `[Cout, Cin/g, K]`.
pub fn conv1d_weight_from_mlx(w: &Array) -> Result<Array> {
    Ok(w.swap_axes(1, 2)?)
}

/// Conv2d weight, torch `[Cout, Cin/g, KH, KW]` -> MLX `[Cout, KH, KW, Cin/g]`.
pub fn conv2d_weight_to_mlx(w: &Array) -> Result<Array> {
    Ok(w.transpose_axes(&[0, 2, 3, 1])?)
}

/// Conv2d weight, MLX `[Cout, KH, KW, Cin/g]` -> torch `[Cout, Cin/g, KH, KW]`.
pub fn conv2d_weight_from_mlx(w: &Array) -> Result<Array> {
    Ok(w.transpose_axes(&[0, 3, 1, 2])?)
}

/// ConvTranspose1d weight, torch `[Cin, Cout, K]` -> MLX `[Cout, K, Cin]`.
pub fn conv_transpose1d_weight_to_mlx(w: &Array) -> Result<Array> {
    Ok(w.transpose_axes(&[1, 2, 0])?)
}

/// ConvTranspose1d weight, MLX `[Cout, K, Cin]` -> torch `[Cin, Cout, K]`.
pub fn conv_transpose1d_weight_from_mlx(w: &Array) -> Result<Array> {
    Ok(w.transpose_axes(&[2, 0, 1])?)
}

/// Reads every tensor of a safetensors file, keeping each stored dtype
/// (f16, bf16, f32, integers), after checking the file with the
/// `safetensors` crate (MLX's loader aborts on some malformed files). Errors
/// name the file.
pub fn read_safetensors(path: &Path) -> Result<ParamMap> {
    safetensors_file::read(path)
}

/// Writes `tensors` as a safetensors file durably and atomically: a
/// temporary file in the same directory, fsynced, renamed over `path`, the
/// directory fsynced, so a crash never leaves half a file.
pub fn write_safetensors(path: &Path, tensors: &ParamMap) -> Result<()> {
    safetensors_file::write(path, tensors)
}

/// What [`load_partial`] did: keys assigned, keys left at their initial
/// values, and tensors ignored.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoadReport {
    /// Parameters assigned from the tensors.
    pub loaded: Vec<String>,
    /// Parameters of the module that had no tensor (kept as they were).
    pub missing: Vec<String>,
    /// Tensors that name no parameter (ignored).
    pub unexpected: Vec<String>,
}

/// Every parameter of `module` by dotted PyTorch key (the field names).
pub fn flatten_params<M: ModuleParameters + ?Sized>(module: &M) -> ParamMap {
    module
        .parameters()
        .flatten()
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect()
}

/// Assigns `tensors` to `module`'s parameters by key, cast to each
/// parameter's dtype; every parameter must have a tensor and every tensor a
/// parameter of the same shape.
///
/// Every missing, unexpected and mis-shaped key is reported (name, expected,
/// found) in one [`Error::Weights`]; nothing is assigned on failure.
pub fn load_strict<M: ModuleParameters + ?Sized>(module: &mut M, tensors: &ParamMap) -> Result<()> {
    load(module, tensors, false).map(|_| ())
}

/// [`load_strict`] allowing missing and unexpected keys, which the report
/// lists (fine-tuning from a file that lacks a submodule); shape mismatches
/// still fail, and nothing is assigned then.
pub fn load_partial<M: ModuleParameters + ?Sized>(module: &mut M, tensors: &ParamMap) -> Result<LoadReport> {
    load(module, tensors, true)
}

/// The body of [`load_strict`] (`partial` false) and [`load_partial`].
fn load<M: ModuleParameters + ?Sized>(module: &mut M, tensors: &ParamMap, partial: bool) -> Result<LoadReport> {
    let mut report = LoadReport::default();
    let mut problems = Vec::new();
    {
        let params = module.parameters().flatten();
        let mut keys: Vec<&str> = params.keys().map(|k| &**k).collect();
        keys.sort_unstable();
        for key in keys {
            let want = params[key];
            match tensors.get(key) {
                None => {
                    report.missing.push(key.to_string());
                    if !partial {
                        problems.push(format!("missing `{key}` (expected {:?})", want.shape()));
                    }
                }
                Some(t) if t.shape() != want.shape() => problems.push(format!(
                    "mis-shaped `{key}`: expected {:?}, found {:?}",
                    want.shape(),
                    t.shape()
                )),
                Some(_) => report.loaded.push(key.to_string()),
            }
        }
        for key in tensors.keys() {
            if !params.contains_key(key.as_str()) {
                report.unexpected.push(key.clone());
                if !partial {
                    problems.push(format!("unexpected `{key}` (found {:?})", tensors[key].shape()));
                }
            }
        }
    }
    if !problems.is_empty() {
        return Err(Error::Weights(format!(
            "{} weight problem(s): {}",
            problems.len(),
            problems.join("; ")
        )));
    }
    let mut params = module.parameters_mut().flatten();
    for key in &report.loaded {
        if let (Some(p), Some(t)) = (params.get_mut(key.as_str()), tensors.get(key)) {
            let value = if t.dtype() == p.dtype() { t.clone() } else { t.as_dtype(p.dtype())? };
            **p = value;
        }
    }
    Ok(report)
}
