//! The closed-form weight rule of the `gpt-sovits-v2-mpd` fixture
//! (`index.json` -> `mpd.weights.rule`): deterministic weights a port can
//! rebuild exactly, used by the parity tests and to give the trainer the
//! fixture's initial discriminator.
//!
//! For the parameter at position `k` of torch's `named_parameters()` order
//! (per conv: `bias`, `weight_g`, `weight_v`), element `i` of `bias` and
//! `weight_v` (row-major over the torch shape) is
//! `((lowbias32(i + k * 0x9E3779B9) / 2^32) - 0.5) * 2 / sqrt(fan_in)`, with
//! `fan_in = weight_v.shape[1] * prod(weight_v.shape[2..])`; `weight_g` is the
//! L2 norm of `weight_v` over every dim but 0 (so the effective weight is `weight_v`).

use mlx_rs::Array;
use mlx_rs::module::ModuleParameters;
use sovits_core::nn::weight_norm::norm_except_dim0;
use sovits_core::nn::{flatten_params, load_strict};
use sovits_core::{ParamMap, Result};

use crate::error::MpdError;

/// The fixture's 32-bit integer hash (`lowbias32`, wrapping arithmetic).
pub fn lowbias32(mut x: u32) -> u32 {
    x ^= x >> 16;
    x = x.wrapping_mul(0x7feb_352d);
    x ^= x >> 15;
    x = x.wrapping_mul(0x846c_a68b);
    x ^= x >> 16;
    x
}

/// The rule's values for parameter position `k`, `n` elements, `fan_in`.
pub fn rule_values(k: u32, n: usize, fan_in: usize) -> Vec<f32> {
    let bound = 1.0 / (fan_in as f64).sqrt();
    let offset = k.wrapping_mul(0x9E37_79B9);
    (0..n)
        .map(|i| {
            let h = lowbias32((i as u32).wrapping_add(offset));
            (((h as f64 / 4_294_967_296.0) - 0.5) * 2.0 * bound) as f32
        })
        .collect()
}

/// Conv prefixes of a weight-normed module in torch registration order:
/// every `*.weight_v` key's prefix, ordered as `named_parameters()` would
/// (sub-module index numerically, `convs.N` before `conv_post`).
fn conv_prefixes(params: &ParamMap) -> Vec<String> {
    let mut prefixes: Vec<String> =
        params.keys().filter_map(|k| k.strip_suffix(".weight_v").map(str::to_string)).collect();
    let order_key = |p: &String| -> Vec<(u8, i64, String)> {
        p.split('.')
            .map(|part| match part.parse::<i64>() {
                Ok(n) => (1, n, String::new()),
                // `convs` (registered first) sorts before `conv_post`.
                Err(_) => (0, if part == "convs" { 0 } else { 1 }, part.to_string()),
            })
            .collect()
    };
    prefixes.sort_by_key(order_key);
    prefixes
}

/// The rule's tensors for every parameter of a weight-normed module whose
/// convs are `<prefix>.{bias, weight_g, weight_v}` (the `mpd` layout).
pub fn closed_form_params<M: ModuleParameters + ?Sized>(module: &M) -> Result<ParamMap> {
    let params = flatten_params(module);
    let mut out = ParamMap::new();
    for (c, prefix) in conv_prefixes(&params).iter().enumerate() {
        let v_key = format!("{prefix}.weight_v");
        let shape = params[&v_key].shape().to_vec();
        let fan_in: usize = shape[1..].iter().map(|&d| d as usize).product();
        let n: usize = shape.iter().map(|&d| d as usize).product();
        let k = 3 * c as u32;
        let b_key = format!("{prefix}.bias");
        let b_shape = params
            .get(&b_key)
            .map(|b| b.shape().to_vec())
            .ok_or_else(|| MpdError::Input { what: "closed-form rule".into(), expected: b_key.clone(), found: "no bias".into() })?;
        out.insert(b_key, Array::from_slice(&rule_values(k, b_shape[0] as usize, fan_in), &b_shape));
        let v = Array::from_slice(&rule_values(k + 2, n, fan_in), &shape);
        out.insert(format!("{prefix}.weight_g"), norm_except_dim0(&v)?);
        out.insert(v_key, v);
    }
    Ok(out)
}

/// Loads the rule's weights into `module` (strict: every key must be covered).
pub fn apply_closed_form<M: ModuleParameters + ?Sized>(module: &mut M) -> Result<()> {
    let tensors = closed_form_params(module)?;
    load_strict(module, &tensors)?;
    Ok(())
}
