#![no_main]
//! Seal, tamper, open under every suite and tag length: tampering is always rejected.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| cse_core::fuzzing::suite_open(data));
