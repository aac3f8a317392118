//! Outsider round 3: `Transmitter::protect_repr` with a payload that does not match the
//! representation (word count too small or too large, a payload for a short packet, the SEP
//! data type itself, FS/FE with a payload), and `protect` with trailing bytes: each call is
//! refused without a panic, writes nothing and moves nothing (the genuine stream after it is
//! byte for byte the twin's).

#![allow(clippy::unwrap_used, clippy::panic)]

mod o3;

use cse_core::csi2::{DataType, Repr};
use cse_core::{CipherSuite, SecurityVariant, TagMode};
use o3::*;

#[test]
fn mismatched_reprs_and_trailing_bytes_are_refused_and_move_nothing() {
    for (sv, suite, mode) in [
        (
            SecurityVariant::FullIntegrityEncrypted,
            CipherSuite::Aes128Gcm,
            TagMode::PerMessage,
        ),
        (
            SecurityVariant::FullIntegrity,
            CipherSuite::Aes256Cmac,
            TagMode::PerDataType,
        ),
        (
            SecurityVariant::LinePartialIntegrity {
                stride: 2,
                offset: 1,
            },
            CipherSuite::Aes128Gmac,
            TagMode::PerFrame,
        ),
    ] {
        let config = uniform(sv, suite, mode);
        let mut twin = tx_with(config, suite, 1);
        let mut tx = tx_with(config, suite, 1);
        let orig: Vec<Vec<u8>> = (0..2)
            .flat_map(|f| originals(f, &typical(f as u8)))
            .collect();
        let v = vc(VC);
        let payload = [0x11u8; 16];
        for (i, o) in orig.iter().enumerate() {
            let mut out_t = vec![0u8; cse_sep::tx::max_protected_len(o.len())];
            let expect = twin.protect(o, &mut out_t).map(|d| out_t[..d.len].to_vec());
            let bad: Vec<(Repr, &[u8])> = vec![
                (Repr::long(v, DataType::RAW12, 12), &payload[..11]),
                (Repr::long(v, DataType::RAW12, 12), &payload[..13]),
                (Repr::long(v, DataType::RAW12, 0xFFFF), &payload[..]),
                (Repr::short(v, DataType::LS, 1), &payload[..1]),
                (Repr::short(v, DataType::FS, 1), &payload[..4]),
                (Repr::short(v, DataType::FE, 1), &payload[..2]),
                (Repr::long(vc(3), DataType::RAW12, 16), &payload[..]),
            ];
            for (repr, p) in bad {
                let mut out = vec![0xA5u8; 4096];
                let r = tx.protect_repr(&repr, p, &mut out);
                if let Ok(done) = r {
                    panic!(
                        "{config:?} at {i}: {repr:?} with {} bytes accepted ({done:?})",
                        p.len()
                    );
                }
                assert!(
                    out.iter().all(|&b| b == 0xA5),
                    "{repr:?}: bytes written on an error"
                );
            }
            let mut longer = o.clone();
            longer.push(0);
            let mut out = vec![0xA5u8; 4096];
            assert!(tx.protect(&longer, &mut out).is_err());
            assert!(out.iter().all(|&b| b == 0xA5));
            let mut out = vec![0u8; cse_sep::tx::max_protected_len(o.len())];
            let got = tx.protect(o, &mut out).map(|d| out[..d.len].to_vec());
            assert_eq!(got, expect, "{config:?} at {i}");
        }
    }
}
