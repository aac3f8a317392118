//! DMTF SPDM-Responder-Validator groups 6 (CHALLENGE_AUTH), 7 (MEASUREMENTS), 8
//! (KEY_EXCHANGE_RSP) and 9 (FINISH_RSP), replayed as raw SPDM bytes against the responder
//! as the `spdm-responder` example configures it (SPDM 1.2 only; measurements with
//! `--measurements`, HANDSHAKE_IN_THE_CLEAR with `--in-clear`). The requester side is written
//! out here (transcripts, signatures, key schedule, records) so that every assertion of a case
//! is checked on the bytes, not through our own requester. Cases for SPDM 1.0/1.1 only are
//! skipped by the validator itself (VERSION offers 1.2 only) and have no test.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]

use spdm_lite::cert::{ChainVerifier, encode_spdm_chain};
use spdm_lite::crypto::{
    AlgorithmSet, AsymAlgo, CryptoProvider, DheSecret, Digest, EcdsaSigningKey, HashCtx,
    RandomSource, RustCrypto,
};
use spdm_lite::key_schedule::{HandshakeSecrets, KeySchedule};
use spdm_lite::measurements::{BlockInfo, MeasurementProvider, value_type as vt};
use spdm_lite::msgs::Version;
use spdm_lite::record::{self, DirectionKeys};
use spdm_lite::responder::{Responder, ResponderConfig};
use spdm_lite::session::Role;
use spdm_lite::transcript::{context, signing_digest};
use spdm_lite::x509::X509Verifier;
use spdm_lite::{CryptoError, Error};

const P: RustCrypto = RustCrypto;
const SETS: [AlgorithmSet; 2] = [AlgorithmSet::SET_A, AlgorithmSet::SET_B];

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

/// The example's sample measurements (`--measurements`): indices 1-5, three digests and two
/// raw values.
struct Sample(Vec<(u8, u8, Vec<u8>, bool)>);

impl MeasurementProvider for Sample {
    fn count(&self) -> usize {
        self.0.len()
    }
    fn block(&self, n: usize, value: &mut [u8]) -> Option<BlockInfo> {
        let (index, value_type, v, tcb) = self.0.get(n)?;
        value.get_mut(..v.len())?.copy_from_slice(v);
        Some(BlockInfo {
            index: *index,
            value_type: *value_type,
            len: v.len(),
            tcb: *tcb,
        })
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
    let dir = if set.asym == AsymAlgo::EcdsaP256 {
        "p256"
    } else {
        "p384"
    };
    let read = |n: &str| {
        std::fs::read(format!("{}/tests/pki/{dir}/{n}", env!("CARGO_MANIFEST_DIR"))).unwrap()
    };
    let (certs, root) = (read("chain.der"), read("root.cert.der"));
    let mut chain = vec![0u8; certs.len() + 64];
    let n = encode_spdm_chain(&P, set.hash, &root, &certs, &mut chain).unwrap();
    chain.truncate(n);
    let mut leaf = vec![0u8; 97];
    let n = X509Verifier::new(P, &root)
        .verify_chain(set, Role::Responder, &chain, &mut leaf)
        .unwrap();
    leaf.truncate(n);
    let d = |s: &str| hash(set, &[s.as_bytes()]).as_bytes().to_vec();
    let meas = Sample(vec![
        (1, vt::IMMUTABLE_ROM, d("boot ROM"), true),
        (2, vt::MUTABLE_FIRMWARE, d("firmware 1.0.0"), true),
        (3, vt::HARDWARE_CONFIG, d("fuses"), false),
        (4, vt::FIRMWARE_VERSION | vt::RAW, b"1.0.0".to_vec(), false),
        (5, vt::SECURITY_VERSION_NUMBER | vt::RAW, 1u64.to_le_bytes().to_vec(), true),
    ]);
    Fx {
        set,
        key: EcdsaSigningKey::from_sec1_der(set.asym, &read("leaf.key.der")).unwrap(),
        chain,
        leaf,
        meas,
    }
}

fn hash(set: AlgorithmSet, parts: &[&[u8]]) -> Digest {
    let mut h = P.hash(set.hash).unwrap();
    for p in parts {
        h.update(p);
    }
    h.finish()
}

fn verify(f: &Fx, ctx: &str, transcript: &[u8], sig: &[u8]) {
    let d = signing_digest(&P, f.set.hash, Version::V12, ctx, &hash(f.set, &[transcript]));
    P.ecdsa_verify(f.set.asym, &f.leaf, d.unwrap().as_bytes(), sig)
        .unwrap();
}

/// ERROR with SPDMVersion 1.2, this code and Param2 = 0 (assertions x.1 to x.5 at once).
fn err(code: u8) -> Vec<u8> {
    vec![0x12, 0x7F, code, 0]
}
const INVALID_REQUEST: u8 = 0x01;
const DECRYPT_ERROR: u8 = 0x06;
const UNEXPECTED_REQUEST: u8 = 0x04;
const SESSION_REQUIRED: u8 = 0x0B;
const VERSION_MISMATCH: u8 = 0x41;

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
    }
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
        assert_eq!(&rsp[4..4 + h], hash(self.f.set, &[chain]).as_bytes());
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
            assert_eq!(v.plain(&req), err(VERSION_MISMATCH), "{version:#x}");
        }
        v.challenge_ok(0, &chain, &d);
    }
}

/// DMTF SPDM-Responder-Validator case 6.6: CHALLENGE for a slot without a chain (1-7), an
/// invalid slot (8-0xF) or the provisioned-key slot 0xFF (none here), and CHALLENGE with
/// summary type 2 (TCB + 1) or 0xFE (all - 1), each gets ERROR InvalidRequest (1.2, Param2 0).
/// M1 is untouched: the next CHALLENGE_AUTH verifies.
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
                assert_eq!(v.plain(&req), err(INVALID_REQUEST), "slot {slot:#x}");
            }
            for ty in [2, 0xFE] {
                let req = v.challenge_req(0x12, 0, ty);
                assert_eq!(v.plain(&req), err(INVALID_REQUEST), "type {ty:#x}");
            }
            v.challenge_ok(if meas { 0xFF } else { 0 }, &chain, &d);
        }
    }
}
