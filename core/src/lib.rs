//! sovits core: the traits every component implements, the name-keyed plugin
//! registry, the JSON spec, and model-agnostic building blocks. No concrete
//! model, discriminator or loss lives here.
#![deny(missing_docs)]

pub mod backend;
pub mod batch;
pub mod components;
pub mod data;
pub mod distributed;
pub mod durable;
pub mod error;
pub mod export_spec;
pub mod gan;
pub mod kind;
pub mod nn;
pub mod optim;
pub mod register;
pub mod registry;
pub mod spec;
pub mod train;

pub use batch::{Batch, InferInput, VitsTrainOutput};
pub use components::{
    BuildContext, Discriminator, DiscriminatorOutput, Generator, Loss, LossContext, LossTerms,
    Optimizer, ParamGroup, ParamMap, SpectralFrontend,
};
pub use error::{Error, Result};
/// Re-exported so that [`register!`] works in plugin crates without their own `inventory` dependency.
pub use inventory;
pub use kind::Kind;
pub use registry::Registration;
pub use spec::Spec;
