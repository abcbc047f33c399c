//! Durable writes through the injectable file-operations layer: the order
//! write -> fsync(file) -> fsync(temp dir) -> rename -> fsync(parent), an
//! existing directory replaced by one atomic exchange (never absent), a full
//! disk that leaves the old version and no temporary behind, stale
//! temporaries of dead processes removed, metrics deduplicated on resume.

use std::path::{Path, PathBuf};

use sovits_core::durable::{self, Op, Recorder};
use sovits_core::train::recovery;

fn files(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> =
        std::fs::read_dir(dir).expect("read dir").flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect();
    v.sort();
    v
}

fn publish(ops: &Recorder, dir: &Path, content: &str) -> sovits_core::Result<()> {
    durable::publish_dir(ops, dir, |st| {
        st.file("G.safetensors", content.as_bytes())?;
        st.file("meta.json", content.as_bytes())
    })
}

fn index(ops: &[Op], want: &Op) -> usize {
    ops.iter().position(|o| o == want).unwrap_or_else(|| panic!("{want:?} not in {ops:#?}"))
}

#[test]
fn publish_writes_syncs_file_then_temp_dir_then_renames_then_syncs_parent() {
    let root = tempfile::tempdir().expect("tempdir");
    let fin = root.path().join("step-00000001");
    let ops = Recorder::default();
    publish(&ops, &fin, "v1").expect("publish");
    let log = ops.take();
    let tmp = root.path().join(format!(".step-00000001.tmp-{}", std::process::id()));
    let rename = index(&log, &Op::Rename(tmp.clone(), fin.clone()));
    let sync_tmp = index(&log, &Op::SyncDir(tmp.clone()));
    for name in ["G.safetensors", "meta.json"] {
        let w = index(&log, &Op::Write(tmp.join(name)));
        let s = index(&log, &Op::SyncFile(tmp.join(name)));
        assert!(w < s && s < sync_tmp, "{name}: write {w}, fsync {s}, fsync(temp dir) {sync_tmp}: {log:#?}");
    }
    assert!(sync_tmp < rename && rename < index(&log, &Op::SyncDir(root.path().to_path_buf())), "{log:#?}");
    assert_eq!(files(&fin), ["G.safetensors", "meta.json"]);
    assert_eq!(files(root.path()), ["step-00000001"], "no temporary left");
}

#[test]
fn replacing_a_directory_is_one_exchange_and_never_removes_it_first() {
    let root = tempfile::tempdir().expect("tempdir");
    let best = root.path().join("best");
    publish(&Recorder::default(), &best, "old").expect("first");
    let ops = Recorder::default();
    publish(&ops, &best, "new").expect("replace");
    let log = ops.take();
    assert!(!log.iter().any(|o| matches!(o, Op::RemoveDirAll(p) | Op::Rename(p, _) if p == &best)), "{log:#?}");
    #[cfg(target_os = "linux")]
    assert!(log.iter().any(|o| matches!(o, Op::Exchange(_, b) if b == &best)), "{log:#?}");
    assert_eq!(std::fs::read_to_string(best.join("meta.json")).expect("read"), "new");
    assert_eq!(files(root.path()), ["best"], "the old version is removed after the exchange");
}

#[test]
fn a_full_disk_keeps_the_old_directory_and_names_the_file() {
    let root = tempfile::tempdir().expect("tempdir");
    let best = root.path().join("best");
    publish(&Recorder::default(), &best, "old").expect("first");
    for errno in [28 /* ENOSPC */, 27 /* EFBIG */] {
        let ops = Recorder { fail_write: Some(("G.safetensors".into(), errno)), ..Recorder::default() };
        let e = publish(&ops, &best, "new").expect_err("write fails").to_string();
        assert!(e.contains("G.safetensors") && e.contains(&std::io::Error::from_raw_os_error(errno).to_string()), "{e}");
        assert_eq!(std::fs::read_to_string(best.join("meta.json")).expect("old best"), "old");
        assert_eq!(files(root.path()), ["best"], "temporary removed after the failure");
    }
}

#[test]
fn write_file_order_and_failure() {
    let root = tempfile::tempdir().expect("tempdir");
    let p = root.path().join("metrics.jsonl");
    let ops = Recorder::default();
    durable::write_file(&ops, &p, b"one\n").expect("write");
    let tmp = root.path().join(format!(".metrics.jsonl.tmp-{}", std::process::id()));
    assert_eq!(
        ops.take(),
        vec![Op::Write(tmp.clone()), Op::SyncFile(tmp.clone()), Op::Rename(tmp, p.clone()), Op::SyncDir(root.path().to_path_buf())]
    );
    let full = Recorder { fail_write: Some((format!(".metrics.jsonl.tmp-{}", std::process::id()), 28)), ..Recorder::default() };
    assert!(durable::write_file(&full, &p, b"two\n").is_err());
    assert_eq!(std::fs::read_to_string(&p).expect("read"), "one\n");
    assert_eq!(files(root.path()), ["metrics.jsonl"]);
}

fn dead_pid() -> u32 {
    let mut child = std::process::Command::new("true").spawn().expect("spawn true");
    let pid = child.id();
    child.wait().expect("wait");
    pid
}

#[test]
fn stale_temporaries_of_dead_processes_are_removed() {
    let run = tempfile::tempdir().expect("tempdir");
    let ck = run.path().join("checkpoints");
    let dead = dead_pid();
    let mine = std::process::id();
    let make = |p: PathBuf| std::fs::create_dir_all(p).expect("mkdir");
    make(ck.join(format!(".step-00000002.tmp-{dead}")));
    make(ck.join(format!(".step-00000001.del-{dead}")));
    make(ck.join(format!(".step-00000003.tmp-{mine}")));
    make(ck.join("step-00000001"));
    make(run.path().join(format!(".best.tmp-{dead}")));
    let removed = recovery::clean_stale(run.path());
    assert_eq!(removed.len(), 3, "{removed:?}");
    assert_eq!(files(&ck), [format!(".step-00000003.tmp-{mine}"), "step-00000001".into()]);
    assert_eq!(files(run.path()), ["checkpoints"]);
}

#[test]
fn metrics_after_the_resumed_step_and_torn_lines_are_dropped() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path().join("metrics.jsonl");
    let mut text: String = (1..=5).map(|s| format!("{{\"step\":{s},\"g/total\":1.0}}\n")).collect();
    text.push_str("{\"step\":3,\"eval/mel_l1\":0.5}\n{\"step\":6,\"g/to");
    std::fs::write(&p, text).expect("write");
    assert_eq!(recovery::truncate_metrics(&p, 3).expect("truncate"), 3);
    let steps: Vec<u64> = std::fs::read_to_string(&p)
        .expect("read")
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("json")["step"].as_u64().expect("step"))
        .collect();
    assert_eq!(steps, [1, 2, 3, 3]);
}
