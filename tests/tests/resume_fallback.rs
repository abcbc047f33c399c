//! Resume after damage: the newest checkpoint that loads is used and every
//! newer one is reported with its problem (truncated weights, a missing
//! `D.safetensors`, another format version, a bad data cursor); the resumed
//! run's `metrics.jsonl` holds each step once.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use sovits_core::registry;
use sovits_core::train::run::{Observer, RunHooks, RunOptions, run};
use sovits_core::train::{StepReport, Trainer, recovery};
use sovits_test_support::train_fixtures::{tiny_spec, write_tone_corpus};

#[derive(Default)]
struct Messages(Vec<String>);
impl Observer for Messages {
    fn start(&mut self, _: u64, _: Option<u64>) {}
    fn step(&mut self, _: &StepReport, _: &[String], _: f64) {}
    fn message(&mut self, m: &str) {
        self.0.push(m.to_string());
    }
}

const SETS: [&str; 2] = ["trainer.checkpoint_every=1", "trainer.keep_checkpoints=0"];

fn train(data: &Path, out: &Path, steps: u64, resume: bool) -> sovits_core::Result<Vec<String>> {
    let opts = RunOptions { data: data.into(), out: out.into(), resume, init_from: None, init_may_lack: Vec::new(), max_steps: Some(steps) };
    let mut m = Messages::default();
    run(tiny_spec(&SETS), &opts, RunHooks::new(&AtomicBool::new(false), &mut m))?;
    Ok(m.0)
}

fn step_dir(out: &Path, step: u64) -> PathBuf {
    out.join("checkpoints").join(sovits_core::train::checkpoint::dir_name(step))
}

fn metric_steps(out: &Path) -> Vec<u64> {
    std::fs::read_to_string(out.join("metrics.jsonl"))
        .expect("metrics")
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("json")["step"].as_u64().expect("step"))
        .collect()
}

#[test]
fn resume_skips_damaged_checkpoints_and_logs_each_step_once() {
    sovits_plugins::link_all();
    let dir = tempfile::tempdir().expect("tempdir");
    let spec = tiny_spec(&SETS);
    let frontend = registry::build_frontend(&spec.frontend, "frontend", &spec.build_context()).expect("frontend");
    let data = dir.path().join("data");
    write_tone_corpus(&data, 2, 32, &*frontend);
    let out = dir.path().join("run");
    train(&data, &out, 5, false).expect("5 steps");

    // step 5: truncated generator; 4: no discriminator; 3: another format; 2: bad cursor
    let g = step_dir(&out, 5).join("G.safetensors");
    let bytes = std::fs::read(&g).expect("G");
    std::fs::write(&g, &bytes[..bytes.len() / 2]).expect("truncate");
    std::fs::remove_file(step_dir(&out, 4).join("D.safetensors")).expect("rm D");
    let edit_meta = |step, key: &str, value: serde_json::Value| {
        let p = step_dir(&out, step).join("meta.json");
        let mut m: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&p).expect("meta")).expect("json");
        m[key] = value;
        std::fs::write(&p, m.to_string()).expect("write meta");
    };
    edit_meta(3, "format_version", serde_json::json!(99));
    edit_meta(2, "data_cursor", serde_json::json!("nowhere"));

    let msgs = train(&data, &out, 3, true).expect("resume from step 1");
    let text = msgs.join("\n");
    let skipped = |step, why: &str| {
        let name = sovits_core::train::checkpoint::dir_name(step);
        msgs.iter().any(|m| m.starts_with("skipping checkpoint") && m.contains(&name) && m.contains(why))
    };
    assert!(skipped(5, "G.safetensors"), "{text}");
    assert!(skipped(4, "lacks D.safetensors"), "{text}");
    assert!(skipped(3, "format 99"), "{text}");
    assert!(skipped(2, "data_cursor"), "{text}");
    assert!(msgs.iter().any(|m| m.contains("resumed from") && m.contains(&sovits_core::train::checkpoint::dir_name(1))), "{text}");
    assert_eq!(metric_steps(&out), [1, 2, 3], "each step once after resuming from step 1");

    // a checkpoint lacking D is an error, also when it is the only one
    let mut t = Trainer::new(spec).expect("trainer");
    let e = sovits_core::train::checkpoint::resume(&mut t, &step_dir(&out, 4)).expect_err("D missing").to_string();
    assert!(e.contains("D.safetensors") && e.contains("step-00000004"), "{e}");
    let lone = dir.path().join("lone");
    std::fs::create_dir_all(lone.join("checkpoints/step-00000004")).expect("mkdir");
    for f in std::fs::read_dir(step_dir(&out, 4)).expect("ls").flatten() {
        std::fs::copy(f.path(), lone.join("checkpoints/step-00000004").join(f.file_name())).expect("copy");
    }
    let e = recovery::resume_latest(&mut t, &lone).expect_err("nothing loads").to_string();
    assert!(e.contains("no checkpoint loads") && e.contains("D.safetensors"), "{e}");
}
