//! Writing a discriminator (or any state dict) in the two layouts GPT-SoVITS
//! reads one from (`GPT_SoVITS/s2_train.py`, commit 48b1a01):
//!
//! * `pretrained_s2D`: s2_train.py does `torch.load(f)["weight"]` and
//!   `net_d.load_state_dict(...)`, so the file is `{"weight": state_dict}`;
//! * `logs_s2_<ver>/D_*.pth`: `utils.save_checkpoint` writes
//!   `{"model": state_dict, "iteration": int, "optimizer": AdamW.state_dict(),
//!   "learning_rate": float}`; the optimizer state is numbered in the order of
//!   the param group's `params` (the model's parameter order).
//!
//! State dicts are `OrderedDict`s, as `Module.state_dict()` returns; tensors
//! keep their dtype (f32 stays exact).

use std::path::Path;

use serde_json::Value as Json;
use sovits_core::components::ParamMap;

use crate::error::{InteropError, Result};
use crate::export::root_name;
use crate::hparams;
use crate::pickle_read::Value;
use crate::pickle_write;
use crate::storages::Storages;
use crate::zip_container::write_pth;

/// torch AdamW hyper-parameters of the one param group of a D checkpoint.
#[derive(Debug, Clone, PartialEq)]
pub struct AdamwGroup {
    /// Learning rate.
    pub lr: f64,
    /// `(beta1, beta2)`.
    pub betas: (f64, f64),
    /// Denominator epsilon.
    pub eps: f64,
    /// Decoupled weight decay.
    pub weight_decay: f64,
}

fn missing(out: &Path, key: &str) -> InteropError {
    InteropError::Layout { what: out.display().to_string(), message: format!("`{key}` is in the key order but not in the tensors") }
}

/// `OrderedDict` of `order`'s tensors (all of `weights` when `order` is empty).
fn state_dict(weights: &ParamMap, order: &[String], st: &mut Storages, out: &Path) -> Result<Value> {
    let keys: Vec<String> = if order.is_empty() { weights.keys().cloned().collect() } else { order.to_vec() };
    let mut items = Vec::with_capacity(keys.len());
    for k in keys {
        let a = weights.get(&k).ok_or_else(|| missing(out, &k))?;
        items.push((Value::Str(k.clone()), st.tensor(a, &format!("{}: [{k:?}]", out.display()))?));
    }
    Ok(Value::Dict { ordered: true, items })
}

/// Writes `{"weight": state_dict}`, the `pretrained_s2D` layout, atomically.
/// `order` is the state-dict key order (empty: sorted keys).
pub fn export_pretrained(weights: &ParamMap, order: &[String], out: &Path) -> Result<()> {
    let mut st = Storages::default();
    let sd = state_dict(weights, order, &mut st, out)?;
    let top = Value::Dict { ordered: false, items: vec![(Value::Str("weight".into()), sd)] };
    write_pth(out, &root_name(out), &pickle_write::to_bytes(&top), &st.entries)
}

/// Writes the `utils.save_checkpoint` layout atomically: `model` in `order`
/// (torch's parameter order; empty: sorted keys), `iteration`,
/// `learning_rate`, and `optimizer` = one AdamW param group over every key
/// with `state[i] = {step, exp_avg, exp_avg_sq}` taken from `adamw_state`
/// (the `adamw` plugin's `step.<key>`, `exp_avg.<key>`, `exp_avg_sq.<key>`);
/// keys without state get none, as in torch.
pub fn export_training_checkpoint(
    weights: &ParamMap,
    order: &[String],
    adamw_state: &ParamMap,
    group: &AdamwGroup,
    iteration: i64,
    out: &Path,
) -> Result<()> {
    let keys: Vec<String> = if order.is_empty() { weights.keys().cloned().collect() } else { order.to_vec() };
    let mut st = Storages::default();
    let model = state_dict(weights, &keys, &mut st, out)?;
    let mut state = Vec::new();
    for (i, k) in keys.iter().enumerate() {
        let (Some(step), Some(m), Some(v)) =
            (adamw_state.get(&format!("step.{k}")), adamw_state.get(&format!("exp_avg.{k}")), adamw_state.get(&format!("exp_avg_sq.{k}")))
        else {
            continue;
        };
        let what = format!("{}: optimizer.state[{i}]", out.display());
        let step = step.as_dtype(mlx_rs::Dtype::Float32)?.reshape(&[])?;
        let per = vec![
            (Value::Str("step".into()), st.tensor(&step, &what)?),
            (Value::Str("exp_avg".into()), st.tensor(m, &what)?),
            (Value::Str("exp_avg_sq".into()), st.tensor(v, &what)?),
        ];
        state.push((Value::Int(i as i64), Value::Dict { ordered: false, items: per }));
    }
    let g = serde_json::json!({
        "lr": group.lr, "betas": [group.betas.0, group.betas.1], "eps": group.eps,
        "weight_decay": group.weight_decay, "amsgrad": false, "maximize": false, "foreach": null,
        "capturable": false, "differentiable": false, "fused": null, "decoupled_weight_decay": true,
    });
    let mut items: Vec<(Value, Value)> = Vec::new();
    if let Json::Object(m) = g {
        for (k, v) in m {
            let v = match (k.as_str(), hparams::from_json(&v)) {
                ("betas", Value::List(b)) => Value::Tuple(b),
                (_, v) => v,
            };
            items.push((Value::Str(k), v));
        }
    }
    items.push((Value::Str("params".into()), Value::List((0..keys.len() as i64).map(Value::Int).collect())));
    let optimizer = Value::Dict {
        ordered: false,
        items: vec![
            (Value::Str("state".into()), Value::Dict { ordered: false, items: state }),
            (Value::Str("param_groups".into()), Value::List(vec![Value::Dict { ordered: false, items }])),
        ],
    };
    let top = Value::Dict {
        ordered: false,
        items: vec![
            (Value::Str("model".into()), model),
            (Value::Str("iteration".into()), Value::Int(iteration)),
            (Value::Str("optimizer".into()), optimizer),
            (Value::Str("learning_rate".into()), Value::Float(group.lr)),
        ],
    };
    write_pth(out, &root_name(out), &pickle_write::to_bytes(&top), &st.entries)
}
