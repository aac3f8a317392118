//! Outsider round 7: a responder whose DataTransferSize (and MaxSPDMmsgSize, no CHUNK_CAP) is
//! smaller than a handshake request of ours. DSP0274 forbids sending a request larger than
//! the responder's DataTransferSize without chunking, which this requester does not do: it
//! must refuse to write it (and say why) rather than send what the responder cannot receive.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;
mod o7;

use common::{SETS, TestRng};
use o7::{PskOpts, cert_requester, drive, psk_requester, psk_session};
use spdm_lite::Error;
use spdm_lite::crypto::{AlgorithmSet, RustCrypto};
use spdm_lite::responder::Responder;

/// Sets DataTransferSize = MaxSPDMmsgSize = `dts` in a CAPABILITIES answer.
fn set_dts(m: &mut [u8], dts: u32) {
    m[12..16].copy_from_slice(&dts.to_le_bytes());
    m[16..20].copy_from_slice(&dts.to_le_bytes());
}

/// The length of the first request after VCA (KEY_EXCHANGE for a certificate requester
/// without CHALLENGE once the chain is fetched, PSK_EXCHANGE for a PSK one), SPDM bytes.
fn psk_exchange_len(set: AlgorithmSet) -> usize {
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
    let mut req = psk_requester(set, &mut qr);
    for _ in 0..3 {
        let _ = common::exchange(&mut req, &mut rsp).unwrap();
    }
    let mut out = [0u8; 1024];
    req.write_request(&mut out).unwrap() - 1
}

#[test]
fn psk_exchange_larger_than_the_responders_transfer_size_is_not_sent() {
    for set in SETS {
        let len = psk_exchange_len(set);
        assert!(len > 42, "PSK_EXCHANGE is {len} bytes");
        for dts in [42u32, len as u32 - 1] {
            let r = psk_session(
                set,
                PskOpts {
                    vca: Box::new(move |i, m| {
                        if i == 1 {
                            set_dts(m, dts);
                        }
                    }),
                    ..PskOpts::default()
                },
            );
            match r {
                Err((3, Error::Negotiation, Err(Error::Poisoned))) => {}
                r => panic!("DataTransferSize {dts} < {len}: {:?}", r.err()),
            }
        }
        // Exactly the request's size: fine (PSK_FINISH is smaller).
        let r = psk_session(
            set,
            PskOpts {
                vca: Box::new(move |i, m| {
                    if i == 1 {
                        set_dts(m, len as u32);
                    }
                }),
                ..PskOpts::default()
            },
        );
        r.unwrap_or_else(|e| panic!("DataTransferSize {len}: {e:?}"));
    }
}

#[test]
fn key_exchange_larger_than_the_responders_transfer_size_is_not_sent() {
    for set in SETS {
        // What KEY_EXCHANGE measures with the responder's own sizes.
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
        let (seen, r) = drive(cert_requester(set, &mut qr), &mut rsp, &mut |_, _| {});
        r.unwrap();
        let ke = seen.iter().find(|q| q[1] == 0xE4).unwrap().len();
        for (dts, ok) in [(ke as u32 - 1, false), (ke as u32, true)] {
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
            // The responder itself keeps its own DataTransferSize (1024): only what the
            // requester reads changes. CERTIFICATE portions then follow the smaller size.
            let (seen, r) = drive(cert_requester(set, &mut qr), &mut rsp, &mut |q, a| {
                if q[1] == 0xE1 {
                    set_dts(a, dts);
                }
            });
            // VCA is not in the KEY_EXCHANGE signature's way here: the rewritten
            // CAPABILITIES changes the transcript, so a sent KEY_EXCHANGE fails its
            // signature check; what matters is whether it was sent at all.
            let sent = seen.iter().any(|q| q[1] == 0xE4);
            assert_eq!(
                sent,
                ok,
                "DataTransferSize {dts}, KEY_EXCHANGE {ke}: {:?}",
                r.err()
            );
            if !ok {
                assert!(
                    matches!(r, Err((_, Error::Negotiation, _))),
                    "{:?}",
                    r.err()
                );
            }
            assert!(seen.iter().all(|q| q.len() <= dts as usize));
        }
    }
}
