//! The fuzz targets on the stable toolchain: every seed, every corpus file
//! (`fuzz/corpus/<target>/`, when a fuzzing run made one) and every saved
//! crash (`fuzz/artifacts/<target>/`) goes through the target's function,
//! then a fixed-seed mutation loop (bit flips, byte runs, truncations,
//! forged 64-bit fields) over the seeds. A malformed input must come back as
//! an error; a panic fails the test, an abort kills it.

use std::path::Path;

use sovits_core::data::sampler::SplitMix64 as Rng;
#[path = "../../fuzz/src/targets.rs"]
mod targets;
use targets::{TARGETS, Target, workspace};

/// Mutations per seed file.
const MUTATIONS: usize = 48;

fn files_in(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(dir).map(|rd| rd.flatten().map(|e| e.path()).filter(|p| p.is_file()).collect()).unwrap_or_default();
    v.sort();
    v
}

fn call(t: &Target, what: &str, bytes: &[u8]) {
    let r = std::panic::catch_unwind(|| (t.run)(bytes));
    assert!(r.is_ok(), "target `{}` panicked on {what}", t.name);
}

/// One mutation of `seed`; headers sit in the first bytes, so positions
/// favour them.
fn mutate(seed: &[u8], rng: &mut Rng) -> Vec<u8> {
    let mut b = seed.to_vec();
    let span = if rng.below(4) == 0 { b.len() } else { b.len().min(256) };
    let at = rng.below(span);
    match rng.below(6) {
        0 if !b.is_empty() => b[at] ^= 1 << rng.below(8),
        1 => b.truncate(at),
        2 => {
            let v = [0u8, 0xFF, b'9', b'-', b'"', b'['][rng.below(6)];
            let end = (at + 1 + rng.below(16)).min(b.len());
            b[at.min(end)..end].fill(v);
        }
        3 => {
            let forged = [u64::MAX, 1 << 40, i32::MAX as u64 + 1, 0][rng.below(4)];
            let end = (at + 8).min(b.len());
            let n = end - at.min(end);
            b[at.min(end)..end].copy_from_slice(&forged.to_le_bytes()[..n]);
        }
        4 => {
            let digits = ["99999999999999999999", "-1", "1e308", "4294967296"][rng.below(4)];
            b.splice(at..at, digits.bytes());
        }
        _ => {
            let from = rng.below(b.len());
            let chunk: Vec<u8> = b[from..(from + rng.below(64)).min(b.len())].to_vec();
            b.splice(at..at, chunk);
        }
    }
    b
}

#[test]
fn every_seed_corpus_file_and_saved_crash_is_an_error_or_ok_never_a_panic() {
    let root = workspace();
    for t in &TARGETS {
        let mut inputs: Vec<std::path::PathBuf> = t.seeds.iter().map(|s| root.join(s)).collect();
        assert!(inputs.iter().all(|p| p.is_file()), "target `{}`: a seed is missing: {inputs:?}", t.name);
        inputs.extend(files_in(&root.join("fuzz/corpus").join(t.name)));
        inputs.extend(files_in(&root.join("fuzz/artifacts").join(t.name)));
        for p in &inputs {
            call(t, &p.display().to_string(), &std::fs::read(p).expect("read input"));
        }
        // the seeds themselves are valid inputs
        for s in t.seeds {
            let bytes = std::fs::read(root.join(s)).expect("seed");
            assert!((t.run)(&bytes).is_ok(), "target `{}`: seed {s} should load: {:?}", t.name, (t.run)(&bytes));
        }
    }
}

#[test]
fn fixed_seed_mutations_are_errors_or_ok_never_panics() {
    let root = workspace();
    let mut rng = Rng::new(0x00f0_0019);
    for t in &TARGETS {
        let mut errors = 0;
        for s in t.seeds {
            let seed = std::fs::read(root.join(s)).expect("seed");
            for i in 0..MUTATIONS {
                let input = mutate(&seed, &mut rng);
                let r = std::panic::catch_unwind(|| (t.run)(&input));
                match r {
                    Ok(Err(_)) => errors += 1,
                    Ok(Ok(())) => {}
                    Err(_) => {
                        let saved = std::env::temp_dir().join(format!("sovits-fuzz-{}-{i}", t.name));
                        let _ = std::fs::write(&saved, &input);
                        panic!("target `{}` panicked on mutation {i} of {s} (input saved to {})", t.name, saved.display());
                    }
                }
            }
        }
        assert!(errors > 0, "target `{}`: no mutation was rejected; the loop tests nothing", t.name);
    }
}
