//! Fuzzes `targets::hostfile` (the function the stable suite replays).
#![no_main]

#[allow(dead_code)]
#[path = "../src/targets.rs"]
mod targets;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = targets::hostfile(data);
});
