//! Outsider round 5 (black box): register access rules at the edges of the 16-bit address
//! space and of the status block, reads of the write-only and protected ranges, and a read
//! response of one register offered as the answer of another read, under every suite.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use ccise::sim::DEMO_CHIP_ID;
use ccise::wire::{MAX_FRAME_LEN, STATUS_REGISTER};
use ccise::{Config, Controller, SessionKeys, SimSensor, Target};
use cse_core::crypto::SuiteKey;
use cse_core::keys::{Salt, SecretKey};
use cse_core::{CipherSuite, TagLen};

fn keys(suite: CipherSuite) -> SessionKeys {
    let mac = SecretKey::aes128([9; 16]);
    let mac256 = SecretKey::aes256([8; 32]);
    let key = |b: u8| match suite {
        CipherSuite::Aes256Gmac | CipherSuite::Aes256Cmac | CipherSuite::Aes256Gcm => {
            SuiteKey::new(suite, &SecretKey::aes256([b; 32]), None).unwrap()
        }
        CipherSuite::Aes256CtrCmac => {
            SuiteKey::new(suite, &SecretKey::aes256([b; 32]), Some(&mac256)).unwrap()
        }
        CipherSuite::Aes128CtrCmac => {
            SuiteKey::new(suite, &SecretKey::aes128([b; 16]), Some(&mac)).unwrap()
        }
        _ => SuiteKey::new(suite, &SecretKey::aes128([b; 16]), None).unwrap(),
    };
    SessionKeys::new(key(1), key(2), Salt::new([3; 12])).unwrap()
}

/// Every suite and tag length a user can pick, with encrypted reads where the suite encrypts.
fn configs() -> Vec<(CipherSuite, Config)> {
    let mut v = Vec::new();
    for suite in [
        CipherSuite::Aes128Cmac,
        CipherSuite::Aes256Cmac,
        CipherSuite::Aes128Gmac,
        CipherSuite::Aes256Gmac,
        CipherSuite::Aes128Gcm,
        CipherSuite::Aes256Gcm,
        CipherSuite::Aes128CtrCmac,
        CipherSuite::Aes256CtrCmac,
    ] {
        for tag_len in [TagLen::L16, TagLen::L12, TagLen::L8] {
            let mut c = Config::new(0x36);
            c.tag_len = tag_len;
            c.encrypt_reads = suite.encrypts();
            v.push((suite, c));
        }
    }
    v
}

fn pair(suite: CipherSuite, c: Config) -> (Controller, Target) {
    (
        Controller::new(c, keys(suite)).unwrap(),
        Target::new(c, keys(suite)).unwrap(),
    )
}

/// Writes whose range wraps past 0xFFFF, touches the status block from below or above,
/// straddles the end of the map or lands on read-only registers: refused as access denied,
/// no register changes, no panic. The counter stays consumed (documented), nothing else moves.
#[test]
fn writes_at_the_edges_of_the_address_space_change_no_register() {
    for (suite, c) in configs() {
        let (mut ctl, mut tgt) = pair(suite, c);
        let mut regs = SimSensor::demo();
        let before = *regs.registers();
        let applied = regs.writes_applied();
        let cases: &[(u16, usize)] = &[
            (0xFFFF, 2),              // wraps to 0x0000 (read-only chip id)
            (0xFFF8, 16),             // runs past 0xFFFF into 0x0000..0x0008
            (STATUS_REGISTER - 1, 2), // straddles the status block's start
            (STATUS_REGISTER + 7, 2), // straddles its end (0xFFF8 is unmapped)
            (STATUS_REGISTER, 8),     // the status block itself
            (0x03FF, 2),              // past the end of the map
            (0x000F, 2),              // read-only into read-write
            (0x0000, 4),              // chip id
        ];
        for &(reg, len) in cases {
            let mut frame = [0u8; MAX_FRAME_LEN];
            let data = vec![0xA5; len];
            let s = ctl.seal_write(reg, &data, &mut frame).unwrap();
            assert!(
                tgt.handle_write(&frame[..s.len], &mut regs).is_err(),
                "{suite:?} {c:?}: write to {reg:#06x}+{len} accepted"
            );
            assert_eq!(
                *regs.registers(),
                before,
                "{suite:?}: {reg:#06x}+{len} changed registers"
            );
            assert_eq!(regs.writes_applied(), applied);
            let st = tgt.status().to_bytes();
            assert_eq!(st[0], 4, "{suite:?}: {reg:#06x}+{len}: {st:?}");
        }
        // The status block still reads what the target's state says, nothing written into it.
        let mut frame = [0u8; MAX_FRAME_LEN];
        let (p, s) = ctl
            .seal_read_request(STATUS_REGISTER, 8, &mut frame)
            .unwrap();
        let mut rsp = [0u8; MAX_FRAME_LEN];
        let a = tgt
            .handle_read(&frame[..s.len], &mut regs, &mut rsp)
            .unwrap();
        let mut out = [0u8; 8];
        ctl.open_read_response(p, &rsp[..a.response_len], &mut out)
            .unwrap();
        assert_eq!(out, tgt.status().to_bytes());
        assert_ne!(out[..4], [0xA5; 4]);
    }
}

/// Reads of write-only registers (commands, key material) and clear reads of the protected
/// range, also ones that wrap or straddle: never any register byte on the wire.
#[test]
fn reads_of_secret_ranges_return_only_filler() {
    for (suite, mut c) in configs() {
        c.encrypt_reads = false;
        let (mut ctl, mut tgt) = pair(suite, c);
        let mut regs = SimSensor::demo();
        // Put recognisable "key bytes" into the write-only range through a genuine write.
        let secret = [0x5Au8; 16];
        let mut frame = [0u8; MAX_FRAME_LEN];
        let s = ctl.seal_write(0x0200, &secret, &mut frame).unwrap();
        let _ = tgt.handle_write(&frame[..s.len], &mut regs).unwrap();
        let calib: Vec<u8> = (0x0300..0x0320).map(|r| regs.peek(r).unwrap()).collect();
        for &(reg, len) in &[
            (0x0200u16, 16usize),
            (0x01FF, 2),
            (0x020F, 2),
            (0x0300, 16),
            (0x02FF, 4),
            (0x031F, 2),
            (0xFFFF, 2),
            (STATUS_REGISTER + 6, 4),
        ] {
            let (p, s) = ctl.seal_read_request(reg, len as u8, &mut frame).unwrap();
            let mut rsp = [0x11u8; MAX_FRAME_LEN];
            assert!(
                tgt.handle_read(&frame[..s.len], &mut regs, &mut rsp)
                    .is_err(),
                "{suite:?}: read {reg:#06x}+{len} answered"
            );
            let n = p.response_len();
            assert!(
                rsp[..n].iter().all(|&b| b == ccise::FILLER),
                "{suite:?}: {reg:#06x}"
            );
            assert!(!rsp.windows(4).any(|w| w == [0x5A; 4]));
            assert!(!rsp.windows(4).any(|w| w == &calib[..4]));
            let mut out = [0u8; 32];
            assert!(
                ctl.open_read_response(p, &rsp[..n], &mut out[..len])
                    .is_err()
            );
            assert!(
                out.iter().all(|&b| b == 0),
                "{suite:?}: plaintext after a failure"
            );
        }
    }
}

/// Two reads in flight: the genuine response to the first offered as the answer to the
/// second (and the reverse) is refused, nothing of it is released, and the second's genuine
/// response still opens afterwards.
#[test]
fn a_response_for_one_register_does_not_answer_another_read() {
    for (suite, c) in configs() {
        let (mut ctl, mut tgt) = pair(suite, c);
        let mut regs = SimSensor::demo();
        let mut fa = [0u8; MAX_FRAME_LEN];
        let mut fb = [0u8; MAX_FRAME_LEN];
        // Same length on purpose: the responses have the same size.
        let (pa, sa) = ctl.seal_read_request(0x0000, 4, &mut fa).unwrap();
        let (pb, sb) = ctl.seal_read_request(0x0100, 4, &mut fb).unwrap();
        let mut ra = [0u8; MAX_FRAME_LEN];
        let mut rb = [0u8; MAX_FRAME_LEN];
        let na = tgt
            .handle_read(&fa[..sa.len], &mut regs, &mut ra)
            .unwrap()
            .response_len;
        let nb = tgt
            .handle_read(&fb[..sb.len], &mut regs, &mut rb)
            .unwrap()
            .response_len;
        let last = ctl.last_response_counter();
        let mut out = [0u8; 4];
        assert!(
            ctl.open_read_response(pb, &ra[..na], &mut out).is_err(),
            "{suite:?} {c:?}: the chip id answered a read of 0x0100"
        );
        assert_eq!(out, [0; 4], "{suite:?}: plaintext released");
        assert_eq!(ctl.last_response_counter(), last);
        // The refused attempt moved nothing: the first read's genuine response still opens.
        ctl.open_read_response(pa, &ra[..na], &mut out).unwrap();
        assert_eq!(out, DEMO_CHIP_ID);
        // The second read's response, now with no read waiting for it, answers a new read of
        // the chip id no more than the first did.
        let (pc, _) = ctl.seal_read_request(0x0000, 4, &mut fa).unwrap();
        let mut out = [0u8; 4];
        assert!(ctl.open_read_response(pc, &rb[..nb], &mut out).is_err());
        assert_eq!(out, [0; 4]);
    }
}
