#![no_main]
//! Every batched CMAC path (the `aes` crate backend, the multi-lane AES-NI and VAES-512
//! chains) against the streaming CMAC (see `cse_core::fuzzing::cmac_diff`).
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| cse_core::fuzzing::cmac_diff(data));
