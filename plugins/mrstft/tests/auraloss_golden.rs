//! `mrstft` against golden values from an independent implementation:
//! auraloss 0.4.0 `MultiResolutionSTFTLoss` in torch float64, configured as
//! Parallel WaveGAN's `stft_loss.py` (see tests/golden/mrstft/PROVENANCE.md),
//! on three signal pairs rebuilt here bit-identically from a 64-bit LCG:
//! tones, chirps, and gated tones whose exact-zero stretches put whole
//! frames on the power floor (1e-7), one stretch shared and one in each
//! signal alone, so the floor's value enters the log-magnitude term.
//!
//! Tolerance: rtol 1e-4. Our STFT runs in f32: the spectral-convergence
//! ratio and the mean log-magnitude difference carry ~1e-6 relative f32
//! rounding. A framing, window, normalisation or floor error moves the values
//! by percents; the old magnitude floor (1e-7 on |X| instead of on |X|^2)
//! gives `gated.mag` 5.09 instead of 2.34.

use mlx_rs::Array;
use sovits_plugin_mrstft::Config;

const SR: f64 = 32000.0;

fn lcg_noise(n: usize, seed: u64) -> Vec<f64> {
    let mut s = seed;
    (0..n)
        .map(|_| {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (s >> 40) as f64 / (1u64 << 24) as f64 * 2.0 - 1.0
        })
        .collect()
}

/// `f(t) + noise_amp * noise`, zeroed on `silent` sample ranges, rounded to f32.
fn signal(n: usize, f: impl Fn(f64) -> f64, noise_amp: f64, seed: u64, silent: Option<(usize, usize)>) -> Array {
    let noise = lcg_noise(n, seed);
    let v: Vec<f32> = (0..n)
        .map(|i| {
            let on = silent.is_none_or(|(a, b)| i < a || i >= b);
            if on { (f(i as f64 / SR) + noise_amp * noise[i]) as f32 } else { 0.0 }
        })
        .collect();
    Array::from_slice(&v, &[1, n as i32])
}

#[test]
fn matches_auraloss_float64_reference() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/golden/mrstft/mrstft_golden.json");
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e} (see PROVENANCE.md beside it)"));
    let golden: serde_json::Value = serde_json::from_str(&text).expect("golden json");
    let n = golden["n"].as_u64().expect("n") as usize;
    assert_eq!(golden["power_floor"].as_f64().map(|v| v as f32), Some(sovits_plugin_mrstft::POWER_CLAMP));
    let tau = 2.0 * std::f64::consts::PI;
    let tone = |t: f64| 0.5 * (tau * 440.0 * t).sin() + 0.25 * (tau * 1320.0 * t).sin();
    let tone_hat = |t: f64| 0.45 * (tau * 452.0 * t).sin() + 0.2 * (tau * 1000.0 * t).sin();
    let pairs = [
        ("tone", signal(n, tone, 0.01, 1, None), signal(n, tone_hat, 0.01, 2, None)),
        (
            "chirp",
            signal(n, |t| 0.6 * (tau * (100.0 * t + 2000.0 * t * t)).sin(), 0.01, 3, None),
            signal(n, |t| 0.8 * (tau * (100.0 * t + 2100.0 * t * t)).sin(), 0.02, 4, None),
        ),
        ("gated", signal(n, tone, 0.01, 1, Some((3000, 7000))), signal(n, tone_hat, 0.01, 2, Some((5000, 9000)))),
    ];
    let loss = Config::default().build().expect("default mrstft");
    for (name, y, y_hat) in pairs {
        let terms = loss.forward(&y, &y_hat).expect("forward");
        let got = |a: &Array| f64::from(a.item_cast::<f32>());
        let want = &golden["values"][name];
        for (key, value) in [("value", got(&terms.value)), ("sc", got(&terms.parts[0].1)), ("mag", got(&terms.parts[1].1))] {
            let w = want[key].as_f64().unwrap_or_else(|| panic!("golden {name}.{key} missing"));
            assert!((value - w).abs() <= 1e-4 * w.abs(), "{name}.{key}: ours {value}, auraloss {w}, rel {}", (value - w).abs() / w.abs());
        }
    }
}
