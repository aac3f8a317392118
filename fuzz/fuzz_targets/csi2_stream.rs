//! CSI-2 packet stream: iterate, re-emit, compare (see `cse_core::fuzzing::csi2_stream`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| cse_core::fuzzing::csi2_stream(data));
