//! LSGAN parity with GPT-SoVITS `losses.py::discriminator_loss` / `generator_loss`
//! on the copied fixtures (`tests/golden/losses/PROVENANCE.md`).
//!
//! Tolerance: rtol 1e-5 (fixture README for losses). The reference's own
//! f32-vs-f64 error is below 1.3e-7 relative (`parity_manifest.json`), so 1e-5
//! only absorbs a different f32 summation order.

use sovits_core::components::{DiscriminatorOutput, Loss};
use sovits_plugin_lsgan::Lsgan;
use sovits_test_support::{Fixture, assert_rel, empty_generated, golden, scalar, values};

const RTOL: f64 = 1e-5;

/// The three fixture sub-discriminators, split over two discriminators
/// (subs 0,1 in the first, 2 in the second) so the sum must span both.
fn disc() -> Vec<DiscriminatorOutput> {
    let real: Vec<_> = (0..3).map(|i| golden(&format!("loss.in.disc_real.{i}"))).collect();
    let fake: Vec<_> = (0..3).map(|i| golden(&format!("loss.in.disc_gen.{i}"))).collect();
    vec![
        DiscriminatorOutput { y_d_real: real[..2].to_vec(), y_d_fake: fake[..2].to_vec(), ..Default::default() },
        DiscriminatorOutput { y_d_real: real[2..].to_vec(), y_d_fake: fake[2..].to_vec(), ..Default::default() },
    ]
}

#[test]
fn discriminator_side_matches_reference() {
    let fx = Fixture::new(empty_generated(), disc());
    let terms = Lsgan.discriminator(&fx.ctx()).unwrap().expect("lsgan has a discriminator side");
    assert_rel("discriminator_loss", scalar(&terms.value), scalar(&golden("loss.out.discriminator_loss")), RTOL);
    let r = values(&golden("loss.out.discriminator_loss.r_losses"));
    let g = values(&golden("loss.out.discriminator_loss.g_losses"));
    let names: Vec<&str> = terms.parts.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["0.0.real", "0.0.fake", "0.1.real", "0.1.fake", "1.0.real", "1.0.fake"]);
    for (i, pair) in terms.parts.chunks(2).enumerate() {
        assert_rel(&format!("r_losses[{i}]"), scalar(&pair[0].1), r[i], RTOL);
        assert_rel(&format!("g_losses[{i}]"), scalar(&pair[1].1), g[i], RTOL);
    }
}

#[test]
fn generator_side_matches_reference() {
    let fx = Fixture::new(empty_generated(), disc());
    let terms = Lsgan.generator(&fx.ctx()).unwrap().expect("lsgan has a generator side");
    assert_rel("generator_loss", scalar(&terms.value), scalar(&golden("loss.out.generator_loss")), RTOL);
    let want = values(&golden("loss.out.generator_loss.gen_losses"));
    assert_eq!(terms.parts.len(), 3);
    for (i, (_, part)) in terms.parts.iter().enumerate() {
        assert_rel(&format!("gen_losses[{i}]"), scalar(part), want[i], RTOL);
    }
}

#[test]
fn mismatched_real_and_fake_counts_are_reported() {
    let mut d = disc();
    d[1].y_d_fake.clear();
    let fx = Fixture::new(empty_generated(), d);
    let err = Lsgan.discriminator(&fx.ctx()).expect_err("must fail").to_string();
    assert!(err.contains("discriminator 1 returned 1 real but 0 fake"), "{err}");
}

#[test]
fn registered_and_rejects_unknown_params() {
    use sovits_core::registry::build_loss;
    use sovits_core::spec::ComponentSpec;
    let ctx = sovits_core::BuildContext::default();
    let loss = build_loss(&ComponentSpec::named("lsgan"), "losses[0]", &ctx).unwrap();
    // the registered loss has both sides (each `Some`)
    let fx = Fixture::new(empty_generated(), disc());
    assert!(loss.generator(&fx.ctx()).unwrap().is_some(), "lsgan has a generator side");
    assert!(loss.discriminator(&fx.ctx()).unwrap().is_some(), "lsgan has a discriminator side");
    let bad = ComponentSpec::named("lsgan").with_params(serde_json::json!({"margin": 1}));
    let err = build_loss(&bad, "losses[0]", &ctx).err().expect("unknown field must fail").to_string();
    assert!(err.contains("margin"), "{err}");
}
