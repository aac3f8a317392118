//! Negative tests: every tampered byte (with and without CRC fix-up), dropped, duplicated,
//! reordered, replayed packets and frames, FSED packets removed or moved, SV downgrade; plus
//! the events (loss, replay, rollover, timeout, CRC error).
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashSet;

use common::*;
use cse_core::csi2::{self, HeaderForm};
use cse_core::{
    Block, CipherSuite, FusaError, KeyId, Policy, SecurityError, SecurityVariant, SvLevel, TagLen,
    TagMode,
};
use cse_fsed::{Event, FsedError, wire};

const FRAMES: u16 = 2;

struct Case {
    sv: SecurityVariant,
    suite: CipherSuite,
    mode: TagMode,
}

fn cases() -> Vec<Case> {
    let mut v = Vec::new();
    for mode in MODES {
        v.push(Case {
            sv: SecurityVariant::FullIntegrityEncrypted,
            suite: CipherSuite::Aes256Gcm,
            mode,
        });
        v.push(Case {
            sv: SecurityVariant::FullIntegrityEncrypted,
            suite: CipherSuite::Aes128CtrCmac,
            mode,
        });
        v.push(Case {
            sv: SecurityVariant::FullIntegrity,
            suite: CipherSuite::Aes128Gmac,
            mode,
        });
        v.push(Case {
            sv: SecurityVariant::FullIntegrity,
            suite: CipherSuite::Aes256Cmac,
            mode,
        });
    }
    v
}

fn setup(c: &Case) -> (Vec<Vec<u8>>, Vec<Vec<u8>>) {
    let config = uniform(c.sv, c.suite, TagLen::L16, c.mode);
    let (mut tx, _) = pair(config, c.suite);
    let mut originals = Vec::new();
    let mut stream = Vec::new();
    for f in 0..FRAMES {
        let o = frame(&Shape::SMALL, f + 1, f as u8);
        stream.extend(protect_all(&mut tx, &o));
        originals.extend(o);
    }
    (originals, stream)
}

fn rx_for(c: &Case) -> cse_fsed::Receiver {
    pair(uniform(c.sv, c.suite, TagLen::L16, c.mode), c.suite).1
}

/// No packet the receiver released is anything but an original packet, and not every frame
/// came out clean.
fn assert_detected(c: &Case, originals: &[Vec<u8>], stream: &[Vec<u8>], what: &str) {
    let out = receive_all(&mut rx_for(c), stream);
    let known: HashSet<&Vec<u8>> = originals.iter().collect();
    for p in out.accepted() {
        assert!(
            known.contains(&p),
            "{what}: forged packet released ({:?} {:?})",
            c.sv,
            c.mode
        );
    }
    assert!(
        out.clean_frames() < usize::from(FRAMES) || !out.errors.is_empty(),
        "{what}: undetected ({:?} {:?} {:?})",
        c.sv,
        c.suite,
        c.mode
    );
}

/// Recomputes the CRC-16 footer (and, for an FSED packet, its CRC-32) so that only the
/// cryptographic checks can catch a change.
fn fix_crcs(p: &mut [u8]) {
    let mut h = [p[0], p[1], p[2], p[3]];
    HeaderForm::Dphy.fill(&mut h);
    p[..4].copy_from_slice(&h);
    if p.len() <= 4 {
        return;
    }
    let n = p.len();
    if is_fsed(p) {
        let mut f = wire::Packet::new_unchecked(&mut p[4..n - 2]);
        if f.check_len().is_ok() {
            f.fill_crc(&cse_core::Profile::DRAFT_1);
        }
    }
    if let Ok(mut v) = csi2::Packet::new_checked(&mut *p) {
        v.fill_crc();
    }
}

#[test]
fn every_flipped_byte_is_rejected_even_with_crcs_fixed() {
    for c in cases() {
        let (originals, stream) = setup(&c);
        for (i, p) in stream.iter().enumerate() {
            // Header bytes 1..3 (data id is byte 0: changing the DT changes the packet kind),
            // then every payload byte.
            for at in 0..p.len().saturating_sub(2) {
                if at == 3 {
                    continue; // ECC byte: recomputed by fix_crcs for short packets only
                }
                let mut s = stream.clone();
                s[i][at] ^= 0x01;
                fix_crcs(&mut s[i]);
                if s[i] == stream[i] {
                    continue;
                }
                assert_detected(&c, &originals, &s, &format!("packet {i} byte {at}"));
            }
        }
    }
}

#[test]
fn flips_without_crc_fix_are_reported_as_crc_errors() {
    let c = &cases()[2];
    let (_, stream) = setup(c);
    for (i, p) in stream.iter().enumerate() {
        if p.len() <= 6 {
            continue;
        }
        let mut s = stream.clone();
        s[i][6] ^= 0x80;
        let out = receive_all(&mut rx_for(c), &s);
        assert!(
            out.errors
                .iter()
                .any(|e| matches!(e, FsedError::Fusa(FusaError::Crc16Mismatch { .. }))),
            "{:?}",
            out.errors
        );
    }
}

#[test]
fn fsed_crc32_mismatch_is_a_fusa_error() {
    let c = &cases()[2];
    let (_, stream) = setup(c);
    let i = stream.iter().position(|p| is_fsed(p)).unwrap();
    let mut s = stream.clone();
    s[i][8] ^= 1; // frame counter byte; CRC-32 left stale, CRC-16 fixed
    let n = s[i].len();
    let mut v = csi2::Packet::new_checked(&mut s[i][..n]).unwrap();
    v.fill_crc();
    let out = receive_all(&mut rx_for(c), &s);
    assert!(
        out.errors
            .iter()
            .any(|e| matches!(e, FsedError::Fusa(FusaError::Crc32Mismatch { .. })))
    );
}

#[test]
fn dropping_any_packet_is_detected() {
    for c in cases() {
        let (originals, stream) = setup(&c);
        for i in 0..stream.len() {
            let mut s = stream.clone();
            s.remove(i);
            assert_detected(&c, &originals, &s, &format!("drop {i}"));
        }
    }
}

#[test]
fn duplicating_any_packet_is_detected() {
    for c in cases() {
        let (originals, stream) = setup(&c);
        for i in 0..stream.len() {
            let mut s = stream.clone();
            s.insert(i, stream[i].clone());
            assert_detected(&c, &originals, &s, &format!("dup {i}"));
        }
    }
}

#[test]
fn swapping_adjacent_packets_is_detected() {
    for c in cases() {
        let (originals, stream) = setup(&c);
        for i in 0..stream.len() - 1 {
            if stream[i] == stream[i + 1] {
                continue;
            }
            let mut s = stream.clone();
            s.swap(i, i + 1);
            assert_detected(&c, &originals, &s, &format!("swap {i}"));
        }
    }
}

#[test]
fn moving_an_fsed_packet_anywhere_is_detected() {
    for c in cases() {
        let (originals, stream) = setup(&c);
        for i in (0..stream.len()).filter(|i| is_fsed(&stream[*i])) {
            for j in 0..stream.len() {
                if j == i {
                    continue;
                }
                let mut s = stream.clone();
                let p = s.remove(i);
                s.insert(j, p);
                if s == stream {
                    continue;
                }
                assert_detected(&c, &originals, &s, &format!("move {i} to {j}"));
            }
        }
    }
}

#[test]
fn replayed_frame_is_rejected_and_releases_nothing() {
    for c in cases() {
        let (originals, stream) = setup(&c);
        let first_fe = stream
            .iter()
            .position(|p| p.len() == 4 && p[0] & 0x3F == 0x01)
            .unwrap();
        let mut s = stream.clone();
        s.extend_from_slice(&stream[..=first_fe]);
        let out = receive_all(&mut rx_for(&c), &s);
        assert_eq!(out.clean_frames(), usize::from(FRAMES));
        assert_eq!(out.accepted(), originals.clone());
        assert!(
            out.errors
                .iter()
                .any(|e| matches!(e, FsedError::Security(SecurityError::Replay { .. }))),
            "{:?}",
            out.errors
        );
    }
}

#[test]
fn lost_frame_is_reported_as_frame_loss() {
    let c = &cases()[2];
    let config = uniform(c.sv, c.suite, TagLen::L16, c.mode);
    let (mut tx, mut rx) = pair(config, c.suite);
    let mut stream = Vec::new();
    for f in 0..3u16 {
        let s = protect_all(&mut tx, &frame(&Shape::SMALL, f + 1, 0));
        if f != 1 {
            stream.extend(s);
        }
    }
    let out = receive_all(&mut rx, &stream);
    assert!(out.errors.is_empty());
    assert!(
        out.events
            .iter()
            .any(|e| matches!(e, Event::Fusa(FusaError::FrameLoss { lost: 1, .. })))
    );
    assert_eq!(out.clean_frames(), 2);
}

#[test]
fn sv_downgrade_below_policy_is_refused() {
    let suite = CipherSuite::Aes256Gmac;
    let mut policy = Policy::PERMISSIVE;
    policy.min_image = SvLevel::Sv2;
    let sent = uniform(
        SecurityVariant::NoSecurity,
        suite,
        TagLen::L16,
        TagMode::PerFrame,
    );
    let (mut tx, _) = pair(sent, suite);
    let (_, mut rx) = pair_with_policy(
        uniform(
            SecurityVariant::FullIntegrity,
            suite,
            TagLen::L16,
            TagMode::PerFrame,
        ),
        suite,
        policy,
    );
    let stream = protect_all(&mut tx, &frame(&Shape::SMALL, 1, 0));
    let out = receive_all(&mut rx, &stream);
    assert!(out.errors.iter().any(|e| matches!(
        e,
        FsedError::Security(SecurityError::Downgrade(d)) if d.block == Block::Image
    )));
    assert_eq!(out.clean_frames(), 0);
    assert!(out.accepted().is_empty());
}

#[test]
fn header_rewritten_to_a_weaker_sv_fails_every_tag() {
    // SV-2 -> SV-3 stride 2 in the frame header, CRCs fixed: the policy allows SV-3, the tags
    // (which cover the header and bind the SV in the context block) do not.
    let c = Case {
        sv: SecurityVariant::FullIntegrity,
        suite: CipherSuite::Aes256Gmac,
        mode: TagMode::PerFrame,
    };
    let (originals, stream) = setup(&c);
    let i = stream.iter().position(|p| is_fsed(p)).unwrap();
    let mut s = stream.clone();
    // Image block config starts at FSED payload offset 20 (packet offset 24).
    s[i][24] = 3;
    s[i][28] = 2;
    fix_crcs(&mut s[i]);
    assert_detected(&c, &originals, &s, "header downgrade");
}

#[test]
fn key_rollover_is_reported() {
    let suite = CipherSuite::Aes128Cmac;
    let config = uniform(
        SecurityVariant::FullIntegrity,
        suite,
        TagLen::L16,
        TagMode::PerDataType,
    );
    let (mut tx, mut rx) = pair(config, suite);
    let next = KeyId::new(1).unwrap();
    tx.install_key(next, material(suite, 0x77)).unwrap();
    rx.install_key(next, material(suite, 0x77)).unwrap();
    let mut stream = protect_all(&mut tx, &frame(&Shape::SMALL, 1, 0));
    tx.set_config(cse_core::FrameConfig {
        key_id: next,
        ..config
    })
    .unwrap();
    stream.extend(protect_all(&mut tx, &frame(&Shape::SMALL, 2, 0)));
    let out = receive_all(&mut rx, &stream);
    assert!(out.errors.is_empty(), "{:?}", out.errors);
    assert_eq!(out.clean_frames(), 2);
    assert!(out.events.contains(&Event::KeyRollover {
        from: KeyId::default(),
        to: next
    }));
}

#[test]
fn silence_is_reported_as_timeout() {
    let c = &cases()[2];
    let (_, stream) = setup(c);
    let mut rx = rx_for(c);
    let _ = receive_all(&mut rx, &stream[..3]);
    assert!(rx.poll_event(10).is_none());
    assert!(matches!(
        rx.poll_event(5000),
        Some(Event::Fusa(FusaError::Timeout { .. }))
    ));
}

#[test]
fn sv1_ciphertext_cannot_be_decrypted_with_a_proof_of_another_scope() {
    let c = Case {
        sv: SecurityVariant::FullIntegrityEncrypted,
        suite: CipherSuite::Aes256Gcm,
        mode: TagMode::PerDataType,
    };
    let (_, stream) = setup(&c);
    let mut rx = rx_for(&c);
    let mut tickets = Vec::new();
    let mut proofs = Vec::new();
    for (t, p) in stream.iter().enumerate() {
        match rx.receive(p, t as u64) {
            Ok(cse_fsed::Delivery::Unverified(u)) if u.is_encrypted() => tickets.push((
                u.decrypt_ticket(),
                u.unverified_packet().to_vec(),
                u.scope(),
            )),
            Ok(cse_fsed::Delivery::ScopeVerified(pr)) => proofs.push(pr),
            _ => {}
        }
        while rx.poll_event(t as u64).is_some() {}
    }
    let mut mismatches = 0;
    for (ticket, bytes, scope) in &tickets {
        for pr in &proofs {
            let mut b = bytes.clone();
            let r = rx.decrypt(pr, ticket, &mut b);
            if pr.scope() != *scope {
                assert_eq!(r, Err(FsedError::ProofMismatch));
                assert_eq!(&b, bytes);
                mismatches += 1;
            }
        }
    }
    assert!(mismatches > 0);
}

/// `Receiver::decrypt` checks the ciphertext's CRC-16 in the pass that decrypts it (one pass
/// on VAES-512 from 64 payload bytes, three passes below or elsewhere: line lengths on both
/// sides of that): the genuine packet comes out as the original, byte for byte (plaintext
/// CRC-16 written); a copy with a payload bit or a CRC-16 bit changed is refused with the CRC
/// error and left exactly as it was given (no plaintext of it comes out), and the genuine
/// packet still decrypts afterwards.
#[test]
fn sv1_decrypt_checks_the_crc_in_its_pass_and_leaves_a_changed_packet_as_given() {
    for suite in [CipherSuite::Aes256Gcm, CipherSuite::Aes128CtrCmac] {
        for line_len in [48, 63, 64, 1000, 5761] {
            let c = Case {
                sv: SecurityVariant::FullIntegrityEncrypted,
                suite,
                mode: TagMode::PerFrame,
            };
            let shape = Shape {
                line_len,
                ..Shape::SMALL
            };
            let config = uniform(c.sv, c.suite, TagLen::L16, c.mode);
            let (mut tx, mut rx) = pair(config, c.suite);
            let originals = frame(&shape, 1, 3);
            let stream = protect_all(&mut tx, &originals);
            let mut held = Vec::new();
            let mut proofs = Vec::new();
            for (t, p) in stream.iter().enumerate() {
                match rx.receive(p, t as u64).unwrap() {
                    cse_fsed::Delivery::Unverified(u) if u.is_encrypted() => held.push((
                        u.decrypt_ticket(),
                        u.unverified_packet().to_vec(),
                        u.info().message_index,
                        u.scope(),
                    )),
                    cse_fsed::Delivery::ScopeVerified(pr) => proofs.push(pr),
                    _ => {}
                }
            }
            let what = format!("{suite:?} line {line_len}");
            let long: Vec<_> = held.iter().filter(|h| h.1.len() > 4).collect();
            assert!(long.iter().any(|h| h.1.len() == line_len + 6), "{what}");
            for (ticket, bytes, index, scope) in long {
                let proof = proofs.iter().find(|p| p.scope() == *scope).unwrap();
                let n = bytes.len();
                for at in [4, 4 + (n - 6) / 2, n - 3, n - 2, n - 1] {
                    let mut changed = bytes.clone();
                    changed[at] ^= 0x20;
                    let payload = &changed[4..n - 2];
                    let want = FsedError::from(csi2::Error::CrcMismatch {
                        computed: cse_core::crc::crc16_mcrf4xx(payload),
                        received: u16::from_le_bytes([changed[n - 2], changed[n - 1]]),
                    });
                    let mut b = changed.clone();
                    assert_eq!(
                        rx.decrypt(proof, ticket, &mut b),
                        Err(want),
                        "{what} byte {at}"
                    );
                    assert_eq!(b, changed, "{what} byte {at}: buffer changed");
                }
                let mut b = bytes.clone();
                rx.decrypt(proof, ticket, &mut b).unwrap();
                assert_eq!(&b, &originals[*index as usize], "{what} index {index}");
            }
        }
    }
}

#[test]
fn per_message_mode_is_refused() {
    let suite = CipherSuite::Aes256Gmac;
    let config = uniform(
        SecurityVariant::FullIntegrity,
        suite,
        TagLen::L16,
        TagMode::PerMessage,
    );
    let mut tx = cse_fsed::Transmitter::new(cse_fsed::Settings::new(vc()), 0);
    assert_eq!(tx.set_config(config), Err(FsedError::PerMessageUnsupported));
}

/// One tampered image line fails the record of its scope, and that record only: the records
/// after it (the other scopes of the frame, the bottom block, the frame seal) still verify and
/// their packets are released, so one corrupted line does not take the rest of the frame with
/// it. The failed scope is reported once, its packets are never released, and the frame is not
/// clean.
#[test]
fn a_failed_genuine_record_fails_its_scope_only() {
    for c in cases() {
        let (originals, stream) = setup(&c);
        let is_fe = |p: &Vec<u8>| p.len() == 4 && p[0] & 0x3F == 0x01;
        let first_fe = stream.iter().position(is_fe).unwrap();
        // The first image line: the first long original packet that is not embedded data.
        let at = stream
            .iter()
            .position(|p| p.len() > 4 && !is_fsed(p) && p[0] & 0x3F != 0x12)
            .unwrap();
        let records = |r: core::ops::Range<usize>| {
            r.filter(|&i| is_fsed(&stream[i]) && stream[i][5] == 0x02)
                .count()
        };
        let later = records(at..first_fe);
        let all = records(0..stream.len());
        assert!(later >= 2, "{later}");
        let mut s = stream.clone();
        s[at][4] ^= 0x01;
        fix_crcs(&mut s[at]);
        let out = receive_all(&mut rx_for(&c), &s);
        assert_eq!(out.proofs, all - 1, "{:?} {:?}", c.sv, c.mode);
        assert_eq!(out.errors.len(), 1, "{:?}", out.errors);
        assert!(matches!(out.errors[0], FsedError::ScopeFailed(_)));
        let reported = out
            .events
            .iter()
            .filter(|e| matches!(e, Event::ScopeFailed(_)))
            .count();
        assert_eq!(reported, 1, "{:?} {:?}", c.sv, c.mode);
        assert_eq!(out.clean_frames(), usize::from(FRAMES) - 1);
        // Released: every original packet of frame 1 outside the image block (FS, top and
        // bottom blocks, FE) and all of frame 2; never the tampered line (its original is
        // the first image line of frame 1).
        let fe1 = originals.iter().position(is_fe).unwrap();
        let line1 = originals
            .iter()
            .position(|p| p.len() > 4 && p[0] & 0x3F != 0x12)
            .unwrap();
        let bottom1 = line1
            + originals[line1..]
                .iter()
                .position(|p| p.len() > 4 && p[0] & 0x3F == 0x12)
                .unwrap();
        assert!(bottom1 < fe1);
        let accepted = out.accepted();
        let released: HashSet<&Vec<u8>> = accepted.iter().collect();
        let known: HashSet<&Vec<u8>> = originals.iter().collect();
        assert!(released.iter().all(|p| known.contains(p)));
        for (i, p) in originals.iter().enumerate() {
            let image1 = (line1..bottom1).contains(&i);
            if !image1 {
                assert!(
                    released.contains(p),
                    "{:?} {:?}: packet {i} held back",
                    c.sv,
                    c.mode
                );
            }
        }
        let tampered_original = &originals[line1];
        let copies = originals.iter().filter(|p| *p == tampered_original).count();
        let out_copies = accepted.iter().filter(|p| *p == tampered_original).count();
        assert!(
            out_copies < copies,
            "{:?} {:?}: the tampered line came out",
            c.sv,
            c.mode
        );
    }
}
