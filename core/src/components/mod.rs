//! The component traits the trainer composes: generator, discriminators,
//! losses, spectral frontend and optimizers. Plugins implement them; core
//! only ever sees trait objects.

mod discriminator;
mod frontend;
pub mod gan_terms;
mod generator;
mod loss;
mod optimizer;
pub mod real_fake;

use std::collections::BTreeMap;

use mlx_rs::Array;

pub use discriminator::{Discriminator, DiscriminatorOutput};
pub use frontend::SpectralFrontend;
pub use gan_terms::{sum_discriminator_terms, sum_generator_terms};
pub use generator::{Generator, ParamGroup};
pub use loss::{Loss, LossContext, LossTerms, Side};
pub use optimizer::{GroupAssignment, Optimizer, OptimizerContext, PendingUpdate};
pub use real_fake::{forward_real_fake, unzip_outputs};

/// Parameters or gradients keyed by their PyTorch state-dict name, in a fixed
/// (sorted) order so that every pass over them is deterministic.
pub type ParamMap = BTreeMap<String, Array>;

/// Facts every component constructor may need, taken from the resolved spec.
#[derive(Debug, Clone)]
pub struct BuildContext {
    /// Audio sampling rate in Hz (`data.sampling_rate`).
    pub sampling_rate: usize,
    /// Samples per spectrogram frame (`data.hop_length`).
    pub hop_length: usize,
    /// Training segment length in samples (`trainer.segment_size`).
    pub segment_size: usize,
}

impl BuildContext {
    /// Segment length in spectrogram frames.
    pub fn segment_frames(&self) -> usize {
        self.segment_size / self.hop_length
    }
}

impl Default for BuildContext {
    /// GPT-SoVITS v2: 32 kHz, hop 640, segment 20480 samples.
    fn default() -> Self {
        Self { sampling_rate: 32000, hop_length: 640, segment_size: 20480 }
    }
}
