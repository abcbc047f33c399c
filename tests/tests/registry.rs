//! Every component name of the conventions table is registered exactly once,
//! and the default spec builds the reference-sized networks.

use std::path::Path;

use sovits_core::Spec;
use sovits_core::gan::Gan;
use sovits_core::registry::{self, Kind};

#[test]
fn every_conventions_name_is_registered_once() {
    sovits_plugins::link_all();
    registry::check_unique().expect("no duplicate registrations");
    let expected: [(Kind, &[&str]); 5] = [
        (Kind::Generator, &["sovits-v2"]),
        (Kind::Discriminator, &["mpd", "msd", "mrd"]),
        (Kind::Loss, &["lsgan", "hinge", "feature-matching", "kl", "kl-ssl", "mel-l1", "mrstft"]),
        (Kind::Frontend, &["stft-mel"]),
        (Kind::Optimizer, &["adamw", "adamw-bf16"]),
    ];
    for (kind, names) in expected {
        for name in names {
            registry::find(kind, name, "test").unwrap_or_else(|e| panic!("{e}"));
        }
    }
}

#[test]
fn default_spec_builds_reference_sized_networks() {
    sovits_plugins::link_all();
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../configs/vits_default.json");
    let spec = Spec::load(&path, &[]).expect("default spec");
    let gan = Gan::build(&spec).expect("build the default GAN");
    assert_eq!(gan.generator_parameter_count(), 51_310_080, "GPT-SoVITS v2 SynthesizerTrn parameters");
    assert_eq!(gan.discriminator_parameter_count(), 46_747_132, "GPT-SoVITS v2 MultiPeriodDiscriminator parameters");
}
