//! The GAN trainer: one step exactly as GPT-SoVITS `s2_train.py` takes it,
//! built entirely from the spec, plus schedule, checkpoints and the run loop.

pub mod audio_slice;
pub mod checkpoint;
pub mod cpu_bf16;
pub mod epoch_saves;
pub mod evaluate;
pub mod loss_sum;
pub mod metrics;
pub mod params;
pub mod phase_clock;
pub mod precision;
pub mod recovery;
pub mod run;
pub mod schedule;
mod side_grad;
pub mod step;
pub mod trainer;

pub use step::StepReport;
pub use trainer::Trainer;
