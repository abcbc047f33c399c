//! The kinds of component a plugin can provide. Its own module because the
//! error type, the spec and the registry all name it, and none of them
//! should depend on another for it.

use std::fmt;

/// The kinds of component a plugin can provide.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// A [`Generator`](crate::components::Generator) (the SoVITS synthesizer).
    Generator,
    /// A [`Discriminator`](crate::components::Discriminator).
    Discriminator,
    /// A [`Loss`](crate::components::Loss) term.
    Loss,
    /// A [`SpectralFrontend`](crate::components::SpectralFrontend).
    Frontend,
    /// An [`Optimizer`](crate::components::Optimizer).
    Optimizer,
}

impl Kind {
    /// Every kind, in display order.
    pub const ALL: [Kind; 5] = [Kind::Generator, Kind::Discriminator, Kind::Loss, Kind::Frontend, Kind::Optimizer];
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Kind::Generator => "generator",
            Kind::Discriminator => "discriminator",
            Kind::Loss => "loss",
            Kind::Frontend => "spectral frontend",
            Kind::Optimizer => "optimizer",
        })
    }
}
