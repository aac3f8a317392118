//! spdm-lite: see `spdm_lite::fuzzing::messages`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = spdm_lite::fuzzing::messages(data);
});
