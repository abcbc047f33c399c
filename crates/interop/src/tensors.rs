//! Tensors inside a torch pickle: `_rebuild_tensor_v2(storage, offset, size,
//! stride, requires_grad, hooks)` whose storage is the persistent id
//! `("storage", torch.<Type>Storage, key, location, numel)`, with the bytes in
//! the zip entry `<root>/data/<key>` (little-endian). `_rebuild_parameter`
//! wraps such a tensor. Strided views are gathered into contiguous arrays.

use half::{bf16, f16};
use mlx_rs::{Array, Dtype};

use crate::error::{InteropError, Result};
use crate::pickle_read::{Construct, Value};
use crate::zip_container::PthArchive;

/// Element types of torch storages this crate reads and writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StorageType {
    /// `torch.HalfStorage`.
    Half,
    /// `torch.BFloat16Storage`.
    BFloat16,
    /// `torch.FloatStorage`.
    Float,
    /// `torch.DoubleStorage`.
    Double,
    /// `torch.LongStorage`.
    Long,
    /// `torch.IntStorage`.
    Int,
    /// `torch.ShortStorage`.
    Short,
    /// `torch.CharStorage`.
    Char,
    /// `torch.ByteStorage`.
    Byte,
    /// `torch.BoolStorage`.
    Bool,
}

impl StorageType {
    /// The type named by a storage global (`torch.HalfStorage`).
    pub fn from_global(name: &str) -> Option<Self> {
        Some(match name {
            "torch.HalfStorage" => Self::Half,
            "torch.BFloat16Storage" => Self::BFloat16,
            "torch.FloatStorage" => Self::Float,
            "torch.DoubleStorage" => Self::Double,
            "torch.LongStorage" => Self::Long,
            "torch.IntStorage" => Self::Int,
            "torch.ShortStorage" => Self::Short,
            "torch.CharStorage" => Self::Char,
            "torch.ByteStorage" => Self::Byte,
            "torch.BoolStorage" => Self::Bool,
            _ => return None,
        })
    }

    /// The storage global's dotted name.
    pub fn global(self) -> &'static str {
        match self {
            Self::Half => "torch.HalfStorage",
            Self::BFloat16 => "torch.BFloat16Storage",
            Self::Float => "torch.FloatStorage",
            Self::Double => "torch.DoubleStorage",
            Self::Long => "torch.LongStorage",
            Self::Int => "torch.IntStorage",
            Self::Short => "torch.ShortStorage",
            Self::Char => "torch.CharStorage",
            Self::Byte => "torch.ByteStorage",
            Self::Bool => "torch.BoolStorage",
        }
    }

    /// Bytes per element.
    pub fn size(self) -> usize {
        match self {
            Self::Double | Self::Long => 8,
            Self::Float | Self::Int => 4,
            Self::Half | Self::BFloat16 | Self::Short => 2,
            Self::Char | Self::Byte | Self::Bool => 1,
        }
    }

    /// The storage type for an MLX dtype (f64 is not an MLX dtype on GPU; none here).
    pub fn from_dtype(d: Dtype) -> Option<Self> {
        Some(match d {
            Dtype::Float16 => Self::Half,
            Dtype::Bfloat16 => Self::BFloat16,
            Dtype::Float32 => Self::Float,
            Dtype::Float64 => Self::Double,
            Dtype::Int64 => Self::Long,
            Dtype::Int32 => Self::Int,
            Dtype::Int16 => Self::Short,
            Dtype::Int8 => Self::Char,
            Dtype::Uint8 => Self::Byte,
            Dtype::Bool => Self::Bool,
            _ => return None,
        })
    }
}

/// A tensor as described in the pickle (no data yet).
#[derive(Debug, Clone, PartialEq)]
pub struct TensorRef {
    /// Storage key: the zip entry `data/<key>`.
    pub key: String,
    /// Element type.
    pub dtype: StorageType,
    /// Elements in the whole storage.
    pub storage_numel: usize,
    /// Offset into the storage, in elements.
    pub offset: usize,
    /// Shape.
    pub shape: Vec<usize>,
    /// Strides in elements.
    pub stride: Vec<usize>,
}

fn layout(what: &str, message: impl Into<String>) -> InteropError {
    InteropError::Layout { what: what.to_string(), message: message.into() }
}

fn usize_of(v: &Value, what: &str, field: &str) -> Result<usize> {
    match v {
        Value::Int(i) if *i >= 0 => Ok(*i as usize),
        other => Err(layout(what, format!("tensor {field}: expected a non-negative int, found {other:?}"))),
    }
}

fn usizes(v: &Value, what: &str, field: &str) -> Result<Vec<usize>> {
    match v {
        Value::Tuple(items) | Value::List(items) => items.iter().map(|x| usize_of(x, what, field)).collect(),
        other => Err(layout(what, format!("tensor {field}: expected a tuple, found a {}", other.kind()))),
    }
}

/// Whether `v` is a tensor (`_rebuild_tensor_v2` or `_rebuild_parameter`).
pub fn is_tensor(v: &Value) -> bool {
    matches!(v, Value::Object { class, .. }
        if class == "torch._utils._rebuild_tensor_v2" || class == "torch._utils._rebuild_parameter")
}

/// Decodes a tensor node; `what` names the key path for errors.
pub fn tensor_ref(v: &Value, what: &str) -> Result<TensorRef> {
    let Value::Object { class, args, .. } = v else {
        return Err(layout(what, format!("expected a tensor, found a {}", v.kind())));
    };
    match class.as_str() {
        "torch._utils._rebuild_parameter" => match args.first() {
            Some(inner) => tensor_ref(inner, what),
            None => Err(layout(what, "_rebuild_parameter without arguments")),
        },
        "torch._utils._rebuild_tensor_v2" => {
            let [pid, offset, size, stride, ..] = args.as_slice() else {
                return Err(layout(what, format!("_rebuild_tensor_v2 needs 4+ arguments, found {}", args.len())));
            };
            let Value::PersistentId(pid) = pid else {
                return Err(layout(what, format!("tensor storage: expected a persistent id, found a {}", pid.kind())));
            };
            let Value::Tuple(p) = pid.as_ref() else {
                return Err(layout(what, "tensor storage id is not a tuple"));
            };
            let [Value::Str(tag), Value::Global(ty), Value::Str(key), _location, numel] = p.as_slice() else {
                return Err(layout(what, format!("tensor storage id: expected (\"storage\", type, key, location, numel), found {p:?}")));
            };
            if tag != "storage" {
                return Err(layout(what, format!("tensor storage id tag `{tag}`, expected `storage`")));
            }
            let dtype = StorageType::from_global(ty).ok_or_else(|| layout(what, format!("unsupported storage type `{ty}`")))?;
            if key.is_empty() || key.contains('/') || key.contains("..") {
                return Err(layout(what, format!("invalid storage key `{key}`")));
            }
            let shape = usizes(size, what, "size")?;
            let stride = usizes(stride, what, "stride")?;
            if shape.len() != stride.len() {
                return Err(layout(what, format!("size {shape:?} and stride {stride:?} differ in rank")));
            }
            Ok(TensorRef {
                key: key.clone(),
                dtype,
                storage_numel: usize_of(numel, what, "storage size")?,
                offset: usize_of(offset, what, "storage offset")?,
                shape,
                stride,
            })
        }
        other => Err(layout(what, format!("expected a tensor, found an object of `{other}`"))),
    }
}

/// Gathers the tensor's bytes (contiguous, row-major) from its storage.
pub fn gather(t: &TensorRef, storage: &[u8], what: &str) -> Result<Vec<u8>> {
    let es = t.dtype.size();
    if storage.len() < t.storage_numel.saturating_mul(es) {
        return Err(layout(
            what,
            format!("storage `data/{}` holds {} bytes, expected {} x {es}", t.key, storage.len(), t.storage_numel),
        ));
    }
    let overflow = || layout(what, format!("view (offset {}, size {:?}, stride {:?}) overflows the address space", t.offset, t.shape, t.stride));
    let numel = t.shape.iter().try_fold(1usize, |a, &n| a.checked_mul(n)).ok_or_else(overflow)?;
    if numel == 0 {
        return Ok(Vec::new());
    }
    if numel > t.storage_numel {
        // only stride-0 views do this; torch.save never writes them for parameters
        return Err(layout(what, format!("view of {numel} elements (size {:?}) is larger than its storage of {}", t.shape, t.storage_numel)));
    }
    let reach = t.shape.iter().zip(&t.stride).try_fold(t.offset, |a, (&n, &s)| (n - 1).checked_mul(s).and_then(|r| a.checked_add(r)));
    let last = reach.ok_or_else(overflow)?;
    if last >= t.storage_numel {
        return Err(layout(
            what,
            format!("view (offset {}, size {:?}, stride {:?}) reaches past the storage of {} elements", t.offset, t.shape, t.stride, t.storage_numel),
        ));
    }
    let mut contiguous = true;
    let mut expect = 1;
    for (&n, &s) in t.shape.iter().zip(&t.stride).rev() {
        if n != 1 && s != expect {
            contiguous = false;
        }
        expect *= n;
    }
    if contiguous {
        return Ok(storage[t.offset * es..(t.offset + numel) * es].to_vec());
    }
    let mut out = Vec::with_capacity(numel * es);
    let mut idx = vec![0usize; t.shape.len()];
    for _ in 0..numel {
        let e = t.offset + idx.iter().zip(&t.stride).map(|(i, s)| i * s).sum::<usize>();
        out.extend_from_slice(&storage[e * es..(e + 1) * es]);
        for d in (0..idx.len()).rev() {
            idx[d] += 1;
            if idx[d] < t.shape[d] {
                break;
            }
            idx[d] = 0;
        }
    }
    Ok(out)
}

fn from_le<T, const N: usize>(b: &[u8], f: fn([u8; N]) -> T) -> Vec<T> {
    b.chunks_exact(N)
        .map(|c| {
            let mut a = [0u8; N];
            a.copy_from_slice(c);
            f(a)
        })
        .collect()
}

/// Builds an MLX array from contiguous little-endian bytes.
pub fn to_array(dtype: StorageType, bytes: &[u8], shape: &[usize]) -> Result<Array> {
    let shape: Vec<i32> = shape
        .iter()
        .map(|&d| i32::try_from(d).map_err(|_| layout("tensor", format!("dimension {d} in {shape:?} is above 2^31 - 1"))))
        .collect::<Result<_>>()?;
    let numel = shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d as usize));
    if numel.and_then(|n| n.checked_mul(dtype.size())) != Some(bytes.len()) {
        return Err(layout("tensor", format!("{} bytes do not hold a {shape:?} tensor of {}-byte elements", bytes.len(), dtype.size())));
    }
    Ok(match dtype {
        StorageType::Half => Array::from_slice(&from_le(bytes, |a| f16::from_bits(u16::from_le_bytes(a))), &shape),
        StorageType::BFloat16 => Array::from_slice(&from_le(bytes, |a| bf16::from_bits(u16::from_le_bytes(a))), &shape),
        StorageType::Float => Array::from_slice(&from_le(bytes, f32::from_le_bytes), &shape),
        // MLX-rs builds no f64 arrays from slices; f64 storages (absent from
        // GPT-SoVITS files) are narrowed to f32.
        StorageType::Double => Array::from_slice(&from_le(bytes, |a| f64::from_le_bytes(a) as f32), &shape),
        StorageType::Long => Array::from_slice(&from_le(bytes, i64::from_le_bytes), &shape),
        StorageType::Int => Array::from_slice(&from_le(bytes, i32::from_le_bytes), &shape),
        StorageType::Short => Array::from_slice(&from_le(bytes, i16::from_le_bytes), &shape),
        StorageType::Char => Array::from_slice(&from_le(bytes, |a: [u8; 1]| a[0] as i8), &shape),
        StorageType::Byte => Array::from_slice(bytes, &shape),
        StorageType::Bool => Array::from_slice(&bytes.iter().map(|&b| b != 0).collect::<Vec<bool>>(), &shape),
    })
}

/// Reads a tensor node's data into an MLX array (dtype kept).
pub fn load(archive: &mut PthArchive, v: &Value, what: &str) -> Result<Array> {
    let t = tensor_ref(v, what)?;
    let storage = archive.read(&format!("data/{}", t.key))?;
    let bytes = gather(&t, &storage, what)?;
    to_array(t.dtype, &bytes, &t.shape)
}

/// Little-endian bytes of an array (evaluated, row-major).
pub fn to_bytes(a: &Array, what: &str) -> Result<(StorageType, Vec<u8>)> {
    let dtype = StorageType::from_dtype(a.dtype())
        .ok_or_else(|| layout(what, format!("dtype {:?} has no torch storage type here", a.dtype())))?;
    let a = a.contiguous()?;
    a.eval()?;
    let mut out = Vec::with_capacity(a.size() * dtype.size());
    match dtype {
        StorageType::Half => a.as_slice::<f16>().iter().for_each(|x| out.extend(x.to_bits().to_le_bytes())),
        StorageType::BFloat16 => a.as_slice::<bf16>().iter().for_each(|x| out.extend(x.to_bits().to_le_bytes())),
        StorageType::Float => a.as_slice::<f32>().iter().for_each(|x| out.extend(x.to_le_bytes())),
        StorageType::Double => a.as_slice::<f64>().iter().for_each(|x| out.extend(x.to_le_bytes())),
        StorageType::Long => a.as_slice::<i64>().iter().for_each(|x| out.extend(x.to_le_bytes())),
        StorageType::Int => a.as_slice::<i32>().iter().for_each(|x| out.extend(x.to_le_bytes())),
        StorageType::Short => a.as_slice::<i16>().iter().for_each(|x| out.extend(x.to_le_bytes())),
        StorageType::Char => a.as_slice::<i8>().iter().for_each(|x| out.extend(x.to_le_bytes())),
        StorageType::Byte => out.extend(a.as_slice::<u8>()),
        StorageType::Bool => a.as_slice::<bool>().iter().for_each(|&x| out.push(x as u8)),
    }
    Ok((dtype, out))
}

/// The pickle node `torch.save` writes for a contiguous tensor stored under `key`.
pub fn tensor_node(dtype: StorageType, key: &str, shape: &[usize]) -> Value {
    let numel: usize = shape.iter().product();
    let mut stride = vec![1usize; shape.len()];
    for d in (0..shape.len().saturating_sub(1)).rev() {
        stride[d] = stride[d + 1] * shape[d + 1];
    }
    let ints = |v: &[usize]| Value::Tuple(v.iter().map(|&x| Value::Int(x as i64)).collect());
    let pid = Value::Tuple(vec![
        Value::Str("storage".into()),
        Value::Global(dtype.global().into()),
        Value::Str(key.into()),
        Value::Str("cpu".into()),
        Value::Int(numel as i64),
    ]);
    let hooks = Value::Dict { ordered: true, items: Vec::new() };
    Value::Object {
        class: "torch._utils._rebuild_tensor_v2".into(),
        construct: Construct::Reduce,
        args: vec![Value::PersistentId(Box::new(pid)), Value::Int(0), ints(shape), ints(&stride), Value::Bool(false), hooks],
        state: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gathers_a_transposed_view() -> Result<()> {
        // storage 0..6 as [2,3]; view = transpose -> shape [3,2], stride [1,3], offset 0
        let storage: Vec<u8> = (0..6i32).flat_map(|x| (x as f32).to_le_bytes()).collect();
        let t = TensorRef { key: "0".into(), dtype: StorageType::Float, storage_numel: 6, offset: 0, shape: vec![3, 2], stride: vec![1, 3] };
        let got: Vec<f32> = from_le(&gather(&t, &storage, "t")?, f32::from_le_bytes);
        assert_eq!(got, vec![0.0, 3.0, 1.0, 4.0, 2.0, 5.0]);
        let t = TensorRef { offset: 7, ..t };
        assert!(gather(&t, &storage, "t").is_err());
        Ok(())
    }
}
