//! The spectral frontend contract: audio to linear and mel spectra.

use mlx_rs::Array;

use crate::error::Result;

/// Differentiable STFT-based features (GPT-SoVITS `mel_processing.py`).
pub trait SpectralFrontend {
    /// Samples per frame.
    fn hop_length(&self) -> usize;
    /// Sampling rate in Hz.
    fn sampling_rate(&self) -> usize;
    /// Number of mel bands.
    fn n_mels(&self) -> usize;
    /// Number of linear frequency bins (n_fft/2 + 1).
    fn n_freq(&self) -> usize;
    /// Linear magnitude spectrogram `[B, T, n_freq]` of audio `[B, S]`.
    fn linear(&self, audio: &Array) -> Result<Array>;
    /// Log-mel spectrogram `[B, T, n_mels]` of audio `[B, S]`.
    fn mel(&self, audio: &Array) -> Result<Array>;
    /// Log-mel `[B, T, n_mels]` of a linear spectrogram `[B, T, n_freq]`.
    fn spec_to_mel(&self, spec: &Array) -> Result<Array>;
}
