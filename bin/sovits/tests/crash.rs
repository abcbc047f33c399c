//! Crash tests of a real `sovits train` child: SIGKILL at seeded points
//! (while stepping, and inside checkpoint writes through the
//! `SOVITS_CRASH_AT` hook), after which every checkpoint on disk is complete
//! and `--resume` continues; Ctrl-C (SIGINT) writes a checkpoint the run
//! resumes from bit-exactly; a full disk (RLIMIT_FSIZE) stops the run with
//! an error naming the file and leaves the earlier checkpoint loadable.
//!
//! The suite makes `SOVITS_KILLS` kills (default 4); the longer run:
//! `SOVITS_KILLS=200 cargo test -p sovits --test crash kills -- --nocapture`.
#![cfg(unix)]

use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use sovits_core::data::sampler::SplitMix64;
use sovits_core::train::checkpoint;
use sovits_core::{Spec, registry};
use sovits_test_support::train_fixtures::write_tone_corpus;

/// The tiny generator with one narrow `mrd` resolution: small checkpoints,
/// one written every step; no evaluation. Two items at batch 2 are one step
/// per epoch, so `epochs` is lifted: the spec's 100 would end a run at step
/// 100, before the long run's 200 kills.
const SETS: [&str; 8] = [
    "trainer.epochs=1000000",
    r#"discriminators=[{"name":"mrd","params":{"resolutions":[[512,50,240]],"channels":4}}]"#,
    "trainer.segment_size=2560",
    "trainer.batch_size=2",
    "trainer.checkpoint_every=1",
    "trainer.keep_checkpoints=2",
    "trainer.eval_every=0",
    "data.eval_items=0",
];

fn tiny() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs/tiny.json")
}

fn corpus(dir: &Path) -> PathBuf {
    sovits_plugins::link_all();
    let spec = Spec::load(&tiny(), &[]).expect("tiny spec");
    let frontend = registry::build_frontend(&spec.frontend, "frontend", &spec.build_context()).expect("frontend");
    let data = dir.join("data");
    write_tone_corpus(&data, 2, 32, &*frontend);
    data
}

fn train(data: &Path, out: &Path, steps: u64, resume: bool, extra: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sovits"));
    cmd.arg("--spec").arg(tiny());
    for s in SETS.iter().chain(extra) {
        cmd.arg("--set").arg(s);
    }
    cmd.arg("train").arg("--data").arg(data).arg("--out").arg(out).arg("--steps").arg(steps.to_string());
    if resume {
        cmd.arg("--resume");
    }
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    cmd
}

fn finish(child: Child) -> (std::process::ExitStatus, String) {
    let out = child.wait_with_output().expect("wait");
    (out.status, format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

fn metric_steps(out: &Path) -> Vec<u64> {
    std::fs::read_to_string(out.join("metrics.jsonl"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok()?["step"].as_u64())
        .collect()
}

/// Every checkpoint directory holds every file, each safetensors file
/// passes validation; returns the newest step.
fn checkpoints_complete(out: &Path) -> Option<u64> {
    let dirs = checkpoint::list(out);
    for d in &dirs {
        for f in checkpoint::FILES {
            let p = d.join(f);
            let bytes = std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            if f.ends_with(".safetensors") {
                sovits_core::nn::safetensors_file::validate(&p, &bytes).unwrap_or_else(|e| panic!("{e}"));
            }
        }
    }
    dirs.last().map(|d| checkpoint::read_meta(d).expect("meta").step)
}

const PHASES: [&str; 9] = [
    "mid-write:G.safetensors",
    "written:G.safetensors",
    "mid-write:D.safetensors",
    "mid-write:opt_g.safetensors",
    "written:opt_d.safetensors",
    "mid-write:meta.json",
    "staged",
    "renamed",
    "prune",
];

#[test]
fn kills_at_seeded_points_always_leave_a_resumable_run() {
    let kills: usize = std::env::var("SOVITS_KILLS").ok().and_then(|v| v.parse().ok()).unwrap_or(4);
    let dir = tempfile::tempdir().expect("tempdir");
    let data = corpus(dir.path());
    let out = dir.path().join("run");
    let mut rng = SplitMix64::new(0x5eed_0019); // the seeded source of kill points
    let (mut made, mut survived) = (0, 0);
    while made < kills {
        let resume = checkpoints_complete(&out).is_some();
        let before = metric_steps(&out).len();
        let mut cmd = train(&data, &out, 1_000_000, resume, &[]);
        // alternate: a timed kill while stepping, then one at a seeded write phase
        let hook = made % 2 == 1;
        if hook {
            let phase = PHASES[rng.below(PHASES.len())];
            cmd.env(sovits_core::durable::CRASH_ENV, format!("{phase}#{}", 1 + rng.below(2)));
        }
        let mut child = cmd.spawn().expect("spawn sovits");
        if !hook {
            let deadline = Instant::now() + Duration::from_secs(120);
            while metric_steps(&out).len() <= before && Instant::now() < deadline {
                if child.try_wait().expect("poll").is_some() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            std::thread::sleep(Duration::from_millis(rng.below(1500) as u64));
            let _ = child.kill();
        } else {
            let deadline = Instant::now() + Duration::from_secs(180);
            while child.try_wait().expect("poll").is_none() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
        }
        let (status, log) = finish(child);
        assert_eq!(status.signal(), Some(libc::SIGKILL), "run {made} was not killed: {status:?}\n{log}");
        assert!(!hook || log.contains("stopping at"), "run {made}: the hook's phase was never reached\n{log}");
        made += 1;
        let step = checkpoints_complete(&out);
        survived += usize::from(!resume || step.is_some());
        let how = if hook { log.lines().find(|l| l.contains("stopping at")).unwrap_or_default().to_string() } else { "timed".into() };
        eprintln!("kill {made}: {how} -> newest complete checkpoint {step:?} (survived {survived} / made {made})");
    }
    let last = checkpoints_complete(&out).unwrap_or(0);
    let (status, log) = finish(train(&data, &out, last + 2, last > 0, &[]).spawn().expect("spawn"));
    assert!(status.success(), "final --resume run failed:\n{log}");
    let steps = metric_steps(&out);
    assert_eq!(steps, (1..=last + 2).collect::<Vec<_>>(), "each step logged once");
    eprintln!("kills survived: {survived} / made: {made}");
    assert_eq!(survived, made);
}

#[test]
fn sigint_writes_a_checkpoint_that_resumes_bit_exactly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = corpus(dir.path());
    let out = dir.path().join("interrupted");
    let child = train(&data, &out, 1_000, false, &["trainer.checkpoint_every=0"]).spawn().expect("spawn");
    let deadline = Instant::now() + Duration::from_secs(120);
    while metric_steps(&out).len() < 2 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    // SAFETY: signalling our own child by its pid.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let (status, log) = finish(child);
    assert!(status.success() && log.contains("stopped after"), "{status:?}\n{log}");
    let n = checkpoints_complete(&out).expect("a checkpoint written on SIGINT");
    assert_eq!(metric_steps(&out).last(), Some(&n));
    let (status, log) = finish(train(&data, &out, n + 2, true, &["trainer.checkpoint_every=0"]).spawn().expect("spawn"));
    assert!(status.success(), "{log}");
    let straight = dir.path().join("straight");
    let (status, log) = finish(train(&data, &straight, n + 2, false, &["trainer.checkpoint_every=0"]).spawn().expect("spawn"));
    assert!(status.success(), "{log}");
    let g = |run: &Path| {
        let d = checkpoint::latest(run).expect("checkpoint");
        assert_eq!(checkpoint::read_meta(&d).expect("meta").step, n + 2);
        sovits_core::nn::torch_layout::read_safetensors(&d.join("G.safetensors")).expect("G")
    };
    let (a, b) = (g(&out), g(&straight));
    assert_eq!(a.len(), b.len());
    for (k, v) in &a {
        assert_eq!(sovits_test_support::values(v), sovits_test_support::values(&b[k]), "`{k}` differs between resumed and straight runs");
    }
}

#[cfg(target_os = "linux")]
#[test]
fn a_full_disk_stops_the_run_naming_the_file_and_keeps_the_last_checkpoint() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = corpus(dir.path());
    let out = dir.path().join("run");
    let (status, log) = finish(train(&data, &out, 1, false, &[]).spawn().expect("spawn"));
    assert!(status.success(), "{log}");
    let g = checkpoint::latest(&out).expect("step 1").join("G.safetensors");
    let limit = std::fs::metadata(&g).expect("G size").len() / 2;
    let mut cmd = train(&data, &out, 3, true, &[]);
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            let lim = libc::rlimit { rlim_cur: limit, rlim_max: limit };
            if libc::setrlimit(libc::RLIMIT_FSIZE, &lim) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let (status, log) = finish(cmd.spawn().expect("spawn"));
    assert!(!status.success() && status.signal().is_none(), "{status:?}\n{log}");
    assert!(log.contains("G.safetensors") && log.contains(&std::io::Error::from_raw_os_error(libc::EFBIG).to_string()), "{log}");
    assert_eq!(checkpoints_complete(&out), Some(1), "the step-1 checkpoint is intact");
    let leftovers: Vec<_> = std::fs::read_dir(out.join("checkpoints")).expect("ls").flatten().map(|e| e.file_name()).collect();
    assert_eq!(leftovers.len(), 1, "{leftovers:?}");
    let (status, log) = finish(train(&data, &out, 2, true, &[]).spawn().expect("spawn"));
    assert!(status.success() && log.contains("resumed from") && log.contains("step-00000001"), "resume after the full disk: {log}");
}
