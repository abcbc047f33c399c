//! Evaluation inside a training run and across checkpoints, on the tiny
//! generator and a tone corpus: held-out items never reach a batch, eval
//! metrics land in metrics.jsonl, samples (wav, png) and `best/` are written,
//! and two checkpoints compare in one table.

use std::path::Path;
use std::sync::atomic::AtomicBool;

use sovits_core::Spec;
use sovits_core::data::dataset::Dataset;
use sovits_core::nn::torch_layout::{load_strict, read_safetensors};
use sovits_core::registry;
use sovits_core::train::evaluate::{BEST_FILE, BestRecord};
use sovits_core::train::run::{Observer, RunHooks, RunOptions, run};
use sovits_core::train::{StepReport, checkpoint};
use sovits_eval::report::{Column, to_markdown};
use sovits_eval::{HeldOutEvaluator, Scorer, evaluate};
use sovits_test_support::train_fixtures::write_tone_corpus;

fn tiny_spec() -> Spec {
    let sets: Vec<String> = [
        r#"discriminators=[{"name":"mpd","params":{"periods":[2]}}]"#,
        "trainer.segment_size=2560",
        "trainer.batch_size=2",
        "trainer.checkpoint_every=1",
        "trainer.keep_checkpoints=0",
        "trainer.eval_every=2",
        "data.eval_items=1",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    Spec::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../configs/tiny.json"), &sets).expect("tiny spec")
}

#[derive(Default)]
struct Seen(Vec<String>);
impl Observer for Seen {
    fn start(&mut self, _: u64, _: Option<u64>) {}
    fn step(&mut self, _: &StepReport, items: &[String], _: f64) {
        self.0.extend(items.iter().cloned());
    }
    fn message(&mut self, _: &str) {}
}

#[test]
fn run_evaluates_held_out_items_writes_samples_and_keeps_best() {
    sovits_plugins::link_all();
    let dir = tempfile::tempdir().expect("tempdir");
    let spec = tiny_spec();
    let frontend = registry::build_frontend(&spec.frontend, "frontend", &spec.build_context()).expect("frontend");
    let data = dir.path().join("data");
    write_tone_corpus(&data, 3, 32, &*frontend);
    let out = dir.path().join("run");
    let opts = RunOptions { data: data.clone(), out: out.clone(), resume: false, init_from: None, init_may_lack: Vec::new(), max_steps: Some(4) };
    let mut seen = Seen::default();
    let mut evaluator = HeldOutEvaluator::new(&spec).expect("evaluator");
    let stop = AtomicBool::new(false);
    run(spec.clone(), &opts, RunHooks::new(&stop, &mut seen).with_evaluator(&mut evaluator)).expect("run");

    // the last item is held out: it never appears in a training batch
    assert!(!seen.0.is_empty() && seen.0.iter().all(|id| id != "tone_02"), "trained on {:?}", seen.0);

    let text = std::fs::read_to_string(out.join("metrics.jsonl")).expect("metrics");
    let evals: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("json line"))
        .filter(|v| v.get("eval/mel_l1").is_some())
        .collect();
    assert_eq!(evals.iter().map(|v| v["step"].as_u64()).collect::<Vec<_>>(), vec![Some(2), Some(4)]);
    for key in ["eval/recon/mrstft", "eval/recon/mcd_db", "eval/recon/vde", "eval/infer/mel_l1", "eval/infer/mcd_db"] {
        assert!(evals[0][key].as_f64().is_some_and(f64::is_finite), "{key} missing or not finite: {}", evals[0]);
    }
    for name in ["tone_02_real.wav", "tone_02_recon.wav", "tone_02_infer.wav", "tone_02_mel.png"] {
        let p = out.join("samples/step-4").join(name);
        assert!(p.is_file(), "{} not written", p.display());
    }
    let wav = hound::WavReader::open(out.join("samples/step-4/tone_02_recon.wav")).expect("wav");
    assert_eq!((wav.spec().sample_rate, wav.spec().bits_per_sample, wav.len()), (32000, 16, 32 * 640));
    let png = std::fs::read(out.join("samples/step-4/tone_02_mel.png")).expect("png");
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");

    // best/ holds the checkpoint of the lower eval/mel_l1
    let best: BestRecord =
        serde_json::from_str(&std::fs::read_to_string(out.join("best").join(BEST_FILE)).expect("best.json")).expect("record");
    let values: Vec<f64> = evals.iter().map(|v| v["eval/mel_l1"].as_f64().expect("value")).collect();
    let (want_step, want) = if values[1] < values[0] { (4, values[1]) } else { (2, values[0]) };
    assert_eq!((best.step, best.value), (want_step, want));
    assert_eq!(checkpoint::read_meta(&out.join("best")).expect("best meta").step, want_step);

    // eval of two checkpoints side by side reproduces the run's numbers for the same weights
    let ds = Dataset::open(&data, &spec.data, spec.trainer.segment_size, false).expect("dataset");
    let mut columns = Vec::new();
    for step in [2u64, 4] {
        let ckpt = out.join("checkpoints").join(checkpoint::dir_name(step));
        let mut g = registry::build_generator(&spec.generator, "generator", &spec.build_context()).expect("generator");
        load_strict(&mut *g, &read_safetensors(&ckpt.join("G.safetensors")).expect("read")).expect("load");
        let fe = registry::build_frontend(&spec.frontend, "frontend", &spec.build_context()).expect("frontend");
        let e = evaluate(&mut *g, &Scorer::new(fe).expect("scorer"), &ds, &[2], spec.trainer.seed, None).expect("evaluate");
        let logged = evals[(step / 2 - 1) as usize]["eval/mel_l1"].as_f64().expect("logged");
        // Same weights, same seed, same code path: only MLX's evaluation order
        // could differ, so allow 1e-5 relative.
        assert!((e.metrics["eval/mel_l1"] - logged).abs() <= 1e-5 * logged.abs(), "step {step}: {} vs logged {logged}", e.metrics["eval/mel_l1"]);
        columns.push(Column { label: format!("step-{step}"), evaluation: e });
    }
    let table = to_markdown(&columns);
    println!("{table}");
    assert!(table.starts_with("| metric (lower is better) | step-2 | step-4 |"), "{table}");
    assert!(table.contains("| eval/infer/f0_rmse_cents |") || table.contains("| eval/recon/vde |"), "{table}");
}
