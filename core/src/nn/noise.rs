//! The one source of randomness for models: normal noise, slice offsets and
//! dropout masks all come from a [`NoiseSource`]. Training uses a seeded MLX
//! key ([`SeededNoise`]); tests substitute the reference's recorded draws
//! ([`RecordedNoise`]) to reproduce a PyTorch step exactly.

use std::collections::{HashMap, VecDeque};

use mlx_rs::{Array, random};

use crate::error::{Error, Result};

/// Supplier of random tensors; `what` names the draw (e.g. `"enc_q.noise"`) so
/// recorded draws can be matched by name.
pub trait NoiseSource {
    /// Standard normal draws of `shape` (f32).
    fn normal(&mut self, what: &str, shape: &[i32]) -> Result<Array>;
    /// Uniform draws in [0, 1) of `shape` (f32).
    fn uniform(&mut self, what: &str, shape: &[i32]) -> Result<Array>;
}

/// Noise from an MLX PRNG key, split once per draw; its key is the whole state,
/// so saving it in a checkpoint makes resumed runs draw the same numbers.
#[derive(Debug, Clone)]
pub struct SeededNoise {
    key: Array,
}

impl SeededNoise {
    /// A source seeded with `seed`.
    pub fn new(seed: u64) -> Result<Self> {
        Ok(Self { key: random::key(seed)? })
    }

    /// Restores a source from a key saved by [`SeededNoise::key`].
    pub fn from_key(key: Array) -> Self {
        Self { key }
    }

    /// The current key (the complete state).
    pub fn key(&self) -> &Array {
        &self.key
    }

    fn next_key(&mut self) -> Result<Array> {
        let (next, sub) = random::split(&self.key, 2)?;
        self.key = next;
        Ok(sub)
    }
}

impl NoiseSource for SeededNoise {
    fn normal(&mut self, _what: &str, shape: &[i32]) -> Result<Array> {
        let key = self.next_key()?;
        Ok(random::normal::<f32>(shape, None, None, &key)?)
    }

    fn uniform(&mut self, _what: &str, shape: &[i32]) -> Result<Array> {
        let key = self.next_key()?;
        Ok(random::uniform::<_, f32>(0.0f32, 1.0f32, shape, &key)?)
    }
}

/// Replays given tensors by draw name, in order; draws it has no recording for
/// fall back to a seeded source or fail, naming the draw.
#[derive(Debug, Default)]
pub struct RecordedNoise {
    draws: HashMap<String, VecDeque<Array>>,
    fallback: Option<SeededNoise>,
}

impl RecordedNoise {
    /// An empty recording with no fallback.
    pub fn new() -> Self {
        Self::default()
    }

    /// Queues `value` as the next draw named `what`.
    pub fn push(&mut self, what: impl Into<String>, value: Array) {
        self.draws.entry(what.into()).or_default().push_back(value);
    }

    /// Uses `fallback` for draws without a recording.
    pub fn with_fallback(mut self, fallback: SeededNoise) -> Self {
        self.fallback = Some(fallback);
        self
    }

    /// Draws recorded but not consumed yet, by name (a test can assert none are left).
    pub fn remaining(&self) -> Vec<(String, usize)> {
        let mut left: Vec<_> =
            self.draws.iter().filter(|(_, q)| !q.is_empty()).map(|(k, q)| (k.clone(), q.len())).collect();
        left.sort();
        left
    }

    fn take(&mut self, what: &str, shape: &[i32]) -> Result<Option<Array>> {
        let Some(value) = self.draws.get_mut(what).and_then(VecDeque::pop_front) else {
            return Ok(None);
        };
        if value.shape() != shape {
            return Err(Error::Shape {
                what: format!("recorded draw `{what}`"),
                expected: format!("{shape:?}"),
                found: format!("{:?}", value.shape()),
            });
        }
        Ok(Some(value))
    }

    fn missing(what: &str) -> Error {
        Error::Plugin { plugin: "noise".into(), message: format!("no recorded draw named `{what}` is left") }
    }
}

impl NoiseSource for RecordedNoise {
    fn normal(&mut self, what: &str, shape: &[i32]) -> Result<Array> {
        match (self.take(what, shape)?, self.fallback.as_mut()) {
            (Some(v), _) => Ok(v),
            (None, Some(f)) => f.normal(what, shape),
            (None, None) => Err(Self::missing(what)),
        }
    }

    fn uniform(&mut self, what: &str, shape: &[i32]) -> Result<Array> {
        match (self.take(what, shape)?, self.fallback.as_mut()) {
            (Some(v), _) => Ok(v),
            (None, Some(f)) => f.uniform(what, shape),
            (None, None) => Err(Self::missing(what)),
        }
    }
}
