#![no_main]
//! Every GCM path (portable `aes` + `ghash`, `aes` + our PCLMULQDQ GHASH, our stitched
//! AES-NI, VAES-256 and VAES-512 engines, each forced where the CPU has it) against the
//! portable one: raw GHASH, GCM seal/open (in place and into another buffer), CTR (also with
//! the CRC-16s folded in), GMAC agree (see
//! `cse_core::fuzzing::ghash_diff`).
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| cse_core::fuzzing::ghash_diff(data));
