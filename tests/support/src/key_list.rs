//! The reference's state-dict key lists (`tests/golden/keys/keys_full_*.json`,
//! see its PROVENANCE.md) as maps a test compares a model's parameters with.

use std::collections::BTreeMap;

use mlx_rs::module::ModuleParameters;

/// `(key -> shape)` of a key-list file and the whole file (counts, constructor).
pub fn read_key_list(path: &str) -> (BTreeMap<String, Vec<i32>>, serde_json::Value) {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let v: serde_json::Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"));
    let keys = v["keys"]
        .as_array()
        .unwrap_or_else(|| panic!("{path}: no `keys` list"))
        .iter()
        .map(|k| {
            let shape = k["shape"].as_array().expect("shape").iter().map(|d| d.as_i64().expect("dim") as i32).collect();
            (k["key"].as_str().expect("key").to_string(), shape)
        })
        .collect();
    (keys, v)
}

/// `(key -> shape)` of a module's parameters, in the same form.
pub fn module_key_shapes<M: ModuleParameters + ?Sized>(m: &M) -> BTreeMap<String, Vec<i32>> {
    sovits_core::nn::flatten_params(m).into_iter().map(|(k, a)| (k, a.shape().to_vec())).collect()
}
