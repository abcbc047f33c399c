//! The one test-helper crate of sovits, shared by the plugin crates' tests and
//! the cross-crate tests in `tests/tests`: golden `.npy` loading, host
//! read-back and comparisons, a `LossContext` whose unused fields are
//! placeholders, the reference's initialisation statistics, deterministic test signals, central finite differences,
//! timing, synthetic datasets and specs for data and training tests, and
//! running the real `sovits` binary end to end (`cli`).
//!
//! Everything here panics on failure (it is only used from tests).
#![deny(missing_docs)]

pub mod cli;
pub mod data_fixtures;
pub mod dropout_replay;
pub mod files;
pub mod finite_diff;
pub mod golden;
pub mod host;
pub mod init_stats;
pub mod key_list;
pub mod loss_fixture;
pub mod signals;
pub mod timing;
pub mod train_fixtures;
pub mod trajectory_inputs;

pub use files::copy_dir;
pub use finite_diff::{central_differences, gradient_error};
pub use golden::{GOLDEN, golden, read_npy};
pub use host::{assert_close, assert_rel, max_abs_diff, scalar, values};
pub use loss_fixture::{Fixture, NoFrontend, empty_generated};
pub use signals::{lcg_signal, pseudo_random};
pub use timing::{median_ms, reps_arg};
