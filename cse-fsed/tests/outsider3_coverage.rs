//! Outsider round 3: FSED SV-3 and SV-4 coverage. An original packet travels as it is, so an
//! attacker may change any payload byte and fix the CRC-16; docs/security.md ("What is not
//! protected") says exactly the bytes SV-3/SV-4 leave uncovered go through. Every payload
//! byte of every line is flipped in turn: the scopes verify as in the twin run exactly when
//! the byte is uncovered, and the scope holding a covered byte fails (never verifies).

#![allow(clippy::unwrap_used, clippy::panic)]

mod o3;

use cse_core::{BlockConfig, CipherSuite, FrameConfig, KeyId, SecurityVariant, TagLen, TagMode};
use o3::*;

/// (stream position, block, line index) of every long original packet, by the docs' rules
/// (blocks: embedded data before the first other long packet is top, after it bottom).
fn lines(wire: &[Vec<u8>]) -> Vec<(usize, u8, u32)> {
    let mut block = 0u8;
    let mut count = [0u32; 3];
    let mut v = Vec::new();
    for (k, p) in wire.iter().enumerate() {
        let dt = p[0] & 0x3F;
        if is_fsed(p) || dt < 0x10 {
            continue;
        }
        if dt != 0x12 && block == 0 {
            block = 1;
        } else if dt == 0x12 && block == 1 {
            block = 2;
        }
        v.push((k, block, count[usize::from(block)]));
        count[usize::from(block)] += 1;
    }
    v
}

fn run(config: FrameConfig, suite: CipherSuite, covered: &dyn Fn(u8, u32, usize) -> bool) {
    let mut tx = tx_with(config, suite, 1);
    let wire = protect_all(&mut tx, &frame(0, 1));
    let mut twin = rx_with(config, suite);
    let expect: Vec<Got> = wire.iter().map(|p| recv(&mut twin, p, 0)).collect();
    let t_obs = observe(&mut twin, 0);
    assert!(expect.iter().all(|g| !matches!(g, Got::Err(_))));
    for (k, block, idx) in lines(&wire) {
        let len = wire[k].len() - 6;
        for byte in 0..len {
            let mut forged = wire.clone();
            forged[k][4 + byte] ^= 0x40;
            let n = forged[k].len();
            let c = cse_core::csi2::payload_crc(&forged[k][4..n - 2]);
            forged[k][n - 2..].copy_from_slice(&c.to_le_bytes());
            let mut rx = rx_with(config, suite);
            let got: Vec<Got> = forged.iter().map(|p| recv(&mut rx, p, 0)).collect();
            let obs = observe(&mut rx, 0);
            let what = format!("{config:?}: block {block} line {idx} byte {byte}");
            if covered(block, idx, byte) {
                assert!(
                    obs.events
                        .iter()
                        .any(|e| matches!(e, cse_fsed::Event::ScopeFailed(_))),
                    "{what}: went through"
                );
                let Got::Unverified(_, _, scope) = &got[k] else {
                    panic!("{what}: {:?}", got[k])
                };
                assert!(
                    !got.iter().any(|g| matches!(g, Got::Scope(s, r, _) if s == scope && r.contains(&(idx_of(&got[k]))))),
                    "{what}: a proof covers the changed line"
                );
            } else {
                for (i, (a, b)) in got.iter().zip(&expect).enumerate() {
                    if i != k {
                        assert_eq!(a, b, "{what}: packet {i}");
                    }
                }
                assert_eq!(obs, t_obs, "{what}");
            }
        }
    }
}

fn idx_of(g: &Got) -> u32 {
    match g {
        Got::Unverified(_, info, _) => info.message_index,
        _ => u32::MAX,
    }
}

#[test]
fn sv3_passes_exactly_the_uncovered_lines() {
    for (stride, offset) in [(2u16, 1u16), (1, 0), (3, 2), (u16::MAX, 0)] {
        for mode in [TagMode::PerDataType, TagMode::PerFrame] {
            for suite in [CipherSuite::Aes128Gmac, CipherSuite::Aes256Cmac] {
                let config = uniform(
                    SecurityVariant::LinePartialIntegrity { stride, offset },
                    suite,
                    mode,
                );
                run(config, suite, &|_, idx, _| {
                    idx >= u32::from(offset)
                        && (idx - u32::from(offset)).is_multiple_of(u32::from(stride))
                });
            }
        }
    }
}

#[test]
fn sv4_passes_exactly_the_bytes_outside_the_window() {
    for (start, len) in [(2u16, 4u16), (8, 100), (11, 1), (0, u16::MAX)] {
        for mode in [TagMode::PerDataType, TagMode::PerFrame] {
            let suite = CipherSuite::Aes128Cmac;
            let side = BlockConfig {
                sv: SecurityVariant::FullIntegrity,
                suite,
                tag_len: TagLen::L16,
                tag_mode: mode,
            };
            let config = FrameConfig {
                top: side,
                image: BlockConfig {
                    sv: SecurityVariant::BytePartialIntegrity { start, len },
                    ..side
                },
                bottom: side,
                key_id: KeyId::default(),
            };
            run(config, suite, &|block, _, byte| {
                block != 1
                    || (byte >= usize::from(start) && byte < usize::from(start) + usize::from(len))
            });
        }
    }
}
