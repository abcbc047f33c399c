//! sovits core: the traits every component implements, the name-keyed plugin
//! registry, the JSON spec, and model-agnostic building blocks. No concrete
//! model, discriminator or loss lives here.
#![deny(missing_docs)]

pub mod backend;
