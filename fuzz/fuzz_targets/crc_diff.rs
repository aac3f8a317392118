#![no_main]
//! The CRC backends (the VPCLMULQDQ folding backend where the CPU has it, the fused CRC-32 +
//! CRC-16, the streaming digests) against the portable tables (see
//! `cse_core::fuzzing::crc_diff`).
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| cse_core::fuzzing::crc_diff(data));
