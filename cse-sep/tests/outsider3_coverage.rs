//! Outsider round 3: SV-3 (line stride) and SV-4 (byte window) coverage, attacked black-box.
//!
//! docs/security.md ("What is not protected") and the crate README ("Security notes") say an
//! attacker may change exactly the payload bytes SV-3/SV-4 leave uncovered and the receiver
//! still accepts the packet. These tests hold the receiver to "exactly": every uncovered byte
//! goes through (documented, asserted as such), every covered byte and every header byte is
//! refused and leaves the receiver as its unattacked twin, at the stride and window edges
//! (stride 1, a stride above the line count, offset = stride - 1, a line count that is not a
//! multiple of the stride, a window past the end of the line, a line shorter than the window
//! start), for each tag mode.
#![allow(clippy::unwrap_used, clippy::panic)]

mod o3;

use cse_core::csi2::DataType;
use cse_core::{BlockConfig, CipherSuite, FrameConfig, KeyId, SecurityVariant, TagMode};
use o3::*;

/// Which SEP packets carry a long original packet, with their block and line index (the
/// 0-based count of long packets before it in its block, docs/wire-format.md "Lines for
/// SV-3"), computed from the SEP headers as the docs define them.
fn lines(seps: &[Vec<u8>]) -> Vec<(usize, u8, u32)> {
    let mut count = [0u32; 3];
    let mut out = Vec::new();
    for (k, s) in seps.iter().enumerate() {
        let flags = s[5];
        let is_fs = flags & 0x20 != 0;
        if is_fs || phase(s) == 2 {
            continue;
        }
        if orig_dt(s) >= 0x10 {
            let block = (s[6] >> 3) & 3;
            out.push((k, block, count[usize::from(block)]));
            count[usize::from(block)] += 1;
        }
    }
    out
}

fn sv3_covered(stride: u16, offset: u16, idx: u32) -> bool {
    let (s, o) = (u32::from(stride), u32::from(offset));
    idx >= o && (idx - o).is_multiple_of(s)
}

fn body7(seed: u8) -> Vec<Pkt> {
    // Top: one embedded line (top line 0). Image: 7 lines (not a multiple of 2, 3 or 4),
    // two data types, LS/LE and a generic short packet between them. Bottom: two embedded.
    vec![
        line(DataType::EMBEDDED, seed, 6),
        Pkt::Short(DataType::LS, 0),
        line(DataType::RAW12, seed ^ 1, 12),
        Pkt::Short(DataType::LE, 0),
        line(DataType::RAW12, seed ^ 2, 12),
        Pkt::Short(DataType::GENERIC_SHORT_1, 0xBEEF),
        line(DataType::RAW10, seed ^ 3, 10),
        line(DataType::RAW12, seed ^ 4, 12),
        line(DataType::RAW12, seed ^ 5, 12),
        line(DataType::RAW10, seed ^ 6, 10),
        line(DataType::RAW12, seed ^ 7, 12),
        line(DataType::EMBEDDED, seed ^ 8, 6),
        line(DataType::EMBEDDED, seed ^ 9, 4),
    ]
}

/// Runs the twin and, for every line and each payload byte position in `positions(len)`, an
/// attacked receiver that gets the line with that byte flipped (CRCs fixed) instead of the
/// genuine one. `covered(block, idx, byte, len)` says whether the docs cover that byte.
fn attack_every_line(
    config: FrameConfig,
    suite: CipherSuite,
    covered: &dyn Fn(u8, u32, usize, usize) -> bool,
) -> (usize, usize) {
    let mut tx = tx_with(config, suite, 5);
    let orig = originals(5, &body7(0x40));
    let seps = protect_all(&mut tx, &orig);
    let mut twin = rx_with(config, suite, policy_sv5());
    let genuine = feed(&mut twin, &seps, 100);
    assert!(
        genuine.iter().all(|g| !matches!(g, Got::Err(_))),
        "{genuine:?}"
    );
    let twin_obs = observe(&mut twin, 200);
    let scoped = config.image.tag_mode != TagMode::PerMessage;
    let (mut passed, mut refused) = (0, 0);
    for (k, block, idx) in lines(&seps) {
        let len = usize::from(word_count(&seps[k]));
        for byte in 0..len {
            let mut forged = seps[k].clone();
            forged[body_at(byte)] ^= 0x80;
            fix_crcs(&mut forged);
            let mut rx = rx_with(config, suite, policy_sv5());
            let mut got = feed(&mut rx, &seps[..k], 100);
            let (g, out) = recv(&mut rx, &forged, 100 + k as u64);
            let what = format!("{config:?} sep {k} block {block} line {idx} byte {byte}");
            if covered(block, idx, byte, len) {
                refused += 1;
                if scoped {
                    // A member carries no tag: it is taken as unverified, and its scope's
                    // close record must then fail.
                    assert!(matches!(g, Got::Unverified(..)), "{what}: {g:?}");
                    let rest: Vec<Got> = seps[k + 1..]
                        .iter()
                        .enumerate()
                        .map(|(i, s)| recv(&mut rx, s, 101 + (k + i) as u64).0)
                        .collect();
                    assert!(
                        rest.iter()
                            .any(|g| matches!(g, Got::Err(cse_sep::SepError::ScopeFailed(_)))),
                        "{what}: the changed covered byte went through its scope: {rest:?}"
                    );
                    assert!(
                        !rest.iter().any(|g| matches!(g, Got::Scope(s, r, _) if s.kind == scope_of(&seps[k], &config) && r.contains(&message_index(&seps[k])))),
                        "{what}: a proof covers the changed member"
                    );
                } else {
                    assert!(
                        matches!(g, Got::Err(cse_sep::SepError::Security(_))),
                        "{what}: {g:?}"
                    );
                    assert!(
                        out[..forged.len()].iter().all(|&b| b == 0),
                        "{what}: out not wiped"
                    );
                    got.push(recv(&mut rx, &seps[k], 100 + k as u64).0);
                    got.extend(
                        seps[k + 1..]
                            .iter()
                            .enumerate()
                            .map(|(i, s)| recv(&mut rx, s, 101 + (k + i) as u64).0),
                    );
                    assert_eq!(got, genuine, "{what}");
                    assert_same_but_rejections(&observe(&mut rx, 200), &twin_obs, &what);
                }
            } else {
                passed += 1;
                // Documented: the uncovered byte goes through, the packet is accepted.
                let mut expect = genuine[k].clone();
                match (&mut expect, &g) {
                    (Got::Verified(p, _), Got::Verified(..))
                    | (Got::Unverified(p, ..), Got::Unverified(..)) => {
                        p[4 + byte] ^= 0x80;
                        let n = p.len();
                        let c = cse_core::csi2::payload_crc(&p[4..n - 2]);
                        p[n - 2..].copy_from_slice(&c.to_le_bytes());
                    }
                    _ => panic!("{what}: uncovered change refused: {g:?}"),
                }
                assert_eq!(g, expect, "{what}");
                got.push(g);
                got.extend(
                    seps[k + 1..]
                        .iter()
                        .enumerate()
                        .map(|(i, s)| recv(&mut rx, s, 101 + (k + i) as u64).0),
                );
                assert_eq!(got.len(), genuine.len());
                for (i, (a, b)) in got.iter().zip(&genuine).enumerate() {
                    if i != k {
                        assert_eq!(a, b, "{what}: packet {i}");
                    }
                }
                assert_eq!(observe(&mut rx, 200), twin_obs, "{what}");
            }
        }
    }
    (passed, refused)
}

fn scope_of(sep: &[u8], config: &FrameConfig) -> cse_core::ScopeKind {
    match config.image.tag_mode {
        TagMode::PerDataType => cse_core::ScopeKind::DataType(orig_dt(sep)),
        _ => cse_core::ScopeKind::Frame,
    }
}

const SUITES: [CipherSuite; 2] = [CipherSuite::Aes128Gmac, CipherSuite::Aes256Cmac];
const MODES: [TagMode; 3] = [TagMode::PerMessage, TagMode::PerDataType, TagMode::PerFrame];

#[test]
fn sv3_stride_edges_pass_exactly_the_uncovered_line_payloads() {
    // (stride, offset): every line; every 2nd from 1; every 3rd from 2 (7 lines: 2, 5);
    // stride 4; a stride above the line count with the last possible offset (no image line
    // covered at all); the maximum stride.
    let cases = [
        (1u16, 0u16),
        (2, 1),
        (3, 2),
        (4, 0),
        (9, 8),
        (u16::MAX, u16::MAX - 1),
        (u16::MAX, 0),
    ];
    for suite in SUITES {
        for mode in MODES {
            for (stride, offset) in cases {
                let sv = SecurityVariant::LinePartialIntegrity { stride, offset };
                let config = uniform(sv, suite, mode);
                let (passed, refused) = attack_every_line(config, suite, &|_, idx, _, _| {
                    sv3_covered(stride, offset, idx)
                });
                if stride == 1 {
                    assert_eq!(passed, 0, "stride 1 covers everything");
                }
                assert!(
                    refused > 0 || offset > 1,
                    "{stride}/{offset}: nothing covered?"
                );
            }
        }
    }
}

#[test]
fn sv4_window_edges_pass_exactly_the_bytes_outside_the_window() {
    // Windows: inside a line, running past the end of 12-byte lines, starting beyond the
    // 10-byte lines (nothing of them covered), one byte, the largest valid window.
    let cases = [
        (2u16, 4u16),
        (8, 100),
        (11, 1),
        (10, 2),
        (0, 1),
        (0, u16::MAX),
        (u16::MAX, 1),
    ];
    for suite in SUITES {
        for mode in MODES {
            for (start, len) in cases {
                let side = blk(SecurityVariant::FullIntegrity, suite, mode);
                let image = BlockConfig {
                    sv: SecurityVariant::BytePartialIntegrity { start, len },
                    ..side
                };
                let config = FrameConfig {
                    top: side,
                    image,
                    bottom: side,
                    key_id: KeyId::default(),
                };
                attack_every_line(config, suite, &|block, _, byte, _| {
                    block != 1 || {
                        let (s, l) = (usize::from(start), usize::from(len));
                        byte >= s && byte < s + l
                    }
                });
            }
        }
    }
}
