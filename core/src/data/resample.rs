//! Sample-rate conversion for data preparation, by the `rubato` crate's
//! synchronous FFT resampler (`FftFixedIn`: band-limited, exact ratio
//! `to / from`), with its delay removed so output sample `i` lines up with
//! input time `i / to`.

use rubato::{FftFixedIn, Resampler};

/// Input frames per rubato chunk.
const CHUNK: usize = 1024;

/// Resamples `x` from `from` Hz to `to` Hz. Output length is `round(len * to / from)`.
/// The error is rubato's, for rates it cannot serve (e.g. zero).
pub fn resample(x: &[f32], from: usize, to: usize) -> Result<Vec<f32>, String> {
    if from == to || x.is_empty() {
        return Ok(x.to_vec());
    }
    let n_out = (x.len() as f64 * to as f64 / from as f64).round() as usize;
    let mut r = FftFixedIn::<f64>::new(from, to, CHUNK, 2, 1).map_err(|e| e.to_string())?;
    let delay = r.output_delay();
    let input: Vec<f64> = x.iter().map(|&v| v as f64).collect();
    let mut buf = r.output_buffer_allocate(true);
    let mut out: Vec<f64> = Vec::with_capacity(n_out + delay + 2 * CHUNK);
    let mut pos = 0;
    while out.len() < n_out + delay {
        let need = r.input_frames_next();
        let (_, written) = if pos + need <= input.len() {
            let chunk = [&input[pos..pos + need]];
            pos += need;
            r.process_into_buffer(&chunk, &mut buf, None)
        } else if pos < input.len() {
            let chunk = [&input[pos..]];
            pos = input.len();
            r.process_partial_into_buffer(Some(&chunk), &mut buf, None)
        } else {
            r.process_partial_into_buffer(None::<&[&[f64]]>, &mut buf, None)
        }
        .map_err(|e| e.to_string())?;
        out.extend_from_slice(&buf[0][..written]);
    }
    Ok(out[delay..delay + n_out].iter().map(|&v| v as f32).collect())
}

#[cfg(test)]
mod tests {
    use super::resample;

    #[test]
    fn keeps_a_low_tone() {
        let x: Vec<f32> = (0..22050).map(|i| (2.0 * std::f32::consts::PI * 440.0 * i as f32 / 22050.0).sin()).collect();
        let y = resample(&x, 22050, 32000).expect("resample");
        assert_eq!(y.len(), 32000);
        for i in (1000..31000).step_by(997) {
            let want = (2.0 * std::f32::consts::PI * 440.0 * i as f32 / 32000.0).sin();
            assert!((y[i] - want).abs() < 1e-2, "sample {i}: {} vs {want}", y[i]);
        }
    }

    #[test]
    fn removes_what_the_target_rate_cannot_hold() {
        // 15 kHz at 44.1 kHz is above the 8 kHz Nyquist of 16 kHz: it must go.
        let x: Vec<f32> = (0..44100).map(|i| (2.0 * std::f32::consts::PI * 15000.0 * i as f32 / 44100.0).sin()).collect();
        let y = resample(&x, 44100, 16000).expect("resample");
        assert_eq!(y.len(), 16000);
        let rms = (y[2000..14000].iter().map(|v| v * v).sum::<f32>() / 12000.0).sqrt();
        assert!(rms < 1e-2, "aliased energy left: rms {rms}");
    }
}
