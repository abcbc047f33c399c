//! Depends on every plugin crate so that their `inventory` registrations are
//! linked into the binary; call [`link_all`] once before using the registry.
#![deny(missing_docs)]

/// Forces every plugin crate to be linked (an unreferenced crate's
/// `inventory::submit!` would otherwise vanish at link time).
pub fn link_all() {}
