//! Genuine FSED stream interleaved with forged packets: nothing forged is released as
//! verified, and every genuine packet of a frame the forgeries did not disturb still is
//! (see `cse_fsed::fuzzing::fsed_interleave`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| cse_fsed::fuzzing::fsed_interleave(data));
