//! Outsider round 4 (black box): the responder's mutual-authentication (certificate mode,
//! encapsulated flow), PSK and measurement flows attacked step by step against an unattacked
//! twin. At each step of a genuine handshake (HANDSHAKE_IN_THE_CLEAR, so the handshake
//! messages are plain and can be altered), forged requests are sent first; each must be
//! answered with the SPDM ERROR the profile gives it and leave the responder as it was, so
//! the genuine request then gets byte for byte the answer the twin gave, the handshake
//! completes with the same secrets, and a request inside the session is answered alike.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use spdm_lite::cert::encode_spdm_chain;
use spdm_lite::crypto::{AlgorithmSet, AsymAlgo, EcdsaSigningKey, RandomSource, RustCrypto};
use spdm_lite::error::CryptoError;
use spdm_lite::measurements::{BlockInfo, MeasurementProvider, SummaryType, value_type};
use spdm_lite::mut_auth::{MutAuthMode, MutAuthPolicy, RequesterIdentity};
use spdm_lite::requester::{Auth, Requester, RequesterConfig, Status};
use spdm_lite::responder::{PskConfig, Responder, ResponderConfig};
use spdm_lite::x509::X509Verifier;

const P256_CHAIN: &[u8] = include_bytes!("pki/p256/chain.der");
const P256_ROOT: &[u8] = include_bytes!("pki/p256/root.cert.der");
const P256_KEY: &[u8] = include_bytes!("pki/p256/leaf.key.der");
const P256_REQ_CHAIN: &[u8] = include_bytes!("pki/p256/req_chain.der");
const P256_REQ_KEY: &[u8] = include_bytes!("pki/p256/req_leaf.key.der");
const P384_CHAIN: &[u8] = include_bytes!("pki/p384/chain.der");
const P384_ROOT: &[u8] = include_bytes!("pki/p384/root.cert.der");
const P384_KEY: &[u8] = include_bytes!("pki/p384/leaf.key.der");
const P384_REQ_CHAIN: &[u8] = include_bytes!("pki/p384/req_chain.der");
const P384_REQ_KEY: &[u8] = include_bytes!("pki/p384/req_leaf.key.der");
const PSK: &[u8] = b"outsider four psk, test only....";
const HINT: &[u8] = b"cam0";
const SETS: [AlgorithmSet; 2] = [AlgorithmSet::SET_A, AlgorithmSet::SET_B];

/// Deterministic random source (the twins draw the same bytes).
struct XorShift(u64);

impl RandomSource for XorShift {
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

/// Three blocks (two digests of the set's hash size, a raw SVN), all TCB, a fixed generation.
struct Sample(usize);

impl MeasurementProvider for Sample {
    fn count(&self) -> usize {
        3
    }
    fn block(&self, n: usize, value: &mut [u8]) -> Option<BlockInfo> {
        let (index, ty, len, tcb) = match n {
            0 => (1, value_type::IMMUTABLE_ROM, self.0, true),
            1 => (2, value_type::MUTABLE_FIRMWARE, self.0, true),
            2 => (
                5,
                value_type::SECURITY_VERSION_NUMBER | value_type::RAW,
                8,
                true,
            ),
            _ => return None,
        };
        let v = value.get_mut(..len)?;
        v.fill(index);
        Some(BlockInfo {
            index,
            value_type: ty,
            len,
            tcb,
        })
    }
    fn generation(&self) -> Option<u64> {
        Some(7)
    }
}

#[derive(Clone, Copy, Debug)]
enum Flow {
    /// Certificate handshake with certificate-mode mutual authentication (encapsulated flow).
    MutCert,
    /// PSK_EXCHANGE + PSK_FINISH.
    Psk,
    /// Certificate handshake with CHALLENGE and the All measurement summary.
    Challenge,
}

struct Pki {
    set: AlgorithmSet,
    chain: Vec<u8>,
    root: &'static [u8],
    key: EcdsaSigningKey,
    req_chain: Vec<u8>,
    req_key: EcdsaSigningKey,
}

fn pki(set_b: bool) -> Pki {
    let (set, certs, root, key, req_certs, req_key, asym) = if set_b {
        (
            AlgorithmSet::SET_B,
            P384_CHAIN,
            P384_ROOT,
            P384_KEY,
            P384_REQ_CHAIN,
            P384_REQ_KEY,
            AsymAlgo::EcdsaP384,
        )
    } else {
        (
            AlgorithmSet::SET_A,
            P256_CHAIN,
            P256_ROOT,
            P256_KEY,
            P256_REQ_CHAIN,
            P256_REQ_KEY,
            AsymAlgo::EcdsaP256,
        )
    };
    let spdm = |certs: &[u8]| {
        let mut chain = vec![0u8; certs.len() + 64];
        let n = encode_spdm_chain(&RustCrypto, set.hash, root, certs, &mut chain).unwrap();
        chain.truncate(n);
        chain
    };
    Pki {
        set,
        chain: spdm(certs),
        root,
        key: EcdsaSigningKey::from_sec1_der(asym, key).unwrap(),
        req_chain: spdm(req_certs),
        req_key: EcdsaSigningKey::from_sec1_der(asym, req_key).unwrap(),
    }
}

/// What one run produced.
#[derive(Debug, PartialEq, Eq)]
struct Run {
    /// Each genuine request and the responder's answer.
    genuine: Vec<(Vec<u8>, Vec<u8>)>,
    /// The export master secret of the responder's session.
    export: Vec<u8>,
    /// The responder's answer to a HEARTBEAT inside the session.
    heartbeat: Vec<u8>,
}

/// Forged messages for step `i` (genuine request `req`, plain with its MCTP type byte), and
/// a check of each answer.
type Inject<'x> = &'x dyn Fn(usize, &[u8]) -> Vec<Vec<u8>>;
type Check<'x> = &'x dyn Fn(usize, &[u8], &[u8], Result<&[u8], String>);

fn run(flow: Flow, set_b: bool, inject: Inject<'_>, check: Check<'_>) -> Run {
    let p = pki(set_b);
    let sample = Sample(p.set.hash.len());
    let mut rrng = XorShift(0x9e37_79b9_7f4a_7c15);
    let mut rsp = Responder::new(
        RustCrypto,
        &p.key,
        &mut rrng,
        ResponderConfig {
            algorithms: p.set,
            cert_chain: &p.chain,
            psk: Some(PskConfig {
                hint: HINT,
                key: PSK,
                with_context: true,
            }),
            handshake_in_the_clear: true,
            data_transfer_size: 4096,
        },
    )
    .unwrap();
    rsp.set_measurements(&sample);
    let verifier = X509Verifier::new(RustCrypto, p.root);
    let mut req_chain_buf = vec![0u8; 4096];
    let mut rsp_chain_buf = vec![0u8; 4096];
    if let Flow::MutCert = flow {
        rsp.set_mut_auth(MutAuthPolicy {
            mode: MutAuthMode::Certificate {
                verifier: &verifier,
                chain_buf: &mut req_chain_buf,
            },
            mandatory: true,
        });
    }
    let mut qrng = XorShift(0x2545_f491_4f6c_dd1d);
    let cfg = RequesterConfig {
        algorithms: &SETS,
        handshake_in_the_clear: true,
        data_transfer_size: 4096,
    };
    let mut req = match flow {
        Flow::Psk => Requester::new(
            RustCrypto,
            &mut qrng,
            cfg,
            Auth::Psk {
                hint: HINT,
                key: PSK,
            },
        )
        .unwrap(),
        Flow::MutCert | Flow::Challenge => {
            let r = Requester::new(
                RustCrypto,
                &mut qrng,
                cfg,
                Auth::Certificate {
                    verifier: &verifier,
                    chain_buf: &mut rsp_chain_buf,
                    challenge: matches!(flow, Flow::Challenge),
                },
            )
            .unwrap();
            if let Flow::MutCert = flow {
                r.with_mutual_auth(RequesterIdentity {
                    signer: &p.req_key,
                    cert_chain: &p.req_chain,
                    public_key: None,
                })
            } else {
                r
            }
        }
    };
    req.set_measurement_summary(SummaryType::All);
    let mut genuine = Vec::new();
    let mut out = vec![0u8; 8192];
    for i in 0.. {
        assert!(i < 40, "handshake did not finish");
        let mut m = vec![0u8; 8192];
        let n = req.write_request(&mut m).unwrap();
        m.truncate(n);
        for forged in inject(i, &m) {
            let mut f = forged.clone();
            let mut o = vec![0u8; 8192];
            let ans = match rsp.handle(&mut f, &mut o) {
                Ok(k) => Ok(&o[..k]),
                Err(e) => Err(format!("{e:?}")),
            };
            check(i, &m, &forged, ans);
        }
        let k = rsp
            .handle(&mut m.clone(), &mut out)
            .unwrap_or_else(|e| panic!("step {i}: genuine request refused: {e:?}"));
        genuine.push((m, out[..k].to_vec()));
        let st = req
            .handle_response(&mut out[..k].to_vec())
            .unwrap_or_else(|e| panic!("step {i}: genuine response refused: {e:?}"));
        if st == Status::Established {
            break;
        }
    }
    let export = rsp
        .session()
        .expect("session")
        .export_master_secret()
        .as_bytes()
        .to_vec();
    let mut s = req.into_session().unwrap();
    let mut m = vec![0u8; 512];
    let n = s.write_heartbeat(&mut m).unwrap();
    let k = rsp.handle(&mut m[..n], &mut out).unwrap();
    let heartbeat = out[..k].to_vec();
    s.handle_response(&mut out[..k]).unwrap();
    Run {
        genuine,
        export,
        heartbeat,
    }
}

fn none(_: usize, _: &[u8]) -> Vec<Vec<u8>> {
    Vec::new()
}

fn no_check(_: usize, _: &[u8], _: &[u8], _: Result<&[u8], String>) {}

/// The SPDM request code of a plain message (after the MCTP type byte).
fn code(m: &[u8]) -> u8 {
    m.get(2).copied().unwrap_or(0)
}

/// An SPDM ERROR's code, if `a` is a plain ERROR.
fn error_code(a: &[u8]) -> Option<u8> {
    (a.len() >= 5 && a[0] == 0x05 && a[2] == 0x7F).then(|| a[3])
}

fn twin(flow: Flow, set_b: bool, inject: Inject<'_>, check: Check<'_>) {
    let clean = run(flow, set_b, &none, &no_check);
    let attacked = run(flow, set_b, inject, check);
    assert_eq!(
        clean, attacked,
        "{flow:?} set_b={set_b}: attacked run differs"
    );
}

/// The encapsulated flow of certificate-mode mutual authentication: forged
/// GET_ENCAPSULATED_REQUEST (cut short, a byte too long, another version, sent again while a
/// DIGESTS or CERTIFICATE is awaited) and DELIVER_ENCAPSULATED_RESPONSE for another RequestID
/// carry no identity proof: each is refused with an ERROR and the flow goes on exactly as in
/// the twin (the profile's "refused request changes nothing"; only a failed identity proof
/// drops the handshake).
#[test]
fn encapsulated_requests_refused_without_dropping_the_handshake() {
    for set_b in [false, true] {
        let first_get = std::cell::RefCell::new(None::<Vec<u8>>);
        let inject = |_: usize, m: &[u8]| {
            let mut v = Vec::new();
            match code(m) {
                0xEA => {
                    *first_get.borrow_mut() = Some(m.to_vec());
                    v.push(m[..m.len() - 1].to_vec());
                    let mut x = m.to_vec();
                    x.push(0);
                    v.push(x);
                    let mut x = m.to_vec();
                    x[1] = 0x11;
                    v.push(x);
                }
                0xEB => {
                    v.push(
                        first_get
                            .borrow()
                            .clone()
                            .expect("GET_ENCAPSULATED_REQUEST first"),
                    );
                    let mut x = m.to_vec();
                    x[3] = x[3].wrapping_add(1);
                    v.push(x);
                    let mut x = m.to_vec();
                    x[3] = 0;
                    v.push(x);
                }
                _ => {}
            }
            v
        };
        let seen = std::cell::Cell::new(0);
        let check = |i: usize, g: &[u8], f: &[u8], a: Result<&[u8], String>| {
            let a = a.unwrap_or_else(|e| panic!("step {i}: no answer to a forged request: {e}"));
            let want = if f[1] != 0x12 {
                0x41
            } else if code(f) == code(g) && f.len() == g.len() && code(g) == 0xEB {
                0x01
            } else if code(f) != code(g) {
                0x04
            } else {
                0x01
            };
            assert_eq!(
                error_code(a),
                Some(want),
                "step {i}: forged {f:02x?} got {a:02x?}"
            );
            seen.set(seen.get() + 1);
        };
        twin(Flow::MutCert, set_b, &inject, &check);
        assert!(seen.get() >= 9, "the encapsulated flow was not reached");
    }
}

/// While the encapsulated flow is outstanding, every other request of the connection gets
/// RequestInFlight and the flow goes on (docs/profile.md).
#[test]
fn other_requests_during_encapsulated_flow_request_in_flight() {
    for set_b in [false, true] {
        let earlier = std::cell::RefCell::new(Vec::<Vec<u8>>::new());
        let inject = |_: usize, m: &[u8]| {
            let c = code(m);
            let v = if matches!(c, 0xEA | 0xEB | 0xE5) {
                earlier
                    .borrow()
                    .iter()
                    .filter(|e| !matches!(code(e), 0x84 | 0xEA | 0xEB | 0xE5))
                    .cloned()
                    .collect()
            } else {
                Vec::new()
            };
            earlier.borrow_mut().push(m.to_vec());
            if c == 0xE5 { Vec::new() } else { v }
        };
        let seen = std::cell::Cell::new(0);
        let check = |i: usize, _: &[u8], f: &[u8], a: Result<&[u8], String>| {
            let a = a.unwrap_or_else(|e| panic!("step {i}: no answer: {e}"));
            assert_eq!(
                error_code(a),
                Some(0x08),
                "step {i}: {:02x} got {a:02x?}",
                code(f)
            );
            seen.set(seen.get() + 1);
        };
        twin(Flow::MutCert, set_b, &inject, &check);
        assert!(seen.get() >= 10);
    }
}

/// Every genuine plain request of the MutCert, PSK and CHALLENGE flows, cut by one byte or
/// with one byte appended, gets InvalidRequest and the flow goes on as in the twin. Left out:
/// in MutCert, DELIVER_ENCAPSULATED_RESPONSE of the awaited RequestID and FINISH, whose
/// content is the requester's identity proof: a malformed one drops the handshake
/// (docs/profile.md, "mutual authentication failure").
#[test]
fn truncated_or_extended_requests_refused_at_every_step() {
    for flow in [Flow::MutCert, Flow::Psk, Flow::Challenge] {
        for set_b in [false, true] {
            let inject = |_: usize, m: &[u8]| {
                if matches!(flow, Flow::MutCert) && matches!(code(m), 0xEB | 0xE5) {
                    return Vec::new();
                }
                let mut x = m.to_vec();
                x.push(0);
                vec![m[..m.len() - 1].to_vec(), x]
            };
            let seen = std::cell::Cell::new(0);
            let check = |i: usize, g: &[u8], f: &[u8], a: Result<&[u8], String>| {
                seen.set(seen.get() + 1);
                if g[0] == 0x06 {
                    // A record (PSK_FINISH): one cut or grown does not open; no answer.
                    assert!(a.is_err(), "{flow:?} step {i}: altered record answered");
                    return;
                }
                let a = a.unwrap_or_else(|e| panic!("{flow:?} step {i}: no answer: {e}"));
                assert_eq!(
                    error_code(a),
                    Some(0x01),
                    "{flow:?} step {i} code {:02x} len {}: {a:02x?}",
                    code(g),
                    f.len()
                );
            };
            twin(flow, set_b, &inject, &check);
            assert!(seen.get() >= 8, "{flow:?}");
        }
    }
}

/// CHALLENGE, KEY_EXCHANGE and PSK_EXCHANGE naming a slot without a chain (1-7, 8, 0xF,
/// 0xFF) or an undefined measurement summary type (0x02, 0x7F, 0xFE), and PSK_EXCHANGE with
/// another hint: InvalidRequest, nothing changes (no random byte drawn: the twin's answers
/// follow byte for byte).
#[test]
fn slot_and_summary_type_variations_refused() {
    for flow in [Flow::Challenge, Flow::MutCert, Flow::Psk] {
        for set_b in [false, true] {
            let inject = |_: usize, m: &[u8]| {
                let mut v = Vec::new();
                // (slot byte, summary byte) positions per request (MCTP type byte first).
                let (slot, summary) = match code(m) {
                    0x83 => (Some(3), 4),
                    0xE4 => (Some(4), 3),
                    0xE6 => (None, 3),
                    _ => return v,
                };
                if let Some(s) = slot {
                    for bad in [1u8, 2, 7, 8, 0x0F, 0xFF] {
                        let mut x = m.to_vec();
                        x[s] = bad;
                        v.push(x);
                    }
                }
                for bad in [0x02u8, 0x7F, 0xFE] {
                    let mut x = m.to_vec();
                    x[summary] = bad;
                    v.push(x);
                }
                if code(m) == 0xE6 {
                    // The hint follows the 12-byte fixed part.
                    let mut x = m.to_vec();
                    x[13] ^= 0x20;
                    v.push(x);
                }
                v
            };
            let seen = std::cell::Cell::new(0);
            let check = |i: usize, _: &[u8], f: &[u8], a: Result<&[u8], String>| {
                let a = a.unwrap_or_else(|e| panic!("{flow:?} step {i}: no answer: {e}"));
                assert_eq!(
                    error_code(a),
                    Some(0x01),
                    "{flow:?} step {i}: forged {:02x?} got {a:02x?}",
                    &f[..5]
                );
                seen.set(seen.get() + 1);
            };
            twin(flow, set_b, &inject, &check);
            assert!(seen.get() >= 4, "{flow:?}: {}", seen.get());
        }
    }
}

/// Refused GET_MEASUREMENTS in the clear (an index without a block, a signature asked of
/// slot 3 or of the provisioned key, cut short, a byte too long) between GET_CERTIFICATE and
/// CHALLENGE, and before KEY_EXCHANGE: InvalidRequest, and the CHALLENGE_AUTH and
/// KEY_EXCHANGE_RSP signatures that follow still verify over the twin's transcript.
#[test]
fn refused_get_measurements_leave_the_handshake_transcripts() {
    for flow in [Flow::Challenge, Flow::MutCert] {
        for set_b in [false, true] {
            let inject = |_: usize, m: &[u8]| {
                if !matches!(code(m), 0x83 | 0xE4) {
                    return Vec::new();
                }
                let get = |p1: u8, p2: u8, signed: bool| {
                    let mut x = vec![0x05, 0x12, 0xE0, p1, p2];
                    if signed {
                        x.extend_from_slice(&[0x5A; 32]);
                        x.push(if p2 == 0 { 3 } else { 0x0F });
                    }
                    x
                };
                let mut long = get(0, 1, false);
                long.push(0);
                vec![
                    get(0, 0x30, false),
                    get(1, 1, true),
                    get(1, 0, true),
                    get(1, 1, false),
                    long,
                ]
            };
            let seen = std::cell::Cell::new(0);
            let check = |i: usize, _: &[u8], f: &[u8], a: Result<&[u8], String>| {
                let a = a.unwrap_or_else(|e| panic!("{flow:?} step {i}: no answer: {e}"));
                assert_eq!(
                    error_code(a),
                    Some(0x01),
                    "{flow:?} step {i}: {f:02x?} got {a:02x?}"
                );
                seen.set(seen.get() + 1);
            };
            twin(flow, set_b, &inject, &check);
            assert!(seen.get() >= 5, "{flow:?}");
        }
    }
}

/// Drives a certificate handshake with mutual authentication (in the clear) until the
/// requester has sent GET_ENCAPSULATED_REQUEST, then hands the requester and the chain it
/// serves to `f` in place of the responder's answer.
fn at_encapsulated_request(set_b: bool, f: &mut dyn FnMut(&mut Requester<'_, RustCrypto>, &[u8])) {
    let p = pki(set_b);
    let mut rrng = XorShift(7);
    let mut rsp = Responder::new(
        RustCrypto,
        &p.key,
        &mut rrng,
        ResponderConfig {
            algorithms: p.set,
            cert_chain: &p.chain,
            psk: None,
            handshake_in_the_clear: true,
            data_transfer_size: 4096,
        },
    )
    .unwrap();
    let verifier = X509Verifier::new(RustCrypto, p.root);
    let mut req_chain_buf = vec![0u8; 4096];
    rsp.set_mut_auth(MutAuthPolicy {
        mode: MutAuthMode::Certificate {
            verifier: &verifier,
            chain_buf: &mut req_chain_buf,
        },
        mandatory: true,
    });
    let mut qrng = XorShift(9);
    let mut rsp_chain_buf = vec![0u8; 4096];
    let mut req = Requester::new(
        RustCrypto,
        &mut qrng,
        RequesterConfig {
            algorithms: &SETS,
            handshake_in_the_clear: true,
            data_transfer_size: 4096,
        },
        Auth::Certificate {
            verifier: &verifier,
            chain_buf: &mut rsp_chain_buf,
            challenge: false,
        },
    )
    .unwrap()
    .with_mutual_auth(RequesterIdentity {
        signer: &p.req_key,
        cert_chain: &p.req_chain,
        public_key: None,
    });
    let mut out = vec![0u8; 8192];
    for _ in 0..20 {
        let mut m = vec![0u8; 8192];
        let n = req.write_request(&mut m).unwrap();
        let k = rsp.handle(&mut m[..n], &mut out).unwrap();
        if code(&m[..n]) == 0xEA {
            f(&mut req, &p.req_chain);
            return;
        }
        let _ = req.handle_response(&mut out[..k]).unwrap();
    }
    panic!("no GET_ENCAPSULATED_REQUEST");
}

/// The requester (ECU) answering forged encapsulated requests: GET_CERTIFICATE past the end
/// of its chain, with huge lengths, for slots 1 and 0xF, and requests it does not serve. It
/// never panics and answers in DELIVER_ENCAPSULATED_RESPONSE either with an ERROR or with a
/// CERTIFICATE portion that is exactly its chain's bytes at that offset (nothing past its
/// chain).
#[test]
fn requester_answers_forged_encapsulated_requests_within_its_chain() {
    for set_b in [false, true] {
        let get_cert = |slot: u8, off: u16, len: u16| {
            let mut x = vec![0x12, 0x82, slot, 0];
            x.extend_from_slice(&off.to_le_bytes());
            x.extend_from_slice(&len.to_le_bytes());
            x
        };
        let chain_len = pki(set_b).req_chain.len() as u16;
        let inners: Vec<Vec<u8>> = vec![
            get_cert(0, 0, 0xFFFF),
            get_cert(0, chain_len - 1, 0xFFFF),
            get_cert(0, chain_len, 16),
            get_cert(0, chain_len + 1, 16),
            get_cert(0, 0xFFFF, 0xFFFF),
            get_cert(0, 0, 0),
            get_cert(1, 0, 16),
            get_cert(0x0F, 0, 16),
            vec![0x12, 0x81, 0x01, 0],
            vec![0x12, 0x84, 0, 0],
            vec![0x12, 0xE0, 0, 0],
            vec![0x11, 0x81, 0, 0],
            vec![0x12],
            vec![],
        ];
        let answered = std::cell::Cell::new(0);
        for inner in inners {
            at_encapsulated_request(set_b, &mut |req, chain| {
                let mut forged = vec![0x05, 0x12, 0x6A, 1, 0];
                forged.extend_from_slice(&inner);
                if req.handle_response(&mut forged).is_err() {
                    return; // refused (the requester is poisoned, as documented)
                }
                let mut m = vec![0u8; 8192];
                let Ok(n) = req.write_request(&mut m) else {
                    return;
                };
                let d = &m[..n];
                assert_eq!(code(d), 0xEB, "inner {inner:02x?}: not a delivery");
                answered.set(answered.get() + 1);
                let r = &d[5..];
                match r.get(1) {
                    Some(0x7F) => {}
                    // GET_DIGESTS (its Param1 is reserved in 1.2): slot 0 only.
                    Some(0x01) => assert_eq!(r[3], 0x01, "{inner:02x?}"),
                    Some(0x02) => {
                        let portion = u16::from_le_bytes([r[4], r[5]]) as usize;
                        let remainder = u16::from_le_bytes([r[6], r[7]]) as usize;
                        let off = u16::from_le_bytes([inner[4], inner[5]]) as usize;
                        assert_eq!(&r[8..], &chain[off..off + portion], "{inner:02x?}");
                        assert_eq!(off + portion + remainder, chain.len(), "{inner:02x?}");
                    }
                    other => panic!("inner {inner:02x?}: answered {other:02x?}"),
                }
            });
        }
        assert!(answered.get() >= 10, "only {} answered", answered.get());
    }
}

/// Between KEY_EXCHANGE_RSP (or PSK_EXCHANGE_RSP) and FINISH (PSK_FINISH), earlier genuine
/// requests replayed in the clear (GET_VERSION aside, which restarts the connection) are
/// refused and the handshake finishes as in the twin.
#[test]
fn replayed_connection_requests_while_finish_is_awaited() {
    for flow in [Flow::Challenge, Flow::Psk] {
        for set_b in [false, true] {
            let earlier = std::cell::RefCell::new(Vec::<Vec<u8>>::new());
            let inject = |_: usize, m: &[u8]| {
                let v = if matches!(code(m), 0xE5 | 0xE7) || m[0] == 0x06 {
                    earlier
                        .borrow()
                        .iter()
                        .filter(|e| code(e) != 0x84)
                        .cloned()
                        .collect()
                } else {
                    Vec::new()
                };
                if m[0] == 0x05 {
                    earlier.borrow_mut().push(m.to_vec());
                }
                v
            };
            let seen = std::cell::RefCell::new(Vec::new());
            let check = |i: usize, _: &[u8], f: &[u8], a: Result<&[u8], String>| {
                let a = a.unwrap_or_else(|e| panic!("{flow:?} step {i}: no answer: {e}"));
                seen.borrow_mut().push((code(f), error_code(a)));
            };
            twin(flow, set_b, &inject, &check);
            let seen = seen.into_inner();
            assert!(seen.len() >= 3, "{flow:?}: {seen:02x?}");
            assert!(
                seen.iter().all(|(_, e)| e.is_some()),
                "{flow:?}: a replay was served: {seen:02x?}"
            );
        }
    }
}
