//! The v2Pro / v2ProPlus discriminator: `mpd` with periods
//! `[2, 3, 5, 7, 11, 17, 23]` against GPT-SoVITS
//! `MultiPeriodDiscriminator(version="v2Pro")` (@48b1a01, torch 2.15 CPU).
//!
//! Fixtures: `tests/golden/keys/keys_full_v2Pro_D.json` (every key and shape;
//! v2ProPlus builds the same discriminator) and `tests/golden/sovits_v2pro/`
//! (`mpd7.*`, `index.json` -> `mpd7`), made by `gen_v2pro.py` there with the
//! MPD fixture's closed-form weight rule on the MPD fixture's inputs.
//!
//! Tolerances (scale-relative, as in `golden.rs`, whose reasoning applies
//! unchanged to the two added period discriminators): logits 2e-5 (the
//! reference's own f32-vs-f64 gap, `index.json` -> `mpd7.f32_vs_f64_max_abs`,
//! is 1.2e-8 absolute); the input gradient of generator + feature loss 2e-3
//! max and 5e-4 l2 (sign flips of |real - fake| at near-equal feature-map
//! elements; f32-vs-f64 gap 1.8e-6); loss values 1e-5 relative.

mod common;

use common::losses::{discriminator_loss, feature_loss, generator_loss};
use common::{KEYS_DIR, V2PRO_DIR, assert_close, npy};
use mlx_rs::Array;
use mlx_rs::error::Exception;
use sovits_core::Discriminator;
use sovits_core::nn::{contiguous, flatten_params};
use sovits_plugin_mpd::closed_form::apply_closed_form;
use sovits_plugin_mpd::{Config, Mpd};
use sovits_test_support::key_list::{module_key_shapes, read_key_list};
use sovits_test_support::read_npy;

fn json(path: &str) -> serde_json::Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn index() -> serde_json::Value {
    json(&format!("{V2PRO_DIR}/index.json"))["mpd7"].clone()
}

fn config(idx: &serde_json::Value) -> Config {
    let periods = idx["periods"].as_array().unwrap().iter().map(|p| p.as_i64().unwrap() as i32).collect();
    Config { periods, use_spectral_norm: false }
}

#[test]
fn seven_period_keys_and_count_match_reference() {
    let (keys, want) = read_key_list(&format!("{KEYS_DIR}/keys_full_v2Pro_D.json"));
    let mpd = Mpd::new(&config(&index())).unwrap();
    assert_eq!(module_key_shapes(&mpd), keys);
    let n: usize = flatten_params(&mpd).values().map(|a| a.size()).sum();
    println!("7-period mpd parameters: {n}");
    assert_eq!(n as u64, want["n_parameters"].as_u64().unwrap());
}

#[test]
fn seven_period_outputs_losses_and_input_gradient_match_reference() {
    let idx = index();
    let mut mpd = Mpd::new(&config(&idx)).unwrap();
    apply_closed_form(&mut mpd).unwrap();
    let y = npy("input_real").reshape(&[1, -1]).unwrap();
    let y_hat = npy("input_fake").reshape(&[1, -1]).unwrap();
    let out = mpd.forward(&y, &y_hat).unwrap();
    let n = idx["y_d_r_stats"].as_array().unwrap().len();
    assert_eq!(out.y_d_real.len(), n);
    for i in 0..n {
        for (side, got) in [("r", &out.y_d_real[i]), ("g", &out.y_d_fake[i])] {
            let file = format!("{V2PRO_DIR}/mpd7.y_d_{side}_{i}.npy");
            if std::path::Path::new(&file).is_file() {
                assert_close(&format!("y_d_{side} {i}"), got, &read_npy(&file), 2e-5);
            }
            // Every logit (the five v2 ones too): sum and first values.
            let stats = &idx[format!("y_d_{side}_stats")][i];
            let v = common::values(got);
            let sum: f64 = v.iter().map(|&x| x as f64).sum();
            let (want, scale) = (stats["sum"].as_f64().unwrap(), stats["abs_sum"].as_f64().unwrap());
            assert!((sum - want).abs() <= 2e-5 * scale, "y_d_{side} {i}: sum {sum} vs {want}");
        }
    }
    let gl = generator_loss(&out.y_d_fake).unwrap().item_exact::<f32>();
    let fl = feature_loss(&out.fmap_real, &out.fmap_fake).unwrap().item_exact::<f32>();
    let dl = discriminator_loss(&out.y_d_real, &out.y_d_fake).unwrap().item_exact::<f32>();
    for (name, got) in [("loss_gen", gl), ("loss_fm", fl), ("loss_disc", dl)] {
        let want = idx[name].as_f64().unwrap() as f32;
        println!("{name}: ours {got} ref {want}");
        assert!(((got - want) / want).abs() < 1e-5, "{name}: {got} vs {want}");
    }
    let mut loss_of_fake = |args: &[Array]| -> Result<Vec<Array>, Exception> {
        let out = mpd.forward(&y, &args[0]).map_err(|e| Exception::custom(e.to_string()))?;
        Ok(vec![&generator_loss(&out.y_d_fake)? + &feature_loss(&out.fmap_real, &out.fmap_fake)?])
    };
    let (_, grads) = mlx_rs::transforms::value_and_grad(&mut loss_of_fake)(std::slice::from_ref(&y_hat)).unwrap();
    let want = read_npy(&format!("{V2PRO_DIR}/mpd7.grad_fake_gen_plus_fm.npy"));
    let g = contiguous(&grads[0]).unwrap().reshape(want.shape()).unwrap();
    assert_close("grad_fake_gen_plus_fm (7 periods)", &g, &want, 2e-3);
    let l2 = common::l2_rel_err(&g, &want);
    assert!(l2 < 5e-4, "l2 rel err {l2:.3e}");
}
