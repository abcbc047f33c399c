//! Reading and writing the dataset's `.npy` arrays with `npyz`.
//!
//! Reads stream from a buffered file, one array at a time, so a corpus larger
//! than RAM is never held whole in memory. `header` reads only the header (a
//! few hundred bytes), which is what validation and length lookups need.
//! Fortran-ordered 2-D arrays are converted to C order on read.

use std::fs::File;
use std::io::{BufReader, BufWriter};
use std::path::Path;

use npyz::{DType, NpyFile, Order, TypeChar, WriterBuilder};

use crate::error::{Error, Result};

/// Element types the dataset uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Elem {
    /// 32-bit float (`<f4`).
    F32,
    /// 16-bit float (`<f2`), accepted only for the unused `bert_features`.
    F16,
    /// 32-bit signed integer (`<i4`).
    I32,
    /// 64-bit signed integer (`<i8`).
    I64,
    /// 64-bit float (`<f8`).
    F64,
    /// Anything else (bool, unsigned, strings, records...).
    Other,
}

impl Elem {
    /// The numpy type string of this element type (`<f4`), for messages.
    pub fn descr(self) -> &'static str {
        match self {
            Elem::F32 => "<f4 (float32)",
            Elem::F16 => "<f2 (float16)",
            Elem::I32 => "<i4 (int32)",
            Elem::I64 => "<i8 (int64)",
            Elem::F64 => "<f8 (float64)",
            Elem::Other => "other",
        }
    }
}

/// What an `.npy` header says: shape, element type and memory order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NpyInfo {
    /// Shape as stored.
    pub shape: Vec<usize>,
    /// Element type.
    pub elem: Elem,
    /// The numpy dtype string as written in the file (`<f4`, `|b1`...).
    pub descr: String,
    /// True for Fortran (column-major) order.
    pub fortran: bool,
}

fn data_err(path: &Path, message: impl Into<String>) -> Error {
    Error::Data { path: path.to_path_buf(), message: message.into() }
}

fn classify(dtype: &DType) -> Elem {
    match dtype {
        DType::Plain(ts) => match (ts.type_char(), ts.size_field()) {
            (TypeChar::Float, 4) => Elem::F32,
            (TypeChar::Float, 2) => Elem::F16,
            (TypeChar::Float, 8) => Elem::F64,
            (TypeChar::Int, 4) => Elem::I32,
            (TypeChar::Int, 8) => Elem::I64,
            _ => Elem::Other,
        },
        _ => Elem::Other,
    }
}

impl Elem {
    /// Bytes per element (1 for [`Elem::Other`], a lower bound).
    fn size(self) -> u64 {
        match self {
            Elem::F16 => 2,
            Elem::F32 | Elem::I32 => 4,
            Elem::F64 | Elem::I64 => 8,
            Elem::Other => 1,
        }
    }
}

/// Opens `path` and checks that its header's shape fits in the file, so no
/// read ever reserves more memory than the file's real size.
fn open(path: &Path) -> Result<NpyFile<BufReader<File>>> {
    let mut file = File::open(path).map_err(|e| data_err(path, format!("cannot open: {e}")))?;
    let len = file.metadata().map_err(|e| data_err(path, format!("cannot stat: {e}")))?.len();
    precheck_shape(path, &mut file, len)?;
    let npy = NpyFile::new(BufReader::new(file)).map_err(|e| data_err(path, format!("not a valid .npy file: {e}")))?;
    let es = classify(&npy.dtype()).size();
    let need = npy.shape().iter().try_fold(es, |a, &d| a.checked_mul(d));
    if need.is_none_or(|n| n > len) {
        return Err(data_err(
            path,
            format!("shape {:?}: needs more data than the file's {len} bytes (truncated file or damaged header)", npy.shape()),
        ));
    }
    Ok(npy)
}

fn info_of(npy: &NpyFile<BufReader<File>>) -> NpyInfo {
    let dtype = npy.dtype();
    NpyInfo {
        shape: npy.shape().iter().map(|&d| d as usize).collect(),
        elem: classify(&dtype),
        descr: dtype.descr().trim_matches('\'').to_string(),
        fortran: npy.order() == Order::Fortran,
    }
}

/// The shape tuple of an `.npy` header's text, when it reads as one.
fn shape_in(header: &str) -> Option<Vec<u64>> {
    let rest = &header[header.find("'shape'")? + 7..];
    let open = rest.find('(')?;
    let close = open + rest[open..].find(')')?;
    rest[open + 1..close].split(',').map(str::trim).filter(|d| !d.is_empty()).map(|d| d.parse().ok()).collect()
}

/// Rejects a header whose shape product overflows or exceeds the file
/// before npyz multiplies it (which overflows in debug builds). Anything it
/// cannot read is left to npyz to report.
fn precheck_shape(path: &Path, file: &mut File, len: u64) -> Result<()> {
    use std::io::{Read, Seek};
    let mut head = [0u8; 12];
    if file.read_exact(&mut head).is_err() || &head[..6] != b"\x93NUMPY" {
        return file.rewind().map_err(|e| data_err(path, format!("cannot read: {e}")));
    }
    let (at, n) = match head[6] {
        1 => (10, u64::from(u16::from_le_bytes([head[8], head[9]]))),
        _ => (12, u64::from(u32::from_le_bytes([head[8], head[9], head[10], head[11]]))),
    };
    let mut text = Vec::new();
    file.seek(std::io::SeekFrom::Start(at)).map_err(|e| data_err(path, format!("cannot read: {e}")))?;
    file.by_ref().take(n.min(len)).read_to_end(&mut text).map_err(|e| data_err(path, format!("cannot read: {e}")))?;
    file.rewind().map_err(|e| data_err(path, format!("cannot read: {e}")))?;
    let Some(shape) = shape_in(&String::from_utf8_lossy(&text)) else { return Ok(()) };
    match shape.iter().try_fold(1u64, |a, &d| a.checked_mul(d)) {
        Some(n) if n <= len => Ok(()),
        _ => Err(data_err(path, format!("shape {shape:?}: needs more data than the file's {len} bytes (truncated file or damaged header)"))),
    }
}

/// Reads only the header of `path`.
pub fn header(path: &Path) -> Result<NpyInfo> {
    Ok(info_of(&open(path)?))
}

/// Reorders a Fortran-ordered array to C order (any rank).
fn to_c_order<T: Copy>(data: Vec<T>, shape: &[usize]) -> Vec<T> {
    if shape.len() < 2 {
        return data;
    }
    let n = data.len();
    let mut out = Vec::with_capacity(n);
    // C-order index -> Fortran offset.
    let mut idx = vec![0usize; shape.len()];
    for _ in 0..n {
        let mut off = 0;
        let mut stride = 1;
        for (d, &i) in idx.iter().enumerate() {
            off += i * stride;
            stride *= shape[d];
        }
        out.push(data[off]);
        for d in (0..shape.len()).rev() {
            idx[d] += 1;
            if idx[d] < shape[d] {
                break;
            }
            idx[d] = 0;
        }
    }
    out
}

fn read_as<T: npyz::Deserialize + Copy>(path: &Path, want: Elem) -> Result<(NpyInfo, Vec<T>)> {
    let npy = open(path)?;
    let info = info_of(&npy);
    if info.elem != want {
        return Err(data_err(path, format!("dtype: expected {}, found {}", want.descr(), info.descr)));
    }
    let data: Vec<T> =
        npy.into_vec().map_err(|e| data_err(path, format!("cannot read array data: {e}")))?;
    let data = if info.fortran { to_c_order(data, &info.shape) } else { data };
    Ok((info, data))
}

/// Reads a float32 array (C order) with its header.
pub fn read_f32(path: &Path) -> Result<(NpyInfo, Vec<f32>)> {
    read_as::<f32>(path, Elem::F32)
}

/// Reads an int32 array (C order) with its header.
pub fn read_i32(path: &Path) -> Result<(NpyInfo, Vec<i32>)> {
    read_as::<i32>(path, Elem::I32)
}

fn write_as<T: npyz::AutoSerialize + Copy>(path: &Path, shape: &[usize], data: &[T]) -> Result<()> {
    let n: usize = shape.iter().product();
    if n != data.len() {
        return Err(Error::Shape {
            what: format!("writing {}", path.display()),
            expected: format!("{shape:?} = {n} elements"),
            found: format!("{} elements", data.len()),
        });
    }
    let file = File::create(path).map_err(|e| data_err(path, format!("cannot create: {e}")))?;
    let shape: Vec<u64> = shape.iter().map(|&d| d as u64).collect();
    let io = |e: std::io::Error| data_err(path, format!("cannot write: {e}"));
    let mut w = npyz::WriteOptions::new()
        .default_dtype()
        .shape(&shape)
        .writer(BufWriter::new(file))
        .begin_nd()
        .map_err(io)?;
    w.extend(data.iter().copied()).map_err(io)?;
    w.finish().map_err(io)
}

/// Writes a float32 array in C order.
pub fn write_f32(path: &Path, shape: &[usize], data: &[f32]) -> Result<()> {
    write_as(path, shape, data)
}

/// Writes an int32 array in C order.
pub fn write_i32(path: &Path, shape: &[usize], data: &[i32]) -> Result<()> {
    write_as(path, shape, data)
}

/// Writes a float64 array in C order (tests use it to make wrong-dtype fixtures).
pub fn write_f64(path: &Path, shape: &[usize], data: &[f64]) -> Result<()> {
    write_as(path, shape, data)
}

/// Writes an int64 array in C order (tests use it to make wrong-dtype fixtures).
pub fn write_i64(path: &Path, shape: &[usize], data: &[i64]) -> Result<()> {
    write_as(path, shape, data)
}

#[cfg(test)]
mod tests {
    use super::to_c_order;

    #[test]
    fn fortran_to_c() {
        // [[1,2,3],[4,5,6]] stored column-major is 1,4,2,5,3,6.
        assert_eq!(to_c_order(vec![1, 4, 2, 5, 3, 6], &[2, 3]), vec![1, 2, 3, 4, 5, 6]);
    }
}
