//! One item of a GPT-SoVITS experiment folder: its HuBERT features
//! (`4-cnhubert/<name>.pt`), its audio (`5-wav32k/<name>`), phone ids and
//! speaker-verification embedding (`7-sv_cn/<name>.pt`, v2Pro),
//! checked against each other; every problem is collected, none panics.

use std::path::{Path, PathBuf};

use mlx_rs::{Array, Dtype};
use sovits_core::data::layout::{N_SYMBOLS, SSL_DIM, SSL_TOLERANCE, SV_DIM};
use sovits_core::data::phonemes::symbol_id;
use sovits_core::data::report::Problem;

use crate::pickle_read;
use crate::tensors;
use crate::zip_container::PthArchive;

/// Collects the problems of one item.
pub struct Problems {
    /// The item's name.
    pub item: String,
    /// What was found wrong.
    pub list: Vec<Problem>,
}

impl Problems {
    /// Records a problem with `path`'s `field`.
    pub fn push(&mut self, path: &Path, field: &str, expected: impl Into<String>, found: impl Into<String>) {
        self.list.push(Problem { path: path.to_path_buf(), item: Some(self.item.clone()), field: field.into(), expected: expected.into(), found: found.into() });
    }
}

/// Phone ids through the v2 symbol table; an unknown phone is a problem
/// naming the file, the line and the phone.
pub fn phone_ids(phones: &[String], file: &Path, line: usize, p: &mut Problems) -> Option<Vec<i32>> {
    let mut ids = Vec::with_capacity(phones.len());
    for ph in phones {
        match symbol_id(ph).filter(|&i| i < N_SYMBOLS) {
            Some(i) => ids.push(i),
            None => p.push(file, &format!("line {line} ({}): phone", p.item), "a symbol of the GPT-SoVITS v2 table (core/src/data/symbols_v2.txt)", format!("`{ph}`")),
        }
    }
    (ids.len() == phones.len()).then_some(ids)
}

/// Reads a 16-bit (or other integer / float) mono wav at `rate` Hz as f32
/// in [-1, 1], unchanged (GPT-SoVITS has already peak-normalised it).
pub fn read_wav(path: &Path, rate: usize, p: &mut Problems) -> Option<Vec<f32>> {
    let mut r = match hound::WavReader::open(path) {
        Ok(r) => r,
        Err(e) => {
            p.push(path, "wav", "a readable wav file", e.to_string());
            return None;
        }
    };
    let spec = r.spec();
    if spec.sample_rate as usize != rate || spec.channels != 1 {
        p.push(path, "format", format!("mono at {rate} Hz (5-wav32k)"), format!("{} channel(s) at {} Hz", spec.channels, spec.sample_rate));
        return None;
    }
    let samples: Result<Vec<f32>, _> = match spec.sample_format {
        hound::SampleFormat::Float => r.samples::<f32>().collect(),
        hound::SampleFormat::Int => {
            let scale = 1.0 / (1u64 << (spec.bits_per_sample.max(1) - 1)) as f32;
            r.samples::<i32>().map(|s| s.map(|v| v as f32 * scale)).collect()
        }
    };
    match samples {
        Ok(x) => Some(x),
        Err(e) => {
            p.push(path, "samples", "readable samples", e.to_string());
            None
        }
    }
}

/// Reads the tensor a `.pt` file holds (any dtype, any strides) through the
/// restricted pickle reader; a file that is not a lone tensor is an error.
pub fn read_tensor(path: &Path) -> crate::Result<Array> {
    let mut archive = PthArchive::open(path)?;
    let what = format!("{}:{}/data.pkl", path.display(), archive.root());
    let top = pickle_read::parse(&archive.read("data.pkl")?, &what)?.value;
    if !tensors::is_tensor(&top) {
        return Err(crate::InteropError::Layout { what, message: format!("expected a tensor, found a {}", top.kind()) });
    }
    tensors::load(&mut archive, &top, &path.display().to_string())
}

/// `a` as f32 row-major values, or a problem with `path`.
pub fn f32_values(a: &Array, path: &Path, p: &mut Problems) -> Option<Vec<f32>> {
    let f = a.as_dtype(Dtype::Float32).and_then(|f| f.reshape(&[-1]));
    match f.and_then(|f| f.eval().map(|_| f)) {
        Ok(f) => Some(f.as_slice::<f32>().to_vec()),
        Err(e) => {
            p.push(path, "tensor", "f32-convertible values", e.to_string());
            None
        }
    }
}

/// Reads a `torch.save`d HuBERT feature tensor `[1, 768, T]` (fp16 or f32,
/// any strides) through the restricted pickle reader; returns `[768, T]`
/// f32 row-major and `T`.
pub fn read_ssl(path: &Path, p: &mut Problems) -> Option<(Vec<f32>, usize)> {
    let a = match read_tensor(path) {
        Ok(a) => a,
        Err(e) => {
            p.push(path, "tensor", "a torch-saved tensor", e.to_string());
            return None;
        }
    };
    let shape = a.shape().to_vec();
    if shape.len() != 3 || shape[0] != 1 || shape[1] as usize != SSL_DIM || shape[2] == 0 {
        p.push(path, "shape", format!("[1, {SSL_DIM}, T] (HuBERT features)"), format!("{shape:?}"));
        return None;
    }
    f32_values(&a, path, p).map(|v| (v, shape[2] as usize))
}

/// Reads a `torch.save`d speaker-verification embedding
/// (`7-sv_cn/<name>.pt`, `[1, 20480]` as GPT-SoVITS's `2-get-sv.py` saves
/// it, or `[20480]`; fp16 or f32): returns its 20480 values as f32, after
/// checking that they are finite.
pub fn read_sv(path: &Path, p: &mut Problems) -> Option<Vec<f32>> {
    let a = match read_tensor(path) {
        Ok(a) => a,
        Err(e) => {
            p.push(path, "tensor", "a torch-saved tensor", e.to_string());
            return None;
        }
    };
    let shape = a.shape().to_vec();
    if !(shape == [1, SV_DIM as i32] || shape == [SV_DIM as i32]) {
        p.push(path, "shape", format!("[1, {SV_DIM}] (speaker-verification embedding)"), format!("{shape:?}"));
        return None;
    }
    let v = f32_values(&a, path, p)?;
    if let Some(i) = v.iter().position(|x| !x.is_finite()) {
        p.push(path, "value", "finite values", format!("{} at index {i}", v[i]));
        return None;
    }
    Some(v)
}

/// Aligns `[768, frames]` features to `t` spec frames (the last frame
/// repeated, extra frames dropped), after checking `|frames - t| < 3`.
pub fn align_ssl(ssl: &[f32], frames: usize, t: usize, path: &Path, p: &mut Problems) -> Option<Vec<f32>> {
    if frames.abs_diff(t) >= SSL_TOLERANCE {
        p.push(path, "ssl frames", format!("within {} of {t} (the wav's samples // hop)", SSL_TOLERANCE - 1), frames.to_string());
        return None;
    }
    Some((0..SSL_DIM).flat_map(|c| (0..t).map(move |j| ssl[c * frames + j.min(frames - 1)])).collect())
}

/// `dir/<name>` for the item's files.
pub fn item_path(dir: &Path, name: &str, suffix: &str) -> PathBuf {
    dir.join(format!("{name}{suffix}"))
}
