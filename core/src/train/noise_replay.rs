//! Records the draws of one generator pass so a second pass (the generator
//! update, which must see the same random segment and noise as the
//! discriminator update) replays them exactly.

use mlx_rs::Array;

use crate::error::Result;
use crate::nn::noise::{NoiseSource, RecordedNoise};

/// Passes draws through from `inner` and keeps a copy of each.
pub struct RecordingNoise<'a> {
    inner: &'a mut dyn NoiseSource,
    draws: Vec<(String, Array)>,
}

impl<'a> RecordingNoise<'a> {
    /// Wraps `inner`.
    pub fn new(inner: &'a mut dyn NoiseSource) -> Self {
        Self { inner, draws: Vec::new() }
    }

    /// A source that replays the recorded draws in order.
    pub fn replay(&self) -> RecordedNoise {
        let mut rec = RecordedNoise::new();
        for (what, a) in &self.draws {
            rec.push(what.clone(), a.clone());
        }
        rec
    }
}

impl NoiseSource for RecordingNoise<'_> {
    fn normal(&mut self, what: &str, shape: &[i32]) -> Result<Array> {
        let a = self.inner.normal(what, shape)?;
        self.draws.push((what.to_string(), a.clone()));
        Ok(a)
    }

    fn uniform(&mut self, what: &str, shape: &[i32]) -> Result<Array> {
        let a = self.inner.uniform(what, shape)?;
        self.draws.push((what.to_string(), a.clone()));
        Ok(a)
    }
}
