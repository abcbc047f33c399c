//! `trainer.precision = "bf16"`: the networks compute in bf16 from f32
//! masters (`adamw-bf16`), losses stay f32, and training tracks the f32 run;
//! a bf16 spec with an f32 optimizer is refused.

use std::path::Path;
use std::time::Instant;

use mlx_rs::Dtype;
use sovits_core::batch::Batch;
use sovits_core::components::ParamMap;
use sovits_core::registry;
use sovits_core::nn::noise::SeededNoise;
use sovits_core::train::precision::compute_batch;
use sovits_core::train::{StepReport, Trainer, params};
use sovits_test_support::values;
use sovits_test_support::train_fixtures::{tiny_spec, write_tone_corpus};

/// Steps of the learning-curve comparison and how many final steps are averaged.
const STEPS: usize = 100;
const TAIL: usize = 20;

const BF16: [&str; 3] = ["trainer.precision=bf16", "optimizer_g.name=adamw-bf16", "optimizer_d.name=adamw-bf16"];


/// A two-item tone batch (40 frames each).
fn tone_batch(dir: &Path) -> Batch {
    sovits_plugins::link_all();
    let spec = tiny_spec(&[]);
    let frontend = registry::build_frontend(&spec.frontend, "frontend", &spec.build_context()).expect("frontend");
    let data = dir.join("data");
    write_tone_corpus(&data, 2, 40, &*frontend);
    let ds = sovits_core::data::dataset::Dataset::open(&data, &spec.data, spec.trainer.segment_size, false).expect("dataset");
    let samples: Vec<_> = (0..2).map(|i| (i, ds.read(i).expect("read"))).collect();
    sovits_core::data::collate::collate(samples).expect("collate").to_batch().expect("batch")
}

fn model_params(t: &Trainer) -> (ParamMap, ParamMap) {
    let g = params::collect(&*t.gan.generator, "");
    (g, t.gan.discriminator_params())
}

/// An f32 trainer and a bf16 one (`adamw-bf16`) on the tiny spec with the
/// same `extra` overrides, so both start from the same seed and weights.
fn trainer_pair(extra: &[&str]) -> (Trainer, Trainer) {
    let t32 = Trainer::new(tiny_spec(extra)).expect("f32 trainer");
    let t16 = Trainer::new(tiny_spec(&[extra, &BF16[..]].concat())).expect("bf16 trainer");
    (t32, t16)
}

fn term(r: &StepReport, name: &str) -> f32 {
    r.terms.iter().find(|(k, _)| k == name).map(|(_, v)| *v).unwrap_or_else(|| panic!("no term `{name}` in {:?}", r.terms))
}

fn rel(a: f32, b: f32) -> f32 {
    (a - b).abs() / b.abs()
}

/// Keys of floating parameters in `map` whose dtype is not `want`.
fn off_dtype(map: &ParamMap, want: Dtype, only: Option<&ParamMap>) -> Vec<String> {
    map.iter()
        .filter(|(k, _)| only.is_none_or(|o| o.contains_key(*k)))
        .filter(|(_, v)| matches!(v.dtype(), Dtype::Float32 | Dtype::Bfloat16 | Dtype::Float16) && v.dtype() != want)
        .map(|(k, v)| format!("{k} {:?}", v.dtype()))
        .collect()
}

#[test]
fn bf16_step_computes_in_bf16_and_keeps_f32_masters() {
    let dir = tempfile::tempdir().expect("tempdir");
    let batch = tone_batch(dir.path());
    let (mut t32, mut t16) = trainer_pair(&[]);

    // same spec seed: the same f32 masters
    for (k, m) in t32.g_master.iter().chain(&t32.d_master) {
        let other = t16.g_master.get(k).or_else(|| t16.d_master.get(k)).expect("same keys");
        assert_eq!(values(m), values(other), "initial master `{k}` differs");
    }

    // every floating parameter the models compute with is bf16 (frozen
    // generator groups included), except the f32 decoder (`trainer.f32_modules`
    // defaults to ["dec"]); the discriminators' trainable ones too
    let (g, d) = model_params(&t16);
    let (dec, rest): (ParamMap, ParamMap) = g.into_iter().partition(|(k, _)| k.starts_with("dec."));
    assert!(!dec.is_empty() && !rest.is_empty());
    assert!(off_dtype(&rest, Dtype::Bfloat16, None).is_empty(), "generator: {:?}", off_dtype(&rest, Dtype::Bfloat16, None));
    assert!(off_dtype(&dec, Dtype::Float32, None).is_empty(), "decoder: {:?}", off_dtype(&dec, Dtype::Float32, None));
    let d_trainable = off_dtype(&d, Dtype::Bfloat16, Some(&t16.d_master));
    assert!(d_trainable.is_empty(), "discriminator: {d_trainable:?}");

    // activations: the text/posterior/flow side computes in bf16, the
    // decoder's waveform comes out in f32
    let compute = compute_batch(&batch, t16.spec.trainer.precision).expect("compute batch");
    let out = t16.gan.generator.forward_train(&compute, &mut SeededNoise::new(1).expect("noise")).expect("forward");
    for (what, a) in [("z_p", &out.z_p), ("m_p", &out.m_p), ("logs_q", &out.logs_q), ("z", &out.z)] {
        assert_eq!(a.dtype(), Dtype::Bfloat16, "activation {what}");
    }
    assert_eq!(out.y_hat.dtype(), Dtype::Float32, "decoder output");

    let r32 = t32.train_step(&batch).expect("f32 step");
    let r16 = t16.train_step(&batch).expect("bf16 step");
    assert!(r32.skipped.is_none() && r16.skipped.is_none(), "{:?} / {:?}", r32.skipped, r16.skipped);
    assert_eq!(r32.y_hat.as_ref().expect("y_hat").dtype(), Dtype::Float32);

    // masters stay f32 and the models keep bf16 compute copies after the update
    let bad: Vec<_> = t16.g_master.iter().chain(&t16.d_master).filter(|(_, v)| v.dtype() != Dtype::Float32).map(|(k, _)| k).collect();
    assert!(bad.is_empty(), "non-f32 masters: {bad:?}");
    let (g, _) = model_params(&t16);
    let rest: ParamMap = g.into_iter().filter(|(k, _)| !k.starts_with("dec.")).collect();
    assert!(off_dtype(&rest, Dtype::Bfloat16, None).is_empty());
    // checkpoints save the f32 copies of the frozen generator parameters
    assert!(!t16.g_frozen.is_empty() && t16.g_frozen.values().all(|v| v.dtype() == Dtype::Float32));
    for (k, v) in &t16.g_frozen {
        assert_eq!(values(v), values(&params::collect(&*t32.gan.generator, "")[k]), "frozen `{k}` lost precision");
    }

}

/// Step-1 losses in bf16 within 1% of f32 (same seed, same weights). Measured
/// after weight norm was made to take its norm in f32: g_total 244.779 vs
/// 244.760, d_total 2.02185 vs 2.02194, mel L1 4.5383 vs 4.5360 (<= 0.05%);
/// before that fix the bf16 discriminator was 6.7% off before any update.
#[test]
fn bf16_step_one_losses_track_f32() {
    let dir = tempfile::tempdir().expect("tempdir");
    let batch = tone_batch(dir.path());
    let (mut t32, mut t16) = trainer_pair(&[]);
    let r32 = t32.train_step(&batch).expect("f32 step");
    let r16 = t16.train_step(&batch).expect("bf16 step");
    // step-1 losses: 1% (bf16 keeps 8 mantissa bits, ~0.4% per rounding;
    // the losses average many such roundings, so 1% is ~2.5 ulps of slack)
    for (what, a, b) in [
        ("g_total", r16.g_total, r32.g_total),
        ("d_total", r16.d_total, r32.d_total),
        ("g/mel-l1", term(&r16, "g/mel-l1"), term(&r32, "g/mel-l1")),
    ] {
        assert!(rel(a, b) < 0.01, "step-1 {what}: bf16 {a} vs f32 {b} ({:.3}%)", 100.0 * rel(a, b));
    }
}

/// Learning curve: the mean mel L1 of the last 20 of 100 steps in bf16 within
/// 5% of f32, on the tiny generator with the one-weight test discriminator
/// (`toy-disc`): the claim is about the generator's bf16 compute, and the
/// real discriminators made the pair take 11 min in a debug build. Measured
/// (this form, debug build, 2-core machine under load): f32 4.536 -> 3.151,
/// bf16 3.213 (1.94%), 100 steps x2 in 201 s wall (~110 s CPU). With the
/// real MPD (the previous, ignored form): f32 4.49 -> 3.127, bf16 3.152 (0.8%).
///
/// Why lr 5e-4 and not the tiny spec's 1e-3: GAN training on one batch is
/// chaotic, and the comparison is only meaningful where f32's own noise
/// floor is below 5%. With the real MPD, an f32 run started from
/// bf16-rounded weights ends 1.9% from the f32 run at 5e-4 but 9.1% at 1e-3;
/// with `toy-disc` at 1e-3, 60 steps, bf16 ended 4.66% from f32 (too close
/// to the bound to be a test). At the reference's 1e-4, f32 learns only 3% in
/// 100 steps. Before `nn::mixed` and the f32 decoder
/// (`trainer.f32_modules`), bf16 was 31.6% behind at 1e-3.
#[test]
fn bf16_losses_track_f32() {
    let dir = tempfile::tempdir().expect("tempdir");
    let batch = tone_batch(dir.path());
    sovits_toy_disc::link();
    let lr = ["optimizer_g.learning_rate=0.0005", "optimizer_d.learning_rate=0.0005", r#"discriminators=[{"name":"toy-disc"}]"#];
    let (mut t32, mut t16) = trainer_pair(&lr);
    let r32 = t32.train_step(&batch).expect("f32 step");
    let r16 = t16.train_step(&batch).expect("bf16 step");

    let started = Instant::now();
    let mut mel32 = vec![term(&r32, "g/mel-l1")];
    let mut mel16 = vec![term(&r16, "g/mel-l1")];
    for _ in 1..STEPS {
        let a = t32.train_step(&batch).expect("f32 step");
        let b = t16.train_step(&batch).expect("bf16 step");
        assert!(a.skipped.is_none() && b.skipped.is_none(), "{:?} / {:?}", a.skipped, b.skipped);
        mel32.push(term(&a, "g/mel-l1"));
        mel16.push(term(&b, "g/mel-l1"));
    }
    let tail = |m: &[f32]| m[STEPS - TAIL..].iter().sum::<f32>() / TAIL as f32;
    let (m32, m16) = (tail(&mel32), tail(&mel16));
    println!(
        "{STEPS} steps x2 in {:.1} s; mel L1 step 1 {} -> last-{TAIL} mean f32 {m32}, bf16 {m16} ({:.2}%)",
        started.elapsed().as_secs_f64(),
        mel32[0],
        100.0 * rel(m16, m32)
    );
    assert!(m32 < 0.8 * mel32[0], "the f32 run must learn for the comparison to mean anything: {} -> {m32}", mel32[0]);
    assert!(rel(m16, m32) < 0.05, "last-{TAIL} mean mel L1: bf16 {m16} vs f32 {m32}");
}

#[test]
fn bf16_precision_with_an_f32_optimizer_is_refused() {
    sovits_plugins::link_all();
    for sets in [&["trainer.precision=bf16", "optimizer_d.name=adamw-bf16"][..], &["optimizer_g.name=adamw-bf16", "optimizer_d.name=adamw-bf16"][..]] {
        let err = match Trainer::new(tiny_spec(sets)) {
            Ok(_) => panic!("{sets:?} accepted"),
            Err(e) => e.to_string(),
        };
        assert!(err.contains("trainer.precision") && err.contains("optimizer_g.name"), "{sets:?}: {err}");
    }
}


#[test]
fn unknown_f32_module_is_refused_with_the_field() {
    sovits_plugins::link_all();
    let mut sets = vec![r#"trainer.f32_modules=["dec","decoder"]"#];
    sets.extend(BF16);
    let err = match Trainer::new(tiny_spec(&sets)) {
        Ok(_) => panic!("a misspelt f32 module was accepted"),
        Err(e) => e.to_string(),
    };
    assert!(err.contains("trainer.f32_modules[1]") && err.contains("`decoder`") && err.contains("dec"), "{err}");
    // under f32 the list is unused and not checked
    assert!(Trainer::new(tiny_spec(&[r#"trainer.f32_modules=["decoder"]"#])).is_ok());
}
