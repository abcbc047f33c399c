//! A `.pth` whose zip entry declares a forged uncompressed size (~4 GiB)
//! must not make the importer reserve that size: the reader caps the
//! capacity by the file's real length. Under Linux overcommit a 4 GiB
//! `Vec::with_capacity` succeeds without touching memory, so the check runs
//! in a child (this test binary re-executed) whose address space is limited
//! with `RLIMIT_AS`: an uncapped reservation aborts the child and the test
//! fails.
#![cfg(target_os = "linux")]

use std::path::{Path, PathBuf};
use std::process::Command;

/// Set in the child: the forged `.pth` to import under the address-space limit.
const CHILD_ENV: &str = "SOVITS_TEST_FORGED_PTH";
/// Address space the child may add to what it has mapped when the limit is set.
const HEADROOM: u64 = 1 << 30;
/// The forged uncompressed size: above `HEADROOM`, below 4 GiB (no zip64).
const FORGED: u32 = 0xFFFF_FF00;

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("golden/interop/tiny_train_ckpt_dec.pth")
}

/// Rewrites the uncompressed size of the entry ending in `/data.pkl` in its
/// local header (offset 22) and its central-directory record (offset 24).
fn forge_pickle_size(zip: &mut [u8]) -> usize {
    let mut forged = 0;
    let name = b"/data.pkl";
    for at in 0..zip.len().saturating_sub(46) {
        let (sig, size_at, name_at) = match &zip[at..at + 4] {
            [b'P', b'K', 3, 4] => ("local", at + 22, at + 30),
            [b'P', b'K', 1, 2] => ("central", at + 24, at + 46),
            _ => continue,
        };
        let name_len_at = if sig == "local" { at + 26 } else { at + 28 };
        let n = u16::from_le_bytes([zip[name_len_at], zip[name_len_at + 1]]) as usize;
        if zip.get(name_at..name_at + n).is_some_and(|entry| entry.ends_with(name)) {
            zip[size_at..size_at + 4].copy_from_slice(&FORGED.to_le_bytes());
            forged += 1;
        }
    }
    forged
}

/// The address space this process has mapped now (`VmSize`), in bytes.
fn mapped_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let kb = status.lines().find_map(|l| l.strip_prefix("VmSize:")).expect("VmSize line");
    kb.trim().trim_end_matches("kB").trim().parse::<u64>().expect("VmSize in kB") * 1024
}

/// The child's half: limit the address space, import, print the outcome.
fn import_under_limit(pth: &Path) {
    let limit = mapped_bytes() + HEADROOM;
    let lim = libc::rlimit { rlim_cur: limit, rlim_max: limit };
    // SAFETY: setrlimit only reads the struct passed by reference.
    assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_AS, &lim) }, 0, "setrlimit(RLIMIT_AS)");
    match sovits_interop::import_pth(pth) {
        Ok(imp) => println!("child: imported {} tensors", imp.weights.len()),
        Err(e) => println!("child: error: {e}"),
    }
}

#[test]
fn forged_zip_entry_size_is_capped_by_the_file_size() {
    if let Some(pth) = std::env::var_os(CHILD_ENV) {
        return import_under_limit(Path::new(&pth));
    }
    let mut bytes = std::fs::read(fixture()).expect("fixture .pth");
    assert_eq!(forge_pickle_size(&mut bytes), 2, "data.pkl has a local header and a central-directory record");
    assert!(bytes.len() as u64 + HEADROOM < FORGED as u64, "the forged size must exceed the child's headroom");
    let dir = tempfile::tempdir().expect("tempdir");
    let pth = dir.path().join("forged.pth");
    std::fs::write(&pth, &bytes).expect("write forged .pth");

    let out = Command::new(std::env::current_exe().expect("test binary"))
        .args(["forged_zip_entry_size_is_capped_by_the_file_size", "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, &pth)
        .output()
        .expect("re-run the test binary");
    let log = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "the importer died under RLIMIT_AS (an uncapped reservation?): {:?}\n{log}", out.status);
    // the forged size is only a capacity hint: the entry's real bytes are
    // read, so the import answers as it does for the unforged file
    let expected = sovits_interop::import_pth(&fixture()).map(|imp| imp.weights.len());
    match expected {
        Ok(n) => assert!(log.contains(&format!("child: imported {n} tensors")), "{log}"),
        Err(_) => assert!(log.contains("child: error:") && log.contains("forged.pth"), "{log}"),
    }
}
