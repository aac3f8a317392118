//! Outsider round 6: the certificate flow (VCA, GET_DIGESTS, GET_CERTIFICATE, CHALLENGE,
//! KEY_EXCHANGE, FINISH in a record) with refused requests injected before every step. Our
//! requester then checks the CHALLENGE_AUTH signature (over A ‖ B ‖ C), the KEY_EXCHANGE_RSP
//! signature and verify data and the FINISH_RSP, so any refused request that entered a
//! transcript, or any state it moved, breaks the handshake.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;
mod o6;

use common::{SETS, TestRng, fixture, session_exchange};
use o6::{Rsp, ask, cert_requester_with, err_code};
use spdm_lite::requester::{SessionEvent, Status};

/// Refused requests for a negotiated responder (no measurements), with the ERROR code each
/// must get. `d`: DHE public key length, `chain_len`: the slot-0 chain's length.
fn refusals(d: usize, chain_len: usize) -> Vec<(Vec<u8>, u8)> {
    let challenge = |slot: u8, p2: u8| {
        let mut m = vec![0x12, 0x83, slot, p2];
        m.extend([0x42; 32]);
        m
    };
    let off = (chain_len as u16).to_le_bytes();
    let mut ke_short = vec![0x12, 0xE4, 0, 0, 1, 0, 0, 0];
    ke_short.extend([0x33; 32]);
    ke_short.extend(vec![0x44; d - 1]);
    vec![
        // GET_CERTIFICATE at the end of the chain, of slot 1, truncated.
        (vec![0x12, 0x82, 0, 0, off[0], off[1], 0x10, 0], 0x01),
        (vec![0x12, 0x82, 1, 0, 0, 0, 0x10, 0], 0x01),
        (vec![0x12, 0x82, 0, 0, 0, 0], 0x01),
        // CHALLENGE of slot 1, of the provisioned-key slot, with a summary hash (no
        // measurements), truncated.
        (challenge(1, 0), 0x01),
        (challenge(0xFF, 0), 0x01),
        (challenge(0, 0xFF), 0x01),
        (challenge(0, 0)[..35].to_vec(), 0x01),
        // KEY_EXCHANGE with a point cut short.
        (ke_short, 0x01),
        // Session requests in the clear.
        (vec![0x12, 0xE5, 0, 0], 0x0B),
        (vec![0x12, 0xE8, 0, 0], 0x0B),
        (vec![0x12, 0xEC, 0, 0], 0x0B),
        // Another version; an unsupported request; VCA requests again.
        (vec![0x11, 0x81, 0, 0], 0x41),
        (vec![0x13, 0x81, 0, 0], 0x41),
        (vec![0x12, 0xE0, 0, 0], 0x07),
        (vec![0x12, 0xE6, 0, 0], 0x07),
    ]
}

fn run(set: spdm_lite::crypto::AlgorithmSet, in_clear: bool) -> Vec<(u8, usize)> {
    let fx = fixture(set);
    let mut rr = TestRng(1);
    let mut config = common::test_config(set, &fx.chain);
    config.handshake_in_the_clear = in_clear;
    let mut rsp: Rsp<'_> = spdm_lite::responder::Responder::new(
        spdm_lite::crypto::RustCrypto,
        &fx.key,
        &mut rr,
        config,
    )
    .unwrap();
    let mut qr = TestRng(2);
    let mut req = cert_requester_with(set, &mut qr, in_clear);
    let list = refusals(set.dhe.public_len(), fx.chain.len());
    let mut injected = Vec::new();
    loop {
        let mut a = [0u8; 4096];
        let mut b = [0u8; 4096];
        let n = req.write_request(&mut a).unwrap();
        // Before every request after VCA (plain ones and the FINISH record alike).
        let negotiated = !matches!(
            rsp.state_name(),
            "AwaitVersion" | "AwaitCapabilities" | "AwaitAlgorithms"
        );
        if negotiated {
            let next = if a[0] == 0x05 { a[2] } else { 0xE5 };
            let handshake = rsp.state_name() == "AwaitFinish";
            for (m, code) in &list {
                let a = ask(&mut rsp, m);
                // While the handshake waits for its FINISH record, a plain request may also be
                // out of order (UnexpectedRequest) where it was refused for its content before;
                // a wrong version, a session request in the clear and a request never served
                // keep their codes. What matters is that the handshake survives.
                let got = err_code(&a);
                assert!(
                    got == Some(*code)
                        || (handshake && got == Some(0x04) && *code == 0x01)
                        || (handshake && got == Some(0x04) && m[1] == 0xE6)
                        // With HANDSHAKE_IN_THE_CLEAR a FINISH in the clear is in its place:
                        // this one is too short (InvalidRequest), and the handshake survives.
                        || (handshake && in_clear && m[1] == 0xE5 && got == Some(0x01)),
                    "{set:?} before {next:#x} in {}: {m:02x?} -> {a:02x?}",
                    rsp.state_name()
                );
            }
            injected.push((next, list.len()));
        }
        let k = rsp.handle(&mut a[..n], &mut b).unwrap();
        if req.handle_response(&mut b[..k]).unwrap() == Status::Established {
            break;
        }
    }
    let mut s = req.into_session().unwrap();
    assert_eq!(
        session_exchange(&mut s, &mut rsp, |s, o| s.write_heartbeat(o)).unwrap(),
        SessionEvent::HeartbeatAck
    );
    injected
}

#[test]
fn refusals_before_every_step_leave_the_certificate_handshake_intact() {
    for set in SETS {
        let steps = run(set, false);
        let codes: Vec<u8> = steps.iter().map(|s| s.0).collect();
        // DIGESTS, the CERTIFICATE portions, CHALLENGE, KEY_EXCHANGE and the FINISH record.
        assert_eq!(codes[0], 0x81, "{codes:02x?}");
        assert!(codes.contains(&0x82) && codes.contains(&0x83) && codes.contains(&0xE4));
        assert_eq!(*codes.last().unwrap(), 0xE5);
    }
}

#[test]
fn refusals_before_every_step_leave_the_handshake_in_the_clear_intact() {
    for set in SETS {
        let steps = run(set, true);
        let codes: Vec<u8> = steps.iter().map(|s| s.0).collect();
        assert_eq!(*codes.last().unwrap(), 0xE5, "{codes:02x?}");
    }
}
