//! Outsider round 5 (black box): the two ends hold the same keys but disagree on a profile
//! option (tag length, encrypted reads, key id). A frame sealed under one option, as sent or
//! cut to the other's tag length, must never verify under the other: no register changes,
//! no counter moves, and no read data (clear or ciphertext) is released as register values.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use ccise::wire::MAX_FRAME_LEN;
use ccise::{Config, Controller, SessionKeys, SimSensor, Target};
use cse_core::crypto::SuiteKey;
use cse_core::keys::{Salt, SecretKey};
use cse_core::{CipherSuite, KeyId, TagLen};

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

const SUITES: [CipherSuite; 4] = [
    CipherSuite::Aes128Cmac,
    CipherSuite::Aes128Gmac,
    CipherSuite::Aes128Gcm,
    CipherSuite::Aes128CtrCmac,
];

fn variants(suite: CipherSuite) -> Vec<Config> {
    let mut v = Vec::new();
    for t in [TagLen::L16, TagLen::L12, TagLen::L8] {
        for enc in [false, true] {
            if enc && !suite.encrypts() {
                continue;
            }
            for id in [0u8, 1] {
                v.push(
                    Config::new(0x36)
                        .with_tag_len(t)
                        .with_encrypted_reads(enc)
                        .with_key_id(KeyId::new(id).unwrap()),
                );
            }
        }
    }
    v
}

/// A write sealed under one option set, delivered whole or with its tag cut to the target's
/// length, is refused by a target of any other option set that changes the write's tag
/// (tag length, key id); the registers and the target's counter stay as they were.
#[test]
fn a_write_sealed_under_other_options_never_applies() {
    for suite in SUITES {
        for a in variants(suite) {
            for b in variants(suite) {
                if a.tag_len == b.tag_len && a.key_id == b.key_id {
                    continue; // the write's tag does not depend on encrypted reads
                }
                let mut ctl = Controller::new(a, keys(suite)).unwrap();
                let mut tgt = Target::new(b, keys(suite)).unwrap();
                let mut regs = SimSensor::demo();
                let before = *regs.registers();
                let mut frame = [0u8; MAX_FRAME_LEN];
                let data = [0xC3u8; 12];
                let s = ctl.seal_write(0x0100, &data, &mut frame).unwrap();
                let full = &frame[..s.len];
                let cut =
                    full.len() - usize::from(a.tag_len.as_u8()) + usize::from(b.tag_len.as_u8());
                let mut tries: Vec<Vec<u8>> = vec![full.to_vec()];
                if cut < full.len() {
                    tries.push(full[..cut].to_vec());
                }
                for t in &tries {
                    assert!(
                        tgt.handle_write(t, &mut regs).is_err(),
                        "{suite:?} {a:?} -> {b:?}"
                    );
                    assert_eq!(*regs.registers(), before);
                    assert_eq!(tgt.last_counter(), None);
                }
            }
        }
    }
}

/// A read answered by a target whose options differ (clear vs encrypted, tag length, key id)
/// is never released by the controller: not the clear bytes, not the ciphertext.
#[test]
fn a_response_under_other_options_releases_nothing() {
    let mut answered = 0;
    for suite in SUITES {
        for a in variants(suite) {
            for b in variants(suite) {
                if a == b {
                    continue;
                }
                let mut ctl = Controller::new(a, keys(suite)).unwrap();
                let mut tgt = Target::new(b, keys(suite)).unwrap();
                let mut regs = SimSensor::demo();
                // Requests carry neither the read mode nor (for equal t and id) anything
                // else that differs, so the target may well answer.
                let mut req = [0u8; MAX_FRAME_LEN];
                let (p, s) = ctl.seal_read_request(0x0100, 8, &mut req).unwrap();
                let mut rsp = [0u8; MAX_FRAME_LEN];
                let Ok(ans) = tgt.handle_read(&req[..s.len], &mut regs, &mut rsp) else {
                    continue;
                };
                answered += 1;
                let mut out = [0u8; 8];
                let n = ans.response_len.min(p.response_len());
                assert!(
                    ctl.open_read_response(p, &rsp[..n], &mut out).is_err(),
                    "{suite:?} {a:?} accepted a response of {b:?}"
                );
                assert_eq!(out, [0; 8], "{suite:?} {a:?} <- {b:?}: bytes released");
                assert_eq!(ctl.last_response_counter(), None);
            }
        }
    }
    // The target answered the requests whose tag did not change (read mode alone differs).
    assert!(answered >= 12, "{answered}");
}
