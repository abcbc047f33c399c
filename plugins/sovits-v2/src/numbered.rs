//! [`Numbered`]: a list whose children carry PyTorch's `nn.Sequential` /
//! `nn.ModuleList` indices when parameter-free modules sit between them
//! (`flow.flows.0/2/4/6`, `ref_enc.spectral.0/3`), so the keys match the
//! reference's state dict.

use std::rc::Rc;

use mlx_rs::module::{ModuleParamMut, ModuleParamRef, ModuleParameters};
use mlx_rs::nested::{NestedHashMap, NestedValue};

/// Children numbered `first, first + stride, ..` as PyTorch numbers them when
/// parameter-free modules (Flip, Mish, Dropout) sit in between.
#[derive(Debug, Clone)]
pub struct Numbered<T> {
    /// The parameterised children, in order.
    pub items: Vec<T>,
    /// The PyTorch index of each child.
    pub indices: Vec<usize>,
}

impl<T> Numbered<T> {
    /// `items` at PyTorch indices `0, stride, 2*stride, ..`.
    pub fn strided(items: Vec<T>, stride: usize) -> Self {
        let indices = (0..items.len()).map(|i| i * stride).collect();
        Self { items, indices }
    }

    /// `items` at the given PyTorch indices (one per item).
    pub fn at(items: Vec<T>, indices: Vec<usize>) -> Self {
        Self { items, indices }
    }
}

impl<T: ModuleParameters> ModuleParameters for Numbered<T> {
    fn num_parameters(&self) -> usize {
        self.items.iter().map(|m| m.num_parameters()).sum()
    }

    fn parameters(&self) -> ModuleParamRef<'_> {
        let mut out = NestedHashMap::new();
        for (i, m) in self.indices.iter().zip(&self.items) {
            out.insert(Rc::from(i.to_string()), NestedValue::Map(m.parameters().entries));
        }
        out
    }

    fn parameters_mut(&mut self) -> ModuleParamMut<'_> {
        let mut out = NestedHashMap::new();
        for (i, m) in self.indices.iter().zip(self.items.iter_mut()) {
            out.insert(Rc::from(i.to_string()), NestedValue::Map(m.parameters_mut().entries));
        }
        out
    }

    fn trainable_parameters(&self) -> ModuleParamRef<'_> {
        let mut out = NestedHashMap::new();
        for (i, m) in self.indices.iter().zip(&self.items) {
            out.insert(Rc::from(i.to_string()), NestedValue::Map(m.trainable_parameters().entries));
        }
        out
    }

    fn freeze_parameters(&mut self, recursive: bool) {
        self.items.iter_mut().for_each(|m| m.freeze_parameters(recursive));
    }

    fn unfreeze_parameters(&mut self, recursive: bool) {
        self.items.iter_mut().for_each(|m| m.unfreeze_parameters(recursive));
    }

    fn all_frozen(&self) -> Option<bool> {
        let states: Vec<bool> = self.items.iter().filter_map(|m| m.all_frozen()).collect();
        if states.is_empty() { None } else { Some(states.iter().all(|&s| s)) }
    }

    fn any_frozen(&self) -> Option<bool> {
        let states: Vec<bool> = self.items.iter().filter_map(|m| m.any_frozen()).collect();
        if states.is_empty() { None } else { Some(states.iter().any(|&s| s)) }
    }
}
