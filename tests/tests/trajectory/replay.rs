//! The reference's float64 replay of the trajectory (`*.f64.npy`, made by
//! `tests/golden/trajectory/gen_replay.py`; see that folder's PROVENANCE.md),
//! rebuilt in the schema of the float32 `.json` files so the same checks
//! read either.

use serde_json::{Map, Value, json};

use crate::fixture::{dir, npy_open};

/// A `[rows, cols]` float32 table and its column count, or None if this
/// fixture set has no such file (a set copied from the shared fixture alone).
fn table(name: &str) -> Option<(Vec<f32>, usize, usize)> {
    if !dir().join(name).exists() {
        return None;
    }
    let npy = npy_open(name);
    let shape = npy.shape().to_vec();
    assert_eq!(shape.len(), 2, "{name}: expected a [rows, cols] table, found shape {shape:?}");
    let data: Vec<f32> = npy.into_vec().unwrap_or_else(|e| panic!("{name}: {e}"));
    Some((data, shape[0] as usize, shape[1] as usize))
}

fn floats(name: &str, key: &str, xs: &[f32]) -> Value {
    assert!(xs.iter().all(|x| x.is_finite()), "{name}: `{key}` has a non-finite value");
    Value::Array(xs.iter().map(|&x| json!(x as f64)).collect())
}

fn first8_len(v: &Value, field: &str) -> usize {
    v[field].as_array().unwrap_or_else(|| panic!("`{field}` is not a list")).len()
}

/// G stats after step `after` of the float64 replay, keyed as `g32` (the
/// float32 `G_after_step{after}.stats.json`): rows are its keys in sorted
/// order, columns sum, abs_sum, max_abs, first8 (NaN-padded).
pub(crate) fn generator_stats(after: usize, g32: &Value) -> Option<Value> {
    let name = format!("G_after_step{after}.f64.npy");
    let (data, rows, cols) = table(&name)?;
    let want = g32.as_object().expect("G stats object");
    let mut keys: Vec<&String> = want.keys().collect();
    keys.sort();
    assert_eq!((rows, cols), (keys.len(), 11), "{name}: [rows, cols] must be [keys of the float32 stats, 11]");
    let mut out = Map::new();
    for (i, key) in keys.into_iter().enumerate() {
        let r = &data[i * cols..(i + 1) * cols];
        let n8 = first8_len(&want[key], "first8");
        out.insert(
            key.clone(),
            json!({"shape": want[key]["shape"], "sum": r[0] as f64, "abs_sum": r[1] as f64, "max_abs": r[2] as f64,
                   "first8": floats(&name, key, &r[3..3 + n8])}),
        );
    }
    Some(Value::Object(out))
}

/// optim_g state after step `after` of the float64 replay, keyed as `o32`
/// (the float32 `optim_after_step{after}.json` -> `optim_g`): rows are its
/// keys with state in sorted order, columns exp_avg_sum, exp_avg_sq_sum,
/// exp_avg first8, exp_avg_sq first8 (NaN-padded); `step` and the stateless
/// keys as in `o32` (the generator asserts equal step counts).
pub(crate) fn optimizer_state(after: usize, o32: &Value) -> Option<Value> {
    let name = format!("optim_g_after_step{after}.f64.npy");
    let (data, rows, cols) = table(&name)?;
    let want = o32.as_object().expect("optim_g object");
    let mut keys: Vec<&String> = want.keys().filter(|k| want[*k].get("state").is_none()).collect();
    keys.sort();
    assert_eq!((rows, cols), (keys.len(), 18), "{name}: [rows, cols] must be [keys with state, 18]");
    let mut out: Map<String, Value> = want.iter().filter(|(_, v)| v.get("state").is_some()).map(|(k, v)| (k.clone(), v.clone())).collect();
    for (i, key) in keys.into_iter().enumerate() {
        let r = &data[i * cols..(i + 1) * cols];
        let n8 = first8_len(&want[key], "exp_avg_first8");
        out.insert(
            key.clone(),
            json!({"step": want[key]["step"], "exp_avg_sum": r[0] as f64, "exp_avg_sq_sum": r[1] as f64,
                   "exp_avg_first8": floats(&name, key, &r[2..2 + n8]), "exp_avg_sq_first8": floats(&name, key, &r[10..10 + n8])}),
        );
    }
    Some(Value::Object(out))
}
