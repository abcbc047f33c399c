//! Golden `.npy` fixtures: reading a file, and the copied loss fixtures by name.

use mlx_rs::Array;

/// Directory of the copied loss fixtures (see its PROVENANCE.md).
pub const GOLDEN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../golden/losses");

/// Reads an f32 `.npy` file as an array of the file's shape; panics naming the path.
pub fn read_npy(path: &str) -> Array {
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let npy = npyz::NpyFile::new(std::io::BufReader::new(file)).unwrap_or_else(|e| panic!("{path}: {e}"));
    let shape: Vec<i32> = npy.shape().iter().map(|&d| d as i32).collect();
    let data: Vec<f32> = npy.into_vec().unwrap_or_else(|e| panic!("{path}: {e}"));
    Array::from_slice(&data, &shape)
}

/// Loads `<GOLDEN>/<name>.npy` (f32) as an array of the file's shape.
pub fn golden(name: &str) -> Array {
    read_npy(&format!("{GOLDEN}/{name}.npy"))
}
