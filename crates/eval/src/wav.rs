//! 16-bit PCM mono `.wav` output (samples clipped to [-1, 1]).

use std::path::Path;

use sovits_core::{Error, Result};

/// Writes `audio` at `sampling_rate` Hz as 16-bit mono PCM.
pub fn write_wav(path: &Path, audio: &[f32], sampling_rate: usize) -> Result<()> {
    let err = |e: hound::Error| Error::Data { path: path.to_path_buf(), message: format!("cannot write wav: {e}") };
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: sampling_rate as u32,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec).map_err(err)?;
    for &s in audio {
        let v = if s.is_finite() { s.clamp(-1.0, 1.0) } else { 0.0 };
        w.write_sample((v * 32767.0).round() as i16).map_err(err)?;
    }
    w.finalize().map_err(err)
}
