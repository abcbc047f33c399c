//! The precision policy of training (`trainer.precision`, `trainer.f32_modules`):
//! networks compute in the compute dtype (f32 or bf16) from f32 master
//! weights; the submodules of `trainer.f32_modules`, the losses, their
//! targets and every gradient after differentiation stay f32. Checked once at
//! construction so a mismatched optimizer or a mistyped module fails early.

use std::borrow::Cow;

use mlx_rs::{Array, Dtype};

use crate::batch::Batch;
use crate::components::{Generator, Optimizer, ParamMap};
use crate::error::{Error, Result};
use crate::spec::{Precision, Spec, TrainerSpec};
use crate::train::params;

/// The floating dtype networks compute in under `precision`.
pub fn compute_dtype(precision: Precision) -> Dtype {
    match precision {
        Precision::F32 => Dtype::Float32,
        Precision::Bf16 => Dtype::Bfloat16,
    }
}

/// `x` in the compute precision (no copy when it already is).
pub(crate) fn in_precision(x: &Array, precision: Precision) -> Result<Array> {
    Ok(x.as_dtype(compute_dtype(precision))?)
}

/// The batch the networks see: SSL features and the linear spectrogram in
/// the compute precision; ids, lengths and the audio (which only the losses
/// read, as the f32 target) unchanged. Borrowed as is under f32.
pub fn compute_batch(batch: &Batch, precision: Precision) -> Result<Cow<'_, Batch>> {
    if precision == Precision::F32 {
        return Ok(Cow::Borrowed(batch));
    }
    let mut b = batch.clone();
    b.spec = in_precision(&batch.spec, precision)?;
    b.ssl = batch.ssl.as_ref().map(|s| in_precision(s, precision)).transpose()?;
    Ok(Cow::Owned(b))
}

/// Gradients in f32, the dtype of the masters they update (a no-op for f32
/// gradients; bf16 ones are upcast before the norm, clipping and any
/// cross-rank averaging).
pub(crate) fn grads_f32(grads: ParamMap) -> Result<ParamMap> {
    grads.into_iter().map(|(k, g)| Ok((k, g.as_dtype(Dtype::Float32)?))).collect()
}

/// `compute` (an optimizer's compute copies of the generator masters) with
/// the parameters of `trainer.f32_modules` replaced by their f32 `master`
/// values, under a lower compute precision; unchanged under f32.
pub(crate) fn with_f32_modules(mut compute: ParamMap, master: &ParamMap, trainer: &TrainerSpec) -> ParamMap {
    if trainer.precision != Precision::F32 {
        for (k, v) in compute.iter_mut() {
            if in_f32_module(&trainer.f32_modules, k) {
                *v = master[k].clone();
            }
        }
    }
    compute
}

/// Under a lower compute precision, casts the generator parameters that
/// have no master (not in `master`) and that the model holds in f32 (fresh,
/// or just loaded; `trainer.f32_modules` excepted) to the compute dtype,
/// keeping their f32 values in `frozen` so checkpoints stay exact.
pub(crate) fn hold_frozen_in_compute_dtype(
    generator: &mut dyn Generator,
    master: &ParamMap,
    frozen: &mut ParamMap,
    trainer: &TrainerSpec,
) -> Result<()> {
    let dtype = compute_dtype(trainer.precision);
    if dtype == Dtype::Float32 {
        return Ok(());
    }
    let mut cast = ParamMap::new();
    for (k, v) in params::collect(&*generator, "") {
        if v.dtype() == Dtype::Float32 && !master.contains_key(&k) && !in_f32_module(&trainer.f32_modules, &k) {
            cast.insert(k.clone(), v.as_dtype(dtype)?);
            frozen.insert(k, v);
        }
    }
    params::assign(generator, "", &cast);
    Ok(())
}

/// Refuses optimizers whose compute copies disagree with
/// `trainer.precision`: bf16 needs bf16 copies of f32 masters (`adamw-bf16`),
/// f32 needs f32 copies (`adamw`). Probed on a one-element f32 parameter, so
/// any optimizer plugin that follows the contract is accepted.
pub(crate) fn check_precision(spec: &Spec, opt_g: &dyn Optimizer, opt_d: &dyn Optimizer) -> Result<()> {
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
                    match spec.trainer.precision {
                        Precision::F32 => "f32",
                        Precision::Bf16 => "bf16",
                    },
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
pub(crate) fn check_f32_modules<G: mlx_rs::module::ModuleParameters + ?Sized>(spec: &Spec, generator: &G) -> Result<()> {
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
