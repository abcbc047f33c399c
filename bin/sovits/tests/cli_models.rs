//! Model commands end to end through the real binary, on the reference tiny
//! generator and a tone corpus: `train --init-from` a `.safetensors`, a
//! checkpoint directory and a GPT-SoVITS `.pth` (the weights the run starts
//! from are the file's), `export --format safetensors`, training with
//! evaluation (mel figures and curves a person can read), `eval` of two
//! checkpoints side by side, and `infer` with a model known to make sound.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use mlx_rs::{Array, Dtype};
use serde_json::Value;
use sovits_core::data::npy;
use sovits_core::nn::torch_layout::read_safetensors;
use sovits_core::train::checkpoint;
use sovits_core::{Spec, registry};
use sovits_test_support::cli::{png_size, read_wav, rms, run_ok, s, text};
use sovits_test_support::values as host;
use sovits_test_support::train_fixtures::write_tone_corpus;

const EXE: &str = env!("CARGO_BIN_EXE_sovits");

fn repo(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(rel)
}

/// `--spec configs/tiny.json` made cheap: scale + period-2 MPD, 4-frame segment.
fn tiny_args<'a>(rest: &[&'a str]) -> Vec<&'a str> {
    let tiny: &'static str = Box::leak(repo("configs/tiny.json").to_string_lossy().into_owned().into_boxed_str());
    let mut v = vec![
        "--spec", tiny,
        "--set", r#"discriminators=[{"name":"mpd","params":{"periods":[2]}}]"#,
        "--set", "trainer.segment_size=2560",
        "--set", "trainer.checkpoint_every=0",
        "--set", "data.eval_items=1",
    ];
    v.extend_from_slice(rest);
    v
}

fn corpus(dir: &Path) -> PathBuf {
    sovits_plugins::link_all();
    let spec = Spec::load(&repo("configs/tiny.json"), &[]).expect("tiny spec");
    let frontend = registry::build_frontend(&spec.frontend, "frontend", &spec.build_context()).expect("frontend");
    let data = dir.join("data");
    write_tone_corpus(&data, 3, 32, &*frontend);
    data
}

fn weights(path: &Path) -> HashMap<String, Vec<f32>> {
    read_safetensors(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())).iter().map(|(k, v)| (k.clone(), host(v))).collect()
}

fn step0(run: &Path) -> PathBuf {
    run.join("checkpoints").join(checkpoint::dir_name(0))
}

fn fp16(x: &[f32]) -> Vec<f32> {
    host(&Array::from_slice(x, &[x.len() as i32]).as_dtype(Dtype::Float16).expect("fp16"))
}

#[test]
fn init_from_safetensors_directory_and_pth_start_from_those_weights_and_export_writes_them() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = corpus(dir.path());
    let reference = repo("tests/golden/sovits_v2/tiny_G.safetensors");
    let want = weights(&reference);

    let run_st = dir.path().join("from-safetensors");
    let out = run_ok(EXE, &tiny_args(&["train", "--data", s(&data), "--out", s(&run_st), "--init-from", s(&reference), "--steps", "0"]));
    assert!(text(&out.stdout).contains("done after 0 steps"), "{}", text(&out.stdout));
    let got = weights(&step0(&run_st).join("G.safetensors"));
    for (k, v) in &want {
        assert_eq!(got.get(k), Some(v), "`{k}` is not the file's value after --init-from {}", reference.display());
    }

    let run_dir = dir.path().join("from-directory");
    run_ok(EXE, &tiny_args(&["train", "--data", s(&data), "--out", s(&run_dir), "--init-from", s(&step0(&run_st)), "--steps", "0"]));
    assert_eq!(weights(&step0(&run_dir).join("G.safetensors")), got, "G after --init-from a checkpoint directory");
    assert_eq!(weights(&step0(&run_dir).join("D.safetensors")), weights(&step0(&run_st).join("D.safetensors")), "D after --init-from a directory");

    // the GPT-SoVITS inference file holds the same model in fp16, without enc_q
    let pth = repo("tests/golden/interop/tiny_G.pth");
    let run_pth = dir.path().join("from-pth");
    run_ok(EXE, &tiny_args(&["train", "--data", s(&data), "--out", s(&run_pth), "--init-from", s(&pth), "--steps", "0"]));
    let from_pth = weights(&step0(&run_pth).join("G.safetensors"));
    let mut compared = 0;
    for (k, v) in want.iter().filter(|(k, _)| !k.starts_with("enc_q.")) {
        assert_eq!(from_pth.get(k).map(|x| fp16(x)), Some(fp16(v)), "`{k}` after --init-from {}", pth.display());
        compared += 1;
    }
    assert!(compared > 400, "only {compared} tensors compared");
    assert!(from_pth.keys().any(|k| k.starts_with("enc_q.")), "enc_q must be kept from initialisation");

    let exported = dir.path().join("G.safetensors");
    run_ok(EXE, &["export", "--ckpt", s(&step0(&run_st)), "--out", s(&exported), "--format", "safetensors"]);
    assert_eq!(weights(&exported), got, "export --format safetensors");
}

#[test]
fn training_eval_and_infer_show_what_a_person_reads_and_hears() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = corpus(dir.path());
    let run = dir.path().join("run");
    // step 0 first (as scripts/demo.sh does, to keep the initial weights), then two more
    run_ok(EXE, &tiny_args(&["train", "--data", s(&data), "--out", s(&run), "--steps", "0"]));
    run_ok(EXE, &tiny_args(&["--set", "trainer.eval_every=2", "train", "--data", s(&data), "--out", s(&run), "--resume", "--steps", "2"]));
    let (w, h) = png_size(&run.join("samples/step-2/tone_02_mel.png"));
    assert!(w >= 800 && h >= 3 * 200, "mel figure {w}x{h}");
    assert!(png_size(&run.join("curves.png")).0 >= 800, "curves.png too narrow");

    let report = dir.path().join("eval.json");
    let samples = dir.path().join("samples");
    let last = run.join("checkpoints").join(checkpoint::dir_name(2));
    let out = run_ok(EXE, &tiny_args(&["eval", "--ckpt", s(&step0(&run)), "--ckpt", s(&last), "--data", s(&data), "--out", s(&report), "--samples", s(&samples)]));
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&report).expect("report")).expect("json");
    let cols = doc["checkpoints"].as_array().expect("checkpoints");
    assert_eq!(cols.len(), 2, "{doc}");
    let mel = |i: usize| cols[i]["metrics"]["eval/recon/mel_l1"].as_f64().expect("eval/recon/mel_l1");
    assert!(mel(0).is_finite() && mel(1).is_finite() && mel(0) > 0.0);
    let table = text(&out.stdout);
    let row = table.lines().find(|l| l.starts_with("| eval/recon/mel_l1 |")).expect("mel row");
    assert!(row.trim_end().ends_with(&format!(" {:.3} |", mel(1) / mel(0))), "ratio column: {row}");
    assert!(png_size(&samples.join("ckpt-1/tone_02_mel.png")).0 >= 800);

    // the reference tiny generator (random init, whose decode the reference shows is not silent)
    let ckpt = dir.path().join("reference");
    std::fs::create_dir_all(&ckpt).expect("mkdir");
    std::fs::copy(repo("tests/golden/sovits_v2/tiny_G.safetensors"), ckpt.join("G.safetensors")).expect("copy");
    let wav = dir.path().join("tone_00.wav");
    run_ok(EXE, &tiny_args(&["infer", "--ckpt", s(&ckpt), "--data", s(&data), "--item", "tone_00", "--out", s(&wav)]));
    let (audio, rate) = read_wav(&wav);
    assert_eq!(rate, 32000);
    let semantic = npy::header(&data.join("semantic_ids/tone_00.npy")).expect("semantic ids");
    assert_eq!(audio.len(), semantic.shape.iter().product::<usize>() * 2 * 640, "25 Hz ids -> 50 Hz frames of 640 samples");
    let (_, decoded) = npy::read_f32(&repo("tests/golden/sovits_v2/decode.out.o_ns05.npy")).expect("reference decode");
    assert!(decoded.iter().all(|v| v.is_finite()));
    let (ours, theirs) = (rms(&audio), rms(&decoded));
    assert!(ours > 0.1 * theirs && ours < 10.0 * theirs, "infer rms {ours}, reference decode rms {theirs}");
}

/// A run that ends between evaluations (a time budget, Ctrl-C, `--steps`)
/// redraws `curves.png` up to its last step, so the picture matches the
/// final checkpoint.
#[test]
fn a_run_ending_between_evaluations_redraws_its_curves() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = corpus(dir.path());
    let run = dir.path().join("run");
    run_ok(EXE, &tiny_args(&["--set", "trainer.eval_every=2", "train", "--data", s(&data), "--out", s(&run), "--steps", "2"]));
    let at_eval = std::fs::read(run.join("curves.png")).expect("curves.png after the step-2 evaluation");
    run_ok(EXE, &tiny_args(&["--set", "trainer.eval_every=2", "train", "--data", s(&data), "--out", s(&run), "--resume", "--steps", "3"]));
    assert!(!run.join("samples/step-3").exists(), "step 3 is not an evaluation step");
    let at_end = std::fs::read(run.join("curves.png")).expect("curves.png");
    assert_ne!(at_end, at_eval, "curves.png still shows the step-2 evaluation after step 3");
    assert!(png_size(&run.join("curves.png")).0 >= 800);
}
