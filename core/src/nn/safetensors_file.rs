//! Safetensors files on disk: validated before MLX reads them, written by
//! the `safetensors` crate through the durable write path.
//!
//! MLX's C++ loader (0.32.2) rejects a forged header length or offsets past
//! the end with an error, but loads some malformed files silently with a
//! wrong shape (negative dimensions, a dimension of 2^32 + 64 read as 64;
//! `tests/tests/safetensors_mlx_direct.rs`), and an abort in C++ could not be
//! caught in Rust. So every file is first read (its real size bounds the
//! allocation) and checked with the `safetensors` crate: header, offsets,
//! the data length, dtypes MLX knows and dims that fit MLX's `int`. Writing serializes in Rust so a
//! failed write (a full disk) is an error naming the file, never a silently
//! short file.

use std::borrow::Cow;
use std::collections::HashMap;
use std::path::Path;

use mlx_rs::{Array, Dtype};
use safetensors::{Dtype as StDtype, SafeTensors, View};

use crate::components::ParamMap;
use crate::durable::{self, FileOps};
use crate::error::{Error, Result};

fn bad(path: &Path, problem: impl std::fmt::Display) -> Error {
    Error::Weights(format!("{}: not a valid safetensors file: {problem}", path.display()))
}

/// Checks the bytes of a safetensors file (`path` only names it in errors).
pub fn validate(path: &Path, bytes: &[u8]) -> Result<()> {
    let st = SafeTensors::deserialize(bytes).map_err(|e| bad(path, e))?;
    for (name, view) in st.iter() {
        if to_mlx(view.dtype()).is_none() {
            return Err(bad(path, format!("tensor `{name}` has dtype {:?}, which this build cannot load", view.dtype())));
        }
        if let Some(d) = view.shape().iter().find(|&&d| i32::try_from(d).is_err()) {
            return Err(bad(path, format!("tensor `{name}` has a dimension of {d}, above 2^31 - 1")));
        }
    }
    Ok(())
}

/// Reads every tensor of a safetensors file after [`validate`], keeping each
/// stored dtype (f16, bf16, f32, integers). Errors name the file.
pub fn read(path: &Path) -> Result<ParamMap> {
    let bytes = std::fs::read(path).map_err(|e| Error::Weights(format!("cannot read {}: {e}", path.display())))?;
    validate(path, &bytes)?;
    drop(bytes);
    let loaded: HashMap<String, Array> =
        Array::load_safetensors(path).map_err(|e| Error::Weights(format!("cannot read {}: {e}", path.display())))?;
    Ok(loaded.into_iter().collect())
}

fn to_mlx(d: StDtype) -> Option<Dtype> {
    Some(match d {
        StDtype::BOOL => Dtype::Bool,
        StDtype::U8 => Dtype::Uint8,
        StDtype::I8 => Dtype::Int8,
        StDtype::U16 => Dtype::Uint16,
        StDtype::I16 => Dtype::Int16,
        StDtype::U32 => Dtype::Uint32,
        StDtype::I32 => Dtype::Int32,
        StDtype::U64 => Dtype::Uint64,
        StDtype::I64 => Dtype::Int64,
        StDtype::F16 => Dtype::Float16,
        StDtype::BF16 => Dtype::Bfloat16,
        StDtype::F32 => Dtype::Float32,
        _ => return None,
    })
}

fn from_mlx(d: Dtype) -> Option<StDtype> {
    Some(match d {
        Dtype::Bool => StDtype::BOOL,
        Dtype::Uint8 => StDtype::U8,
        Dtype::Int8 => StDtype::I8,
        Dtype::Uint16 => StDtype::U16,
        Dtype::Int16 => StDtype::I16,
        Dtype::Uint32 => StDtype::U32,
        Dtype::Int32 => StDtype::I32,
        Dtype::Uint64 => StDtype::U64,
        Dtype::Int64 => StDtype::I64,
        Dtype::Float16 => StDtype::F16,
        Dtype::Bfloat16 => StDtype::BF16,
        Dtype::Float32 => StDtype::F32,
        _ => return None,
    })
}

/// One tensor's host bytes, as the `safetensors` serializer wants them.
struct HostTensor {
    dtype: StDtype,
    shape: Vec<usize>,
    data: Vec<u8>,
}

impl View for &HostTensor {
    fn dtype(&self) -> StDtype {
        self.dtype
    }
    fn shape(&self) -> &[usize] {
        &self.shape
    }
    fn data(&self) -> Cow<'_, [u8]> {
        Cow::Borrowed(&self.data)
    }
    fn data_len(&self) -> usize {
        self.data.len()
    }
}

fn raw<T: mlx_rs::ArrayElement>(a: &Array) -> Result<Vec<u8>> {
    if a.size() == 0 {
        return Ok(Vec::new());
    }
    let s = a.try_as_slice::<T>().map_err(|e| Error::Weights(format!("cannot read tensor data: {e}")))?;
    // SAFETY: `T` is a plain numeric type (or bool) without padding; the byte
    // view covers exactly the slice's memory.
    let bytes = unsafe { std::slice::from_raw_parts(s.as_ptr().cast::<u8>(), std::mem::size_of_val(s)) };
    Ok(bytes.to_vec())
}

fn host(key: &str, a: &Array) -> Result<HostTensor> {
    let a = a.contiguous()?;
    a.eval()?;
    let dtype = from_mlx(a.dtype()).ok_or_else(|| Error::Weights(format!("tensor `{key}`: dtype {:?} cannot be saved", a.dtype())))?;
    let data = match a.dtype() {
        Dtype::Bool => raw::<bool>(&a)?,
        Dtype::Uint8 => raw::<u8>(&a)?,
        Dtype::Int8 => raw::<i8>(&a)?,
        Dtype::Uint16 => raw::<u16>(&a)?,
        Dtype::Int16 => raw::<i16>(&a)?,
        Dtype::Uint32 => raw::<u32>(&a)?,
        Dtype::Int32 => raw::<i32>(&a)?,
        Dtype::Uint64 => raw::<u64>(&a)?,
        Dtype::Int64 => raw::<i64>(&a)?,
        Dtype::Float16 => raw::<half::f16>(&a)?,
        Dtype::Bfloat16 => raw::<half::bf16>(&a)?,
        _ => raw::<f32>(&a)?,
    };
    Ok(HostTensor { dtype, shape: a.shape().iter().map(|&d| d as usize).collect(), data })
}

/// The bytes of a safetensors file holding `tensors`.
pub fn to_bytes(tensors: &ParamMap) -> Result<Vec<u8>> {
    let host: Vec<(String, HostTensor)> =
        tensors.iter().map(|(k, v)| Ok((k.clone(), host(k, v)?))).collect::<Result<_>>()?;
    safetensors::serialize(host.iter().map(|(k, t)| (k.as_str(), t)), None)
        .map_err(|e| Error::Weights(format!("cannot serialize safetensors: {e}")))
}

/// Writes `tensors` as the safetensors file `path`, durably and atomically
/// ([`durable::write_file`]).
pub fn write(path: &Path, tensors: &ParamMap) -> Result<()> {
    write_with(&durable::Real, path, tensors)
}

/// [`write`] through the given file operations.
pub fn write_with(ops: &dyn FileOps, path: &Path, tensors: &ParamMap) -> Result<()> {
    durable::write_file(ops, path, &to_bytes(tensors)?)
}
