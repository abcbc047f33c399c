//! The GPT-SoVITS v2 stage-2 generator: training forward (posterior, flow,
//! prior, random-segment decode) and inference decode from semantic codes.
//! Reference: GPT-SoVITS `GPT_SoVITS/module/models.py::SynthesizerTrn`
//! (`forward`, `decode`) with `commons.rand_slice_segments` (VITS, Kim et al. 2021).

use mlx_rs::{Array, Dtype, ops, stop_gradient};
use mlx_rs::macros::ModuleParameters;
use sovits_core::batch::{Batch, InferInput, VitsTrainOutput};
use sovits_core::components::{Generator, ParamGroup};
use sovits_core::nn::lanes;
use sovits_core::{Error, Result};
use sovits_core::nn::{Conv1d, ConvOpts, Linear};
use sovits_core::nn::noise::NoiseSource;
use sovits_core::nn::signal::slice_segments;

use crate::checks::expect_channels;
use crate::config::Config;
use crate::flow::ResidualCouplingBlock;
use crate::forward_ctx::Ctx;
use crate::hifigan::HifiGan;
use crate::masking::{mul, sequence_mask};
use crate::posterior::PosteriorEncoder;
use crate::quantizer::ResidualVectorQuantizer;
use crate::ref_enc::MelStyleEncoder;
use crate::sv::{Prelu, pro_modules};
use crate::text_encoder::TextEncoder;
use crate::time_axis::{repeat_frames, slice_axis};

/// `SynthesizerTrn` (v2). Field names are the state-dict prefixes.
#[derive(Debug, Clone, ModuleParameters)]
pub struct SynthesizerTrn {
    /// Prior (text) encoder.
    #[param]
    pub enc_p: TextEncoder,
    /// HiFi-GAN decoder.
    #[param]
    pub dec: HifiGan,
    /// Posterior encoder.
    #[param]
    pub enc_q: PosteriorEncoder,
    /// Coupling flow.
    #[param]
    pub flow: ResidualCouplingBlock,
    /// Style encoder on the first `ref_enc_bins` spectrogram bins.
    #[param]
    pub ref_enc: MelStyleEncoder,
    /// SSL 50 Hz -> 25 Hz (k=2, stride 2) or 50 Hz (k=1).
    #[param]
    pub ssl_proj: Conv1d,
    /// Frozen residual VQ.
    #[param]
    pub quantizer: ResidualVectorQuantizer,
    /// v2Pro/v2ProPlus: `Linear(20480, gin)` on the speaker-verification embedding.
    #[param]
    pub sv_emb: Option<Linear>,
    /// v2Pro/v2ProPlus: `PReLU(gin)` on the shifted style vector.
    #[param]
    pub prelu: Option<Prelu>,
    /// v2Pro/v2ProPlus: `Linear(gin, mrte_hidden)`, the text encoder's style input.
    #[param]
    pub ge_to512: Option<Linear>,
    /// The options it was built from.
    pub config: Config,
    /// Frames of the decoded training segment.
    pub segment_frames: i32,
    /// Training mode (dropout on).
    pub training: bool,
}

fn plugin_err(message: String) -> Error {
    Error::Plugin { plugin: "sovits-v2".into(), message }
}

impl SynthesizerTrn {
    /// Builds the model for `cfg` (validated) decoding `segment_frames` frames in training.
    pub fn new(cfg: &Config, segment_frames: i32) -> Result<Self> {
        cfg.validate()?;
        if segment_frames < 1 {
            return Err(Error::SpecValue {
                field: "trainer.segment_size".into(),
                message: format!("must be at least one hop, found {segment_frames} frames"),
            });
        }
        let (k, s) = if cfg.is_25hz() { (2, 2) } else { (1, 1) };
        let (sv_emb, prelu, ge_to512) = pro_modules(cfg)?;
        Ok(Self {
            enc_p: TextEncoder::new(cfg)?,
            dec: HifiGan::new(cfg)?,
            enc_q: PosteriorEncoder::new(
                cfg.spec_channels,
                cfg.inter_channels,
                cfg.hidden_channels,
                5,
                1,
                16,
                cfg.gin_channels,
            )?,
            flow: ResidualCouplingBlock::new(cfg.inter_channels, cfg.hidden_channels, 5, 1, 4, 4, cfg.gin_channels)?,
            ref_enc: MelStyleEncoder::new(cfg.ref_enc_bins, cfg.ref_enc_hidden, cfg.gin_channels, cfg.ref_enc_dropout)?,
            ssl_proj: Conv1d::new(cfg.ssl_dim, cfg.ssl_dim, k, ConvOpts::new().stride(s), true)?,
            quantizer: ResidualVectorQuantizer::new(cfg.ssl_dim, 1, cfg.codebook_size)?,
            sv_emb,
            prelu,
            ge_to512,
            config: cfg.clone(),
            segment_frames,
            training: true,
        })
    }

    /// Style vector from a linear spectrogram (its first `ref_enc_bins` bins, masked).
    ///
    /// # Shapes
    /// `spec` `[B, T, F]`, `mask` `[B, T, 1]` -> `[B, 1, gin]`.
    pub fn style(&self, spec: &Array, mask: &Array, ctx: &mut Ctx<'_>) -> Result<Array> {
        let bins = slice_axis(spec, 2, 0, self.config.ref_enc_bins)?;
        self.ref_enc.forward(&mul(&bins, mask)?, mask, ctx)
    }

    /// SSL features -> codebook vectors at the SSL rate (ssl_proj, quantizer,
    /// x2 repeat at 25 Hz); no gradient passes (frozen quantizer).
    ///
    /// # Shapes
    /// `ssl` `[B, T, ssl_dim]` -> (`[B, T', ssl_dim]`, codes `[1, B, T/2]`), `T' = 2*(T/2)` at 25 Hz.
    pub fn quantize_ssl(&self, ssl: &Array) -> Result<(Array, Array)> {
        expect_channels(ssl, self.config.ssl_dim, "ssl features")?;
        let p = self.ssl_proj.forward(ssl)?;
        let (q, codes) = self.quantizer.forward(&p)?;
        Ok((self.upsample_codes(&q)?, codes))
    }

    /// Semantic ids -> codebook vectors at the SSL rate.
    ///
    /// # Shapes
    /// `semantic` `[B, T/2]` (or `[n_q, B, T/2]`) -> `[B, T, ssl_dim]` at 25 Hz.
    pub fn quantize_ids(&self, semantic: &Array) -> Result<Array> {
        let codes = if semantic.ndim() == 2 { semantic.expand_dims(0)? } else { semantic.clone() };
        self.upsample_codes(&self.quantizer.decode(&codes)?)
    }

    fn upsample_codes(&self, q: &Array) -> Result<Array> {
        let q = stop_gradient(q)?;
        if self.config.is_25hz() { repeat_frames(&q, 2) } else { Ok(q) }
    }

    /// `rand_slice_segments`: `ids = floor(u * (len - seg + 1))` with
    /// `u = noise.uniform("rand_slice", [B])`.
    ///
    /// # Shapes
    /// `lengths` `[B]`, `t` frames -> `[B]` int32 in `[0, t - seg]`.
    pub fn slice_ids(&self, lengths: &Array, t: i32, noise: &mut dyn NoiseSource) -> Result<Array> {
        let seg = self.segment_frames;
        let b = lengths.shape().first().copied().unwrap_or(0);
        let len = lengths.as_dtype(Dtype::Int32)?;
        let shortest = crate::checks::scalar_i32(&len.min(None)?)?;
        if shortest < seg || t < seg {
            return Err(plugin_err(format!(
                "training segment of {seg} frames is longer than an item ({shortest} valid of {t} frames); \
                 filter short clips or lower trainer.segment_size"
            )));
        }
        let u = noise.uniform("rand_slice", &[b])?;
        let span = ops::add(&ops::subtract(&len, Array::from_int(seg))?, Array::from_int(1))?.as_dtype(Dtype::Float32)?;
        let ids = ops::floor(&ops::multiply(&u, &span)?)?.as_dtype(Dtype::Int32)?;
        Ok(ops::clip(&ids, (0, t - seg))?)
    }
}

fn shape_check(what: &str, a: &Array, want: &[i32]) -> Result<()> {
    if a.shape() != want {
        return Err(Error::Shape { what: what.into(), expected: format!("{want:?}"), found: format!("{:?}", a.shape()) });
    }
    Ok(())
}

impl Generator for SynthesizerTrn {
    fn forward_train(&mut self, batch: &Batch, noise: &mut dyn NoiseSource) -> Result<VitsTrainOutput> {
        let spec = &batch.spec;
        expect_channels(spec, self.config.spec_channels, "batch.spec")?;
        let (b, t) = (spec.shape()[0], spec.shape()[1]);
        shape_check("batch.spec_lengths", &batch.spec_lengths, &[b])?;
        let mut ctx = Ctx::new(noise, self.training);
        let y_mask = sequence_mask(&batch.spec_lengths, t)?;
        let ge = self.style(spec, &y_mask, &mut ctx)?;
        let (ge, ge_text) = self.condition(ge, batch.sv.as_ref())?;
        // the prior path (quantizer, enc_p) and the flow on CPU lane 1, the
        // posterior and the decoder on lane 0: independent until the losses
        let prior = lanes::on(1, || -> Result<_> {
            let quantized = match (&batch.ssl, &batch.semantic) {
                (Some(ssl), _) => self.quantize_ssl(ssl)?.0,
                (None, Some(sem)) => self.quantize_ids(sem)?,
                (None, None) => return Err(plugin_err("the batch has neither ssl features nor semantic ids".into())),
            };
            if quantized.shape()[..2] != [b, t] {
                return Err(Error::Shape {
                    what: "quantized content (from ssl or semantic ids) vs spec frames".into(),
                    expected: format!("[{b}, {t}, ..]"),
                    found: format!("{:?}", quantized.shape()),
                });
            }
            self.enc_p.forward(&quantized, &batch.spec_lengths, &batch.text, &batch.text_lengths, &ge_text, 1.0, &mut ctx)
        })?;
        let post = self.enc_q.forward(spec, &batch.spec_lengths, Some(&ge), &mut *ctx.noise)?;
        let z_p = lanes::on(1, || self.flow.forward(&post.z, &post.mask, Some(&ge), false))?;
        let ids_slice = self.slice_ids(&batch.spec_lengths, t, &mut *ctx.noise)?;
        let z_slice = slice_segments(&post.z, &ids_slice, self.segment_frames)?;
        let o = self.dec.forward(&z_slice, Some(&ge))?;
        let s = o.shape()[1];
        Ok(VitsTrainOutput {
            y_hat: o.reshape(&[b, s])?,
            ids_slice,
            z_mask: post.mask,
            z: post.z,
            z_p,
            m_p: prior.m_p,
            logs_p: prior.logs_p,
            m_q: post.m,
            logs_q: post.logs,
            kl_ssl: Array::from_f32(0.0),
        })
    }

    fn infer(&mut self, input: &InferInput, noise: &mut dyn NoiseSource) -> Result<Array> {
        let mut ctx = Ctx::new(noise, false);
        expect_channels(&input.refer, self.config.spec_channels, "refer spectrogram")?;
        let refer_mask = sequence_mask(&input.refer_lengths, input.refer.shape()[1])?;
        let ge = self.style(&input.refer, &refer_mask, &mut ctx)?;
        let (ge, ge_text) = self.condition(ge, input.sv.as_ref())?;
        let quantized = self.quantize_ids(&input.semantic)?;
        let (b, t) = (quantized.shape()[0], quantized.shape()[1]);
        let y_lengths = Array::from_slice(&vec![t; b as usize], &[b]);
        if !input.speed.is_finite() || input.speed <= 0.0 {
            return Err(plugin_err(format!("speed must be positive, found {}", input.speed)));
        }
        let prior = self.enc_p.forward(
            &quantized,
            &y_lengths,
            &input.text,
            &input.text_lengths,
            &ge_text,
            input.speed,
            &mut ctx,
        )?;
        let eps = ctx.noise.normal("infer.noise", prior.m_p.shape())?;
        let scaled = ops::multiply(&ops::multiply(&eps, &ops::exp(&prior.logs_p)?)?, Array::from_f32(input.noise_scale))?;
        let z_p = ops::add(&prior.m_p, &scaled)?;
        let z = self.flow.forward(&z_p, &prior.y_mask, Some(&ge), true)?;
        let o = self.dec.forward(&mul(&z, &prior.y_mask)?, Some(&ge))?;
        let s = o.shape()[1];
        Ok(o.reshape(&[b, s])?)
    }

    /// Posterior sample of the spectrogram, mapped through the flow and back
    /// (the round trip is exact up to float rounding, so the path also checks
    /// the flow's invertibility), then decoded; the style comes from the same
    /// spectrogram (and, for v2Pro, `sv`). Noise: `enc_q.noise` from `noise`.
    #[rustfmt::skip]
    fn reconstruct(&mut self, spec: &Array, spec_lengths: &Array, sv: Option<&Array>, noise: &mut dyn NoiseSource) -> Result<Array> {
        expect_channels(spec, self.config.spec_channels, "spectrogram to reconstruct")?;
        let (b, t) = (spec.shape()[0], spec.shape()[1]);
        shape_check("spec_lengths", spec_lengths, &[b])?;
        let mut ctx = Ctx::new(noise, false);
        let y_mask = sequence_mask(spec_lengths, t)?;
        let ge = self.style(spec, &y_mask, &mut ctx)?;
        let (ge, _) = self.condition(ge, sv)?;
        let post = self.enc_q.forward(spec, spec_lengths, Some(&ge), &mut *ctx.noise)?;
        let z_p = self.flow.forward(&post.z, &post.mask, Some(&ge), false)?;
        let z = self.flow.forward(&z_p, &post.mask, Some(&ge), true)?;
        let o = self.dec.forward(&mul(&z, &post.mask)?, Some(&ge))?;
        let s = o.shape()[1];
        Ok(o.reshape(&[b, s])?)
    }

    fn seed_zero_codebook(&mut self, seed: u64) -> Result<bool> {
        self.quantizer.seed_zero_codebooks(seed)
    }

    fn parameter_groups(&self) -> Vec<ParamGroup> {
        vec![ParamGroup {
            name: "text".into(),
            prefixes: vec!["enc_p.text_embedding.".into(), "enc_p.encoder_text.".into(), "enc_p.mrte.".into()],
        }]
    }

    fn frozen_prefixes(&self) -> Vec<String> {
        // With freeze_quantizer (the only supported mode) ssl_proj gets no
        // gradient in the reference; the codebook tensors are buffers.
        vec!["ssl_proj.".into(), "quantizer.".into()]
    }

    fn semantic_ids(&mut self, ssl: &Array) -> Result<Array> {
        let (_, codes) = self.quantize_ssl(ssl)?; // [n_q = 1, B, T/2]
        let shape = codes.shape().to_vec();
        Ok(codes.reshape(&[shape[shape.len() - 2], shape[shape.len() - 1]])?.as_dtype(mlx_rs::Dtype::Int32)?)
    }

    fn buffer_prefixes(&self) -> Vec<String> {
        // inited / cluster_size / embed / embed_avg of the residual VQ
        vec!["quantizer.".into()]
    }

    fn set_training(&mut self, training: bool) {
        self.training = training;
    }
}
