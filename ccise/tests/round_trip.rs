//! Round trips: writes and reads of 1, 2, 4 and 32 bytes under every suite, tag lengths 16 and
//! 8, clear and encrypted reads, and the status register.
#![allow(clippy::unwrap_used)]

mod common;

use ccise::wire::{self, MAX_FRAME_LEN};
use ccise::{Config, Status, StatusCode};
use common::{SUITES, pair, sensor};
use cse_core::TagLen;

const SIZES: [usize; 4] = [1, 2, 4, 32];
const TAGS: [TagLen; 2] = [TagLen::L16, TagLen::L8];

fn pattern(n: usize, seed: u8) -> Vec<u8> {
    (0..n)
        .map(|i| seed.wrapping_mul(31).wrapping_add(i as u8 * 7))
        .collect()
}

#[test]
fn writes_then_reads_round_trip_for_every_suite_size_and_tag() {
    for suite in SUITES {
        for tag_len in TAGS {
            for encrypt in [false, true] {
                if encrypt && !suite.encrypts() {
                    continue;
                }
                let cfg = Config::new(0x36)
                    .with_tag_len(tag_len)
                    .with_encrypted_reads(encrypt);
                let (mut ctrl, mut tgt) = pair(suite, cfg);
                let mut map = sensor();
                for (k, n) in SIZES.into_iter().enumerate() {
                    let reg = 0x0100 + 0x40 * k as u16;
                    let data = pattern(n, k as u8 + 1);
                    let mut frame = [0u8; MAX_FRAME_LEN];
                    let sealed = ctrl.seal_write(reg, &data, &mut frame).unwrap();
                    assert_eq!(sealed.len, wire::write_len(n, tag_len));
                    assert!(!sealed.needs_rekey());
                    let accepted = tgt.handle_write(&frame[..sealed.len], &mut map).unwrap();
                    assert_eq!(accepted.response_len, 0);
                    let start = usize::from(reg);
                    assert_eq!(&map.registers()[start..start + n], &data[..], "{suite} {n}");

                    let (pending, sealed) =
                        ctrl.seal_read_request(reg, n as u8, &mut frame).unwrap();
                    assert_eq!(sealed.len, wire::read_request_len(tag_len));
                    let mut response = [0u8; MAX_FRAME_LEN];
                    let a = tgt
                        .handle_read(&frame[..sealed.len], &mut map, &mut response)
                        .unwrap();
                    assert_eq!(a.response_len, pending.response_len());
                    let on_bus = &response[..a.response_len];
                    // Encrypted responses do not carry the data in clear.
                    if !encrypt {
                        assert_eq!(&on_bus[..n], &data[..]);
                    } else if n >= 4 {
                        assert_ne!(&on_bus[..n], &data[..], "{suite} {n}");
                    }
                    let mut out = vec![0u8; n];
                    assert_eq!(ctrl.open_read_response(pending, on_bus, &mut out), Ok(n));
                    assert_eq!(out, data, "{suite} {tag_len:?} encrypt={encrypt} n={n}");
                }
                assert_eq!(tgt.status(), Status::default());
            }
        }
    }
}

#[test]
fn counters_start_at_one_and_increase_per_direction() {
    let (mut ctrl, mut tgt) = pair(cse_core::CipherSuite::Aes128Cmac, Config::new(0x10));
    let mut map = sensor();
    let mut frame = [0u8; MAX_FRAME_LEN];
    let mut response = [0u8; MAX_FRAME_LEN];
    for expected in 1..=3u32 {
        assert_eq!(ctrl.next_counter(), 2 * expected - 1);
        let s = ctrl.seal_write(0x0100, &[1], &mut frame).unwrap();
        assert_eq!(
            wire::WriteRepr::parse(&frame[..s.len], TagLen::L16)
                .unwrap()
                .counter,
            2 * expected - 1
        );
        let _ = tgt.handle_write(&frame[..s.len], &mut map).unwrap();
        let (p, s) = ctrl.seal_read_request(0x0100, 1, &mut frame).unwrap();
        let a = tgt
            .handle_read(&frame[..s.len], &mut map, &mut response)
            .unwrap();
        let r = wire::ReadResponseRepr::parse(&response[..a.response_len], 1, TagLen::L16).unwrap();
        assert_eq!(
            r.counter, expected,
            "response counters are the sensor's own"
        );
        let _ = ctrl
            .open_read_response(p, &response[..a.response_len], &mut [0])
            .unwrap();
        assert_eq!(ctrl.last_response_counter(), Some(expected));
        assert_eq!(tgt.last_counter(), Some(2 * expected));
    }
}

#[test]
fn status_register_reads_back_through_a_protected_read() {
    for encrypt in [false, true] {
        let cfg = Config::new(0x36).with_encrypted_reads(encrypt);
        let (mut ctrl, mut tgt) = pair(cse_core::CipherSuite::Aes256CtrCmac, cfg);
        let mut map = sensor();
        let mut frame = [0u8; MAX_FRAME_LEN];
        // Two rejected transactions: garbage, then a write to a read-only register.
        assert!(tgt.handle_write(&[0u8; 30], &mut map).is_err());
        let s = ctrl.seal_write(0x0000, &[0xFF], &mut frame).unwrap();
        assert!(tgt.handle_write(&frame[..s.len], &mut map).is_err());

        let (p, s) = ctrl
            .seal_read_request(wire::STATUS_REGISTER, wire::STATUS_LEN as u8, &mut frame)
            .unwrap();
        let mut response = [0u8; MAX_FRAME_LEN];
        let a = tgt
            .handle_read(&frame[..s.len], &mut map, &mut response)
            .unwrap();
        let mut out = [0u8; wire::STATUS_LEN];
        ctrl.open_read_response(p, &response[..a.response_len], &mut out)
            .unwrap();
        let status = Status::from_bytes(&out).unwrap();
        assert_eq!(status.last_error, StatusCode::ACCESS_DENIED);
        assert_eq!(status.failures, 2);
        assert_eq!(status, tgt.status());
        assert_eq!(out, [0x04, 0, 0, 0, 0, 0, 0, 2]);
    }
}

#[test]
fn protected_registers_need_encrypted_reads() {
    let mut frame = [0u8; MAX_FRAME_LEN];
    let mut response = [0u8; MAX_FRAME_LEN];
    for encrypt in [false, true] {
        let cfg = Config::new(0x36).with_encrypted_reads(encrypt);
        let (mut ctrl, mut tgt) = pair(cse_core::CipherSuite::Aes128Gcm, cfg);
        let mut map = sensor();
        let (p, s) = ctrl.seal_read_request(0x0300, 4, &mut frame).unwrap();
        let r = tgt.handle_read(&frame[..s.len], &mut map, &mut response);
        let mut out = [0u8; 4];
        if encrypt {
            let a = r.unwrap();
            ctrl.open_read_response(p, &response[..a.response_len], &mut out)
                .unwrap();
            assert_eq!(out, [0xC0, 0xC1, 0xC2, 0xC3]);
        } else {
            assert!(matches!(r, Err(ccise::Error::Access(_))));
            assert!(response.iter().all(|b| *b == ccise::FILLER));
            // The controller sees filler, which does not authenticate.
            let len = p.response_len();
            assert!(
                ctrl.open_read_response(p, &response[..len], &mut out)
                    .is_err()
            );
            assert_eq!(out, [0; 4]);
        }
    }
}
