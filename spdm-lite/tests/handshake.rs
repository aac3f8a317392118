//! In-memory requester/responder handshakes (both algorithm sets, certificate and PSK, with
//! and without HANDSHAKE_IN_THE_CLEAR), the session phase (HEARTBEAT, every KEY_UPDATE kind,
//! END_SESSION), key export agreement, and state-machine negative tests.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]

mod common;

use common::{
    Fixture, HINT, LeafPub, PSK, SETS, TestRng, encode_chain, exchange, fixture, rcgen_alg, read,
    session_exchange, spdm_chain, verifier,
};
use cse_core::Direction;
use cse_core::csi2::VirtualChannel;
use spdm_lite::Error;
use spdm_lite::cert::CertError;
use spdm_lite::crypto::{AlgorithmSet, EcdsaSigningKey, RustCrypto};
use spdm_lite::export::LinkKeyPurpose;
use spdm_lite::msgs::key_update::KeyUpdateOp;
use spdm_lite::requester::{
    Auth, Requester, RequesterConfig, RequesterSession, SessionEvent, Status,
};
use spdm_lite::responder::{PskConfig, Responder, ResponderConfig};
use spdm_lite::x509::X509Verifier;

const BUF: usize = 4096;

/// Drives the handshake to completion (quinn `drive()` style).
fn drive<P: spdm_lite::crypto::CryptoProvider, S: spdm_lite::crypto::Signer>(
    req: &mut Requester<'_, P>,
    rsp: &mut Responder<'_, P, S>,
) -> Result<usize, Error> {
    for steps in 1..64 {
        if exchange(req, rsp)? == Status::Established {
            return Ok(steps);
        }
    }
    panic!("handshake did not finish");
}

#[derive(Clone, Copy, Debug)]
enum Mode {
    Cert { challenge: bool },
    Psk { with_context: bool },
}

fn full_run(set: AlgorithmSet, mode: Mode, in_clear: bool) {
    let f = fixture(set);
    let mut rrng = TestRng(0x1111_2222_3333_4445);
    let mut qrng = TestRng(0x5555_6666_7777_8889);
    let psk = match mode {
        Mode::Psk { with_context } => Some(PskConfig {
            hint: HINT,
            key: PSK,
            with_context,
        }),
        Mode::Cert { .. } => None,
    };
    let mut rsp = Responder::new(
        RustCrypto,
        &f.key,
        &mut rrng,
        ResponderConfig {
            algorithms: set,
            cert_chain: &f.chain,
            psk,
            handshake_in_the_clear: in_clear,
            data_transfer_size: 256,
        },
    )
    .unwrap();
    let mut chain_buf = vec![0u8; 4096];
    let auth = match mode {
        Mode::Cert { challenge } => Auth::Certificate {
            verifier: verifier(set),
            chain_buf: &mut chain_buf,
            challenge,
        },
        Mode::Psk { .. } => Auth::Psk {
            hint: HINT,
            key: PSK,
        },
    };
    let offered = [AlgorithmSet::SET_A, AlgorithmSet::SET_B];
    let mut req = Requester::new(
        RustCrypto,
        &mut qrng,
        RequesterConfig {
            algorithms: &offered,
            handshake_in_the_clear: in_clear,
            data_transfer_size: 256,
        },
        auth,
    )
    .unwrap();
    let steps = drive(&mut req, &mut rsp).unwrap();
    assert!(steps >= 4, "{steps}");
    if let Mode::Cert { .. } = mode {
        // 256-byte transfers: the chain needed several GET_CERTIFICATE portions.
        assert!(f.chain.len() > 2 * 248);
        assert_eq!(
            req.peer_chain(),
            None,
            "chain is only kept during the handshake"
        );
    }
    assert_eq!(rsp.state_name(), "Established");
    let mut s = req.into_session().unwrap();
    assert_eq!(s.session().unwrap().algorithms(), set);
    assert_eq!(s.session().unwrap().id(), rsp.session().unwrap().id());

    let check_export = |s: &RequesterSession<RustCrypto>,
                        rsp: &Responder<'_, RustCrypto, EcdsaSigningKey>| {
        let a = s.session().unwrap().export_master_secret();
        let b = rsp.session().unwrap().export_master_secret();
        assert_eq!(a.as_bytes(), b.as_bytes());
        let profile = cse_core::Profile::DRAFT_1;
        for purpose in [LinkKeyPurpose::StreamKey, LinkKeyPurpose::CciseKey] {
            let (mut ka, mut kb) = ([0u8; 32], [0u8; 32]);
            let vc = VirtualChannel::new(1).unwrap();
            a.derive_link_key(
                &RustCrypto,
                &profile,
                purpose,
                Direction::SensorToController,
                vc,
                0,
                &mut ka,
            )
            .unwrap();
            b.derive_link_key(
                &RustCrypto,
                &profile,
                purpose,
                Direction::SensorToController,
                vc,
                0,
                &mut kb,
            )
            .unwrap();
            assert_eq!(ka, kb);
            assert_ne!(ka, [0u8; 32]);
        }
    };
    check_export(&s, &rsp);

    assert_eq!(
        session_exchange(&mut s, &mut rsp, |s, o| s.write_heartbeat(o)).unwrap(),
        SessionEvent::HeartbeatAck
    );
    for op in [KeyUpdateOp::UPDATE_KEY, KeyUpdateOp::UPDATE_ALL_KEYS] {
        let before = s.session().unwrap().key_generation();
        assert_eq!(
            session_exchange(&mut s, &mut rsp, |s, o| s.write_key_update(op, o)).unwrap(),
            SessionEvent::KeyUpdated(op)
        );
        assert!(s.session().unwrap().key_generation() > before);
        assert_eq!(
            rsp.session().unwrap().key_generation(),
            s.session().unwrap().key_generation()
        );
        // VerifyNewKey goes under the new request key, seq 0.
        assert_eq!(s.session().unwrap().sequence_numbers().0, 0);
        assert_eq!(
            session_exchange(&mut s, &mut rsp, |s, o| s
                .write_key_update(KeyUpdateOp::VERIFY_NEW_KEY, o))
            .unwrap(),
            SessionEvent::KeyUpdated(KeyUpdateOp::VERIFY_NEW_KEY)
        );
        assert_eq!(
            session_exchange(&mut s, &mut rsp, |s, o| s.write_heartbeat(o)).unwrap(),
            SessionEvent::HeartbeatAck
        );
    }
    // KEY_UPDATE changes traffic keys, not the export master secret.
    check_export(&s, &rsp);
    assert_eq!(
        session_exchange(&mut s, &mut rsp, |s, o| s.write_end_session(o)).unwrap(),
        SessionEvent::Ended
    );
    assert!(s.is_ended());
    assert!(rsp.session().is_none());
    assert_eq!(rsp.state_name(), "Negotiated");
}

#[test]
fn set_a_certificate_handshake_with_challenge_and_session_lifecycle() {
    full_run(AlgorithmSet::SET_A, Mode::Cert { challenge: true }, false);
}

#[test]
fn set_a_certificate_handshake_in_the_clear() {
    full_run(AlgorithmSet::SET_A, Mode::Cert { challenge: false }, true);
}

#[test]
fn set_b_certificate_handshake_with_challenge_and_session_lifecycle() {
    full_run(AlgorithmSet::SET_B, Mode::Cert { challenge: true }, false);
}

#[test]
fn set_b_certificate_handshake_in_the_clear() {
    full_run(AlgorithmSet::SET_B, Mode::Cert { challenge: false }, true);
}

#[test]
fn set_a_psk_with_and_without_psk_finish() {
    full_run(AlgorithmSet::SET_A, Mode::Psk { with_context: true }, false);
    full_run(
        AlgorithmSet::SET_A,
        Mode::Psk {
            with_context: false,
        },
        false,
    );
}

#[test]
fn set_b_psk_with_and_without_psk_finish() {
    full_run(AlgorithmSet::SET_B, Mode::Psk { with_context: true }, false);
    full_run(
        AlgorithmSet::SET_B,
        Mode::Psk {
            with_context: false,
        },
        false,
    );
}

#[test]
fn responder_and_requester_state_sizes_stay_small() {
    let rsp = core::mem::size_of::<Responder<'static, RustCrypto, EcdsaSigningKey>>();
    let req = core::mem::size_of::<Requester<'static, RustCrypto>>();
    let ses = core::mem::size_of::<RequesterSession<RustCrypto>>();
    println!("Responder {rsp} B, Requester {req} B, RequesterSession {ses} B");
    // The README reports these numbers (2064, 1760, 1424); keep them honest.
    assert!(rsp <= 2112, "{rsp}");
    assert!(req <= 1792, "{req}");
    assert!(ses <= 1472, "{ses}");
}

// ---------------------------------------------------------------------------------------
// Negative tests at the state-machine level.

struct Pair {
    f: Fixture,
    rrng: TestRng,
    qrng: TestRng,
    chain_buf: Vec<u8>,
}

fn pair(set: AlgorithmSet) -> Pair {
    Pair {
        f: fixture(set),
        rrng: TestRng(0x0123_4567_89ab_cdef),
        qrng: TestRng(0xfedc_ba98_7654_3211),
        chain_buf: vec![0u8; 4096],
    }
}

fn responder<'a>(
    p: &'a mut Pair,
    set: AlgorithmSet,
    psk_key: &'a [u8],
    in_clear: bool,
) -> (
    Responder<'a, RustCrypto, EcdsaSigningKey>,
    &'a mut TestRng,
    &'a mut Vec<u8>,
) {
    let rsp = Responder::new(
        RustCrypto,
        &p.f.key,
        &mut p.rrng,
        ResponderConfig {
            algorithms: set,
            cert_chain: &p.f.chain,
            psk: Some(PskConfig {
                hint: HINT,
                key: psk_key,
                with_context: true,
            }),
            handshake_in_the_clear: in_clear,
            data_transfer_size: 1024,
        },
    )
    .unwrap();
    (rsp, &mut p.qrng, &mut p.chain_buf)
}

fn requester<'a>(
    rng: &'a mut TestRng,
    auth: Auth<'a>,
    in_clear: bool,
) -> Requester<'a, RustCrypto> {
    Requester::new(
        RustCrypto,
        rng,
        RequesterConfig {
            algorithms: &SETS,
            handshake_in_the_clear: in_clear,
            data_transfer_size: 1024,
        },
        auth,
    )
    .unwrap()
}

/// Drives the handshake, letting `tamper` change each response (by its SPDM code, plain
/// responses only) before the requester sees it. Returns the requester's first error.
fn drive_tampered(
    req: &mut Requester<'_, RustCrypto>,
    rsp: &mut Responder<'_, RustCrypto, EcdsaSigningKey>,
    tamper_req: &dyn Fn(&mut [u8]),
    tamper_rsp: &dyn Fn(&mut [u8]),
) -> Result<(), Error> {
    for _ in 0..64 {
        let mut a = [0u8; BUF];
        let mut b = [0u8; BUF];
        let n = req.write_request(&mut a)?;
        tamper_req(&mut a[..n]);
        let m = rsp.handle(&mut a[..n], &mut b)?;
        tamper_rsp(&mut b[..m]);
        if req.handle_response(&mut b[..m])? == Status::Established {
            return Ok(());
        }
    }
    panic!("no end");
}

fn flip_in(code: u8, at_end_minus: usize) -> impl Fn(&mut [u8]) {
    move |m: &mut [u8]| {
        if m.len() > 2 && m[0] == 0x05 && m[2] == code {
            let i = m.len() - 1 - at_end_minus;
            m[i] ^= 0x01;
        }
    }
}

#[test]
fn tampered_key_exchange_rsp_signature_is_refused_by_the_requester() {
    for set in SETS {
        let mut p = pair(set);
        let (mut rsp, rng, buf) = responder(&mut p, set, PSK, true);
        let auth = Auth::Certificate {
            verifier: verifier(set),
            chain_buf: buf,
            challenge: false,
        };
        let mut req = requester(rng, auth, true);
        // In the clear the signature is the last field of KEY_EXCHANGE_RSP.
        let r = drive_tampered(&mut req, &mut rsp, &|_| {}, &flip_in(0x64, 3));
        assert_eq!(r, Err(Error::Authentication));
        // The requester is poisoned afterwards.
        let mut o = [0u8; 64];
        assert_eq!(req.write_request(&mut o), Err(Error::Poisoned));
    }
}

#[test]
fn tampered_challenge_auth_signature_is_refused() {
    let set = AlgorithmSet::SET_A;
    let mut p = pair(set);
    let (mut rsp, rng, buf) = responder(&mut p, set, PSK, false);
    let auth = Auth::Certificate {
        verifier: verifier(set),
        chain_buf: buf,
        challenge: true,
    };
    let mut req = requester(rng, auth, false);
    let r = drive_tampered(&mut req, &mut rsp, &|_| {}, &flip_in(0x03, 0));
    assert_eq!(r, Err(Error::Authentication));
}

#[test]
fn tampered_responder_verify_data_in_key_exchange_rsp_is_refused() {
    let set = AlgorithmSet::SET_B;
    let mut p = pair(set);
    let (mut rsp, rng, buf) = responder(&mut p, set, PSK, false);
    let auth = Auth::Certificate {
        verifier: verifier(set),
        chain_buf: buf,
        challenge: false,
    };
    let mut req = requester(rng, auth, false);
    // Without HS-in-clear the verify data ends KEY_EXCHANGE_RSP.
    let r = drive_tampered(&mut req, &mut rsp, &|_| {}, &flip_in(0x64, 0));
    assert_eq!(r, Err(Error::Authentication));
}

#[test]
fn tampered_requester_finish_verify_data_gets_decrypt_error_and_responder_recovers() {
    for set in SETS {
        let mut p = pair(set);
        let (mut rsp, rng, buf) = responder(&mut p, set, PSK, true);
        let auth = Auth::Certificate {
            verifier: verifier(set),
            chain_buf: buf,
            challenge: false,
        };
        let mut req = requester(rng, auth, true);
        // In the clear FINISH is a plain message; flip its last verify-data byte.
        let r = drive_tampered(&mut req, &mut rsp, &flip_in(0xE5, 0), &|_| {});
        assert_eq!(r, Err(Error::PeerError(0x06)), "DecryptError");
        assert_eq!(rsp.state_name(), "Negotiated");
        assert!(rsp.session().is_none());
    }
}

#[test]
fn tampered_finish_rsp_verify_data_in_the_clear_is_refused() {
    let set = AlgorithmSet::SET_A;
    let mut p = pair(set);
    let (mut rsp, rng, buf) = responder(&mut p, set, PSK, true);
    let auth = Auth::Certificate {
        verifier: verifier(set),
        chain_buf: buf,
        challenge: false,
    };
    let mut req = requester(rng, auth, true);
    let r = drive_tampered(&mut req, &mut rsp, &|_| {}, &flip_in(0x65, 0));
    assert_eq!(r, Err(Error::Authentication));
}

#[test]
fn wrong_psk_is_refused_by_the_requester() {
    for set in SETS {
        let mut p = pair(set);
        let (mut rsp, rng, _) = responder(&mut p, set, b"the responder's other psk", false);
        let mut req = requester(
            rng,
            Auth::Psk {
                hint: HINT,
                key: PSK,
            },
            false,
        );
        assert_eq!(drive(&mut req, &mut rsp), Err(Error::Authentication));
    }
}

#[test]
fn wrong_psk_hint_gets_invalid_request() {
    let set = AlgorithmSet::SET_A;
    let mut p = pair(set);
    let (mut rsp, rng, _) = responder(&mut p, set, PSK, false);
    let mut req = requester(
        rng,
        Auth::Psk {
            hint: b"cam9",
            key: PSK,
        },
        false,
    );
    assert_eq!(drive(&mut req, &mut rsp), Err(Error::PeerError(0x01)));
}

fn established<'a>(
    p: &'a mut Pair,
    set: AlgorithmSet,
) -> (
    Responder<'a, RustCrypto, EcdsaSigningKey>,
    RequesterSession<RustCrypto>,
) {
    let (mut rsp, rng, buf) = responder(p, set, PSK, false);
    let auth = Auth::Certificate {
        verifier: verifier(set),
        chain_buf: buf,
        challenge: false,
    };
    let mut req = requester(rng, auth, false);
    drive(&mut req, &mut rsp).unwrap();
    (rsp, req.into_session().unwrap())
}

#[test]
fn replayed_and_reordered_records_are_dropped_without_answer_and_the_session_goes_on() {
    for set in SETS {
        let mut p = pair(set);
        let (mut rsp, mut s) = established(&mut p, set);
        let mut a = [0u8; BUF];
        let mut b = [0u8; BUF];
        let n = s.write_heartbeat(&mut a).unwrap();
        let first = a[..n].to_vec();
        let m = rsp.handle(&mut a[..n], &mut b).unwrap();
        let first_ack = b[..m].to_vec();
        assert_eq!(
            s.handle_response(&mut b[..m]),
            Ok(SessionEvent::HeartbeatAck)
        );

        // Replayed request: no answer, responder state unchanged.
        let mut replay = first.clone();
        assert_eq!(rsp.handle(&mut replay, &mut b), Err(Error::BadSequence));
        // A record claiming a later sequence number (reordered / one lost): refused.
        let n = s.write_heartbeat(&mut a).unwrap();
        let mut ahead = a[..n].to_vec();
        ahead[5] = ahead[5].wrapping_add(1);
        assert_eq!(rsp.handle(&mut ahead, &mut b), Err(Error::BadSequence));
        // A tampered record: no answer either.
        let mut bad = a[..n].to_vec();
        bad[n - 1] ^= 1;
        assert_eq!(rsp.handle(&mut bad, &mut b), Err(Error::Authentication));
        // The genuine record still goes through.
        let m = rsp.handle(&mut a[..n], &mut b).unwrap();
        // The requester refuses a replayed ACK, then accepts the real one.
        let mut old = first_ack.clone();
        assert_eq!(s.handle_response(&mut old), Err(Error::BadSequence));
        assert_eq!(
            s.handle_response(&mut b[..m]),
            Ok(SessionEvent::HeartbeatAck)
        );
        // A response without an outstanding request is refused.
        let mut again = b[..m].to_vec();
        assert_eq!(s.handle_response(&mut again), Err(Error::UnexpectedMessage));
    }
}

fn plain_request(rsp: &mut Responder<'_, RustCrypto, EcdsaSigningKey>, spdm: &[u8]) -> Vec<u8> {
    let mut a = vec![0x05];
    a.extend_from_slice(spdm);
    let mut b = [0u8; BUF];
    let m = rsp.handle(&mut a, &mut b).unwrap();
    b[..m].to_vec()
}

#[test]
fn responder_answers_bad_requests_with_the_right_error_and_keeps_running() {
    let set = AlgorithmSet::SET_A;
    let mut p = pair(set);
    let (mut rsp, rng, buf) = responder(&mut p, set, PSK, false);
    // Before GET_VERSION: anything else is unexpected.
    assert_eq!(
        plain_request(&mut rsp, &[0x12, 0x81, 0, 0]),
        [0x05, 0x10, 0x7F, 0x04, 0x00]
    );
    // GET_VERSION must carry version 1.0.
    assert_eq!(
        plain_request(&mut rsp, &[0x12, 0x84, 0, 0]),
        [0x05, 0x10, 0x7F, 0x41, 0x00]
    );
    let v = plain_request(&mut rsp, &[0x10, 0x84, 0, 0]);
    assert_eq!(v, [0x05, 0x10, 0x04, 0, 0, 0, 1, 0x00, 0x12]);
    // Until a GET_CAPABILITIES is accepted no version is negotiated: ERRORs carry 0x10.
    // Out of order: GET_DIGESTS before CAPABILITIES/ALGORITHMS.
    assert_eq!(
        plain_request(&mut rsp, &[0x12, 0x81, 0, 0]),
        [0x05, 0x10, 0x7F, 0x04, 0x00]
    );
    // Wrong version after VERSION.
    assert_eq!(
        plain_request(&mut rsp, &[0x11, 0xE1, 0, 0]),
        [0x05, 0x10, 0x7F, 0x41, 0x00]
    );
    // Unsupported: GET_MEASUREMENTS; data = the request code.
    assert_eq!(
        plain_request(&mut rsp, &[0x12, 0xE0, 0, 0]),
        [0x05, 0x10, 0x7F, 0x07, 0xE0]
    );
    // Invalid: a truncated GET_CAPABILITIES (of version 1.2, so refused in 1.2).
    assert_eq!(
        plain_request(&mut rsp, &[0x12, 0xE1, 0, 0, 0]),
        [0x05, 0x12, 0x7F, 0x01, 0x00]
    );
    // Invalid: a header shorter than 4 bytes.
    assert_eq!(
        plain_request(&mut rsp, &[0x12]),
        [0x05, 0x10, 0x7F, 0x01, 0x00]
    );
    // Still running: a full handshake from GET_VERSION works.
    let auth = Auth::Certificate {
        verifier: verifier(set),
        chain_buf: buf,
        challenge: true,
    };
    let mut req = requester(rng, auth, false);
    drive(&mut req, &mut rsp).unwrap();
    // FINISH again, in the clear, once established: it belongs inside a session.
    let mut fin = vec![0x12, 0xE5, 0, 0];
    fin.extend_from_slice(&[0u8; 32]);
    assert_eq!(
        plain_request(&mut rsp, &fin),
        [0x05, 0x12, 0x7F, 0x0B, 0x00]
    );
    assert!(rsp.session().is_some());
    // The session opened after the errors works.
    let mut s = req.into_session().unwrap();
    assert_eq!(
        session_exchange(&mut s, &mut rsp, |s, o| s.write_heartbeat(o)).unwrap(),
        SessionEvent::HeartbeatAck
    );
}

#[test]
fn requester_refuses_a_response_of_the_wrong_kind() {
    let set = AlgorithmSet::SET_A;
    let mut p = pair(set);
    let (_rsp, rng, buf) = responder(&mut p, set, PSK, false);
    let auth = Auth::Certificate {
        verifier: verifier(set),
        chain_buf: buf,
        challenge: false,
    };
    let mut req = requester(rng, auth, false);
    let mut a = [0u8; 64];
    let _ = req.write_request(&mut a).unwrap();
    // CAPABILITIES instead of VERSION.
    let mut wrong = [0x05, 0x12, 0x61, 0, 0];
    assert!(req.handle_response(&mut wrong).is_err());
    assert_eq!(req.handle_response(&mut wrong), Err(Error::Poisoned));
    // Writing twice without a response is refused too.
    let mut p2 = pair(set);
    let (_r, rng2, _) = responder(&mut p2, set, PSK, false);
    let mut q = requester(
        rng2,
        Auth::Psk {
            hint: HINT,
            key: PSK,
        },
        false,
    );
    let _ = q.write_request(&mut a).unwrap();
    assert_eq!(q.write_request(&mut a), Err(Error::UnexpectedMessage));
}

#[test]
fn a_responder_chain_from_another_root_is_refused_by_the_requester() {
    for set in SETS {
        let chain = spdm_chain(set, "other_chain.der", "other_root.cert.der");
        let key =
            EcdsaSigningKey::from_sec1_der(set.asym, &read(set, "other_leaf.key.der")).unwrap();
        let mut rrng = TestRng(7);
        let mut qrng = TestRng(9);
        let mut rsp = Responder::new(
            RustCrypto,
            &key,
            &mut rrng,
            ResponderConfig {
                algorithms: set,
                cert_chain: &chain,
                psk: None,
                handshake_in_the_clear: false,
                data_transfer_size: 1024,
            },
        )
        .unwrap();
        let mut buf = vec![0u8; 4096];
        let auth = Auth::Certificate {
            verifier: verifier(set),
            chain_buf: &mut buf,
            challenge: false,
        };
        let mut req = requester(&mut qrng, auth, false);
        assert_eq!(
            drive(&mut req, &mut rsp),
            Err(Error::Certificate(CertError::UntrustedRoot))
        );
    }
}

#[test]
fn a_responder_leaf_without_digital_signature_is_refused_by_the_requester() {
    for set in SETS {
        let chain = spdm_chain(set, "bad_usage_chain.der", "root.cert.der");
        let key = EcdsaSigningKey::from_sec1_der(set.asym, &read(set, "leaf.key.der")).unwrap();
        let mut rrng = TestRng(7);
        let mut qrng = TestRng(9);
        let mut rsp = Responder::new(
            RustCrypto,
            &key,
            &mut rrng,
            ResponderConfig {
                algorithms: set,
                cert_chain: &chain,
                psk: None,
                handshake_in_the_clear: false,
                data_transfer_size: 1024,
            },
        )
        .unwrap();
        let mut buf = vec![0u8; 4096];
        let auth = Auth::Certificate {
            verifier: verifier(set),
            chain_buf: &mut buf,
            challenge: true,
        };
        let mut req = requester(&mut qrng, auth, false);
        assert_eq!(
            drive(&mut req, &mut rsp),
            Err(Error::Certificate(CertError::LeafKeyUsage))
        );
    }
}

/// The committed leaf key, certified under a fresh rcgen root and intermediate with the given
/// leaf extended key usage; returns (root DER, SPDM chain).
fn chain_with_leaf_eku(set: AlgorithmSet, eku: &[u64]) -> (Vec<u8>, Vec<u8>) {
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer,
        KeyPair, KeyUsagePurpose,
    };
    let alg = rcgen_alg(set);
    let params = |cn: &str, ca: bool| {
        let mut p = CertificateParams::default();
        p.distinguished_name.push(DnType::CommonName, cn);
        if ca {
            p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
            p.key_usages = vec![KeyUsagePurpose::KeyCertSign];
        } else {
            p.is_ca = IsCa::ExplicitNoCa;
            p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
            p.extended_key_usages = vec![ExtendedKeyUsagePurpose::Other(eku.to_vec())];
        }
        p
    };
    let (root_p, inter_p, leaf_p) = (
        params("root", true),
        params("inter", true),
        params("leaf", false),
    );
    let root_k = KeyPair::generate_for(alg).unwrap();
    let inter_k = KeyPair::generate_for(alg).unwrap();
    let sk = EcdsaSigningKey::from_sec1_der(set.asym, &read(set, "leaf.key.der")).unwrap();
    let mut pk = [0u8; 97];
    let n = sk.public_key_sec1(&mut pk).unwrap();
    let root = root_p.self_signed(&root_k).unwrap().der().to_vec();
    let inter = inter_p
        .signed_by(&inter_k, &Issuer::from_params(&root_p, &root_k))
        .unwrap();
    let leaf = leaf_p
        .signed_by(
            &LeafPub(pk[..n].to_vec(), alg),
            &Issuer::from_params(&inter_p, &inter_k),
        )
        .unwrap();
    let certs = [&root[..], inter.der(), leaf.der()].concat();
    let chain = encode_chain(set, &certs, &root);
    (root, chain)
}

#[test]
fn a_requester_only_certificate_is_refused_as_the_responder_identity() {
    const RESPONDER_AUTH: [u64; 9] = [1, 3, 6, 1, 4, 1, 412, 274, 3];
    const REQUESTER_AUTH: [u64; 9] = [1, 3, 6, 1, 4, 1, 412, 274, 4];
    for set in SETS {
        for (eku, want) in [
            (
                REQUESTER_AUTH,
                Err(Error::Certificate(CertError::LeafExtendedKeyUsage)),
            ),
            (RESPONDER_AUTH, Ok(())),
        ] {
            let (root, chain) = chain_with_leaf_eku(set, &eku);
            let key = EcdsaSigningKey::from_sec1_der(set.asym, &read(set, "leaf.key.der")).unwrap();
            let mut rrng = TestRng(7);
            let mut qrng = TestRng(9);
            let mut rsp = Responder::new(
                RustCrypto,
                &key,
                &mut rrng,
                ResponderConfig {
                    algorithms: set,
                    cert_chain: &chain,
                    psk: None,
                    handshake_in_the_clear: false,
                    data_transfer_size: 1024,
                },
            )
            .unwrap();
            let verifier = X509Verifier::new(RustCrypto, &root);
            let mut buf = vec![0u8; 4096];
            let auth = Auth::Certificate {
                verifier: &verifier,
                chain_buf: &mut buf,
                challenge: true,
            };
            let mut req = requester(&mut qrng, auth, false);
            // The requester validates the chain as a responder identity.
            assert_eq!(drive(&mut req, &mut rsp).map(|_| ()), want);
            assert_eq!(req.is_established(), want.is_ok());
        }
    }
}
