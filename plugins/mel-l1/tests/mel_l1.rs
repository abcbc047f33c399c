//! `mel-l1` on a hand-built `LossContext`: value against a host-side computation,
//! shape errors, and its gradient w.r.t. `y_hat` against central finite differences.
//!
//! A small frontend (n_fft 256, hop 64, win 200, 8 kHz, 20 mels) keeps the
//! finite-difference sweep cheap; the code path is the same as at v2 sizes
//! (the window is shorter than n_fft, so the zero-padded-window path is covered too).

use mlx_rs::Array;
use mlx_rs::transforms::value_and_grad;
use sovits_core::components::{Loss, LossContext, SpectralFrontend};
use sovits_core::nn::signal::slice_segments;
use sovits_core::{Batch, Error, VitsTrainOutput};
use sovits_plugin_mel_l1::MelL1;
use sovits_plugin_stft_mel::{Config, StftMel};
use sovits_test_support::{central_differences, gradient_error, lcg_signal, values as host};

const HOP: usize = 64;
const SEG_FRAMES: usize = 4;
const FULL_FRAMES: usize = 10;

fn frontend() -> StftMel {
    Config {
        n_fft: 256,
        hop_length: HOP,
        win_length: 200,
        sampling_rate: 8000,
        n_mels: 20,
        fmin: 0.0,
        fmax: None,
        ..Config::default()
    }
    .build()
    .unwrap()
}

/// Deterministic test signal: a chirp-like tone plus an LCG noise.
fn signal(n: usize, f: f64, seed: u64) -> Vec<f32> {
    lcg_signal(n, seed, 0.2, |t| 0.5 * (f * t + 1e-4 * t * t).sin())
}

fn zeros(shape: &[i32]) -> Array {
    mlx_rs::ops::zeros::<f32>(shape).unwrap()
}

/// Batch whose `spec` is the frontend's linear spectrogram of `real`.
fn batch(fe: &StftMel, real: &Array) -> Batch {
    let b = real.shape()[0];
    Batch {
        ssl: None,
        semantic: None,
        spec: fe.linear(real).unwrap(),
        spec_lengths: Array::from_slice(&vec![FULL_FRAMES as i32; b as usize], &[b]),
        text: zeros(&[b, 1]),
        text_lengths: Array::from_slice(&vec![1i32; b as usize], &[b]),
        audio: real.clone(),
        audio_lengths: Array::from_slice(&vec![real.shape()[1]; b as usize], &[b]),
        sv: None,
    }
}

fn generated(y_hat: &Array, ids: &[i32]) -> VitsTrainOutput {
    let b = ids.len() as i32;
    let z = zeros(&[b, FULL_FRAMES as i32, 2]);
    VitsTrainOutput {
        y_hat: y_hat.clone(),
        ids_slice: Array::from_slice(ids, &[b]),
        z_mask: zeros(&[b, FULL_FRAMES as i32, 1]),
        z: z.clone(),
        z_p: z.clone(),
        m_p: z.clone(),
        logs_p: z.clone(),
        m_q: z.clone(),
        logs_q: z,
        kl_ssl: Array::from_f32(0.0),
    }
}

fn loss_value(fe: &StftMel, batch: &Batch, y_hat: &Array, ids: &[i32]) -> Result<Array, Error> {
    let gen_out = generated(y_hat, ids);
    let ctx = LossContext {
        batch,
        y: y_hat,
        y_hat,
        generated: &gen_out,
        disc: &[],
        frontend: fe,
        segment_frames: SEG_FRAMES,
    };
    Ok(MelL1
        .generator(&ctx)?
        .ok_or_else(|| Error::Plugin {
            plugin: "test".into(),
            message: "no term".into(),
        })?
        .value)
}

fn inputs() -> (StftMel, Array, Vec<f32>, [i32; 2]) {
    let fe = frontend();
    let real: Vec<f32> = [
        signal(FULL_FRAMES * HOP, 0.3, 1),
        signal(FULL_FRAMES * HOP, 0.7, 2),
    ]
    .concat();
    let real = Array::from_slice(&real, &[2, (FULL_FRAMES * HOP) as i32]);
    // y_hat is 10x quieter than the real audio, so every log-mel difference sits far
    // from the kink of |.| (checked in the gradient test) and finite differences are valid.
    let y_hat: Vec<f32> = [
        signal(SEG_FRAMES * HOP, 0.35, 3),
        signal(SEG_FRAMES * HOP, 0.6, 4),
    ]
    .concat()
    .iter()
    .map(|v| 0.1 * v)
    .collect();
    (fe, real, y_hat, [5, 2])
}

#[test]
fn value_matches_host_slicing() {
    let (fe, real, y_hat, ids) = inputs();
    let batch = batch(&fe, &real);
    let y_hat_arr = Array::from_slice(&y_hat, &[2, (SEG_FRAMES * HOP) as i32]);
    let got = host(&loss_value(&fe, &batch, &y_hat_arr, &ids).unwrap())[0];

    // direct: full mel of the real spectrogram and mel of y_hat, sliced and averaged on the host
    let m = fe.n_mels();
    let full = host(&fe.spec_to_mel(&batch.spec).unwrap()); // [2, FULL, m]
    let pred = host(&fe.mel(&y_hat_arr).unwrap()); // [2, SEG, m]
    let mut sum = 0.0f64;
    for (b, &start) in ids.iter().enumerate() {
        for t in 0..SEG_FRAMES {
            for c in 0..m {
                let target = full[(b * FULL_FRAMES + start as usize + t) * m + c];
                sum += (target - pred[(b * SEG_FRAMES + t) * m + c]).abs() as f64;
            }
        }
    }
    let want = (sum / (2 * SEG_FRAMES * m) as f64) as f32;
    println!("mel-l1 {got} vs host {want}");
    // same f32 inputs, only the reduction order differs: 1e-6 relative
    assert!((got - want).abs() <= 1e-6 * want.abs(), "{got} vs {want}");
    // a different slice gives a different value, so the slicing is exercised
    let other = host(&loss_value(&fe, &batch, &y_hat_arr, &[0, 0]).unwrap())[0];
    assert!((other - got).abs() > 1e-3, "{other} vs {got}");
}

#[test]
fn frame_mismatch_is_a_shape_error_naming_both() {
    let (fe, real, _, ids) = inputs();
    let batch = batch(&fe, &real);
    let longer = zeros(&[2, ((SEG_FRAMES + 1) * HOP) as i32]);
    match loss_value(&fe, &batch, &longer, &ids) {
        Err(Error::Shape {
            expected, found, ..
        }) => {
            assert!(
                expected.contains("[2, 4, 20]") && found.contains("[2, 5, 20]"),
                "{expected} / {found}"
            );
        }
        other => panic!("expected a shape error, got {other:?}"),
    }
}

#[test]
fn gradient_matches_central_differences() {
    let (fe, real, y_hat, ids) = inputs();
    let batch = batch(&fe, &real);
    let shape = [2, (SEG_FRAMES * HOP) as i32];
    // |target - prediction| has a kink at 0: the check is only valid away from it
    let target = slice_segments(
        &fe.spec_to_mel(&batch.spec).unwrap(),
        &Array::from_slice(&ids, &[2]),
        SEG_FRAMES as i32,
    )
    .unwrap();
    let margin = host(
        &target
            .subtract(fe.mel(&Array::from_slice(&y_hat, &shape)).unwrap())
            .unwrap(),
    )
    .iter()
    .fold(f32::INFINITY, |m, d| m.min(d.abs()));
    println!("smallest |log-mel difference| {margin}");
    assert!(
        margin > 0.1,
        "test signal too close to the |.| kink: {margin}"
    );
    let f = |args: &[Array]| vec![loss_value(&fe, &batch, &args[0], &ids).unwrap()];
    let (_, grads) = value_and_grad(f)(&[Array::from_slice(&y_hat, &shape)]).unwrap();
    let analytic = host(&grads[0]);

    // f32 throughout. y_hat samples are ~0.05, so the step must be small against them
    // (h = 1e-3 already shows curvature, 3e-3); rounding of the O(2) loss contributes
    // ~ulp(2.2) / 2h = 4e-4 per component, i.e. ~1.2e-3 norm-wise, the measured floor
    // (1.6e-3 at h = 3e-4). The bound 5e-3 sits ~3x above it
    // (for scale: one |.| kink inside the step, in an earlier draft, gave 6e-2).
    let h = 3e-4f32;
    let numeric = central_differences(&y_hat, h, |v| {
        host(&loss_value(&fe, &batch, &Array::from_slice(v, &shape), &ids).unwrap())[0]
    });
    let (err, norm) = gradient_error(&analytic, &numeric);
    println!(
        "h {h} gradient norm {norm:e}, norm-wise relative error {:e}",
        err / norm
    );
    assert!(norm > 1.0, "gradient norm {norm}");
    assert!(err / norm <= 5e-3, "relative gradient error {}", err / norm);
}

/// Host float64 log-mel of one item, from the definition (reflect pad
/// (n_fft - hop)/2, periodic Hann of `win` centred in n_fft, magnitude
/// sqrt(re^2 + im^2 + 1e-8), mel basis, log(clamp 1e-5)), `[frames][n_mels]`.
fn log_mel_f64(x: &[f64], basis: &[f64], n_mels: usize) -> Vec<Vec<f64>> {
    let (n_fft, win) = (256usize, 200usize);
    let pad = (n_fft - HOP) / 2;
    let n = x.len();
    let mut padded = Vec::with_capacity(n + 2 * pad);
    padded.extend((1..=pad).rev().map(|i| x[i]));
    padded.extend_from_slice(x);
    padded.extend((0..pad).map(|i| x[n - 2 - i]));
    let left = (n_fft - win) / 2;
    let window: Vec<f64> = (0..n_fft)
        .map(|i| if i >= left && i < left + win { 0.5 - 0.5 * (2.0 * std::f64::consts::PI * (i - left) as f64 / win as f64).cos() } else { 0.0 })
        .collect();
    let n_freq = n_fft / 2 + 1;
    let frames = (padded.len() - n_fft) / HOP + 1;
    (0..frames)
        .map(|f| {
            let mag: Vec<f64> = (0..n_freq)
                .map(|k| {
                    let (mut re, mut im) = (0.0, 0.0);
                    for (i, w) in window.iter().enumerate() {
                        let v = padded[f * HOP + i] * w;
                        let a = -2.0 * std::f64::consts::PI * (k * i) as f64 / n_fft as f64;
                        re += v * a.cos();
                        im += v * a.sin();
                    }
                    (re * re + im * im + 1e-8).sqrt()
                })
                .collect();
            (0..n_mels).map(|m| (0..n_freq).map(|k| basis[m * n_freq + k] * mag[k]).sum::<f64>().max(1e-5).ln()).collect()
        })
        .collect()
}

/// The check (norm-wise 1e-3) with a float64 reference: central
/// differences of a host float64 implementation of the loss (h = 1e-5, where
/// truncation ~h^2 and f64 rounding ~1e-16/h are both below 1e-9) against
/// MLX's f32 analytic gradient, whose own rounding is ~1e-6 relative.
#[test]
fn gradient_matches_float64_central_differences() {
    let (fe, real, y_hat, ids) = inputs();
    let batch = batch(&fe, &real);
    let shape = [2, (SEG_FRAMES * HOP) as i32];
    let target: Vec<f64> = host(
        &slice_segments(&fe.spec_to_mel(&batch.spec).unwrap(), &Array::from_slice(&ids, &[2]), SEG_FRAMES as i32)
            .unwrap(),
    )
    .iter()
    .map(|&v| f64::from(v))
    .collect();
    let basis: Vec<f64> = host(&fe.mel_basis().unwrap()).iter().map(|&v| f64::from(v)).collect();
    let n_mels = 20;
    let seg = SEG_FRAMES * HOP;
    let loss64 = |y: &[f64]| -> f64 {
        let mut total = 0.0;
        for b in 0..2 {
            let mel = log_mel_f64(&y[b * seg..(b + 1) * seg], &basis, n_mels);
            for (f, row) in mel.iter().enumerate() {
                for (m, v) in row.iter().enumerate() {
                    total += (target[(b * SEG_FRAMES + f) * n_mels + m] - v).abs();
                }
            }
        }
        total / (2 * SEG_FRAMES * n_mels) as f64
    };
    let y64: Vec<f64> = y_hat.iter().map(|&v| f64::from(v)).collect();
    // the f64 loss reproduces the plugin's value
    let ours = f64::from(host(&loss_value(&fe, &batch, &Array::from_slice(&y_hat, &shape), &ids).unwrap())[0]);
    assert!((ours - loss64(&y64)).abs() <= 1e-4 * ours.abs(), "f64 loss {} vs plugin {ours}", loss64(&y64));
    let f = |args: &[Array]| vec![loss_value(&fe, &batch, &args[0], &ids).unwrap()];
    let (_, grads) = value_and_grad(f)(&[Array::from_slice(&y_hat, &shape)]).unwrap();
    let analytic = host(&grads[0]);
    let h = 1e-5;
    let mut err = 0.0f64;
    let mut norm = 0.0f64;
    let mut y = y64.clone();
    for i in 0..y.len() {
        y[i] = y64[i] + h;
        let up = loss64(&y);
        y[i] = y64[i] - h;
        let down = loss64(&y);
        y[i] = y64[i];
        let g = (up - down) / (2.0 * h);
        err += (g - f64::from(analytic[i])).powi(2);
        norm += g * g;
    }
    let rel = err.sqrt() / norm.sqrt();
    println!("float64 finite differences: gradient norm {:e}, norm-wise relative error {rel:e}", norm.sqrt());
    assert!(norm.sqrt() > 1.0, "gradient norm {}", norm.sqrt());
    assert!(rel <= 1e-3, "relative gradient error {rel}");
}
