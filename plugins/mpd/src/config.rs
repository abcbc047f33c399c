//! Spec options of `"name": "mpd"`, GPT-SoVITS v2 defaults
//! (`GPT_SoVITS/module/models.py::MultiPeriodDiscriminator`).

use serde::{Deserialize, Serialize};

use crate::error::MpdError;

/// Options of the multi-period discriminator; defaults are GPT-SoVITS v2.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// One `DiscriminatorP` per period, after the scale discriminator
    /// (v2: `[2, 3, 5, 7, 11]`; v2Pro appends 17 and 23).
    pub periods: Vec<i32>,
    /// Spectral norm instead of weight norm on every conv (reference kwarg
    /// `use_spectral_norm`; default false).
    pub use_spectral_norm: bool,
}

impl Default for Config {
    fn default() -> Self {
        Self { periods: vec![2, 3, 5, 7, 11], use_spectral_norm: false }
    }
}

impl Config {
    /// Checks the values serde cannot: periods must be at least 1 and unique.
    pub fn validate(&self) -> Result<(), MpdError> {
        for (i, &p) in self.periods.iter().enumerate() {
            if p < 1 {
                return Err(MpdError::Config {
                    field: format!("periods[{i}]"),
                    message: format!("a period must be >= 1, found {p}"),
                });
            }
            if self.periods[..i].contains(&p) {
                return Err(MpdError::Config {
                    field: format!("periods[{i}]"),
                    message: format!("period {p} is listed twice"),
                });
            }
        }
        Ok(())
    }
}
