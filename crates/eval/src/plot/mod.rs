//! Figures a person reads, drawn with the `plotters` crate (text through
//! fontconfig/freetype and a system sans-serif font, installed by
//! `scripts/setup.sh`): per held-out item the real / reconstructed / inferred
//! log-mel spectrograms ([`mel`]), and the run's loss and metric curves
//! ([`curves`]).

pub mod curves;
pub mod mel;

use std::path::Path;

use sovits_core::Error;

/// Font family every figure uses (resolved by fontconfig).
pub const FONT: &str = "sans-serif";

/// A plotting error as a data error naming the file being drawn.
pub(crate) fn plot_error(path: &Path) -> impl Fn(String) -> Error + '_ {
    move |message| Error::Data { path: path.to_path_buf(), message: format!("cannot draw the figure: {message}") }
}
