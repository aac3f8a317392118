//! Outsider round 7: DIGESTS and CERTIFICATE answers a libspdm responder may send to our
//! certificate requester (without CHALLENGE, so these bytes are in no signed transcript and
//! can be rewritten on their way), followed to an established session.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;
mod o7;

use common::{SETS, TestRng};
use o7::{cert_requester, drive};
use spdm_lite::Error;
use spdm_lite::crypto::AlgorithmSet;
use spdm_lite::crypto::RustCrypto;
use spdm_lite::responder::Responder;

fn run(
    set: AlgorithmSet,
    hook: &mut dyn FnMut(&[u8], &mut Vec<u8>),
) -> (Vec<Vec<u8>>, Result<(), o7::Stop>, Vec<u8>) {
    let fx = common::fixture(set);
    let mut rr = TestRng(7);
    let mut rsp = Responder::new(
        RustCrypto,
        &fx.key,
        &mut rr,
        common::test_config(set, &fx.chain),
    )
    .unwrap();
    let mut qr = TestRng(9);
    let req = cert_requester(set, &mut qr);
    let (seen, r) = drive(req, &mut rsp, hook);
    (seen, r.map(|_| ()), fx.chain.clone())
}

fn u16_at(m: &[u8], at: usize) -> usize {
    usize::from(u16::from_le_bytes([m[at], m[at + 1]]))
}

/// Cuts a CERTIFICATE answer to its first `k` portion bytes (RemainderLength grows).
fn cut(a: &mut Vec<u8>, k: usize) {
    let pl = u16_at(a, 4);
    let rl = u16_at(a, 6);
    let k = k.min(pl);
    a.truncate(8 + k);
    a[4..6].copy_from_slice(&(k as u16).to_le_bytes());
    a[6..8].copy_from_slice(&((rl + pl - k) as u16).to_le_bytes());
}

#[test]
fn certificate_portions_shorter_than_asked_are_followed_to_the_end() {
    for set in SETS {
        for k in [1usize, 7, 100, 511, 1015] {
            let (seen, r, chain) = run(set, &mut |q, a| {
                if q[1] == 0x82 && a[1] == 0x02 {
                    cut(a, k);
                    // Param2 is reserved in 1.2 (CertInfo in 1.3).
                    a[3] = 0x5A;
                }
            });
            r.unwrap_or_else(|e| panic!("portion {k}: {e:?}"));
            let offsets: Vec<usize> = seen
                .iter()
                .filter(|q| q[1] == 0x82)
                .map(|q| u16_at(q, 4))
                .collect();
            let want: Vec<usize> = (0..chain.len()).step_by(k).collect();
            assert_eq!(offsets, want, "portion {k}");
        }
    }
}

/// The requester's error (and that it is poisoned) for CERTIFICATE answers rewritten by `f`.
fn cert_refused(f: impl Fn(&[u8], &mut Vec<u8>)) -> Error {
    let (_, r, _) = run(SETS[0], &mut |q, a| {
        if q[1] == 0x82 && a[1] == 0x02 {
            f(q, a);
        }
    });
    match r {
        Err((_, e, Err(Error::Poisoned))) => e,
        r => panic!("accepted or not poisoned: {r:?}"),
    }
}

#[test]
fn certificate_portions_that_do_not_fit_the_request_are_refused() {
    // PortionLength 0 with bytes remaining would never end.
    cert_refused(|_, a| cut(a, 0));
    // More than asked for (the answer carries the extra bytes).
    cert_refused(|q, a| {
        let asked = u16_at(q, 6);
        a[4..6].copy_from_slice(&((asked + 1) as u16).to_le_bytes());
        a.push(0);
    });
    // Another slot than asked.
    cert_refused(|_, a| a[2] = 1);
    // RemainderLength growing between portions (the total changes).
    cert_refused(|q, a| {
        if u16_at(q, 4) != 0 {
            let rl = u16_at(a, 6) + 16;
            a[6..8].copy_from_slice(&(rl as u16).to_le_bytes());
        }
    });
    // PortionLength beyond the bytes present.
    cert_refused(|_, a| {
        a.truncate(a.len() - 1);
    });
}

type Mutation = fn(&mut Vec<u8>);

fn digests(f: Mutation) -> Result<(), o7::Stop> {
    let (_, r, _) = run(SETS[1], &mut |q, a| {
        if q[1] == 0x81 && a[1] == 0x01 {
            f(a);
        }
    });
    r
}

#[test]
fn digests_with_several_slots_lead_to_a_slot_0_session() {
    let cases: [(&str, Mutation); 3] = [
        ("slots 0 and 1", |a| {
            let d = a[4..].to_vec();
            a[3] = 0x03;
            a.extend(d.iter().map(|b| !b));
        }),
        ("all eight slots", |a| {
            let d = a[4..].to_vec();
            a[3] = 0xFF;
            for i in 0..7u8 {
                a.extend(d.iter().map(|b| b ^ (i + 1)));
            }
        }),
        // Param1 is reserved in 1.2 (SupportedSlotMask in 1.3).
        ("Param1 set", |a| a[2] = 0xFF),
    ];
    for (name, f) in cases {
        digests(f).unwrap_or_else(|e| panic!("{name}: {e:?}"));
    }
}

#[test]
fn digests_without_slot_0_or_with_its_digest_wrong_are_refused() {
    let cases: [(&str, Mutation); 3] = [
        ("slot 1 only", |a| a[3] = 0x02),
        ("no slot", |a| {
            a[3] = 0;
            a.truncate(4);
        }),
        ("slot 0 digest differs from the chain", |a| a[4] ^= 1),
    ];
    for (name, f) in cases {
        match digests(f) {
            Err((_, Error::Negotiation | Error::Certificate(_), Err(Error::Poisoned))) => {}
            r => panic!("{name}: {:?}", r.err()),
        }
    }
}

#[test]
fn errors_during_the_certificate_handshake_are_reported_and_poison() {
    // GET_DIGESTS, the first and the second GET_CERTIFICATE, KEY_EXCHANGE.
    for (code, offset) in [
        (0x81u8, None),
        (0x82, Some(0)),
        (0x82, Some(1016)),
        (0xE4, None),
    ] {
        for err in [0x03u8, 0x42, 0x43, 0x04, 0x05] {
            let (_, r, _) = run(SETS[0], &mut |q, a| {
                if q[1] == code && offset.is_none_or(|o| u16_at(q, 4) == o) {
                    *a = vec![0x12, 0x7F, err, 0];
                    if err == 0x42 {
                        a.extend([1, code, 0x10, 1]);
                    }
                }
            });
            match r {
                Err((_, Error::PeerError(c), Err(Error::Poisoned))) if c == err => {}
                r => panic!("{code:#x} {offset:?} {err:#x}: {:?}", r.err()),
            }
        }
    }
}
