//! The generator contract (GPT-SoVITS `SynthesizerTrn`).

use mlx_rs::{Array, module::ModuleParameters};

use crate::batch::{Batch, InferInput, VitsTrainOutput};
use crate::error::Result;
use crate::nn::noise::NoiseSource;

/// A named set of parameters (by key prefix) that the spec can give its own
/// learning-rate multiplier or freeze, e.g. GPT-SoVITS's text group at lr x 0.4.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamGroup {
    /// Group name used in the spec's optimizer `groups`.
    pub name: String,
    /// Parameter-key prefixes belonging to the group (`enc_p.mrte.`).
    pub prefixes: Vec<String>,
}

/// The VITS generator: training forward, inference, parameters.
pub trait Generator: ModuleParameters {
    /// Training forward pass: posterior, flow, prior and the decoded random
    /// segment. Every random draw comes from `noise`.
    fn forward_train(&mut self, batch: &Batch, noise: &mut dyn NoiseSource) -> Result<VitsTrainOutput>;

    /// Synthesises audio `[B, S]` from semantic ids, text and a reference spectrogram.
    fn infer(&mut self, input: &InferInput, noise: &mut dyn NoiseSource) -> Result<Array>;

    /// Re-synthesises audio `[B, T * hop]` from linear spectrograms `[B, T, F]`
    /// with valid frames `spec_lengths` `[B]` through the analysis path
    /// (posterior -> flow -> decoder), with no text or codes: what evaluation
    /// scores as the reconstruction path. `sv` `[B, 20480]` is the items'
    /// speaker-verification embedding (GPT-SoVITS v2Pro), `None` for models
    /// without one. Generators without such a path keep this default, which
    /// returns an error.
    #[rustfmt::skip]
    fn reconstruct(&mut self, spec: &Array, spec_lengths: &Array, sv: Option<&Array>, noise: &mut dyn NoiseSource) -> Result<Array> {
        let _ = (spec, spec_lengths, sv, noise);
        Err(crate::error::Error::Plugin {
            plugin: "generator".into(),
            message: "this generator has no reconstruction path (Generator::reconstruct is not implemented)".into(),
        })
    }

    /// Gives a frozen unit codebook that is still all zero (a freshly built
    /// model: GPT-SoVITS's own fresh `SynthesizerTrn` has an all-zero codebook
    /// too, learnt only in pretraining) distinct vectors drawn from N(0, 1)
    /// with `seed`, so that semantic ids this model's quantizer did not make
    /// (the k-means stand-in of `prepare --units kmeans`) decode to distinct
    /// content instead of all to zero. Returns whether it changed anything;
    /// generators without such a codebook keep this default (`false`).
    fn seed_zero_codebook(&mut self, seed: u64) -> Result<bool> {
        let _ = seed;
        Ok(false)
    }

    /// Named parameter groups the spec may refer to (for per-group lr and freezing).
    fn parameter_groups(&self) -> Vec<ParamGroup>;

    /// Parameters that never receive gradient in the reference (e.g. a frozen
    /// quantizer) and must get no update and no optimizer state.
    fn frozen_prefixes(&self) -> Vec<String> {
        Vec::new()
    }

    /// Semantic ids `[B, T/2]` int32 of SSL features `[B, T, ssl_dim]` (the
    /// model's `ssl_proj` + quantizer), used by `prepare` to turn provided
    /// HuBERT features into codes. Generators without a quantizer say so.
    fn semantic_ids(&mut self, _ssl: &mlx_rs::Array) -> Result<mlx_rs::Array> {
        Err(crate::error::Error::Plugin {
            plugin: "generator".into(),
            message: "this generator has no SSL quantizer to compute semantic ids".into(),
        })
    }

    /// Key prefixes of tensors that are buffers in the reference (state that
    /// is saved but is not a parameter, e.g. a VQ codebook); excluded from
    /// parameter counts, always frozen.
    fn buffer_prefixes(&self) -> Vec<String> {
        Vec::new()
    }

    /// Switches dropout and other train-only behaviour on or off.
    fn set_training(&mut self, training: bool);
}
