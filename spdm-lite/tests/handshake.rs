//! In-memory requester/responder handshakes (both algorithm sets, certificate and PSK, with
//! and without HANDSHAKE_IN_THE_CLEAR), the session phase (HEARTBEAT, every KEY_UPDATE kind,
//! END_SESSION), key export agreement, and state-machine negative tests.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]

use cse_core::Direction;
use cse_core::csi2::VirtualChannel;
use spdm_lite::cert::{CertError, ChainVerifier, encode_spdm_chain};
use spdm_lite::crypto::{AlgorithmSet, AsymAlgo, EcdsaSigningKey, RandomSource, RustCrypto};
use spdm_lite::export::LinkKeyPurpose;
use spdm_lite::msgs::key_update::KeyUpdateOp;
use spdm_lite::requester::{
    Auth, Requester, RequesterConfig, RequesterSession, SessionEvent, Status,
};
use spdm_lite::responder::{PskConfig, Responder, ResponderConfig};
use spdm_lite::{CryptoError, Error};

/// Deterministic xorshift test source; never for production.
struct TestRng(u64);

impl RandomSource for TestRng {
    fn fill(&mut self, out: &mut [u8]) -> Result<(), CryptoError> {
        for b in out {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            *b = self.0 as u8;
        }
        Ok(())
    }
}

fn pki(set: AlgorithmSet) -> &'static str {
    match set.asym {
        AsymAlgo::EcdsaP256 => "p256",
        _ => "p384",
    }
}

fn read(set: AlgorithmSet, name: &str) -> Vec<u8> {
    let p = format!(
        "{}/tests/pki/{}/{name}",
        env!("CARGO_MANIFEST_DIR"),
        pki(set)
    );
    std::fs::read(&p).unwrap_or_else(|e| panic!("{p}: {e}"))
}

fn spdm_chain(set: AlgorithmSet, chain_file: &str, root_file: &str) -> Vec<u8> {
    let certs = read(set, chain_file);
    let root = read(set, root_file);
    let mut out = vec![0u8; certs.len() + 64];
    let n = encode_spdm_chain(&RustCrypto, set.hash, &root, &certs, &mut out).unwrap();
    out.truncate(n);
    out
}

/// A verifier that only extracts the leaf key (last certificate) without checking anything;
/// chain validation has its own tests.
struct LeafOnly;

impl ChainVerifier for LeafOnly {
    fn verify_chain(
        &self,
        set: AlgorithmSet,
        chain: &[u8],
        leaf_key: &mut [u8],
    ) -> Result<usize, CertError> {
        use der::Decode;
        let mut rest = &chain[4 + set.hash.len()..];
        let mut last = None;
        while !rest.is_empty() {
            assert_eq!(&rest[..2], &[0x30, 0x82]);
            let len = 4 + usize::from(u16::from_be_bytes([rest[2], rest[3]]));
            last = Some(&rest[..len]);
            rest = &rest[len..];
        }
        let cert = x509_cert::Certificate::from_der(last.unwrap()).unwrap();
        let pk = cert
            .tbs_certificate()
            .subject_public_key_info()
            .subject_public_key
            .raw_bytes();
        leaf_key[..pk.len()].copy_from_slice(pk);
        Ok(pk.len())
    }
}

const BUF: usize = 4096;

/// Runs one exchange: requester writes, responder answers, requester handles.
fn exchange<P: spdm_lite::crypto::CryptoProvider, S: spdm_lite::crypto::Signer>(
    req: &mut Requester<'_, P>,
    rsp: &mut Responder<'_, P, S>,
) -> Result<Status, Error> {
    let mut a = [0u8; BUF];
    let mut b = [0u8; BUF];
    let n = req.write_request(&mut a)?;
    let m = rsp.handle(&mut a[..n], &mut b)?;
    req.handle_response(&mut b[..m])
}

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

fn session_exchange<P: spdm_lite::crypto::CryptoProvider, S: spdm_lite::crypto::Signer>(
    s: &mut RequesterSession<P>,
    rsp: &mut Responder<'_, P, S>,
    write: impl FnOnce(&mut RequesterSession<P>, &mut [u8]) -> Result<usize, Error>,
) -> Result<SessionEvent, Error> {
    let mut a = [0u8; BUF];
    let mut b = [0u8; BUF];
    let n = write(s, &mut a)?;
    let m = rsp.handle(&mut a[..n], &mut b)?;
    s.handle_response(&mut b[..m])
}

#[derive(Clone, Copy, Debug)]
enum Mode {
    Cert { challenge: bool },
    Psk { with_context: bool },
}

struct Fixture {
    chain: Vec<u8>,
    key: EcdsaSigningKey,
}

fn fixture(set: AlgorithmSet) -> Fixture {
    Fixture {
        chain: spdm_chain(set, "chain.der", "root.cert.der"),
        key: EcdsaSigningKey::from_sec1_der(set.asym, &read(set, "leaf.key.der")).unwrap(),
    }
}

const PSK: &[u8] = b"camera link test psk, 32 bytes!!";
const HINT: &[u8] = b"cam0";

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
            verifier: &LeafOnly,
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
    assert_eq!(s.session().algorithms(), set);
    assert_eq!(s.session().id(), rsp.session().unwrap().id());

    let check_export = |s: &RequesterSession<RustCrypto>,
                        rsp: &Responder<'_, RustCrypto, EcdsaSigningKey>| {
        let a = s.session().export_master_secret();
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
        let before = s.session().key_generation();
        assert_eq!(
            session_exchange(&mut s, &mut rsp, |s, o| s.write_key_update(op, o)).unwrap(),
            SessionEvent::KeyUpdated(op)
        );
        assert!(s.session().key_generation() > before);
        assert_eq!(
            rsp.session().unwrap().key_generation(),
            s.session().key_generation()
        );
        // VerifyNewKey goes under the new request key, seq 0.
        assert_eq!(s.session().sequence_numbers().0, 0);
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
    // The README reports these numbers; keep them honest.
    assert!(rsp <= 2048, "{rsp}");
    assert!(req <= 2048, "{req}");
}
