//! The error type of `sovits-interop`; every message names the file (or the
//! pickle and its byte offset) and what was expected and found.

use std::path::PathBuf;

/// Result alias for this crate.
pub type Result<T, E = InteropError> = std::result::Result<T, E>;

/// Everything that can go wrong reading or writing GPT-SoVITS files.
#[derive(Debug, thiserror::Error)]
pub enum InteropError {
    /// A file could not be read or written.
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        /// What was being done (`read`, `write`, `create`, ...).
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The file is not a PyTorch zip checkpoint, or its zip container is damaged.
    #[error("{}: {message}", path.display())]
    Container {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The pickle stream is malformed or uses something we refuse to run.
    #[error("{what}: pickle byte {offset}: {message}")]
    Pickle {
        /// The file and entry (`x.pth:root/data.pkl`).
        what: String,
        /// Byte offset of the opcode at fault.
        offset: usize,
        /// What is wrong (opcode, global, ...).
        message: String,
    },
    /// The unpickled tree does not have the expected layout.
    #[error("{what}: {message}")]
    Layout {
        /// The file (and the key path inside it).
        what: String,
        /// Expected and found.
        message: String,
    },
    /// An error from `sovits-core` (safetensors IO, MLX).
    #[error(transparent)]
    Core(#[from] sovits_core::Error),
    /// An MLX operation failed.
    #[error("mlx: {0}")]
    Mlx(#[from] mlx_rs::error::Exception),
}

impl From<InteropError> for sovits_core::Error {
    fn from(e: InteropError) -> Self {
        match e {
            InteropError::Core(c) => c,
            other => sovits_core::Error::Weights(other.to_string()),
        }
    }
}
