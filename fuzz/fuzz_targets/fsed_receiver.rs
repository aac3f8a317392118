//! FSED receiver fed edited genuine streams: never panics, never releases a forged packet
//! (see `cse_fsed::fuzzing::receiver`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| cse_fsed::fuzzing::receiver(data));
