//! Datasets: the prepared npy layout, its validation report, the bucketed
//! sampler, collation into [`crate::Batch`] and the background loader.
//!
//! Layout of a dataset directory (format: `docs/data-format.md`):
//! `metadata.json` + `phoneme_ids/ bert_features/ semantic_ids/ audio/ spec/`
//! (+ `ssl/`), one `<stem>.npy` per item. Facts follow GPT-SoVITS
//! `GPT_SoVITS/module/data_utils.py` (`TextAudioSpeakerLoader`,
//! `TextAudioSpeakerCollate`, `DistributedBucketSampler`).
//!
//! Typical use:
//! ```no_run
//! # use std::sync::Arc;
//! # use sovits_core::data::{BucketSampler, Cursor, Dataset, Loader};
//! # fn main() -> sovits_core::Result<()> {
//! let spec = sovits_core::Spec::default();
//! let ds = Arc::new(Dataset::open("data/demo".as_ref(), &spec.data, 20480, false)?);
//! let bounds = BucketSampler::reference_boundaries(20480 / 640);
//! let sampler = BucketSampler::new(&ds.frame_lengths(), &bounds, 8, 0, 1, 1234)?;
//! let mut loader = Loader::spawn(ds, sampler, Cursor::default(), 4);
//! if let Some(loaded) = loader.next_batch() {
//!     let batch = loaded?.batch.to_batch()?; // MLX arrays, on this thread
//!     # let _ = batch;
//! }
//! # Ok(()) }
//! ```

pub mod collate;
pub mod dataset;
pub mod holdout;
pub mod kmeans;
pub mod layout;
pub mod loader;
pub mod metadata;
pub mod npy;
pub mod phonemes;
pub mod prepare;
pub mod resample;
pub mod report;
pub mod sampler;
pub mod validate;

pub use collate::{HostBatch, collate};
pub use dataset::{Dataset, Input, Item, Sample};
pub use holdout::HoldOut;
pub use layout::Folder;
pub use loader::{Loaded, Loader};
pub use metadata::{ItemMeta, Metadata, Units};
pub use report::{Problem, Report};
pub use sampler::{BucketSampler, Cursor, SplitMix64};
