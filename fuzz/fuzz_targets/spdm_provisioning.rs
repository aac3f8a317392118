//! spdm-lite: see `spdm_lite::fuzzing::provisioning` (GET_CSR / SET_CERTIFICATE responder).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = spdm_lite::fuzzing::provisioning(data);
});
