//! Registry wiring and config validation of `stft-mel`.

use serde_json::json;
use sovits_core::components::BuildContext;
use sovits_core::registry::build_frontend;
use sovits_core::spec::ComponentSpec;
use sovits_plugin_stft_mel::Config;

#[test]
fn builds_from_the_registry_with_v2_defaults() {
    let fe = build_frontend(
        &ComponentSpec::named("stft-mel"),
        "frontend",
        &BuildContext::default(),
    )
    .unwrap();
    assert_eq!(
        (
            fe.n_freq(),
            fe.n_mels(),
            fe.hop_length(),
            fe.sampling_rate()
        ),
        (1025, 128, 640, 32000)
    );
}

#[test]
fn unknown_field_is_named() {
    let spec = ComponentSpec::named("stft-mel").with_params(json!({"n_fft": 1024, "hopp": 3}));
    let err = build_frontend(&spec, "frontend", &BuildContext::default())
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("hopp"), "{err}");
}

#[test]
fn hop_must_agree_with_data() {
    let spec = ComponentSpec::named("stft-mel").with_params(json!({"hop_length": 320}));
    let err = build_frontend(&spec, "frontend", &BuildContext::default())
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.contains("hop_length is 320") && err.contains("640"),
        "{err}"
    );
}

#[test]
fn rejects_window_longer_than_fft() {
    let err = Config {
        win_length: 4096,
        ..Config::default()
    }
    .build()
    .err()
    .unwrap()
    .to_string();
    assert!(err.contains("win_length (4096)"), "{err}");
}

#[test]
fn frame_count_is_samples_over_hop() {
    let fe = Config::default().build().unwrap();
    assert_eq!(fe.stft().frames(20480), 32);
    assert_eq!(fe.stft().frames(128000), 200);
}

#[test]
fn dft_path_is_selectable_and_validated() {
    let ctx = BuildContext::default();
    let spec = ComponentSpec::named("stft-mel").with_params(json!({"dft": "matmul"}));
    assert!(build_frontend(&spec, "frontend", &ctx).is_ok());
    let spec = ComponentSpec::named("stft-mel").with_params(json!({"dft": "fftw"}));
    let err = build_frontend(&spec, "frontend", &ctx)
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("params.dft"), "{err}");
}
