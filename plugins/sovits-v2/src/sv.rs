//! Speaker-verification conditioning of GPT-SoVITS v2Pro / v2ProPlus: the
//! style vector `ge` from the reference encoder is shifted by a projection of
//! an offline speaker-verification embedding (ERes2NetV2, 20480 features),
//! passed through a per-channel PReLU, and mapped to the MRTE width for the
//! text encoder. Reference: GPT-SoVITS `GPT_SoVITS/module/models.py::
//! SynthesizerTrn` (`sv_emb`, `prelu`, `ge_to512` in `__init__`, `forward`,
//! `decode`; commit 48b1a01).

use mlx_rs::macros::ModuleParameters;
use mlx_rs::module::Param;
use mlx_rs::{Array, ops};
use sovits_core::nn::Linear;
use sovits_core::nn::mixed::{add, multiply};
use sovits_core::{Error, Result};

use crate::config::{Config, SV_DIM};
use crate::synthesizer::SynthesizerTrn;

/// `nn.PReLU(num_parameters=C)`: `max(0, x) + weight * min(0, x)` per channel.
#[derive(Debug, Clone, ModuleParameters)]
pub struct Prelu {
    /// Negative slopes `[C]` (PyTorch init 0.25).
    #[param]
    pub weight: Param<Array>,
}

impl Prelu {
    /// `channels` slopes, each 0.25 (PyTorch's default).
    pub fn new(channels: i32) -> Result<Self> {
        Ok(Self { weight: Param::new(ops::full::<f32>(&[channels], Array::from_f32(0.25))?) })
    }

    /// Applies the activation over the last (channel) axis.
    ///
    /// # Shapes
    /// `[.., C]` -> `[.., C]`.
    pub fn forward(&self, x: &Array) -> Result<Array> {
        let zero = Array::from_f32(0.0).as_dtype(x.dtype())?;
        let pos = ops::maximum(x, &zero)?;
        let neg = ops::minimum(x, &zero)?;
        Ok(add(&pos, &multiply(&neg, &self.weight)?)?)
    }
}

/// The Pro modules of a config (`sv_emb`, `prelu`, `ge_to512`), or `None`s for v2.
pub type ProModules = (Option<Linear>, Option<Prelu>, Option<Linear>);

/// Builds `sv_emb = Linear(20480, gin)`, `prelu = PReLU(gin)` and
/// `ge_to512 = Linear(gin, mrte_hidden)` (512 in the reference, where MRTE's
/// hidden is 512) for a Pro version; `None`s for v2.
pub fn pro_modules(cfg: &Config) -> Result<ProModules> {
    if !cfg.is_pro() {
        return Ok((None, None, None));
    }
    Ok((
        Some(Linear::new(SV_DIM, cfg.gin_channels, true)?),
        Some(Prelu::new(cfg.gin_channels)?),
        Some(Linear::new(cfg.gin_channels, cfg.mrte_hidden, true)?),
    ))
}

impl SynthesizerTrn {
    /// Style vectors for the decoder side and the text encoder. v2: `ge` for
    /// both (`sv` is ignored, as the reference does). v2Pro/v2ProPlus:
    /// `ge' = prelu(ge + sv_emb(sv))` for posterior, flow and decoder, and
    /// `ge_to512(ge')` for the text encoder; `sv` is required.
    ///
    /// # Shapes
    /// `ge` `[B, 1, gin]`, `sv` `[B, 20480]` -> (`[B, 1, gin]`, `[B, 1, mrte_hidden]`).
    pub fn condition(&self, ge: Array, sv: Option<&Array>) -> Result<(Array, Array)> {
        let (Some(sv_emb), Some(prelu), Some(ge_to512)) = (&self.sv_emb, &self.prelu, &self.ge_to512) else {
            return Ok((ge.clone(), ge));
        };
        let b = ge.shape()[0];
        let sv = sv.ok_or_else(|| Error::Plugin {
            plugin: "sovits-v2".into(),
            message: format!(
                "version {:?} needs a speaker-verification embedding per item (the dataset's sv/ folder)",
                self.config.version
            ),
        })?;
        if sv.shape() != [b, SV_DIM] {
            return Err(Error::Shape {
                what: "speaker-verification embedding (batch.sv, from sv/<stem>.npy)".into(),
                expected: format!("[{b}, {SV_DIM}]"),
                found: format!("{:?}", sv.shape()),
            });
        }
        let shift = sv_emb.forward(sv)?.expand_dims(1)?;
        let ge = prelu.forward(&add(&ge, &shift)?)?;
        let ge_text = ge_to512.forward(&ge)?;
        Ok((ge, ge_text))
    }
}
