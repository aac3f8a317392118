//! CCISE frame codecs: parse, emit, same bytes (see `ccise::fuzzing::wire`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| ccise::fuzzing::wire(data));
