#![no_main]
//! Every GCM path (portable `aes` + `ghash`, `aes` + our PCLMULQDQ GHASH, our stitched
//! VAES-512) against the portable one: raw GHASH, GCM seal/open, CTR, GMAC agree (see
//! `cse_core::fuzzing::ghash_diff`).
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| cse_core::fuzzing::ghash_diff(data));
