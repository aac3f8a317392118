//! Third outsider round against the public CCISE API: forged traffic between a genuine
//! request and its response, access denials and what they consume, encrypted reads under
//! attack, counters next to the hard limit, and `Debug` output of every public type that holds
//! keys. Each attack runs next to an unattacked twin and compares everything observable.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use ccise::wire::{self, MAX_FRAME_LEN};
use ccise::{
    Config, Controller, Error, FILLER, SessionKeys, SimSensor, Status, StatusCode, Target,
};
use cse_core::crypto::SuiteKey;
use cse_core::keys::{Salt, SecretKey};
use cse_core::{CipherSuite, SecurityError};

const ADDR: u8 = 0x36;
const K_T: [u8; 16] = [0xA7; 16];
const K_C: [u8; 16] = [0x5C; 16];
const M_T: [u8; 16] = [0x3D; 16];
const M_C: [u8; 16] = [0xE1; 16];
const SALT: [u8; 12] = [0x96; 12];

fn keys(suite: CipherSuite) -> SessionKeys {
    let mac = |b: [u8; 16]| SecretKey::aes128(b);
    let (mt, mc) = (mac(M_T), mac(M_C));
    let ctr = matches!(suite, CipherSuite::Aes128CtrCmac);
    SessionKeys::new(
        SuiteKey::new(suite, &SecretKey::aes128(K_T), ctr.then_some(&mt)).unwrap(),
        SuiteKey::new(suite, &SecretKey::aes128(K_C), ctr.then_some(&mc)).unwrap(),
        Salt::new(SALT),
    )
    .unwrap()
}

fn pair(suite: CipherSuite, config: Config) -> (Controller, Target, SimSensor<0x400>) {
    (
        Controller::new(config, keys(suite)).unwrap(),
        Target::new(config, keys(suite)).unwrap(),
        SimSensor::demo(),
    )
}

fn seal_write(c: &mut Controller, reg: u16, data: &[u8]) -> Vec<u8> {
    let mut f = [0u8; MAX_FRAME_LEN];
    let s = c.seal_write(reg, data, &mut f).unwrap();
    f[..s.len].to_vec()
}

/// Everything observable of a target, apart from the failure bookkeeping of its status.
fn target_view(t: &Target) -> (Option<u32>, bool, bool) {
    let s = t.status();
    (t.last_counter(), s.needs_rekey, s.exhausted)
}

/// Forgeries of every shape a keyless injector can build, all aimed at the target between a
/// genuine read request being sealed and being delivered.
fn forgeries(genuine_write: &[u8], genuine_request: &[u8]) -> Vec<Vec<u8>> {
    let mut v = Vec::new();
    // A write with a far-future counter and a zero tag.
    let mut w = genuine_write.to_vec();
    let n = w.len();
    w[n - 20..n - 16].copy_from_slice(&u32::MAX.to_be_bytes());
    w[n - 16..].fill(0);
    v.push(w);
    // The genuine write with its data changed (counter kept).
    let mut w = genuine_write.to_vec();
    w[2] ^= 0x80;
    v.push(w);
    // Truncated by one byte, and by the whole tag (a shorter, well-formed-looking write).
    v.push(genuine_write[..genuine_write.len() - 1].to_vec());
    v.push(genuine_write[..genuine_write.len() - 16].to_vec());
    // Over-long: one trailing byte, and 256 data bytes.
    let mut w = genuine_write.to_vec();
    w.push(0);
    v.push(w);
    v.push(vec![0x01; 2 + 256 + 4 + 16]);
    // Empty, and a lone register address.
    v.push(Vec::new());
    v.push(vec![0x01, 0x00]);
    // A read request for the same counter as the genuine one, another register.
    let mut r = genuine_request.to_vec();
    r[1] ^= 1;
    v.push(r);
    // The genuine request with counter + 1 (a forger trying to burn the next counter).
    let mut r = genuine_request.to_vec();
    let c = u32::from_be_bytes(r[3..7].try_into().unwrap()) + 1;
    r[3..7].copy_from_slice(&c.to_be_bytes());
    v.push(r);
    // The genuine request, over-long and truncated.
    let mut r = genuine_request.to_vec();
    r.push(0);
    v.push(r);
    v.push(genuine_request[..genuine_request.len() - 1].to_vec());
    v
}

#[test]
fn forgeries_between_a_genuine_request_and_its_delivery_change_nothing_but_the_failure_count() {
    let config = Config::new(ADDR);
    let (mut c, mut t, mut map) = pair(CipherSuite::Aes128Cmac, config);
    let (mut c2, mut t2, mut map2) = pair(CipherSuite::Aes128Cmac, config);

    // Both runs: one genuine write, then a read request is sealed.
    let w = seal_write(&mut c, 0x0100, &[1, 2, 3]);
    assert_eq!(seal_write(&mut c2, 0x0100, &[1, 2, 3]), w);
    let _ = t.handle_write(&w, &mut map).unwrap();
    let _ = t2.handle_write(&w, &mut map2).unwrap();
    let mut req = [0u8; MAX_FRAME_LEN];
    let (pending, sealed) = c.seal_read_request(0x0100, 3, &mut req).unwrap();
    let mut req2 = [0u8; MAX_FRAME_LEN];
    let (pending2, sealed2) = c2.seal_read_request(0x0100, 3, &mut req2).unwrap();
    assert_eq!(req[..sealed.len], req2[..sealed2.len]);
    let request = req[..sealed.len].to_vec();

    // The attacked run: every forgery, as a write and as a read request.
    let view = target_view(&t);
    let regs = map.clone();
    let mut expected_failures = 0u32;
    for f in forgeries(&w, &request) {
        assert!(t.handle_write(&f, &mut map).is_err(), "write {f:02x?}");
        expected_failures += 1;
        let mut rsp = [0x42u8; MAX_FRAME_LEN];
        assert!(
            t.handle_read(&f, &mut map, &mut rsp).is_err(),
            "read {f:02x?}"
        );
        expected_failures += 1;
        assert!(
            rsp.iter().all(|&b| b == FILLER),
            "a refused read answers filler only"
        );
        assert_eq!(target_view(&t), view);
        assert_eq!(map, regs);
    }
    assert_eq!(t.status().failures, expected_failures);

    // The genuine request now: both runs answer the same bytes and the controller opens them.
    let mut rsp = [0u8; MAX_FRAME_LEN];
    let a = t.handle_read(&request, &mut map, &mut rsp).unwrap();
    let mut rsp2 = [0u8; MAX_FRAME_LEN];
    let a2 = t2.handle_read(&request, &mut map2, &mut rsp2).unwrap();
    assert_eq!(a, a2);
    assert_eq!(rsp[..a.response_len], rsp2[..a2.response_len]);
    let mut out = [0u8; 3];
    assert_eq!(
        c.open_read_response(pending, &rsp[..a.response_len], &mut out),
        Ok(3)
    );
    assert_eq!(out, [1, 2, 3]);
    let mut out2 = [0u8; 3];
    c2.open_read_response(pending2, &rsp2[..a2.response_len], &mut out2)
        .unwrap();
    assert_eq!(target_view(&t), target_view(&t2));
    assert_eq!(map, map2);
    assert_eq!(c.last_response_counter(), c2.last_response_counter());
    assert_eq!(c.next_counter(), c2.next_counter());
    // Apart from the documented failure bookkeeping the status registers agree.
    let (s, s2) = (t.status(), t2.status());
    assert_eq!(
        Status {
            last_error: StatusCode::NONE,
            failures: 0,
            ..s
        },
        s2
    );
}

#[test]
fn an_authenticated_but_denied_write_consumes_its_counter_and_writes_nothing() {
    let config = Config::new(ADDR);
    let (mut c, mut t, mut map) = pair(CipherSuite::Aes128Cmac, config);
    let regs = map.clone();
    // Read-only chip id, then a write into the status block, then one crossing the map's end.
    for (reg, data) in [
        (0x0000u16, &[9u8, 9][..]),
        (0x000F, &[1, 2]),
        (wire::STATUS_REGISTER + 2, &[0]),
        (wire::STATUS_REGISTER - 1, &[0, 0]),
        (0x03FF, &[1, 2]),
    ] {
        let f = seal_write(&mut c, reg, data);
        let counter = c.next_counter() - 1;
        match t.handle_write(&f, &mut map) {
            Err(Error::Access(_)) => {}
            other => panic!("{reg:#06x}: {other:?}"),
        }
        assert_eq!(map, regs, "nothing of a denied write lands");
        assert_eq!(t.last_counter(), Some(counter), "the counter is consumed");
        assert_eq!(t.status().last_error, StatusCode::ACCESS_DENIED);
        // Its replay is now a replay, not a second access attempt.
        assert!(matches!(
            t.handle_write(&f, &mut map),
            Err(Error::Security(SecurityError::Replay { .. }))
        ));
        assert_eq!(t.status().last_error, StatusCode::REPLAY);
    }
    assert_eq!(t.status().failures, 10);
    // The next genuine write applies.
    let f = seal_write(&mut c, 0x0110, &[0xAB]);
    let _ = t.handle_write(&f, &mut map).unwrap();
    assert_eq!(map.peek(0x0110), Some(0xAB));
}

#[test]
fn a_denied_read_answers_filler_the_controller_rejects_it_and_goes_on() {
    let config = Config::new(ADDR);
    let (mut c, mut t, mut map) = pair(CipherSuite::Aes128Cmac, config);
    for (reg, len) in [
        (0x0200u16, 2u8),               // write-only
        (0x02FF, 2),                    // write-only into protected
        (0x0300, 4),                    // protected, clear reads
        (0x03FE, 4),                    // past the map's end
        (0xFFFF, 255),                  // top of the address space
        (wire::STATUS_REGISTER - 2, 4), // straddles the status block from below
        (wire::STATUS_REGISTER + 6, 4), // runs off the status block
    ] {
        let mut req = [0u8; MAX_FRAME_LEN];
        let (pending, s) = c.seal_read_request(reg, len, &mut req).unwrap();
        let mut rsp = [0x11u8; MAX_FRAME_LEN];
        let before_tx = t.last_counter();
        let e = t
            .handle_read(&req[..s.len], &mut map, &mut rsp)
            .unwrap_err();
        assert!(matches!(e, Error::Access(_)), "{reg:#06x}: {e:?}");
        assert_eq!(t.status().last_error, StatusCode::ACCESS_DENIED);
        assert_ne!(
            t.last_counter(),
            before_tx,
            "authenticated: its counter is consumed"
        );
        assert!(rsp.iter().all(|&b| b == FILLER));
        let mut out = [0x77u8; 256];
        let rc = c.last_response_counter();
        let r = c.open_read_response(
            pending,
            &rsp[..wire::read_response_len(usize::from(len), config.tag_len)],
            &mut out,
        );
        assert_eq!(r, Err(Error::Security(SecurityError::AuthFailed)));
        assert!(out[..usize::from(len)].iter().all(|&b| b == 0));
        assert!(out[usize::from(len)..].iter().all(|&b| b == 0x77));
        assert_eq!(c.last_response_counter(), rc);
    }
    // The status register, read through a protected read, says what happened.
    let mut req = [0u8; MAX_FRAME_LEN];
    let (pending, s) = c
        .seal_read_request(wire::STATUS_REGISTER, wire::STATUS_LEN as u8, &mut req)
        .unwrap();
    let mut rsp = [0u8; MAX_FRAME_LEN];
    let a = t.handle_read(&req[..s.len], &mut map, &mut rsp).unwrap();
    let mut out = [0u8; wire::STATUS_LEN];
    c.open_read_response(pending, &rsp[..a.response_len], &mut out)
        .unwrap();
    let st = Status::from_bytes(&out).unwrap();
    assert_eq!(st.last_error, StatusCode::ACCESS_DENIED);
    assert_eq!(st.failures, 7);
    assert_eq!(
        c.last_response_counter(),
        Some(1),
        "filler answers used no response counter"
    );
}

#[test]
fn encrypted_reads_release_no_plaintext_on_any_failure() {
    for suite in [CipherSuite::Aes128Gcm, CipherSuite::Aes128CtrCmac] {
        let config = Config::new(ADDR).with_encrypted_reads(true);
        let (mut c, mut t, mut map) = pair(suite, config);
        let secret: Vec<u8> = (0..32u8).map(|i| 0xC0 ^ i).collect();
        // A genuine encrypted read of the protected range, to compare.
        let mut req = [0u8; MAX_FRAME_LEN];
        let (p, s) = c.seal_read_request(0x0300, 32, &mut req).unwrap();
        let mut rsp = [0u8; MAX_FRAME_LEN];
        let a = t.handle_read(&req[..s.len], &mut map, &mut rsp).unwrap();
        assert_ne!(&rsp[..32], &secret[..], "{suite:?}: encrypted on the wire");
        let mut out = [0u8; 32];
        c.open_read_response(p, &rsp[..a.response_len], &mut out)
            .unwrap();
        assert_eq!(&out[..], &secret[..]);

        // Now the attacks: each on a fresh genuine response.
        type Mangle = fn(&mut Vec<u8>);
        let mangles: [(&str, Mangle); 6] = [
            ("ciphertext bit", |r| r[0] ^= 1),
            ("last ciphertext bit", |r| r[31] ^= 0x80),
            ("counter", |r| r[33] ^= 1),
            ("tag bit", |r| {
                let n = r.len();
                r[n - 1] ^= 1
            }),
            ("truncated", |r| {
                r.pop();
            }),
            ("over-long", |r| r.push(0)),
        ];
        for (what, mangle) in mangles {
            let mut req = [0u8; MAX_FRAME_LEN];
            let (p, s) = c.seal_read_request(0x0300, 32, &mut req).unwrap();
            let mut rsp = [0u8; MAX_FRAME_LEN];
            let a = t.handle_read(&req[..s.len], &mut map, &mut rsp).unwrap();
            let mut r = rsp[..a.response_len].to_vec();
            mangle(&mut r);
            let mut out = [0xEEu8; 40];
            let rc = c.last_response_counter();
            assert!(
                c.open_read_response(p, &r, &mut out).is_err(),
                "{suite:?} {what}"
            );
            assert!(
                out[..32].iter().all(|&b| b == 0),
                "{suite:?} {what}: {out:02x?}"
            );
            assert!(out[32..].iter().all(|&b| b == 0xEE));
            assert_eq!(c.last_response_counter(), rc, "{suite:?} {what}");
        }
        // The response of one request presented for another (same length, other register).
        let mut req = [0u8; MAX_FRAME_LEN];
        let (p1, s1) = c.seal_read_request(0x0300, 16, &mut req).unwrap();
        let r1 = req[..s1.len].to_vec();
        let (p2, s2) = c.seal_read_request(0x0310, 16, &mut req).unwrap();
        let r2 = req[..s2.len].to_vec();
        let mut rsp1 = [0u8; MAX_FRAME_LEN];
        let a1 = t.handle_read(&r1, &mut map, &mut rsp1).unwrap();
        let mut rsp2 = [0u8; MAX_FRAME_LEN];
        let a2 = t.handle_read(&r2, &mut map, &mut rsp2).unwrap();
        let mut out = [0x55u8; 16];
        assert!(
            c.open_read_response(p2, &rsp1[..a1.response_len], &mut out)
                .is_err()
        );
        assert_eq!(out, [0; 16]);
        // Its own response still opens (the swapped one moved nothing).
        c.open_read_response(p1, &rsp1[..a1.response_len], &mut out)
            .unwrap();
        assert_eq!(&out[..], &secret[..16]);
        let _ = a2;
    }
}

#[test]
fn a_forged_response_consumes_only_its_pending_read_and_the_next_read_succeeds() {
    let config = Config::new(ADDR);
    let (mut c, mut t, mut map) = pair(CipherSuite::Aes128Cmac, config);
    let (mut c2, mut t2, mut map2) = pair(CipherSuite::Aes128Cmac, config);
    for (c, t, map, attacked) in [
        (&mut c, &mut t, &mut map, true),
        (&mut c2, &mut t2, &mut map2, false),
    ] {
        let mut req = [0u8; MAX_FRAME_LEN];
        let (p, s) = c.seal_read_request(0x0000, 4, &mut req).unwrap();
        let mut rsp = [0u8; MAX_FRAME_LEN];
        let a = t.handle_read(&req[..s.len], map, &mut rsp).unwrap();
        let mut out = [0u8; 4];
        if attacked {
            // A counter far ahead with a garbage tag, in place of the genuine response.
            let mut r = rsp[..a.response_len].to_vec();
            r[4..8].copy_from_slice(&0xFFFF_FFF0u32.to_be_bytes());
            assert_eq!(
                c.open_read_response(p, &r, &mut out),
                Err(Error::Security(SecurityError::AuthFailed))
            );
            assert_eq!(c.last_response_counter(), None);
        } else {
            c.open_read_response(p, &rsp[..a.response_len], &mut out)
                .unwrap();
        }
        // Next read: the response counter 2 must be accepted in both runs.
        let (p, s) = c.seal_read_request(0x0000, 4, &mut req).unwrap();
        let a = t.handle_read(&req[..s.len], map, &mut rsp).unwrap();
        c.open_read_response(p, &rsp[..a.response_len], &mut out)
            .unwrap();
        assert_eq!(out, [0x0C, 0x15, 0xE0, 0x01]);
        assert_eq!(c.last_response_counter(), Some(2));
    }
}

#[test]
fn the_last_counters_of_a_key_are_never_reused_and_a_forger_cannot_spend_them() {
    let config = Config::new(ADDR);
    let start = u32::MAX - 2;
    let mut c = Controller::resume(config, keys(CipherSuite::Aes128Gmac), start).unwrap();
    let mut t = Target::new(config, keys(CipherSuite::Aes128Gmac)).unwrap();
    let mut map = SimSensor::demo();
    // A forged write at the very last counter a controller could ever use is refused and does
    // not take the counter away.
    let mut f = [0u8; MAX_FRAME_LEN];
    let s = c.seal_write(0x0100, &[1], &mut f).unwrap();
    let genuine_first = f[..s.len].to_vec();
    let mut forged = genuine_first.clone();
    let n = forged.len();
    forged[n - 20..n - 16].copy_from_slice(&(u32::MAX - 1).to_be_bytes());
    assert_eq!(
        t.handle_write(&forged, &mut map),
        Err(Error::Security(SecurityError::AuthFailed))
    );
    assert_eq!(t.last_counter(), None);
    let _ = t.handle_write(&genuine_first, &mut map).unwrap();
    assert_eq!(t.last_counter(), Some(start));
    let s = c.seal_write(0x0101, &[2], &mut f).unwrap();
    let _ = t.handle_write(&f[..s.len], &mut map).unwrap();
    assert_eq!(t.last_counter(), Some(u32::MAX - 1));
    // u32::MAX is never sealed: the counter does not wrap and nothing is consumed or written.
    let mut out = [0x33u8; MAX_FRAME_LEN];
    for _ in 0..3 {
        assert_eq!(
            c.seal_write(0x0102, &[3], &mut out).map(|s| s.len),
            Err(Error::Security(SecurityError::KeyExhausted))
        );
        assert!(
            c.seal_read_request(0x0100, 1, &mut out).is_err(),
            "a read request would need a counter too"
        );
        assert_eq!(c.next_counter(), u32::MAX);
    }
    assert!(
        out.iter().all(|&b| b == 0x33),
        "nothing written at the limit"
    );
    assert_eq!(map.peek(0x0102), Some(0));
}

#[test]
fn debug_output_of_keys_and_roles_shows_no_key_or_salt_byte() {
    let config = Config::new(ADDR).with_encrypted_reads(true);
    let suite = CipherSuite::Aes128CtrCmac;
    let (c, t, _) = pair(suite, config);
    let k = keys(suite);
    let texts = [
        format!("{c:?}"),
        format!("{c:#?}"),
        format!("{t:?}"),
        format!("{t:#?}"),
        format!("{k:?}"),
        format!("{k:#?}"),
    ];
    for text in texts {
        for secret in [&K_T[..], &K_C, &M_T, &M_C, &SALT] {
            let b = secret[0];
            for needle in [
                format!("{b}, {b}"),
                format!("{b:02x}{b:02x}"),
                format!("{b:02X}{b:02X}"),
                format!("{b:#04x}"),
            ] {
                assert!(!text.contains(&needle), "{needle} in {text}");
            }
        }
    }
}

/// Reads the status register through a protected read.
fn read_status(c: &mut Controller, t: &mut Target, map: &mut SimSensor<0x400>) -> Status {
    let mut req = [0u8; MAX_FRAME_LEN];
    let (p, s) = c
        .seal_read_request(wire::STATUS_REGISTER, wire::STATUS_LEN as u8, &mut req)
        .unwrap();
    let mut rsp = [0u8; MAX_FRAME_LEN];
    let a = t.handle_read(&req[..s.len], map, &mut rsp).unwrap();
    let mut out = [0u8; wire::STATUS_LEN];
    c.open_read_response(p, &rsp[..a.response_len], &mut out)
        .unwrap();
    let st = Status::from_bytes(&out).unwrap();
    assert_eq!(st, t.status(), "the register says what the target holds");
    st
}

#[test]
fn every_status_code_path_is_recorded_and_read_back_through_a_protected_read() {
    let config = Config::new(ADDR);
    let (mut c, mut t, mut map) = pair(CipherSuite::Aes128Cmac, config);
    assert_eq!(read_status(&mut c, &mut t, &mut map), Status::default());
    let genuine = seal_write(&mut c, 0x0100, &[7]);
    let _ = t.handle_write(&genuine, &mut map).unwrap();
    let mut forged = seal_write(&mut c, 0x0100, &[8]);
    let n = forged.len();
    forged[n - 1] ^= 1;
    let cases: [(&str, Vec<u8>, StatusCode); 4] = [
        ("forged", forged, StatusCode::AUTH_FAILED),
        ("replayed", genuine.clone(), StatusCode::REPLAY),
        ("truncated", genuine[..3].to_vec(), StatusCode::MALFORMED),
        (
            "misaddressed",
            {
                // A write sealed for another device address, with a fresh counter.
                let mut other =
                    Controller::resume(Config::new(0x10), keys(CipherSuite::Aes128Cmac), 1000)
                        .unwrap();
                let mut f = [0u8; MAX_FRAME_LEN];
                let s = other.seal_write(0x0100, &[9], &mut f).unwrap();
                f[..s.len].to_vec()
            },
            StatusCode::AUTH_FAILED,
        ),
    ];
    let mut failures = 0;
    for (what, frame, code) in cases {
        assert!(t.handle_write(&frame, &mut map).is_err(), "{what}");
        failures += 1;
        let st = read_status(&mut c, &mut t, &mut map);
        assert_eq!(st.last_error, code, "{what}");
        assert_eq!(st.failures, failures, "{what}");
        assert!(!st.needs_rekey && !st.exhausted, "{what}");
    }
    // An authenticated write the map refuses, sealed now (status reads spend counters).
    let denied = seal_write(&mut c, 0x0000, &[1]);
    assert!(t.handle_write(&denied, &mut map).is_err());
    failures += 1;
    let st = read_status(&mut c, &mut t, &mut map);
    assert_eq!(
        (st.last_error, st.failures),
        (StatusCode::ACCESS_DENIED, failures)
    );
    // A genuine write after all of them applies; the status keeps the last failure.
    let f = seal_write(&mut c, 0x0101, &[0x5A]);
    let _ = t.handle_write(&f, &mut map).unwrap();
    assert_eq!(map.peek(0x0101), Some(0x5A));
    let st = read_status(&mut c, &mut t, &mut map);
    assert_eq!(
        (st.last_error, st.failures),
        (StatusCode::ACCESS_DENIED, failures)
    );
}
