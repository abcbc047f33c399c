//! The error type of `sovits-core`: every failure a user can cause (bad spec,
//! unknown plugin, bad data) names the file, field or component at fault.

use std::path::PathBuf;

use crate::kind::Kind;

/// Result alias for core and the plugin traits.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in core or in a plugin called through core.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A name in the spec matches no registered component of that kind.
    #[error("unknown {kind} `{name}` at {at}; {suggestion}known: {known}",
        suggestion = .closest.as_ref().map(|c| format!("did you mean `{c}`? ")).unwrap_or_default())]
    UnknownComponent {
        /// Kind looked up.
        kind: Kind,
        /// Name asked for.
        name: String,
        /// JSON path of the entry in the spec.
        at: String,
        /// Closest known name, when one is close enough to be a typo.
        closest: Option<String>,
        /// Comma-separated known names of that kind.
        known: String,
    },
    /// Two plugins registered the same name for the same kind.
    #[error("{kind} `{name}` is registered twice; plugin names must be unique per kind")]
    DuplicateComponent {
        /// Kind of the clash.
        kind: Kind,
        /// The doubly registered name.
        name: String,
    },
    /// A spec file could not be read.
    #[error("cannot read spec {path}: {source}")]
    SpecIo {
        /// File that failed.
        path: PathBuf,
        /// The IO error.
        source: std::io::Error,
    },
    /// A spec file is not valid JSON or has a field of the wrong type/name.
    #[error("invalid spec {path}: {message}")]
    SpecInvalid {
        /// File (or "<merged spec>") at fault.
        path: PathBuf,
        /// What is wrong, including the JSON path of the field.
        message: String,
    },
    /// `extends` chains loop back on themselves.
    #[error("cyclic `extends` in spec: {chain}")]
    SpecCycle {
        /// The files of the loop, in order.
        chain: String,
    },
    /// A spec value is well-typed but not allowed.
    #[error("invalid value for `{field}`: {message}")]
    SpecValue {
        /// Dotted path of the field.
        field: String,
        /// Why the value is rejected, with the value itself.
        message: String,
    },
    /// A plugin's `params` failed to parse into its `Config`.
    #[error("bad params for {kind} `{name}` at {at}: field `{field}`: {message}")]
    PluginConfig {
        /// Kind of the plugin.
        kind: Kind,
        /// Registered name.
        name: String,
        /// JSON path of the spec entry.
        at: String,
        /// Path of the bad field inside `params`.
        field: String,
        /// serde's description of the problem.
        message: String,
    },
    /// Data files are missing or malformed.
    #[error("{path}: {message}")]
    Data {
        /// The file at fault.
        path: PathBuf,
        /// What was expected and what was found.
        message: String,
    },
    /// Weights could not be loaded or saved (missing/unexpected/mis-shaped keys, IO).
    #[error("{0}")]
    Weights(String),
    /// A file or directory could not be written, synced, renamed or removed
    /// (a full disk reads "No space left on device" or "File too large").
    #[error("cannot {action} {path}: {source}")]
    Io {
        /// The file or directory at fault.
        path: PathBuf,
        /// What was being done (`write`, `fsync`, `rename into`...).
        action: &'static str,
        /// The OS error.
        source: std::io::Error,
    },
    /// Shapes passed between components disagree.
    #[error("shape error in {what}: expected {expected}, found {found}")]
    Shape {
        /// Where the shape was checked.
        what: String,
        /// Expected shape.
        expected: String,
        /// Found shape.
        found: String,
    },
    /// An MLX operation failed.
    #[error("mlx: {0}")]
    Mlx(#[from] mlx_rs::error::Exception),
    /// Distributed training could not start or a collective failed (bad
    /// hostfile field, unreachable peer, missing backend...).
    #[error("distributed: {0}")]
    Distributed(String),
    /// Training stopped: the loss or gradient was non-finite on
    /// `trainer.max_nonfinite_in_row` steps in a row (each such update was
    /// skipped, so the parameters are the last finite ones).
    #[error(
        "{steps} non-finite steps in a row (trainer.max_nonfinite_in_row = {limit}); last batch items: {items}; \
         the last checkpoint holds the last finite parameters"
    )]
    NonFinite {
        /// Non-finite steps in a row when the run stopped.
        steps: u32,
        /// The spec's `trainer.max_nonfinite_in_row`.
        limit: u32,
        /// Comma-separated item ids of the last batch.
        items: String,
    },
    /// Any other failure inside a plugin, with the plugin's name.
    #[error("{plugin}: {message}")]
    Plugin {
        /// Registered name of the plugin.
        plugin: String,
        /// What went wrong.
        message: String,
    },
}
