//! Running the real `sovits` binary in end-to-end tests: the exit status is
//! checked and, on failure, both output streams are shown.

use std::path::Path;
use std::process::{Command, Output};

/// Runs `exe` with `args`; panics with stdout and stderr unless it succeeds.
pub fn run_ok(exe: &str, args: &[&str]) -> Output {
    let out = Command::new(exe).args(args).output().expect("start sovits");
    assert!(out.status.success(), "sovits {args:?} failed ({}):\n{}\n{}", out.status, text(&out.stdout), text(&out.stderr));
    out
}

/// Runs `exe` with `args`; panics unless it fails. Returns stderr.
pub fn run_err(exe: &str, args: &[&str]) -> String {
    let out = Command::new(exe).args(args).output().expect("start sovits");
    assert!(!out.status.success(), "sovits {args:?} should fail but exited 0:\n{}", text(&out.stdout));
    text(&out.stderr)
}

/// Lossy UTF-8 of captured output.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A path as `&str` (test paths are UTF-8).
pub fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// `(width, height)` from a PNG file's IHDR chunk.
pub fn png_size(path: &Path) -> (u32, u32) {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "{} is not a PNG", path.display());
    assert_eq!(&bytes[12..16], b"IHDR", "{}: first chunk", path.display());
    let be = |i: usize| u32::from_be_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]);
    (be(16), be(20))
}

/// Samples of a 16-bit mono wav as floats in [-1, 1], with its sample rate.
pub fn read_wav(path: &Path) -> (Vec<f32>, u32) {
    let mut r = hound::WavReader::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let rate = r.spec().sample_rate;
    let x = r.samples::<i16>().map(|v| v.expect("sample") as f32 / 32768.0).collect();
    (x, rate)
}

/// Root-mean-square of `x` (0 for an empty slice).
pub fn rms(x: &[f32]) -> f64 {
    if x.is_empty() {
        return 0.0;
    }
    (x.iter().map(|&v| f64::from(v) * f64::from(v)).sum::<f64>() / x.len() as f64).sqrt()
}
