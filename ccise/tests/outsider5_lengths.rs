//! Outsider round 5 (black box): lengths a user can get wrong. Empty writes and reads, output
//! buffers too short or too long on either end: no panic, nothing sealed or released half
//! way, no counter used by a call that failed before sealing, no plaintext left behind.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use ccise::wire::MAX_FRAME_LEN;
use ccise::{Config, Controller, SessionKeys, SimSensor, Target};
use cse_core::crypto::SuiteKey;
use cse_core::keys::{Salt, SecretKey};
use cse_core::{CipherSuite, TagLen};

fn keys(suite: CipherSuite) -> SessionKeys {
    let mac = SecretKey::aes128([9; 16]);
    let key = |b: u8| match suite {
        CipherSuite::Aes128CtrCmac => {
            SuiteKey::new(suite, &SecretKey::aes128([b; 16]), Some(&mac)).unwrap()
        }
        _ => SuiteKey::new(suite, &SecretKey::aes128([b; 16]), None).unwrap(),
    };
    SessionKeys::new(key(1), key(2), Salt::new([3; 12])).unwrap()
}

fn each(mut f: impl FnMut(CipherSuite, Config)) {
    for suite in [
        CipherSuite::Aes128Cmac,
        CipherSuite::Aes128Gmac,
        CipherSuite::Aes128Gcm,
        CipherSuite::Aes128CtrCmac,
    ] {
        for t in [TagLen::L16, TagLen::L8] {
            f(
                suite,
                Config::new(0x36)
                    .with_tag_len(t)
                    .with_encrypted_reads(suite.encrypts()),
            );
        }
    }
}

/// Sealing into a buffer that is too short fails without using a counter; the next frame
/// sealed into a proper buffer takes the counter the failed call would have taken.
#[test]
fn sealing_into_a_short_buffer_uses_no_counter() {
    each(|suite, c| {
        let mut ctl = Controller::new(c, keys(suite)).unwrap();
        let mut tgt = Target::new(c, keys(suite)).unwrap();
        let mut regs = SimSensor::demo();
        for short in [0usize, 2, 10, 14] {
            let mut small = vec![0u8; short];
            assert!(ctl.seal_write(0x0100, &[1, 2, 3, 4], &mut small).is_err());
            assert!(ctl.seal_read_request(0x0100, 4, &mut small).is_err());
            assert!(small.iter().all(|&b| b == 0), "{suite:?}: bytes left");
            assert_eq!(ctl.next_counter(), 1, "{suite:?}: counter used");
        }
        let mut frame = [0u8; MAX_FRAME_LEN];
        let s = ctl.seal_write(0x0100, &[1, 2, 3, 4], &mut frame).unwrap();
        let a = tgt.handle_write(&frame[..s.len], &mut regs).unwrap();
        assert_eq!(a.counter, 1);
    });
}

/// Empty writes and zero-length reads either are refused before sealing or go through
/// without changing any register; nothing panics.
#[test]
fn empty_writes_and_reads_change_nothing() {
    each(|suite, c| {
        let mut ctl = Controller::new(c, keys(suite)).unwrap();
        let mut tgt = Target::new(c, keys(suite)).unwrap();
        let mut regs = SimSensor::demo();
        let before = *regs.registers();
        let mut frame = [0u8; MAX_FRAME_LEN];
        if let Ok(s) = ctl.seal_write(0x0000, &[], &mut frame) {
            let _ = tgt.handle_write(&frame[..s.len], &mut regs);
        }
        assert_eq!(*regs.registers(), before);
        if let Ok((p, s)) = ctl.seal_read_request(0x0200, 0, &mut frame) {
            let mut rsp = [0u8; MAX_FRAME_LEN];
            if let Ok(a) = tgt.handle_read(&frame[..s.len], &mut regs, &mut rsp) {
                let mut out = [0u8; 0];
                let _ = ctl.open_read_response(p, &rsp[..a.response_len], &mut out);
            }
        }
        assert_eq!(*regs.registers(), before);
    });
}

/// The controller's output buffer shorter or longer than the read it asked for: a short one
/// is refused with nothing in it; a longer one gets the register bytes and nothing beyond.
/// The target's response buffer too short: refused, and no register byte in it.
#[test]
fn read_buffers_of_the_wrong_size_release_nothing_extra() {
    each(|suite, c| {
        for out_len in [3usize, 4, 5, 64] {
            let mut ctl = Controller::new(c, keys(suite)).unwrap();
            let mut tgt = Target::new(c, keys(suite)).unwrap();
            let mut regs = SimSensor::demo();
            let mut frame = [0u8; MAX_FRAME_LEN];
            let (p, s) = ctl.seal_read_request(0x0000, 4, &mut frame).unwrap();
            let mut rsp = [0u8; MAX_FRAME_LEN];
            let a = tgt
                .handle_read(&frame[..s.len], &mut regs, &mut rsp)
                .unwrap();
            let mut out = vec![0xEEu8; out_len];
            match ctl.open_read_response(p, &rsp[..a.response_len], &mut out) {
                Ok(_) => {
                    assert!(out_len >= 4, "{suite:?}: opened into {out_len} bytes");
                    assert_eq!(out[..4], ccise::sim::DEMO_CHIP_ID);
                    assert!(
                        out[4..].iter().all(|&b| b == 0xEE),
                        "{suite:?}: wrote past the data"
                    );
                }
                Err(_) => assert!(
                    out.iter().all(|&b| b == 0xEE || b == 0),
                    "{suite:?}: {out_len}: {out:?}"
                ),
            }
        }
        let mut ctl = Controller::new(c, keys(suite)).unwrap();
        let mut tgt = Target::new(c, keys(suite)).unwrap();
        let mut regs = SimSensor::demo();
        let mut frame = [0u8; MAX_FRAME_LEN];
        let (_, s) = ctl.seal_read_request(0x0300, 16, &mut frame).unwrap();
        let calib: Vec<u8> = (0x0300..0x0310).map(|r| regs.peek(r).unwrap()).collect();
        let mut rsp = [0u8; 20];
        assert!(
            tgt.handle_read(&frame[..s.len], &mut regs, &mut rsp)
                .is_err()
        );
        assert!(
            !rsp.windows(8).any(|w| w == &calib[..8]),
            "{suite:?}: {rsp:?}"
        );
    });
}
