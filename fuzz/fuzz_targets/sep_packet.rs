//! SEP payload: parse, re-emit, compare (see `cse_sep::fuzzing::sep_packet`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| cse_sep::fuzzing::sep_packet(data));
