//! `metadata.json`: the index of a prepared dataset directory.
//!
//! ```json
//! {
//!   "version": 1,
//!   "sampling_rate": 32000,
//!   "hop_length": 640,
//!   "units": "hubert",
//!   "items": [
//!     {"id": "demo_0001", "speaker": "espeak-en", "text": "Hello there.",
//!      "stem": "demo_0001", "samples": 96000, "frames": 150, "phonemes": 12}
//!   ]
//! }
//! ```
//!
//! * `version` (default 1): format version; only 1 exists.
//! * `sampling_rate` / `hop_length` (defaults 32000 / 640): must equal the spec's `data`.
//! * `units` (default `"hubert"`): where `semantic_ids/` come from. `"kmeans-standin"`
//!   marks ids made by `sovits prepare --units kmeans` (k-means of log-mel frames,
//!   NOT HuBERT); models trained on them carry the mark.
//! * `items[]`: one utterance each. `id` is required and unique; `stem` (default: `id`)
//!   names the files `<folder>/<stem>.npy`; `speaker` and `text` are informative.
//!   `samples` (audio length), `frames` (spec frames) and `phonemes` (phoneme ids) are
//!   optional: when given they are checked against the files, when absent they are read
//!   from the `.npy` headers. Unknown fields are ignored, so other tools may add theirs.
//!
//! See `docs/data-format.md` for the folders and the validation rules.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Where the semantic ids come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Units {
    /// HuBERT features quantized by a model's codebook (the reference pipeline).
    #[default]
    Hubert,
    /// The `--units kmeans` stand-in: k-means codes of log-mel frames, not HuBERT.
    KmeansStandin,
}

impl std::fmt::Display for Units {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Units::Hubert => "hubert",
            Units::KmeansStandin => "kmeans-standin",
        })
    }
}

/// One utterance in `metadata.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ItemMeta {
    /// Unique utterance id.
    pub id: String,
    /// Speaker name (informative; SoVITS stage 2 has no speaker table).
    #[serde(default)]
    pub speaker: String,
    /// Transcript (informative).
    #[serde(default)]
    pub text: String,
    /// File stem in every folder; defaults to `id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stem: Option<String>,
    /// Audio samples at `sampling_rate`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub samples: Option<u64>,
    /// Spectrogram frames.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frames: Option<u64>,
    /// Number of phoneme ids.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phonemes: Option<u64>,
}

impl ItemMeta {
    /// The file stem (`stem`, or `id` when absent).
    pub fn stem(&self) -> &str {
        self.stem.as_deref().unwrap_or(&self.id)
    }
}

fn one() -> u32 {
    1
}
fn sr() -> usize {
    32000
}
fn hop() -> usize {
    640
}

/// The whole `metadata.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metadata {
    /// Format version (1).
    #[serde(default = "one")]
    pub version: u32,
    /// Audio sampling rate in Hz.
    #[serde(default = "sr")]
    pub sampling_rate: usize,
    /// Samples per spectrogram frame.
    #[serde(default = "hop")]
    pub hop_length: usize,
    /// Origin of the semantic ids.
    #[serde(default)]
    pub units: Units,
    /// The utterances.
    pub items: Vec<ItemMeta>,
}

/// The file name inside a dataset directory.
pub const METADATA_FILE: &str = "metadata.json";

impl Metadata {
    /// Reads and parses `dir/metadata.json`; errors name the file and the JSON path.
    pub fn load(dir: &Path) -> Result<Self> {
        let path = dir.join(METADATA_FILE);
        let text = std::fs::read_to_string(&path)
            .map_err(|e| Error::Data { path: path.clone(), message: format!("cannot read: {e}") })?;
        let de = &mut serde_json::Deserializer::from_str(&text);
        let meta: Metadata = serde_path_to_error::deserialize(de).map_err(|e| Error::Data {
            path: path.clone(),
            message: format!("field `{}`: {}", e.path(), e.inner()),
        })?;
        if meta.version != 1 {
            return Err(Error::Data {
                path,
                message: format!("field `version`: expected 1, found {}", meta.version),
            });
        }
        for (i, item) in meta.items.iter().enumerate() {
            let field = if item.stem.is_some() { "stem" } else { "id" };
            super::layout::check_stem(item.stem()).map_err(|why| Error::Data {
                path: path.clone(),
                message: format!("field `items[{i}].{field}` (the file stem) {why}"),
            })?;
        }
        Ok(meta)
    }

    /// Writes `dir/metadata.json` (pretty-printed).
    pub fn save(&self, dir: &Path) -> Result<()> {
        let path = dir.join(METADATA_FILE);
        let text = serde_json::to_string_pretty(self)
            .map_err(|e| Error::Data { path: path.clone(), message: format!("cannot serialize: {e}") })?;
        crate::durable::write_file(&crate::durable::Real, &path, (text + "\n").as_bytes())
    }
}
