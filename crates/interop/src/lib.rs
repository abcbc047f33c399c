//! GPT-SoVITS checkpoint interop without Python: reads PyTorch `.pth` files
//! (torch's zip container + a restricted pickle reader that never executes
//! anything) in the two layouts GPT-SoVITS writes, and writes inference
//! weights GPT-SoVITS loads as v2, plus plain safetensors and weight-norm
//! folding. References: RVC-Boss/GPT-SoVITS `GPT_SoVITS/process_ckpt.py`
//! (`savee`, version detection), `GPT_SoVITS/utils.py` (`HParams`,
//! `save_checkpoint`), PyTorch's `torch/serialization.py` zip format and
//! CPython's pickle protocol (`pickletools`). See `docs/interop.md`.
#![deny(missing_docs)]

pub mod error;
pub mod export;
pub mod export_d;
pub mod experiment;
pub mod hparams;
pub mod import;
pub mod inference;
pub mod init;
pub mod layouts;
pub mod pickle_read;
pub mod pickle_write;
pub mod pro;
pub mod s2_config;
pub mod storages;
pub mod tensors;
pub mod weight_norm;
pub mod zip_container;

pub use error::{InteropError, Result};
pub use export::{export_gpt_sovits, export_safetensors};
pub use import::{Imported, ImportedOptimizer, import_pth, write_imported};
pub use inference::load_inference_weights;
pub use init::{InitPlan, prepare_init};
pub use layouts::Layout;
pub use s2_config::{RunStrings, s2_config};
pub use weight_norm::{fold_weight_norm, split_weight_norm, weight_norm_modules};
