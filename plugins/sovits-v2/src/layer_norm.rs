//! The channel LayerNorm of GPT-SoVITS (`modules.py::LayerNorm`, keys
//! `gamma`/`beta`) on channels-last data.

use mlx_rs::Array;
use mlx_rs::macros::ModuleParameters;
use mlx_rs::module::Param;
use sovits_core::Result;

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
