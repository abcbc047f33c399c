//! GPT-SoVITS v2Pro / v2ProPlus (`SynthesizerTrn(version="v2Pro"|"v2ProPlus")`,
//! @48b1a01): full-size key lists and parameter counts, and parity of the
//! tiny generators of `tests/golden/sovits_v2pro` (see its PROVENANCE.md:
//! the tiny v2 weights for shared keys, a closed-form rule for `sv_emb`,
//! `prelu`, `ge_to512`, the 16-wide MRTE and the v2ProPlus decoder).
//!
//! Tolerances are the v2 parity tests' (`synthesizer.rs`: prior/posterior
//! statistics atol 2e-4 + rtol 1e-4, audio atol 1e-4, KL rtol 1e-5). The
//! reference's own float32-vs-float64 gap on these outputs
//! (`index.json` -> `<version>.f32_vs_f64_max_abs`) is at most 5.1e-6 (z_p
//! of v2ProPlus) and 3.7e-6 on audio: every tolerance is at least 20x the
//! rounding the reference itself shows, and a wrong branch (no PReLU, ge
//! instead of ge_to512 for the text encoder, no sv shift) moves these outputs
//! by 1e-1 or more. The style vectors are checked at atol 1e-5 (gap <= 1.2e-6).

mod common;

use common::{assert_close, assert_exact, pro};
use mlx_rs::Array;
use sovits_core::components::{BuildContext, Generator};
use sovits_core::nn::flatten_params;
use sovits_core::nn::noise::RecordedNoise;
use sovits_plugin_sovits_v2::forward_ctx::Ctx;
use sovits_plugin_sovits_v2::masking::sequence_mask;
use sovits_plugin_sovits_v2::{Config, build_model};
use sovits_test_support::key_list::{module_key_shapes, read_key_list};

const VERSIONS: [&str; 2] = ["v2Pro", "v2ProPlus"];

/// The generator params of a committed spec (`configs/<name>.json`, following `extends`).
fn spec_config(name: &str) -> Config {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../../configs/{name}.json"));
    let spec = sovits_core::Spec::load(&path, &[]).unwrap();
    spec.generator.parse_params(sovits_core::Kind::Generator).unwrap()
}

#[test]
fn full_specs_match_reference_key_lists_and_counts() {
    for (version, file) in [("v2Pro", "v2pro"), ("v2ProPlus", "v2proplus")] {
        let (want, v) = read_key_list(&format!("{}/keys_full_{version}_G.json", common::KEYS));
        let cfg = spec_config(file);
        assert_eq!(cfg.version, version);
        let model = build_model(&cfg, &BuildContext::default()).unwrap();
        let params = flatten_params(&model);
        assert_eq!(module_key_shapes(&model), want, "{version}: keys and shapes");
        let n: usize = params.iter().filter(|(k, _)| !k.starts_with("quantizer.")).map(|(_, a)| a.size()).sum();
        println!("{version}: {n} parameters");
        assert_eq!(n as u64, v["n_parameters"].as_u64().unwrap(), "{version}");
    }
}

#[test]
fn config_rule_for_mrte_hidden_depends_on_version() {
    let v2 = serde_json::json!({"gin_channels": 1024});
    let err = serde_json::from_value::<Config>(v2).unwrap().validate().unwrap_err().to_string();
    assert!(err.contains("mrte_hidden"), "{err}");
    let pro = serde_json::json!({"version": "v2Pro", "gin_channels": 1024});
    serde_json::from_value::<Config>(pro).unwrap().validate().unwrap();
    let bad = serde_json::json!({"version": "v3"});
    let err = serde_json::from_value::<Config>(bad).unwrap().validate().unwrap_err().to_string();
    assert!(err.contains("version") && err.contains("v2ProPlus"), "{err}");
}

#[test]
fn closed_form_weights_match_the_reference_statistics() {
    let idx = pro::index();
    for version in VERSIONS {
        let ours = pro::rule_tensors(version);
        for e in idx[version]["rule_keys"].as_array().unwrap() {
            let key = e["key"].as_str().unwrap();
            let v = sovits_test_support::values(&ours[key]);
            let sum: f64 = v.iter().map(|&x| x as f64).sum();
            let s = &e["stats"];
            let (want, abs) = (s["sum"].as_f64().unwrap(), s["abs_sum"].as_f64().unwrap());
            // Exact integer hash, one f64->f32 rounding; weight_g an f32 norm (1e-6 relative).
            assert!((sum - want).abs() <= 1e-6 * abs.max(1.0), "{version} {key}: sum {sum} vs {want}");
            for (a, b) in v.iter().zip(s["first8"].as_array().unwrap()) {
                let b = b.as_f64().unwrap();
                assert!((*a as f64 - b).abs() <= 1e-6 * b.abs().max(1e-3), "{version} {key}: {a} vs {b}");
            }
        }
    }
}

#[test]
fn tiny_forward_matches_reference() {
    let idx = pro::index();
    for version in VERSIONS {
        let tag = version.to_lowercase();
        let mut m = pro::model(version);
        let n: usize = flatten_params(&m).iter().filter(|(k, _)| !k.starts_with("quantizer.")).map(|(_, a)| a.size()).sum();
        assert_eq!(n as u64, idx[version]["n_parameters"].as_u64().unwrap(), "{version}: tiny parameters");
        let mut batch = common::forward_batch(true);
        batch.sv = Some(pro::sv("forward.in.sv"));
        let mask = sequence_mask(&batch.spec_lengths, batch.spec.shape()[1]).unwrap();
        let mut draws = RecordedNoise::new();
        let ge = m.style(&batch.spec, &mask, &mut Ctx::new(&mut draws, false)).unwrap();
        let (ge, ge_text) = m.condition(ge, batch.sv.as_ref()).unwrap();
        assert_close(&format!("{tag}.ge"), &ge, &pro::cl(&format!("{tag}.forward.out.ge")), 1e-5, 0.0);
        assert_close(&format!("{tag}.ge_text"), &ge_text, &pro::cl(&format!("{tag}.forward.out.ge_text")), 1e-5, 0.0);
        let mut noise = common::fixture_noise();
        let o = m.forward_train(&batch, &mut noise).unwrap();
        assert!(noise.remaining().is_empty(), "unused draws: {:?}", noise.remaining());
        let ids: Vec<i32> = idx[version]["ids_slice"].as_array().unwrap().iter().map(|d| d.as_i64().unwrap() as i32).collect();
        assert_exact(&format!("{tag}.ids_slice"), &o.ids_slice, &Array::from_slice(&ids, &[ids.len() as i32]));
        for (name, got) in [("z", &o.z), ("z_p", &o.z_p), ("m_p", &o.m_p), ("logs_p", &o.logs_p), ("m_q", &o.m_q), ("logs_q", &o.logs_q)] {
            assert_close(&format!("{tag}.{name}"), got, &pro::cl(&format!("{tag}.forward.out.{name}")), 2e-4, 1e-4);
        }
        let want_o = pro::npy(&format!("{tag}.forward.out.o"));
        assert_close(&format!("{tag}.o"), &o.y_hat, &want_o.reshape(o.y_hat.shape()).unwrap(), 1e-4, 0.0);
        let want_kl = pro::npy(&format!("{tag}.forward.out.loss_kl")).item_cast::<f32>();
        let got_kl = common::kl(&o);
        assert!(((got_kl - want_kl) / want_kl).abs() <= 1e-5, "{tag} kl {got_kl} vs {want_kl}");
        // Without an sv embedding a Pro model refuses, naming what is missing.
        batch.sv = None;
        let err = m.forward_train(&batch, &mut common::fixture_noise()).unwrap_err().to_string();
        assert!(err.contains("sv/"), "{err}");
    }
}

#[test]
fn tiny_decode_matches_reference() {
    let idx = pro::index();
    for version in VERSIONS {
        let tag = version.to_lowercase();
        let mut m = pro::model(version);
        for ns in [0.0f32, 0.5] {
            let mut input = common::decode_input(ns, 1.0);
            input.sv = Some(pro::sv("decode.in.sv"));
            let mut noise = RecordedNoise::new();
            noise.push("infer.noise", common::cl("decode.in.noise"));
            let o = m.infer(&input, &mut noise).unwrap();
            if ns == 0.0 {
                let want = pro::npy(&format!("{tag}.decode.out.o_ns0"));
                assert_close(&format!("{tag}.decode ns0"), &o, &want.reshape(o.shape()).unwrap(), 1e-4, 0.0);
            } else {
                // Stored as statistics (size budget): sum within 1e-4 per sample, first 8 at 1e-4.
                let s = &idx[version]["decode.out.o_ns05.stats"];
                let v = sovits_test_support::values(&o);
                let sum: f64 = v.iter().map(|&x| x as f64).sum();
                let (want, abs) = (s["sum"].as_f64().unwrap(), s["abs_sum"].as_f64().unwrap());
                println!("{tag}.decode ns05: sum {sum} vs {want}, abs_sum {abs}");
                assert!((sum - want).abs() <= 1e-4 * v.len() as f64, "{tag} ns05 sum");
                let a: f64 = v.iter().map(|&x| x.abs() as f64).sum();
                assert!((a - abs).abs() <= 1e-4 * v.len() as f64, "{tag} ns05 abs_sum {a} vs {abs}");
                for (x, y) in v.iter().zip(s["first8"].as_array().unwrap()) {
                    assert!((*x as f64 - y.as_f64().unwrap()).abs() <= 1e-4, "{tag} ns05 first8");
                }
            }
        }
    }
}
