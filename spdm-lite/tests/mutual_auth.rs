//! Session mutual authentication in memory: the three responder modes (provisioned public
//! key, provisioned chain hash, certificate chain fetched with encapsulated requests) for
//! algorithm sets A and B, with and without HANDSHAKE_IN_THE_CLEAR, the policy (mandatory or
//! not), and the refusals: each asserts that no session exists on either side afterwards.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]

mod common;

use common::{SETS, TestRng, hash, read, spdm_chain};
use spdm_lite::crypto::{AlgorithmSet, AsymAlgo, EcdsaSigningKey, RustCrypto, Signer};
use spdm_lite::msgs::capabilities::CapFlags;
use spdm_lite::mut_auth::{MutAuthMode, MutAuthPolicy, RequesterIdentity, spki_from_point};
use spdm_lite::requester::{Auth, Requester, RequesterConfig, SessionEvent, Status};
use spdm_lite::responder::{Responder, ResponderConfig};
use spdm_lite::session::RequesterAuth;
use spdm_lite::x509::{ValidationOptions, X509Verifier};
use spdm_lite::{CryptoError, Error};

fn spki(set: AlgorithmSet, key: &EcdsaSigningKey) -> Vec<u8> {
    let mut point = [0u8; 97];
    let n = key.public_key_sec1(&mut point).unwrap();
    let mut out = [0u8; 128];
    let m = spki_from_point(set.asym, &point[..n], &mut out).unwrap();
    out[..m].to_vec()
}

/// A signer whose signatures have one bit flipped (a requester with a broken key).
struct FlippingSigner(EcdsaSigningKey);

impl Signer for FlippingSigner {
    fn algorithm(&self) -> AsymAlgo {
        self.0.algorithm()
    }
    fn sign_prehash(&self, prehash: &[u8], out: &mut [u8]) -> Result<usize, CryptoError> {
        let n = self.0.sign_prehash(prehash, out)?;
        out[n / 2] ^= 0x01;
        Ok(n)
    }
}

/// The requester (ECU) material: its chain (SPDM format), key and SPKI.
struct Ecu {
    chain: Vec<u8>,
    key: EcdsaSigningKey,
    spki: Vec<u8>,
}

fn ecu(set: AlgorithmSet, chain_file: &str, root_file: &str, key_file: &str) -> Ecu {
    let key = EcdsaSigningKey::from_sec1_der(set.asym, &read(set, key_file)).unwrap();
    Ecu {
        chain: spdm_chain(set, chain_file, root_file),
        spki: spki(set, &key),
        key,
    }
}

fn genuine(set: AlgorithmSet) -> Ecu {
    ecu(set, "req_chain.der", "root.cert.der", "req_leaf.key.der")
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Mode {
    PublicKey,
    ChainHash,
    Certificate,
}

const BUF: usize = 4096;

/// What a handshake attempt left behind.
struct Outcome {
    result: Result<(), Error>,
    /// The responder's last answer (the ERROR, if it refused).
    last_response: Vec<u8>,
    rsp_auth: Option<RequesterAuth>,
    rsp_state: &'static str,
    req_auth: Option<RequesterAuth>,
    /// A HEARTBEAT in the session went through (both sides hold the same keys).
    heartbeat: bool,
}

/// A change to a message on the wire.
type Tamper = dyn Fn(&mut Vec<u8>);

/// The responder's view of the provisioned requester, and the requester's own identity.
struct Case<'a> {
    set: AlgorithmSet,
    mode: Mode,
    mandatory: bool,
    in_clear: bool,
    /// What the responder is provisioned with (key / chain hash) or trusts (root).
    provisioned: &'a Ecu,
    /// The requester's identity, if it does mutual authentication.
    requester: Option<(&'a Ecu, &'a dyn Signer)>,
    /// Changes the requester's FINISH on the wire (HANDSHAKE_IN_THE_CLEAR only).
    tamper_finish: Option<&'a Tamper>,
    /// Root the certificate mode trusts.
    root: &'a [u8],
}

fn run(c: &Case<'_>) -> Outcome {
    let set = c.set;
    let rsp_chain = spdm_chain(set, "chain.der", "root.cert.der");
    let rsp_key = EcdsaSigningKey::from_sec1_der(set.asym, &read(set, "leaf.key.der")).unwrap();
    let mut rrng = TestRng(0x1234_5678_9abc_def1);
    let mut qrng = TestRng(0x0fed_cba9_8765_4321);
    let mut rsp = Responder::new(
        RustCrypto,
        &rsp_key,
        &mut rrng,
        ResponderConfig {
            algorithms: set,
            cert_chain: &rsp_chain,
            psk: None,
            handshake_in_the_clear: c.in_clear,
            data_transfer_size: 512,
        },
    )
    .unwrap();
    let verifier =
        X509Verifier::with_options(RustCrypto, c.root, ValidationOptions::new().strict_eku());
    let mut chain_buf = [0u8; 2048];
    let chain_hash = hash(set, &[&c.provisioned.chain]);
    let mode = match c.mode {
        Mode::PublicKey => MutAuthMode::PublicKey {
            spki: &c.provisioned.spki,
        },
        Mode::ChainHash => MutAuthMode::ChainHash {
            chain_hash: &chain_hash,
            spki: &c.provisioned.spki,
        },
        Mode::Certificate => MutAuthMode::Certificate {
            verifier: &verifier,
            chain_buf: &mut chain_buf,
        },
    };
    rsp.set_mut_auth(MutAuthPolicy {
        mode,
        mandatory: c.mandatory,
    });
    assert!(rsp.capabilities().has(CapFlags::MUT_AUTH | CapFlags::ENCAP));

    let rsp_root = read(set, "root.cert.der");
    let rsp_verifier = X509Verifier::new(RustCrypto, &rsp_root);
    let mut rsp_chain_buf = [0u8; 4096];
    let sets = [set];
    let mut req = Requester::new(
        RustCrypto,
        &mut qrng,
        RequesterConfig {
            algorithms: &sets,
            handshake_in_the_clear: c.in_clear,
            data_transfer_size: 512,
        },
        Auth::Certificate {
            verifier: &rsp_verifier,
            chain_buf: &mut rsp_chain_buf,
            challenge: false,
        },
    )
    .unwrap();
    if let Some((ecu, signer)) = c.requester {
        req = req.with_mutual_auth(RequesterIdentity {
            signer,
            cert_chain: &ecu.chain,
            public_key: Some(&ecu.spki),
        });
    }

    let mut last_response = Vec::new();
    let mut result = Err(Error::UnexpectedMessage);
    for _ in 0..64 {
        let mut a = [0u8; BUF];
        let mut b = [0u8; BUF];
        let step = (|| {
            let n = req.write_request(&mut a)?;
            let mut msg = a[..n].to_vec();
            if let Some(t) = c.tamper_finish
                && msg.len() > 2
                && msg[0] == 0x05
                && msg[2] == 0xE5
            {
                t(&mut msg);
            }
            let m = rsp.handle(&mut msg, &mut b)?;
            last_response = b[..m].to_vec();
            req.handle_response(&mut b[..m])
        })();
        match step {
            Ok(Status::Established) => {
                result = Ok(());
                break;
            }
            Ok(_) => {}
            Err(e) => {
                result = Err(e);
                break;
            }
        }
    }
    let rsp_auth = rsp.session().map(|s| s.requester_auth());
    let rsp_state = rsp.state_name();
    let mut heartbeat = false;
    let mut req_auth = None;
    if result.is_ok() {
        let mut s = req.into_session().unwrap();
        req_auth = s.session().map(|s| s.requester_auth());
        let mut a = [0u8; BUF];
        let mut b = [0u8; BUF];
        let n = s.write_heartbeat(&mut a).unwrap();
        let m = rsp.handle(&mut a[..n], &mut b).unwrap();
        heartbeat = s.handle_response(&mut b[..m]).unwrap() == SessionEvent::HeartbeatAck;
    } else {
        assert!(!req.is_established());
    }
    Outcome {
        result,
        last_response,
        rsp_auth,
        rsp_state,
        req_auth,
        heartbeat,
    }
}

fn case<'a>(set: AlgorithmSet, mode: Mode, ecu: &'a Ecu, root: &'a [u8]) -> Case<'a> {
    Case {
        set,
        mode,
        mandatory: true,
        in_clear: false,
        provisioned: ecu,
        requester: Some((ecu, &ecu.key)),
        tamper_finish: None,
        root,
    }
}

fn assert_mutual(o: &Outcome) {
    o.result.as_ref().unwrap();
    assert_eq!(o.rsp_auth, Some(RequesterAuth::Signature));
    assert_eq!(o.req_auth, Some(RequesterAuth::Signature));
    assert!(o.heartbeat);
}

/// Refused: no session on either side, the responder back at the negotiated connection (the
/// handshake secrets dropped), and, when `error` is given, that ERROR code was its answer.
fn assert_refused(o: &Outcome, error: Option<u8>) {
    assert!(o.result.is_err(), "handshake must fail");
    assert_eq!(o.rsp_auth, None, "the responder must hold no session");
    assert_eq!(o.req_auth, None);
    assert!(!o.heartbeat);
    assert_eq!(o.rsp_state, "Negotiated");
    if let Some(code) = error {
        // A plain ERROR: 05 | 12 7F code 00.
        assert_eq!(&o.last_response[..4], &[0x05, 0x12, 0x7F, code]);
    }
}

#[test]
fn every_mode_authenticates_the_requester_for_sets_a_and_b_and_in_the_clear() {
    for set in SETS {
        let e = genuine(set);
        let root = read(set, "root.cert.der");
        for mode in [Mode::PublicKey, Mode::ChainHash, Mode::Certificate] {
            for in_clear in [false, true] {
                let mut c = case(set, mode, &e, &root);
                c.in_clear = in_clear;
                let o = run(&c);
                assert_mutual(&o);
            }
        }
    }
}

#[test]
fn a_requester_without_mutual_auth_gets_an_unauthenticated_session_or_none_if_mandatory() {
    for set in SETS {
        let e = genuine(set);
        let root = read(set, "root.cert.der");
        let mut c = case(set, Mode::Certificate, &e, &root);
        c.requester = None;
        c.mandatory = false;
        let o = run(&c);
        o.result.as_ref().unwrap();
        assert_eq!(o.rsp_auth, Some(RequesterAuth::None));
        assert_eq!(o.req_auth, Some(RequesterAuth::None));
        c.mandatory = true;
        let o = run(&c);
        // KEY_EXCHANGE refused with Unspecified: no handshake, no session.
        assert_refused(&o, Some(0x05));
    }
}

#[test]
fn a_requester_chain_under_another_root_is_refused() {
    for set in SETS {
        let rogue = ecu(
            set,
            "other_req_chain.der",
            "other_root.cert.der",
            "other_req_leaf.key.der",
        );
        let root = read(set, "root.cert.der");
        let o = run(&case(set, Mode::Certificate, &rogue, &root));
        assert_refused(&o, None);
        // The same requester passes when its own root is trusted: the refusal is the root's.
        let other_root = read(set, "other_root.cert.der");
        assert_mutual(&run(&case(set, Mode::Certificate, &rogue, &other_root)));
    }
}

#[test]
fn a_requester_chain_without_requester_auth_eku_is_refused() {
    for set in SETS {
        let noeku = ecu(
            set,
            "req_noeku_chain.der",
            "root.cert.der",
            "req_leaf.key.der",
        );
        let root = read(set, "root.cert.der");
        let mut c = case(set, Mode::Certificate, &noeku, &root);
        c.in_clear = true;
        let o = run(&c);
        assert_refused(&o, Some(0x05));
    }
}

#[test]
fn a_bad_finish_signature_is_refused() {
    for set in SETS {
        let e = genuine(set);
        let root = read(set, "root.cert.der");
        let flipping = FlippingSigner(
            EcdsaSigningKey::from_sec1_der(set.asym, &read(set, "req_leaf.key.der")).unwrap(),
        );
        for mode in [Mode::PublicKey, Mode::ChainHash, Mode::Certificate] {
            for in_clear in [false, true] {
                let mut c = case(set, mode, &e, &root);
                c.requester = Some((&e, &flipping));
                c.in_clear = in_clear;
                let o = run(&c);
                // DecryptError (visible in the clear; under the handshake key otherwise).
                assert_refused(&o, in_clear.then_some(0x06));
            }
        }
        // The same bit flipped on the wire (in the clear): the signature no longer verifies.
        let flip: &Tamper = &|m: &mut Vec<u8>| m[10] ^= 0x80;
        let mut c = case(set, Mode::Certificate, &e, &root);
        c.in_clear = true;
        c.tamper_finish = Some(flip);
        assert_refused(&run(&c), Some(0x06));
    }
}

#[test]
fn a_finish_without_signature_is_refused_when_mutual_auth_was_requested() {
    for set in SETS {
        let e = genuine(set);
        let root = read(set, "root.cert.der");
        let s = set.asym.signature_len();
        // Signature bit cleared and the signature cut out: a FINISH of a requester that
        // ignores MutAuthRequested.
        let strip = move |m: &mut Vec<u8>| {
            m[3] = 0;
            m.drain(5..5 + s);
        };
        for mode in [Mode::PublicKey, Mode::Certificate] {
            let mut c = case(set, mode, &e, &root);
            c.in_clear = true;
            c.tamper_finish = Some(&strip);
            assert_refused(&run(&c), Some(0x01));
        }
    }
}

#[test]
fn plain_mode_with_the_wrong_provisioned_key_or_chain_hash_is_refused() {
    for set in SETS {
        let e = genuine(set);
        let other = ecu(
            set,
            "other_req_chain.der",
            "other_root.cert.der",
            "other_req_leaf.key.der",
        );
        let root = read(set, "root.cert.der");
        for mode in [Mode::PublicKey, Mode::ChainHash] {
            for in_clear in [false, true] {
                let mut c = case(set, mode, &e, &root);
                c.provisioned = &other;
                c.in_clear = in_clear;
                assert_refused(&run(&c), in_clear.then_some(0x06));
            }
        }
        // Right key, wrong chain hash: the transcript differs, so does the signed digest.
        let mixed = Ecu {
            chain: other.chain.clone(),
            key: EcdsaSigningKey::from_sec1_der(set.asym, &read(set, "req_leaf.key.der")).unwrap(),
            spki: e.spki.clone(),
        };
        let mut c = case(set, Mode::ChainHash, &e, &root);
        c.provisioned = &mixed;
        c.in_clear = true;
        assert_refused(&run(&c), Some(0x06));
    }
}
