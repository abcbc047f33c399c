//! Hinge loss against a direct f64 host computation of
//! D: `sum_i mean(relu(1 - real_i)) + mean(relu(1 + fake_i))`, G: `sum_i -mean(fake_i)`,
//! on the LSGAN fixture logits (`tests/golden/losses/PROVENANCE.md`) and on a
//! hand-worked case.
//!
//! Tolerance: rtol 1e-6; both sides are f32 means of at most 37 values, whose
//! rounding error is a few ulps (~1e-7 relative), far below 1e-6.

use mlx_rs::Array;
use sovits_core::components::{DiscriminatorOutput, Loss};
use sovits_plugin_hinge::Hinge;
use sovits_test_support::{Fixture, assert_rel, empty_generated, golden, scalar, values};

const RTOL: f64 = 1e-6;

fn mean(xs: impl Iterator<Item = f64>) -> f64 {
    let v: Vec<f64> = xs.collect();
    v.iter().sum::<f64>() / v.len() as f64
}

#[test]
fn matches_direct_computation_on_fixture_logits() {
    let real: Vec<_> = (0..3).map(|i| golden(&format!("loss.in.disc_real.{i}"))).collect();
    let fake: Vec<_> = (0..3).map(|i| golden(&format!("loss.in.disc_gen.{i}"))).collect();
    let (mut want_d, mut want_g, mut clipped) = (0.0, 0.0, 0usize);
    for (r, f) in real.iter().zip(&fake) {
        let (r, f) = (values(r), values(f));
        clipped += r.iter().filter(|&&x| x > 1.0).count() + f.iter().filter(|&&x| x < -1.0).count();
        want_d +=
            mean(r.iter().map(|&x| (1.0 - x as f64).max(0.0))) + mean(f.iter().map(|&x| (1.0 + x as f64).max(0.0)));
        want_g += -mean(f.iter().map(|&x| x as f64));
    }
    println!("{clipped} logits beyond the margin (relu active)");
    let disc = vec![
        DiscriminatorOutput { y_d_real: real[..1].to_vec(), y_d_fake: fake[..1].to_vec(), ..Default::default() },
        DiscriminatorOutput { y_d_real: real[1..].to_vec(), y_d_fake: fake[1..].to_vec(), ..Default::default() },
    ];
    let fx = Fixture::new(empty_generated(), disc);
    let d = Hinge.discriminator(&fx.ctx()).unwrap().expect("discriminator side");
    let g = Hinge.generator(&fx.ctx()).unwrap().expect("generator side");
    assert_rel("hinge D", scalar(&d.value), want_d as f32, RTOL);
    assert_rel("hinge G", scalar(&g.value), want_g as f32, RTOL);
    assert_eq!(d.parts.len(), 6);
    assert_eq!(g.parts.len(), 3);
}

#[test]
fn hand_worked_case_exercises_both_relu_branches() {
    // real: relu(1 - [-2, 0.5, 3]) = [3, 0.5, 0] -> mean 7/6
    // fake: relu(1 + [-3, -0.5, 2]) = [0, 0.5, 3] -> mean 7/6;  D = 7/3
    // G = -mean([-3, -0.5, 2]) = 0.5
    let disc = vec![DiscriminatorOutput {
        y_d_real: vec![Array::from_slice(&[-2.0f32, 0.5, 3.0], &[1, 3])],
        y_d_fake: vec![Array::from_slice(&[-3.0f32, -0.5, 2.0], &[1, 3])],
        ..Default::default()
    }];
    let fx = Fixture::new(empty_generated(), disc);
    let d = Hinge.discriminator(&fx.ctx()).unwrap().expect("discriminator side");
    let g = Hinge.generator(&fx.ctx()).unwrap().expect("generator side");
    assert_rel("hinge D", scalar(&d.value), 7.0 / 3.0, RTOL);
    assert_rel("hinge D real part", scalar(&d.parts[0].1), 7.0 / 6.0, RTOL);
    assert_rel("hinge G", scalar(&g.value), 0.5, RTOL);
}

#[test]
fn registered_under_its_name() {
    use sovits_core::registry::build_loss;
    use sovits_core::spec::ComponentSpec;
    let loss = build_loss(&ComponentSpec::named("hinge"), "losses[0]", &sovits_core::BuildContext::default()).unwrap();
    // the registered loss has both sides (each `Some`)
    let disc = vec![DiscriminatorOutput {
        y_d_real: vec![Array::from_slice(&[0.5f32], &[1, 1])],
        y_d_fake: vec![Array::from_slice(&[-0.5f32], &[1, 1])],
        ..Default::default()
    }];
    let fx = Fixture::new(empty_generated(), disc);
    assert!(loss.generator(&fx.ctx()).unwrap().is_some(), "hinge has a generator side");
    assert!(loss.discriminator(&fx.ctx()).unwrap().is_some(), "hinge has a discriminator side");
}
