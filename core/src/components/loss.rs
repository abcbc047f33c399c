//! The loss contract: one named term per side, reading what it needs from a
//! shared context so a new loss needs no new plumbing. Weights live in the spec.

use mlx_rs::Array;

use crate::batch::{Batch, VitsTrainOutput};
use crate::components::{DiscriminatorOutput, SpectralFrontend};
use crate::error::Result;

/// Which update a loss term belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// Minimised by the generator update.
    Generator,
    /// Minimised by the discriminator update.
    Discriminator,
}

/// Everything a loss may read during one training step.
pub struct LossContext<'a> {
    /// The batch being trained on.
    pub batch: &'a Batch,
    /// Real audio cut at the generator's segment `[B, segment_size]`.
    pub y: &'a Array,
    /// Generated audio `[B, segment_size]` (detached on the discriminator side).
    pub y_hat: &'a Array,
    /// The generator's training outputs (latents, masks, ids_slice).
    pub generated: &'a VitsTrainOutput,
    /// One output per discriminator, in spec order.
    pub disc: &'a [DiscriminatorOutput],
    /// The spectral frontend of the spec.
    pub frontend: &'a dyn SpectralFrontend,
    /// Segment length in frames.
    pub segment_frames: usize,
}

/// A scalar loss value plus optional named sub-terms for logging.
#[derive(Debug, Clone)]
pub struct LossTerms {
    /// The unweighted scalar value.
    pub value: Array,
    /// Named parts (e.g. per sub-discriminator), for logs only.
    pub parts: Vec<(String, Array)>,
}

impl LossTerms {
    /// A term with no sub-terms.
    pub fn scalar(value: Array) -> Self {
        Self { value, parts: Vec::new() }
    }
}

/// A loss term; it provides the generator side, the discriminator side or
/// both. The methods it implements are the one record of its sides: a side
/// it has returns `Some`, a side it lacks keeps the default `None`, and the
/// trainer sums what is `Some`.
pub trait Loss {
    /// Generator-side value (unweighted), if this loss has one.
    fn generator(&self, _ctx: &LossContext<'_>) -> Result<Option<LossTerms>> {
        Ok(None)
    }

    /// Discriminator-side value (unweighted), if this loss has one.
    fn discriminator(&self, _ctx: &LossContext<'_>) -> Result<Option<LossTerms>> {
        Ok(None)
    }
}
