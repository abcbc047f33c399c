//! The CLI end to end on a tiny tone corpus: `train` writes metrics and a
//! checkpoint, `sweep` trains two variants in child processes and writes its
//! comparison table, `infer` writes a wav from the trained checkpoint, and
//! `export`/`import` round-trip it through a GPT-SoVITS `.pth`.

use std::path::{Path, PathBuf};
use std::process::Command;

use sovits_core::{Spec, registry};
use sovits_test_support::train_fixtures::write_tone_corpus;

fn configs() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs")
}

/// Overrides that make the tiny spec cheap: scale + period-2 discriminator,
/// 4-frame segment, batch 2.
const SETS: [&str; 4] = [
    r#"discriminators=[{"name":"mpd","params":{"periods":[2]}}]"#,
    "trainer.segment_size=2560",
    "trainer.batch_size=2",
    "trainer.checkpoint_every=0",
];

fn sovits(args: &[&str]) -> std::process::Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sovits"));
    for s in SETS {
        cmd.arg("--set").arg(s);
    }
    let out = cmd.args(args).output().expect("run sovits");
    assert!(
        out.status.success(),
        "sovits {args:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn corpus(dir: &Path) -> PathBuf {
    sovits_plugins::link_all();
    let spec = Spec::load(&configs().join("tiny.json"), &[]).expect("tiny spec");
    let frontend = registry::build_frontend(&spec.frontend, "frontend", &spec.build_context()).expect("frontend");
    let data = dir.join("data");
    write_tone_corpus(&data, 2, 32, &*frontend);
    data
}

#[test]
fn train_sweep_infer_export_import() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = corpus(dir.path());
    let d = data.to_str().expect("utf-8");
    let tiny = configs().join("tiny.json");
    let no_fm = dir.path().join("no-fm.json");
    std::fs::write(
        &no_fm,
        format!(r#"{{"extends": "{}", "losses": [{{"name": "lsgan"}}, {{"name": "mel-l1", "weight": 45}}, {{"name": "kl"}}]}}"#, tiny.display()),
    )
    .expect("variant spec");

    let sweep_out = dir.path().join("sweep");
    let out = sovits(&[
        "--spec", tiny.to_str().expect("utf-8"), "--spec", no_fm.to_str().expect("utf-8"),
        "sweep", "--data", d, "--out", sweep_out.to_str().expect("utf-8"), "--steps", "2",
    ]);
    let table = std::fs::read_to_string(sweep_out.join("sweep.md")).expect("sweep.md");
    assert!(table.contains("00-tiny") && table.contains("01-no-fm"), "{table}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("| variant |"));
    let csv = std::fs::read_to_string(sweep_out.join("sweep.csv")).expect("sweep.csv");
    assert_eq!(csv.lines().count(), 3, "{csv}");
    for line in csv.lines().skip(1) {
        let rss: f64 = line.rsplit(',').next().and_then(|v| v.parse().ok()).expect("peak rss column");
        assert!(rss > 0.0, "{line}");
    }

    let run = sweep_out.join("00-tiny");
    let ckpt = sovits_core::train::checkpoint::latest(&run).expect("checkpoint written");
    let wav = dir.path().join("tone.wav");
    sovits(&["--spec", tiny.to_str().expect("utf-8"), "infer", "--ckpt", ckpt.to_str().expect("utf-8"), "--data", d, "--item", "tone_00", "--out", wav.to_str().expect("utf-8")]);
    let reader = hound::WavReader::open(&wav).expect("wav");
    assert_eq!(reader.spec().sample_rate, 32000);
    assert!(reader.duration() > 16000);

    let pth = dir.path().join("model.pth");
    sovits(&["export", "--ckpt", ckpt.to_str().expect("utf-8"), "--out", pth.to_str().expect("utf-8"), "--format", "gpt-sovits"]);
    let imported = dir.path().join("imported");
    sovits(&["import", "--pth", pth.to_str().expect("utf-8"), "--out", imported.to_str().expect("utf-8")]);
    let original = sovits_core::nn::torch_layout::read_safetensors(&ckpt.join("G.safetensors")).expect("G");
    let back = sovits_core::nn::torch_layout::read_safetensors(&imported.join("G.safetensors")).expect("imported G");
    for (k, v) in &back {
        let want = original[k].as_dtype(mlx_rs::Dtype::Float16).and_then(|a| a.as_dtype(mlx_rs::Dtype::Float32)).expect("fp16 round");
        assert_eq!(sovits_test_support::host::values(v), sovits_test_support::host::values(&want), "`{k}` differs after export/import at fp16");
    }
    assert!(back.keys().all(|k| !k.contains("enc_q")) && back.len() + original.keys().filter(|k| k.contains("enc_q")).count() == original.len());
}

/// A spec with no discriminators (a mel-only ablation: `"discriminators": []`
/// and only generator-side losses) trains the generator alone, checkpoints,
/// and resumes; `check` accepting it is not enough, the step must run.
#[test]
fn a_spec_without_discriminators_trains_the_generator_alone() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = corpus(dir.path());
    let spec = dir.path().join("mel-only.json");
    std::fs::write(
        &spec,
        format!(r#"{{"extends": "{}", "losses": [{{"name": "mel-l1", "weight": 45}}, {{"name": "kl"}}]}}"#, configs().join("tiny.json").display()),
    )
    .expect("spec");
    let run = dir.path().join("run");
    let (spec, run, data) = (spec.to_str().expect("utf-8"), run.to_str().expect("utf-8"), data.to_str().expect("utf-8"));
    let no_d = ["--set", "discriminators=[]"];
    sovits(&[&["--spec", spec][..], &no_d, &["train", "--data", data, "--out", run, "--steps", "2"]].concat());
    sovits(&[&["--spec", spec][..], &no_d, &["train", "--data", data, "--out", run, "--steps", "3", "--resume"]].concat());
    let metrics = std::fs::read_to_string(Path::new(run).join("metrics.jsonl")).expect("metrics.jsonl");
    let rows: Vec<serde_json::Value> =
        metrics.lines().map(|l| serde_json::from_str(l).expect("json row")).filter(|r: &serde_json::Value| r.get("g/mel-l1").is_some()).collect();
    let steps: Vec<u64> = rows.iter().map(|r| r["step"].as_u64().expect("step")).collect();
    assert_eq!(steps, [1, 2, 3], "{metrics}");
    for r in &rows {
        assert_eq!(r["d/total"].as_f64(), Some(0.0), "no discriminator, no D loss: {r}");
        let g = r["g/total"].as_f64().expect("g/total");
        assert!(g.is_finite() && g > 0.0, "{r}");
        assert!(r.get("g/lsgan").is_none(), "{r}");
    }
    let ckpt = sovits_core::train::checkpoint::latest(Path::new(run)).expect("checkpoint written");
    assert!(ckpt.ends_with("step-00000003"), "{}", ckpt.display());
}
