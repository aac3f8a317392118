//! `cse`'s capture readers on untrusted files: the pcapng reader (ASAM CMP decoding, segment
//! reassembly, link selection) and the analysis `cse verify` / `cse inspect` run on a raw
//! capture (scan, protocol detection, receiver, report). Never a panic.
//!
//! The first byte picks the path: 0 the bytes as a pcapng file; 1 the bytes as Ethernet frames
//! (each `len ‖ frame`, `len` one byte), written into a valid pcapng file first so that the CMP
//! decoder and the reassembler see them; 2 the bytes as a raw capture, analysed with a fixed
//! key file and rendered.
#![no_main]

use cse_core::Policy;
use cse_link::capture::{self, KeyFile, pcapng};

const KEYS: &str = "key = 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n\
salt = a0a1a2a3a4a5a6a7a8a9aaab\nkey_id = 1\n";

fn read_all(file: &[u8]) {
    let _ = pcapng::read(file);
    let one = pcapng::Selection {
        stream_id: Some(0),
        interface_id: Some(1),
        ..Default::default()
    };
    if let Ok(p) = pcapng::read_selected(file, &one) {
        let _ = pcapng::describe(&p.stats);
    }
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    match mode % 3 {
        0 => read_all(rest),
        1 => {
            let Ok(mut rec) = pcapng::Recorder::new(0) else {
                return;
            };
            let mut at = rest;
            while let Some((&n, tail)) = at.split_first() {
                let n = usize::from(n).min(tail.len());
                let (frame, tail) = tail.split_at(n);
                rec.ethernet(frame.to_vec());
                rec.advance(1);
                at = tail;
            }
            if let Ok(file) = rec.finish() {
                read_all(&file);
            }
        }
        _ => {
            let Ok(keys) = KeyFile::parse(KEYS) else {
                return;
            };
            for k in [None, Some(&keys)] {
                if let Ok(a) = capture::analyse(rest, k, None, Policy::PERMISSIVE) {
                    let _ = capture::summary(&a);
                    let _ = capture::inspect_text_width(&a, rest, Some(80));
                    let _ = capture::inspect_report(&a, rest, None);
                }
            }
        }
    }
});
