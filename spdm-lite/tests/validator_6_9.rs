//! DMTF SPDM-Responder-Validator groups 6 (CHALLENGE_AUTH), 7 (MEASUREMENTS), 8
//! (KEY_EXCHANGE_RSP) and 9 (FINISH_RSP), replayed as raw SPDM bytes against the responder
//! as the `spdm-responder` example configures it (SPDM 1.2 only; measurements with
//! `--measurements`, HANDSHAKE_IN_THE_CLEAR with `--in-clear`, an unprovisioned device with
//! `--state` on its first start). The requester side is written
//! out here (transcripts, signatures, key schedule, records) so that every assertion of a case
//! is checked on the bytes, not through our own requester. Cases for SPDM 1.0/1.1 only are
//! skipped by the validator itself (VERSION offers 1.2 only) and have no test.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]

mod common;

use common::{
    Block, DECRYPT_ERROR, INVALID_REQUEST, SESSION_REQUIRED, SETS, TestRng, UNEXPECTED_REQUEST,
    VERSION_MISMATCH, block_info, error, hash, hash_digest, read, spdm_chain,
};
use spdm_lite::cert::ChainVerifier;
use spdm_lite::crypto::{
    AlgorithmSet, AsymAlgo, CryptoProvider, DheSecret, EcdsaSigningKey, RandomSource, RustCrypto,
    Signer,
};
use spdm_lite::key_schedule::{HandshakeSecrets, KeySchedule};
use spdm_lite::measurements::{BlockInfo, MeasurementProvider, value_type as vt};
use spdm_lite::msgs::Version;
use spdm_lite::provisioning::{ProvisioningPolicy, ProvisioningProvider, StorageError};
use spdm_lite::record::{self, DirectionKeys};
use spdm_lite::responder::{Responder, ResponderConfig};
use spdm_lite::session::Role;
use spdm_lite::transcript::{context, signing_digest};
use spdm_lite::x509::X509Verifier;
use spdm_lite::{CryptoError, Error};

const P: RustCrypto = RustCrypto;

/// The example's sample measurements (`--measurements`): indices 1-5, three digests and two
/// raw values.
struct Sample(Vec<Block>);

impl MeasurementProvider for Sample {
    fn count(&self) -> usize {
        self.0.len()
    }
    fn block(&self, n: usize, value: &mut [u8]) -> Option<BlockInfo> {
        block_info(&self.0, n, value)
    }
}

struct Fx {
    set: AlgorithmSet,
    chain: Vec<u8>,
    key: EcdsaSigningKey,
    leaf: Vec<u8>,
    meas: Sample,
}

fn fixture(set: AlgorithmSet) -> Fx {
    let chain = spdm_chain(set, "chain.der", "root.cert.der");
    let root = read(set, "root.cert.der");
    let mut leaf = vec![0u8; 97];
    let n = X509Verifier::new(P, &root)
        .verify_chain(set, Role::Responder, &chain, &mut leaf)
        .unwrap();
    leaf.truncate(n);
    let d = |s: &str| hash(set, &[s.as_bytes()]);
    let meas = Sample(vec![
        (1, vt::IMMUTABLE_ROM, d("boot ROM"), true),
        (2, vt::MUTABLE_FIRMWARE, d("firmware 1.0.0"), true),
        (3, vt::HARDWARE_CONFIG, d("fuses"), false),
        (4, vt::FIRMWARE_VERSION | vt::RAW, b"1.0.0".to_vec(), false),
        (
            5,
            vt::SECURITY_VERSION_NUMBER | vt::RAW,
            1u64.to_le_bytes().to_vec(),
            true,
        ),
    ]);
    Fx {
        set,
        key: EcdsaSigningKey::from_sec1_der(set.asym, &read(set, "leaf.key.der")).unwrap(),
        chain,
        leaf,
        meas,
    }
}

fn verify(f: &Fx, ctx: &str, transcript: &[u8], sig: &[u8]) {
    let d = signing_digest(
        &P,
        f.set.hash,
        Version::V12,
        ctx,
        &hash_digest(f.set, &[transcript]),
    );
    P.ecdsa_verify(f.set.asym, &f.leaf, d.unwrap().as_bytes(), sig)
        .unwrap();
}

/// The validator's GET_CAPABILITIES flags: CERT, CHAL, ENCRYPT, MAC, KEY_EX, ENCAP, HBEAT,
/// KEY_UPD (and HANDSHAKE_IN_THE_CLEAR for the `_HS_CLEAR` cases); never MUT_AUTH.
const REQ_CAPS: u32 = (1 << 1) | (1 << 2) | (1 << 6) | (1 << 7) | (1 << 9) | (1 << 12) | (1 << 13);
const KEY_UPD: u32 = 1 << 14;
const IN_CLEAR: u32 = 1 << 15;

/// NEGOTIATE_ALGORITHMS offering everything the validator offers (it lets the responder pick).
fn negotiate_algorithms() -> Vec<u8> {
    let mut m = vec![0x12, 0xE3, 4, 0, 48, 0, 0x01, 0x02];
    m.extend_from_slice(&0x0FFFu32.to_le_bytes());
    m.extend_from_slice(&0x7Fu32.to_le_bytes());
    m.extend_from_slice(&[0; 16]);
    for (ty, bits) in [(2u8, 0x7Fu16), (3, 0x0F), (4, 0x0FFF), (5, 0x01)] {
        m.extend_from_slice(&[ty, 0x20]);
        m.extend_from_slice(&bits.to_le_bytes());
    }
    m
}

type Rsp<'a> = Responder<'a, RustCrypto, EcdsaSigningKey>;

/// The validator's side of one connection: the responder, the VCA, message B since the last
/// CHALLENGE_AUTH, and its own random source.
struct V<'a> {
    f: &'a Fx,
    rsp: Rsp<'a>,
    rng: TestRng,
    vca: Vec<u8>,
    b: Vec<u8>,
    caps: u32,
    req_caps: u32,
}

fn connect<'a>(f: &'a Fx, rrng: &'a mut TestRng, in_clear: bool, meas: bool) -> V<'a> {
    let mut rsp = Responder::new(
        P,
        &f.key,
        rrng,
        ResponderConfig {
            algorithms: f.set,
            cert_chain: &f.chain,
            psk: None,
            handshake_in_the_clear: in_clear,
            data_transfer_size: 1024,
        },
    )
    .unwrap();
    if meas {
        rsp.set_measurements(&f.meas);
    }
    V {
        f,
        rsp,
        rng: TestRng(0x9e37_79b9_7f4a_7c15),
        vca: Vec::new(),
        b: Vec::new(),
        caps: 0,
        req_caps: 0,
    }
}

/// An unprovisioned device in factory mode (`spdm-responder --state FILE` on its first start):
/// it advertises CERT_CAP, but DIGESTS shows no slot and there is no chain to authenticate with.
struct Unprovisioned<'a>(&'a Fx);

impl ProvisioningProvider for Unprovisioned<'_> {
    fn algorithm(&self) -> AsymAlgo {
        self.0.set.asym
    }
    fn device_public_key(&self, out: &mut [u8]) -> Result<usize, CryptoError> {
        let k = &self.0.leaf;
        out.get_mut(..k.len())
            .ok_or(CryptoError::InvalidLength)?
            .copy_from_slice(k);
        Ok(k.len())
    }
    fn sign_prehash(&self, prehash: &[u8], out: &mut [u8]) -> Result<usize, CryptoError> {
        self.0.key.sign_prehash(prehash, out)
    }
    fn subject(&self) -> &[u8] {
        &[0x30, 0x00]
    }
    fn factory_mode(&self) -> bool {
        true
    }
    fn policy(&self) -> ProvisioningPolicy {
        ProvisioningPolicy::FACTORY
    }
    fn trusted_root(&self) -> Option<&[u8]> {
        None
    }
    fn slot_chain(&self, _slot: u8) -> Option<&[u8]> {
        None
    }
    fn store_chain(&mut self, _slot: u8, _chain: &[u8]) -> Result<(), StorageError> {
        Err(StorageError::Failed)
    }
}

/// The unprovisioned device after the validator's VCA and GET_DIGESTS (empty slot mask).
fn connect_unprovisioned<'a>(
    f: &'a Fx,
    rrng: &'a mut TestRng,
    dev: &'a mut Unprovisioned<'a>,
) -> V<'a> {
    let config = ResponderConfig {
        algorithms: f.set,
        cert_chain: &[],
        psk: None,
        handshake_in_the_clear: false,
        data_transfer_size: 4096,
    };
    let rsp = Responder::with_provisioning(P, &f.key, rrng, config, dev).unwrap();
    let mut v = V {
        f,
        rsp,
        rng: TestRng(0x2545_f491_4f6c_dd1d),
        vca: Vec::new(),
        b: Vec::new(),
        caps: 0,
        req_caps: 0,
    };
    v.vca(REQ_CAPS | KEY_UPD);
    assert_eq!(v.caps & 0x0206, 0x0206, "CERT, CHAL, KEY_EX");
    assert_eq!(v.digests(), [0x12, 0x01, 0, 0]);
    v
}

impl V<'_> {
    fn h(&self) -> usize {
        self.f.set.hash.len()
    }
    fn s(&self) -> usize {
        self.f.set.asym.signature_len()
    }

    /// One request in the clear; the SPDM response.
    fn plain(&mut self, spdm: &[u8]) -> Vec<u8> {
        let mut a = vec![0x05];
        a.extend_from_slice(spdm);
        let mut out = [0u8; 4096];
        let n = self.rsp.handle(&mut a, &mut out).unwrap();
        assert_eq!(out[0], 0x05);
        out[1..n].to_vec()
    }

    /// GET_VERSION and GET_CAPABILITIES; returns the responder's flags.
    fn version_capabilities(&mut self, flags: u32) -> u32 {
        self.vca.clear();
        self.b.clear();
        let gv = [0x10, 0x84, 0, 0];
        let ver = self.plain(&gv);
        assert_eq!(ver, [0x10, 0x04, 0, 0, 0, 1, 0x00, 0x12]);
        let mut gc = vec![0x12, 0xE1, 0, 0, 0, 0, 0, 0];
        gc.extend_from_slice(&flags.to_le_bytes());
        gc.extend_from_slice(&4096u32.to_le_bytes());
        gc.extend_from_slice(&4096u32.to_le_bytes());
        let caps = self.plain(&gc);
        assert_eq!(caps[..2], [0x12, 0x61]);
        for m in [&gv[..], &ver, &gc, &caps] {
            self.vca.extend_from_slice(m);
        }
        self.caps = u32::from_le_bytes(caps[8..12].try_into().unwrap());
        self.req_caps = flags;
        self.caps
    }

    /// The whole VCA with the validator's flags.
    fn vca(&mut self, flags: u32) {
        self.version_capabilities(flags);
        let na = negotiate_algorithms();
        let alg = self.plain(&na);
        assert_eq!(alg[..2], [0x12, 0x63]);
        self.vca.extend_from_slice(&na);
        self.vca.extend_from_slice(&alg);
    }

    /// GET_DIGESTS (joins message B); returns DIGESTS.
    fn digests(&mut self) -> Vec<u8> {
        let d = self.plain(&[0x12, 0x81, 0, 0]);
        assert_eq!(d[..2], [0x12, 0x01]);
        self.b.extend_from_slice(&[0x12, 0x81, 0, 0]);
        self.b.extend_from_slice(&d);
        d
    }

    /// The slot-0 chain in GET_CERTIFICATE portions (message B); returns the chain.
    fn certificate(&mut self) -> Vec<u8> {
        let mut chain = Vec::new();
        loop {
            let mut gc = vec![0x12, 0x82, 0, 0];
            gc.extend_from_slice(&(chain.len() as u16).to_le_bytes());
            gc.extend_from_slice(&0x400u16.to_le_bytes());
            let c = self.plain(&gc);
            assert_eq!(c[..2], [0x12, 0x02]);
            let portion = u16::from_le_bytes([c[4], c[5]]) as usize;
            chain.extend_from_slice(&c[8..8 + portion]);
            self.b.extend_from_slice(&gc);
            self.b.extend_from_slice(&c);
            if c[6..8] == [0, 0] {
                return chain;
            }
        }
    }

    fn nonce(&mut self) -> [u8; 32] {
        let mut n = [0u8; 32];
        self.rng.fill(&mut n).unwrap();
        n
    }

    fn challenge_req(&mut self, version: u8, slot: u8, ty: u8) -> Vec<u8> {
        let mut c = vec![version, 0x83, slot, ty];
        c.extend_from_slice(&self.nonce());
        c
    }

    /// CHALLENGE for slot 0 with summary type `ty`, and every assertion of a successful
    /// CHALLENGE_AUTH (6.7.1-6.7.7): code, version, slot, slot mask, chain hash (against the
    /// chain and the DIGESTS of the setup), length, and the signature over M1 (VCA, message B,
    /// CHALLENGE, CHALLENGE_AUTH without the signature) with the leaf key of the chain.
    fn challenge_ok(&mut self, ty: u8, chain: &[u8], digests: &[u8]) {
        let (h, s) = (self.h(), self.s());
        let req = self.challenge_req(0x12, 0, ty);
        let rsp = self.plain(&req);
        assert_eq!(rsp[..2], [0x12, 0x03], "type {ty:#x}");
        assert_eq!(rsp[2] & 0x0F, 0);
        assert_ne!(rsp[3] & 1, 0);
        assert_eq!(&rsp[4..4 + h], hash_digest(self.f.set, &[chain]).as_bytes());
        assert_eq!(&rsp[4..4 + h], &digests[4..4 + h]);
        let mut off = 4 + h + 32 + if ty == 0 { 0 } else { h };
        off += 2 + u16::from_le_bytes([rsp[off], rsp[off + 1]]) as usize;
        assert_eq!(rsp.len(), off + s);
        let m1 = [&self.vca[..], &self.b, &req, &rsp[..off]].concat();
        verify(self.f, context::RESPONDER_CHALLENGE_AUTH, &m1, &rsp[off..]);
        self.b.clear();
    }
}

/// CHALLENGE_AUTH cases 6.7-6.14: setup VCA, GET_DIGESTS, GET_CERTIFICATE (and a CHALLENGE for
/// A2); then per summary type (none; TCB and all with measurements) the steps: a new VCA for
/// A1, GET_DIGESTS if `digests`, GET_CERTIFICATE if `cert`, CHALLENGE.
fn challenge_case(a2: bool, digests: bool, cert: bool) {
    for set in SETS {
        let f = fixture(set);
        for meas in [false, true] {
            let mut rrng = TestRng(0x1234_5678_9abc_def1);
            let mut v = connect(&f, &mut rrng, false, meas);
            v.vca(REQ_CAPS | KEY_UPD);
            assert_eq!(v.caps & 0x06, 0x06, "CERT_CAP and CHAL_CAP");
            assert_eq!(v.caps & 0x18, if meas { 0x10 } else { 0 }, "MEAS_CAP");
            let d = v.digests();
            let chain = v.certificate();
            assert_eq!(chain, f.chain);
            if a2 {
                v.challenge_ok(0, &chain, &d);
            }
            let types: &[u8] = if meas { &[0, 1, 0xFF] } else { &[0] };
            for &ty in types {
                if !a2 {
                    v.vca(REQ_CAPS | KEY_UPD);
                }
                if digests {
                    assert_eq!(v.digests(), d);
                }
                if cert {
                    assert_eq!(v.certificate(), chain);
                }
                v.challenge_ok(ty, &chain, &d);
            }
        }
    }
}

/// DMTF SPDM-Responder-Validator case 6.7: after a fresh VCA, GET_DIGESTS and GET_CERTIFICATE,
/// CHALLENGE gets a CHALLENGE_AUTH whose fields, length and M1 signature are right (also with
/// a TCB or all-measurements summary when measurements are served).
#[test]
fn case_6_7_challenge_after_vca_digests_certificate_gets_valid_challenge_auth() {
    challenge_case(false, true, true);
}

/// DMTF SPDM-Responder-Validator case 6.8: as 6.7 with CHALLENGE right after the VCA (no
/// message B in M1).
#[test]
fn case_6_8_challenge_right_after_vca_gets_valid_challenge_auth() {
    challenge_case(false, false, false);
}

/// DMTF SPDM-Responder-Validator case 6.9: as 6.7 with only GET_DIGESTS before CHALLENGE.
#[test]
fn case_6_9_challenge_after_vca_and_digests_gets_valid_challenge_auth() {
    challenge_case(false, true, false);
}

/// DMTF SPDM-Responder-Validator case 6.10: as 6.7 with only GET_CERTIFICATE before
/// CHALLENGE.
#[test]
fn case_6_10_challenge_after_vca_and_certificate_gets_valid_challenge_auth() {
    challenge_case(false, false, true);
}

/// DMTF SPDM-Responder-Validator case 6.11: after a first CHALLENGE (M1 starts again from the
/// VCA), GET_DIGESTS, GET_CERTIFICATE and a second CHALLENGE get a valid CHALLENGE_AUTH.
#[test]
fn case_6_11_second_challenge_after_digests_certificate_gets_valid_challenge_auth() {
    challenge_case(true, true, true);
}

/// DMTF SPDM-Responder-Validator case 6.12: a second CHALLENGE right after the first.
#[test]
fn case_6_12_second_challenge_right_after_the_first_gets_valid_challenge_auth() {
    challenge_case(true, false, false);
}

/// DMTF SPDM-Responder-Validator case 6.13: a second CHALLENGE after GET_DIGESTS only.
#[test]
fn case_6_13_second_challenge_after_digests_gets_valid_challenge_auth() {
    challenge_case(true, true, false);
}

/// DMTF SPDM-Responder-Validator case 6.14: a second CHALLENGE after GET_CERTIFICATE only.
#[test]
fn case_6_14_second_challenge_after_certificate_gets_valid_challenge_auth() {
    challenge_case(true, false, true);
}

/// DMTF SPDM-Responder-Validator case 6.4: CHALLENGE with SPDMVersion 1.3 or 1.1 (not the
/// negotiated 1.2) gets ERROR VersionMismatch (version 1.2, Param2 0). The refusals leave M1
/// alone: the next CHALLENGE_AUTH still verifies over VCA and message B.
#[test]
fn case_6_4_challenge_with_non_negotiated_version_gets_version_mismatch() {
    for set in SETS {
        let f = fixture(set);
        let mut rrng = TestRng(41);
        let mut v = connect(&f, &mut rrng, false, true);
        v.vca(REQ_CAPS | KEY_UPD);
        let d = v.digests();
        let chain = v.certificate();
        for version in [0x13, 0x11] {
            let req = v.challenge_req(version, 0, 0);
            assert_eq!(v.plain(&req), error(VERSION_MISMATCH), "{version:#x}");
        }
        v.challenge_ok(0, &chain, &d);
    }
}

/// DMTF SPDM-Responder-Validator case 6.6: CHALLENGE for a slot without a chain (1-7), an
/// invalid slot (8-0xF) or the provisioned-key slot 0xFF (none here), and CHALLENGE with
/// summary type 2 (TCB + 1) or 0xFE (all - 1), each gets ERROR InvalidRequest (1.2, Param2 0).
/// M1 is untouched: the next CHALLENGE_AUTH verifies. On an unprovisioned device (empty slot
/// mask) slot 0 is invalid too: InvalidRequest for every slot, and the connection stays.
#[test]
fn case_6_6_challenge_with_invalid_field_gets_invalid_request() {
    for set in SETS {
        let f = fixture(set);
        for meas in [false, true] {
            let mut rrng = TestRng(43);
            let mut v = connect(&f, &mut rrng, false, meas);
            v.vca(REQ_CAPS | KEY_UPD);
            let d = v.digests();
            assert_eq!(d[3], 1, "slot mask");
            let chain = v.certificate();
            for slot in (1..=0x0F).chain([0xFF]) {
                let req = v.challenge_req(0x12, slot, 0);
                assert_eq!(v.plain(&req), error(INVALID_REQUEST), "slot {slot:#x}");
            }
            for ty in [2, 0xFE] {
                let req = v.challenge_req(0x12, 0, ty);
                assert_eq!(v.plain(&req), error(INVALID_REQUEST), "type {ty:#x}");
            }
            v.challenge_ok(if meas { 0xFF } else { 0 }, &chain, &d);
        }
        // Unprovisioned: slot 0 has no chain either, so it is one of the invalid slots.
        let mut dev = Unprovisioned(&f);
        let mut rrng = TestRng(44);
        let mut v = connect_unprovisioned(&f, &mut rrng, &mut dev);
        for slot in (0..=0x0F).chain([0xFF]) {
            let req = v.challenge_req(0x12, slot, 0);
            assert_eq!(v.plain(&req), error(INVALID_REQUEST), "slot {slot:#x}");
        }
        for ty in [2, 0xFE] {
            let req = v.challenge_req(0x12, 0, ty);
            assert_eq!(v.plain(&req), error(INVALID_REQUEST), "type {ty:#x}");
        }
        assert_eq!(v.rsp.state_name(), "Negotiated");
        assert_eq!(v.digests(), [0x12, 0x01, 0, 0]);
    }
}

// ---- Sessions: KEY_EXCHANGE, FINISH and the records, written out on the requester side. ----

/// A handshake in progress: the TH bytes so far (VCA, Hash(chain), KEY_EXCHANGE, ...) and the
/// handshake secrets and keys.
struct Hs {
    sid: u32,
    th: Vec<u8>,
    secrets: HandshakeSecrets,
    req: DirectionKeys,
    rsp: DirectionKeys,
    in_clear: bool,
}

/// An established session's data keys.
struct Sess {
    sid: u32,
    req: DirectionKeys,
    rsp: DirectionKeys,
}

fn ks(set: AlgorithmSet) -> KeySchedule<'static, RustCrypto> {
    KeySchedule::new(&P, set.hash, Version::V12)
}

/// Opaque data (format 1) listing secured-message versions 1.0, 1.1 and 1.2, as libspdm sends.
const OPAQUE: [u8; 20] = [
    1, 0, 0, 0, 0, 0, 9, 0, 1, 1, 3, 0x00, 0x10, 0x00, 0x11, 0x00, 0x12, 0, 0, 0,
];

/// Seals `spdm` under `req`, lets the responder answer, opens the answer under `rsp`.
fn sealed(
    rsp: &mut Rsp<'_>,
    sid: u32,
    req: &mut DirectionKeys,
    rspk: &mut DirectionKeys,
    spdm: &[u8],
) -> Vec<u8> {
    let mut rec = [0u8; 4096];
    let n = record::seal(&P, sid, req, spdm, &[], &mut rec).unwrap();
    let mut out = [0u8; 4096];
    let m = rsp.handle(&mut rec[..n], &mut out).unwrap();
    record::open(&P, sid, rspk, &mut out[..m]).unwrap().to_vec()
}

impl V<'_> {
    fn key_exchange_req(
        &mut self,
        version: u8,
        ty: u8,
        slot: u8,
    ) -> (Vec<u8>, <RustCrypto as CryptoProvider>::Dhe) {
        let dhe = P.dhe_generate(self.f.set.dhe, &mut self.rng).unwrap();
        let mut pk = [0u8; 96];
        let d = dhe.public_key(&mut pk).unwrap();
        // ReqSessionID 0x55AA, SessionPolicy TerminationPolicy = 1.
        let mut m = vec![version, 0xE4, ty, slot, 0xAA, 0x55, 1, 0];
        m.extend_from_slice(&self.nonce());
        m.extend_from_slice(&pk[..d]);
        m.extend_from_slice(&(OPAQUE.len() as u16).to_le_bytes());
        m.extend_from_slice(&OPAQUE);
        (m, dhe)
    }

    /// KEY_EXCHANGE for slot 0 with summary type `ty`, and every assertion of a successful
    /// KEY_EXCHANGE_RSP (8.7.1-8.7.6, 8.8.1-8.8.5): code, version, MutAuthRequested and
    /// SlotIDParam 0, length (no ResponderVerifyData in the clear), the signature over TH
    /// (VCA, Hash(chain), KEY_EXCHANGE, KEY_EXCHANGE_RSP up to the signature) and the
    /// ResponderVerifyData (HMAC with the response finished key over TH1).
    fn key_exchange_ok(&mut self, ty: u8) -> Hs {
        let set = self.f.set;
        let (h, s, dl) = (self.h(), self.s(), set.dhe.public_len());
        let in_clear = self.caps & self.req_caps & IN_CLEAR != 0;
        let (req, dhe) = self.key_exchange_req(0x12, ty, 0);
        let rsp = self.plain(&req);
        assert_eq!(rsp[..2], [0x12, 0x64], "type {ty:#x}");
        assert_eq!(rsp[6..8], [0, 0], "MutAuthRequested, SlotIDParam");
        let mut off = 8 + 32 + dl + if ty == 0 { 0 } else { h };
        off += 2 + u16::from_le_bytes([rsp[off], rsp[off + 1]]) as usize;
        let sig_end = off + s;
        assert_eq!(rsp.len(), sig_end + if in_clear { 0 } else { h });
        let chain_hash = hash_digest(set, &[&self.f.chain]);
        let mut th = [&self.vca[..], chain_hash.as_bytes(), &req, &rsp[..off]].concat();
        verify(
            self.f,
            context::RESPONDER_KEY_EXCHANGE_RSP,
            &th,
            &rsp[off..sig_end],
        );
        th.extend_from_slice(&rsp[off..sig_end]);
        let shared = dhe.agree(&rsp[40..40 + dl]).unwrap();
        let ks = ks(set);
        let hs = ks.handshake_secret(shared.as_bytes(), false).unwrap();
        let secrets = ks.handshake(hs, &hash_digest(set, &[&th])).unwrap();
        if !in_clear {
            ks.check_verify_data(
                &secrets.response.finished_key,
                &hash_digest(set, &[&th]),
                &rsp[sig_end..],
            )
            .unwrap();
            th.extend_from_slice(&rsp[sig_end..]);
        }
        let sid = u32::from(u16::from_le_bytes([req[4], req[5]]))
            | (u32::from(u16::from_le_bytes([rsp[4], rsp[5]])) << 16);
        let keys = |s| DirectionKeys::new(ks.traffic_keys(set.aead, s).unwrap());
        Hs {
            sid,
            req: keys(&secrets.request.secret),
            rsp: keys(&secrets.response.secret),
            th,
            secrets,
            in_clear,
        }
    }

    /// FINISH (no signature, slot 0) with the right RequesterVerifyData.
    fn finish_req(&self, hs: &Hs) -> Vec<u8> {
        let mut m = vec![0x12, 0xE5, 0, 0];
        let th = hash_digest(self.f.set, &[&hs.th, &m]);
        let vd = ks(self.f.set)
            .verify_data(&hs.secrets.request.finished_key, &th)
            .unwrap();
        m.extend_from_slice(vd.as_bytes());
        m
    }

    /// One request of the handshake: in a record under the handshake keys (in the clear under
    /// HANDSHAKE_IN_THE_CLEAR).
    fn in_hs(&mut self, hs: &mut Hs, spdm: &[u8]) -> Vec<u8> {
        if hs.in_clear {
            return self.plain(spdm);
        }
        sealed(&mut self.rsp, hs.sid, &mut hs.req, &mut hs.rsp, spdm)
    }

    /// FINISH and the assertions of a valid FINISH_RSP (9.9.1-9.9.3, 9.10.1-9.10.4): code,
    /// version, length, and in the clear the ResponderVerifyData over TH up to FINISH_RSP's
    /// header. Returns the session, keyed from TH2.
    fn finish_ok(&mut self, mut hs: Hs) -> Sess {
        let set = self.f.set;
        let req = self.finish_req(&hs);
        let rsp = self.in_hs(&mut hs, &req);
        assert_eq!(rsp[..4], [0x12, 0x65, 0, 0]);
        hs.th.extend_from_slice(&req);
        let ks = ks(set);
        if hs.in_clear {
            assert_eq!(rsp.len(), 4 + self.h());
            let th = hash_digest(set, &[&hs.th, &rsp[..4]]);
            ks.check_verify_data(&hs.secrets.response.finished_key, &th, &rsp[4..])
                .unwrap();
        } else {
            assert_eq!(rsp.len(), 4);
        }
        hs.th.extend_from_slice(&rsp);
        let master = ks.master_secret(&hs.secrets.handshake_secret).unwrap();
        let data = ks.data(&master, &hash_digest(set, &[&hs.th])).unwrap();
        let keys = |s| DirectionKeys::new(ks.traffic_keys(set.aead, s).unwrap());
        Sess {
            sid: hs.sid,
            req: keys(&data.request),
            rsp: keys(&data.response),
        }
    }

    fn in_session(&mut self, s: &mut Sess, spdm: &[u8]) -> Vec<u8> {
        sealed(&mut self.rsp, s.sid, &mut s.req, &mut s.rsp, spdm)
    }

    /// The session works: HEARTBEAT gets HEARTBEAT_ACK.
    fn heartbeat(&mut self, s: &mut Sess) {
        assert_eq!(self.in_session(s, &[0x12, 0xE8, 0, 0]), [0x12, 0x68, 0, 0]);
    }

    /// The validator's session setup: VCA (its flags, HANDSHAKE_IN_THE_CLEAR if `in_clear`,
    /// which the responder must then offer), GET_DIGESTS, GET_CERTIFICATE.
    fn session_setup(&mut self, in_clear: bool) {
        self.vca(REQ_CAPS | KEY_UPD | if in_clear { IN_CLEAR } else { 0 });
        assert_eq!(self.caps & 0x0206, 0x0206, "CERT, CHAL, KEY_EX");
        assert!(!in_clear || self.caps & IN_CLEAR != 0);
        self.digests();
        assert_eq!(self.certificate(), self.f.chain);
    }
}

/// DMTF SPDM-Responder-Validator case 8.3: KEY_EXCHANGE with SPDMVersion 1.3 or 1.1 gets
/// ERROR VersionMismatch (1.2, Param2 0); nothing moved: the next KEY_EXCHANGE and FINISH
/// succeed.
#[test]
fn case_8_3_key_exchange_with_non_negotiated_version_gets_version_mismatch() {
    for set in SETS {
        let f = fixture(set);
        let mut rrng = TestRng(83);
        let mut v = connect(&f, &mut rrng, false, false);
        v.session_setup(false);
        for version in [0x13, 0x11] {
            let (req, _) = v.key_exchange_req(version, 0, 0);
            assert_eq!(v.plain(&req), error(VERSION_MISMATCH), "{version:#x}");
        }
        let hs = v.key_exchange_ok(0);
        let mut s = v.finish_ok(hs);
        v.heartbeat(&mut s);
    }
}

/// DMTF SPDM-Responder-Validator case 8.5: KEY_EXCHANGE inside an established session gets
/// ERROR UnexpectedRequest (1.2, Param2 0) in the session; the session goes on.
#[test]
fn case_8_5_key_exchange_in_session_gets_unexpected_request() {
    for set in SETS {
        let f = fixture(set);
        let mut rrng = TestRng(85);
        let mut v = connect(&f, &mut rrng, false, false);
        v.session_setup(false);
        let hs = v.key_exchange_ok(0);
        let mut s = v.finish_ok(hs);
        let (req, _) = v.key_exchange_req(0x12, 0, 0);
        assert_eq!(v.in_session(&mut s, &req), error(UNEXPECTED_REQUEST));
        v.heartbeat(&mut s);
    }
}

/// DMTF SPDM-Responder-Validator case 8.6: KEY_EXCHANGE for a slot without a chain (1-7), an
/// invalid slot (8-0xF), the provisioned-key slot 0xFF, with summary type 2 or 0xFE, or with
/// OpaqueDataLength 0xFFFF, each gets ERROR InvalidRequest (1.2, Param2 0). No handshake
/// starts: the next KEY_EXCHANGE and FINISH succeed. On an unprovisioned device (empty slot
/// mask) slot 0 is invalid too: InvalidRequest for every slot, and no handshake starts.
#[test]
fn case_8_6_key_exchange_with_invalid_field_gets_invalid_request() {
    for set in SETS {
        let f = fixture(set);
        for meas in [false, true] {
            let mut rrng = TestRng(86);
            let mut v = connect(&f, &mut rrng, false, meas);
            v.session_setup(false);
            for slot in (1..=0x0F).chain([0xFF]) {
                let (req, _) = v.key_exchange_req(0x12, 0, slot);
                assert_eq!(v.plain(&req), error(INVALID_REQUEST), "slot {slot:#x}");
            }
            for ty in [2, 0xFE] {
                let (req, _) = v.key_exchange_req(0x12, ty, 0);
                assert_eq!(v.plain(&req), error(INVALID_REQUEST), "type {ty:#x}");
            }
            let (mut req, _) = v.key_exchange_req(0x12, 0, 0);
            let at = 40 + set.dhe.public_len();
            req[at..at + 2].copy_from_slice(&[0xFF, 0xFF]);
            assert_eq!(v.plain(&req), error(INVALID_REQUEST), "OpaqueDataLength");
            let hs = v.key_exchange_ok(0);
            let mut s = v.finish_ok(hs);
            v.heartbeat(&mut s);
        }
        // Unprovisioned: slot 0 has no chain either, so it is one of the invalid slots.
        let mut dev = Unprovisioned(&f);
        let mut rrng = TestRng(87);
        let mut v = connect_unprovisioned(&f, &mut rrng, &mut dev);
        for slot in (0..=0x0F).chain([0xFF]) {
            let (req, _) = v.key_exchange_req(0x12, 0, slot);
            assert_eq!(v.plain(&req), error(INVALID_REQUEST), "slot {slot:#x}");
        }
        for ty in [2, 0xFE] {
            let (req, _) = v.key_exchange_req(0x12, ty, 0);
            assert_eq!(v.plain(&req), error(INVALID_REQUEST), "type {ty:#x}");
        }
        let (mut req, _) = v.key_exchange_req(0x12, 0, 0);
        let at = 40 + set.dhe.public_len();
        req[at..at + 2].copy_from_slice(&[0xFF, 0xFF]);
        assert_eq!(v.plain(&req), error(INVALID_REQUEST), "OpaqueDataLength");
        assert_eq!(v.rsp.state_name(), "Negotiated");
        assert_eq!(v.digests(), [0x12, 0x01, 0, 0]);
    }
}

/// KEY_EXCHANGE_RSP success cases: per summary type (none; TCB and all with measurements) a
/// new connection (the validator re-runs its VCA and GET_CERTIFICATE) and a checked
/// KEY_EXCHANGE_RSP; the handshake then completes. The responder runs without and with
/// `--in-clear` (which a requester that does not offer it must not notice).
fn key_exchange_case(in_clear: bool) {
    for set in SETS {
        let f = fixture(set);
        for (meas, rsp_in_clear) in [(false, false), (true, false), (true, true)] {
            let mut rrng = TestRng(87);
            let mut v = connect(&f, &mut rrng, in_clear || rsp_in_clear, meas);
            let types: &[u8] = if meas { &[0, 1, 0xFF] } else { &[0] };
            for &ty in types {
                v.session_setup(in_clear);
                let hs = v.key_exchange_ok(ty);
                let mut s = v.finish_ok(hs);
                v.heartbeat(&mut s);
            }
        }
    }
}

/// DMTF SPDM-Responder-Validator case 8.7: KEY_EXCHANGE (1.2, no mutual authentication, not
/// in the clear) gets a KEY_EXCHANGE_RSP with the right fields, length, signature over TH
/// and ResponderVerifyData, for every summary type the responder supports.
#[test]
fn case_8_7_key_exchange_gets_valid_key_exchange_rsp() {
    key_exchange_case(false);
}

/// DMTF SPDM-Responder-Validator case 8.8: as 8.7 with HANDSHAKE_IN_THE_CLEAR on both sides
/// (`--in-clear`): the KEY_EXCHANGE_RSP carries no ResponderVerifyData.
#[test]
fn case_8_8_key_exchange_in_the_clear_gets_valid_key_exchange_rsp() {
    key_exchange_case(true);
}

/// A connection after the validator's session setup and a checked KEY_EXCHANGE_RSP.
/// `rsp_in_clear`: the responder offers HANDSHAKE_IN_THE_CLEAR (`--in-clear`).
fn handshake<'a>(
    f: &'a Fx,
    rrng: &'a mut TestRng,
    in_clear: bool,
    rsp_in_clear: bool,
) -> (V<'a>, Hs) {
    let mut v = connect(f, rrng, in_clear || rsp_in_clear, false);
    v.session_setup(in_clear);
    let hs = v.key_exchange_ok(0);
    (v, hs)
}

/// DMTF SPDM-Responder-Validator case 9.3: FINISH with SPDMVersion 1.3, then 1.1, in the
/// handshake's records gets ERROR VersionMismatch (1.2, Param2 0) under the handshake keys;
/// the handshake stays: the right FINISH then succeeds.
#[test]
fn case_9_3_finish_with_non_negotiated_version_gets_version_mismatch() {
    for set in SETS {
        let f = fixture(set);
        let mut rrng = TestRng(93);
        let (mut v, mut hs) = handshake(&f, &mut rrng, false, false);
        for version in [0x13, 0x11] {
            let mut req = v.finish_req(&hs);
            req[0] = version;
            assert_eq!(
                v.in_hs(&mut hs, &req),
                error(VERSION_MISMATCH),
                "{version:#x}"
            );
        }
        let mut s = v.finish_ok(hs);
        v.heartbeat(&mut s);
    }
}

/// DMTF SPDM-Responder-Validator case 9.4: FINISH after GET_CAPABILITIES, before
/// NEGOTIATE_ALGORITHMS, gets ERROR UnexpectedRequest (1.2, Param2 0), with or without
/// verify data; the connection still takes NEGOTIATE_ALGORITHMS.
#[test]
fn case_9_4_finish_before_negotiate_algorithms_gets_unexpected_request() {
    let f = fixture(AlgorithmSet::SET_A);
    let mut rrng = TestRng(94);
    let mut v = connect(&f, &mut rrng, false, false);
    v.version_capabilities(REQ_CAPS | KEY_UPD);
    let mut finish = vec![0x12, 0xE5, 0, 0];
    assert_eq!(v.plain(&finish), error(UNEXPECTED_REQUEST));
    finish.extend_from_slice(&[0x5A; 32]);
    assert_eq!(v.plain(&finish), error(UNEXPECTED_REQUEST));
    assert_eq!(v.plain(&negotiate_algorithms())[..2], [0x12, 0x63]);
}

/// DMTF SPDM-Responder-Validator case 9.5: FINISH inside the established session gets ERROR
/// UnexpectedRequest (1.2, Param2 0) in the session; the session goes on.
#[test]
fn case_9_5_finish_in_session_gets_unexpected_request() {
    for set in SETS {
        let f = fixture(set);
        let mut rrng = TestRng(95);
        let (mut v, hs) = handshake(&f, &mut rrng, false, false);
        let again = v.finish_req(&hs);
        let mut s = v.finish_ok(hs);
        assert_eq!(v.in_session(&mut s, &again), error(UNEXPECTED_REQUEST));
        v.heartbeat(&mut s);
    }
}

/// DMTF SPDM-Responder-Validator case 9.6: in the handshake's records, FINISH naming a
/// requester slot (1-0xF with Param1 0, as the validator's code sends; 1-0xF and 0xFF with
/// the signature bit, as its document says) without mutual authentication, or FINISH without
/// RequesterVerifyData, gets ERROR InvalidRequest (1.2, Param2 0). The handshake stays: the
/// right FINISH then succeeds.
#[test]
fn case_9_6_finish_with_invalid_field_gets_invalid_request() {
    for set in SETS {
        let f = fixture(set);
        let mut rrng = TestRng(96);
        let (mut v, mut hs) = handshake(&f, &mut rrng, false, false);
        let good = v.finish_req(&hs);
        let mut bad = Vec::new();
        for slot in 1..=0x0F {
            bad.push([&[0x12, 0xE5, 0, slot][..], &good[4..]].concat());
        }
        for slot in (1..=0x0F).chain([0xFF]) {
            bad.push([&[0x12, 0xE5, 1, slot][..], &good[4..]].concat());
        }
        bad.push(good[..4].to_vec());
        for req in &bad {
            assert_eq!(
                v.in_hs(&mut hs, req),
                error(INVALID_REQUEST),
                "{:02x?}",
                &req[..4]
            );
        }
        let mut s = v.finish_ok(hs);
        v.heartbeat(&mut s);
    }
}

/// DMTF SPDM-Responder-Validator cases 9.7 and 9.8: FINISH with every byte of the
/// RequesterVerifyData inverted gets ERROR DecryptError (1.2) under the handshake keys (in
/// the clear for 9.8). The handshake ends: the right FINISH then finds no handshake (a
/// record gets no answer; in the clear SessionRequired), and a new KEY_EXCHANGE and FINISH
/// succeed. 9.7 also runs against a responder offering HANDSHAKE_IN_THE_CLEAR to a requester
/// that does not.
fn finish_decrypt_error_case(in_clear: bool) {
    for (set, rsp_in_clear) in [(SETS[0], in_clear), (SETS[1], in_clear), (SETS[0], true)] {
        let f = fixture(set);
        let mut rrng = TestRng(97);
        let (mut v, mut hs) = handshake(&f, &mut rrng, in_clear, rsp_in_clear);
        let good = v.finish_req(&hs);
        let mut bad = good.clone();
        for b in &mut bad[4..] {
            *b ^= 0xFF;
        }
        assert_eq!(v.in_hs(&mut hs, &bad), error(DECRYPT_ERROR));
        if in_clear {
            assert_eq!(v.plain(&good), error(SESSION_REQUIRED));
        } else {
            let mut rec = [0u8; 256];
            let n = record::seal(&P, hs.sid, &mut hs.req, &good, &[], &mut rec).unwrap();
            let mut out = [0u8; 256];
            assert_eq!(
                v.rsp.handle(&mut rec[..n], &mut out),
                Err(Error::UnexpectedMessage)
            );
        }
        let hs = v.key_exchange_ok(0);
        let mut s = v.finish_ok(hs);
        v.heartbeat(&mut s);
    }
}

/// DMTF SPDM-Responder-Validator case 9.7 (see `finish_decrypt_error_case`).
#[test]
fn case_9_7_finish_with_invalid_verify_data_gets_decrypt_error() {
    finish_decrypt_error_case(false);
}

/// DMTF SPDM-Responder-Validator case 9.8 (see `finish_decrypt_error_case`), with
/// HANDSHAKE_IN_THE_CLEAR (`--in-clear`).
#[test]
fn case_9_8_finish_in_the_clear_with_invalid_verify_data_gets_decrypt_error() {
    finish_decrypt_error_case(true);
}

/// DMTF SPDM-Responder-Validator case 9.9: FINISH (1.2, no mutual authentication) in the
/// handshake's record gets FINISH_RSP (1.2, header only); the session it keys works. Also
/// when the responder offers HANDSHAKE_IN_THE_CLEAR and the requester does not.
#[test]
fn case_9_9_finish_gets_valid_finish_rsp() {
    for set in SETS {
        let f = fixture(set);
        for rsp_in_clear in [false, true] {
            let mut rrng = TestRng(99);
            let (mut v, hs) = handshake(&f, &mut rrng, false, rsp_in_clear);
            let mut s = v.finish_ok(hs);
            v.heartbeat(&mut s);
        }
    }
}

/// DMTF SPDM-Responder-Validator case 9.17 (assertions 9.10.x): FINISH in the clear under
/// HANDSHAKE_IN_THE_CLEAR gets FINISH_RSP with a ResponderVerifyData that verifies over TH;
/// the session it keys works.
#[test]
fn case_9_17_finish_in_the_clear_gets_valid_finish_rsp() {
    for set in SETS {
        let f = fixture(set);
        let mut rrng = TestRng(917);
        let (mut v, hs) = handshake(&f, &mut rrng, true, true);
        let mut s = v.finish_ok(hs);
        v.heartbeat(&mut s);
    }
}

/// DMTF SPDM-Responder-Validator case 9.11: FINISH in the clear while the handshake expects
/// it in a record gets ERROR SessionRequired (1.2), also when the responder offers
/// HANDSHAKE_IN_THE_CLEAR to a requester that does not; the handshake stays: the same FINISH
/// in the record then succeeds.
#[test]
fn case_9_11_finish_outside_the_session_gets_session_required() {
    for set in SETS {
        let f = fixture(set);
        for rsp_in_clear in [false, true] {
            let mut rrng = TestRng(911);
            let (mut v, hs) = handshake(&f, &mut rrng, false, rsp_in_clear);
            let req = v.finish_req(&hs);
            assert_eq!(v.plain(&req), error(SESSION_REQUIRED));
            let mut s = v.finish_ok(hs);
            v.heartbeat(&mut s);
        }
    }
}

// ---- MEASUREMENTS (the responder serves the sample measurements, MEAS_CAP = 10b). ----

impl V<'_> {
    fn get_measurements(&mut self, version: u8, signed: bool, op: u8, slot: u8) -> Vec<u8> {
        let mut m = vec![version, 0xE0, u8::from(signed), op];
        if signed {
            m.extend_from_slice(&self.nonce());
            m.push(slot);
        }
        m
    }

    fn send(&mut self, s: Option<&mut Sess>, spdm: &[u8]) -> Vec<u8> {
        match s {
            Some(s) => self.in_session(s, spdm),
            None => self.plain(spdm),
        }
    }

    /// The validator's measurement setup: VCA, GET_DIGESTS, GET_CERTIFICATE, CHALLENGE with
    /// the all-measurements summary.
    fn measurement_setup(&mut self) {
        self.session_setup(false);
        assert_eq!(self.caps & 0x18, 0x10, "MEAS_CAP = 10b (signed)");
        let chain = self.f.chain.clone();
        let d = self.digests();
        self.challenge_ok(0xFF, &chain, &d);
    }
}

/// Checks a MEASUREMENTS: code, version (x.2, x.3), MeasurementRecordLength = the sum of the
/// blocks and NumberOfBlocks = their count (x.11, x.12), and the length with nonce, opaque
/// data and signature (x.1). Returns the blocks and where the signature starts.
fn measurements(rsp: &[u8], signed: bool, sig_len: usize) -> (Vec<Vec<u8>>, usize) {
    assert_eq!(rsp[..2], [0x12, 0x60]);
    let rl = u32::from_le_bytes([rsp[5], rsp[6], rsp[7], 0]) as usize;
    let record = &rsp[8..8 + rl];
    let mut blocks = Vec::new();
    let mut p = 0;
    while p < rl {
        let size = u16::from_le_bytes([record[p + 2], record[p + 3]]) as usize;
        blocks.push(record[p..p + 4 + size].to_vec());
        p += 4 + size;
    }
    assert_eq!(p, rl);
    assert_eq!(blocks.len(), rsp[4] as usize);
    let mut off = 8 + rl + 32;
    off += 2 + u16::from_le_bytes([rsp[off], rsp[off + 1]]) as usize;
    assert_eq!(rsp.len(), off + if signed { sig_len } else { 0 });
    (blocks, off)
}

/// Param2 of a signed MEASUREMENTS (x.7, x.14, x.21): slot 0, ContentChanged "not detected"
/// (00b) or "no change" (10b).
fn check_param2(rsp: &[u8]) {
    assert_eq!(rsp[3] & 0x0F, 0);
    assert!(matches!(rsp[3] & 0x30, 0x00 | 0x20), "{:#x}", rsp[3]);
}

/// Cases 7.9 / 7.10: the count (signed), all blocks (signed), then each block by index,
/// unsigned but for the last, which is signed over L1/L2 = VCA and every request/response
/// pair since the last signed one.
fn measurement_sequence(v: &mut V<'_>, mut s: Option<&mut Sess>) {
    let (f, sig) = (v.f, v.s());
    let vca = v.vca.clone();
    // Count.
    let req = v.get_measurements(0x12, true, 0, 0);
    let rsp = v.send(s.as_deref_mut(), &req);
    let (blocks, at) = measurements(&rsp, true, sig);
    assert!(rsp[2] > 0 && blocks.is_empty() && rsp[5..8] == [0, 0, 0]);
    check_param2(&rsp);
    let l = [&vca[..], &req, &rsp[..at]].concat();
    verify(f, context::RESPONDER_MEASUREMENTS, &l, &rsp[at..]);
    let count = rsp[2];
    // All.
    let req = v.get_measurements(0x12, true, 0xFF, 0);
    let rsp = v.send(s.as_deref_mut(), &req);
    let (all, at) = measurements(&rsp, true, sig);
    assert_eq!(all.len(), count as usize);
    assert!(!all.is_empty());
    check_param2(&rsp);
    let l = [&vca[..], &req, &rsp[..at]].concat();
    verify(f, context::RESPONDER_MEASUREMENTS, &l, &rsp[at..]);
    // One by one.
    let mut l = vca.clone();
    for (i, block) in all.iter().enumerate() {
        let last = i + 1 == all.len();
        let req = v.get_measurements(0x12, last, block[0], 0);
        let rsp = v.send(s.as_deref_mut(), &req);
        let (one, at) = measurements(&rsp, last, sig);
        assert_eq!(one, std::slice::from_ref(block), "index {}", block[0]);
        l.extend_from_slice(&req);
        l.extend_from_slice(&rsp[..at]);
        if last {
            check_param2(&rsp);
            verify(f, context::RESPONDER_MEASUREMENTS, &l, &rsp[at..]);
        }
    }
}

/// DMTF SPDM-Responder-Validator case 7.9: GET_MEASUREMENTS in the clear (1.2): the count,
/// all blocks and every block by index, with the structure, Param2 and L1 signature checks
/// of the case.
#[test]
fn case_7_9_get_measurements_gets_valid_measurements() {
    for set in SETS {
        let f = fixture(set);
        let mut rrng = TestRng(79);
        let mut v = connect(&f, &mut rrng, false, true);
        v.measurement_setup();
        measurement_sequence(&mut v, None);
    }
}

/// DMTF SPDM-Responder-Validator case 7.10: as 7.9 inside a session whose KEY_EXCHANGE asked
/// for the all-measurements summary (L2 in the session).
#[test]
fn case_7_10_get_measurements_in_session_gets_valid_measurements() {
    for set in SETS {
        let f = fixture(set);
        let mut rrng = TestRng(710);
        let mut v = connect(&f, &mut rrng, false, true);
        v.measurement_setup();
        let hs = v.key_exchange_ok(0xFF);
        let mut s = v.finish_ok(hs);
        measurement_sequence(&mut v, Some(&mut s));
        v.heartbeat(&mut s);
    }
}

/// Not a validator case: any ERROR ends L1/L2, the one to a message too short for an SPDM
/// header (a single byte) included, in the clear and in a session: after an unsigned
/// GET_MEASUREMENTS and that ERROR, a signed MEASUREMENTS is signed over VCA and its own pair
/// only. (That ERROR used to leave the unsigned pair in L1/L2.)
#[test]
fn error_to_a_header_short_request_ends_l1_l2() {
    for set in SETS {
        let f = fixture(set);
        for in_session in [false, true] {
            let mut rrng = TestRng(711);
            let mut v = connect(&f, &mut rrng, false, true);
            v.measurement_setup();
            let mut s = in_session.then(|| {
                let hs = v.key_exchange_ok(0xFF);
                v.finish_ok(hs)
            });
            let (f, sig) = (v.f, v.s());
            let vca = v.vca.clone();
            let unsigned = v.get_measurements(0x12, false, 1, 0);
            assert_eq!(v.send(s.as_mut(), &unsigned)[1], 0x60);
            assert_eq!(v.send(s.as_mut(), &[0x12]), error(INVALID_REQUEST));
            let req = v.get_measurements(0x12, true, 0xFF, 0);
            let rsp = v.send(s.as_mut(), &req);
            let (_, at) = measurements(&rsp, true, sig);
            let l = [&vca[..], &req, &rsp[..at]].concat();
            verify(f, context::RESPONDER_MEASUREMENTS, &l, &rsp[at..]);
        }
    }
}

/// DMTF SPDM-Responder-Validator case 7.2: GET_MEASUREMENTS with SPDMVersion 1.3 or 1.1 gets
/// ERROR VersionMismatch (1.2, Param2 0); a correct one then succeeds.
#[test]
fn case_7_2_get_measurements_with_non_negotiated_version_gets_version_mismatch() {
    for set in SETS {
        let f = fixture(set);
        let mut rrng = TestRng(72);
        let mut v = connect(&f, &mut rrng, false, true);
        v.measurement_setup();
        for version in [0x13, 0x11] {
            let req = v.get_measurements(version, true, 0, 0);
            assert_eq!(v.plain(&req), error(VERSION_MISMATCH), "{version:#x}");
        }
        let req = v.get_measurements(0x12, true, 0, 0);
        let (_, at) = measurements(&v.plain(&req), true, v.s());
        assert!(at > 0);
    }
}

/// DMTF SPDM-Responder-Validator case 7.3: GET_MEASUREMENTS after GET_CAPABILITIES, before
/// NEGOTIATE_ALGORITHMS, gets ERROR UnexpectedRequest (1.2, Param2 0). (The validator's code
/// sends the negotiated version, Param1 0 and 37 bytes (nonce and slot included); its
/// document's "NegotiatedVersion+1" would be a version mismatch first, as libspdm's responder
/// checks the version before the state.) The connection then still takes
/// NEGOTIATE_ALGORITHMS.
#[test]
fn case_7_3_get_measurements_before_negotiate_algorithms_gets_unexpected_request() {
    let f = fixture(AlgorithmSet::SET_A);
    let mut rrng = TestRng(73);
    let mut v = connect(&f, &mut rrng, false, true);
    assert_eq!(v.version_capabilities(REQ_CAPS | KEY_UPD) & 0x18, 0x10);
    let mut code_form = v.get_measurements(0x12, true, 0, 0);
    code_form[2] = 0;
    for req in [
        v.get_measurements(0x12, false, 0, 0),
        v.get_measurements(0x12, true, 0, 0),
        code_form,
    ] {
        assert_eq!(v.plain(&req), error(UNEXPECTED_REQUEST), "{req:02x?}");
    }
    assert_eq!(v.plain(&negotiate_algorithms())[..2], [0x12, 0x63]);
}

/// DMTF SPDM-Responder-Validator case 7.4: GET_MEASUREMENTS for an index without a block
/// (every one of 1-0xFE the device does not have), signed for a slot without a key (1-0xF),
/// or (as the validator's code sends) unsigned with a SlotIDParam byte appended, each gets
/// ERROR InvalidRequest (1.2, Param2 0); a correct one then succeeds.
#[test]
fn case_7_4_get_measurements_with_invalid_field_gets_invalid_request() {
    for set in SETS {
        let f = fixture(set);
        let mut rrng = TestRng(74);
        let mut v = connect(&f, &mut rrng, false, true);
        v.measurement_setup();
        let req = v.get_measurements(0x12, true, 0xFF, 0);
        let (blocks, _) = measurements(&v.plain(&req), true, v.s());
        let valid: Vec<u8> = blocks.iter().map(|b| b[0]).collect();
        for index in (1..0xFF).filter(|i| !valid.contains(i)) {
            let req = v.get_measurements(0x12, true, index, 0);
            assert_eq!(v.plain(&req), error(INVALID_REQUEST), "index {index:#x}");
        }
        for slot in 1..=0x0F {
            let req = v.get_measurements(0x12, true, valid[0], slot);
            assert_eq!(v.plain(&req), error(INVALID_REQUEST), "slot {slot:#x}");
            let mut req = v.get_measurements(0x12, true, 0, slot);
            req[2] = 0;
            assert_eq!(
                v.plain(&req),
                error(INVALID_REQUEST),
                "unsigned, slot {slot:#x}"
            );
        }
        let req = v.get_measurements(0x12, false, valid[0], 0);
        let (one, _) = measurements(&v.plain(&req), false, 0);
        assert_eq!(one, [blocks[0].clone()]);
    }
}

/// DMTF SPDM-Responder-Validator case 7.5: every block of MEASUREMENTS (all blocks) uses the
/// DMTF measurement specification; a digest (type bit 7 clear) has MeasurementSize 3 + hash
/// size and DMTFSpecMeasurementValueSize = hash size; a device-mode block (type 5) is raw.
#[test]
fn case_7_5_measurement_blocks_follow_the_dmtf_format() {
    for set in SETS {
        let f = fixture(set);
        let mut rrng = TestRng(75);
        let mut v = connect(&f, &mut rrng, false, true);
        v.measurement_setup();
        let req = v.get_measurements(0x12, true, 0xFF, 0);
        let (blocks, _) = measurements(&v.plain(&req), true, v.s());
        let h = set.hash.len();
        let mut digests = 0;
        for b in &blocks {
            assert_eq!(b[1], 0x01, "index {}", b[0]);
            let size = u16::from_le_bytes([b[2], b[3]]) as usize;
            let value_size = u16::from_le_bytes([b[5], b[6]]) as usize;
            assert_eq!(size, 3 + value_size);
            if b[4] & 0x80 == 0 {
                assert_eq!((size, value_size), (3 + h, h), "index {}", b[0]);
                digests += 1;
            }
            if b[4] & 0x7F == 0x05 {
                assert_ne!(b[4] & 0x80, 0);
            }
        }
        assert_eq!(digests, 3);
    }
}

/// DMTF SPDM-Responder-Validator case 7.8: GET_MEASUREMENTS in the handshake's record (after
/// KEY_EXCHANGE_RSP, before FINISH) gets ERROR UnexpectedRequest (1.2, Param2 0) under the
/// handshake keys; the handshake stays: FINISH then succeeds.
#[test]
fn case_7_8_get_measurements_in_session_handshake_gets_unexpected_request() {
    for set in SETS {
        let f = fixture(set);
        let mut rrng = TestRng(78);
        let mut v = connect(&f, &mut rrng, false, true);
        v.measurement_setup();
        let mut hs = v.key_exchange_ok(0xFF);
        let mut code_form = v.get_measurements(0x12, true, 0, 0);
        code_form[2] = 0;
        for req in [
            v.get_measurements(0x12, false, 0, 0),
            v.get_measurements(0x12, true, 0, 0),
            code_form,
        ] {
            assert_eq!(
                v.in_hs(&mut hs, &req),
                error(UNEXPECTED_REQUEST),
                "{req:02x?}"
            );
        }
        let mut s = v.finish_ok(hs);
        v.heartbeat(&mut s);
    }
}
