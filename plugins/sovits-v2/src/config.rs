//! Spec options of the `sovits-v2` generator: the `model` section of GPT-SoVITS
//! `GPT_SoVITS/configs/s2.json` (v2) plus the sizes the reference hard-codes
//! (`models.py::SynthesizerTrn`, `TextEncoder`, `mrte_model.py::MRTE`,
//! `modules.py::MelStyleEncoder`), made fields so the tiny fixture model fits.

use serde::{Deserialize, Serialize};
use sovits_core::{Error, Result};

/// Options for `"name": "sovits-v2"`; defaults are GPT-SoVITS v2 (`s2.json`).
///
/// Field names are the reference's keyword arguments. The segment length is
/// not here: it comes from `trainer.segment_size / hop` (the build context).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Linear-spectrogram bins fed to the posterior encoder (`filter_length/2+1`).
    pub spec_channels: i32,
    /// Latent (`z`) channels.
    pub inter_channels: i32,
    /// Hidden channels of the encoders, WN stacks and flows.
    pub hidden_channels: i32,
    /// FFN inner channels of the attention encoders.
    pub filter_channels: i32,
    /// Attention heads of the relative-position encoders.
    pub n_heads: i32,
    /// Layers of `encoder_text` (`encoder_ssl` and `encoder2` get half).
    pub n_layers: i32,
    /// FFN kernel size.
    pub kernel_size: i32,
    /// Dropout of the attention encoders (training mode only).
    pub p_dropout: f32,
    /// HiFi-GAN residual block type, `"1"` or `"2"`.
    pub resblock: String,
    /// Kernel sizes of the residual blocks of each upsampling stage.
    pub resblock_kernel_sizes: Vec<i32>,
    /// Dilations of each residual block.
    pub resblock_dilation_sizes: Vec<Vec<i32>>,
    /// Upsampling factors of the decoder (product = hop length).
    pub upsample_rates: Vec<i32>,
    /// Channels after `dec.conv_pre`; halved at every upsampling stage.
    pub upsample_initial_channel: i32,
    /// Kernel sizes of the transposed convs.
    pub upsample_kernel_sizes: Vec<i32>,
    /// Accepted for `s2.json` compatibility; the reference ignores it.
    pub n_layers_q: i32,
    /// Accepted for `s2.json` compatibility; the reference generator ignores it.
    pub use_spectral_norm: bool,
    /// Speaker/style embedding (`ge`) channels.
    pub gin_channels: i32,
    /// `"25hz"` (ssl_proj k=2 stride 2, codes upsampled x2) or `"50hz"`.
    pub semantic_frame_rate: String,
    /// Keeps ssl_proj and the codebook fixed (the only mode supported, as in s2 training).
    pub freeze_quantizer: bool,
    /// Model version: `"v2"`, or `"v2Pro"` / `"v2ProPlus"`, which add the
    /// speaker-verification conditioning (`sv_emb`, `prelu`, `ge_to512`; see `sv.rs`).
    pub version: String,
    /// MRTE content channels (hard-coded 192 in the reference).
    pub mrte_content_channels: i32,
    /// MRTE hidden channels (512). v2 adds `ge` to the MRTE hidden, so it must
    /// equal `gin_channels`; v2Pro/v2ProPlus map `ge` through `ge_to512`
    /// (`Linear(gin_channels, mrte_hidden)`, 512 in the reference), so it is free.
    pub mrte_hidden: i32,
    /// MRTE output channels (192).
    pub mrte_out: i32,
    /// MRTE cross-attention heads (4).
    pub mrte_heads: i32,
    /// MelStyleEncoder hidden width (128).
    pub ref_enc_hidden: i32,
    /// MelStyleEncoder dropout (0.1, training mode only).
    pub ref_enc_dropout: f32,
    /// Spectrogram bins the reference encoder sees (704 for v2).
    pub ref_enc_bins: i32,
    /// SSL feature width (768, HuBERT base).
    pub ssl_dim: i32,
    /// Phoneme vocabulary (732 = v2 `symbols2`).
    pub n_vocab: i32,
    /// Codebook entries (1024).
    pub codebook_size: i32,
    /// Relative-attention window of the text encoder (4).
    pub window_size: i32,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            spec_channels: 1025,
            inter_channels: 192,
            hidden_channels: 192,
            filter_channels: 768,
            n_heads: 2,
            n_layers: 6,
            kernel_size: 3,
            p_dropout: 0.1,
            resblock: "1".into(),
            resblock_kernel_sizes: vec![3, 7, 11],
            resblock_dilation_sizes: vec![vec![1, 3, 5], vec![1, 3, 5], vec![1, 3, 5]],
            upsample_rates: vec![10, 8, 2, 2, 2],
            upsample_initial_channel: 512,
            upsample_kernel_sizes: vec![16, 16, 8, 2, 2],
            n_layers_q: 3,
            use_spectral_norm: false,
            gin_channels: 512,
            semantic_frame_rate: "25hz".into(),
            freeze_quantizer: true,
            version: "v2".into(),
            mrte_content_channels: 192,
            mrte_hidden: 512,
            mrte_out: 192,
            mrte_heads: 4,
            ref_enc_hidden: 128,
            ref_enc_dropout: 0.1,
            ref_enc_bins: 704,
            ssl_dim: 768,
            n_vocab: 732,
            codebook_size: 1024,
            window_size: 4,
        }
    }
}

/// Model versions the generator builds (GPT-SoVITS `models.py`: `v2pro_set` plus v2).
pub const VERSIONS: [&str; 3] = ["v2", "v2Pro", "v2ProPlus"];

/// Width of the speaker-verification embedding (ERes2NetV2 features, `Linear(20480, gin)` in the reference).
pub const SV_DIM: i32 = 20480;

fn bad(field: &str, message: String) -> Error {
    Error::SpecValue { field: format!("generator.params.{field}"), message }
}

impl Config {
    /// The product of `upsample_rates`: samples the decoder emits per frame.
    pub fn upsample_factor(&self) -> i32 {
        self.upsample_rates.iter().product()
    }

    /// True for v2Pro and v2ProPlus: the model has `sv_emb`, `prelu` and
    /// `ge_to512`, and its forward needs a speaker-verification embedding.
    pub fn is_pro(&self) -> bool {
        matches!(self.version.as_str(), "v2Pro" | "v2ProPlus")
    }

    /// True for the 25 Hz semantic rate (ssl_proj halves time, codes are repeated x2).
    pub fn is_25hz(&self) -> bool {
        self.semantic_frame_rate == "25hz"
    }

    /// Checks every value the model relies on; the error names the field and value.
    pub fn validate(&self) -> Result<()> {
        let positive = [
            ("spec_channels", self.spec_channels),
            ("inter_channels", self.inter_channels),
            ("hidden_channels", self.hidden_channels),
            ("filter_channels", self.filter_channels),
            ("n_heads", self.n_heads),
            ("n_layers", self.n_layers),
            ("kernel_size", self.kernel_size),
            ("upsample_initial_channel", self.upsample_initial_channel),
            ("gin_channels", self.gin_channels),
            ("mrte_content_channels", self.mrte_content_channels),
            ("mrte_hidden", self.mrte_hidden),
            ("mrte_out", self.mrte_out),
            ("mrte_heads", self.mrte_heads),
            ("ref_enc_hidden", self.ref_enc_hidden),
            ("ref_enc_bins", self.ref_enc_bins),
            ("ssl_dim", self.ssl_dim),
            ("n_vocab", self.n_vocab),
            ("codebook_size", self.codebook_size),
        ];
        for (field, v) in positive {
            if v < 1 {
                return Err(bad(field, format!("must be at least 1, found {v}")));
            }
        }
        if self.window_size < 0 {
            return Err(bad("window_size", format!("must be >= 0, found {}", self.window_size)));
        }
        for (field, p) in [("p_dropout", self.p_dropout), ("ref_enc_dropout", self.ref_enc_dropout)] {
            if !(0.0..1.0).contains(&p) {
                return Err(bad(field, format!("must be in [0, 1), found {p}")));
            }
        }
        if !VERSIONS.contains(&self.version.as_str()) {
            return Err(bad("version", format!("must be one of {VERSIONS:?}, found {:?}", self.version)));
        }
        if !self.freeze_quantizer {
            return Err(bad(
                "freeze_quantizer",
                "false (EMA codebook training) is not implemented; s2 training uses true".into(),
            ));
        }
        if !matches!(self.semantic_frame_rate.as_str(), "25hz" | "50hz") {
            return Err(bad(
                "semantic_frame_rate",
                format!("must be \"25hz\" or \"50hz\", found {:?}", self.semantic_frame_rate),
            ));
        }
        if !matches!(self.resblock.as_str(), "1" | "2") {
            return Err(bad("resblock", format!("must be \"1\" or \"2\", found {:?}", self.resblock)));
        }
        if self.inter_channels % 2 != 0 {
            return Err(bad("inter_channels", format!("must be even (flow halves it), found {}", self.inter_channels)));
        }
        if self.hidden_channels % self.n_heads != 0 {
            return Err(bad(
                "n_heads",
                format!("must divide hidden_channels {}, found {}", self.hidden_channels, self.n_heads),
            ));
        }
        if self.mrte_hidden % self.mrte_heads != 0 {
            return Err(bad(
                "mrte_heads",
                format!("must divide mrte_hidden {}, found {}", self.mrte_hidden, self.mrte_heads),
            ));
        }
        if self.ref_enc_hidden % 2 != 0 {
            return Err(bad("ref_enc_hidden", format!("must be even (2 heads), found {}", self.ref_enc_hidden)));
        }
        if !self.is_pro() && self.mrte_hidden != self.gin_channels {
            return Err(bad(
                "mrte_hidden",
                format!(
                    "must equal gin_channels {} for version \"v2\" (ge is added to the MRTE hidden; \
                     v2Pro/v2ProPlus map it through ge_to512), found {}",
                    self.gin_channels, self.mrte_hidden
                ),
            ));
        }
        if self.mrte_content_channels != self.hidden_channels || self.mrte_out != self.hidden_channels {
            return Err(bad(
                "mrte_content_channels",
                format!(
                    "mrte_content_channels and mrte_out must equal hidden_channels {}, found {} and {}",
                    self.hidden_channels, self.mrte_content_channels, self.mrte_out
                ),
            ));
        }
        if self.ref_enc_bins > self.spec_channels {
            return Err(bad(
                "ref_enc_bins",
                format!("must be <= spec_channels {}, found {}", self.spec_channels, self.ref_enc_bins),
            ));
        }
        let n = self.upsample_rates.len();
        if n == 0 || self.upsample_kernel_sizes.len() != n {
            return Err(bad(
                "upsample_kernel_sizes",
                format!("needs one kernel per upsample rate ({n}), found {}", self.upsample_kernel_sizes.len()),
            ));
        }
        for (i, (&u, &k)) in self.upsample_rates.iter().zip(&self.upsample_kernel_sizes).enumerate() {
            if u < 1 || k < u || (k - u) % 2 != 0 {
                return Err(bad(
                    &format!("upsample_kernel_sizes[{i}]"),
                    format!("rate {u} and kernel {k} must satisfy kernel >= rate >= 1 with kernel - rate even"),
                ));
            }
        }
        if self.upsample_initial_channel >> n < 1 {
            return Err(bad(
                "upsample_initial_channel",
                format!("{} cannot be halved {n} times", self.upsample_initial_channel),
            ));
        }
        if self.resblock_kernel_sizes.is_empty() || self.resblock_dilation_sizes.len() != self.resblock_kernel_sizes.len() {
            return Err(bad(
                "resblock_dilation_sizes",
                format!(
                    "needs one dilation list per resblock kernel ({}), found {}",
                    self.resblock_kernel_sizes.len(),
                    self.resblock_dilation_sizes.len()
                ),
            ));
        }
        let want = if self.resblock == "1" { 3 } else { 2 };
        for (i, d) in self.resblock_dilation_sizes.iter().enumerate() {
            if d.len() < want || d.iter().any(|&x| x < 1) {
                return Err(bad(
                    &format!("resblock_dilation_sizes[{i}]"),
                    format!("resblock {} needs {want} dilations >= 1, found {d:?}", self.resblock),
                ));
            }
        }
        Ok(())
    }
}
