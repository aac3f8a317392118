//! Tamper tests: bit flips (noise and an attacker who fixes the CRCs), dropped, duplicated,
//! reordered and replayed packets and frames, downgrades, key rollover, timeouts, and exactly
//! what SV-3/SV-4 leave unprotected.
#![allow(clippy::unwrap_used, clippy::panic)] // test helpers outside #[test] fns

mod common;

use common::*;
use cse_core::csi2::payload_crc;
use cse_core::{
    CipherSuite, FusaError, KeyId, Policy, Profile, SecurityError, SecurityVariant, SvLevel,
    TagLen, TagMode,
};
use cse_sep::{Event, Receiver, SepError, Settings, wire};

const TINY: Shape = Shape {
    top_lines: 1,
    pixel_lines: 3,
    bottom_lines: 1,
    line_len: 16,
    embedded_len: 6,
    ls_le: true,
};

fn fresh_rx(suite: CipherSuite) -> Receiver {
    let mut rx = Receiver::new(Settings::new(vc()), Policy::PERMISSIVE, 1000);
    rx.install_key(KeyId::default(), material(suite, 0x42))
        .unwrap();
    rx
}

/// A stream of `frames` frames under `cfg`, with the originals of every frame.
fn stream(
    cfg: cse_core::FrameConfig,
    suite: CipherSuite,
    frames: u16,
) -> (Vec<Vec<u8>>, Vec<Vec<u8>>) {
    let (mut tx, _) = pair(cfg, suite);
    let mut seps = Vec::new();
    let mut originals = Vec::new();
    for f in 0..frames {
        let o = frame(&TINY, f, f as u8);
        seps.extend(protect_all(&mut tx, &o));
        originals.extend(o);
    }
    (seps, originals)
}

/// Whether the receiver reported anything wrong.
fn detected(o: &Outcome) -> bool {
    !o.errors.is_empty()
        || o.events.iter().any(|e| {
            matches!(
                e,
                Event::Fusa(_)
                    | Event::ScopeFailed(_)
                    | Event::FrameAbandoned { .. }
                    | Event::FrameComplete { clean: false, .. }
            )
        })
}

/// Every released packet is one of the originals (nothing forged gets through).
fn nothing_forged(o: &Outcome, originals: &[Vec<u8>]) -> bool {
    o.verified.iter().all(|(_, p)| originals.contains(p))
}

/// Recomputes the SEP CRC-32 and the outer CRC-16 of an SEP packet, as an attacker would.
fn fix_crcs(sep: &mut [u8]) {
    let n = sep.len();
    let payload = &mut sep[4..n - 2];
    let m = payload.len();
    let crc = wire::crc32(&Profile::DRAFT_1, &payload[..m - 4]);
    payload[m - 4..].copy_from_slice(&crc.to_le_bytes());
    let c16 = payload_crc(&sep[4..n - 2]);
    sep[n - 2..].copy_from_slice(&c16.to_le_bytes());
}

fn protected_configs() -> Vec<(cse_core::FrameConfig, CipherSuite)> {
    let mut v = Vec::new();
    for sv in all_svs()
        .into_iter()
        .filter(|s| *s != SecurityVariant::NoSecurity)
    {
        for mode in MODES {
            for suite in [CipherSuite::Aes128Gmac, CipherSuite::Aes256Cmac] {
                v.push((uniform(sv, suite, TagLen::L16, mode), suite));
            }
        }
    }
    v
}

#[test]
fn every_flipped_bit_of_every_packet_is_detected_by_a_crc_or_ecc() {
    for (cfg, suite) in protected_configs().into_iter().step_by(3) {
        let (seps, originals) = stream(cfg, suite, 1);
        for i in 0..seps.len() {
            for bit in 0..seps[i].len() * 8 {
                let mut s = seps.clone();
                s[i][bit / 8] ^= 1 << (bit % 8);
                let o = receive_all(&mut fresh_rx(suite), &s);
                assert!(
                    nothing_forged(&o, &originals),
                    "{cfg:?} packet {i} bit {bit}"
                );
                // A single flipped header bit is corrected by the ECC; anything else is
                // rejected by ECC, CRC-16 or CRC-32.
                if bit >= 32 {
                    assert!(detected(&o), "{cfg:?} packet {i} bit {bit} undetected");
                } else {
                    assert!(o.accepted() == originals || detected(&o));
                }
            }
        }
    }
}

/// Where SV-3/SV-4 leave body bytes uncovered: (packet index, byte offset in the SEP packet).
fn uncovered(cfg: &cse_core::FrameConfig, seps: &[Vec<u8>]) -> Vec<(usize, usize)> {
    // Walk the stream as the receiver does: long packets per block count lines.
    let mut v = Vec::new();
    let mut lines = [0u32; 3];
    for (i, s) in seps.iter().enumerate() {
        let payload = &s[4..s.len() - 2];
        let p = wire::Packet::new_checked(payload, &Profile::DRAFT_1).unwrap();
        let h = *p.header();
        if h.phase == wire::Phase::Close || cse_core::csi2::DataType(h.orig_dt).is_short() {
            continue;
        }
        let b = usize::from(h.block.code());
        let line = lines[b];
        lines[b] += 1;
        let bc = cfg.block(h.block);
        let body = p.layout().body.clone();
        let cov = bc.sv.covered_payload(line, body.len());
        for off in 0..body.len() {
            if !cov.contains(&off) {
                v.push((i, 4 + body.start + off));
            }
        }
    }
    v
}

#[test]
fn attacker_fixing_the_crcs_is_caught_by_tags_except_in_uncovered_bytes() {
    for (cfg, suite) in protected_configs() {
        let (seps, originals) = stream(cfg, suite, 1);
        let holes = uncovered(&cfg, &seps);
        for i in 0..seps.len() {
            let n = seps[i].len();
            let crc_start = n - 2 - 4;
            for bit in 32..crc_start * 8 {
                let mut s = seps.clone();
                s[i][bit / 8] ^= 1 << (bit % 8);
                fix_crcs(&mut s[i]);
                let o = receive_all(&mut fresh_rx(suite), &s);
                if holes.contains(&(i, bit / 8)) {
                    // Documented: SV-3/SV-4 do not cover this byte, the change goes through.
                    assert!(!detected(&o), "{cfg:?} packet {i} byte {}", bit / 8);
                    assert_eq!(o.accepted().len(), originals.len());
                    let changed: Vec<_> = o
                        .accepted()
                        .into_iter()
                        .zip(&originals)
                        .filter(|(a, b)| a != *b)
                        .map(|(a, b)| {
                            let d: Vec<usize> = (0..a.len()).filter(|k| a[*k] != b[*k]).collect();
                            d
                        })
                        .collect();
                    // Exactly one original packet changed, in exactly the flipped payload byte
                    // (plus its recomputed CRC-16 footer).
                    assert_eq!(changed.len(), 1, "{cfg:?}");
                    assert!(changed[0].len() <= 3, "{cfg:?} {:?}", changed[0]);
                } else {
                    assert!(
                        nothing_forged(&o, &originals),
                        "{cfg:?} packet {i} bit {bit}"
                    );
                    assert!(detected(&o), "{cfg:?} packet {i} bit {bit} undetected");
                }
            }
        }
    }
}

#[test]
fn sv3_and_sv4_leave_exactly_the_documented_bytes_unprotected() {
    // SV-3 stride 3 offset 1: image lines 1 (of 0..3) covered, lines 0 and 2 not; SV-4 bytes
    // 4..13 of each image line covered, 0..4 and 13..16 not.
    let sv3 = uniform(
        SecurityVariant::LinePartialIntegrity {
            stride: 3,
            offset: 1,
        },
        CipherSuite::Aes128Gmac,
        TagLen::L16,
        TagMode::PerMessage,
    );
    let (seps, _) = stream(sv3, CipherSuite::Aes128Gmac, 1);
    let holes = uncovered(&sv3, &seps);
    // top embedded line 0 (SV-3 applies there too): 6 bytes; image lines 0 and 2: 32 bytes;
    // bottom line 0: 6 bytes.
    assert_eq!(holes.len(), 6 + 16 + 16 + 6);
    let sv4 = uniform(
        SecurityVariant::BytePartialIntegrity { start: 4, len: 9 },
        CipherSuite::Aes128Gmac,
        TagLen::L16,
        TagMode::PerMessage,
    );
    let (seps, _) = stream(sv4, CipherSuite::Aes128Gmac, 1);
    // Image lines only (top and bottom run SV-2): 16 - 9 = 7 bytes per line, 3 lines.
    assert_eq!(uncovered(&sv4, &seps).len(), 3 * 7);
}

#[test]
fn dropping_any_packet_is_detected() {
    for (cfg, suite) in protected_configs() {
        let (seps, originals) = stream(cfg, suite, 2);
        for i in 0..seps.len() - 1 {
            let mut s = seps.clone();
            s.remove(i);
            let o = receive_all(&mut fresh_rx(suite), &s);
            assert!(nothing_forged(&o, &originals));
            assert!(detected(&o), "{cfg:?} drop {i}");
        }
    }
}

#[test]
fn a_dropped_last_fe_is_reported_by_the_timeout() {
    let cfg = uniform(
        SecurityVariant::FullIntegrity,
        CipherSuite::Aes128Cmac,
        TagLen::L16,
        TagMode::PerMessage,
    );
    let (mut seps, _) = stream(cfg, CipherSuite::Aes128Cmac, 1);
    seps.pop();
    let mut rx = fresh_rx(CipherSuite::Aes128Cmac);
    let o = receive_all(&mut rx, &seps);
    assert!(!detected(&o));
    let last = seps.len() as u64 - 1;
    assert_eq!(rx.poll_event(last + 999), None);
    assert_eq!(
        rx.poll_event(last + 1000),
        Some(Event::Fusa(FusaError::Timeout {
            vc: VC,
            silent_for: 1000
        }))
    );
    assert_eq!(rx.fusa_stats().timeouts, 1);
}

#[test]
fn duplicated_or_swapped_packets_are_detected() {
    for (cfg, suite) in protected_configs() {
        let (seps, originals) = stream(cfg, suite, 2);
        for i in 0..seps.len() - 1 {
            let mut dup = seps.clone();
            dup.insert(i + 1, seps[i].clone());
            let o = receive_all(&mut fresh_rx(suite), &dup);
            assert!(nothing_forged(&o, &originals));
            assert!(
                o.errors
                    .iter()
                    .any(|e| matches!(e, SepError::Security(SecurityError::Replay { .. }))),
                "{cfg:?} dup {i}: {:?}",
                o.errors
            );
            let mut sw = seps.clone();
            sw.swap(i, i + 1);
            let o = receive_all(&mut fresh_rx(suite), &sw);
            assert!(nothing_forged(&o, &originals));
            assert!(detected(&o), "{cfg:?} swap {i}");
        }
    }
}

#[test]
fn replayed_and_dropped_frames_are_detected() {
    let suite = CipherSuite::Aes256Gcm;
    let cfg = uniform(
        SecurityVariant::FullIntegrityEncrypted,
        suite,
        TagLen::L16,
        TagMode::PerFrame,
    );
    let (mut tx, _) = pair(cfg, suite);
    let frames: Vec<Vec<Vec<u8>>> = (0..3)
        .map(|f| protect_all(&mut tx, &frame(&TINY, f, 9)))
        .collect();
    // Replay: frame 0 again after frame 1.
    let mut rx = fresh_rx(suite);
    let mut s = frames[0].clone();
    s.extend(frames[1].clone());
    s.extend(frames[0].clone());
    let o = receive_all(&mut rx, &s);
    assert!(o.errors.len() >= frames[0].len());
    assert!(o.errors.iter().all(|e| matches!(
        e,
        SepError::Security(SecurityError::Replay { .. }) | SepError::UnexpectedPacket
    )));
    assert!(rx.security_stats().replays >= 1);
    // Drop frame 1: frame loss reported.
    let mut rx = fresh_rx(suite);
    let mut s = frames[0].clone();
    s.extend(frames[2].clone());
    let o = receive_all(&mut rx, &s);
    assert!(o.errors.is_empty());
    assert!(o.events.contains(&Event::Fusa(FusaError::FrameLoss {
        expected: 8,
        got: 9,
        lost: 1
    })));
    assert_eq!(rx.fusa_stats().frames_lost, 1);
}

#[test]
fn a_downgrade_below_the_policy_is_reported_never_accepted() {
    let suite = CipherSuite::Aes128Gmac;
    let good = uniform(
        SecurityVariant::FullIntegrity,
        suite,
        TagLen::L16,
        TagMode::PerMessage,
    );
    let mut weak = good;
    weak.image = block(
        SecurityVariant::NoSecurity,
        suite,
        TagLen::L16,
        TagMode::PerMessage,
    );
    let (mut tx, _) = pair(good, suite);
    let policy = Policy {
        min_top: SvLevel::Sv2,
        min_image: SvLevel::Sv2,
        min_bottom: SvLevel::Sv5,
    };
    let mut rx = Receiver::new(Settings::new(vc()), policy, 1000);
    rx.install_key(KeyId::default(), material(suite, 0x42))
        .unwrap();
    let f0 = protect_all(&mut tx, &frame(&TINY, 0, 1));
    tx.set_config(weak).unwrap();
    let f1 = protect_all(&mut tx, &frame(&TINY, 1, 1));
    let o = receive_all(&mut rx, &f0);
    assert!(!detected(&o));
    let o = receive_all(&mut rx, &f1);
    assert!(o.verified.is_empty());
    assert!(matches!(
        o.errors[0],
        SepError::Security(SecurityError::Downgrade(d)) if d.got == SvLevel::Sv5 && d.min == SvLevel::Sv2
    ));
    assert_eq!(rx.security_stats().downgrades, 1);
}

#[test]
fn key_rollover_at_a_frame_boundary_is_reported() {
    let suite = CipherSuite::Aes256Gmac;
    let cfg = uniform(
        SecurityVariant::FullIntegrity,
        suite,
        TagLen::L16,
        TagMode::PerDataType,
    );
    let (mut tx, mut rx) = pair(cfg, suite);
    let next = KeyId::new(1).unwrap();
    tx.install_key(next, material(suite, 0x77)).unwrap();
    rx.install_key(next, material(suite, 0x77)).unwrap();
    let o0 = frame(&TINY, 0, 3);
    let s0 = protect_all(&mut tx, &o0);
    tx.set_config(cse_core::FrameConfig {
        key_id: next,
        ..cfg
    })
    .unwrap();
    let o1 = frame(&TINY, 1, 4);
    let s1 = protect_all(&mut tx, &o1);
    assert!(!detected(&receive_all(&mut rx, &s0)));
    let o = receive_all(&mut rx, &s1);
    assert!(!detected(&o), "{:?}", o.errors);
    assert!(o.accepted() == o1);
    assert!(o.events.contains(&Event::KeyRollover {
        from: KeyId::default(),
        to: next
    }));
}

#[test]
fn a_wrong_key_fails_authentication_opaquely() {
    let suite = CipherSuite::Aes128CtrCmac;
    let cfg = uniform(
        SecurityVariant::FullIntegrityEncrypted,
        suite,
        TagLen::L16,
        TagMode::PerMessage,
    );
    let (seps, _) = stream(cfg, suite, 1);
    let mut rx = Receiver::new(Settings::new(vc()), Policy::PERMISSIVE, 1000);
    rx.install_key(KeyId::default(), material(suite, 0x43))
        .unwrap();
    let o = receive_all(&mut rx, &seps);
    assert!(o.verified.is_empty());
    assert_eq!(o.errors[0], SepError::Security(SecurityError::AuthFailed));
}

#[test]
fn unverified_sv1_packets_stay_ciphertext_until_their_scope_verifies() {
    let suite = CipherSuite::Aes256Gcm;
    let cfg = uniform(
        SecurityVariant::FullIntegrityEncrypted,
        suite,
        TagLen::L16,
        TagMode::PerFrame,
    );
    let (seps, originals) = stream(cfg, suite, 1);
    let mut rx = fresh_rx(suite);
    let mut held = Vec::new();
    let mut proofs = Vec::new();
    for s in &seps {
        let mut out = vec![0u8; s.len()];
        match rx.receive(s, 0, &mut out).unwrap() {
            cse_sep::Delivery::Unverified(u) => {
                assert!(u.is_encrypted());
                assert!(
                    !originals.contains(&u.unverified_packet().to_vec())
                        || u.info().word_count == 0
                        || u.info().data_type.is_short()
                );
                held.push((
                    u.unverified_packet().to_vec(),
                    u.decrypt_ticket(),
                    u.scope(),
                ));
            }
            cse_sep::Delivery::ScopeVerified(p) => proofs.push(p),
            _ => {}
        }
    }
    // Top-block proof cannot decrypt image packets.
    let top = proofs
        .iter()
        .find(|p| p.scope().block == cse_core::Block::Top)
        .unwrap();
    let (bytes, ticket, _) = held
        .iter()
        .find(|h| h.2.block == cse_core::Block::Image)
        .unwrap();
    let mut b = bytes.clone();
    assert_eq!(
        rx.decrypt(top, ticket, &mut b),
        Err(SepError::ProofMismatch)
    );
    assert_eq!(&b, bytes);
    for (bytes, ticket, scope) in held {
        let proof = proofs.iter().find(|p| p.scope() == scope).unwrap();
        let mut b = bytes.clone();
        rx.decrypt(proof, &ticket, &mut b).unwrap();
        assert!(originals.contains(&b));
    }
}

#[test]
fn frame_counter_limits_ask_for_restart_then_refuse() {
    let suite = CipherSuite::Aes128Gmac;
    let cfg = uniform(
        SecurityVariant::FullIntegrity,
        suite,
        TagLen::L16,
        TagMode::PerMessage,
    );
    let settings = Settings::new(vc());
    let mut tx = cse_sep::Transmitter::new(settings, 0xC000_0000);
    tx.install_key(KeyId::default(), material(suite, 1))
        .unwrap();
    tx.set_config(cfg).unwrap();
    let f = frame(&TINY, 0, 0);
    let mut out = vec![0u8; 512];
    // Packet numbers belong to the stream: past the frame-counter soft limit the stream must
    // be restarted, which is reported apart from a rekey.
    let r = tx.protect(&f[0], &mut out).unwrap();
    assert_eq!(r.usage, cse_core::keys::UsageStatus::NeedsRestart);
    assert!(r.needs_restart() && !r.needs_rekey());
    let mut tx = cse_sep::Transmitter::new(settings, u32::MAX);
    tx.install_key(KeyId::default(), material(suite, 1))
        .unwrap();
    tx.set_config(cfg).unwrap();
    assert_eq!(
        tx.protect(&f[0], &mut out),
        Err(SepError::Security(SecurityError::KeyExhausted))
    );
}

#[test]
fn overhead_of_a_5760_byte_raw12_line_is_below_one_percent() {
    let suite = CipherSuite::Aes256Gcm;
    for sv in [
        SecurityVariant::FullIntegrityEncrypted,
        SecurityVariant::FullIntegrity,
    ] {
        let cfg = uniform(sv, suite, TagLen::L16, TagMode::PerMessage);
        let (mut tx, _) = pair(cfg, suite);
        let shape = Shape {
            top_lines: 0,
            pixel_lines: 1,
            bottom_lines: 0,
            line_len: 5760,
            embedded_len: 0,
            ls_le: false,
        };
        let originals = frame(&shape, 0, 0);
        let seps = protect_all(&mut tx, &originals);
        let line = &originals[1];
        let sep = &seps[1];
        let overhead = sep.len() - line.len();
        assert_eq!(overhead, 12 + 16 + 4);
        assert!(overhead * 100 < 5760, "{overhead} bytes");
    }
}

#[test]
fn too_small_output_buffers_are_refused_without_state_change() {
    let suite = CipherSuite::Aes128Gmac;
    let cfg = uniform(
        SecurityVariant::FullIntegrity,
        suite,
        TagLen::L16,
        TagMode::PerFrame,
    );
    let (mut tx, mut rx) = pair(cfg, suite);
    let f = frame(&TINY, 0, 0);
    let mut seps = Vec::new();
    for p in &f {
        let mut small = vec![0u8; 8];
        assert!(matches!(
            tx.protect(p, &mut small),
            Err(SepError::Config(
                cse_core::ConfigError::BufferTooSmall { .. }
            ))
        ));
        seps.extend(protect_all(&mut tx, std::slice::from_ref(p)));
    }
    let o = receive_all(&mut rx, &seps);
    assert!(!detected(&o));
    assert!(o.accepted() == f);
}

#[test]
fn a_bridge_remapping_the_outer_vc_does_not_break_verification() {
    use cse_core::csi2::{HeaderForm, Packet};
    let suite = CipherSuite::Aes256Gmac;
    let cfg = uniform(
        SecurityVariant::FullIntegrity,
        suite,
        TagLen::L16,
        TagMode::PerFrame,
    );
    let (mut seps, originals) = stream(cfg, suite, 1);
    for s in &mut seps {
        // The bridge moves the SEP packets to VC 3 and recomputes the ECC.
        let mut p = Packet::new_unchecked(&mut s[..]);
        p.set_vc(cse_core::csi2::VirtualChannel::new(3).unwrap());
        p.fill_ecc(HeaderForm::Dphy);
    }
    let o = receive_all(&mut fresh_rx(suite), &seps);
    assert!(!detected(&o), "{:?}", o.errors);
    assert!(o.accepted() == originals);
}

#[test]
fn a_packet_with_another_key_id_inside_a_frame_is_rejected() {
    let suite = CipherSuite::Aes128Gmac;
    let cfg = uniform(
        SecurityVariant::FullIntegrity,
        suite,
        TagLen::L16,
        TagMode::PerMessage,
    );
    let (mut seps, _) = stream(cfg, suite, 1);
    // Packet 2 claims key id 1 (attacker fixes the CRCs).
    seps[2][5] ^= 0x01;
    fix_crcs(&mut seps[2]);
    let o = receive_all(&mut fresh_rx(suite), &seps);
    assert!(
        o.errors.contains(&SepError::UnexpectedPacket),
        "{:?}",
        o.errors
    );
}
