//! Structure of `mpd`: parameter count and s2D keys/shapes
//! (`tests/golden/keys/keys_full_v2_D.json`, GPT-SoVITS
//! `MultiPeriodDiscriminator(use_spectral_norm=False, version='v2')`), config
//! validation and spectral-norm keys.

mod common;

use mlx_rs::Array;
use mlx_rs::module::ModuleParameters;
use sovits_core::nn::flatten_params;
use sovits_core::Discriminator;
use sovits_plugin_mpd::{Config, Mpd};

#[test]
fn default_parameter_count_is_46_747_132() {
    let mpd = Mpd::new(&Config::default()).unwrap();
    let total: usize = flatten_params(&mpd).values().map(|a| a.size()).sum();
    assert_eq!(total, 46_747_132);
    let trainable: usize = mpd.trainable_parameters().flatten().values().map(|a| a.size()).sum();
    assert_eq!(trainable, 46_747_132);
}

#[test]
fn keys_and_shapes_equal_s2d() {
    let text = std::fs::read_to_string(common::KEYS_D).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    let want: std::collections::BTreeMap<String, Vec<i32>> = json["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| {
            let shape = k["shape"].as_array().unwrap().iter().map(|d| d.as_i64().unwrap() as i32).collect();
            (k["key"].as_str().unwrap().to_string(), shape)
        })
        .collect();
    assert_eq!(want.len(), 111);
    let mpd = Mpd::new(&Config::default()).unwrap();
    let got: std::collections::BTreeMap<String, Vec<i32>> =
        flatten_params(&mpd).into_iter().map(|(k, v)| (k, v.shape().to_vec())).collect();
    assert_eq!(got, want);
}

#[test]
fn v2pro_periods_add_two_period_discriminators() {
    let cfg = Config { periods: vec![2, 3, 5, 7, 11, 17, 23], ..Config::default() };
    let mpd = Mpd::new(&cfg).unwrap();
    let total: usize = flatten_params(&mpd).values().map(|a| a.size()).sum();
    // Each DiscriminatorP has 8,221,154 parameters whatever its period
    // (8,218,433 weights and biases + 2,721 gains); S has 5,641,362.
    let per_p = 8_221_154;
    assert_eq!(5_641_362 + 5 * per_p, 46_747_132);
    assert_eq!(total, 46_747_132 + 2 * per_p);
    assert!(flatten_params(&mpd).contains_key("discriminators.7.conv_post.weight_v"));
}

#[test]
fn bad_period_is_rejected_with_its_field() {
    let err = Mpd::new(&Config { periods: vec![2, 0], ..Config::default() }).unwrap_err().to_string();
    assert!(err.contains("params.periods[1]") && err.contains("found 0"), "{err}");
    let err = Mpd::new(&Config { periods: vec![3, 3], ..Config::default() }).unwrap_err().to_string();
    assert!(err.contains("listed twice"), "{err}");
}

#[test]
fn unknown_param_is_rejected_by_the_registry_path() {
    let spec = sovits_core::spec::ComponentSpec::named("mpd")
        .with_params(serde_json::json!({ "period": [2] }));
    let err = spec.parse_params::<Config>(sovits_core::Kind::Discriminator).unwrap_err().to_string();
    assert!(err.contains("period"), "{err}");
}

#[test]
fn spectral_norm_uses_torch_keys_and_freezes_buffers() {
    let mpd = Mpd::new(&Config { periods: vec![2], use_spectral_norm: true }).unwrap();
    let keys = flatten_params(&mpd);
    let w = &keys["discriminators.1.convs.0.weight_orig"];
    assert_eq!(w.shape(), &[32, 1, 5, 1]);
    assert_eq!(keys["discriminators.1.convs.0.weight_u"].shape(), &[32]);
    assert_eq!(keys["discriminators.1.convs.0.weight_v"].shape(), &[5]);
    assert_eq!(keys["discriminators.0.convs.1.weight_v"].shape(), &[4 * 41]);
    assert!(!keys.keys().any(|k| k.ends_with("weight_g")));
    let trainable = mpd.trainable_parameters().flatten();
    assert!(!trainable.keys().any(|k| k.ends_with("weight_u") || k.ends_with("weight_v")));
    assert!(trainable.contains_key("discriminators.1.convs.0.weight_orig"));
}

#[test]
fn output_shapes_follow_the_reference_for_odd_lengths() {
    // 4099 samples: every period except 1 needs reflect padding.
    let mut mpd = Mpd::new(&Config::default()).unwrap();
    let y = mlx_rs::random::normal::<f32>(&[2, 4099], None, None, None).unwrap();
    let y_hat = mlx_rs::random::normal::<f32>(&[2, 4099], None, None, None).unwrap();
    let out = mpd.forward(&y, &y_hat).unwrap();
    assert_eq!(out.y_d_real.len(), 6);
    // Scale: 4099 -> 4099 -> 1025 -> 257 -> 65 -> 17 -> 17 -> 17.
    assert_eq!(out.y_d_real[0].shape(), &[2, 17]);
    assert_eq!(out.fmap_fake[0][1].shape(), &[2, 1025, 64]);
    for (i, &p) in [2, 3, 5, 7, 11].iter().enumerate() {
        let mut h = (4099 + p - 1) / p;
        for _ in 0..4 {
            h = (h + 2 * 2 - 5) / 3 + 1;
        }
        assert_eq!(out.y_d_fake[i + 1].shape(), &[2, h * p], "period {p}");
        assert_eq!(out.fmap_real[i + 1][4].shape(), &[2, h, p, 1024], "period {p}");
        assert_eq!(out.fmap_real[i + 1].len(), 6);
    }
    let bad = mpd.forward(&y, &Array::zeros::<f32>(&[2, 4098]).unwrap()).unwrap_err().to_string();
    assert!(bad.contains("y_hat"), "{bad}");
}

#[test]
fn registry_builds_mpd_from_a_spec() {
    let _ = sovits_plugin_mpd::Mpd::new; // links this crate's registration
    let reg = sovits_core::registry::find(sovits_core::Kind::Discriminator, "mpd", "discriminators[0]").unwrap();
    let spec = sovits_core::spec::ComponentSpec::named("mpd").with_params(serde_json::json!({ "periods": [2, 3] }));
    let sovits_core::registry::Factory::Discriminator(build) = reg.factory else { panic!("wrong kind") };
    let d = build(&spec, &sovits_core::BuildContext::default()).unwrap();
    let total: usize = flatten_params(&*d).values().map(|a| a.size()).sum();
    assert_eq!(total, 5_641_362 + 2 * 8_221_154);
    assert_eq!((reg.default_config)(), serde_json::json!({ "periods": [2, 3, 5, 7, 11], "use_spectral_norm": false }));
}
