//! Small layers with GPT-SoVITS state-dict names: the channel LayerNorm
//! (`modules.py::LayerNorm`, keys `gamma`/`beta`), `nn.Embedding` (key
//! `weight`), and [`Numbered`], a list whose children carry PyTorch's
//! `nn.Sequential`/`nn.ModuleList` indices when parameter-free modules sit
//! between them (`flow.flows.0/2/4/6`, `ref_enc.spectral.0/3`).

use std::rc::Rc;

use mlx_rs::macros::ModuleParameters;
use mlx_rs::module::{ModuleParamMut, ModuleParamRef, ModuleParameters, Param};
use mlx_rs::nested::{NestedHashMap, NestedValue};
use mlx_rs::{Array, Dtype, random};
use sovits_core::{Error, Result};

/// Layer norm over the channel axis (`modules.LayerNorm`, eps 1e-5).
#[derive(Debug, Clone, ModuleParameters)]
pub struct LayerNorm {
    /// Scale `[C]` (init 1).
    #[param]
    pub gamma: Param<Array>,
    /// Shift `[C]` (init 0).
    #[param]
    pub beta: Param<Array>,
}

impl LayerNorm {
    /// A norm over `channels` with unit scale and zero shift.
    pub fn new(channels: i32) -> Result<Self> {
        Ok(Self {
            gamma: Param::new(Array::ones::<f32>(&[channels])?),
            beta: Param::new(Array::zeros::<f32>(&[channels])?),
        })
    }

    /// Normalises every frame over its channels.
    ///
    /// # Shapes
    /// `[B, T, C]` -> `[B, T, C]`.
    pub fn forward(&self, x: &Array) -> Result<Array> {
        sovits_core::nn::mixed::layer_norm(x, &self.gamma, &self.beta, 1e-5)
    }
}

/// `nn.Embedding`: a lookup table `weight` `[n, dim]`, init N(0, 1) as torch.
#[derive(Debug, Clone, ModuleParameters)]
pub struct Embedding {
    /// Table `[n, dim]`.
    #[param]
    pub weight: Param<Array>,
}

impl Embedding {
    /// A table of `n` rows of `dim` standard-normal values.
    pub fn new(n: i32, dim: i32) -> Result<Self> {
        Ok(Self { weight: Param::new(random::normal::<f32>(&[n, dim], None, None, None)?) })
    }

    /// Looks the ids up; ids outside the table are an error.
    ///
    /// # Shapes
    /// `[B, L]` integer -> `[B, L, dim]`.
    pub fn forward(&self, ids: &Array) -> Result<Array> {
        let n = self.weight.shape()[0];
        let ids = ids.as_dtype(Dtype::Int32)?;
        if ids.size() > 0 {
            let lo = crate::common::scalar_i32(&ids.min(None)?)?;
            let hi = crate::common::scalar_i32(&ids.max(None)?)?;
            if lo < 0 || hi >= n {
                return Err(Error::Shape {
                    what: "text ids".into(),
                    expected: format!("ids in [0, {n})"),
                    found: format!("ids in [{lo}, {hi}]"),
                });
            }
        }
        Ok(self.weight.take_axis(&ids, 0)?)
    }
}

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
