//! CCISE target side: sequences of genuine, tampered, replayed and arbitrary transactions
//! (see `ccise::fuzzing::target`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| ccise::fuzzing::target(data));
