//! Model-agnostic building blocks shared by several plugins.

pub mod noise;
