//! Small, self-consistent training corpora: harmonic tones whose stored
//! spectrogram is our own frontend's linear spectrogram of the stored audio,
//! so a model can actually learn the mapping within a test's step budget.

use std::path::Path;

use mlx_rs::Array;
use sovits_core::{Spec, SpectralFrontend};
use sovits_core::data::Folder;
use sovits_core::data::metadata::{ItemMeta, Metadata, Units};
use sovits_core::data::npy;
use sovits_core::train::StepReport;
use sovits_core::train::run::Observer;

use crate::data_fixtures::{HOP, SR};
use crate::host::values;

/// A tone of `frames * HOP` samples: fundamental `f0` plus four harmonics.
pub fn tone(frames: usize, f0: f32) -> Vec<f32> {
    let n = frames * HOP;
    (0..n)
        .map(|i| {
            let t = i as f32 / SR as f32;
            (1..=5).map(|h| 0.3 / h as f32 * (2.0 * std::f32::consts::PI * f0 * h as f32 * t).sin()).sum()
        })
        .collect()
}

/// Writes `n` tone items of `frames` frames each into `dir` (semantic ids, no
/// ssl), their spectra computed by `frontend`.
pub fn write_tone_corpus(dir: &Path, n: usize, frames: usize, frontend: &dyn SpectralFrontend) -> Metadata {
    for f in Folder::ALL {
        if f != Folder::Ssl && f != Folder::Sv {
            std::fs::create_dir_all(dir.join(f.name())).expect("create corpus folder");
        }
    }
    let mut items = Vec::new();
    for i in 0..n {
        let id = format!("tone_{i:02}");
        let audio = tone(frames, 110.0 + 35.0 * i as f32);
        let spec = frontend.linear(&Array::from_slice(&audio, &[1, audio.len() as i32])).expect("linear spectrogram");
        assert_eq!(spec.shape()[1] as usize, frames, "frontend frame count");
        let spec_t = values(&spec.transpose_axes(&[0, 2, 1]).expect("transpose"));
        npy::write_f32(&Folder::Audio.file(dir, &id), &[audio.len()], &audio).expect("audio");
        npy::write_f32(&Folder::Spec.file(dir, &id), &[1025, frames], &spec_t).expect("spec");
        let phonemes: Vec<i32> = (0..frames / 3 + 2).map(|k| ((k * 11 + i * 5) % 700 + 1) as i32).collect();
        npy::write_i32(&Folder::PhonemeIds.file(dir, &id), &[phonemes.len()], &phonemes).expect("phonemes");
        let sem: Vec<i32> = (0..frames / 2).map(|k| ((k * 17 + i * 29) % 1024) as i32).collect();
        npy::write_i32(&Folder::SemanticIds.file(dir, &id), &[sem.len()], &sem).expect("semantic");
        items.push(ItemMeta {
            id: id.clone(),
            speaker: "tones".into(),
            text: format!("tone {i}"),
            stem: None,
            samples: Some(audio.len() as u64),
            frames: Some(frames as u64),
            phonemes: Some(phonemes.len() as u64),
        });
    }
    let meta = Metadata { version: 1, sampling_rate: SR, hop_length: HOP, units: Units::KmeansStandin, items };
    meta.save(dir).expect("metadata");
    meta
}

/// Adds an `sv/` folder (GPT-SoVITS v2Pro speaker-verification embeddings,
/// `[20480]` f32) with a synthetic embedding per item of `meta`: ERes2NetV2
/// cannot run here, and training only needs a fixed vector per item.
pub fn write_sv_folder(dir: &Path, meta: &Metadata) {
    std::fs::create_dir_all(dir.join(Folder::Sv.name())).expect("create sv folder");
    for (i, item) in meta.items.iter().enumerate() {
        let sv = crate::signals::pseudo_random(sovits_core::data::layout::SV_DIM, 1000 + i as u64);
        npy::write_f32(&Folder::Sv.file(dir, item.stem()), &[sv.len()], &sv).expect("sv");
    }
}

/// The tiny training spec of the trainer tests: `configs/tiny.json` (the
/// reference fixtures' small generator) with the MPD cut to the scale
/// discriminator plus period 2, a 4-frame segment, batch 2 and a 10x learning
/// rate so learning shows within a test's step budget; `extra` overrides last.
pub fn tiny_spec(extra: &[&str]) -> Spec {
    let mut sets: Vec<String> = vec![
        r#"discriminators=[{"name":"mpd","params":{"periods":[2]}}]"#.into(),
        "trainer.segment_size=2560".into(),
        "trainer.batch_size=2".into(),
        "trainer.checkpoint_every=0".into(),
        "optimizer_g.learning_rate=0.001".into(),
        "optimizer_d.learning_rate=0.001".into(),
    ];
    sets.extend(extra.iter().map(|s| s.to_string()));
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs/tiny.json");
    Spec::load(&path, &sets).expect("tiny spec")
}

/// An observer that keeps every step report and prints nothing.
pub struct Quiet(pub Vec<StepReport>);

impl Observer for Quiet {
    fn start(&mut self, _: u64, _: Option<u64>) {}
    fn step(&mut self, r: &StepReport, _: &[String], _: f64) {
        self.0.push(r.clone());
    }
    fn message(&mut self, _: &str) {}
}

/// Checks the dataset at `data` (every item usable, panicking with the
/// report otherwise), then trains `spec` on it for one step into `out` and
/// returns that step, asserting its losses are finite and it was not skipped:
/// the "an imported dataset trains" end of the import tests.
pub fn check_and_train_one_step(spec: Spec, data: &Path, out: &Path) -> StepReport {
    let report = sovits_core::data::dataset::Dataset::check(data, &spec.data, spec.trainer.segment_size).expect("dataset check");
    assert!(report.is_ok(), "{report}");
    let opts = sovits_core::train::run::RunOptions {
        data: data.to_path_buf(),
        out: out.to_path_buf(),
        resume: false,
        init_from: None,
        init_may_lack: Vec::new(),
        max_steps: Some(1),
    };
    let mut obs = Quiet(Vec::new());
    let stop = std::sync::atomic::AtomicBool::new(false);
    let summary = sovits_core::train::run::run(spec, &opts, sovits_core::train::run::RunHooks::new(&stop, &mut obs)).expect("one training step");
    assert_eq!(summary.steps, 1);
    let step = obs.0.into_iter().next().expect("one step report");
    assert!(step.g_total.is_finite() && step.d_total.is_finite() && step.skipped.is_none(), "{step:?}");
    step
}
