//! Fuzzes `sovits_tests::fuzz_targets::safetensors` (the function the stable suite replays).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = sovits_tests::fuzz_targets::safetensors(data);
});
