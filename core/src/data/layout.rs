//! The folders of a dataset directory and the shapes their `.npy` files hold.
//!
//! Every folder holds one `<stem>.npy` per metadata item; shapes are in torch
//! layout on disk (channels first) and transposed to channels-last when batching.

use std::path::{Path, PathBuf};

/// Number of symbols in the GPT-SoVITS v2 table (`text/symbols2.py`); ids must be below it.
pub const N_SYMBOLS: i32 = 732;
/// Linear spectrogram bins (n_fft 2048 / 2 + 1).
pub const N_FREQ: usize = 1025;
/// HuBERT feature channels.
pub const SSL_DIM: usize = 768;
/// Speaker-verification embedding width (GPT-SoVITS v2Pro `7-sv_cn`, ERes2NetV2).
pub const SV_DIM: usize = 20480;
/// BERT feature channels (GPT stage only).
pub const BERT_DIM: usize = 1024;
/// Codebook size of the v2 quantizer: semantic ids must be below it.
pub const CODEBOOK_SIZE: i32 = 1024;
/// Shortest clip kept, seconds (exclusive; the reference keeps 0.6 < d < 54).
pub const MIN_SECONDS: f64 = 0.6;
/// Longest clip kept, seconds (exclusive).
pub const MAX_SECONDS: f64 = 54.0;
/// `|ssl frames - samples // hop|` must be below this (the reference's assert).
pub const SSL_TOLERANCE: usize = 3;

/// One per-item folder of the layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Folder {
    /// `phoneme_ids/<stem>.npy`: `[L]` int32, v2 symbol ids `< 732`.
    PhonemeIds,
    /// `bert_features/<stem>.npy`: `[1024, L]` f32 (optional; GPT stage only).
    BertFeatures,
    /// `semantic_ids/<stem>.npy`: `[T/2]` int32 codebook ids at 25 Hz.
    SemanticIds,
    /// `audio/<stem>.npy`: `[samples]` f32 at the sampling rate, in [-1, 1].
    Audio,
    /// `spec/<stem>.npy`: `[1025, T]` f32 linear magnitude, T = samples // hop.
    Spec,
    /// `ssl/<stem>.npy`: `[768, T]` f32 HuBERT features at 50 Hz (optional folder).
    Ssl,
    /// `sv/<stem>.npy`: `[20480]` f32 speaker-verification embedding (optional
    /// folder; GPT-SoVITS v2Pro/v2ProPlus).
    Sv,
}

impl Folder {
    /// Every folder, in report order.
    pub const ALL: [Folder; 7] = [
        Folder::Audio,
        Folder::Spec,
        Folder::PhonemeIds,
        Folder::Ssl,
        Folder::SemanticIds,
        Folder::Sv,
        Folder::BertFeatures,
    ];

    /// The folder's name on disk.
    pub fn name(self) -> &'static str {
        match self {
            Folder::PhonemeIds => "phoneme_ids",
            Folder::BertFeatures => "bert_features",
            Folder::SemanticIds => "semantic_ids",
            Folder::Audio => "audio",
            Folder::Spec => "spec",
            Folder::Ssl => "ssl",
            Folder::Sv => "sv",
        }
    }

    /// `dir/<folder>/<stem>.npy`.
    pub fn file(self, dir: &Path, stem: &str) -> PathBuf {
        dir.join(self.name()).join(format!("{stem}.npy"))
    }
}

/// Checks that `stem` (from `metadata.json` or a transcript) is a plain file
/// name, so `<folder>/<stem>.npy` stays inside the dataset: not empty, no
/// path separator, not `.` or `..`, no NUL. The error says what was found.
pub fn check_stem(stem: &str) -> std::result::Result<(), String> {
    let bad = stem.is_empty()
        || stem == "."
        || stem == ".."
        || stem.contains(['/', '\\', '\0'])
        || Path::new(stem).is_absolute()
        || Path::new(stem).components().count() != 1;
    if bad { Err(format!("must be a plain file name (no path separators, not `.`/`..`), found `{}`", stem.escape_debug())) } else { Ok(()) }
}
