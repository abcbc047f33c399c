//! The JSON spec and the registry: every shipped config resolves, a test-only
//! plugin crate is usable from a spec with no core change, and each kind of
//! user error produces its message (asserted on the text).

use std::path::{Path, PathBuf};

use mlx_rs::Array;
use sovits_core::components::{BuildContext, LossContext};
use sovits_core::registry::{self, Kind};
use sovits_core::spec::ComponentSpec;
use sovits_core::{Batch, Spec, VitsTrainOutput};

fn configs_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../configs")
}

fn link() {
    sovits_plugins::link_all();
    sovits_toy_plugin::link();
    sovits_toy_disc::link();
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write temp spec");
    p
}

fn all_specs(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("configs dir").flatten() {
        let p = entry.path();
        if p.is_dir() {
            all_specs(&p, out);
        } else if p.extension().is_some_and(|e| e == "json") {
            out.push(p);
        }
    }
}

#[test]
fn every_shipped_spec_resolves() {
    let mut specs = Vec::new();
    all_specs(&configs_dir(), &mut specs);
    assert!(specs.len() >= 3, "expected vits_default.json and ablations, found {specs:?}");
    let default = Spec::load(&configs_dir().join("vits_default.json"), &[]).expect("default spec");
    let builtin = Spec::default();
    let names = |s: &Spec| -> Vec<(String, Option<f32>)> {
        let mut v = vec![(s.generator.name.clone(), None), (s.frontend.name.clone(), None)];
        v.extend(s.discriminators.iter().chain(&s.losses).map(|c| (c.name.clone(), c.weight)));
        v
    };
    assert_eq!(names(&default), names(&builtin), "vits_default.json must state the built-in v2 recipe");
    assert_eq!((&default.optimizer_g, &default.optimizer_d), (&builtin.optimizer_g, &builtin.optimizer_d));
    assert_eq!((&default.trainer, &default.schedule, &default.data), (&builtin.trainer, &builtin.schedule, &builtin.data));
    for p in specs {
        let spec = Spec::load(&p, &[]).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        assert_eq!(spec.trainer.segment_size % spec.data.hop_length, 0);
    }
}

#[test]
fn ablation_states_only_its_difference() {
    let spec = Spec::load(&configs_dir().join("ablations/no-fm.json"), &[]).expect("no-fm");
    assert!(spec.losses.iter().all(|l| l.name != "feature-matching"));
    assert_eq!(spec.optimizer_g.groups[0].lr_scale, 0.4, "inherited from the base");
    let bf16 = Spec::load(&configs_dir().join("ablations/grad-clip-bf16.json"), &[]).expect("bf16");
    assert_eq!(bf16.trainer.grad_clip, Some(5.0));
    assert_eq!(bf16.optimizer_g.learning_rate, 1e-4, "nested objects merge key by key");
}

#[test]
fn toy_plugins_build_and_run_from_a_spec() {
    link();
    let dir = tempfile::tempdir().expect("tempdir");
    let base = configs_dir().join("vits_default.json");
    let path = write(
        dir.path(),
        "toy.json",
        &format!(
            r#"{{"extends": "{}", "discriminators": [{{"name": "toy-disc", "params": {{"scale": 2.0, "channels": 2}}}}],
               "losses": [{{"name": "toy-l1", "weight": 3.0}}]}}"#,
            base.display()
        ),
    );
    let spec = Spec::load(&path, &[]).expect("toy spec");
    let ctx = BuildContext::default();
    let mut d = registry::build_discriminator(&spec.discriminators[0], &spec.discriminators[0].at, &ctx).expect("toy-disc");
    let y = Array::from_slice(&[1.0f32, -1.0, 0.5, 0.0], &[1, 4]);
    let y_hat = Array::from_slice(&[0.0f32, 0.0, 0.5, 1.0], &[1, 4]);
    let out = d.forward(&y, &y_hat).expect("forward");
    assert_eq!(out.y_d_real.len(), 2);
    assert_eq!(sovits_test_support::values(&out.y_d_real[0]), vec![2.0, -2.0, 1.0, 0.0]);

    let loss = registry::build_loss(&spec.losses[0], &spec.losses[0].at, &ctx).expect("toy-l1");
    assert_eq!(spec.losses[0].weight, Some(3.0));
    let z = Array::zeros::<f32>(&[1, 1, 1]).expect("zeros");
    let generated = VitsTrainOutput {
        y_hat: y_hat.clone(), ids_slice: Array::from_slice(&[0i32], &[1]), z_mask: z.clone(), z: z.clone(),
        z_p: z.clone(), m_p: z.clone(), logs_p: z.clone(), m_q: z.clone(), logs_q: z.clone(), kl_ssl: Array::from_f32(0.0),
    };
    let batch = Batch {
        ssl: None, semantic: None, spec: z.clone(), spec_lengths: Array::from_slice(&[1i32], &[1]),
        text: Array::from_slice(&[1i32], &[1, 1]), text_lengths: Array::from_slice(&[1i32], &[1]),
        audio: y.clone(), audio_lengths: Array::from_slice(&[4i32], &[1]), sv: None,
    };
    struct NoFrontend;
    impl sovits_core::SpectralFrontend for NoFrontend {
        fn hop_length(&self) -> usize { 640 }
        fn sampling_rate(&self) -> usize { 32000 }
        fn n_mels(&self) -> usize { 128 }
        fn n_freq(&self) -> usize { 1025 }
        fn linear(&self, a: &Array) -> sovits_core::Result<Array> { Ok(a.clone()) }
        fn mel(&self, a: &Array) -> sovits_core::Result<Array> { Ok(a.clone()) }
        fn spec_to_mel(&self, a: &Array) -> sovits_core::Result<Array> { Ok(a.clone()) }
    }
    let ctx = LossContext { batch: &batch, y: &y, y_hat: &y_hat, generated: &generated, disc: &[out], frontend: &NoFrontend, segment_frames: 1 };
    let value = loss.generator(&ctx).expect("loss").expect("generator side");
    assert_eq!(sovits_test_support::values(&value.value), vec![(1.0 + 1.0 + 0.0 + 1.0) / 4.0]);
    assert!(loss.discriminator(&ctx).expect("d side").is_none());
}

#[test]
fn unknown_name_lists_known_and_closest() {
    link();
    let err = registry::find(Kind::Discriminator, "toy-dsc", "discriminators[1]").err().expect("must fail").to_string();
    assert!(err.starts_with("unknown discriminator `toy-dsc` at discriminators[1]; did you mean `toy-disc`? known: "), "{err}");
    assert!(err.contains("toy-disc"), "{err}");
    let err = registry::find(Kind::Loss, "zzzzzzzz", "losses[0]").err().expect("must fail").to_string();
    assert!(!err.contains("did you mean"), "no suggestion for a far name: {err}");
}

#[test]
fn bad_param_type_and_unknown_param_name_the_field() {
    link();
    let ctx = BuildContext::default();
    let mut entry = ComponentSpec::named("toy-disc").with_params(serde_json::json!({"channels": "two"}));
    entry.at = "discriminators[0]".into();
    let err = registry::build_discriminator(&entry, &entry.at, &ctx).err().expect("must fail").to_string();
    assert!(err.contains("bad params for discriminator `toy-disc` at discriminators[0]: field `params.channels`"), "{err}");
    assert!(err.contains("invalid type: string \"two\""), "{err}");
    let entry = ComponentSpec::named("toy-disc").with_params(serde_json::json!({"chanels": 2}));
    let err = registry::build_discriminator(&entry, &entry.at, &ctx).err().expect("must fail").to_string();
    assert!(err.contains("unknown field `chanels`"), "{err}");
}

#[test]
fn unknown_spec_field_names_its_path() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = write(dir.path(), "typo.json", r#"{"trainer": {"batch_sise": 4}}"#);
    let err = Spec::load(&p, &[]).err().expect("must fail").to_string();
    assert!(err.contains("typo.json") && err.contains("field `trainer.batch_sise`") && err.contains("unknown field `batch_sise`"), "{err}");
    let p = write(dir.path(), "type.json", r#"{"trainer": {"batch_size": "four"}}"#);
    let err = Spec::load(&p, &[]).err().expect("must fail").to_string();
    assert!(err.contains("field `trainer.batch_size`") && err.contains("invalid type"), "{err}");
}

#[test]
fn missing_file_is_named() {
    let err = Spec::load(Path::new("/nonexistent/spec.json"), &[]).err().expect("must fail").to_string();
    assert!(err.starts_with("cannot read spec /nonexistent/spec.json"), "{err}");
    let dir = tempfile::tempdir().expect("tempdir");
    let p = write(dir.path(), "a.json", r#"{"extends": "missing-base.json"}"#);
    let err = Spec::load(&p, &[]).err().expect("must fail").to_string();
    assert!(err.contains("missing-base.json"), "{err}");
}

#[test]
fn cyclic_extends_is_reported_with_the_chain() {
    let dir = tempfile::tempdir().expect("tempdir");
    let a = write(dir.path(), "a.json", r#"{"extends": "b.json"}"#);
    write(dir.path(), "b.json", r#"{"extends": "a.json"}"#);
    let err = Spec::load(&a, &[]).err().expect("must fail").to_string();
    assert!(err.starts_with("cyclic `extends` in spec: ") && err.contains("a.json -> ") && err.contains("b.json"), "{err}");
}

#[test]
fn segment_size_must_be_a_multiple_of_the_hop() {
    let base = configs_dir().join("vits_default.json");
    let err = Spec::load(&base, &["trainer.segment_size=8192".into()]).err().expect("must fail").to_string();
    assert_eq!(
        err,
        "invalid value for `trainer.segment_size`: 8192 samples is not a positive multiple of data.hop_length 640 (nearest valid: 7680 or 8320)"
    );
    let ok = Spec::load(&base, &["trainer.segment_size=7680".into()]).expect("7680 is valid");
    assert_eq!(ok.segment_frames(), 12);
}

#[test]
fn overrides_reach_nested_list_entries() {
    let base = configs_dir().join("vits_default.json");
    let spec = Spec::load(&base, &["losses.2.weight=30".into(), "data.dir=demo".into()]).expect("overrides");
    assert_eq!(spec.losses[2].weight, Some(30.0));
    assert_eq!(spec.data.dir.as_deref(), Some(Path::new("demo")));
    let err = Spec::load(&base, &["losses.9.weight=1".into()]).err().expect("must fail").to_string();
    assert!(err.contains("index 9 out of range"), "{err}");
}
