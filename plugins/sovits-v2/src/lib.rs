//! GPT-SoVITS v2 stage-2 generator (`SynthesizerTrn`) for sovits, registered
//! as `"sovits-v2"`: ssl_proj + frozen residual VQ, the MRTE text encoder
//! with relative-position attention, the MelStyleEncoder reference encoder,
//! the WN posterior encoder, the coupling flow and the HiFi-GAN decoder.
//!
//! Reference: RVC-Boss/GPT-SoVITS `GPT_SoVITS/module/{models, modules,
//! attentions, commons, mrte_model, quantize, core_vq}.py` (commit 48b1a01).
//! Parameters keep the reference's state-dict names and PyTorch layouts, so a
//! GPT-SoVITS checkpoint loads key for key; activations are channels-last.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod activations;
pub mod attentions;
pub mod checks;
pub mod config;
pub mod embedding;
pub mod flow;
pub mod forward_ctx;
pub mod hifigan;
pub mod layer_norm;
pub mod masking;
pub mod mrte;
pub mod numbered;
pub mod posterior;
pub mod quantizer;
pub mod ref_enc;
pub mod sv;
pub mod synthesizer;
pub mod text_encoder;
pub mod time_axis;
pub mod wn;

use sovits_core::components::BuildContext;
use sovits_core::{Error, Result};

pub use config::Config;
pub use synthesizer::SynthesizerTrn;

/// Builds the generator for a resolved config and build context, checking
/// that the decoder's upsampling equals the hop length.
pub fn build_model(cfg: &Config, ctx: &BuildContext) -> Result<SynthesizerTrn> {
    let up = cfg.upsample_factor();
    if up as usize != ctx.hop_length {
        return Err(Error::SpecValue {
            field: "generator.params.upsample_rates".into(),
            message: format!("product {up} must equal data.hop_length {}", ctx.hop_length),
        });
    }
    SynthesizerTrn::new(cfg, ctx.segment_frames() as i32)
}

sovits_core::register!(generator, "sovits-v2", "GPT-SoVITS v2 SynthesizerTrn (MRTE text encoder, WN posterior, coupling flow, HiFi-GAN)", Config, |config, ctx| build_model(&config, ctx));
