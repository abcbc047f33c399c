//! `nn.Embedding` with its state-dict key `weight` and a range check on the ids.

use mlx_rs::{Array, Dtype, random};
use mlx_rs::macros::ModuleParameters;
use mlx_rs::module::Param;
use sovits_core::{Error, Result};

use crate::checks::scalar_i32;

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
            let lo = scalar_i32(&ids.min(None)?)?;
            let hi = scalar_i32(&ids.max(None)?)?;
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
