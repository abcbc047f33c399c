//! `kl-ssl` reports the generator's own commitment loss unchanged.

use mlx_rs::Array;
use sovits_core::components::Loss;
use sovits_plugin_kl_ssl::KlSsl;
use sovits_test_support::{Fixture, empty_generated, scalar};

#[test]
fn returns_the_generators_kl_ssl_exactly() {
    let generated = sovits_core::VitsTrainOutput { kl_ssl: Array::from_slice(&[0.3125f32], &[1]), ..empty_generated() };
    let fx = Fixture::new(generated, Vec::new());
    let terms = KlSsl.generator(&fx.ctx()).unwrap().expect("generator side");
    assert_eq!(terms.value.shape(), &[] as &[i32]);
    assert_eq!(scalar(&terms.value), 0.3125);
    assert!(KlSsl.discriminator(&fx.ctx()).unwrap().is_none());
}

#[test]
fn non_scalar_kl_ssl_is_rejected() {
    let generated =
        sovits_core::VitsTrainOutput { kl_ssl: Array::from_slice(&[1.0f32, 2.0], &[2]), ..empty_generated() };
    let fx = Fixture::new(generated, Vec::new());
    let err = KlSsl.generator(&fx.ctx()).expect_err("must fail").to_string();
    assert!(err.contains("kl_ssl"), "{err}");
}

#[test]
fn generator_side_only_and_registered() {
    let spec = sovits_core::spec::ComponentSpec::named("kl-ssl");
    let loss = sovits_core::registry::build_loss(&spec, "losses[4]", &sovits_core::BuildContext::default()).unwrap();
    let fx = Fixture::new(empty_generated(), Vec::new());
    assert!(loss.generator(&fx.ctx()).unwrap().is_some(), "kl-ssl has a generator side");
    assert!(loss.discriminator(&fx.ctx()).unwrap().is_none(), "kl-ssl has no discriminator side");
}
