//! README commands end to end through the real binary, asserting on what a
//! user sees: `check` (the resolved spec), `plugins` (every registered name),
//! a misspelt spec (the error names the fix), `prepare` + `data check` on wavs
//! spoken into a folder (lengths after resampling, a broken file named),
//! `bench` on the tiny spec with one step, and `sweep` ending on an
//! evaluation row with training progress printed as plain lines.

use std::path::{Path, PathBuf};

use serde_json::Value;
use sovits_core::data::npy;
use sovits_core::{Spec, registry};
use sovits_test_support::cli::{run_err, run_ok, s, text};
use sovits_test_support::train_fixtures::write_tone_corpus;

const EXE: &str = env!("CARGO_BIN_EXE_sovits");

fn configs() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs")
}

fn json_file(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn check_prints_the_resolved_spec_and_plugins_lists_every_name() {
    let demo = configs().join("demo.json");
    let out = run_ok(EXE, &["--spec", s(&demo), "check"]);
    let resolved: Value = serde_json::from_str(&text(&out.stdout)).expect("check prints the spec as JSON");
    let file = json_file(&demo);
    // the demo's own fields, and the tiny generator it extends
    assert_eq!(resolved["discriminators"], file["discriminators"]);
    assert_eq!(resolved["optimizer_g"]["learning_rate"], file["optimizer_g"]["learning_rate"]);
    assert_eq!(resolved["trainer"]["max_steps"], file["trainer"]["max_steps"]);
    let tiny = json_file(&configs().join("tiny.json"));
    assert_eq!(resolved["generator"]["params"]["hidden_channels"], tiny["generator"]["params"]["hidden_channels"]);

    let listing = text(&run_ok(EXE, &["plugins"]).stdout);
    for name in ["sovits-v2", "mpd", "msd", "mrd", "lsgan", "hinge", "feature-matching", "kl", "kl-ssl", "mel-l1", "mrstft", "stft-mel", "adamw", "adamw-bf16"] {
        assert!(listing.lines().any(|l| l.trim_start().starts_with(&format!("{name} "))), "`{name}` not listed:\n{listing}");
    }

    let dir = tempfile::tempdir().expect("tempdir");
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, format!(r#"{{"extends": "{}", "discriminators": [{{"name": "mdp"}}]}}"#, s(&configs().join("tiny.json")))).expect("write");
    let err = run_err(EXE, &["--spec", s(&bad), "check"]);
    assert!(err.contains("mdp") && err.contains("did you mean `mpd`"), "{err}");
}

/// A 22.05 kHz wav of a 150 Hz tone with a silent middle third.
fn write_wav(path: &Path, samples: usize) {
    let spec = hound::WavSpec { channels: 1, sample_rate: 22050, bits_per_sample: 16, sample_format: hound::SampleFormat::Int };
    let mut w = hound::WavWriter::create(path, spec).expect("create wav");
    for i in 0..samples {
        let on = i < samples / 3 || i >= 2 * samples / 3;
        let v = if on { 0.3 * (2.0 * std::f32::consts::PI * 150.0 * i as f32 / 22050.0).sin() } else { 0.0 };
        w.write_sample((v * 32767.0) as i16).expect("sample");
    }
    w.finalize().expect("finalize");
}

#[test]
fn prepare_writes_a_dataset_that_data_check_accepts_and_a_broken_file_is_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    let wavs = dir.path().join("wav");
    std::fs::create_dir_all(&wavs).expect("mkdir");
    let lengths = [("a", 33075usize), ("b", 26460), ("c", 39690)];
    for (stem, n) in lengths {
        write_wav(&wavs.join(format!("{stem}.wav")), n);
    }
    let transcripts = dir.path().join("text.txt");
    std::fs::write(&transcripts, "a|One small test.\nb|Two more words.\nc|And the third sentence.\n").expect("write");
    let data = dir.path().join("data");
    let tiny = configs().join("tiny.json");
    let out = run_ok(EXE, &["--spec", s(&tiny), "prepare", "--audio", s(&wavs), "--transcripts", s(&transcripts), "--out", s(&data), "--units", "kmeans", "--k", "4"]);
    assert!(text(&out.stdout).contains("prepared 3 item(s)"), "{}", text(&out.stdout));
    let meta = json_file(&data.join("metadata.json"));
    assert_eq!(meta["items"].as_array().map(Vec::len), Some(3));
    for (stem, n) in lengths {
        // resampled to 32 kHz: round(n * 32000 / 22050) samples, trimmed to whole 640-sample frames at most
        let audio = npy::header(&data.join("audio").join(format!("{stem}.npy"))).expect("audio npy");
        let want = (n as f64 * 32000.0 / 22050.0).round() as usize;
        let got = audio.shape.iter().product::<usize>();
        assert!(got <= want && want - got < 640, "{stem}: {got} samples, expected about {want}");
        let spec = npy::header(&data.join("spec").join(format!("{stem}.npy"))).expect("spec npy");
        assert_eq!(spec.shape[0], 1025, "{stem}: spec bins");
        assert_eq!(spec.shape[1], got / 640, "{stem}: spec frames for {got} samples");
    }
    let report = text(&run_ok(EXE, &["--spec", s(&tiny), "data", "check", s(&data)]).stdout);
    assert!(report.contains('3'), "{report}");

    let broken = data.join("spec").join("b.npy");
    std::fs::write(&broken, b"not an npy file").expect("break");
    let out = std::process::Command::new(EXE).args(["--spec", s(&tiny), "data", "check", s(&data)]).output().expect("run");
    assert!(!out.status.success(), "data check passed a broken file");
    let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(all.contains("b.npy"), "the report does not name spec/b.npy:\n{all}");
}

#[test]
fn bench_measures_one_step_of_the_tiny_spec() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out_json = dir.path().join("bench.json");
    let tiny = configs().join("tiny.json");
    let out = run_ok(EXE, &[
        "--spec", s(&tiny), "--set", r#"discriminators=[{"name":"mpd","params":{"periods":[2]}}]"#,
        "bench", "--batch", "1", "--segment", "2560", "--steps", "1", "--warmup", "0", "--out", s(&out_json),
    ]);
    assert!(text(&out.stdout).contains("GFLOP/s"), "{}", text(&out.stdout));
    let doc = json_file(&out_json);
    let results = doc["results"].as_array().expect("results");
    assert_eq!(results.len(), 1, "{doc}");
    let r = &results[0];
    assert_eq!((r["batch"].as_u64(), r["segment"].as_u64()), (Some(1), Some(2560)), "{r}");
    let step = r["median_step_s"].as_f64().expect("median_step_s");
    assert!(step.is_finite() && step > 0.0, "{r}");
    let times: Vec<f64> = r["step_times_s"].as_array().expect("step_times_s").iter().filter_map(Value::as_f64).collect();
    assert_eq!(times, vec![step], "one timed step, and the median is it: {r}");
    assert!(r["last_g_total"].as_f64().is_some_and(f64::is_finite) && r["last_d_total"].as_f64().is_some_and(f64::is_finite), "{r}");
    assert!(r["peak_rss_bytes"].as_u64().is_some_and(|b| b > 0), "{r}");
}

#[test]
fn sweep_ending_on_an_eval_row_reports_the_last_training_losses() {
    sovits_plugins::link_all();
    let dir = tempfile::tempdir().expect("tempdir");
    let tiny = configs().join("tiny.json");
    let spec = Spec::load(&tiny, &[]).expect("tiny spec");
    let frontend = registry::build_frontend(&spec.frontend, "frontend", &spec.build_context()).expect("frontend");
    let data = dir.path().join("data");
    write_tone_corpus(&data, 3, 32, &*frontend);
    let lr = dir.path().join("lr.json");
    std::fs::write(&lr, format!(r#"{{"extends": "{}", "optimizer_g": {{"learning_rate": 0.001}}}}"#, s(&tiny))).expect("variant");
    let out_dir = dir.path().join("sweep");
    let sets = [
        r#"discriminators=[{"name":"mpd","params":{"periods":[2]}}]"#, "trainer.segment_size=2560", "trainer.checkpoint_every=0",
        "trainer.eval_every=2", "trainer.log_every=1", "data.eval_items=1",
    ];
    let mut args: Vec<&str> = Vec::new();
    for x in &sets {
        args.extend(["--set", x]);
    }
    args.extend(["--spec", s(&tiny), "--spec", s(&lr), "sweep", "--data", s(&data), "--out", s(&out_dir), "--steps", "2"]);
    let out = run_ok(EXE, &args);
    // each child's stderr is not a terminal: one progress line per step (log_every 1)
    let err = text(&out.stderr);
    assert!(err.contains("step 2/2: d ") && err.contains(" s/step, eta 0:00:00"), "{err}");

    let csv = std::fs::read_to_string(out_dir.join("sweep.csv")).expect("sweep.csv");
    for (line, variant) in csv.lines().skip(1).zip(["00-tiny", "01-lr"]) {
        let metrics = std::fs::read_to_string(out_dir.join(variant).join("metrics.jsonl")).expect("metrics");
        let rows: Vec<Value> = metrics.lines().map(|l| serde_json::from_str(l).expect("json")).collect();
        assert!(rows.last().is_some_and(|r| r.get("eval/mel_l1").is_some()), "{variant}: last row is not the eval row");
        let step2 = rows.iter().find(|r| r["step"] == 2 && r.get("g/total").is_some()).expect("step 2 row");
        let cols: Vec<&str> = line.split(',').collect();
        let col = |i: usize| cols[i].parse::<f64>().unwrap_or(f64::NAN);
        assert_eq!(cols[0], variant, "{csv}");
        assert_eq!((col(1), col(2), col(3)), (step2["g/total"].as_f64().unwrap(), step2["d/total"].as_f64().unwrap(), step2["g/mel-l1"].as_f64().unwrap()), "{csv}");
        assert!(col(4).is_finite(), "{variant}: eval mel L1 missing: {csv}");
    }
}
