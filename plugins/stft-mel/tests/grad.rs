//! Gradient of the log-mel w.r.t. the audio vs central finite differences, for both
//! DFT paths (the mel loss backpropagates through exactly this).
//!
//! Smooth objective: `sum(mel(x) * r)` with fixed weights `r`, on a small frontend
//! (n_fft 256, hop 64, win 200 < n_fft, 8 kHz, 20 mels), batch 2 x 256 samples.

use mlx_rs::Array;
use mlx_rs::transforms::value_and_grad;
use sovits_core::SpectralFrontend;
use sovits_plugin_stft_mel::{Config, DftMethod};
use sovits_test_support::{central_differences, gradient_error, lcg_signal, values as host};

/// Deterministic test signal: a tone plus an LCG noise, amplitude ~0.5.
fn signal(n: usize, seed: u64) -> Vec<f32> {
    lcg_signal(n, seed, 0.2, |t| 0.5 * (0.3 * t).sin())
}

#[test]
fn mel_gradient_matches_central_differences() {
    for method in [DftMethod::Matmul, DftMethod::Rfft] {
        let fe = Config {
            n_fft: 256,
            hop_length: 64,
            win_length: 200,
            sampling_rate: 8000,
            n_mels: 20,
            fmin: 0.0,
            fmax: None,
            ..Config::default()
        }
        .build_with(method)
        .unwrap();
        let shape = [2, 256];
        let x = signal(512, 7);
        let t = fe.stft().frames(256) as i32;
        let weights = Array::from_slice(&signal((2 * t * 20) as usize, 3), &[2, t, 20]);
        let loss = |v: &Array| {
            fe.mel(v)
                .unwrap()
                .multiply(&weights)
                .unwrap()
                .sum(None)
                .unwrap()
        };
        let f = |args: &[Array]| vec![loss(&args[0])];
        let (_, g) = value_and_grad(f)(&[Array::from_slice(&x, &shape)]).unwrap();
        let analytic = host(&g[0]);

        // f32: h = 3e-3 on samples ~0.5 balances curvature against rounding of the O(10)
        // sum (ulp ~1e-6 / 2h ~ 2e-4 per component); measured 4.3e-4 norm-wise, bound 2e-3.
        let h = 3e-3f32;
        let numeric = central_differences(&x, h, |v| host(&loss(&Array::from_slice(v, &shape)))[0]);
        let (err, norm) = gradient_error(&analytic, &numeric);
        println!(
            "{method:?}: gradient norm {norm:e}, norm-wise relative error {:e}",
            err / norm
        );
        assert!(norm > 1.0, "{method:?}: gradient norm {norm}");
        assert!(
            err / norm <= 2e-3,
            "{method:?}: relative gradient error {}",
            err / norm
        );
    }
}
