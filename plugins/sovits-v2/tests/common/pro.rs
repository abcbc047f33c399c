//! The tiny v2Pro / v2ProPlus generators of `tests/golden/sovits_v2pro`
//! (see its PROVENANCE.md): the tiny v2 fixture's weights for shared keys and
//! the fixture's closed-form rule (`index.json` -> `rule`, `rule_keys`) for
//! the rest, with every size read from `index.json`.

use mlx_rs::Array;
use sovits_core::ParamMap;
use sovits_core::nn::weight_norm::norm_except_dim0;
use sovits_core::nn::{load_strict, read_safetensors};
use sovits_plugin_mpd::closed_form::lowbias32;
use sovits_plugin_sovits_v2::{Config, SynthesizerTrn};

/// Folder of the v2Pro goldens.
pub const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/golden/sovits_v2pro");

/// `index.json`.
pub fn index() -> serde_json::Value {
    let path = format!("{DIR}/index.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// A float32 `.npy` of the v2Pro folder (`<version lowercase>.<name>.npy`).
pub fn npy(name: &str) -> Array {
    sovits_test_support::read_npy(&format!("{DIR}/{name}.npy"))
}

/// A torch `[B, C, T]` fixture of the v2Pro folder in channels-last `[B, T, C]`.
pub fn cl(name: &str) -> Array {
    npy(name).transpose_axes(&[0, 2, 1]).unwrap()
}

/// The rule: `offset + scale * ((lowbias32(i + k * 0x9E3779B9) / 2^32) - 0.5) * 2`.
pub fn rule(entry: &serde_json::Value) -> Array {
    let shape: Vec<i32> = entry["shape"].as_array().unwrap().iter().map(|d| d.as_i64().unwrap() as i32).collect();
    let k = entry["k"].as_u64().unwrap() as u32;
    let (scale, offset) = (entry["scale"].as_f64().unwrap(), entry["offset"].as_f64().unwrap());
    let n: i32 = shape.iter().product();
    let base = k.wrapping_mul(0x9E37_79B9);
    let v: Vec<f32> = (0..n as u32)
        .map(|i| {
            let u = lowbias32(i.wrapping_add(base)) as f64 / 4_294_967_296.0;
            (offset + scale * (u - 0.5) * 2.0) as f32
        })
        .collect();
    Array::from_slice(&v, &shape)
}

/// The tiny config of `version` (`"v2Pro"` / `"v2ProPlus"`): the v2 tiny
/// config with the fixture's version, dropout, MRTE width and decoder overrides.
pub fn config(version: &str) -> Config {
    let idx = index();
    let e = &idx[version];
    let args = &e["synthesizer_args"];
    let mut cfg = super::tiny_config();
    cfg.version = args["version"].as_str().unwrap().into();
    cfg.p_dropout = args["p_dropout"].as_f64().unwrap() as f32;
    cfg.mrte_hidden = e["mrte_hidden"].as_i64().unwrap() as i32;
    cfg.upsample_initial_channel = args["upsample_initial_channel"].as_i64().unwrap() as i32;
    cfg.upsample_kernel_sizes = args["upsample_kernel_sizes"].as_array().unwrap().iter().map(|d| d.as_i64().unwrap() as i32).collect();
    cfg
}

/// The rule's tensors of `version` (weight_g as the norm of its weight_v).
pub fn rule_tensors(version: &str) -> ParamMap {
    let idx = index();
    let mut out = ParamMap::new();
    let entries = idx[version]["rule_keys"].as_array().unwrap().clone();
    for e in entries.iter().filter(|e| e.get("norm_of").is_none()) {
        out.insert(e["key"].as_str().unwrap().into(), rule(e));
    }
    for e in entries.iter().filter_map(|e| e.get("norm_of").map(|n| (e, n))) {
        let g = norm_except_dim0(&out[e.1.as_str().unwrap()]).unwrap();
        out.insert(e.0["key"].as_str().unwrap().into(), g);
    }
    out
}

/// The tiny model of `version` with the fixture weights (strict load), eval mode.
pub fn model(version: &str) -> SynthesizerTrn {
    let mut m = SynthesizerTrn::new(&config(version), 32).unwrap();
    let mut w = read_safetensors(&super::path("tiny_G.safetensors")).unwrap();
    let rule = rule_tensors(version);
    w.retain(|k, _| !rule.contains_key(k));
    w.extend(rule);
    load_strict(&mut m, &w).unwrap();
    m.training = false;
    m
}

/// The fixture's sv input `name` (`forward.in.sv`, `decode.in.sv`), from the rule.
pub fn sv(name: &str) -> Array {
    rule(&index()["inputs"][name])
}
