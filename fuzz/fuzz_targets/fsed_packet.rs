//! FSED payload codec: parse, emit, same bytes (see `cse_fsed::fuzzing::packet`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| cse_fsed::fuzzing::packet(data));
