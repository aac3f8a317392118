//! Fuzzing entry points for `/fuzz` (not a stable API). Needs the `alloc` feature (the
//! requester target validates X.509 chains).
//!
//! - [`messages`]: every message decoder; whatever parses must survive emit → parse → emit
//!   unchanged (reserved bytes are normalised by the first emit).
//! - [`responder`]: the responder fed interleaved arbitrary requests and genuine requester
//!   traffic (PSK, or a certificate handshake with session mutual authentication and its
//!   encapsulated requests) never panics, and a fresh PSK handshake still completes afterwards.
//! - [`requester`]: the requester fed genuine, bit-flipped or arbitrary responses (with or
//!   without mutual authentication) never panics and never reaches `Established` if a
//!   transcript-bound response was not the genuine one.
//! - [`measurements`]: in an established session with measurements, arbitrary
//!   GET_MEASUREMENTS (and other) requests and application messages (PLDM GetTID served)
//!   interleaved with genuine signed ones never panic, every answer is readable (an
//!   application answer has the request's MCTP type or is an SPDM ERROR), and after any of
//!   them two genuine signed
//!   GET_MEASUREMENTS in a row end with one that verifies (the L1/L2 reset rules agree).
//! - [`provisioning`] (feature `provisioning`): GET_CSR / SET_CERTIFICATE, see there.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

use alloc::vec;
use alloc::vec::Vec;

use crate::cert::encode_spdm_chain;
use crate::crypto::{AlgorithmSet, AsymAlgo, EcdsaSigningKey, RandomSource, RustCrypto, Sizes};
use crate::error::CryptoError;
use crate::msgs::Encode;
use crate::msgs::{
    algorithms, capabilities, certificate, challenge, digests, encapsulated, end_session, error,
    finish, heartbeat, key_update, psk, version,
};
use crate::mut_auth::{MutAuthMode, MutAuthPolicy, RequesterIdentity};
use crate::requester::{Auth, Requester, RequesterConfig, Status};
use crate::responder::{PskConfig, Responder, ResponderConfig};
use crate::x509::X509Verifier;

const P256_CHAIN: &[u8] = include_bytes!("../tests/pki/p256/chain.der");
const P256_ROOT: &[u8] = include_bytes!("../tests/pki/p256/root.cert.der");
const P256_KEY: &[u8] = include_bytes!("../tests/pki/p256/leaf.key.der");
const P384_CHAIN: &[u8] = include_bytes!("../tests/pki/p384/chain.der");
const P384_ROOT: &[u8] = include_bytes!("../tests/pki/p384/root.cert.der");
const P384_KEY: &[u8] = include_bytes!("../tests/pki/p384/leaf.key.der");
const P256_REQ_CHAIN: &[u8] = include_bytes!("../tests/pki/p256/req_chain.der");
const P256_REQ_KEY: &[u8] = include_bytes!("../tests/pki/p256/req_leaf.key.der");
const P384_REQ_CHAIN: &[u8] = include_bytes!("../tests/pki/p384/req_chain.der");
const P384_REQ_KEY: &[u8] = include_bytes!("../tests/pki/p384/req_leaf.key.der");
const PSK: &[u8] = b"fuzzing psk, not a secret at all";
const HINT: &[u8] = b"fuzz";

/// Deterministic xorshift source: fuzzing only.
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

macro_rules! round_trip {
    ($data:expr, $parse:expr) => {{
        let parse = $parse;
        if let Ok(m) = parse($data) {
            let mut a = vec![0u8; $data.len() + 64];
            let n = m.encode(&mut a).expect("a parsed message must re-encode");
            let m2 = parse(&a[..n]).expect("an emitted message must parse");
            let mut b = vec![0u8; n + 64];
            let k = m2.encode(&mut b).expect("re-encode");
            assert_eq!(a[..n], b[..k], "emit(parse(x)) is not stable");
        }
    }};
}

/// Every decoder on `data` (byte 0 picks the sizes and flags, the rest is the message).
pub fn messages(data: &[u8]) {
    let Some((&sel, x)) = data.split_first() else {
        return;
    };
    let set = if sel & 1 == 0 {
        AlgorithmSet::SET_A
    } else {
        AlgorithmSet::SET_B
    };
    let sizes: Sizes = set.sizes();
    let (meas, vd) = (sel & 2 != 0, sel & 4 != 0);
    round_trip!(x, version::GetVersion::parse);
    round_trip!(x, version::VersionRsp::parse);
    round_trip!(x, capabilities::GetCapabilities::parse);
    round_trip!(x, capabilities::CapabilitiesRsp::parse);
    round_trip!(x, algorithms::NegotiateAlgorithms::parse);
    round_trip!(x, algorithms::AlgorithmsRsp::parse);
    round_trip!(x, digests::GetDigests::parse);
    round_trip!(x, |b| digests::DigestsRsp::parse(b, sizes.hash));
    round_trip!(x, certificate::GetCertificate::parse);
    round_trip!(x, certificate::CertificateRsp::parse);
    round_trip!(x, challenge::Challenge::parse);
    round_trip!(x, |b| challenge::ChallengeAuth::parse(b, sizes, meas));
    round_trip!(x, |b| crate::msgs::key_exchange::KeyExchange::parse(
        b, sizes
    ));
    round_trip!(x, |b| crate::msgs::key_exchange::KeyExchangeRsp::parse(
        b, sizes, meas, vd
    ));
    round_trip!(x, |b| finish::Finish::parse(b, sizes));
    round_trip!(x, |b| finish::FinishRsp::parse(b, sizes, vd));
    round_trip!(x, psk::PskExchange::parse);
    round_trip!(x, |b| psk::PskExchangeRsp::parse(b, sizes, meas));
    round_trip!(x, |b| psk::PskFinish::parse(b, sizes));
    round_trip!(x, psk::PskFinishRsp::parse);
    round_trip!(x, heartbeat::Heartbeat::parse);
    round_trip!(x, heartbeat::HeartbeatAck::parse);
    round_trip!(x, key_update::KeyUpdate::parse);
    round_trip!(x, key_update::KeyUpdateAck::parse);
    round_trip!(x, end_session::EndSession::parse);
    round_trip!(x, end_session::EndSessionAck::parse);
    round_trip!(x, error::ErrorRsp::parse);
    round_trip!(x, crate::msgs::measurements::GetMeasurements::parse);
    let sig = if meas { sizes.signature } else { 0 };
    round_trip!(x, |b| crate::msgs::measurements::MeasurementsRsp::parse(
        b, sig
    ));
    if let Ok(m) = crate::msgs::measurements::MeasurementsRsp::parse(x, sig) {
        let ok =
            crate::msgs::measurements::validate_record(m.record, m.number_of_blocks, sizes.hash)
                .is_ok();
        // A valid record re-encodes block by block to the same bytes.
        if ok {
            let mut out = vec![0u8; m.record.len()];
            let mut w = crate::codec::Writer::new(&mut out);
            for b in crate::msgs::measurements::Blocks::new(m.record, sizes.hash) {
                b.expect("validated").emit(&mut w).expect("fits");
            }
            assert_eq!(w.written(), m.record, "block re-encoding differs");
        }
    }
    round_trip!(x, encapsulated::GetEncapsulatedRequest::parse);
    round_trip!(x, encapsulated::EncapsulatedRequest::parse);
    round_trip!(x, encapsulated::DeliverEncapsulatedResponse::parse);
    round_trip!(x, encapsulated::EncapsulatedResponseAck::parse);
    #[cfg(feature = "provisioning")]
    {
        use crate::msgs::provisioning as prov;
        round_trip!(x, prov::GetCsr::parse);
        round_trip!(x, prov::CsrRsp::parse);
        round_trip!(x, prov::SetCertificate::parse);
        round_trip!(x, prov::SetCertificateRsp::parse);
        let _ = crate::provisioning::parse_requester_info(x);
        // The allocation-free chain checks on arbitrary bytes (any device key).
        let _ = crate::provisioning::check_chain(&RustCrypto, set, x, None, &[4; 65]);
    }
    let _ = crate::mut_auth::spki_ec_point(set.asym, x);
    // The certificate-chain format and opaque data have their own parsers.
    let _ = certificate::CertChain::parse(x, sizes.hash);
    let _ = crate::msgs::opaque::SmVersions::find(x);
    let _ = crate::record::session_id(x);
}

struct Pki {
    set: AlgorithmSet,
    chain: Vec<u8>,
    root: &'static [u8],
    key: EcdsaSigningKey,
    /// The requester's (ECU's) chain and key, under the same root.
    req_chain: Vec<u8>,
    req_key: EcdsaSigningKey,
}

fn pki(set_b: bool) -> Pki {
    let (set, certs, root, key, req_certs, req_key) = if set_b {
        (
            AlgorithmSet::SET_B,
            P384_CHAIN,
            P384_ROOT,
            P384_KEY,
            P384_REQ_CHAIN,
            P384_REQ_KEY,
        )
    } else {
        (
            AlgorithmSet::SET_A,
            P256_CHAIN,
            P256_ROOT,
            P256_KEY,
            P256_REQ_CHAIN,
            P256_REQ_KEY,
        )
    };
    let spdm = |certs: &[u8]| {
        let mut chain = vec![0u8; certs.len() + 64];
        let n = encode_spdm_chain(&RustCrypto, set.hash, root, certs, &mut chain).unwrap();
        chain.truncate(n);
        chain
    };
    let chain = spdm(certs);
    let req_chain = spdm(req_certs);
    let asym = if set_b {
        AsymAlgo::EcdsaP384
    } else {
        AsymAlgo::EcdsaP256
    };
    Pki {
        set,
        chain,
        root,
        key: EcdsaSigningKey::from_sec1_der(asym, key).unwrap(),
        req_chain,
        req_key: EcdsaSigningKey::from_sec1_der(asym, req_key).unwrap(),
    }
}

/// Certificate-mode mutual authentication for `rsp` (chain fetched with encapsulated
/// requests, validated against the test root).
fn mut_auth_policy<'a>(
    verifier: &'a X509Verifier<'a, RustCrypto>,
    chain_buf: &'a mut [u8],
) -> MutAuthPolicy<'a> {
    MutAuthPolicy {
        mode: MutAuthMode::Certificate {
            verifier,
            chain_buf,
        },
        mandatory: false,
    }
}

fn identity(p: &Pki) -> RequesterIdentity<'_> {
    RequesterIdentity {
        signer: &p.req_key,
        cert_chain: &p.req_chain,
        public_key: None,
    }
}

fn responder_config(p: &Pki, flags: u8) -> ResponderConfig<'_> {
    ResponderConfig {
        algorithms: p.set,
        cert_chain: &p.chain,
        psk: Some(PskConfig {
            hint: HINT,
            key: PSK,
            with_context: flags & 4 != 0,
        }),
        handshake_in_the_clear: flags & 2 != 0,
        // At least the largest request of our requester (set B KEY_EXCHANGE, 158 bytes): it
        // does not chunk, so it refuses a responder that could not receive one.
        data_transfer_size: 160 + u32::from((flags >> 3) & 7) * 128,
    }
}

const SETS: [AlgorithmSet; 2] = [AlgorithmSet::SET_A, AlgorithmSet::SET_B];

/// Splits `data` into `(tag, chunk)` steps: tag byte, length byte, bytes.
fn steps(mut data: &[u8]) -> impl Iterator<Item = (u8, &[u8])> {
    core::iter::from_fn(move || {
        let (&tag, rest) = data.split_first()?;
        let (&len, rest) = rest.split_first().unwrap_or((&0, rest));
        let len = usize::from(len).min(rest.len());
        let (chunk, rest) = rest.split_at(len);
        data = rest;
        Some((tag, chunk))
    })
}

/// The responder fed interleaved arbitrary requests and genuine requester traffic.
pub fn responder(data: &[u8]) {
    let Some((&flags, data)) = data.split_first() else {
        return;
    };
    let p = pki(flags & 1 != 0);
    let mut rrng = XorShift(0x9e37_79b9_7f4a_7c15);
    let mut rsp = Responder::new(RustCrypto, &p.key, &mut rrng, responder_config(&p, flags))
        .expect("valid config");
    let sample = Sample::new(p.set);
    rsp.set_measurements(&sample);
    let verifier = X509Verifier::new(RustCrypto, p.root);
    let mut req_chain_buf = vec![0u8; 4096];
    let mut rsp_chain_buf = vec![0u8; 4096];
    let mutual = flags & 0x40 != 0;
    if mutual {
        rsp.set_mut_auth(mut_auth_policy(&verifier, &mut req_chain_buf));
    }
    let mut qrng = XorShift(0x2545_f491_4f6c_dd1d);
    let mut req = if mutual {
        // A certificate handshake with mutual authentication: the encapsulated flow.
        Requester::new(
            RustCrypto,
            &mut qrng,
            RequesterConfig {
                algorithms: &SETS,
                handshake_in_the_clear: flags & 2 != 0,
                data_transfer_size: 1024,
            },
            Auth::Certificate {
                verifier: &verifier,
                chain_buf: &mut rsp_chain_buf,
                challenge: false,
            },
        )
        .expect("valid config")
        .with_mutual_auth(identity(&p))
    } else {
        psk_requester(&mut qrng, flags)
    };
    let mut out = vec![0u8; 4096];
    for (tag, chunk) in steps(data).take(64) {
        if tag & 1 == 0 {
            let mut m = chunk.to_vec();
            let _ = rsp.handle(&mut m, &mut out);
        } else {
            // Genuine requester traffic, possibly with one flipped byte (tag bits).
            let mut m = vec![0u8; 4096];
            let Ok(n) = req.write_request(&mut m) else {
                continue;
            };
            if tag & 2 != 0 && n > 0 {
                let i = usize::from(tag >> 2) % n;
                m[i] ^= 1;
            }
            if let Ok(k) = rsp.handle(&mut m[..n], &mut out) {
                let _ = req.handle_response(&mut out[..k]);
            }
        }
    }
    // Still answerable: a fresh PSK handshake (GET_VERSION restarts the responder) completes.
    let mut qrng2 = XorShift(0x1234_5678_9abc_def1);
    let mut fresh = psk_requester(&mut qrng2, flags);
    for _ in 0..8 {
        let mut a = vec![0u8; 4096];
        let n = fresh.write_request(&mut a).expect("write");
        let k = rsp
            .handle(&mut a[..n], &mut out)
            .expect("responder answers");
        if fresh.handle_response(&mut out[..k]).expect("genuine") == Status::Established {
            return;
        }
    }
    panic!("fresh handshake did not finish");
}

fn psk_requester(rng: &mut XorShift, flags: u8) -> Requester<'_, RustCrypto> {
    Requester::new(
        RustCrypto,
        rng,
        RequesterConfig {
            algorithms: &SETS,
            handshake_in_the_clear: flags & 2 != 0,
            data_transfer_size: 1024,
        },
        Auth::Psk {
            hint: HINT,
            key: PSK,
        },
    )
    .expect("valid config")
}

/// The requester fed genuine, bit-flipped or arbitrary responses; returns whether the
/// handshake was established, after how many responses.
pub fn requester(data: &[u8]) -> Option<usize> {
    let (&flags, data) = data.split_first()?;
    let p = pki(flags & 1 != 0);
    let mut rrng = XorShift(0x9e37_79b9_7f4a_7c15);
    let mut rsp = Responder::new(RustCrypto, &p.key, &mut rrng, responder_config(&p, flags))
        .expect("valid config");
    let verifier = X509Verifier::new(RustCrypto, p.root);
    let mut chain_buf = vec![0u8; 4096];
    let mut req_chain_buf = vec![0u8; 4096];
    // Mutual authentication (certificate handshakes): byte 0 bit 5.
    let mutual = flags & 0x20 != 0;
    if mutual {
        rsp.set_mut_auth(mut_auth_policy(&verifier, &mut req_chain_buf));
    }
    let auth = if flags & 0x40 != 0 {
        Auth::Psk {
            hint: HINT,
            key: PSK,
        }
    } else {
        Auth::Certificate {
            verifier: &verifier,
            chain_buf: &mut chain_buf,
            challenge: flags & 0x80 != 0,
        }
    };
    let mut qrng = XorShift(0x2545_f491_4f6c_dd1d);
    let mut req = Requester::new(
        RustCrypto,
        &mut qrng,
        RequesterConfig {
            algorithms: &SETS,
            handshake_in_the_clear: flags & 2 != 0,
            data_transfer_size: 1024,
        },
        auth,
    )
    .expect("valid config");
    if mutual {
        req = req.with_mutual_auth(identity(&p));
    }
    let mut forged = false;
    // Once the input is used up, genuine responses follow (so a run can finish).
    let genuine_tail = core::iter::repeat((0u8, &[][..]));
    for (step, (tag, chunk)) in steps(data).chain(genuine_tail).take(64).enumerate() {
        let mut a = vec![0u8; 4096];
        let Ok(n) = req.write_request(&mut a) else {
            return None;
        };
        let mut g = vec![0u8; 4096];
        let genuine = match rsp.handle(&mut a[..n], &mut g) {
            Ok(k) => g[..k].to_vec(),
            Err(_) => Vec::new(),
        };
        let mut m = match tag % 3 {
            0 => genuine.clone(),
            1 => {
                let mut m = genuine.clone();
                if let Some(b) = m.get_mut(usize::from(tag >> 2) % genuine.len().max(1)) {
                    *b ^= chunk.first().copied().unwrap_or(1) | 1;
                }
                m
            }
            _ => chunk.to_vec(),
        };
        // DIGESTS and CERTIFICATE are bound to the session through the chain digest, not
        // byte for byte; a changed reserved byte there is not a forgery. Neither are the
        // encapsulated requests of mutual authentication (outside the transcript: what they
        // fetch is bound through Hash(Cm) in the FINISH signature) when sent in the clear.
        let code = (genuine.first() == Some(&0x05))
            .then(|| genuine.get(2).copied())
            .flatten();
        let unbound = matches!(code, Some(0x01 | 0x02 | 0x6A | 0x6B));
        let differs = m != genuine;
        match req.handle_response(&mut m) {
            Ok(Status::Established) => {
                assert!(
                    !(forged || differs && !unbound),
                    "established on forged input"
                );
                return Some(step + 1);
            }
            Ok(_) => forged |= differs && !unbound,
            Err(_) => return None,
        }
    }
    None
}

/// Sample firmware measurements (ROM, firmware, hardware configuration digests, version, SVN).
struct Sample {
    h: usize,
}

impl Sample {
    fn new(set: AlgorithmSet) -> Self {
        Self { h: set.hash.len() }
    }
}

impl crate::measurements::MeasurementProvider for Sample {
    fn count(&self) -> usize {
        5
    }

    fn block(&self, n: usize, value: &mut [u8]) -> Option<crate::measurements::BlockInfo> {
        use crate::measurements::value_type as t;
        let (index, value_type, len, fill) = match n {
            0 => (1, t::IMMUTABLE_ROM, self.h, 0x11),
            1 => (2, t::MUTABLE_FIRMWARE, self.h, 0x22),
            2 => (3, t::HARDWARE_CONFIG, self.h, 0x33),
            3 => (4, t::FIRMWARE_VERSION | t::RAW, 5, b'1'),
            4 => (5, t::SECURITY_VERSION_NUMBER | t::RAW, 8, 0),
            _ => return None,
        };
        value.get_mut(..len)?.fill(fill);
        Some(crate::measurements::BlockInfo {
            index,
            value_type,
            len,
            tcb: n != 2 && n != 3,
        })
    }
}

/// A certificate session with measurements fed arbitrary in-session requests (tag even:
/// `chunk` as a raw SPDM request; tag odd: a genuine GET_MEASUREMENTS for operation
/// `chunk[0]`, signed when tag bit 1 is set). Every answer must be MEASUREMENTS or ERROR
/// (or HEARTBEAT_ACK etc. for other valid requests), and at the end two genuine signed
/// requests for all blocks must end with one that verifies.
pub fn measurements(data: &[u8]) {
    use crate::msgs::measurements::OP_ALL;
    use crate::requester::MeasurementRequest;
    let Some((&flags, data)) = data.split_first() else {
        return;
    };
    let p = pki(flags & 1 != 0);
    let mut rrng = XorShift(0x9e37_79b9_7f4a_7c15);
    let mut rsp = Responder::new(RustCrypto, &p.key, &mut rrng, responder_config(&p, 0))
        .expect("valid config");
    let sample = Sample::new(p.set);
    rsp.set_measurements(&sample);
    let mut pldm = crate::responder::PldmGetTid { tid: 1 };
    rsp.set_app_handler(&mut pldm);
    let verifier = X509Verifier::new(RustCrypto, p.root);
    let mut chain_buf = vec![0u8; 4096];
    let mut qrng = XorShift(0x2545_f491_4f6c_dd1d);
    let mut req = Requester::new(
        RustCrypto,
        &mut qrng,
        RequesterConfig {
            algorithms: &SETS,
            handshake_in_the_clear: false,
            data_transfer_size: 1024,
        },
        Auth::Certificate {
            verifier: &verifier,
            chain_buf: &mut chain_buf,
            challenge: flags & 2 != 0,
        },
    )
    .expect("valid config");
    req.set_measurement_summary(if flags & 4 != 0 {
        crate::measurements::SummaryType::Tcb
    } else {
        crate::measurements::SummaryType::All
    });
    let mut a = vec![0u8; 4096];
    let mut b = vec![0u8; 4096];
    let mut established = false;
    for _ in 0..64 {
        let n = req.write_request(&mut a).expect("write");
        let k = rsp.handle(&mut a[..n], &mut b).expect("answer");
        if req.handle_response(&mut b[..k]).expect("genuine") == Status::Established {
            established = true;
            break;
        }
    }
    assert!(established, "handshake did not finish");
    let mut s = req.into_session().expect("session");
    for (tag, chunk) in steps(data).take(32) {
        if tag & 0x81 == 0x81 {
            // An application message of any non-SPDM MCTP type (PLDM GetTID is served):
            // answered with that type or with an SPDM ERROR, readable either way.
            let Some((&ty, msg)) = chunk.split_first() else {
                continue;
            };
            let Ok(n) = s.write_app_message(ty, msg, &mut a) else {
                continue;
            };
            let k = rsp
                .handle(&mut a[..n], &mut b)
                .expect("answer to an app message");
            let (t, m) = s.handle_app_response(&mut b[..k]).expect("readable");
            assert!(t == ty || (t == crate::record::MCTP_SPDM && m.get(1) == Some(&0x7F)));
        } else if tag & 1 == 0 {
            let Ok(n) = s.write_spdm_request(chunk, &mut a) else {
                continue;
            };
            let k = rsp
                .handle(&mut a[..n], &mut b)
                .expect("answer in the session");
            match s.handle_spdm_response(&mut b[..k]) {
                Ok(m) => assert!(!m.is_empty()),
                Err(crate::Error::PeerError(_)) => {}
                Err(e) => panic!("in-session answer unreadable: {e}"),
            }
            if chunk.get(1) == Some(&0x6C) || s.is_ended() || rsp.session().is_none() {
                return;
            }
        } else {
            let r = MeasurementRequest {
                operation: chunk.first().copied().unwrap_or(OP_ALL),
                nonce: (tag & 2 != 0).then_some([tag; 32]),
            };
            let n = s.write_get_measurements(&r, &mut a).expect("write");
            let k = rsp.handle(&mut a[..n], &mut b).expect("answer");
            let _ = s.handle_measurements(&mut b[..k]);
        }
    }
    if rsp.session().is_none() {
        return;
    }
    let mut verified = false;
    for i in 0..2u8 {
        let r = MeasurementRequest {
            operation: OP_ALL,
            nonce: Some([i; 32]),
        };
        let n = s.write_get_measurements(&r, &mut a).expect("write");
        let k = rsp.handle(&mut a[..n], &mut b).expect("answer");
        if let Ok(m) = s.handle_measurements(&mut b[..k]) {
            assert!(m.signed && m.number_of_blocks == 5);
            s.check_measurement_summary(&m, &|b| b.index != 3 && b.index != 4)
                .expect("summary of the handshake");
            verified = true;
        }
    }
    assert!(verified, "no signed MEASUREMENTS verified after a reset");
}

/// A provisioning provider over the test PKI's leaf key (fuzzing only).
#[cfg(feature = "provisioning")]
struct FuzzDevice {
    key: EcdsaSigningKey,
    root: &'static [u8],
    factory: bool,
    slot0: Option<Vec<u8>>,
    writes: usize,
}

#[cfg(feature = "provisioning")]
impl crate::provisioning::ProvisioningProvider for FuzzDevice {
    fn algorithm(&self) -> AsymAlgo {
        crate::crypto::Signer::algorithm(&self.key)
    }
    fn device_public_key(&self, out: &mut [u8]) -> Result<usize, CryptoError> {
        self.key.public_key_sec1(out)
    }
    fn sign_prehash(&self, prehash: &[u8], out: &mut [u8]) -> Result<usize, CryptoError> {
        crate::crypto::Signer::sign_prehash(&self.key, prehash, out)
    }
    fn subject(&self) -> &[u8] {
        // CN=fuzz
        &[
            0x30, 0x0F, 0x31, 0x0D, 0x30, 0x0B, 0x06, 0x03, 0x55, 0x04, 0x03, 0x0C, 0x04, b'f',
            b'u', b'z', b'z',
        ]
    }
    fn factory_mode(&self) -> bool {
        self.factory
    }
    fn policy(&self) -> crate::provisioning::ProvisioningPolicy {
        crate::provisioning::ProvisioningPolicy::FACTORY
    }
    fn trusted_root(&self) -> Option<&[u8]> {
        Some(self.root)
    }
    fn slot_chain(&self, slot: u8) -> Option<&[u8]> {
        if slot == 0 {
            self.slot0.as_deref()
        } else {
            None
        }
    }
    fn store_chain(
        &mut self,
        slot: u8,
        chain: &[u8],
    ) -> Result<(), crate::provisioning::StorageError> {
        if slot != 0 {
            return Err(crate::provisioning::StorageError::Failed);
        }
        self.writes += 1;
        self.slot0 = Some(chain.to_vec());
        Ok(())
    }
}

/// Checks a plain answer of the provisioning responder: a CSR parses as PKCS#10 and
/// certifies the device key; SET_CERTIFICATE_RSP only ever answers the genuine chain.
#[cfg(feature = "provisioning")]
fn check_provisioning_answer(req: &[u8], answer: &[u8], device_pk: &[u8], genuine: &[u8]) {
    use der::Decode;
    let (Some(req), Some(answer)) = (req.get(1..), answer.get(1..)) else {
        return;
    };
    match answer.get(1) {
        Some(0x6D) => {
            let c = crate::msgs::provisioning::CsrRsp::parse(answer).expect("CSR parses");
            let r = x509_cert::request::CertReq::from_der(c.csr).expect("PKCS#10 parses");
            assert_eq!(
                r.info.public_key.subject_public_key.raw_bytes(),
                device_pk,
                "CSR for another key"
            );
        }
        Some(0x6E) => {
            assert_eq!(
                req.get(4..),
                Some(genuine),
                "a non-genuine chain was installed"
            );
        }
        _ => {}
    }
}

/// The provisioning responder (factory mode or not, `Locked` policy) fed interleaved arbitrary
/// requests and genuine provisioning traffic (VCA, GET_CSR, SET_CERTIFICATE of the genuine
/// chain or of a chain for another key, possibly with a flipped byte): it never panics, a CSR
/// always certifies the device key, only the genuine chain is ever installed (at most once, and
/// never outside factory mode). Returns whether a chain was installed.
#[cfg(feature = "provisioning")]
pub fn provisioning(data: &[u8]) -> bool {
    use crate::provisioning::{Provisioner, ProvisionerConfig};
    let Some((&flags, data)) = data.split_first() else {
        return false;
    };
    let p = pki(flags & 1 != 0);
    let factory = flags & 2 == 0;
    let mut pk = [0u8; 97];
    let pkl = p.key.public_key_sec1(&mut pk).unwrap();
    let pk = &pk[..pkl];
    let mut dev = FuzzDevice {
        key: EcdsaSigningKey::from_sec1_der(
            crate::crypto::Signer::algorithm(&p.key),
            if p.set == AlgorithmSet::SET_A {
                P256_KEY
            } else {
                P384_KEY
            },
        )
        .unwrap(),
        root: p.root,
        factory,
        slot0: None,
        writes: 0,
    };
    let mut rrng = XorShift(0x9e37_79b9_7f4a_7c15);
    {
        let mut rsp = Responder::with_provisioning(
            RustCrypto,
            &p.key,
            &mut rrng,
            ResponderConfig {
                algorithms: p.set,
                cert_chain: &[],
                psk: None,
                handshake_in_the_clear: false,
                data_transfer_size: 4096,
            },
            &mut dev,
        )
        .expect("valid config");
        let config = ProvisionerConfig {
            algorithms: &SETS,
            data_transfer_size: 4096,
        };
        let mut prov = Provisioner::new(config).unwrap();
        let mut out = vec![0u8; 8192];
        let mut csr = vec![0u8; 4096];
        for (tag, chunk) in steps(data).take(64) {
            let mut m = vec![0u8; 8192];
            // What the genuine message is: 0 VCA, 1 GET_CSR, 2 SET_CERTIFICATE.
            let mut kind = 0;
            let n = if tag & 1 == 0 {
                m[..chunk.len()].copy_from_slice(chunk);
                chunk.len()
            } else {
                let w = if !prov.is_ready() {
                    prov.write_request(&mut m)
                } else if tag & 8 != 0 {
                    kind = 1;
                    prov.write_get_csr(&[], &[], &mut m)
                } else {
                    kind = 2;
                    let chain = if tag & 4 != 0 { &p.req_chain } else { &p.chain };
                    prov.write_set_certificate(0, chain, &mut m)
                };
                match w {
                    Ok(n) => n,
                    Err(_) => {
                        prov = Provisioner::new(config).unwrap();
                        continue;
                    }
                }
            };
            if tag & 2 != 0 && n > 0 {
                let i = usize::from(tag >> 4) % n;
                m[i] ^= 1;
            }
            let sent = m[..n].to_vec();
            let Ok(k) = rsp.handle(&mut m[..n], &mut out) else {
                continue;
            };
            check_provisioning_answer(&sent, &out[..k], pk, &p.chain);
            if tag & 1 != 0 {
                let r = match kind {
                    1 => prov.handle_csr(&out[..k], &mut csr).map(|_| ()),
                    2 => prov.handle_set_certificate(&out[..k]),
                    _ => prov.handle_response(&out[..k]).map(|_| ()),
                };
                if r.is_err() && !prov.is_ready() {
                    prov = Provisioner::new(config).unwrap();
                }
            }
        }
    }
    assert!(dev.writes <= 1, "a locked slot was written twice");
    match &dev.slot0 {
        Some(c) => {
            assert!(factory, "provisioned outside factory mode");
            assert_eq!(c, &p.chain);
            true
        }
        None => {
            assert_eq!(dev.writes, 0);
            false
        }
    }
}
