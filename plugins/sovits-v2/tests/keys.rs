//! State-dict names and shapes equal the reference's: the full v2 model
//! against `keys_full_v2_G.json` (SynthesizerTrn(1025, 32, **s2.json model),
//! 51,310,080 parameters) and the tiny model against `tiny_G.safetensors`.

mod common;

use std::collections::BTreeMap;

use sovits_core::components::{BuildContext, Generator};
use sovits_core::nn::{flatten_params, read_safetensors};
use sovits_plugin_sovits_v2::{Config, SynthesizerTrn, build_model};

#[test]
fn default_config_matches_full_v2_key_list() {
    let text = std::fs::read_to_string(format!("{}/keys_full_v2_G.json", common::KEYS)).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let want: BTreeMap<String, Vec<i32>> = v["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| {
            let shape = k["shape"].as_array().unwrap().iter().map(|d| d.as_i64().unwrap() as i32).collect();
            (k["key"].as_str().unwrap().to_string(), shape)
        })
        .collect();
    let model = build_model(&Config::default(), &BuildContext::default()).unwrap();
    let got: BTreeMap<String, Vec<i32>> =
        flatten_params(&model).into_iter().map(|(k, a)| (k, a.shape().to_vec())).collect();
    let missing: Vec<_> = want.keys().filter(|k| !got.contains_key(*k)).collect();
    let extra: Vec<_> = got.keys().filter(|k| !want.contains_key(*k)).collect();
    assert!(missing.is_empty() && extra.is_empty(), "missing {missing:?}\nunexpected {extra:?}");
    for (k, s) in &want {
        assert_eq!(&got[k], s, "shape of {k}");
    }
    assert_eq!(got.len(), 776);
    // Parameters (not the quantizer buffers), as the reference counts them.
    let n_params: usize = flatten_params(&model)
        .iter()
        .filter(|(k, _)| !k.starts_with("quantizer."))
        .map(|(_, a)| a.size())
        .sum();
    println!("default config parameters: {n_params}");
    assert_eq!(n_params, 51_310_080);
    let n_enc_q: usize = flatten_params(&model).iter().filter(|(k, _)| k.starts_with("enc_q.")).map(|(_, a)| a.size()).sum();
    assert_eq!(n_params - n_enc_q, v["n_parameters_excluding_enc_q"].as_u64().unwrap() as usize);
}

#[test]
fn tiny_config_matches_tiny_checkpoint() {
    let model = SynthesizerTrn::new(&common::tiny_config(), 32).unwrap();
    let w = read_safetensors(&common::path("tiny_G.safetensors")).unwrap();
    let got = flatten_params(&model);
    assert_eq!(got.len(), 632);
    assert_eq!(got.keys().collect::<Vec<_>>(), w.keys().collect::<Vec<_>>());
    for (k, a) in &got {
        assert_eq!(a.shape(), w[k].shape(), "shape of {k}");
    }
    let n: usize = got.iter().filter(|(k, _)| !k.starts_with("quantizer.")).map(|(_, a)| a.size()).sum();
    assert_eq!(n, 2_378_954);
}

#[test]
fn groups_and_frozen_prefixes_name_existing_parameters() {
    let model = SynthesizerTrn::new(&common::tiny_config(), 32).unwrap();
    let keys: Vec<String> = flatten_params(&model).into_keys().collect();
    let groups = model.parameter_groups();
    assert_eq!(groups.len(), 1);
    assert_eq!(groups[0].name, "text");
    for p in groups[0].prefixes.iter().chain(model.frozen_prefixes().iter()) {
        assert!(keys.iter().any(|k| k.starts_with(p.as_str())), "prefix {p} names no parameter");
    }
    let text: usize = keys.iter().filter(|k| groups[0].prefixes.iter().any(|p| k.starts_with(p.as_str()))).count();
    // text_embedding (1) + encoder_text (2 layers x 18 tensors) + mrte (14).
    assert_eq!(text, 1 + 2 * 18 + 14);
}

#[test]
fn config_rejects_bad_values_naming_the_field() {
    let bad = |v: serde_json::Value| {
        let cfg: Config = serde_json::from_value(v).unwrap();
        cfg.validate().unwrap_err().to_string()
    };
    assert!(bad(serde_json::json!({"mrte_hidden": 256})).contains("mrte_hidden"));
    assert!(bad(serde_json::json!({"freeze_quantizer": false})).contains("freeze_quantizer"));
    assert!(bad(serde_json::json!({"semantic_frame_rate": "12hz"})).contains("semantic_frame_rate"));
    assert!(bad(serde_json::json!({"upsample_kernel_sizes": [16, 16]})).contains("upsample_kernel_sizes"));
    assert!(serde_json::from_value::<Config>(serde_json::json!({"segment_size": 32})).is_err());
    let ctx = BuildContext { hop_length: 320, ..BuildContext::default() };
    assert!(build_model(&Config::default(), &ctx).unwrap_err().to_string().contains("upsample_rates"));
}

#[test]
fn registry_builds_sovits_v2_from_the_tiny_params() {
    use sovits_core::registry::{Kind, build_generator, find};
    use sovits_core::spec::ComponentSpec;
    let reg = find(Kind::Generator, "sovits-v2", "generator").unwrap();
    let defaults: Config = serde_json::from_value((reg.default_config)()).unwrap();
    assert_eq!(defaults, Config::default());
    let params = serde_json::to_value(common::tiny_config()).unwrap();
    let spec = ComponentSpec::named("sovits-v2").with_params(params);
    let g = build_generator(&spec, "generator", &BuildContext::default()).unwrap();
    assert_eq!(flatten_params(&*g).len(), 632);
    let bad = ComponentSpec::named("sovits-v2").with_params(serde_json::json!({"hidden": 3}));
    let err = build_generator(&bad, "generator", &BuildContext::default()).err().unwrap().to_string();
    assert!(err.contains("hidden"), "{err}");
}
