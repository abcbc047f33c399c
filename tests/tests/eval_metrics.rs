//! Quality metrics on synthetic signals: identical audio scores 0 on every
//! distance, added noise raises them, YIN finds a tone's f0, a known pitch
//! shift gives its cents, and MCD equals a direct computation.

use sovits_core::registry;
use sovits_core::spec::Spec;
use sovits_eval::mcd::{MCD_COEFFS, mcd_factor, mel_cepstral_distortion};
use sovits_eval::yin::{YinConfig, track};
use sovits_eval::{Scorer, pitch};
use sovits_test_support::pseudo_random;

const SR: usize = 32000;
const HOP: usize = 640;

fn scorer() -> Scorer {
    sovits_plugins::link_all();
    let spec = Spec::default();
    let frontend = registry::build_frontend(&spec.frontend, "frontend", &spec.build_context()).expect("frontend");
    Scorer::new(frontend).expect("scorer")
}

/// `seconds` of a harmonic tone at `f0` (fundamental plus two harmonics).
fn tone(f0: f64, seconds: f64) -> Vec<f32> {
    let n = (seconds * SR as f64) as usize;
    (0..n)
        .map(|i| {
            let t = i as f64 / SR as f64;
            (1..=3).map(|h| 0.3 / h as f64 * (2.0 * std::f64::consts::PI * f0 * h as f64 * t).sin()).sum::<f64>() as f32
        })
        .collect()
}

fn with_noise(x: &[f32], level: f32, seed: u64) -> Vec<f32> {
    x.iter().zip(pseudo_random(x.len(), seed)).map(|(a, n)| a + level * n).collect()
}

#[test]
fn identical_audio_scores_zero_on_every_distance() {
    let s = scorer();
    let a = tone(180.0, 1.0);
    let r = s.reference_from_audio(&a).expect("reference");
    let scores = s.score(&r, &a).expect("score");
    assert_eq!(scores.mel_l1, 0.0, "{scores:?}");
    assert_eq!(scores.mrstft, 0.0, "{scores:?}");
    assert_eq!(scores.mcd_db, Some(0.0), "{scores:?}");
    assert_eq!(scores.f0_rmse_cents, Some(0.0), "{scores:?}");
    assert_eq!(scores.vde, 0.0, "{scores:?}");
}

#[test]
fn added_noise_raises_every_spectral_distance_monotonically() {
    let s = scorer();
    let a = tone(180.0, 1.0);
    let r = s.reference_from_audio(&a).expect("reference");
    let quiet = s.score(&r, &with_noise(&a, 0.003, 1)).expect("quiet");
    let loud = s.score(&r, &with_noise(&a, 0.1, 2)).expect("loud");
    println!("noise 0.003: {quiet:?}\nnoise 0.1: {loud:?}");
    assert!(quiet.mel_l1 > 0.0 && loud.mel_l1 > quiet.mel_l1, "mel L1 {} -> {}", quiet.mel_l1, loud.mel_l1);
    assert!(quiet.mrstft > 0.0 && loud.mrstft > quiet.mrstft, "mrstft {} -> {}", quiet.mrstft, loud.mrstft);
    let (q, l) = (quiet.mcd_db.expect("mcd"), loud.mcd_db.expect("mcd"));
    assert!(q > 0.0 && l > q, "MCD {q} -> {l}");
}

#[test]
fn yin_finds_the_f0_of_pure_and_harmonic_tones() {
    let cfg = YinConfig::speech(SR, HOP);
    for f0 in [110.0f64, 220.0, 233.08, 440.0] {
        for audio in [tone(f0, 0.5), (0..SR / 2).map(|i| 0.5 * (2.0 * std::f64::consts::PI * f0 * i as f64 / SR as f64).sin() as f32).collect()] {
            let track = track(&audio, &cfg);
            assert!(!track.is_empty());
            let worst = track
                .iter()
                .map(|f| 1200.0 * (f.expect("a steady tone is voiced in every frame") as f64 / f0).log2())
                .fold(0.0f64, |m, c| m.max(c.abs()));
            // Tolerance 1 cent (0.06 %): parabolic interpolation of the lag
            // minimum leaves well under a cent of bias on a steady tone.
            assert!(worst < 1.0, "f0 {f0}: worst frame off by {worst} cents");
        }
    }
}

#[test]
fn silence_is_unvoiced_and_counts_as_a_voicing_error_against_a_tone() {
    let cfg = YinConfig::speech(SR, HOP);
    let silent = vec![0.0f32; SR / 2];
    let t_silent = track(&silent, &cfg);
    assert!(t_silent.iter().all(Option::is_none));
    let p = pitch::compare(&track(&tone(200.0, 0.5), &cfg), &t_silent);
    assert_eq!((p.voicing_error, p.f0_rmse_cents), (1.0, None));
}

#[test]
fn a_semitone_shift_scores_100_cents() {
    let s = scorer();
    let a = tone(220.0, 1.0);
    let b = tone(233.08, 1.0);
    let r = s.reference_from_audio(&a).expect("reference");
    let scores = s.score(&r, &b).expect("score");
    let expected = 1200.0 * (233.08f64 / 220.0).log2(); // 99.995 cents
    let got = scores.f0_rmse_cents.expect("voiced frames");
    println!("semitone: expected {expected:.3} cents, got {got:.3}");
    // Tolerance 2 cents: YIN's per-frame error is under 1 cent on each tone
    // (test above), so the difference of two tracks is within 2.
    assert!((got - expected).abs() < 2.0, "expected {expected} cents, got {got}");
    assert_eq!(scores.vde, 0.0);
}

/// Row `k` of the orthonormal DCT-II basis, scaled by `a`: its DCT is `a` at
/// `k` and 0 elsewhere, so MCD can be written down without a DCT.
fn basis(k: usize, n: usize, a: f64) -> Vec<f64> {
    let s = if k == 0 { (1.0 / n as f64).sqrt() } else { (2.0 / n as f64).sqrt() };
    (0..n).map(|i| a * s * (std::f64::consts::PI * k as f64 * (2.0 * i as f64 + 1.0) / (2.0 * n as f64)).cos()).collect()
}

#[test]
fn mcd_equals_the_direct_formula_on_known_cepstra() {
    let n = 128;
    let add = |parts: &[Vec<f64>]| -> Vec<f32> { (0..n).map(|i| parts.iter().map(|p| p[i]).sum::<f64>() as f32).collect() };
    let base = add(&[basis(0, n, -40.0), basis(2, n, 1.5)]);
    // frame 1: c3 += 2, c13 += -1 (both counted), c0 += 7 and c14 += 5 (not counted)
    let moved1 = add(&[basis(0, n, -33.0), basis(2, n, 1.5), basis(3, n, 2.0), basis(13, n, -1.0), basis(MCD_COEFFS + 1, n, 5.0)]);
    // frame 2: c1 += 0.5
    let moved2 = add(&[basis(0, n, -40.0), basis(2, n, 1.5), basis(1, n, 0.5)]);
    let reference: Vec<f32> = [base.clone(), base].concat();
    let generated: Vec<f32> = [moved1, moved2].concat();
    let direct = mcd_factor() * ((4.0f64 + 1.0).sqrt() + 0.5) / 2.0;
    assert!((mcd_factor() - 6.141_851_463_713_754).abs() < 1e-12, "10*sqrt(2)/ln(10)");
    let got = mel_cepstral_distortion(&reference, &generated, n).expect("mcd");
    // Tolerance 1e-4 dB: inputs are f32 log-mels (about 1e-6 relative rounding
    // of values up to ~4), amplified by the 128-term DCT sums.
    assert!((got - direct).abs() < 1e-4, "MCD {got} dB vs direct {direct} dB");
}
