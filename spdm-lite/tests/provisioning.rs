//! Factory provisioning (GET_CSR, SET_CERTIFICATE) in memory, sets A and B: the CSR parses with
//! `x509-cert`, is signed by the device key and names the right subject and key; a chain issued
//! from it (rcgen) installs, is served by GET_DIGESTS / GET_CERTIFICATE and validates with the
//! project's verifier, and a CHALLENGE + KEY_EXCHANGE handshake succeeds on it. The refusals
//! (outside factory mode, another root, another leaf key, a locked slot, malformed fields)
//! assert that the slot and the chain served stay what they were.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]

mod common;

use common::{LeafPub, SETS, TestRng, encode_chain, hash, rcgen_alg};
use der::{Decode, Encode as _};
use spdm_lite::cert::CertError;
use spdm_lite::crypto::{AlgorithmSet, AsymAlgo, EcdsaSigningKey, RustCrypto, Signer};
use spdm_lite::msgs::capabilities::CapFlags;
use spdm_lite::msgs::error::ErrorCode;
use spdm_lite::provisioning::{
    Provisioner, ProvisionerConfig, ProvisioningPolicy, ProvisioningProvider, ProvisioningScope,
    SlotOverwrite, StorageError,
};
use spdm_lite::requester::{Auth, Requester, RequesterConfig, Status};
use spdm_lite::responder::{PskConfig, Responder, ResponderConfig};
use spdm_lite::x509::X509Verifier;
use spdm_lite::{CryptoError, Error};
use x509_cert::request::CertReq;

const BUF: usize = 8192;
const DTS: u32 = 4096;
const PSK: &[u8] = b"factory station psk, 32 bytes!!!";
const HINT: &[u8] = b"factory";

/// DER `Name` with one CN.
fn cn_name(cn: &str) -> Vec<u8> {
    let mut atv = vec![0x06, 0x03, 0x55, 0x04, 0x03, 0x0C, cn.len() as u8];
    atv.extend_from_slice(cn.as_bytes());
    let mut seq = vec![0x30, atv.len() as u8];
    seq.extend(atv);
    let mut set = vec![0x31, seq.len() as u8];
    set.extend(seq);
    let mut name = vec![0x30, set.len() as u8];
    name.extend(set);
    name
}

fn device_key(set: AlgorithmSet, seed: u8) -> EcdsaSigningKey {
    let len = if set.asym == AsymAlgo::EcdsaP256 {
        32
    } else {
        48
    };
    let scalar: Vec<u8> = (0..len).map(|i| seed.wrapping_add(i as u8) | 1).collect();
    EcdsaSigningKey::from_scalar(set.asym, &scalar).unwrap()
}

fn public(key: &EcdsaSigningKey) -> Vec<u8> {
    let mut pk = [0u8; 97];
    let n = key.public_key_sec1(&mut pk).unwrap();
    pk[..n].to_vec()
}

/// The integrator's provider: a key, a subject, a policy, slot storage.
struct Device {
    key: EcdsaSigningKey,
    subject: Vec<u8>,
    factory: bool,
    policy: ProvisioningPolicy,
    root: Option<Vec<u8>>,
    slots: [Option<Vec<u8>>; 8],
    locked: bool,
    writes: usize,
}

impl Device {
    fn new(set: AlgorithmSet, root: &[u8]) -> Self {
        Self {
            key: device_key(set, 0x42),
            subject: cn_name("camera 0001"),
            factory: true,
            policy: ProvisioningPolicy::FACTORY,
            root: Some(root.to_vec()),
            slots: Default::default(),
            locked: false,
            writes: 0,
        }
    }
}

impl ProvisioningProvider for Device {
    fn algorithm(&self) -> AsymAlgo {
        self.key.algorithm()
    }
    fn device_public_key(&self, out: &mut [u8]) -> Result<usize, CryptoError> {
        self.key.public_key_sec1(out)
    }
    fn sign_prehash(&self, prehash: &[u8], out: &mut [u8]) -> Result<usize, CryptoError> {
        self.key.sign_prehash(prehash, out)
    }
    fn subject(&self) -> &[u8] {
        &self.subject
    }
    fn factory_mode(&self) -> bool {
        self.factory
    }
    fn policy(&self) -> ProvisioningPolicy {
        self.policy
    }
    fn trusted_root(&self) -> Option<&[u8]> {
        self.root.as_deref()
    }
    fn slot_chain(&self, slot: u8) -> Option<&[u8]> {
        self.slots.get(usize::from(slot))?.as_deref()
    }
    fn slot_locked(&self, _slot: u8) -> bool {
        self.locked
    }
    fn store_chain(&mut self, slot: u8, chain: &[u8]) -> Result<(), StorageError> {
        self.writes += 1;
        *self
            .slots
            .get_mut(usize::from(slot))
            .ok_or(StorageError::Failed)? = Some(chain.to_vec());
        Ok(())
    }
}

/// A manufacturer PKI made with rcgen: root and intermediate key pairs.
struct Pki {
    set: AlgorithmSet,
    root_params: rcgen::CertificateParams,
    root_key: rcgen::KeyPair,
    root: Vec<u8>,
    inter_params: rcgen::CertificateParams,
    inter_key: rcgen::KeyPair,
    inter: Vec<u8>,
}

fn pki(set: AlgorithmSet, name: &str) -> Pki {
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose,
    };
    let ca = |cn: String| {
        let mut p = CertificateParams::default();
        p.distinguished_name.push(DnType::CommonName, cn);
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        p.key_usages = vec![KeyUsagePurpose::KeyCertSign];
        p
    };
    let root_params = ca(format!("{name} root"));
    let inter_params = ca(format!("{name} intermediate"));
    let root_key = KeyPair::generate_for(rcgen_alg(set)).unwrap();
    let inter_key = KeyPair::generate_for(rcgen_alg(set)).unwrap();
    let root = root_params.self_signed(&root_key).unwrap().der().to_vec();
    let inter = inter_params
        .signed_by(&inter_key, &Issuer::from_params(&root_params, &root_key))
        .unwrap()
        .der()
        .to_vec();
    Pki {
        set,
        root_params,
        root_key,
        root,
        inter_params,
        inter_key,
        inter,
    }
}

impl Pki {
    /// Issues a responder certificate for the SEC1 key `pk` and returns the SPDM chain
    /// (root, intermediate, leaf).
    fn issue(&self, pk: &[u8], cn: &str) -> Vec<u8> {
        use rcgen::{
            CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyUsagePurpose,
        };
        let _ = &self.root_params;
        let mut p = CertificateParams::default();
        p.distinguished_name.push(DnType::CommonName, cn);
        p.is_ca = IsCa::ExplicitNoCa;
        p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        p.extended_key_usages = vec![ExtendedKeyUsagePurpose::Other(vec![
            1, 3, 6, 1, 4, 1, 412, 274, 3,
        ])];
        let leaf = p
            .signed_by(
                &LeafPub(pk.to_vec(), rcgen_alg(self.set)),
                &Issuer::from_params(&self.inter_params, &self.inter_key),
            )
            .unwrap();
        let _ = &self.root_key;
        let certs = [&self.root[..], &self.inter[..], leaf.der()].concat();
        encode_chain(self.set, &certs, &self.root)
    }
}

fn responder<'a>(
    set: AlgorithmSet,
    signer: &'a EcdsaSigningKey,
    rng: &'a mut TestRng,
    dev: &'a mut Device,
    psk: bool,
) -> Responder<'a, RustCrypto, EcdsaSigningKey> {
    Responder::with_provisioning(
        RustCrypto,
        signer,
        rng,
        ResponderConfig {
            algorithms: set,
            cert_chain: &[],
            psk: psk.then_some(PskConfig {
                hint: HINT,
                key: PSK,
                with_context: false,
            }),
            handshake_in_the_clear: false,
            data_transfer_size: DTS,
        },
        dev,
    )
    .unwrap()
}

/// One plain request (an SPDM message) and the SPDM answer.
fn raw(rsp: &mut Responder<'_, RustCrypto, EcdsaSigningKey>, spdm: &[u8]) -> Vec<u8> {
    let mut a = vec![0x05];
    a.extend_from_slice(spdm);
    let mut b = vec![0u8; BUF];
    let n = rsp.handle(&mut a, &mut b).unwrap();
    assert_eq!(b[0], 0x05);
    b[1..n].to_vec()
}

fn vca(rsp: &mut Responder<'_, RustCrypto, EcdsaSigningKey>) -> Provisioner<'static> {
    let mut p = Provisioner::new(ProvisionerConfig {
        algorithms: &SETS,
        data_transfer_size: DTS,
    })
    .unwrap();
    let (mut a, mut b) = (vec![0u8; BUF], vec![0u8; BUF]);
    loop {
        let n = p.write_request(&mut a).unwrap();
        let m = rsp.handle(&mut a[..n], &mut b).unwrap();
        if p.handle_response(&b[..m]).unwrap() {
            return p;
        }
    }
}

fn get_csr(
    p: &mut Provisioner<'_>,
    rsp: &mut Responder<'_, RustCrypto, EcdsaSigningKey>,
    info: &[u8],
) -> Result<Vec<u8>, Error> {
    let (mut a, mut b) = (vec![0u8; BUF], vec![0u8; BUF]);
    let n = p.write_get_csr(info, &[], &mut a)?;
    let m = rsp.handle(&mut a[..n], &mut b)?;
    let mut csr = vec![0u8; BUF];
    let k = p.handle_csr(&b[..m], &mut csr)?;
    csr.truncate(k);
    Ok(csr)
}

fn set_cert(
    p: &mut Provisioner<'_>,
    rsp: &mut Responder<'_, RustCrypto, EcdsaSigningKey>,
    chain: &[u8],
) -> Result<(), Error> {
    let (mut a, mut b) = (vec![0u8; BUF], vec![0u8; BUF]);
    let n = p.write_set_certificate(0, chain, &mut a)?;
    let m = rsp.handle(&mut a[..n], &mut b)?;
    p.handle_set_certificate(&b[..m])
}

/// What the responder serves now: the DIGESTS slot mask and slot-0 chain (GET_CERTIFICATE),
/// on a fresh connection.
fn served(rsp: &mut Responder<'_, RustCrypto, EcdsaSigningKey>, hash_len: usize) -> (u8, Vec<u8>) {
    let _ = vca(rsp);
    let d = raw(rsp, &[0x12, 0x81, 0, 0]);
    assert_eq!(d[1], 0x01);
    let mask = d[3];
    assert_eq!(d.len(), 4 + hash_len * mask.count_ones() as usize);
    let mut chain = Vec::new();
    loop {
        let off = chain.len() as u16;
        let [o0, o1] = off.to_le_bytes();
        let c = raw(rsp, &[0x12, 0x82, 0, 0, o0, o1, 0x00, 0x04]);
        if c[1] != 0x02 {
            assert_eq!(mask, 0, "no chain served although DIGESTS announced one");
            return (mask, chain);
        }
        let portion = usize::from(u16::from_le_bytes([c[4], c[5]]));
        let remainder = u16::from_le_bytes([c[6], c[7]]);
        chain.extend_from_slice(&c[8..8 + portion]);
        if remainder == 0 {
            return (mask, chain);
        }
    }
}

/// A full certificate handshake (GET_DIGESTS, GET_CERTIFICATE, CHALLENGE, KEY_EXCHANGE,
/// FINISH) validating against `root`.
fn authenticate(
    rsp: &mut Responder<'_, RustCrypto, EcdsaSigningKey>,
    root: &[u8],
) -> Result<(), Error> {
    let verifier = X509Verifier::new(RustCrypto, root);
    let mut chain_buf = vec![0u8; 4096];
    let mut qrng = TestRng(0x5555_6666_7777_8889);
    let mut req = Requester::new(
        RustCrypto,
        &mut qrng,
        RequesterConfig {
            algorithms: &SETS,
            handshake_in_the_clear: false,
            data_transfer_size: DTS,
        },
        Auth::Certificate {
            verifier: &verifier,
            chain_buf: &mut chain_buf,
            challenge: true,
        },
    )?;
    let (mut a, mut b) = (vec![0u8; BUF], vec![0u8; BUF]);
    for _ in 0..32 {
        let n = req.write_request(&mut a)?;
        let m = rsp.handle(&mut a[..n], &mut b)?;
        if req.handle_response(&mut b[..m])? == Status::Established {
            return Ok(());
        }
    }
    panic!("handshake did not finish")
}

/// Checks a CSR: it parses, its subject and key are the expected ones, and its signature
/// verifies under the device key over the CertificationRequestInfo.
fn check_csr(set: AlgorithmSet, csr: &[u8], subject: &[u8], pk: &[u8]) -> CertReq {
    let req = CertReq::from_der(csr).unwrap();
    assert_eq!(req.info.subject.to_der().unwrap(), subject);
    assert_eq!(req.info.public_key.subject_public_key.raw_bytes(), pk);
    let info = req.info.to_der().unwrap();
    let sig = req.signature.raw_bytes();
    if set.asym == AsymAlgo::EcdsaP256 {
        use p256::ecdsa::signature::Verifier;
        assert_eq!(req.algorithm.oid.to_string(), "1.2.840.10045.4.3.2");
        let vk = p256::ecdsa::VerifyingKey::from_sec1_bytes(pk).unwrap();
        let s = p256::ecdsa::Signature::from_der(sig).unwrap();
        vk.verify(&info, &s).unwrap();
    } else {
        use p384::ecdsa::signature::Verifier;
        assert_eq!(req.algorithm.oid.to_string(), "1.2.840.10045.4.3.3");
        let vk = p384::ecdsa::VerifyingKey::from_sec1_bytes(pk).unwrap();
        let s = p384::ecdsa::Signature::from_der(sig).unwrap();
        vk.verify(&info, &s).unwrap();
    }
    req
}

#[test]
fn factory_round_trip_csr_install_and_authenticate() {
    for set in SETS {
        let m = pki(set, "maker");
        let mut dev = Device::new(set, &m.root);
        let signer = device_key(set, 0x42);
        let pk = public(&signer);
        let subject = dev.subject.clone();
        let mut rng = TestRng(0x1111_2222_3333_4445);
        let chain;
        {
            let mut rsp = responder(set, &signer, &mut rng, &mut dev, false);
            // Unprovisioned: no slot announced, nothing to authenticate with.
            assert_eq!(served(&mut rsp, set.hash.len()), (0, vec![]));
            assert_eq!(
                authenticate(&mut rsp, &m.root),
                Err(Error::Negotiation),
                "an unprovisioned device cannot pass a certificate handshake"
            );
            let mut p = vca(&mut rsp);
            assert_eq!(p.algorithms(), Some(set));
            assert!(
                p.responder_capabilities()
                    .has(CapFlags::CSR | CapFlags::SET_CERT | CapFlags::CERT)
            );
            let csr = get_csr(&mut p, &mut rsp, &[]).unwrap();
            let req = check_csr(set, &csr, &subject, &pk);
            assert!(req.info.attributes.is_empty());
            // The station signs the CSR's key into a certificate and installs the chain.
            chain = m.issue(
                req.info.public_key.subject_public_key.raw_bytes(),
                "camera 0001",
            );
            set_cert(&mut p, &mut rsp, &chain).unwrap();
            // The same connection keeps working, and the new chain is served byte-identical.
            assert_eq!(served(&mut rsp, set.hash.len()), (1, chain.clone()));
            let d = raw(&mut rsp, &[0x12, 0x81, 0, 0]);
            assert_eq!(d[4..], hash(set, &[&chain])[..]);
            authenticate(&mut rsp, &m.root).unwrap();
            assert_eq!(rsp.state_name(), "Established");
            // Another manufacturer's root does not accept this device.
            let other = pki(set, "counterfeit");
            assert_eq!(
                authenticate(&mut rsp, &other.root),
                Err(Error::Certificate(CertError::UntrustedRoot))
            );
        }
        assert_eq!(dev.slots[0].as_deref(), Some(&chain[..]));
        assert_eq!(dev.writes, 1);
    }
}

#[test]
fn requester_info_subject_and_attributes_go_into_the_csr() {
    for set in SETS {
        let m = pki(set, "maker");
        let mut dev = Device::new(set, &m.root);
        let signer = device_key(set, 0x42);
        let pk = public(&signer);
        let mut rng = TestRng(3);
        let mut rsp = responder(set, &signer, &mut rng, &mut dev, false);
        let mut p = vca(&mut rsp);
        // CertificationRequestInfo { 0, CN=station-chosen, SPKI (ignored), [0] { challengePassword } }
        let name = cn_name("factory line 7 / 0001");
        let attr: &[u8] = &[
            0x30, 0x14, 0x06, 0x09, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x09, 0x07, 0x31,
            0x07, 0x0C, 0x05, b's', b'e', b'c', b'r', b't',
        ];
        let spki: &[u8] = &[0x30, 0x00];
        let mut body = vec![0x02, 0x01, 0x00];
        body.extend_from_slice(&name);
        body.extend_from_slice(spki);
        body.extend_from_slice(&[0xA0, attr.len() as u8]);
        body.extend_from_slice(attr);
        let mut info = vec![0x30, body.len() as u8];
        info.extend(body);
        let csr = get_csr(&mut p, &mut rsp, &info).unwrap();
        let req = check_csr(set, &csr, &name, &pk);
        assert_eq!(req.info.attributes.len(), 1);
        assert_eq!(req.info.attributes.to_der().unwrap()[2..], attr[..]);
    }
}

#[test]
fn get_csr_outside_factory_mode_is_refused_and_changes_nothing() {
    for set in SETS {
        let m = pki(set, "maker");
        let signer = device_key(set, 0x42);
        for scope in [
            ProvisioningScope::FactoryMode,
            ProvisioningScope::FactoryModeOrAuthenticatedSession,
        ] {
            let mut dev = Device::new(set, &m.root);
            dev.factory = false;
            dev.policy.scope = scope;
            let mut rng = TestRng(5);
            let mut rsp = responder(set, &signer, &mut rng, &mut dev, false);
            let mut p = vca(&mut rsp);
            let get_csr_msg = [0x12, 0xED, 0, 0, 0, 0, 0, 0];
            let chain = m.issue(&public(&signer), "camera");
            let mut set_msg = vec![0x12, 0xEE, 0, 0];
            set_msg.extend_from_slice(&chain);
            let want = match scope {
                // Never possible outside factory mode: the capability is not even advertised.
                ProvisioningScope::FactoryMode => {
                    assert!(!p.responder_capabilities().has(CapFlags::CSR));
                    assert_eq!(get_csr(&mut p, &mut rsp, &[]), Err(Error::Negotiation));
                    ErrorCode::UNSUPPORTED_REQUEST
                }
                // Possible in an authenticated session, so in the clear: not here.
                _ => {
                    assert!(p.responder_capabilities().has(CapFlags::CSR));
                    assert_eq!(
                        get_csr(&mut p, &mut rsp, &[]),
                        Err(Error::PeerError(ErrorCode::UNEXPECTED_REQUEST.0))
                    );
                    ErrorCode::UNEXPECTED_REQUEST
                }
            };
            for msg in [&get_csr_msg[..], &set_msg] {
                let r = raw(&mut rsp, msg);
                assert_eq!(r[1..3], [0x7F, want.0], "{scope:?}");
            }
            assert_eq!(served(&mut rsp, set.hash.len()), (0, vec![]));
            drop(rsp);
            assert_eq!(dev.writes, 0);
            assert!(dev.slots.iter().all(Option::is_none));
        }
    }
}

#[test]
fn chains_from_another_root_or_for_another_key_are_refused() {
    for set in SETS {
        let m = pki(set, "maker");
        let counterfeit = pki(set, "counterfeit");
        let signer = device_key(set, 0x42);
        let mut dev = Device::new(set, &m.root);
        let mut rng = TestRng(11);
        {
            let mut rsp = responder(set, &signer, &mut rng, &mut dev, false);
            let mut p = vca(&mut rsp);
            let bad = [
                // The device's key under another root.
                counterfeit.issue(&public(&signer), "camera 0001"),
                // The right root, but another key (a cloned certificate for another device).
                m.issue(&public(&device_key(set, 0x77)), "camera 0001"),
            ];
            for chain in &bad {
                assert_eq!(
                    set_cert(&mut p, &mut rsp, chain),
                    Err(Error::PeerError(ErrorCode::UNSPECIFIED.0))
                );
                assert_eq!(served(&mut rsp, set.hash.len()), (0, vec![]));
                p = vca(&mut rsp);
            }
            // A chain whose RootHash was rewritten to the right root's hash, with the
            // counterfeit certificates behind it, is refused as well.
            let mut forged = bad[0].clone();
            forged[4..4 + set.hash.len()].copy_from_slice(&hash(set, &[&m.root]));
            assert_eq!(
                set_cert(&mut p, &mut rsp, &forged),
                Err(Error::PeerError(ErrorCode::UNSPECIFIED.0))
            );
            assert_eq!(served(&mut rsp, set.hash.len()), (0, vec![]));
        }
        assert_eq!(dev.writes, 0);
        assert!(dev.slots[0].is_none());
    }
}

#[test]
fn a_provisioned_slot_is_not_overwritten() {
    for set in SETS {
        let m = pki(set, "maker");
        let signer = device_key(set, 0x42);
        // Policy Locked: a second SET_CERTIFICATE (a valid chain for the same key) is refused
        // in factory mode.
        let mut dev = Device::new(set, &m.root);
        let first = m.issue(&public(&signer), "camera 0001");
        let second = m.issue(&public(&signer), "camera 0001 (replacement)");
        let mut rng = TestRng(13);
        {
            let mut rsp = responder(set, &signer, &mut rng, &mut dev, false);
            let mut p = vca(&mut rsp);
            set_cert(&mut p, &mut rsp, &first).unwrap();
            assert_eq!(
                set_cert(&mut p, &mut rsp, &second),
                Err(Error::PeerError(ErrorCode::UNEXPECTED_REQUEST.0))
            );
            assert_eq!(served(&mut rsp, set.hash.len()), (1, first.clone()));
            authenticate(&mut rsp, &m.root).unwrap();
        }
        assert_eq!(dev.slots[0].as_deref(), Some(&first[..]));
        assert_eq!(dev.writes, 1);
        // Provider lock with ReplaceInAuthenticatedSession: refused in a PSK session too.
        let mut dev = Device::new(set, &m.root);
        let first = m.issue(&public(&signer), "camera 0001");
        dev.slots[0] = Some(first.clone());
        dev.locked = true;
        dev.policy = ProvisioningPolicy {
            scope: ProvisioningScope::FactoryModeOrAuthenticatedSession,
            overwrite: SlotOverwrite::ReplaceInAuthenticatedSession,
        };
        let second = m.issue(&public(&signer), "camera 0001 (replacement)");
        let mut rng = TestRng(17);
        {
            let mut rsp = responder(set, &signer, &mut rng, &mut dev, true);
            assert_eq!(
                set_cert_in_psk_session(&mut rsp, &second),
                Err(Error::PeerError(ErrorCode::UNEXPECTED_REQUEST.0))
            );
            assert_eq!(served(&mut rsp, set.hash.len()), (1, first.clone()));
        }
        assert_eq!(dev.writes, 0);
    }
}

/// Opens a PSK session and sends SET_CERTIFICATE inside it.
fn set_cert_in_psk_session(
    rsp: &mut Responder<'_, RustCrypto, EcdsaSigningKey>,
    chain: &[u8],
) -> Result<(), Error> {
    let mut qrng = TestRng(0x0123_4567_89AB_CDEF);
    let mut req = Requester::new(
        RustCrypto,
        &mut qrng,
        RequesterConfig {
            algorithms: &SETS,
            handshake_in_the_clear: false,
            data_transfer_size: DTS,
        },
        Auth::Psk {
            hint: HINT,
            key: PSK,
        },
    )
    .unwrap();
    let (mut a, mut b) = (vec![0u8; BUF], vec![0u8; BUF]);
    loop {
        let n = req.write_request(&mut a).unwrap();
        let m = rsp.handle(&mut a[..n], &mut b).unwrap();
        if req.handle_response(&mut b[..m]).unwrap() == Status::Established {
            break;
        }
    }
    let mut s = req.into_session().unwrap();
    let n = s.write_set_certificate(0, chain, &mut a)?;
    let m = rsp.handle(&mut a[..n], &mut b)?;
    s.handle_set_certificate(&mut b[..m], 0)
}

#[test]
fn replacement_only_inside_an_authenticated_session() {
    for set in SETS {
        let m = pki(set, "maker");
        let signer = device_key(set, 0x42);
        let mut dev = Device::new(set, &m.root);
        dev.policy = ProvisioningPolicy {
            scope: ProvisioningScope::FactoryModeOrAuthenticatedSession,
            overwrite: SlotOverwrite::ReplaceInAuthenticatedSession,
        };
        let first = m.issue(&public(&signer), "camera 0001");
        let second = m.issue(&public(&signer), "camera 0001 (replacement)");
        let mut rng = TestRng(19);
        {
            let mut rsp = responder(set, &signer, &mut rng, &mut dev, true);
            let mut p = vca(&mut rsp);
            set_cert(&mut p, &mut rsp, &first).unwrap();
            // In the clear (even in factory mode): refused, the first chain stays.
            assert_eq!(
                set_cert(&mut p, &mut rsp, &second),
                Err(Error::PeerError(ErrorCode::UNEXPECTED_REQUEST.0))
            );
            assert_eq!(served(&mut rsp, set.hash.len()), (1, first.clone()));
            // Inside a session whose requester knows the PSK: replaced.
            set_cert_in_psk_session(&mut rsp, &second).unwrap();
            assert_eq!(served(&mut rsp, set.hash.len()), (1, second.clone()));
            authenticate(&mut rsp, &m.root).unwrap();
        }
        assert_eq!(dev.slots[0].as_deref(), Some(&second[..]));
        assert_eq!(dev.writes, 2);
    }
}

#[test]
fn get_csr_inside_a_psk_session_outside_factory_mode() {
    for set in SETS {
        let m = pki(set, "maker");
        let signer = device_key(set, 0x42);
        let mut dev = Device::new(set, &m.root);
        dev.factory = false;
        dev.policy.scope = ProvisioningScope::AuthenticatedSession;
        let mut rng = TestRng(23);
        let mut rsp = responder(set, &signer, &mut rng, &mut dev, true);
        let mut qrng = TestRng(29);
        let mut req = Requester::new(
            RustCrypto,
            &mut qrng,
            RequesterConfig {
                algorithms: &SETS,
                handshake_in_the_clear: false,
                data_transfer_size: DTS,
            },
            Auth::Psk {
                hint: HINT,
                key: PSK,
            },
        )
        .unwrap();
        let (mut a, mut b) = (vec![0u8; BUF], vec![0u8; BUF]);
        loop {
            let n = req.write_request(&mut a).unwrap();
            let m = rsp.handle(&mut a[..n], &mut b).unwrap();
            if req.handle_response(&mut b[..m]).unwrap() == Status::Established {
                break;
            }
        }
        let mut s = req.into_session().unwrap();
        let n = s.write_get_csr(&[], &[], &mut a).unwrap();
        let k = rsp.handle(&mut a[..n], &mut b).unwrap();
        let mut csr = vec![0u8; BUF];
        let c = s.handle_csr(&mut b[..k], &mut csr).unwrap();
        check_csr(set, &csr[..c], &cn_name("camera 0001"), &public(&signer));
    }
}

#[test]
fn malformed_requests_are_invalid_and_change_nothing() {
    for set in SETS {
        let m = pki(set, "maker");
        let signer = device_key(set, 0x42);
        let mut dev = Device::new(set, &m.root);
        let good = m.issue(&public(&signer), "camera 0001");
        let mut rng = TestRng(31);
        {
            let mut rsp = responder(set, &signer, &mut rng, &mut dev, false);
            let _ = vca(&mut rsp);
            let set_msg = |p1: u8, p2: u8, chain: &[u8]| {
                let mut v = vec![0x12, 0xEE, p1, p2];
                v.extend_from_slice(chain);
                v
            };
            let mut reserved = good.clone();
            reserved[3] = 1;
            let mut short_len = good.clone();
            short_len[0] = short_len[0].wrapping_sub(1);
            let mut bad_root_hash_len = good.clone();
            bad_root_hash_len.truncate(4 + set.hash.len() - 1);
            bad_root_hash_len[0] = bad_root_hash_len.len() as u8;
            bad_root_hash_len[1] = 0;
            let cases: Vec<(&str, Vec<u8>, ErrorCode)> = vec![
                (
                    "GET_CSR truncated",
                    vec![0x12, 0xED, 0, 0, 0],
                    ErrorCode::INVALID_REQUEST,
                ),
                (
                    "GET_CSR RequesterInfoLength past the end",
                    vec![0x12, 0xED, 0, 0, 4, 0, 0, 0, 0x30, 0x00],
                    ErrorCode::INVALID_REQUEST,
                ),
                (
                    "GET_CSR trailing byte",
                    vec![0x12, 0xED, 0, 0, 0, 0, 0, 0, 0],
                    ErrorCode::INVALID_REQUEST,
                ),
                (
                    "GET_CSR reserved Param1 (1.3 KeyPairID)",
                    vec![0x12, 0xED, 1, 0, 0, 0, 0, 0],
                    ErrorCode::INVALID_REQUEST,
                ),
                (
                    "GET_CSR reserved Param2 (1.3 Overwrite)",
                    vec![0x12, 0xED, 0, 0x80, 0, 0, 0, 0],
                    ErrorCode::INVALID_REQUEST,
                ),
                (
                    "GET_CSR RequesterInfo not a CertificationRequestInfo",
                    vec![0x12, 0xED, 0, 0, 2, 0, 0, 0, 0x04, 0x00],
                    ErrorCode::INVALID_REQUEST,
                ),
                (
                    "GET_CSR wrong version",
                    vec![0x11, 0xED, 0, 0, 0, 0, 0, 0],
                    ErrorCode::VERSION_MISMATCH,
                ),
                (
                    "SET_CERTIFICATE slot 1",
                    set_msg(1, 0, &good),
                    ErrorCode::INVALID_REQUEST,
                ),
                (
                    "SET_CERTIFICATE slot 9",
                    set_msg(9, 0, &good),
                    ErrorCode::INVALID_REQUEST,
                ),
                (
                    "SET_CERTIFICATE reserved Param1 bits (1.3 Erase)",
                    set_msg(0x80, 0, &good),
                    ErrorCode::INVALID_REQUEST,
                ),
                (
                    "SET_CERTIFICATE reserved Param2 (1.3 KeyPairID)",
                    set_msg(0, 1, &good),
                    ErrorCode::INVALID_REQUEST,
                ),
                (
                    "SET_CERTIFICATE chain Reserved field not zero",
                    set_msg(0, 0, &reserved),
                    ErrorCode::INVALID_REQUEST,
                ),
                (
                    "SET_CERTIFICATE chain Length too small",
                    set_msg(0, 0, &short_len),
                    ErrorCode::INVALID_REQUEST,
                ),
                (
                    "SET_CERTIFICATE truncated chain header",
                    set_msg(0, 0, &good[..3]),
                    ErrorCode::INVALID_REQUEST,
                ),
                (
                    "SET_CERTIFICATE chain shorter than its RootHash",
                    set_msg(0, 0, &bad_root_hash_len),
                    ErrorCode::INVALID_REQUEST,
                ),
            ];
            for (what, msg, want) in cases {
                let r = raw(&mut rsp, &msg);
                assert_eq!(r[1..3], [0x7F, want.0], "{what}");
                assert_eq!(served(&mut rsp, set.hash.len()), (0, vec![]), "{what}");
            }
            // The responder still provisions correctly afterwards.
            let mut p = vca(&mut rsp);
            set_cert(&mut p, &mut rsp, &good).unwrap();
        }
        assert_eq!(dev.writes, 1);
    }
}

#[test]
fn provisioning_requests_before_negotiation_are_unexpected() {
    let set = AlgorithmSet::SET_A;
    let m = pki(set, "maker");
    let signer = device_key(set, 0x42);
    let mut dev = Device::new(set, &m.root);
    let mut rng = TestRng(37);
    {
        let mut rsp = responder(set, &signer, &mut rng, &mut dev, false);
        let r = raw(&mut rsp, &[0x12, 0xED, 0, 0, 0, 0, 0, 0]);
        assert_eq!(r[1..3], [0x7F, ErrorCode::UNEXPECTED_REQUEST.0]);
    }
    assert_eq!(dev.writes, 0);
}

#[test]
fn a_session_without_requester_authentication_does_not_count() {
    for set in SETS {
        let m = pki(set, "maker");
        let signer = device_key(set, 0x42);
        let first = m.issue(&public(&signer), "camera 0001");
        let second = m.issue(&public(&signer), "camera 0001 (replacement)");
        let mut dev = Device::new(set, &m.root);
        dev.slots[0] = Some(first.clone());
        dev.factory = false;
        dev.policy = ProvisioningPolicy {
            scope: ProvisioningScope::AuthenticatedSession,
            overwrite: SlotOverwrite::ReplaceInAuthenticatedSession,
        };
        let mut rng = TestRng(41);
        {
            let mut rsp = responder(set, &signer, &mut rng, &mut dev, true);
            // A certificate session: the requester proved nothing (anybody can open one).
            let verifier = X509Verifier::new(RustCrypto, &m.root);
            let mut chain_buf = vec![0u8; 4096];
            let mut qrng = TestRng(43);
            let mut req = Requester::new(
                RustCrypto,
                &mut qrng,
                RequesterConfig {
                    algorithms: &SETS,
                    handshake_in_the_clear: false,
                    data_transfer_size: DTS,
                },
                Auth::Certificate {
                    verifier: &verifier,
                    chain_buf: &mut chain_buf,
                    challenge: false,
                },
            )
            .unwrap();
            let (mut a, mut b) = (vec![0u8; BUF], vec![0u8; BUF]);
            loop {
                let n = req.write_request(&mut a).unwrap();
                let k = rsp.handle(&mut a[..n], &mut b).unwrap();
                if req.handle_response(&mut b[..k]).unwrap() == Status::Established {
                    break;
                }
            }
            let mut s = req.into_session().unwrap();
            assert!(!s.session().unwrap().requester_auth().is_authenticated());
            let n = s.write_get_csr(&[], &[], &mut a).unwrap();
            let k = rsp.handle(&mut a[..n], &mut b).unwrap();
            let mut csr = vec![0u8; BUF];
            assert_eq!(
                s.handle_csr(&mut b[..k], &mut csr),
                Err(Error::PeerError(ErrorCode::UNEXPECTED_REQUEST.0))
            );
            let n = s.write_set_certificate(0, &second, &mut a).unwrap();
            let k = rsp.handle(&mut a[..n], &mut b).unwrap();
            assert_eq!(
                s.handle_set_certificate(&mut b[..k], 0),
                Err(Error::PeerError(ErrorCode::UNEXPECTED_REQUEST.0))
            );
            // The session itself goes on (a refusal is an ERROR in the session).
            assert_eq!(rsp.state_name(), "Established");
            assert_eq!(served(&mut rsp, set.hash.len()), (1, first.clone()));
            // The same request from a requester that knows the PSK is accepted.
            set_cert_in_psk_session(&mut rsp, &second).unwrap();
            assert_eq!(served(&mut rsp, set.hash.len()), (1, second.clone()));
        }
        assert_eq!(dev.writes, 1);
    }
}

/// GET_CSR and SET_CERTIFICATE in the clear with every `out` too short for the answer: each
/// attempt is refused with `Error::Encode` and changes nothing (no chain stored), then the
/// answer is the twin's byte for byte (same CSR), and both serve the same chain afterwards.
#[test]
fn get_csr_and_set_certificate_in_the_clear_survive_short_outs() {
    for set in SETS {
        let m = pki(set, "maker");
        let signer = device_key(set, 0x42);
        let (mut dev, mut dev_twin) = (Device::new(set, &m.root), Device::new(set, &m.root));
        let (mut rng, mut rng_twin) = (TestRng(7), TestRng(7));
        let mut rsp = responder(set, &signer, &mut rng, &mut dev, false);
        let mut twin = responder(set, &signer, &mut rng_twin, &mut dev_twin, false);
        let mut p = vca(&mut rsp);
        let _ = vca(&mut twin);
        let mut send = |q: &[u8]| {
            let mut b = vec![0u8; BUF];
            let n = twin.handle(&mut q.to_vec(), &mut b).unwrap();
            let want = b[..n].to_vec();
            for len in 0..n {
                let r = rsp.handle(&mut q.to_vec(), &mut b[..len]);
                assert!(matches!(r, Err(Error::Encode(_))), "out of {len}: {r:?}");
            }
            let k = rsp.handle(&mut q.to_vec(), &mut b[..n]).unwrap();
            assert_eq!(b[..k], want[..]);
            want
        };
        let mut a = vec![0u8; BUF];
        let n = p.write_get_csr(&[], &[], &mut a).unwrap();
        let answer = send(&a[..n]);
        let mut csr = vec![0u8; BUF];
        let k = p.handle_csr(&answer, &mut csr).unwrap();
        let req = CertReq::from_der(&csr[..k]).unwrap();
        let chain = m.issue(
            req.info.public_key.subject_public_key.raw_bytes(),
            "camera 0001",
        );
        let n = p.write_set_certificate(0, &chain, &mut a).unwrap();
        let answer = send(&a[..n]);
        p.handle_set_certificate(&answer).unwrap();
        assert_eq!(served(&mut rsp, set.hash.len()), (1, chain.clone()));
        assert_eq!(served(&mut twin, set.hash.len()), (1, chain));
        drop((rsp, twin));
        assert_eq!((dev.writes, dev_twin.writes), (1, 1));
    }
}
