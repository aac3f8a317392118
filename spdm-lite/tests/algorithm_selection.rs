//! Per-algorithm selection in NEGOTIATE_ALGORITHMS / ALGORITHMS.
//!
//! The responder's hash and signature algorithm are its key's; its DHE group and AEAD are the
//! configured ones when the requester offers them, else a stronger built one the requester
//! offers (secp384r1 for secp256r1, AES-256-GCM for AES-128-GCM), never a weaker one. The
//! requester accepts a selection whose hash and signature algorithm belong to one of its
//! configured sets and whose DHE group and AEAD it offered, in any combination. Sessions run
//! on the combination selected (the key schedule and records use its AEAD).
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]

mod common;

use common::{
    HINT, INVALID_REQUEST, PSK, TestRng, error, exchange, read, send, session_exchange, spdm_chain,
    test_config, verifier,
};
use spdm_lite::Error;
use spdm_lite::crypto::{AeadAlgo, AlgorithmSet, DheGroup, EcdsaSigningKey, RustCrypto};
use spdm_lite::msgs::key_update::KeyUpdateOp;
use spdm_lite::requester::{Auth, Requester, RequesterConfig, SessionEvent, Status};
use spdm_lite::responder::{PskConfig, Responder, ResponderConfig};

const SET_A: AlgorithmSet = AlgorithmSet::SET_A;
const SET_B: AlgorithmSet = AlgorithmSet::SET_B;

/// How the requester authenticates the responder.
#[derive(Clone, Copy, Debug)]
enum Mode {
    Cert,
    Psk,
}

/// What a run between a responder configured with `rsp_set` (its key and chain those of
/// `rsp_set`'s signature algorithm) and a requester offering `offered` ended in.
#[derive(Debug, PartialEq)]
enum Outcome {
    /// A session on these algorithms (the same on both sides), which carried a heartbeat,
    /// a key update and an END_SESSION.
    Session(AlgorithmSet),
    /// The requester's error.
    Failed(Error),
}

fn run(rsp_set: AlgorithmSet, offered: &[AlgorithmSet], mode: Mode) -> Outcome {
    // The key, chain and trust anchor belong to the signature algorithm (P-256: set A's
    // test PKI, P-384: set B's); the hash of the SPDM chain format is the configured one.
    let pki = if rsp_set.asym == SET_A.asym {
        SET_A
    } else {
        SET_B
    };
    let key = EcdsaSigningKey::from_sec1_der(rsp_set.asym, &read(pki, "leaf.key.der")).unwrap();
    let chain = spdm_chain(
        AlgorithmSet {
            hash: rsp_set.hash,
            ..pki
        },
        "chain.der",
        "root.cert.der",
    );
    let mut rrng = TestRng(0x0102_0304_0506_0708);
    let mut qrng = TestRng(0x1112_1314_1516_1718);
    let psk = matches!(mode, Mode::Psk).then_some(PskConfig {
        hint: HINT,
        key: PSK,
        with_context: true,
    });
    let mut rsp = Responder::new(
        RustCrypto,
        &key,
        &mut rrng,
        ResponderConfig {
            algorithms: rsp_set,
            cert_chain: &chain,
            psk,
            handshake_in_the_clear: false,
            data_transfer_size: 1024,
        },
    )
    .unwrap();
    let mut chain_buf = vec![0u8; 4096];
    let auth = match mode {
        Mode::Cert => Auth::Certificate {
            verifier: verifier(pki),
            chain_buf: &mut chain_buf,
            challenge: true,
        },
        Mode::Psk => Auth::Psk {
            hint: HINT,
            key: PSK,
        },
    };
    let mut req = requester(offered, auth, &mut qrng);
    let mut established = false;
    for _ in 0..32 {
        match exchange(&mut req, &mut rsp) {
            Ok(Status::Established) => {
                established = true;
                break;
            }
            Ok(_) => {}
            Err(e) => return Outcome::Failed(e),
        }
    }
    assert!(established, "the handshake did not finish");
    let mut s = req.into_session().unwrap();
    let set = s.session().unwrap().algorithms();
    assert_eq!(rsp.session().unwrap().algorithms(), set);
    assert_eq!(
        session_exchange(&mut s, &mut rsp, |s, out| s.write_heartbeat(out)).unwrap(),
        SessionEvent::HeartbeatAck
    );
    let op = KeyUpdateOp::UPDATE_ALL_KEYS;
    assert_eq!(
        session_exchange(&mut s, &mut rsp, |s, out| s.write_key_update(op, out)).unwrap(),
        SessionEvent::KeyUpdated(op)
    );
    assert_eq!(
        session_exchange(&mut s, &mut rsp, |s, out| s.write_end_session(out)).unwrap(),
        SessionEvent::Ended
    );
    assert!(rsp.session().is_none());
    Outcome::Session(set)
}

/// A requester offering `offered` (handshake not in the clear, DataTransferSize 1024).
fn requester<'a>(
    offered: &'a [AlgorithmSet],
    auth: Auth<'a>,
    rng: &'a mut TestRng,
) -> Requester<'a, RustCrypto> {
    let config = RequesterConfig {
        algorithms: offered,
        handshake_in_the_clear: false,
        data_transfer_size: 1024,
    };
    Requester::new(RustCrypto, rng, config, auth).unwrap()
}

fn with(set: AlgorithmSet, dhe: DheGroup, aead: AeadAlgo) -> AlgorithmSet {
    AlgorithmSet { dhe, aead, ..set }
}

/// A requester that does not offer set A's AES-128-GCM (spdm-emu's default offer is
/// AES-256-GCM and ChaCha20-Poly1305) gets a set A responder's session on AES-256-GCM; one
/// that offers only secp384r1 gets it on secp384r1. Before, both were refused at ALGORITHMS.
#[test]
fn set_a_responder_takes_a_stronger_offer() {
    for mode in [Mode::Cert, Mode::Psk] {
        for (dhe, aead) in [
            (DheGroup::Secp256r1, AeadAlgo::Aes256Gcm),
            (DheGroup::Secp384r1, AeadAlgo::Aes128Gcm),
            (DheGroup::Secp384r1, AeadAlgo::Aes256Gcm),
        ] {
            let offer = with(SET_A, dhe, aead);
            assert_eq!(
                run(SET_A, &[offer], mode),
                Outcome::Session(offer),
                "{mode:?} {dhe:?} {aead:?}"
            );
        }
    }
}

/// The configured algorithm is kept whenever it is offered, even next to a stronger one.
#[test]
fn configured_algorithms_are_preferred() {
    let offered = [SET_A, with(SET_A, DheGroup::Secp384r1, AeadAlgo::Aes256Gcm)];
    assert_eq!(run(SET_A, &offered, Mode::Cert), Outcome::Session(SET_A));
    assert_eq!(
        run(SET_A, &[SET_A, SET_B], Mode::Cert),
        Outcome::Session(SET_A)
    );
    assert_eq!(
        run(SET_B, &[SET_A, SET_B], Mode::Cert),
        Outcome::Session(SET_B)
    );
}

/// A responder configured with a mix (P-256 key, secp384r1, AES-256-GCM) is understood by a
/// requester offering sets A and B: the selection takes the hash and signature algorithm of
/// set A and the DHE group and AEAD of set B. The requester used to refuse it (it wanted one
/// of its sets exactly).
#[test]
fn requester_accepts_a_mixed_selection_it_offered() {
    let mixed = with(SET_A, DheGroup::Secp384r1, AeadAlgo::Aes256Gcm);
    for mode in [Mode::Cert, Mode::Psk] {
        assert_eq!(
            run(mixed, &[SET_A, SET_B], mode),
            Outcome::Session(mixed),
            "{mode:?}"
        );
    }
}

/// Never weaker than configured: a set B responder refuses an offer of AES-128-GCM or of
/// secp256r1 alone (InvalidRequest to NEGOTIATE_ALGORITHMS, which the requester reports).
#[test]
fn set_b_responder_refuses_a_weaker_offer() {
    for offer in [
        with(SET_B, DheGroup::Secp384r1, AeadAlgo::Aes128Gcm),
        with(SET_B, DheGroup::Secp256r1, AeadAlgo::Aes256Gcm),
    ] {
        let out = run(SET_B, &[offer], Mode::Cert);
        assert!(
            matches!(out, Outcome::Failed(Error::PeerError(INVALID_REQUEST))),
            "{offer:?}: {out:?}"
        );
    }
}

/// GET_VERSION and a GET_CAPABILITIES 1.2 of a requester that can open sessions (CERT, CHAL,
/// ENCRYPT, MAC, KEY_EX, PSK; DataTransferSize and MaxSPDMmsgSize 4096), as MCTP messages.
fn vca_requests() -> [Vec<u8>; 2] {
    let flags: u32 = 0x2 | 0x4 | 0x40 | 0x80 | 0x200 | 0x400;
    let mut caps = vec![0x05, 0x12, 0xE1, 0, 0, 0, 20, 0, 0];
    caps.extend_from_slice(&flags.to_le_bytes());
    caps.extend_from_slice(&4096u32.to_le_bytes());
    caps.extend_from_slice(&4096u32.to_le_bytes());
    [vec![0x05, 0x10, 0x84, 0, 0], caps]
}

/// NEGOTIATE_ALGORITHMS (MCTP message) offering the hash and signature algorithm of `set` and
/// the given DHE and AEAD bits, with the four AlgStructs (DHE, AEAD, ReqBaseAsymAlg,
/// KeySchedule).
fn negotiate(set: AlgorithmSet, dhe: u16, aead: u16) -> Vec<u8> {
    let mut m = vec![0x05, 0x12, 0xE3, 4, 0, 48, 0, 0x01, 0x02];
    m.extend_from_slice(&set.asym.bit().to_le_bytes());
    m.extend_from_slice(&set.hash.bit().to_le_bytes());
    m.extend_from_slice(&[0; 16]);
    for (ty, v) in [(2u8, dhe), (3, aead), (4, 0), (5, 0x0001)] {
        m.extend_from_slice(&[ty, 0x20]);
        m.extend_from_slice(&v.to_le_bytes());
    }
    assert_eq!(m.len(), 49);
    m
}

/// The selected DHE and AEAD bits of an ALGORITHMS answer (MCTP byte first).
fn selected(alg: &[u8]) -> (u16, u16) {
    // MCTP 1, header 4, length 2, MeasurementSpecificationSel, OtherParamsSelection,
    // MeasurementHashAlgo 4, BaseAsymSel 4, BaseHashSel 4, reserved 12, ExtAsymSelCount,
    // ExtHashSelCount, reserved 2: the AlgStructs start at 37.
    let at = |ty: u8| {
        alg[37..]
            .chunks(4)
            .find(|s| s[0] == ty)
            .map(|s| u16::from_le_bytes([s[2], s[3]]))
            .unwrap()
    };
    (at(2), at(3))
}

/// The selection rule on the wire, for every DHE and AEAD offer a set A and a set B
/// responder can get (DHE bits 0..4: FFDHE2048/3072/4096, secp256r1, secp384r1; AEAD bits
/// 0..2: AES-128-GCM, AES-256-GCM, ChaCha20-Poly1305), against the rule written out: the
/// configured bit when offered, else the stronger built one when offered, else
/// InvalidRequest. After a refusal the connection is where it was: the set's own offer gets
/// the answer a fresh responder gives it.
#[test]
fn every_offer_on_the_wire() {
    for set in [SET_A, SET_B] {
        let key = EcdsaSigningKey::from_sec1_der(set.asym, &read(set, "leaf.key.der")).unwrap();
        let chain = spdm_chain(set, "chain.der", "root.cert.der");
        let mut rng = TestRng(5);
        let mut rsp = Responder::new(RustCrypto, &key, &mut rng, test_config(set, &chain)).unwrap();
        let (own_dhe, own_aead) = (set.dhe.bit(), set.aead.bit());
        // Set A may go up to secp384r1 and AES-256-GCM; set B has nothing stronger.
        let (up_dhe, up_aead) = if set == SET_A { (0x10, 0x2) } else { (0, 0) };
        let pick = |offered: u16, own: u16, up: u16| {
            if offered & own != 0 {
                Some(own)
            } else if offered & up != 0 {
                Some(up)
            } else {
                None
            }
        };
        let own = negotiate(set, own_dhe, own_aead);
        let vca = vca_requests();
        for dhe in 0..32u16 {
            for aead in 0..8u16 {
                for m in &vca {
                    send(&mut rsp, m).unwrap();
                }
                let answer = send(&mut rsp, &negotiate(set, dhe, aead)).unwrap();
                let what = format!("{set:?}: DHE {dhe:#x}, AEAD {aead:#x}");
                match pick(dhe, own_dhe, up_dhe).zip(pick(aead, own_aead, up_aead)) {
                    Some(want) => assert_eq!(selected(&answer), want, "{what}"),
                    None => {
                        assert_eq!(answer[1..], error(INVALID_REQUEST)[..], "{what}");
                        let again = send(&mut rsp, &own).unwrap();
                        assert_eq!(selected(&again), (own_dhe, own_aead), "{what}");
                    }
                }
            }
        }
    }
}

/// An ALGORITHMS answer altered in transit (AEAD AES-128-GCM -> AES-256-GCM): a requester that
/// did not offer AES-256-GCM refuses it at once (Negotiation); one that offered it goes on, and
/// its handshake then fails, because the answer it saw is not the one in the responder's
/// transcript (the KEY_EXCHANGE_RSP signature covers both): no session either way.
#[test]
fn an_altered_selection_never_makes_a_session() {
    let key = EcdsaSigningKey::from_sec1_der(SET_A.asym, &read(SET_A, "leaf.key.der")).unwrap();
    let chain = spdm_chain(SET_A, "chain.der", "root.cert.der");
    let aes256 = with(SET_A, DheGroup::Secp256r1, AeadAlgo::Aes256Gcm);
    let offers: [&[AlgorithmSet]; 2] = [&[SET_A], &[SET_A, aes256]];
    for offered in offers {
        let mut rrng = TestRng(1);
        let mut qrng = TestRng(2);
        let mut rsp =
            Responder::new(RustCrypto, &key, &mut rrng, test_config(SET_A, &chain)).unwrap();
        let mut chain_buf = vec![0u8; 4096];
        let auth = Auth::Certificate {
            verifier: verifier(SET_A),
            chain_buf: &mut chain_buf,
            challenge: false,
        };
        let mut req = requester(offered, auth, &mut qrng);
        for _ in 0..2 {
            assert_eq!(exchange(&mut req, &mut rsp).unwrap(), Status::Continue);
        }
        let mut q = [0u8; 256];
        let n = req.write_request(&mut q).unwrap();
        let mut alg = send(&mut rsp, &q[..n]).unwrap();
        assert_eq!(selected(&alg), (SET_A.dhe.bit(), SET_A.aead.bit()));
        let aead_at = 37 + alg[37..].chunks(4).position(|s| s[0] == 3).unwrap() * 4;
        alg[aead_at + 2] = AeadAlgo::Aes256Gcm.bit() as u8;
        let r = req.handle_response(&mut alg);
        if offered.len() == 1 {
            assert_eq!(r, Err(Error::Negotiation));
            continue;
        }
        assert_eq!(r, Ok(Status::Continue));
        let mut failed = None;
        for _ in 0..16 {
            match exchange(&mut req, &mut rsp) {
                Ok(Status::Established) => panic!("a session on an altered selection"),
                Ok(_) => {}
                Err(e) => {
                    failed = Some(e);
                    break;
                }
            }
        }
        assert_eq!(failed, Some(Error::Authentication));
        assert!(req.into_session().is_err());
    }
}
