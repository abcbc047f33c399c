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

pub mod attentions;
pub mod common;
pub mod config;
pub mod flow;
pub mod hifigan;
pub mod layers;
pub mod mrte;
pub mod posterior;
pub mod quantizer;
pub mod ref_enc;
pub mod sv;
pub mod synthesizer;
pub mod text_encoder;
pub mod wn;

use serde_json::Value;
use sovits_core::components::{BuildContext, Generator};
use sovits_core::registry::{Factory, Kind};
use sovits_core::spec::ComponentSpec;
use sovits_core::{Error, Registration, Result};

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

fn build(spec: &ComponentSpec, ctx: &BuildContext) -> Result<Box<dyn Generator>> {
    let cfg: Config = spec.parse_params(Kind::Generator)?;
    Ok(Box::new(build_model(&cfg, ctx)?))
}

fn default_config() -> Value {
    serde_json::to_value(Config::default()).unwrap_or(Value::Null)
}

inventory::submit! {
    Registration::new(
        "sovits-v2",
        "GPT-SoVITS v2 SynthesizerTrn (MRTE text encoder, WN posterior, coupling flow, HiFi-GAN)",
        default_config,
        Factory::Generator(build),
    )
}

/// Referenced by `sovits_plugins::link_all` so this crate and its registration are linked.
pub fn link() {}
