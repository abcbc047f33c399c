//! Collects the tensors of a pickle being written: each array becomes a
//! `_rebuild_tensor_v2` node and one `data/<n>` storage, numbered in the
//! order `torch.save` numbers them (first use).

use mlx_rs::Array;

use crate::error::Result;
use crate::pickle_read::Value;
use crate::tensors;

/// Storages of one `.pth` being written.
#[derive(Debug, Default)]
pub struct Storages {
    /// `(key, little-endian bytes)` for `zip_container::write_pth`.
    pub entries: Vec<(String, Vec<u8>)>,
}

impl Storages {
    /// Adds `a` as the next storage and returns its pickle node; `what`
    /// names the tensor in errors.
    pub fn tensor(&mut self, a: &Array, what: &str) -> Result<Value> {
        let (dtype, bytes) = tensors::to_bytes(a, what)?;
        let key = self.entries.len().to_string();
        let shape: Vec<usize> = a.shape().iter().map(|&d| d as usize).collect();
        self.entries.push((key.clone(), bytes));
        Ok(tensors::tensor_node(dtype, &key, &shape))
    }
}
