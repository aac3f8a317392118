//! spdm-lite: see `spdm_lite::fuzzing::measurements`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    spdm_lite::fuzzing::measurements(data);
});
