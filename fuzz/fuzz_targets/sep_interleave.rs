//! Genuine SEP stream interleaved with forged packets: nothing forged is released as
//! verified, and every genuine packet of a frame the forgeries did not disturb still is; the
//! batch paths (`receive_batch`, `protect_batch`) give exactly what the single ones give (see
//! `cse_sep::fuzzing::sep_interleave`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| cse_sep::fuzzing::sep_interleave(data));
