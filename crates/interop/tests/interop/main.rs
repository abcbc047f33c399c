//! GPT-SoVITS `.pth` interop against files written by the reference code.
//!
//! Fixtures (tests/golden/interop/PROVENANCE.md, tests/golden/sovits_v2/):
//! `tiny_G.pth` (process_ckpt.savee v2 layout), `tiny_G.safetensors` (the same
//! weights in f32), `tiny_train_ckpt_dec.pth` + `.json` (utils.save_checkpoint
//! layout, dec.* extract, with f64 sums), `tiny_train_ckpt.layout.json`
//! (the full checkpoint's param groups and index -> name map), `tiny_config.json`.
//!
//! Tolerances: fp16 import/export and safetensors export are compared bit
//! for bit. Checkpoint sums are recomputed here in f64 from the same f32
//! values the reference summed in f64 (`t.double().sum()`); only the order
//! of the additions differs, so the gap is bounded by n * 2^-53 * sum|x|
//! (n <= 1.3e5 here): we allow 1e-9 * (1 + sum|x|), well above that bound
//! and far below any real mismatch (one flipped f32 ulp of one element of a
//! tensor is ~1e-8 relative). Weight-norm folding runs in f32: rel 1e-5.

mod export;
mod helpers;
mod hostile;
mod import;
mod weight_norm;
