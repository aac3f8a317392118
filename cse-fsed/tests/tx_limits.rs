//! Transmitter limits: scope MAC-input length (NIST SP 800-38D Appendix C row of the key),
//! message index space, MAC algorithm pinned per key, soft limits (rekey vs. restart). Every
//! refusal is checked for what stays unchanged: the packet untouched (no in-place encryption),
//! nothing written, no frame state moved (the frame still ends and verifies at a receiver).
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use common::*;
use cse_core::csi2::{DataType, Emitter, HeaderForm};
use cse_core::keys::UsageStatus;
use cse_core::{
    CipherSuite, FrameConfig, KeyId, Policy, SecurityError, SecurityVariant, TagLen, TagMode,
};
use cse_fsed::tx::MAX_INSERTED_LEN;
use cse_fsed::{Event, FsedError, KeyMaterial, Receiver, Settings, Transmitter, wire};

const SENTINEL: u8 = 0xEE;

fn fs(n: u16) -> Vec<u8> {
    let mut b = vec![0; 4];
    Emitter::new(&mut b, HeaderForm::Dphy)
        .frame_start(vc(), n)
        .unwrap();
    b
}

fn fe(n: u16) -> Vec<u8> {
    let mut b = vec![0; 4];
    Emitter::new(&mut b, HeaderForm::Dphy)
        .frame_end(vc(), n)
        .unwrap();
    b
}

fn line(len: usize, seed: u8) -> Vec<u8> {
    let payload: Vec<u8> = (0..len).map(|i| (i as u8).wrapping_mul(7) ^ seed).collect();
    let mut b = vec![0; len + 6];
    Emitter::new(&mut b, HeaderForm::Dphy)
        .long(vc(), DataType::RAW12, &payload)
        .unwrap();
    b
}

/// Everything observable about a transmitter from outside.
fn snapshot(tx: &Transmitter) -> (u32, bool, String) {
    (tx.next_frame_counter(), tx.in_frame(), format!("{tx:?}"))
}

/// Protects `p` in place, appending the transmitted packets to `stream`.
fn send(tx: &mut Transmitter, p: &[u8], stream: &mut Vec<Vec<u8>>) -> UsageStatus {
    let mut pkt = p.to_vec();
    let mut buf = vec![SENTINEL; MAX_INSERTED_LEN];
    let ins = tx.protect(&mut pkt, &mut buf).unwrap();
    split_into(ins.before(&buf), stream);
    stream.push(pkt);
    split_into(ins.after(&buf), stream);
    ins.usage
}

/// Tries to protect `p`: on success appends to `stream`; on refusal checks that nothing was
/// written, the packet is untouched and no observable state moved.
fn try_send(tx: &mut Transmitter, p: &[u8], stream: &mut Vec<Vec<u8>>) -> Result<(), FsedError> {
    let before = snapshot(tx);
    let mut pkt = p.to_vec();
    let mut buf = vec![SENTINEL; MAX_INSERTED_LEN];
    match tx.protect(&mut pkt, &mut buf) {
        Ok(ins) => {
            split_into(ins.before(&buf), stream);
            stream.push(pkt);
            split_into(ins.after(&buf), stream);
            Ok(())
        }
        Err(e) => {
            assert_eq!(pkt, p, "packet changed");
            assert!(buf.iter().all(|b| *b == SENTINEL), "bytes written");
            assert_eq!(snapshot(tx), before);
            Err(e)
        }
    }
}

/// The tag records of a stream.
fn records(stream: &[Vec<u8>]) -> Vec<wire::TagRecord> {
    stream
        .iter()
        .filter(|p| is_fsed(p))
        .filter_map(|p| {
            let w = wire::Packet::new_checked(&p[4..p.len() - 2]).unwrap();
            match wire::Repr::parse(&w, &cse_core::Profile::DRAFT_1).unwrap() {
                wire::Repr::TagRecord(r) => Some(r),
                _ => None,
            }
        })
        .collect()
}

fn pair_with(
    settings: Settings,
    config: FrameConfig,
    key: impl Fn() -> KeyMaterial,
) -> (Transmitter, Receiver) {
    let mut tx = Transmitter::new(settings, 7);
    tx.install_key(config.key_id, key()).unwrap();
    tx.set_config(config).unwrap();
    let mut rx = Receiver::new(settings, Policy::PERMISSIVE, 1000);
    rx.install_key(config.key_id, key()).unwrap();
    (tx, rx)
}

/// Settings whose profile bounds one message by 2048 bytes, so 8-byte-tag keys get the first
/// row of SP 800-38D Table 2 (2^15 bytes) unless a longer MAC input is declared.
fn small_settings() -> Settings {
    let mut s = Settings::new(vc());
    s.profile.max_message_len = 2048;
    s
}

#[test]
fn whole_frame_scopes_take_their_row_from_the_declared_frame_size() {
    // Per-frame scope MAC input: context block (32), the frame header packet (prefix 4 + 40),
    // per line message index (4) + prefix (4) + payload, and the tag record (prefix 4 + 32),
    // reserved from the start. Undeclared, the key's row is 2^15 bytes; declared as 100 000
    // bytes, 2^17. SV-1, so a refused line would show if it had been encrypted.
    let suite = CipherSuite::Aes128Gcm;
    let cfg = uniform(
        SecurityVariant::FullIntegrityEncrypted,
        suite,
        TagLen::L8,
        TagMode::PerFrame,
    );
    let len = 8000;
    let per_line = (4 + 4 + len) as u64;
    for (declared, max) in [(None, 1u64 << 15), (Some(100_000u64), 1 << 17)] {
        let key = || match declared {
            Some(d) => material(suite, 4).with_max_mac_input(d),
            None => material(suite, 4),
        };
        let (mut tx, mut rx) = pair_with(small_settings(), cfg, key);
        let mut stream = Vec::new();
        let _ = send(&mut tx, &fs(1), &mut stream);
        let mut taken = 0u64;
        let err = loop {
            match try_send(&mut tx, &line(len, taken as u8), &mut stream) {
                Ok(()) => taken += 1,
                Err(e) => break e,
            }
            assert!(taken < 64, "never refused");
        };
        let expected = (max - 76 - 36) / per_line;
        assert_eq!(taken, expected, "declared {declared:?}");
        assert_eq!(
            err,
            FsedError::Security(SecurityError::LimitExceeded {
                len: 76 + (expected + 1) * per_line + 36,
                max,
            })
        );
        // Refused again: nothing moved.
        assert_eq!(try_send(&mut tx, &line(len, 99), &mut Vec::new()), Err(err));
        // The scope is intact: FE closes it over the lines it took, and the receiver verifies
        // and decrypts them all.
        let _ = send(&mut tx, &fe(1), &mut stream);
        let r = records(&stream);
        assert_eq!(r.len(), 1);
        assert_eq!(u64::from(r[0].covered_packets), taken);
        assert_eq!(u64::from(r[0].end_index), 1 + taken);
        let o = receive_all(&mut rx, &stream);
        assert!(o.errors.is_empty(), "{:?}", o.errors);
        assert!(o.pending.is_empty());
        assert_eq!(o.clean_frames(), 1);
        let lines: Vec<_> = (0..taken).map(|n| line(len, n as u8)).collect();
        let got: Vec<_> = o.accepted().into_iter().filter(|p| p.len() > 6).collect();
        assert_eq!(got, lines);
    }
}

#[test]
fn the_last_original_packet_of_a_frame_has_index_u32_max_minus_1() {
    let suite = CipherSuite::Aes128Gcm;
    let cfg = uniform(
        SecurityVariant::FullIntegrityEncrypted,
        suite,
        TagLen::L16,
        TagMode::PerFrame,
    );
    let (mut tx, _) = pair_with(Settings::new(vc()), cfg, || material(suite, 6));
    let mut stream = Vec::new();
    let _ = send(&mut tx, &fs(1), &mut stream);
    let _ = send(&mut tx, &line(16, 0), &mut stream);
    tx.set_next_message_index(u32::MAX - 2).unwrap();
    // The hook never moves the index back.
    assert_eq!(
        tx.set_next_message_index(u32::MAX - 3),
        Err(FsedError::UnexpectedPacket)
    );
    try_send(&mut tx, &line(16, 1), &mut stream).unwrap();
    try_send(&mut tx, &line(16, 2), &mut stream).unwrap();
    // Index u32::MAX would leave no end index for the tag record: refused, twice.
    for _ in 0..2 {
        assert_eq!(
            try_send(&mut tx, &line(16, 3), &mut stream),
            Err(FsedError::MessageIndexExhausted)
        );
    }
    // FE takes no index and ends the frame; the record covers the packets it took.
    let _ = send(&mut tx, &fe(1), &mut stream);
    let r = records(&stream);
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].first_index, 1);
    assert_eq!(r[0].end_index, u32::MAX);
    assert_eq!(r[0].covered_packets, 3);
    assert!(r[0].last);
    // The next frame starts with the next frame counter and index 1 for its first packet.
    assert!(!tx.in_frame());
    assert_eq!(tx.next_frame_counter(), 8);
    let mut next = Vec::new();
    let _ = send(&mut tx, &fs(2), &mut next);
    let _ = send(&mut tx, &line(16, 4), &mut next);
    let _ = send(&mut tx, &fe(2), &mut next);
    let r = records(&next);
    assert_eq!(
        (r[0].frame_counter, r[0].first_index, r[0].end_index),
        (8, 1, 2)
    );
}

fn mac_config(suite: CipherSuite) -> FrameConfig {
    uniform(
        SecurityVariant::FullIntegrity,
        suite,
        TagLen::L16,
        TagMode::PerFrame,
    )
}

#[test]
fn a_key_is_pinned_to_the_mac_algorithm_of_its_first_frame() {
    // One material with a key and a MAC key can serve both families; the key id may not.
    let key = || material(CipherSuite::Aes128Cmac, 9);
    let gmac = mac_config(CipherSuite::Aes128Gmac);
    let cmac = mac_config(CipherSuite::Aes128Cmac);
    let mut tx = Transmitter::new(Settings::new(vc()), 1);
    tx.install_key(KeyId::default(), key()).unwrap();
    // Before its first use the key is not pinned: the configuration may change family.
    tx.set_config(cmac).unwrap();
    tx.set_config(gmac).unwrap();
    // SV-5 frames use no MAC and pin nothing.
    let none = uniform(
        SecurityVariant::NoSecurity,
        CipherSuite::Aes128Cmac,
        TagLen::L16,
        TagMode::PerFrame,
    );
    tx.set_config(none).unwrap();
    let mut sink = Vec::new();
    let _ = send(&mut tx, &fs(1), &mut sink);
    let _ = send(&mut tx, &fe(1), &mut sink);
    tx.set_config(gmac).unwrap();
    let _ = send(&mut tx, &fs(2), &mut sink);
    // Pinned to GMAC at that FS: CMAC is refused, inside the frame and after it.
    assert_eq!(tx.set_config(cmac), Err(FsedError::MixedKeyFamilies));
    let _ = send(&mut tx, &fe(2), &mut sink);
    assert_eq!(tx.set_config(cmac), Err(FsedError::MixedKeyFamilies));
    // The configuration in effect is still GMAC: the next frame verifies at a GMAC receiver.
    let mut rx = Receiver::new(Settings::new(vc()), Policy::PERMISSIVE, 1000);
    rx.install_key(KeyId::default(), key()).unwrap();
    let mut stream = Vec::new();
    let _ = send(&mut tx, &fs(3), &mut stream);
    let _ = send(&mut tx, &line(32, 3), &mut stream);
    let _ = send(&mut tx, &fe(3), &mut stream);
    let o = receive_all(&mut rx, &stream);
    assert!(o.errors.is_empty(), "{:?}", o.errors);
    assert_eq!(o.clean_frames(), 1);
    let started = o.events.iter().find_map(|e| match e {
        Event::FrameStart { config, .. } => Some(config.image.suite),
        _ => None,
    });
    assert_eq!(started, Some(CipherSuite::Aes128Gmac));
    // A new key id (a new key) starts unpinned.
    tx.install_key(KeyId::new(1).unwrap(), key()).unwrap();
    tx.set_config(FrameConfig {
        key_id: KeyId::new(1).unwrap(),
        ..cmac
    })
    .unwrap();
}

#[test]
fn frame_counter_soft_limit_asks_for_a_restart_and_the_hard_limit_refuses() {
    let suite = CipherSuite::Aes128Gmac;
    let cfg = mac_config(suite);
    let at = |fc: u32| {
        let mut tx = Transmitter::new(Settings::new(vc()), fc);
        tx.install_key(KeyId::default(), material(suite, 2))
            .unwrap();
        tx.set_config(cfg).unwrap();
        tx
    };
    let mut sink = Vec::new();
    let mut tx = at(0xC000_0000 - 1);
    assert_eq!(send(&mut tx, &fs(1), &mut sink), UsageStatus::Ok);
    assert_eq!(send(&mut tx, &line(8, 0), &mut sink), UsageStatus::Ok);
    // The tag record is counted and reports the key's status.
    assert_eq!(send(&mut tx, &fe(1), &mut sink), UsageStatus::Ok);
    // From the soft limit on, every call that touches the key reports it (a restart, not a
    // rekey): the frame start and the tag records.
    assert_eq!(send(&mut tx, &fs(2), &mut sink), UsageStatus::NeedsRestart);
    let _ = send(&mut tx, &line(8, 0), &mut sink);
    assert_eq!(send(&mut tx, &fe(2), &mut sink), UsageStatus::NeedsRestart);
    // Frame counter u32::MAX - 1 is the last one; u32::MAX is refused, and stays refused.
    let mut tx = at(u32::MAX - 1);
    let _ = send(&mut tx, &fs(1), &mut sink);
    let _ = send(&mut tx, &fe(1), &mut sink);
    assert_eq!(tx.next_frame_counter(), u32::MAX);
    for _ in 0..2 {
        assert_eq!(
            try_send(&mut tx, &fs(2), &mut sink),
            Err(FsedError::Security(SecurityError::KeyExhausted))
        );
    }
}

#[test]
fn every_tag_record_counts_against_the_invocation_soft_limit() {
    let suite = CipherSuite::Aes128Gmac;
    let mut settings = Settings::new(vc());
    settings.profile.soft_limit_percent = 0;
    let mut tx = Transmitter::new(settings, 1);
    tx.install_key(KeyId::default(), material(suite, 2))
        .unwrap();
    tx.set_config(mac_config(suite)).unwrap();
    let mut sink = Vec::new();
    // The frame start computes no tag; SV-2 lines neither; the frame's tag record does.
    assert_eq!(send(&mut tx, &fs(1), &mut sink), UsageStatus::Ok);
    assert_eq!(send(&mut tx, &line(8, 0), &mut sink), UsageStatus::Ok);
    let mut pkt = fe(1);
    let mut buf = vec![0; MAX_INSERTED_LEN];
    let ins = tx.protect(&mut pkt, &mut buf).unwrap();
    assert!(ins.needs_rekey() && !ins.needs_restart());
}

/// A packet whose CRC-16 does not match its payload (a payload bit or a footer bit changed) is
/// refused with the CRC error, after the other checks and before anything moves: under SV-1
/// the transmitter checks the CRC in the pass that encrypts the payload (from 64 bytes on
/// VAES-512) and applies the keystream again on a mismatch. The packet is left byte for byte as
/// given, nothing is written, and the frame goes on exactly as if the packet had never been
/// offered (the same stream as a transmitter that never saw it, which a receiver verifies).
#[test]
fn a_packet_with_a_bad_crc_is_refused_and_leaves_everything_as_it_was() {
    let cases = [
        (
            SecurityVariant::FullIntegrityEncrypted,
            CipherSuite::Aes256Gcm,
        ),
        (
            SecurityVariant::FullIntegrityEncrypted,
            CipherSuite::Aes128CtrCmac,
        ),
        (SecurityVariant::FullIntegrity, CipherSuite::Aes128Gmac),
        (SecurityVariant::FullIntegrity, CipherSuite::Aes128Cmac),
    ];
    for (sv, suite) in cases {
        for len in [48, 100, 5761] {
            let config = uniform(sv, suite, TagLen::L16, TagMode::PerFrame);
            let what = format!("{sv:?} {suite:?} line {len}");
            let frame: Vec<Vec<u8>> = vec![fs(1), line(len, 1), line(len, 2), fe(1)];
            let (mut clean_tx, mut rx) = pair(config, suite);
            let want = protect_all(&mut clean_tx, &frame);
            for at in [4, 4 + len / 2, len + 4, len + 5] {
                let (mut tx, _) = pair(config, suite);
                let mut stream = Vec::new();
                let mut out = vec![SENTINEL; MAX_INSERTED_LEN];
                for (k, p) in frame.iter().enumerate() {
                    if k == 2 {
                        let mut bad = p.clone();
                        bad[at] ^= 0x04;
                        let given = bad.clone();
                        let n = bad.len();
                        let computed = cse_core::crc::crc16_mcrf4xx(&bad[4..n - 2]);
                        let received = u16::from_le_bytes([bad[n - 2], bad[n - 1]]);
                        let r = tx.protect(&mut bad, &mut out);
                        assert_eq!(
                            r,
                            Err(FsedError::from(cse_core::csi2::Error::CrcMismatch {
                                computed,
                                received
                            })),
                            "{what} byte {at}"
                        );
                        assert_eq!(bad, given, "{what} byte {at}: packet changed");
                        assert!(out.iter().all(|&b| b == SENTINEL), "{what}: written");
                    }
                    let mut q = p.clone();
                    let ins = tx.protect(&mut q, &mut out).unwrap();
                    split_into(ins.before(&out), &mut stream);
                    stream.push(q);
                    split_into(ins.after(&out), &mut stream);
                    out.fill(SENTINEL);
                }
                assert_eq!(stream, want, "{what} byte {at}: the frame differs");
            }
            let got = receive_all(&mut rx, &want);
            assert!(got.errors.is_empty(), "{what}: {:?}", got.errors);
            assert_eq!(got.clean_frames(), 1, "{what}");
        }
    }
}

/// The transmitter keeps its frame keys expanded from frame to frame while the key id and the
/// configuration stay the same, and expands them again after `clear_keys` (a new session): a
/// new key under the same id with the same configuration protects the next frame with the new
/// key (a receiver holding only the new key verifies it; with the old key it fails).
#[test]
fn frame_keys_are_expanded_again_after_clear_keys() {
    let suite = CipherSuite::Aes256Gcm;
    let sv = SecurityVariant::FullIntegrityEncrypted;
    let config = uniform(sv, suite, TagLen::L16, TagMode::PerFrame);
    let (mut tx, mut rx_old) = pair(config, suite);
    let f1 = protect_all(&mut tx, &frame(&Shape::SMALL, 1, 1));
    let f2 = protect_all(&mut tx, &frame(&Shape::SMALL, 2, 2));
    let out = receive_all(&mut rx_old, &[f1, f2].concat());
    assert!(out.errors.is_empty() && out.clean_frames() == 2);
    tx.clear_keys();
    tx.install_key(KeyId::default(), material(suite, 0x31))
        .unwrap();
    tx.set_config(config).unwrap();
    let f3 = protect_all(&mut tx, &frame(&Shape::SMALL, 3, 3));
    let mut rx_new = Receiver::new(Settings::new(vc()), Policy::PERMISSIVE, 1_000);
    rx_new
        .install_key(KeyId::default(), material(suite, 0x31))
        .unwrap();
    let out = receive_all(&mut rx_new, &f3);
    assert!(out.errors.is_empty(), "{:?}", out.errors);
    assert_eq!(out.clean_frames(), 1);
    let out = receive_all(&mut rx_old, &f3);
    assert_eq!(out.clean_frames(), 0);
    assert!(
        out.accepted().iter().all(|p| p.len() <= 4),
        "a line released under the old key"
    );
}
