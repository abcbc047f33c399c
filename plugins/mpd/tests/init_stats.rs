//! A fresh v2 `mpd` draws its tensors as a fresh GPT-SoVITS
//! `MultiPeriodDiscriminator(False, version='v2')` does
//! (`tests/golden/init_stats`): the same element counts, means and magnitudes
//! per tensor.

use sovits_plugin_mpd::{Config, Mpd};
use sovits_test_support::init_stats::init_mismatches;

#[test]
fn fresh_mpd_is_initialised_like_the_reference() {
    let mpd = Mpd::new(&Config::default()).unwrap();
    let (checked, bad) = init_mismatches(&mpd, "stats_D");
    println!("{checked} reference tensors checked");
    assert!(checked > 0, "no reference tensors");
    assert!(bad.is_empty(), "{} of {checked} tensors are initialised unlike the reference:\n{}", bad.len(), bad.join("\n"));
}
