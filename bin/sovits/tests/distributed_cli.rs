//! `train --distributed`: two local ranks over loopback; killing one makes the
//! launcher stop the other and exit with a clear error within a bounded time,
//! and the last checkpoint stays loadable.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use sovits_core::{Spec, registry};
use sovits_test_support::train_fixtures::write_tone_corpus;

const SETS: [&str; 4] = [
    r#"discriminators=[{"name":"mpd","params":{"periods":[2]}}]"#,
    "trainer.segment_size=2560",
    "trainer.batch_size=1",
    "trainer.checkpoint_every=1",
];

fn configs() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs")
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("free port")
}

/// Pid of the rank process whose environment names `rank` and `ring` file.
fn rank_pid(rank: usize, ring: &Path) -> Option<i32> {
    let want_rank = format!("MLX_RANK={rank}");
    let want_file = format!("MLX_HOSTFILE={}", ring.display());
    std::fs::read_dir("/proc").ok()?.flatten().find_map(|e| {
        let pid: i32 = e.file_name().to_str()?.parse().ok()?;
        let env = std::fs::read(e.path().join("environ")).ok()?;
        let vars: Vec<String> = env.split(|b| *b == 0).map(|v| String::from_utf8_lossy(v).into_owned()).collect();
        (vars.contains(&want_rank) && vars.contains(&want_file)).then_some(pid)
    })
}

#[test]
fn a_dead_rank_stops_the_run_and_the_last_checkpoint_loads() {
    sovits_plugins::link_all();
    let dir = tempfile::tempdir().expect("tempdir");
    let spec = Spec::load(&configs().join("tiny.json"), &SETS.map(String::from)).expect("spec");
    let frontend = registry::build_frontend(&spec.frontend, "frontend", &spec.build_context()).expect("frontend");
    let data = dir.path().join("data");
    write_tone_corpus(&data, 4, 32, &*frontend);
    let hosts = dir.path().join("hosts.json");
    std::fs::write(&hosts, r#"[{"ssh": "localhost", "ips": ["127.0.0.1"]}, {"ssh": "localhost", "ips": ["127.0.0.1"]}]"#).expect("hostfile");
    let run = dir.path().join("run");

    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sovits"));
    for s in SETS {
        cmd.arg("--set").arg(s);
    }
    let mut launcher = cmd
        .arg("--spec").arg(configs().join("tiny.json"))
        .args(["train", "--steps", "1000", "--port", &free_port().to_string()])
        .arg("--data").arg(&data).arg("--out").arg(&run).arg("--distributed").arg(&hosts)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the launcher");

    // wait for a first checkpoint, then kill rank 1
    let ring = run.join("ring_hostfile.json");
    let start = Instant::now();
    while sovits_core::train::checkpoint::latest(&run).is_none() {
        assert!(start.elapsed() < Duration::from_secs(300), "no checkpoint within 300 s");
        assert!(launcher.try_wait().expect("poll").is_none(), "launcher exited before the first checkpoint");
        std::thread::sleep(Duration::from_millis(200));
    }
    let pid = rank_pid(1, &ring).expect("rank 1 process");
    let killed = Command::new("kill").args(["-9", &pid.to_string()]).status().expect("kill");
    assert!(killed.success());

    let killed_at = Instant::now();
    let status = loop {
        if let Some(s) = launcher.try_wait().expect("poll") {
            break s;
        }
        assert!(killed_at.elapsed() < Duration::from_secs(60), "launcher still running 60 s after rank 1 died");
        std::thread::sleep(Duration::from_millis(200));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(launcher.stderr.as_mut().expect("stderr"), &mut stderr).expect("read stderr");
    assert!(!status.success(), "launcher succeeded although a rank died");
    assert!(stderr.contains("rank 1 failed"), "{stderr}");
    assert!(rank_pid(0, &ring).is_none(), "rank 0 left running");

    let ckpt = sovits_core::train::checkpoint::latest(&run).expect("checkpoint");
    let mut t = sovits_core::train::Trainer::new(spec).expect("trainer");
    let meta = sovits_core::train::checkpoint::resume(&mut t, &ckpt).expect("last checkpoint loads");
    assert!(meta.step >= 1);
}
