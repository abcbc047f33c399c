//! The batch of the reference trajectory fixture (`tests/golden/trajectory/in.*.npy`),
//! shared by the v2 trajectory test and the v2Pro one-step test.

use std::path::Path;

use mlx_rs::Array;
use sovits_core::batch::Batch;

use crate::golden::read_npy;

/// Reads an int64 `.npy` file as int32 (each value checked to fit); panics naming the path.
pub fn read_i64_npy_as_i32(path: &Path) -> Array {
    let f = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let npy = npyz::NpyFile::new(std::io::BufReader::new(f)).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let shape: Vec<i32> = npy.shape().iter().map(|&d| d as i32).collect();
    let data: Vec<i64> = npy.into_vec().unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let data: Vec<i32> = data.into_iter().map(|v| i32::try_from(v).unwrap_or_else(|_| panic!("{}: {v} does not fit i32", path.display()))).collect();
    Array::from_slice(&data, &shape)
}

/// torch `[B, C, T]` -> channels-last `[B, T, C]`.
pub fn channels_last(a: &Array) -> Array {
    a.transpose_axes(&[0, 2, 1]).expect("transpose")
}

/// The training batch stored in the trajectory fixture folder `dir`
/// (`in.y`, `in.ssl`, `in.spec`, `in.text` and their lengths, every shape
/// read from the files), with `sv` as the speaker-verification input
/// (`None` for a v2 model).
pub fn trajectory_batch(dir: &Path, sv: Option<Array>) -> Batch {
    let f32_npy = |name: &str| read_npy(dir.join(name).to_str().expect("utf-8 path"));
    let i32_npy = |name: &str| read_i64_npy_as_i32(&dir.join(name));
    let y = f32_npy("in.y.npy");
    let (b, s) = (y.shape()[0], y.shape()[2]);
    Batch {
        ssl: Some(channels_last(&f32_npy("in.ssl.npy"))),
        semantic: None,
        spec: channels_last(&f32_npy("in.spec.npy")),
        spec_lengths: i32_npy("in.spec_lengths.npy"),
        text: i32_npy("in.text.npy"),
        text_lengths: i32_npy("in.text_lengths.npy"),
        audio: y.reshape(&[b, s]).expect("audio [B, S]"),
        audio_lengths: i32_npy("in.y_lengths.npy"),
        sv,
    }
}
