//! Reading arrays back to host memory and comparing them with tolerances
//! that name where they failed.

use mlx_rs::Array;

/// Evaluated values of `a` as f32 in row-major order (other dtypes are cast,
/// views made contiguous).
pub fn values(a: &Array) -> Vec<f32> {
    let a = a.as_dtype(mlx_rs::Dtype::Float32).expect("cast to f32");
    let a = a.contiguous().expect("contiguous");
    a.eval().expect("eval");
    a.as_slice::<f32>().to_vec()
}

/// The single value of a scalar array.
pub fn scalar(a: &Array) -> f32 {
    assert_eq!(a.size(), 1, "expected a scalar, shape {:?}", a.shape());
    values(a)[0]
}

/// Asserts |got - want| <= rtol * |want| and returns the relative error.
pub fn assert_rel(what: &str, got: f32, want: f32, rtol: f64) -> f64 {
    let rel = (got as f64 - want as f64).abs() / (want as f64).abs().max(f64::MIN_POSITIVE);
    assert!(rel <= rtol, "{what}: got {got}, want {want}, rel err {rel:e} > {rtol:e}");
    println!("{what}: got {got}, want {want}, rel err {rel:e}");
    rel
}

/// Largest absolute element difference; panics with the index when lengths differ.
pub fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len(), "length mismatch");
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}

/// Asserts every element of `got` is within `atol + rtol*|want|` of `want`,
/// reporting the first offending index and both values.
pub fn assert_close(what: &str, got: &[f32], want: &[f32], atol: f32, rtol: f32) {
    assert_eq!(got.len(), want.len(), "{what}: length {} vs {}", got.len(), want.len());
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= atol + rtol * w.abs(),
            "{what}[{i}]: got {g}, want {w} (max abs diff {})",
            max_abs_diff(got, want)
        );
    }
}
