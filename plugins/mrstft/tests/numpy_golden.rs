//! `mrstft` against golden values computed independently in float64 with
//! numpy by `tests/golden/mrstft/gen_mrstft.py` (the formula, not our
//! code) on two fixed signal pairs (tones and chirps with LCG noise built here
//! bit-identically).
//!
//! Tolerance: rtol 1e-4. Our STFT runs in f32: the spectral-convergence
//! ratio and the mean log-magnitude difference carry ~1e-6 relative f32
//! rounding; the noise floor (1e-2 amplitude) keeps every bin well above the
//! 1e-7 clamp so no log term sits on the clamp's kink. A framing, window or
//! normalisation error moves the values by percents.

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

fn signal(n: usize, f: impl Fn(f64) -> f64, noise_amp: f64, seed: u64) -> Array {
    let noise = lcg_noise(n, seed);
    let v: Vec<f32> = (0..n).map(|i| (f(i as f64 / SR) + noise_amp * noise[i]) as f32).collect();
    Array::from_slice(&v, &[1, n as i32])
}

#[test]
fn matches_numpy_float64_reference() {
    let golden: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/golden/mrstft/mrstft_golden.json"))
            .expect("tests/golden/mrstft/mrstft_golden.json (python3 tests/golden/mrstft/gen_mrstft.py)"),
    )
    .expect("golden json");
    let n = golden["n"].as_u64().expect("n") as usize;
    let tau = 2.0 * std::f64::consts::PI;
    let pairs = [
        (
            "tone",
            signal(n, |t| 0.5 * (tau * 440.0 * t).sin() + 0.25 * (tau * 1320.0 * t).sin(), 0.01, 1),
            signal(n, |t| 0.45 * (tau * 452.0 * t).sin() + 0.2 * (tau * 1000.0 * t).sin(), 0.01, 2),
        ),
        (
            "chirp",
            signal(n, |t| 0.6 * (tau * (100.0 * t + 2000.0 * t * t)).sin(), 0.01, 3),
            signal(n, |t| 0.8 * (tau * (100.0 * t + 2100.0 * t * t)).sin(), 0.02, 4),
        ),
    ];
    let loss = Config::default().build().expect("default mrstft");
    for (name, y, y_hat) in pairs {
        let terms = loss.forward(&y, &y_hat).expect("forward");
        let got = |a: &Array| f64::from(a.item_cast::<f32>());
        let want = &golden["values"][name];
        for (key, value) in [("value", got(&terms.value)), ("sc", got(&terms.parts[0].1)), ("mag", got(&terms.parts[1].1))] {
            let w = want[key].as_f64().expect("golden value");
            assert!((value - w).abs() <= 1e-4 * w.abs(), "{name}.{key}: ours {value}, numpy {w}, rel {}", (value - w).abs() / w.abs());
        }
    }
}
