//! D-PHY header ECC invariants (see `cse_core::fuzzing::ecc`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| cse_core::fuzzing::ecc(data));
