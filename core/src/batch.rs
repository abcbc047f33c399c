//! The tensors passed between the data loader, the generator and the losses.
//!
//! Layout is channels-last throughout (MLX's native conv layout): spectra and
//! features are `[B, T, C]`, audio is `[B, S]`. Lengths are `[B]` int32, in
//! frames for spectra/SSL, samples for audio, tokens for text.

use mlx_rs::Array;

/// One padded training batch.
#[derive(Debug, Clone)]
pub struct Batch {
    /// HuBERT features `[B, T, 768]` at 50 Hz, when the dataset has them.
    pub ssl: Option<Array>,
    /// Semantic (codebook) ids `[B, T/2]` int32 at 25 Hz, used when `ssl` is absent.
    pub semantic: Option<Array>,
    /// Linear magnitude spectrogram `[B, T, n_fft/2+1]`.
    pub spec: Array,
    /// Valid spectrogram frames per item `[B]`.
    pub spec_lengths: Array,
    /// Phoneme ids `[B, L]` int32.
    pub text: Array,
    /// Valid phoneme ids per item `[B]`.
    pub text_lengths: Array,
    /// Waveform `[B, S]` f32 at the data's sampling rate.
    pub audio: Array,
    /// Valid samples per item `[B]`.
    pub audio_lengths: Array,
    /// Speaker-verification embeddings `[B, 20480]` (GPT-SoVITS v2Pro/v2ProPlus),
    /// when the dataset has an `sv/` folder.
    pub sv: Option<Array>,
}

/// What `Generator::forward_train` returns (GPT-SoVITS `SynthesizerTrn.forward`).
#[derive(Debug, Clone)]
pub struct VitsTrainOutput {
    /// Generated audio for the sliced segment `[B, segment_size]`.
    pub y_hat: Array,
    /// Start frame of each item's segment `[B]` int32.
    pub ids_slice: Array,
    /// Valid-frame mask `[B, T, 1]`.
    pub z_mask: Array,
    /// Posterior sample `[B, T, C]`.
    pub z: Array,
    /// Posterior sample mapped through the flow `[B, T, C]`.
    pub z_p: Array,
    /// Prior mean `[B, T, C]`.
    pub m_p: Array,
    /// Prior log-std `[B, T, C]`.
    pub logs_p: Array,
    /// Posterior mean `[B, T, C]`.
    pub m_q: Array,
    /// Posterior log-std `[B, T, C]`.
    pub logs_q: Array,
    /// Quantizer commitment loss (scalar; 0 with a frozen quantizer).
    pub kl_ssl: Array,
}

impl VitsTrainOutput {
    /// Every field through `stop_gradient` (lazy): what the discriminator
    /// update sees of the generator's output, as the reference's
    /// `y_hat.detach()`.
    pub fn detached(&self) -> mlx_rs::error::Result<Self> {
        let sg = mlx_rs::stop_gradient;
        Ok(Self {
            y_hat: sg(&self.y_hat)?,
            ids_slice: sg(&self.ids_slice)?,
            z_mask: sg(&self.z_mask)?,
            z: sg(&self.z)?,
            z_p: sg(&self.z_p)?,
            m_p: sg(&self.m_p)?,
            logs_p: sg(&self.logs_p)?,
            m_q: sg(&self.m_q)?,
            logs_q: sg(&self.logs_q)?,
            kl_ssl: sg(&self.kl_ssl)?,
        })
    }
}

/// Inputs of `Generator::infer` (GPT-SoVITS `SynthesizerTrn.decode`).
#[derive(Debug, Clone)]
pub struct InferInput {
    /// Semantic ids `[B, T/2]` int32 to speak.
    pub semantic: Array,
    /// Phoneme ids `[B, L]` int32.
    pub text: Array,
    /// Valid phoneme ids per item `[B]`.
    pub text_lengths: Array,
    /// Reference linear spectrogram `[B, T_ref, F]` giving the voice.
    pub refer: Array,
    /// Valid reference frames per item `[B]`.
    pub refer_lengths: Array,
    /// Scale of the prior noise (GPT-SoVITS default 0.5).
    pub noise_scale: f32,
    /// Speaking-rate factor (1.0 = as trained).
    pub speed: f32,
    /// Speaker-verification embedding of the reference `[B, 20480]` (v2Pro/v2ProPlus).
    pub sv: Option<Array>,
}
