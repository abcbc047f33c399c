//! Parity of `mpd` with the reference `MultiPeriodDiscriminator` (GPT-SoVITS
//! @48b1a01, torch 2.15 CPU, f32) on `tests/golden/mpd/` (copied from
//! `shared/fixtures/gpt-sovits-v2-mpd/`, see its PROVENANCE.md), with the
//! fixture's closed-form weights rebuilt by `sovits_plugin_mpd::closed_form`.
//!
//! Tolerances (scale-relative: max |ours - ref| / max |ref|):
//! - weights: the rule is exact integer arithmetic then one f64->f32 rounding,
//!   so biases and `weight_v` must match bit for bit; `weight_g` is an f32
//!   norm over up to 5,120 squares summed in another order than torch's
//!   (~sqrt(n) eps = 8.5e-6 worst case; measured 1.5e-6): 1e-5.
//! - logits and feature maps: 2e-5. Each output is a chain of 6-7 f32 convs
//!   with up to 5,120 products per sum, summed in a different order than
//!   torch's (the fixture README expects ~1e-5); a wrong tap, stride, group or
//!   padding gives errors of order 1.
//! - parameter gradients: 2e-4 (README: ~1e-4); measured <= 1e-6.
//! - the input gradient of generator_loss + feature_loss: 2e-3 max (5e-4 in
//!   l2 norm). The feature loss differentiates |real - fake| elementwise; some
//!   feature-map elements have |real - fake| far below the forward's rounding
//!   error (DiscriminatorP(5) layer 2: 4e-9 of its scale, against ~7e-7
//!   forward error), so their sign can differ from torch's and each flip moves
//!   the input gradient locally (measured: max 9.2e-4, l2 1.5e-4, all of the
//!   largest differences on samples of one period-5 column). A wrong layer
//!   would give errors of order 1.
//! - loss values: 1e-5 relative (sums of squares of matched logits).

mod common;

use common::losses::{discriminator_loss, feature_loss, generator_loss};
use common::{assert_close, npy};
use mlx_rs::error::Exception;
use mlx_rs::module::ModuleParameters;
use mlx_rs::Array;
use sovits_core::nn::{contiguous, flatten_params, read_safetensors};
use sovits_core::{Discriminator, DiscriminatorOutput};
use sovits_plugin_mpd::closed_form::{apply_closed_form, closed_form_params};
use sovits_plugin_mpd::{Config, Mpd};

const NAMES: [&str; 6] = ["S", "P2", "P3", "P5", "P7", "P11"];

fn fixture_mpd() -> Mpd {
    let mut mpd = Mpd::new(&Config::default()).unwrap();
    apply_closed_form(&mut mpd).unwrap();
    mpd
}

/// A torch `[B, 1, S]` audio fixture as `[B, S]`, whatever its length.
fn audio(name: &str) -> Array {
    let a = npy(name);
    let (b, s) = (a.shape()[0], a.shape()[2]);
    a.reshape(&[b, s]).unwrap()
}

fn inputs() -> (Array, Array) {
    (audio("input_real"), audio("input_fake"))
}

fn index() -> serde_json::Value {
    let text = std::fs::read_to_string(format!("{}/index.json", common::MPD_DIR)).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn scalar(a: &Array) -> f32 {
    a.item_exact::<f32>()
}

fn run(mpd: &mut Mpd, y: &Array, y_hat: &Array) -> Result<DiscriminatorOutput, Exception> {
    mpd.forward(y, y_hat).map_err(|e| Exception::custom(e.to_string()))
}

#[test]
fn closed_form_rule_matches_index_and_small_params() {
    let mpd = Mpd::new(&Config::default()).unwrap();
    let ours = closed_form_params(&mpd).unwrap();
    // The parameter positions and fan-ins we derive equal the fixture's list.
    let idx = index();
    let listed = idx["mpd"]["weights"]["params"].as_array().unwrap();
    assert_eq!(listed.len(), 111, "bias, weight_g, weight_v of 37 convs");
    let by_name: std::collections::BTreeMap<&str, (u64, u64)> = listed
        .iter()
        .map(|p| (p["name"].as_str().unwrap(), (p["idx"].as_u64().unwrap(), p["fan_in"].as_u64().unwrap_or(0))))
        .collect();
    let mut prefixes: Vec<&str> =
        by_name.keys().filter_map(|k| k.strip_suffix(".weight_v")).collect();
    prefixes.sort_by_key(|p| by_name[&*format!("{p}.weight_v")].0);
    for (c, p) in prefixes.iter().enumerate() {
        assert_eq!(by_name[&*format!("{p}.bias")].0, 3 * c as u64, "{p}");
        assert_eq!(by_name[&*format!("{p}.weight_v")].0, 3 * c as u64 + 2, "{p}");
        let v = &ours[&format!("{p}.weight_v")];
        let fan_in: i32 = v.shape()[1..].iter().product();
        assert_eq!(by_name[&*format!("{p}.weight_v")].1, fan_in as u64, "{p}");
    }
    // Bit-exact against the 93 small tensors torch produced.
    let small = read_safetensors(std::path::Path::new(&format!("{}/mpd_small_params.safetensors", common::MPD_DIR))).unwrap();
    assert_eq!(small.len(), 93);
    for (k, want) in &small {
        let got = &ours[k];
        if k.ends_with("weight_g") {
            assert_close(k, got, want, 1e-5);
        } else {
            assert_eq!(common::values(got), common::values(want), "{k}");
        }
    }
    // Large tensors: check the stats index.json records for them.
    for (k, stats) in idx["mpd"]["weights"]["per_tensor_stats"].as_object().unwrap() {
        let got = common::values(&ours[k]);
        let sum: f64 = got.iter().map(|&x| x as f64).sum();
        let want = stats["sum"].as_f64().unwrap();
        let abs_sum = stats["abs_sum"].as_f64().unwrap();
        assert!((sum - want).abs() <= 1e-6 * abs_sum.max(1.0), "{k}: sum {sum} vs {want}");
        let first: Vec<f32> = stats["first"].as_array().unwrap().iter().map(|x| x.as_f64().unwrap() as f32).collect();
        if k.ends_with("weight_g") {
            for (a, b) in got.iter().zip(&first) {
                assert!((a - b).abs() <= 1e-5 * b.abs(), "{k}: first elements {a} vs {b}");
            }
        } else {
            assert_eq!(&got[..first.len()], &first[..], "{k}: first elements");
        }
    }
}

#[test]
fn logits_and_feature_maps_match_reference() {
    let mut mpd = fixture_mpd();
    let (y, y_hat) = inputs();
    let out = mpd.forward(&y, &y_hat).unwrap();
    let mut worst = 0f64;
    for (i, name) in NAMES.iter().enumerate() {
        worst = worst.max(assert_close(&format!("y_d_r {name}"), &out.y_d_real[i], &npy(&format!("y_d_r_{i}_{name}")), 2e-5));
        worst = worst.max(assert_close(&format!("y_d_g {name}"), &out.y_d_fake[i], &npy(&format!("y_d_g_{i}_{name}")), 2e-5));
    }
    assert_eq!(out.fmap_real[0].len(), 7);
    for (j, f) in out.fmap_real[0].iter().enumerate() {
        // ours [B, T, C] -> torch [B, C, T]
        let torch = f.transpose_axes(&[0, 2, 1]).unwrap();
        worst = worst.max(assert_close(&format!("fmap S {j}"), &torch, &npy(&format!("fmap_r_0_{j}")), 2e-5));
    }
    assert_eq!(out.fmap_real[1].len(), 6);
    for (j, f) in out.fmap_real[1].iter().enumerate() {
        // ours [B, H, p, C] -> torch [B, C, H, p]
        let torch = f.transpose_axes(&[0, 3, 1, 2]).unwrap();
        worst = worst.max(assert_close(&format!("fmap P2 {j}"), &torch, &npy(&format!("fmap_r_1_{j}")), 2e-5));
    }
    println!("worst forward rel err {worst:.3e}");

    let idx = index();
    let o = &idx["mpd"]["outputs"];
    let o = if o.is_null() { &idx["mpd"] } else { o };
    let find = |key: &str| -> f32 {
        fn walk<'a>(v: &'a serde_json::Value, key: &str) -> Option<&'a serde_json::Value> {
            match v {
                serde_json::Value::Object(m) => m.get(key).or_else(|| m.values().find_map(|c| walk(c, key))),
                _ => None,
            }
        }
        walk(o, key).and_then(|v| v.as_f64()).unwrap() as f32
    };
    let gl = scalar(&generator_loss(&out.y_d_fake).unwrap());
    let fl = scalar(&feature_loss(&out.fmap_real, &out.fmap_fake).unwrap());
    let dl = scalar(&discriminator_loss(&out.y_d_real, &out.y_d_fake).unwrap());
    for (name, got) in [("generator_loss", gl), ("feature_loss", fl), ("discriminator_loss", dl)] {
        let want = find(name);
        println!("{name}: ours {got} ref {want}");
        assert!(((got - want) / want).abs() < 1e-5, "{name}: {got} vs {want}");
    }
}

#[test]
fn generator_side_gradients_match_reference() {
    let mut mpd = fixture_mpd();
    let (y, y_hat) = inputs();
    // d(generator_loss + feature_loss)/d y_hat.
    let y_c = y.clone();
    let mut loss_of_fake = |args: &[Array]| -> Result<Vec<Array>, Exception> {
        let out = run(&mut mpd, &y_c, &args[0])?;
        Ok(vec![&generator_loss(&out.y_d_fake)? + &feature_loss(&out.fmap_real, &out.fmap_fake)?])
    };
    let (_, grads) = mlx_rs::transforms::value_and_grad(&mut loss_of_fake)(std::slice::from_ref(&y_hat)).unwrap();
    let want_shape = npy("grad_fake_gen_plus_fm").shape().to_vec();
    let g = contiguous(&grads[0]).unwrap().reshape(&want_shape).unwrap();
    // See the module doc: |real - fake| sign flips at near-equal elements.
    assert_close("grad_fake_gen_plus_fm", &g, &npy("grad_fake_gen_plus_fm"), 2e-3);
    let l2 = common::l2_rel_err(&g, &npy("grad_fake_gen_plus_fm"));
    assert!(l2 < 5e-4, "grad_fake_gen_plus_fm: l2 rel err {l2:.3e}");

    // The same backward's parameter gradients.
    let mut mpd = fixture_mpd();
    let mut step = mlx_rs::nn::value_and_grad(|m: &mut Mpd, (y, y_hat): (Array, Array)| -> Result<Vec<Array>, Exception> {
        let out = run(m, &y, &y_hat)?;
        Ok(vec![&generator_loss(&out.y_d_fake)? + &feature_loss(&out.fmap_real, &out.fmap_fake)?])
    });
    let (_, pg) = step(&mut mpd, (y.clone(), y_hat.clone())).unwrap();
    let b = contiguous(&pg["discriminators.1.convs.0.bias"]).unwrap();
    assert_close("grad_p2_conv0_bias", &b, &npy("grad_p2_conv0_bias"), 2e-4);
    let wg = contiguous(&pg["discriminators.0.conv_post.weight_g"]).unwrap();
    assert_close("grad_s_convpost_weight_g", &wg, &npy("grad_s_convpost_weight_g"), 2e-4);
}

#[test]
fn discriminator_side_gradients_match_reference() {
    let mut mpd = fixture_mpd();
    let (y, y_hat) = inputs();
    let mut step = mlx_rs::nn::value_and_grad(|m: &mut Mpd, (y, y_hat): (Array, Array)| -> Result<Vec<Array>, Exception> {
        let out = run(m, &y, &mlx_rs::stop_gradient(&y_hat)?)?;
        Ok(vec![discriminator_loss(&out.y_d_real, &out.y_d_fake)?])
    });
    let (_, pg) = step(&mut mpd, (y, y_hat)).unwrap();
    let v = contiguous(&pg["discriminators.0.convs.0.weight_v"]).unwrap();
    assert_close("dgrad_s_conv0_weight_v", &v, &npy("dgrad_s_conv0_weight_v"), 2e-4);
    let b = contiguous(&pg["discriminators.1.conv_post.bias"]).unwrap();
    assert_close("dgrad_p2_convpost_bias", &b, &npy("dgrad_p2_convpost_bias"), 2e-4);
    // Every trainable parameter receives a gradient.
    assert_eq!(pg.len(), flatten_params(&mpd).len());
    let _ = mpd.num_parameters();
}
