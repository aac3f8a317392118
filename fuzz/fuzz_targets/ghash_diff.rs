#![no_main]
//! The PCLMULQDQ GHASH engine against the portable `ghash` crate: raw GHASH, GCM seal/open
//! and streaming GMAC agree (see `cse_core::fuzzing::ghash_diff`).
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| cse_core::fuzzing::ghash_diff(data));
