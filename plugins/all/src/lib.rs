//! Depends on every plugin crate so that their `inventory` registrations are
//! linked into the binary; call [`link_all`] once before using the registry.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

/// Forces every plugin crate to be linked (an unreferenced crate's
/// `inventory::submit!` would otherwise vanish at link time).
pub fn link_all() {
    std::hint::black_box(sovits_plugin_adamw::link as fn());
    std::hint::black_box(sovits_plugin_adamw_bf16::link as fn());
    std::hint::black_box(sovits_plugin_feature_matching::link as fn());
    std::hint::black_box(sovits_plugin_hinge::link as fn());
    std::hint::black_box(sovits_plugin_kl::link as fn());
    std::hint::black_box(sovits_plugin_kl_ssl::link as fn());
    std::hint::black_box(sovits_plugin_lsgan::link as fn());
    std::hint::black_box(sovits_plugin_mel_l1::link as fn());
    std::hint::black_box(sovits_plugin_mpd::link as fn());
    std::hint::black_box(sovits_plugin_mrd::link as fn());
    std::hint::black_box(sovits_plugin_mrstft::link as fn());
    std::hint::black_box(sovits_plugin_msd::link as fn());
    std::hint::black_box(sovits_plugin_sovits_v2::link as fn());
    std::hint::black_box(sovits_plugin_stft_mel::link as fn());
}
