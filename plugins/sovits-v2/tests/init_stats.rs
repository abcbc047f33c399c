//! A fresh full-size v2 generator draws its tensors as a fresh GPT-SoVITS
//! `SynthesizerTrn` does (`tests/golden/init_stats`): the same element
//! counts, means and magnitudes per tensor. This is what a model trained
//! from scratch starts from; the decoder's convs are the case that once
//! differed (N(0, 0.01) where the reference keeps torch's default init).

use sovits_core::components::BuildContext;
use sovits_plugin_sovits_v2::{Config, build_model};
use sovits_test_support::init_stats::init_mismatches;

#[test]
fn fresh_generator_is_initialised_like_the_reference() {
    let model = build_model(&Config::default(), &BuildContext::default()).unwrap();
    let (checked, bad) = init_mismatches(&model, "stats_G");
    println!("{checked} reference tensors checked");
    assert!(checked > 0, "no reference tensors");
    assert!(bad.is_empty(), "{} of {checked} tensors are initialised unlike the reference:\n{}", bad.len(), bad.join("\n"));
}
