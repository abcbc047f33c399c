//! Parity of `stft-mel` with GPT-SoVITS `module/mel_processing.py` and librosa.
//!
//! Golden files: `tests/golden/spectral/` (see its PROVENANCE.md; GPT-SoVITS 48b1a01,
//! torch 2.15, librosa 0.11). Tolerances follow the fixture README's table, which
//! sets them 10-100x above the reference's own f32-vs-f64 error:
//! - linear spectrogram: max abs error <= max(1e-3, 1e-5 * max|ref|) (values up to ~300;
//!   f32 DFT sums of 2048 terms carry ~1e-5 relative rounding);
//! - log-mel: max abs error <= 2e-3 in the log domain (bins near the 1e-5 clamp amplify
//!   relative error; the reference itself moves 6.9e-4 there between f32 and f64);
//! - window: 1e-6 (values <= 1; a few f32 ulps from torch's f32 cos);
//! - mel basis: 1e-6 abs (values <= ~0.03; both are f64 math rounded to f32, which
//!   differs by at most an ulp, ~2e-9, so 1e-6 still catches any wrong edge or norm,
//!   which moves values by >1e-4).

use mlx_rs::Array;
use sovits_core::SpectralFrontend;
use sovits_plugin_stft_mel::{Config, DftMethod, StftMel};

const GOLDEN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/golden/spectral");

/// An f32 .npy file: (shape, data).
fn load(name: &str) -> (Vec<usize>, Vec<f32>) {
    let path = format!("{GOLDEN}/{name}.npy");
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let npy = npyz::NpyFile::new(&bytes[..]).unwrap_or_else(|e| panic!("{path}: {e}"));
    let shape = npy.shape().iter().map(|&d| d as usize).collect();
    (
        shape,
        npy.into_vec::<f32>()
            .unwrap_or_else(|e| panic!("{path}: {e}")),
    )
}

/// `[1, C, T]` (reference layout) -> flat `[T, C]` (ours).
fn to_channels_last(shape: &[usize], data: &[f32]) -> Vec<f32> {
    let (c, t) = (shape[1], shape[2]);
    (0..t * c).map(|i| data[(i % c) * t + i / c]).collect()
}

/// (max |a - b|, max |b|).
fn max_diff(a: &[f32], b: &[f32]) -> (f32, f32) {
    assert_eq!(a.len(), b.len(), "length mismatch");
    let d = a
        .iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max);
    (d, b.iter().map(|x| x.abs()).fold(0.0, f32::max))
}

fn values(a: &Array) -> Vec<f32> {
    a.eval().unwrap();
    a.as_slice::<f32>().to_vec()
}

fn frontends() -> Vec<(DftMethod, StftMel)> {
    [DftMethod::Matmul, DftMethod::Rfft]
        .into_iter()
        .map(|m| (m, Config::default().build_with(m).unwrap()))
        .collect()
}

#[test]
fn window_matches_torch_hann_window() {
    let (shape, want) = load("spectral.hann_window");
    let fe = Config::default().build().unwrap();
    assert_eq!(fe.stft().window().shape(), [shape[0] as i32]);
    let (d, _) = max_diff(&values(fe.stft().window()), &want);
    println!("window max abs diff {d:e}");
    assert!(d <= 1e-6, "window max abs diff {d}");
}

#[test]
fn mel_basis_matches_librosa() {
    let (shape, want) = load("spectral.mel_basis");
    let fe = Config::default().build().unwrap();
    let basis = fe.mel_basis().unwrap();
    assert_eq!(basis.shape(), [shape[0] as i32, shape[1] as i32]);
    let got = values(&basis.flatten(None, None).unwrap());
    let (d, max) = max_diff(&got, &want);
    println!("mel basis max abs diff {d:e} (max value {max:e})");
    assert!(d <= 1e-6, "mel basis max abs diff {d}");
}

fn check_signal(sig: &str) {
    let (in_shape, audio) = load(&format!("spectral.in.{sig}"));
    let x = Array::from_slice(&audio, &[1, in_shape[1] as i32]);
    let (spec_shape, spec_ref) = load(&format!("spectral.out.{sig}.spec"));
    let (mel_shape, mel_ref) = load(&format!("spectral.out.{sig}.mel"));
    let spec_ref = to_channels_last(&spec_shape, &spec_ref);
    let mel_ref = to_channels_last(&mel_shape, &mel_ref);
    for (method, fe) in frontends() {
        let spec = fe.linear(&x).unwrap();
        assert_eq!(
            spec.shape(),
            [1, spec_shape[2] as i32, spec_shape[1] as i32]
        );
        let (d, max) = max_diff(&values(&spec), &spec_ref);
        let tol = f32::max(1e-3, 1e-5 * max);
        println!("{sig} {method:?}: linear max abs diff {d:e} (max {max:.1}, tol {tol:e})");
        assert!(d <= tol, "{sig} {method:?} linear spec max abs diff {d}");

        let mel = fe.mel(&x).unwrap();
        assert_eq!(mel.shape(), [1, mel_shape[2] as i32, mel_shape[1] as i32]);
        let (d, _) = max_diff(&values(&mel), &mel_ref);
        println!("{sig} {method:?}: log-mel max abs diff {d:e}");
        assert!(d <= 2e-3, "{sig} {method:?} log-mel max abs diff {d}");
    }
    // spec -> mel on the reference's own spectrogram isolates the mel basis + log
    let fe = Config::default().build().unwrap();
    let spec = Array::from_slice(&spec_ref, &[1, spec_shape[2] as i32, spec_shape[1] as i32]);
    let (d, _) = max_diff(&values(&fe.spec_to_mel(&spec).unwrap()), &mel_ref);
    println!("{sig}: spec_to_mel(reference spec) max abs diff {d:e}");
    assert!(d <= 2e-3, "{sig} spec_to_mel max abs diff {d}");
}

#[test]
fn chirp_noise_matches_reference() {
    check_signal("chirp_noise");
}

#[test]
fn espeak_matches_reference() {
    check_signal("espeak");
}

#[test]
fn preparation_helper_uses_the_seed_layout() {
    let (_, audio) = load("spectral.in.espeak");
    let (spec_shape, spec_ref) = load("spectral.out.espeak.spec");
    let fe = Config::default().build().unwrap();
    let spec = fe.linear_spectrogram_np(&audio).unwrap();
    assert_eq!(spec.shape(), [spec_shape[1] as i32, spec_shape[2] as i32]);
    let (d, max) = max_diff(&values(&spec.flatten(None, None).unwrap()), &spec_ref);
    assert!(
        d <= f32::max(1e-3, 1e-5 * max),
        "prepared spec max abs diff {d}"
    );
}
