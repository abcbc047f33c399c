//! Swapping components is a spec edit: `mpd` -> `mpd` + `mrd` and `lsgan` ->
//! `hinge` build from the spec and produce finite D and G losses in one
//! training step, with no code change.

use std::path::Path;

use sovits_core::Spec;
use sovits_core::registry;
use sovits_core::train::Trainer;
use sovits_test_support::train_fixtures::write_tone_corpus;

fn step_terms(sets: &[&str]) -> Vec<(String, f32)> {
    sovits_plugins::link_all();
    let mut all: Vec<String> = vec!["trainer.segment_size=2560".into(), "trainer.batch_size=1".into()];
    all.extend(sets.iter().map(|s| s.to_string()));
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../configs/tiny.json");
    let spec = Spec::load(&path, &all).expect("spec");
    let dir = tempfile::tempdir().expect("tempdir");
    let frontend = registry::build_frontend(&spec.frontend, "frontend", &spec.build_context()).expect("frontend");
    write_tone_corpus(dir.path(), 1, 32, &*frontend);
    let ds = sovits_core::data::dataset::Dataset::open(dir.path(), &spec.data, spec.trainer.segment_size, false).expect("dataset");
    let batch = sovits_core::data::collate::collate(vec![(0, ds.read(0).expect("read"))]).expect("collate").to_batch().expect("batch");
    let mut t = Trainer::new(spec).expect("trainer");
    let r = t.train_step(&batch).expect("step");
    assert!(r.skipped.is_none() && r.g_total.is_finite() && r.d_total.is_finite(), "{r:?}");
    r.terms
}

#[test]
fn hinge_replaces_lsgan_by_spec_edit() {
    let terms = step_terms(&[
        r#"discriminators=[{"name":"mpd","params":{"periods":[2]}}]"#,
        r#"losses=[{"name":"hinge"},{"name":"feature-matching","weight":2},{"name":"mel-l1","weight":45},{"name":"kl"}]"#,
    ]);
    let names: Vec<&str> = terms.iter().map(|(k, _)| k.as_str()).collect();
    assert!(names.contains(&"d/hinge") && names.contains(&"g/hinge"), "{names:?}");
    assert!(!names.iter().any(|n| n.contains("lsgan")), "{names:?}");
}

#[test]
fn mrd_joins_mpd_by_spec_edit() {
    let terms = step_terms(&[r#"discriminators=[{"name":"mpd","params":{"periods":[2]}},{"name":"mrd","params":{"resolutions":[[512,128,512]]}}]"#]);
    // lsgan parts are keyed `<discriminator>.<sub>`: both discriminators took part
    let parts: Vec<&str> = terms.iter().map(|(k, _)| k.as_str()).filter(|k| k.starts_with("d/lsgan/")).collect();
    assert!(parts.iter().any(|k| k.starts_with("d/lsgan/0.")) && parts.iter().any(|k| k.starts_with("d/lsgan/1.")), "{parts:?}");
    assert!(terms.iter().all(|(_, v)| v.is_finite()), "{terms:?}");
}
