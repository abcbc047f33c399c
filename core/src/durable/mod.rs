//! Crash-safe file writes: every file the trainer must not lose (checkpoints,
//! `best/`, safetensors exports, metadata) goes through here.
//!
//! A file or directory is written under a temporary name, its data is
//! fsynced, the temporary directory is fsynced, it is renamed (or, for a
//! directory that already exists, atomically exchanged) into place and the
//! parent directory is fsynced, so after a crash or power loss at any
//! instant either the old or the new version is there, complete.
//!
//! Every operation goes through [`FileOps`], so a test can record the order
//! of operations ([`Recorder`]) or inject a failure (a full disk).
//! [`crash_point`] is a test hook: the environment variable
//! `SOVITS_CRASH_AT` names a write phase at which the process kills itself.

mod crash;
mod ops;
mod publish;
mod stale;

pub use crash::{CRASH_ENV, crash_point};
pub use ops::{FileOps, Op, Real, Recorder};
pub use publish::{Staging, publish_dir, remove_dir, write_file};
pub use stale::{pid_alive, remove_stale};
