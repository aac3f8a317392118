//! SEP receiver fed arbitrary packet sequences: never panics, never releases a forged packet
//! (see `cse_sep::fuzzing::sep_receiver`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| cse_sep::fuzzing::sep_receiver(data));
