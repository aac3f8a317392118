//! Negative tests: every flipped bit, replays, reordering, another device address, truncation,
//! kind confusion and counter exhaustion are rejected, and a rejected write changes no register
//! (checked on the simulated register map).
#![allow(clippy::unwrap_used)]

mod common;

use ccise::wire::{self, MAX_FRAME_LEN};
use ccise::{AccessError, Config, Controller, Error, FILLER, StatusCode, Target, WireError};
use common::{SUITES, keys, pair, sensor};
use cse_core::{CipherSuite, SecurityError, TagLen};

const AUTH: Error = Error::Security(SecurityError::AuthFailed);

fn cfgs() -> impl Iterator<Item = (CipherSuite, Config)> {
    SUITES.into_iter().flat_map(|suite| {
        [TagLen::L16, TagLen::L8].into_iter().map(move |t| {
            (
                suite,
                Config::new(0x36)
                    .with_tag_len(t)
                    .with_encrypted_reads(suite.encrypts()),
            )
        })
    })
}

#[test]
fn every_flipped_bit_of_a_write_is_rejected_and_changes_nothing() {
    for (suite, cfg) in cfgs() {
        for n in [1usize, 4, 32] {
            let (mut ctrl, mut tgt) = pair(suite, cfg);
            let mut map = sensor();
            let before = map.clone();
            let mut frame = [0u8; MAX_FRAME_LEN];
            let data: Vec<u8> = (0..n as u8).map(|i| i ^ 0x5A).collect();
            let len = ctrl.seal_write(0x0120, &data, &mut frame).unwrap().len;
            let genuine = frame[..len].to_vec();
            for bit in 0..len * 8 {
                let mut bad = genuine.clone();
                bad[bit / 8] ^= 1 << (bit % 8);
                let r = tgt.handle_write(&bad, &mut map);
                assert_eq!(r.map(|_| ()), Err(AUTH), "{suite} n={n} bit {bit}");
                assert_eq!(map, before, "{suite} bit {bit} changed registers");
            }
            assert_eq!(tgt.status().failures, (len * 8) as u32);
            assert_eq!(tgt.status().last_error, StatusCode::AUTH_FAILED);
            // The genuine write still applies afterwards: failures moved no counter.
            let _ = tgt.handle_write(&genuine, &mut map).unwrap();
            assert_eq!(&map.registers()[0x120..0x120 + n], &data[..]);
        }
    }
}

#[test]
fn every_flipped_bit_of_a_read_request_is_rejected_before_any_register_is_read() {
    for (suite, cfg) in cfgs() {
        let (mut ctrl, mut tgt) = pair(suite, cfg);
        let mut map = sensor();
        let mut frame = [0u8; MAX_FRAME_LEN];
        let (_pending, s) = ctrl.seal_read_request(0x0000, 4, &mut frame).unwrap();
        for bit in 0..s.len * 8 {
            let mut bad = frame[..s.len].to_vec();
            bad[bit / 8] ^= 1 << (bit % 8);
            let mut response = [0u8; MAX_FRAME_LEN];
            let r = tgt.handle_read(&bad, &mut map, &mut response);
            assert!(r.is_err(), "{suite} bit {bit}");
            assert!(response.iter().all(|b| *b == FILLER), "data leaked");
        }
        assert_eq!(tgt.last_counter(), None);
    }
}

#[test]
fn every_flipped_bit_of_a_response_is_rejected_and_the_output_wiped() {
    for (suite, cfg) in cfgs() {
        for n in [1u8, 4, 32] {
            let (mut ctrl, mut tgt) = pair(suite, cfg);
            let mut map = sensor();
            let mut frame = [0u8; MAX_FRAME_LEN];
            let mut response = [0u8; MAX_FRAME_LEN];
            let (p, s) = ctrl.seal_read_request(0x0000, n, &mut frame).unwrap();
            let a = tgt
                .handle_read(&frame[..s.len], &mut map, &mut response)
                .unwrap();
            let genuine = response[..a.response_len].to_vec();
            // A pending request opens at most one response, so each flip gets a fresh session
            // with the same keys (sealing is deterministic: same counters, same bytes).
            for bit in 0..genuine.len() * 8 {
                let mut c2 = Controller::new(cfg, keys(suite)).unwrap();
                let mut t2 = Target::new(cfg, keys(suite)).unwrap();
                let (p2, s2) = c2.seal_read_request(0x0000, n, &mut frame).unwrap();
                let a2 = t2
                    .handle_read(&frame[..s2.len], &mut map, &mut response)
                    .unwrap();
                let mut bad = response[..a2.response_len].to_vec();
                assert_eq!(
                    bad, genuine,
                    "deterministic under the same keys and counters"
                );
                bad[bit / 8] ^= 1 << (bit % 8);
                let mut out = vec![0xEEu8; usize::from(n)];
                assert_eq!(c2.open_read_response(p2, &bad, &mut out), Err(AUTH));
                assert!(
                    out.iter().all(|b| *b == 0),
                    "{suite} bit {bit}: output not wiped"
                );
                assert_eq!(c2.last_response_counter(), None);
            }
            let mut out = vec![0u8; usize::from(n)];
            assert!(ctrl.open_read_response(p, &genuine, &mut out).is_ok());
        }
    }
}

#[test]
fn replayed_write_is_rejected() {
    let (mut ctrl, mut tgt) = pair(CipherSuite::Aes128Cmac, Config::new(0x36));
    let mut map = sensor();
    let mut frame = [0u8; MAX_FRAME_LEN];
    let s = ctrl.seal_write(0x0100, &[0x11], &mut frame).unwrap();
    let _ = tgt.handle_write(&frame[..s.len], &mut map).unwrap();
    // The sensor changes the register itself; a replay must not restore the old value.
    map.poke(0x0100, 0x22).unwrap();
    let before = map.clone();
    let r = tgt.handle_write(&frame[..s.len], &mut map);
    assert!(matches!(
        r,
        Err(Error::Security(SecurityError::Replay { .. }))
    ));
    assert_eq!(map, before);
    assert_eq!(tgt.status().last_error, StatusCode::REPLAY);
}

#[test]
fn reordered_transactions_are_rejected() {
    let (mut ctrl, mut tgt) = pair(CipherSuite::Aes256Gmac, Config::new(0x36));
    let mut map = sensor();
    let mut a = [0u8; MAX_FRAME_LEN];
    let mut b = [0u8; MAX_FRAME_LEN];
    let sa = ctrl.seal_write(0x0100, &[0xAA], &mut a).unwrap();
    let sb = ctrl.seal_write(0x0100, &[0xBB], &mut b).unwrap();
    let _ = tgt.handle_write(&b[..sb.len], &mut map).unwrap();
    let before = map.clone();
    let r = tgt.handle_write(&a[..sa.len], &mut map);
    assert!(matches!(
        r,
        Err(Error::Security(SecurityError::Replay { .. }))
    ));
    assert_eq!(map, before);
    assert_eq!(map.peek(0x0100), Some(0xBB));
}

#[test]
fn replayed_misrouted_and_reordered_responses_are_rejected() {
    let (mut ctrl, mut tgt) = pair(CipherSuite::Aes128Cmac, Config::new(0x36));
    let mut map = sensor();
    let mut frame = [0u8; MAX_FRAME_LEN];
    let mut r1 = [0u8; MAX_FRAME_LEN];
    let mut r2 = [0u8; MAX_FRAME_LEN];
    let (p1, s) = ctrl.seal_read_request(0x0000, 2, &mut frame).unwrap();
    let a1 = tgt.handle_read(&frame[..s.len], &mut map, &mut r1).unwrap();
    let (p2, s) = ctrl.seal_read_request(0x0000, 2, &mut frame).unwrap();
    let a2 = tgt.handle_read(&frame[..s.len], &mut map, &mut r2).unwrap();
    let mut out = [0u8; 2];
    // Response 1 offered for request 2: it is bound to request 1's counter.
    assert_eq!(
        ctrl.open_read_response(p2, &r1[..a1.response_len], &mut out),
        Err(AUTH)
    );
    // Response 2 offered for a later request: bound to request 2, rejected too ...
    let (p3, _) = ctrl.seal_read_request(0x0000, 2, &mut frame).unwrap();
    assert_eq!(
        ctrl.open_read_response(p3, &r2[..a2.response_len], &mut out),
        Err(AUTH)
    );
    assert!(
        ctrl.open_read_response(p1, &r1[..a1.response_len], &mut out)
            .is_ok()
    );
    // ... response 1 opens for its own request, and once more it is a replay.
    let (p4, _) = ctrl.seal_read_request(0x0000, 2, &mut frame).unwrap();
    let r = ctrl.open_read_response(p4, &r1[..a1.response_len], &mut out);
    assert!(matches!(
        r,
        Err(Error::Security(SecurityError::Replay { .. }))
    ));
    assert_eq!(ctrl.last_response_counter(), Some(1));
}

#[test]
fn a_transaction_for_another_device_address_is_rejected() {
    // Both sensors share the keys (the worst case: a bridge re-addresses a transaction).
    for suite in SUITES {
        let mut ctrl = Controller::new(Config::new(0x10), keys(suite)).unwrap();
        let mut other = Target::new(Config::new(0x36), keys(suite)).unwrap();
        let mut map = sensor();
        let before = map.clone();
        let mut frame = [0u8; MAX_FRAME_LEN];
        let s = ctrl.seal_write(0x0100, &[1, 2, 3, 4], &mut frame).unwrap();
        assert_eq!(
            other.handle_write(&frame[..s.len], &mut map).map(|_| ()),
            Err(AUTH)
        );
        assert_eq!(map, before);
        let (_p, s) = ctrl.seal_read_request(0x0000, 4, &mut frame).unwrap();
        let mut response = [0u8; MAX_FRAME_LEN];
        assert_eq!(
            other
                .handle_read(&frame[..s.len], &mut map, &mut response)
                .map(|_| ()),
            Err(AUTH)
        );
        assert!(response.iter().all(|b| *b == FILLER));
    }
}

#[test]
fn every_truncation_is_rejected() {
    for (suite, cfg) in cfgs() {
        let (mut ctrl, mut tgt) = pair(suite, cfg);
        let mut map = sensor();
        let before = map.clone();
        let mut frame = [0u8; MAX_FRAME_LEN];
        let s = ctrl.seal_write(0x0100, &[9; 8], &mut frame).unwrap();
        for cut in 0..s.len {
            assert!(
                tgt.handle_write(&frame[..cut], &mut map).is_err(),
                "cut {cut}"
            );
            assert_eq!(map, before);
        }
        // Truncated read requests and responses.
        let (p, s) = ctrl.seal_read_request(0x0100, 8, &mut frame).unwrap();
        let mut response = [0u8; MAX_FRAME_LEN];
        for cut in 0..s.len {
            let r = tgt.handle_read(&frame[..cut], &mut map, &mut response);
            assert!(r.is_err(), "request cut {cut}");
        }
        let a = tgt
            .handle_read(&frame[..s.len], &mut map, &mut response)
            .unwrap();
        for cut in 0..a.response_len {
            let mut c2 = Controller::new(cfg, keys(suite)).unwrap();
            let (p2, _) = c2.seal_read_request(0x0100, 8, &mut [0u8; 64]).unwrap();
            let r = c2.open_read_response(p2, &response[..cut], &mut [0u8; 8]);
            assert_eq!(
                r,
                Err(Error::Wire(WireError::Truncated)),
                "response cut {cut}"
            );
        }
        assert!(
            ctrl.open_read_response(p, &response[..a.response_len], &mut [0u8; 8])
                .is_ok()
        );
    }
}

#[test]
fn a_one_byte_write_cannot_pass_as_a_read_request() {
    // Same length (7 + t); the kind in the MAC header tells them apart.
    let (mut ctrl, mut tgt) = pair(CipherSuite::Aes128Cmac, Config::new(0x36));
    let mut map = sensor();
    let mut frame = [0u8; MAX_FRAME_LEN];
    let s = ctrl.seal_write(0x0100, &[4], &mut frame).unwrap();
    assert_eq!(s.len, wire::read_request_len(TagLen::L16));
    let mut response = [0u8; MAX_FRAME_LEN];
    let r = tgt.handle_read(&frame[..s.len], &mut map, &mut response);
    assert_eq!(r.map(|_| ()), Err(AUTH));
    // And a request cannot pass as a write.
    let (_p, s) = ctrl.seal_read_request(0x0100, 4, &mut frame).unwrap();
    let before = map.clone();
    assert_eq!(
        tgt.handle_write(&frame[..s.len], &mut map).map(|_| ()),
        Err(AUTH)
    );
    assert_eq!(map, before);
}

#[test]
fn sessions_with_other_keys_tag_lengths_or_key_ids_do_not_interoperate() {
    let mut frame = [0u8; MAX_FRAME_LEN];
    let mut ctrl = Controller::new(Config::new(0x36), keys(CipherSuite::Aes128Cmac)).unwrap();
    let s = ctrl.seal_write(0x0100, &[1], &mut frame).unwrap();
    let others = [
        Target::new(Config::new(0x36), keys(CipherSuite::Aes256Cmac)).unwrap(),
        Target::new(
            Config::new(0x36).with_key_id(cse_core::KeyId::new(1).unwrap()),
            keys(CipherSuite::Aes128Cmac),
        )
        .unwrap(),
        Target::new(
            Config::new(0x36).with_tag_len(TagLen::L8),
            keys(CipherSuite::Aes128Cmac),
        )
        .unwrap(),
    ];
    for mut t in others {
        let mut map = sensor();
        assert!(t.handle_write(&frame[..s.len], &mut map).is_err());
        assert_eq!(map, sensor());
    }
}

#[test]
fn refused_access_applies_nothing_but_consumes_the_counter() {
    let (mut ctrl, mut tgt) = pair(CipherSuite::Aes128Cmac, Config::new(0x36));
    let mut map = sensor();
    let before = map.clone();
    let mut frame = [0u8; MAX_FRAME_LEN];
    // 0x000E..0x0012: two read-only then two read-write registers.
    let s = ctrl.seal_write(0x000E, &[1, 2, 3, 4], &mut frame).unwrap();
    let r = tgt.handle_write(&frame[..s.len], &mut map);
    assert_eq!(
        r.map(|_| ()),
        Err(Error::Access(AccessError::ReadOnly(0x000E)))
    );
    assert_eq!(map, before, "all or nothing");
    assert_eq!(tgt.last_counter(), Some(1));
    // The status block is read-only too.
    let s = ctrl
        .seal_write(wire::STATUS_REGISTER, &[0; 8], &mut frame)
        .unwrap();
    assert!(matches!(
        tgt.handle_write(&frame[..s.len], &mut map),
        Err(Error::Access(AccessError::ReadOnly(_)))
    ));
    // Write-only registers cannot be read.
    let (_p, s) = ctrl.seal_read_request(0x0200, 1, &mut frame).unwrap();
    let mut response = [0u8; MAX_FRAME_LEN];
    assert!(matches!(
        tgt.handle_read(&frame[..s.len], &mut map, &mut response),
        Err(Error::Access(AccessError::WriteOnly(0x0200)))
    ));
    assert_eq!(tgt.status().failures, 3);
    assert_eq!(tgt.status().last_error, StatusCode::ACCESS_DENIED);
}

#[test]
fn counter_exhaustion_refuses_and_asks_for_a_rekey_first() {
    let cfg = Config::new(0x36);
    let soft = cfg.profile.frame_counter_soft_limit;
    let mut ctrl = Controller::resume(cfg, keys(CipherSuite::Aes128Cmac), soft - 1).unwrap();
    let mut frame = [0u8; MAX_FRAME_LEN];
    assert!(
        !ctrl
            .seal_write(0x0100, &[1], &mut frame)
            .unwrap()
            .needs_rekey()
    );
    assert!(
        ctrl.seal_write(0x0100, &[1], &mut frame)
            .unwrap()
            .needs_rekey()
    );

    let mut ctrl = Controller::resume(cfg, keys(CipherSuite::Aes128Cmac), u32::MAX - 1).unwrap();
    let s = ctrl.seal_write(0x0100, &[1], &mut frame).unwrap();
    assert!(s.needs_rekey());
    let mut tgt = Target::new(cfg, keys(CipherSuite::Aes128Cmac)).unwrap();
    let mut map = sensor();
    let _ = tgt.handle_write(&frame[..s.len], &mut map).unwrap();
    // Counter u32::MAX is never used: the key refuses, and keeps refusing.
    let exhausted = Error::Security(SecurityError::KeyExhausted);
    frame.fill(0);
    assert_eq!(ctrl.seal_write(0x0100, &[1], &mut frame), Err(exhausted));
    assert!(frame.iter().all(|b| *b == 0), "nothing sealed");
    assert_eq!(
        ctrl.seal_read_request(0x0100, 1, &mut frame).map(|_| ()),
        Err(exhausted)
    );
}

#[test]
fn bad_configurations_are_refused() {
    assert_eq!(
        Controller::new(Config::new(0x80), keys(CipherSuite::Aes128Cmac)).map(|_| ()),
        Err(Error::Address(0x80))
    );
    assert!(
        Controller::new(
            Config::new(0x36).with_encrypted_reads(true),
            keys(CipherSuite::Aes128Cmac)
        )
        .is_err(),
        "encrypted reads need an encrypting suite"
    );
    assert!(
        Target::new(
            Config::new(0x36).with_tag_len(TagLen::hazmat_short_4()),
            keys(CipherSuite::Aes128Cmac)
        )
        .is_err()
    );
    assert!(
        ccise::SessionKeys::new(
            common::suite_key(CipherSuite::Aes128Cmac, 1),
            common::suite_key(CipherSuite::Aes128Gmac, 2),
            cse_core::keys::Salt::new([0; 12])
        )
        .is_err()
    );
    let mut ctrl = Controller::new(Config::new(0x36), keys(CipherSuite::Aes128Cmac)).unwrap();
    let mut frame = [0u8; MAX_FRAME_LEN];
    assert_eq!(
        ctrl.seal_write(0, &[], &mut frame),
        Err(Error::Wire(WireError::EmptyData))
    );
    assert_eq!(
        ctrl.seal_write(0, &[0; 256], &mut frame),
        Err(Error::Wire(WireError::TooLong))
    );
    assert!(matches!(
        ctrl.seal_write(0, &[0; 4], &mut [0u8; 25]),
        Err(Error::Wire(WireError::BufferTooSmall { needed: 26, .. }))
    ));
    assert_eq!(ctrl.next_counter(), 1, "failed seals consume no counter");
}
