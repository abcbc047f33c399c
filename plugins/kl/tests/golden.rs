//! KL vs GPT-SoVITS `losses.py::kl_loss` on the copied fixtures
//! (`tests/golden/losses/PROVENANCE.md`; mask lengths [10, 7]). Fixture tensors
//! are torch layout `[B, C, T]` / mask `[B, 1, T]`; they are transposed to the
//! channels-last `[B, T, C]` / `[B, T, 1]` of `VitsTrainOutput`.
//!
//! Tolerance: rtol 1e-5 (fixture README for losses).

use mlx_rs::Array;
use mlx_rs::transforms::value_and_grad_with_argnums;
use sovits_core::components::Loss;
use sovits_plugin_kl::{Kl, kl_loss};
use sovits_test_support::{Fixture, assert_rel, empty_generated, golden, scalar, values};

const RTOL: f64 = 1e-5;

fn channels_last(name: &str) -> Array {
    golden(&format!("loss.in.kl.{name}")).transpose_axes(&[0, 2, 1]).unwrap()
}

/// z_p, logs_q, m_p, logs_p, z_mask, channels-last.
fn inputs() -> [Array; 5] {
    ["z_p", "logs_q", "m_p", "logs_p", "z_mask"].map(channels_last)
}

#[test]
fn matches_reference_through_the_context() {
    let [z_p, logs_q, m_p, logs_p, z_mask] = inputs();
    let generated = sovits_core::VitsTrainOutput { z_p, logs_q, m_p, logs_p, z_mask, ..empty_generated() };
    let fx = Fixture::new(generated, Vec::new());
    let terms = Kl.generator(&fx.ctx()).unwrap().expect("generator side");
    assert_rel("kl_loss", scalar(&terms.value), scalar(&golden("loss.out.kl_loss")), RTOL);
}

/// f64 host version of the reference formula, channels-last, for finite differences.
fn host_kl(x: &[Vec<f64>; 5], c: usize) -> f64 {
    let [z_p, logs_q, m_p, logs_p, mask] = x;
    let mut num = 0.0;
    for i in 0..z_p.len() {
        let kl = (logs_p[i] - logs_q[i] - 0.5) + 0.5 * (z_p[i] - m_p[i]).powi(2) * (-2.0 * logs_p[i]).exp();
        num += kl * mask[i / c];
    }
    num / mask.iter().sum::<f64>()
}

/// Autodiff gradients of the four inputs vs central differences of the f64
/// formula (h 1e-4, truncation error ~1e-9). Tolerance: 1e-6 absolute + 1e-4
/// relative, covering the f32 autodiff rounding (gradients are O(0.1)).
#[test]
fn gradients_match_finite_differences() {
    let arrays = inputs();
    let c = arrays[0].shape()[2] as usize;
    let loss = |a: &[Array]| -> Result<Vec<Array>, mlx_rs::error::Exception> {
        Ok(vec![kl_loss(&a[0], &a[1], &a[2], &a[3], &a[4]).expect("shapes agree")])
    };
    let (_, grads) = value_and_grad_with_argnums(loss, &[0, 1, 2, 3][..])(&arrays).unwrap();
    let host: [Vec<f64>; 5] = arrays.each_ref().map(|a| values(a).iter().map(|&v| v as f64).collect());
    let h = 1e-4;
    let mut worst = 0f64;
    for (k, g) in grads.iter().enumerate() {
        let g = values(g);
        for i in 0..g.len() {
            let (mut plus, mut minus) = (host.clone(), host.clone());
            plus[k][i] += h;
            minus[k][i] -= h;
            let fd = (host_kl(&plus, c) - host_kl(&minus, c)) / (2.0 * h);
            let err = (g[i] as f64 - fd).abs();
            assert!(err <= 1e-6 + 1e-4 * fd.abs(), "input {k} elem {i}: autodiff {} vs fd {fd}", g[i]);
            worst = worst.max(err);
        }
    }
    // Masked frames (mask 0; item 1's last three in the fixture) must get exactly zero gradient from z_p.
    let gz = values(&grads[0]);
    let masked: Vec<usize> = values(&arrays[4]).iter().enumerate().filter(|(_, m)| **m == 0.0).map(|(f, _)| f).collect();
    assert!(!masked.is_empty(), "the fixture's z_mask masks no frame");
    assert!(masked.iter().all(|&f| (0..c).all(|ch| gz[f * c + ch] == 0.0)), "masked frames must not get gradient");
    println!("max |autodiff - fd| = {worst:e}");
}

#[test]
fn generator_side_only() {
    // the generator side is `Some` in `matches_reference_through_the_context`
    let fx = Fixture::new(empty_generated(), Vec::new());
    assert!(Kl.discriminator(&fx.ctx()).unwrap().is_none());
}

#[test]
fn channels_first_mask_is_rejected() {
    let [z_p, logs_q, m_p, logs_p, _] = inputs();
    let torch_mask = golden("loss.in.kl.z_mask");
    let err = kl_loss(&z_p, &logs_q, &m_p, &logs_p, &torch_mask).expect_err("must fail").to_string();
    assert!(err.contains("z_mask"), "{err}");
}
