//! A `LossContext` for loss tests whose unused fields are placeholders.

use mlx_rs::Array;
use sovits_core::components::{DiscriminatorOutput, LossContext, SpectralFrontend};
use sovits_core::{Batch, Result, VitsTrainOutput};

/// A frontend that is never called by the losses under test.
pub struct NoFrontend;

impl SpectralFrontend for NoFrontend {
    fn hop_length(&self) -> usize {
        640
    }
    fn sampling_rate(&self) -> usize {
        32000
    }
    fn n_mels(&self) -> usize {
        128
    }
    fn n_freq(&self) -> usize {
        1025
    }
    fn linear(&self, _audio: &Array) -> Result<Array> {
        unreachable!("losses under test do not use the frontend")
    }
    fn mel(&self, _audio: &Array) -> Result<Array> {
        unreachable!("losses under test do not use the frontend")
    }
    fn spec_to_mel(&self, _spec: &Array) -> Result<Array> {
        unreachable!("losses under test do not use the frontend")
    }
}

/// Placeholder generator output (every tensor a zero scalar).
pub fn empty_generated() -> VitsTrainOutput {
    let z = || Array::from_f32(0.0);
    VitsTrainOutput {
        y_hat: z(),
        ids_slice: z(),
        z_mask: z(),
        z: z(),
        z_p: z(),
        m_p: z(),
        logs_p: z(),
        m_q: z(),
        logs_q: z(),
        kl_ssl: z(),
    }
}

/// Everything a `LossContext` borrows.
pub struct Fixture {
    /// Placeholder batch.
    pub batch: Batch,
    /// Placeholder audio.
    pub audio: Array,
    /// Generator outputs.
    pub generated: VitsTrainOutput,
    /// Discriminator outputs.
    pub disc: Vec<DiscriminatorOutput>,
    /// Unused frontend.
    pub frontend: NoFrontend,
}

impl Fixture {
    /// A fixture with the given generator and discriminator outputs.
    pub fn new(generated: VitsTrainOutput, disc: Vec<DiscriminatorOutput>) -> Self {
        let z = || Array::from_f32(0.0);
        let batch = Batch {
            ssl: None,
            semantic: None,
            spec: z(),
            spec_lengths: z(),
            text: z(),
            text_lengths: z(),
            audio: z(),
            audio_lengths: z(),
            sv: None,
        };
        Self { batch, audio: z(), generated, disc, frontend: NoFrontend }
    }

    /// The loss context over this fixture.
    pub fn ctx(&self) -> LossContext<'_> {
        LossContext {
            batch: &self.batch,
            y: &self.audio,
            y_hat: &self.audio,
            generated: &self.generated,
            disc: &self.disc,
            frontend: &self.frontend,
            segment_frames: 32,
        }
    }
}
