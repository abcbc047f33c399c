//! Errors of the discriminator plugins in this crate.

/// What can go wrong building or running an `mpd` discriminator.
#[derive(Debug, thiserror::Error)]
pub enum MpdError {
    /// A config value is well-typed but not allowed.
    #[error("invalid value for `params.{field}`: {message}")]
    Config {
        /// Field inside `params` (e.g. `periods[2]`).
        field: String,
        /// Why, with the value found.
        message: String,
    },
    /// Audio of the wrong rank, length or batch.
    #[error("{what}: expected {expected}, found {found}")]
    Input {
        /// Which input.
        what: String,
        /// What was expected.
        expected: String,
        /// The shape found.
        found: String,
    },
}

impl From<MpdError> for sovits_core::Error {
    fn from(e: MpdError) -> Self {
        match e {
            MpdError::Config { field, message } => {
                sovits_core::Error::SpecValue { field: format!("params.{field}"), message }
            }
            MpdError::Input { what, expected, found } => sovits_core::Error::Shape { what, expected, found },
        }
    }
}
