//! Spec options of `adamw` / `adamw-bf16`: torch `AdamW` keyword arguments with
//! GPT-SoVITS v2 values (`s2.json` train.betas / eps; torch's default decay).

use serde::{Deserialize, Serialize};
use crate::error::{Error, Result};

/// AdamW hyper-parameters (everything except the learning rate, which the
/// optimizer spec and the schedule own).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Decay rates of the first and second moment (`betas`).
    pub betas: [f32; 2],
    /// Added to the bias-corrected root of the second moment (`eps`).
    pub eps: f32,
    /// Decoupled weight decay (`weight_decay`), applied as `p *= 1 - lr * wd`.
    pub weight_decay: f32,
}

impl Default for Config {
    /// GPT-SoVITS v2: betas [0.8, 0.99], eps 1e-9, weight decay 0.01.
    fn default() -> Self {
        Self { betas: [0.8, 0.99], eps: 1e-9, weight_decay: 0.01 }
    }
}

impl Config {
    /// Rejects values torch's `AdamW` rejects; `at` is the spec path of the entry.
    pub fn validate(&self, at: &str) -> Result<()> {
        let bad = |field: &str, message: String| Error::SpecValue { field: format!("{at}.params.{field}"), message };
        for (i, b) in self.betas.iter().enumerate() {
            if !(0.0..1.0).contains(b) {
                return Err(bad(&format!("betas[{i}]"), format!("must be in [0, 1), got {b}")));
            }
        }
        if self.eps.is_nan() || self.eps < 0.0 {
            return Err(bad("eps", format!("must be >= 0, got {}", self.eps)));
        }
        if self.weight_decay.is_nan() || self.weight_decay < 0.0 {
            return Err(bad("weight_decay", format!("must be >= 0, got {}", self.weight_decay)));
        }
        Ok(())
    }
}
