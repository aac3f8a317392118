//! Outsider round 6: KEY_EXCHANGE and PSK_EXCHANGE fields a third-party requester may set
//! differently from ours: reserved SessionPolicy bits, the reserved byte, ReqSessionID, the
//! opaque data (absent, or listing another secured-message version).
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;
mod o6;

use common::{SETS, TestRng, fixture};
use o6::{RawPsk, Rsp, ask, cert_requester, err_code, psk_get_caps, responder, vca};
use spdm_lite::crypto::AlgorithmSet;
use spdm_lite::requester::Status;

/// Runs our requester against `rsp` until it writes KEY_EXCHANGE; returns that request (the
/// SPDM bytes, not sent).
fn until_key_exchange(set: AlgorithmSet, rsp: &mut Rsp<'_>) -> Vec<u8> {
    let mut qr = TestRng(2);
    let mut req = cert_requester(set, &mut qr);
    loop {
        let mut a = [0u8; 4096];
        let mut b = [0u8; 4096];
        let n = req.write_request(&mut a).unwrap();
        if a[2] == 0xE4 {
            return a[1..n].to_vec();
        }
        let m = rsp.handle(&mut a[..n], &mut b).unwrap();
        assert_eq!(req.handle_response(&mut b[..m]).unwrap(), Status::Continue);
    }
}

/// `ke` with its opaque data replaced by `opaque`.
fn with_opaque(set: AlgorithmSet, ke: &[u8], opaque: &[u8]) -> Vec<u8> {
    let at = 4 + 2 + 2 + 32 + set.dhe.public_len();
    let mut m = ke[..at].to_vec();
    m.extend((opaque.len() as u16).to_le_bytes());
    m.extend(opaque);
    m
}

/// OpaqueDataFmt1 listing the one secured-message version `v` (u16 entry).
fn opaque_one_version(v: u16) -> Vec<u8> {
    let e = v.to_le_bytes();
    vec![1, 0, 0, 0, 0, 0, 5, 0, 1, 1, 1, e[0], e[1], 0, 0, 0]
}

#[test]
fn key_exchange_variants_a_peer_may_send_are_accepted() {
    for set in SETS {
        let fx = fixture(set);
        let mut r0 = TestRng(1);
        let mut probe = responder(set, &fx, &mut r0);
        let ke = until_key_exchange(set, &mut probe);
        let mut accepted: Vec<(&str, Vec<u8>)> = Vec::new();
        // SessionPolicy: bit 0 TerminationPolicy; bits 7:1 reserved in 1.2 (bit 1 is 1.3's
        // EventAllPolicy), so ignored.
        for (name, p) in [("policy 1", 1u8), ("policy 2", 2), ("policy 0xFF", 0xFF)] {
            let mut m = ke.clone();
            m[6] = p;
            accepted.push((name, m));
        }
        let mut m = ke.clone();
        m[7] = 0xA5;
        accepted.push(("reserved byte", m));
        let mut m = ke.clone();
        m[4..6].copy_from_slice(&[0xFF, 0xFF]);
        accepted.push(("ReqSessionID 0xFFFF", m));
        accepted.push(("no opaque data", with_opaque(set, &ke, &[])));
        accepted.push((
            "secured-message version 1.2.1",
            with_opaque(set, &ke, &opaque_one_version(0x1210)),
        ));
        for (name, m) in accepted {
            let mut rr = TestRng(1);
            let mut rsp = responder(set, &fx, &mut rr);
            let _ = until_key_exchange(set, &mut rsp);
            let a = ask(&mut rsp, &m);
            assert_eq!(a[1], 0x64, "{set:?} {name}: {a:02x?}");
            assert_eq!(rsp.state_name(), "AwaitFinish", "{name}");
        }
    }
}

#[test]
fn key_exchange_refusals_leave_the_responder_as_a_twin() {
    for set in SETS {
        let fx = fixture(set);
        let mut r0 = TestRng(1);
        let mut probe = responder(set, &fx, &mut r0);
        let ke = until_key_exchange(set, &mut probe);
        let mut refused: Vec<Vec<u8>> = vec![
            with_opaque(set, &ke, &opaque_one_version(0x1100)),
            with_opaque(set, &ke, &opaque_one_version(0x1300)),
            with_opaque(set, &ke, &[1, 0, 0, 0]),
        ];
        let mut m = ke.clone();
        m[2] = 2; // MeasurementSummaryHashType 2: undefined.
        refused.push(m);
        let mut m = ke.clone();
        m[3] = 1; // Slot 1: no chain.
        refused.push(m);
        refused.push(ke[..ke.len() - 1].to_vec());
        let mut rr = TestRng(1);
        let mut rsp = responder(set, &fx, &mut rr);
        let _ = until_key_exchange(set, &mut rsp);
        let mut r2 = TestRng(1);
        let mut twin = responder(set, &fx, &mut r2);
        let _ = until_key_exchange(set, &mut twin);
        for m in &refused {
            let a = ask(&mut rsp, m);
            assert_eq!(err_code(&a), Some(0x01), "{set:?} {m:02x?}");
            assert_eq!(rsp.state_name(), "Negotiated");
        }
        // Nothing drawn, nothing recorded: the genuine request gets the twin's answer.
        assert_eq!(ask(&mut rsp, &ke), ask(&mut twin, &ke));
    }
}

#[test]
fn psk_exchange_with_reserved_session_policy_bits_makes_a_working_session() {
    for set in SETS {
        for policy in [1u8, 2, 0xFE] {
            let fx = fixture(set);
            let mut rr = TestRng(1);
            let mut rsp = responder(set, &fx, &mut rr);
            let mut v = vca(set);
            v.get_caps = psk_get_caps();
            let mut s = RawPsk::establish_vca(set, &mut rsp, v, policy, &mut |_, _| {});
            assert_eq!(s.ask(&mut rsp, &[0x12, 0xE8, 0, 0]), [0x12, 0x68, 0, 0]);
        }
    }
}

/// PSK_EXCHANGE with `hint`, RequesterContext `ctx`, opaque data `opaque`, Param1 `p1`.
fn psk_exchange(hint: &[u8], ctx: &[u8], opaque: &[u8], p1: u8) -> Vec<u8> {
    let mut m = vec![0x12, 0xE6, p1, 0, 0x34, 0x12];
    m.extend((hint.len() as u16).to_le_bytes());
    m.extend((ctx.len() as u16).to_le_bytes());
    m.extend((opaque.len() as u16).to_le_bytes());
    m.extend(hint);
    m.extend(ctx);
    m.extend(opaque);
    m
}

#[test]
fn psk_exchange_field_variants() {
    for set in SETS {
        let fx = fixture(set);
        let run = |m: &[u8]| -> (Vec<u8>, &'static str) {
            let mut rr = TestRng(1);
            let mut rsp = responder(set, &fx, &mut rr);
            let mut v = vca(set);
            v.get_caps = psk_get_caps();
            o6::run_vca(&mut rsp, &v);
            let a = ask(&mut rsp, m);
            (a, rsp.state_name())
        };
        // Accepted: any RequesterContext length, no opaque data (a PSK session then carries
        // no secured-message version list; the responder's opaque data is left out too).
        for m in [
            psk_exchange(common::HINT, &[], &o6::OPAQUE_VERSIONS, 0),
            psk_exchange(common::HINT, &[1; 16], &o6::OPAQUE_VERSIONS, 0),
            psk_exchange(common::HINT, &[1; 64], &o6::OPAQUE_VERSIONS, 0),
            psk_exchange(common::HINT, &[1; 32], &[], 0),
        ] {
            let (a, state) = run(&m);
            assert_eq!(a[1], 0x66, "{m:02x?}: {a:02x?}");
            assert_eq!(state, "AwaitPskFinish");
        }
        // Refused, nothing moves: another (here empty) hint, a summary hash without
        // measurements, trailing bytes.
        let mut trailing = psk_exchange(common::HINT, &[1; 32], &o6::OPAQUE_VERSIONS, 0);
        trailing.push(0);
        let genuine = psk_exchange(common::HINT, &[1; 32], &o6::OPAQUE_VERSIONS, 0);
        let (twin_answer, _) = run(&genuine);
        for m in [
            psk_exchange(&[], &[1; 32], &o6::OPAQUE_VERSIONS, 0),
            psk_exchange(common::HINT, &[1; 32], &o6::OPAQUE_VERSIONS, 1),
            trailing,
        ] {
            let mut rr = TestRng(1);
            let mut rsp = responder(set, &fx, &mut rr);
            let mut v = vca(set);
            v.get_caps = psk_get_caps();
            o6::run_vca(&mut rsp, &v);
            let a = ask(&mut rsp, &m);
            assert_eq!(err_code(&a), Some(0x01), "{m:02x?}: {a:02x?}");
            assert_eq!(rsp.state_name(), "Negotiated");
            // Nothing drawn or recorded: the genuine request then gets the twin's answer.
            assert_eq!(ask(&mut rsp, &genuine), twin_answer);
        }
    }
}
