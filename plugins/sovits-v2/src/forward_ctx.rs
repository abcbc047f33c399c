//! [`Ctx`]: the randomness and mode (training or eval) of one forward pass,
//! with dropout drawn from the noise source so runs are reproducible.

use mlx_rs::{Array, ops};
use sovits_core::nn::noise::NoiseSource;
use sovits_core::Result;

/// The randomness and mode of one forward pass: dropout masks come from
/// `noise` as `uniform("dropout.<module>") < p`, and only when `training`.
pub struct Ctx<'a> {
    /// Source of every random draw.
    pub noise: &'a mut dyn NoiseSource,
    /// Training mode: dropout active.
    pub training: bool,
}

impl<'a> Ctx<'a> {
    /// A context over `noise` in training or eval mode.
    pub fn new(noise: &'a mut dyn NoiseSource, training: bool) -> Self {
        Self { noise, training }
    }

    /// Inverted dropout with probability `p` (identity in eval mode or when
    /// `p == 0`); the mask is `uniform("dropout.<what>", shape) >= p`.
    ///
    /// # Shapes
    /// any -> same.
    pub fn dropout(&mut self, x: &Array, p: f32, what: &str) -> Result<Array> {
        if !self.training || p <= 0.0 {
            return Ok(x.clone());
        }
        let u = self.noise.uniform(&format!("dropout.{what}"), x.shape())?;
        // mask and scale in x's dtype, so bf16 activations stay bf16
        let keep = ops::ge(&u, Array::from_f32(p))?.as_dtype(x.dtype())?;
        Ok(ops::multiply(x, &ops::multiply(&keep, Array::from_f32(1.0 / (1.0 - p)).as_dtype(x.dtype())?)?)?)
    }
}
