//! Helpers shared by the `mpd` tests: fixture paths, `.npy` reading, and
//! scale-relative comparisons.
#![allow(dead_code)]

pub mod losses;

use mlx_rs::Array;
pub use sovits_test_support::values;
use sovits_test_support::read_npy;

/// Committed copy of `shared/fixtures/gpt-sovits-v2-mpd/` (see its PROVENANCE.md).
pub const MPD_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/golden/mpd");
/// Committed v2Pro/v2ProPlus goldens (`tests/golden/sovits_v2pro`, see its PROVENANCE.md).
pub const V2PRO_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/golden/sovits_v2pro");
/// Committed key lists (`tests/golden/keys`, see its PROVENANCE.md).
pub const KEYS_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/golden/keys");
/// Committed copy of `keys_full_v2_D.json`.
pub const KEYS_D: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/golden/keys/keys_full_v2_D.json");

/// Reads an f32 `.npy` from the mpd fixture directory as an MLX array of its shape.
pub fn npy(name: &str) -> Array {
    read_npy(&format!("{MPD_DIR}/{name}.npy"))
}

/// Max |got - want| divided by max |want| (scale-relative error); shapes must match.
pub fn rel_err(what: &str, got: &Array, want: &Array) -> f64 {
    assert_eq!(got.shape(), want.shape(), "{what}: shape");
    let (g, w) = (values(got), values(want));
    let scale = w.iter().fold(0f64, |m, &x| m.max(x.abs() as f64));
    let diff = g.iter().zip(&w).fold(0f64, |m, (&a, &b)| m.max((a as f64 - b as f64).abs()));
    assert!(scale > 0.0, "{what}: reference is all zeros");
    diff / scale
}

/// ||got - want||_2 / ||want||_2.
pub fn l2_rel_err(got: &Array, want: &Array) -> f64 {
    let (g, w) = (values(got), values(want));
    let num: f64 = g.iter().zip(&w).map(|(&a, &b)| (a as f64 - b as f64).powi(2)).sum();
    let den: f64 = w.iter().map(|&b| (b as f64).powi(2)).sum();
    (num / den).sqrt()
}

/// Asserts a scale-relative error below `tol`, printing the measured value.
pub fn assert_close(what: &str, got: &Array, want: &Array, tol: f64) -> f64 {
    let e = rel_err(what, got, want);
    println!("{what}: max rel err {e:.3e} (tol {tol:.0e}), l2 rel err {:.3e}", l2_rel_err(got, want));
    assert!(e <= tol, "{what}: max rel err {e:.3e} > {tol:.0e}");
    e
}
