//! The DMTF SPDM-Responder-Validator test cases 10 to 20 (PSK_EXCHANGE, PSK_FINISH, HEARTBEAT,
//! KEY_UPDATE, the encapsulated flow, END_SESSION, GET_CSR, SET_CERTIFICATE; chunking is not
//! offered), each replayed against the responder as raw SPDM bytes. The requester side is
//! written out here by hand (VCA, the key schedule, the records) so that every request can be
//! sent exactly as the case sends it, including the malformed ones a real requester refuses to
//! build. Cases for SPDM 1.1 only, and cases for capabilities the responder never offers, are
//! skipped by the validator itself and have no test.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]

mod common;

use common::{
    DECRYPT_ERROR, HINT, INVALID_REQUEST, INVALID_RESPONSE_CODE, PSK, REQUEST_IN_FLIGHT,
    SESSION_REQUIRED, SETS, TestRng, UNEXPECTED_REQUEST, VERSION_MISMATCH, error, hash, read,
    spdm_chain,
};
use spdm_lite::codec::Writer;
use spdm_lite::crypto::{
    AlgorithmSet, AsymAlgo, CryptoProvider, DheSecret, EcdsaSigningKey, HashCtx, RustCrypto, Secret,
};
use spdm_lite::key_schedule::{HandshakeSecrets, KeySchedule};
use spdm_lite::msgs::Version;
use spdm_lite::msgs::opaque::{SECURED_MESSAGE_V12, SmVersions};
use spdm_lite::record::{self, DirectionKeys};
use spdm_lite::responder::{PskConfig, Responder, ResponderConfig};
use spdm_lite::{CryptoError, Error};

type Rsp<'a> = Responder<'a, RustCrypto, EcdsaSigningKey>;
type Hash = <RustCrypto as CryptoProvider>::Hash;

const BUF: usize = 8192;

struct Fixture {
    set: AlgorithmSet,
    chain: Vec<u8>,
    key: EcdsaSigningKey,
}

fn fixture(set: AlgorithmSet) -> Fixture {
    Fixture {
        set,
        chain: spdm_chain(set, "chain.der", "root.cert.der"),
        key: EcdsaSigningKey::from_sec1_der(set.asym, &read(set, "leaf.key.der")).unwrap(),
    }
}

/// The responder as the example serves it with `--psk` (PSK_CAP = 10b: PSK_FINISH follows).
fn responder<'a>(f: &'a Fixture, rng: &'a mut TestRng) -> Rsp<'a> {
    responder_psk(f, rng, true)
}

/// With `with_context` false, as `--psk --no-psk-finish` (PSK_CAP = 01b).
fn responder_psk<'a>(f: &'a Fixture, rng: &'a mut TestRng, with_context: bool) -> Rsp<'a> {
    Responder::new(
        RustCrypto,
        &f.key,
        rng,
        ResponderConfig {
            algorithms: f.set,
            cert_chain: &f.chain,
            psk: Some(PskConfig {
                hint: HINT,
                key: PSK,
                with_context,
            }),
            handshake_in_the_clear: false,
            data_transfer_size: 1024,
        },
    )
    .unwrap()
}

/// One plain request; the SPDM response.
fn send(rsp: &mut Rsp<'_>, spdm: &[u8]) -> Vec<u8> {
    let mut a = vec![0x05];
    a.extend_from_slice(spdm);
    let mut b = vec![0u8; BUF];
    let m = rsp.handle(&mut a, &mut b).unwrap();
    assert_eq!(b[0], 0x05, "a plain answer");
    b[1..m].to_vec()
}

// Requester capability flags.
const CERT: u32 = 1 << 1;
const CHAL: u32 = 1 << 2;
const ENCRYPT: u32 = 1 << 6;
const MAC: u32 = 1 << 7;
const MUT_AUTH: u32 = 1 << 8;
const KEY_EX: u32 = 1 << 9;
const PSK_CAP: u32 = 1 << 10;
const ENCAP: u32 = 1 << 12;
const HBEAT: u32 = 1 << 13;
const KEY_UPD: u32 = 1 << 14;
/// What the validator's requester announces (no MUT_AUTH_CAP, no HANDSHAKE_IN_THE_CLEAR).
const REQ_FLAGS: u32 = CERT | CHAL | ENCRYPT | MAC | KEY_EX | PSK_CAP | ENCAP | HBEAT | KEY_UPD;

fn get_version() -> Vec<u8> {
    vec![0x10, 0x84, 0, 0]
}

fn get_capabilities(flags: u32) -> Vec<u8> {
    let mut m = vec![0x12, 0xE1, 0, 0, 0, 0, 0, 0];
    m.extend_from_slice(&flags.to_le_bytes());
    m.extend_from_slice(&4096u32.to_le_bytes());
    m.extend_from_slice(&4096u32.to_le_bytes());
    m
}

/// NEGOTIATE_ALGORITHMS 1.2 offering `set` (with DMTF measurements and opaque format 1).
fn negotiate_algorithms(set: AlgorithmSet) -> Vec<u8> {
    let (asym, hash, dhe, aead): (u16, u32, u16, u16) = if set.asym == AsymAlgo::EcdsaP256 {
        (0x10, 0x01, 0x08, 0x01)
    } else {
        (0x80, 0x02, 0x10, 0x02)
    };
    let mut m = vec![0x12, 0xE3, 4, 0, 48, 0, 0x01, 0x02];
    m.extend_from_slice(&u32::from(asym).to_le_bytes());
    m.extend_from_slice(&hash.to_le_bytes());
    m.extend_from_slice(&[0; 16]);
    for (ty, v) in [(2u8, dhe), (3, aead), (4, asym), (5, 1)] {
        m.extend_from_slice(&[ty, 0x20]);
        m.extend_from_slice(&v.to_le_bytes());
    }
    m
}

/// GET_VERSION, GET_CAPABILITIES (`flags`), NEGOTIATE_ALGORITHMS: the VCA bytes (message A).
fn negotiate(rsp: &mut Rsp<'_>, set: AlgorithmSet, flags: u32) -> Vec<u8> {
    let mut a = Vec::new();
    for (req, code) in [
        (get_version(), 0x04),
        (get_capabilities(flags), 0x61),
        (negotiate_algorithms(set), 0x63),
    ] {
        let r = send(rsp, &req);
        assert_eq!(r[1], code, "{r:02x?}");
        a.extend_from_slice(&req);
        a.extend_from_slice(&r);
    }
    a
}

/// The responder's CAPABILITIES flags after GET_VERSION / GET_CAPABILITIES (for the checks of
/// the cases that depend on them).
fn rsp_flags(rsp: &mut Rsp<'_>) -> u32 {
    send(rsp, &get_version());
    let r = send(rsp, &get_capabilities(REQ_FLAGS));
    u32::from_le_bytes(r[8..12].try_into().unwrap())
}

/// Opaque data with the secured-message versions the requester supports (1.2).
fn opaque() -> Vec<u8> {
    let mut b = [0u8; 32];
    let mut w = Writer::new(&mut b);
    SmVersions::Supported(&SECURED_MESSAGE_V12.to_le_bytes())
        .emit(&mut w)
        .unwrap();
    let n = w.len();
    b[..n].to_vec()
}

const REQ_SESSION_ID: u16 = 0xFFFE;

/// PSK_EXCHANGE with a 32-byte RequesterContext and the opaque data.
fn psk_exchange(version: u8, param1: u8, param2: u8) -> Vec<u8> {
    let ctx = [0x5Au8; 32];
    let op = opaque();
    let mut m = vec![version, 0xE6, param1, param2];
    m.extend_from_slice(&REQ_SESSION_ID.to_le_bytes());
    for l in [HINT.len(), ctx.len(), op.len()] {
        m.extend_from_slice(&(l as u16).to_le_bytes());
    }
    m.extend_from_slice(HINT);
    m.extend_from_slice(&ctx);
    m.extend_from_slice(&op);
    m
}

/// The two directions of a record layer.
struct Keys {
    id: u32,
    req: DirectionKeys,
    rsp: DirectionKeys,
}

impl Keys {
    fn new(set: AlgorithmSet, id: u32, req: &Secret, rsp: &Secret) -> Self {
        let ks = KeySchedule::new(&RustCrypto, set.hash, Version::V12);
        Self {
            id,
            req: DirectionKeys::new(ks.traffic_keys(set.aead, req).unwrap()),
            rsp: DirectionKeys::new(ks.traffic_keys(set.aead, rsp).unwrap()),
        }
    }

    fn seal(&mut self, spdm: &[u8]) -> Vec<u8> {
        let mut a = vec![0u8; BUF];
        let n = record::seal(&RustCrypto, self.id, &mut self.req, spdm, &[], &mut a).unwrap();
        a.truncate(n);
        a
    }

    fn open(&mut self, mut rec: Vec<u8>) -> Vec<u8> {
        record::open(&RustCrypto, self.id, &mut self.rsp, &mut rec)
            .unwrap()
            .to_vec()
    }

    /// One request inside these keys; the SPDM response opened under them.
    fn send(&mut self, rsp: &mut Rsp<'_>, spdm: &[u8]) -> Vec<u8> {
        let mut a = self.seal(spdm);
        let mut b = vec![0u8; BUF];
        let m = rsp.handle(&mut a, &mut b).unwrap();
        b.truncate(m);
        self.open(b)
    }
}

/// A handshake after KEY_EXCHANGE_RSP / PSK_EXCHANGE_RSP: its transcript and secrets.
struct Hs {
    set: AlgorithmSet,
    th: Hash,
    secrets: HandshakeSecrets,
    keys: Keys,
}

/// An established session: its keys and the secrets KEY_UPDATE derives from.
struct Est {
    set: AlgorithmSet,
    keys: Keys,
    req_secret: Secret,
    rsp_secret: Secret,
}

impl Hs {
    fn ks(&self) -> KeySchedule<'static, RustCrypto> {
        KeySchedule::new(&RustCrypto, self.set.hash, Version::V12)
    }

    /// After the response to the last handshake message (`th` now TH2): the session.
    fn establish(self, th2: Hash) -> Est {
        let ks = self.ks();
        let master = ks.master_secret(&self.secrets.handshake_secret).unwrap();
        let data = ks.data(&master, &th2.finish()).unwrap();
        Est {
            set: self.set,
            keys: Keys::new(self.set, self.keys.id, &data.request, &data.response),
            req_secret: data.request,
            rsp_secret: data.response,
        }
    }

    /// The handshake's finish message (`code` = FINISH or PSK_FINISH) with its verify data.
    fn finish_msg(&self, code: u8) -> Vec<u8> {
        let hdr = [0x12, code, 0, 0];
        let mut th = self.th.clone();
        th.update(&hdr);
        let vd = self
            .ks()
            .verify_data(&self.secrets.request.finished_key, &th.finish())
            .unwrap();
        let mut m = hdr.to_vec();
        m.extend_from_slice(vd.as_bytes());
        m
    }

    /// Sends the finish message; checks its answer (`rsp_code`, 4 bytes) and returns the
    /// session.
    fn finish(mut self, rsp: &mut Rsp<'_>, code: u8, rsp_code: u8) -> Est {
        let m = self.finish_msg(code);
        let r = self.keys.send(rsp, &m);
        assert_eq!(r, [0x12, rsp_code, 0, 0]);
        let mut th = self.th.clone();
        th.update(&m);
        th.update(&r);
        self.establish(th)
    }
}

/// Derives the handshake from HS and the TH1 transcript `th`, checks ResponderVerifyData
/// (`vd`) and returns the handshake with `vd` in its transcript.
fn handshake(set: AlgorithmSet, id: u32, ikm: &[u8], psk: bool, mut th: Hash, vd: &[u8]) -> Hs {
    let ks = KeySchedule::new(&RustCrypto, set.hash, Version::V12);
    let hs = ks.handshake_secret(ikm, psk).unwrap();
    let th1 = th.clone().finish();
    let secrets = ks.handshake(hs, &th1).unwrap();
    let expected = ks
        .verify_data(&secrets.response.finished_key, &th1)
        .unwrap();
    assert_eq!(vd, expected.as_bytes(), "ResponderVerifyData");
    th.update(vd);
    let keys = Keys::new(set, id, &secrets.request.secret, &secrets.response.secret);
    Hs {
        set,
        th,
        secrets,
        keys,
    }
}

/// PSK_EXCHANGE `req` after VCA `a`; checks PSK_EXCHANGE_RSP (size, code, version, context
/// length for PSK_CAP = 10b, verify data) and returns the handshake.
fn psk_start(rsp: &mut Rsp<'_>, set: AlgorithmSet, a: &[u8], req: &[u8]) -> Hs {
    psk_start_ctx(rsp, set, a, req, true)
}

/// As [`psk_start`]; `with_context`: PSK_CAP = 10b (a ResponderContext) rather than 01b (none).
fn psk_start_ctx(
    rsp: &mut Rsp<'_>,
    set: AlgorithmSet,
    a: &[u8],
    req: &[u8],
    with_context: bool,
) -> Hs {
    let r = send(rsp, req);
    let h = set.hash.len();
    assert_eq!(r[..2], [0x12, 0x66], "{r:02x?}");
    let ctx = usize::from(u16::from_le_bytes([r[8], r[9]]));
    let ol = usize::from(u16::from_le_bytes([r[10], r[11]]));
    let meas = if req[2] == 0 { 0 } else { h };
    let th1_len = 12 + meas + ctx + ol;
    assert_eq!(r.len(), th1_len + h, "sizeof(PSK_EXCHANGE_RSP) + lengths");
    assert_eq!(ctx > 0, with_context, "ResponderContext iff PSK_CAP = 10b");
    let id = u32::from(REQ_SESSION_ID) | u32::from(u16::from_le_bytes([r[4], r[5]])) << 16;
    let mut th = RustCrypto.hash(set.hash).unwrap();
    th.update(a);
    th.update(req);
    th.update(&r[..th1_len]);
    handshake(set, id, PSK, true, th, &r[th1_len..])
}

/// KEY_EXCHANGE (no summary, slot 0) after VCA `a`; checks KEY_EXCHANGE_RSP's verify data
/// and returns the handshake and MutAuthRequested.
fn key_exchange(rsp: &mut Rsp<'_>, f: &Fixture, a: &[u8], seed: u64) -> (Hs, u8) {
    let set = f.set;
    let sizes = set.sizes();
    let mut rng = TestRng(seed);
    let dhe = RustCrypto.dhe_generate(set.dhe, &mut rng).unwrap();
    let mut pk = [0u8; 96];
    let d = dhe.public_key(&mut pk).unwrap();
    let op = opaque();
    let mut ke = vec![0x12, 0xE4, 0, 0];
    ke.extend_from_slice(&REQ_SESSION_ID.to_le_bytes());
    ke.extend_from_slice(&[0, 0]);
    ke.extend_from_slice(&[0x33; 32]);
    ke.extend_from_slice(&pk[..d]);
    ke.extend_from_slice(&(op.len() as u16).to_le_bytes());
    ke.extend_from_slice(&op);
    let r = send(rsp, &ke);
    assert_eq!(r[..2], [0x12, 0x64], "{r:02x?}");
    let at = 40 + d;
    let ol = usize::from(u16::from_le_bytes([r[at], r[at + 1]]));
    let th1_len = at + 2 + ol + sizes.signature;
    assert_eq!(r.len(), th1_len + sizes.hash);
    let shared = dhe.agree(&r[40..40 + d]).unwrap();
    let id = u32::from(REQ_SESSION_ID) | u32::from(u16::from_le_bytes([r[4], r[5]])) << 16;
    let mut th = RustCrypto.hash(set.hash).unwrap();
    th.update(a);
    th.update(&hash(set, &[&f.chain]));
    th.update(&ke);
    th.update(&r[..th1_len]);
    let hs = handshake(set, id, shared.as_bytes(), false, th, &r[th1_len..]);
    (hs, r[6])
}

/// The validator's DHE session set-up: VCA, GET_DIGESTS, GET_CERTIFICATE (whole chain),
/// KEY_EXCHANGE, FINISH.
fn dhe_session(rsp: &mut Rsp<'_>, f: &Fixture, seed: u64) -> Est {
    let (hs, _) = dhe_handshake(rsp, f, REQ_FLAGS, seed);
    hs.finish(rsp, 0xE5, 0x65)
}

/// VCA (`flags`), GET_DIGESTS, GET_CERTIFICATE, KEY_EXCHANGE: the handshake and
/// MutAuthRequested.
fn dhe_handshake(rsp: &mut Rsp<'_>, f: &Fixture, flags: u32, seed: u64) -> (Hs, u8) {
    let a = negotiate(rsp, f.set, flags);
    let d = send(rsp, &[0x12, 0x81, 0, 0]);
    assert_eq!(d[..4], [0x12, 0x01, 0, 1], "slot 0 only");
    let mut got = Vec::new();
    loop {
        let mut gc = vec![0x12, 0x82, 0, 0];
        gc.extend_from_slice(&(got.len() as u16).to_le_bytes());
        gc.extend_from_slice(&512u16.to_le_bytes());
        let c = send(rsp, &gc);
        let portion = usize::from(u16::from_le_bytes([c[4], c[5]]));
        got.extend_from_slice(&c[8..8 + portion]);
        if c[6..8] == [0, 0] {
            break;
        }
    }
    assert_eq!(got, f.chain);
    key_exchange(rsp, f, &a, seed)
}

/// The validator's PSK session set-up: VCA, PSK_EXCHANGE, PSK_FINISH.
fn psk_session(rsp: &mut Rsp<'_>, set: AlgorithmSet) -> Est {
    let a = negotiate(rsp, set, REQ_FLAGS);
    let hs = psk_start(rsp, set, &a, &psk_exchange(0x12, 0, 0));
    hs.finish(rsp, 0xE7, 0x67)
}

impl Est {
    fn send(&mut self, rsp: &mut Rsp<'_>, spdm: &[u8]) -> Vec<u8> {
        self.keys.send(rsp, spdm)
    }

    /// HEARTBEAT answered with HEARTBEAT_ACK: the session still works.
    fn alive(&mut self, rsp: &mut Rsp<'_>) {
        assert_eq!(self.send(rsp, &[0x12, 0xE8, 0, 0]), [0x12, 0x68, 0, 0]);
    }

    fn update_req(&mut self) {
        let ks = KeySchedule::new(&RustCrypto, self.set.hash, Version::V12);
        self.req_secret = ks.update(&self.req_secret).unwrap();
        self.keys.req =
            DirectionKeys::new(ks.traffic_keys(self.set.aead, &self.req_secret).unwrap());
    }

    fn update_rsp(&mut self) {
        let ks = KeySchedule::new(&RustCrypto, self.set.hash, Version::V12);
        self.rsp_secret = ks.update(&self.rsp_secret).unwrap();
        self.keys.rsp =
            DirectionKeys::new(ks.traffic_keys(self.set.aead, &self.rsp_secret).unwrap());
    }
}

// ---------------------------------------------------------------------------------------------
// 10. PSK_EXCHANGE_RSP
// ---------------------------------------------------------------------------------------------

/// DMTF SPDM-Responder-Validator case 10.2: PSK_EXCHANGE with SPDMVersion 1.3 and then 1.1
/// (one above and one below the negotiated 1.2) gets ERROR VersionMismatch of version 1.2
/// with ErrorData 0. Nothing changes: the next, correct PSK_EXCHANGE succeeds.
#[test]
fn case_10_2_psk_exchange_with_other_version_gets_version_mismatch() {
    for set in SETS {
        let f = fixture(set);
        let mut rng = TestRng(101);
        let mut rsp = responder(&f, &mut rng);
        let a = negotiate(&mut rsp, set, REQ_FLAGS);
        for v in [0x13, 0x11] {
            assert_eq!(
                send(&mut rsp, &psk_exchange(v, 0, 0)),
                error(VERSION_MISMATCH)
            );
        }
        assert_eq!(rsp.state_name(), "Negotiated");
        let hs = psk_start(&mut rsp, set, &a, &psk_exchange(0x12, 0, 0));
        hs.finish(&mut rsp, 0xE7, 0x67).alive(&mut rsp);
    }
}

/// DMTF SPDM-Responder-Validator case 10.3: PSK_EXCHANGE after GET_CAPABILITIES but before
/// NEGOTIATE_ALGORITHMS gets ERROR UnexpectedRequest (version 1.2, ErrorData 0); the
/// negotiation then goes on as if it had not been sent.
#[test]
fn case_10_3_psk_exchange_before_negotiate_algorithms_gets_unexpected_request() {
    for set in SETS {
        let f = fixture(set);
        let mut rng = TestRng(103);
        let mut rsp = responder(&f, &mut rng);
        let mut a = Vec::new();
        for req in [get_version(), get_capabilities(REQ_FLAGS)] {
            let r = send(&mut rsp, &req);
            a.extend_from_slice(&req);
            a.extend_from_slice(&r);
        }
        assert_eq!(
            send(&mut rsp, &psk_exchange(0x12, 0, 0)),
            error(UNEXPECTED_REQUEST)
        );
        assert_eq!(rsp.state_name(), "AwaitAlgorithms");
        // The refused request is not in the transcript: the PSK handshake's verify data
        // (over VCA) checks out.
        let na = negotiate_algorithms(set);
        let r = send(&mut rsp, &na);
        assert_eq!(r[1], 0x63);
        a.extend_from_slice(&na);
        a.extend_from_slice(&r);
        let hs = psk_start(&mut rsp, set, &a, &psk_exchange(0x12, 0, 0));
        hs.finish(&mut rsp, 0xE7, 0x67).alive(&mut rsp);
    }
}

/// DMTF SPDM-Responder-Validator case 10.4: PSK_EXCHANGE inside an established PSK session
/// gets ERROR UnexpectedRequest (version 1.2, ErrorData 0) inside the session, which goes on.
#[test]
fn case_10_4_psk_exchange_in_a_session_gets_unexpected_request() {
    for set in SETS {
        let f = fixture(set);
        let mut rng = TestRng(104);
        let mut rsp = responder(&f, &mut rng);
        let mut s = psk_session(&mut rsp, set);
        let id = rsp.session().unwrap().id();
        assert_eq!(
            s.send(&mut rsp, &psk_exchange(0x12, 0, 0)),
            error(UNEXPECTED_REQUEST)
        );
        assert_eq!(rsp.session().unwrap().id(), id);
        s.alive(&mut rsp);
    }
}

/// DMTF SPDM-Responder-Validator case 10.5: PSK_EXCHANGE with an invalid field gets ERROR
/// InvalidRequest (version 1.2, ErrorData 0): MeasurementSummaryHashType 2 (TCB + 1) and 0xFE
/// (all - 1), OpaqueDataLength 0xFFFF, RequesterContextLength 0xFFFF (lengths beyond the
/// message); and, for the case's first step, which does not name its invalid field, a
/// PSKHint the responder does not know. No handshake starts: the correct PSK_EXCHANGE
/// afterwards succeeds.
#[test]
fn case_10_5_psk_exchange_with_invalid_fields_gets_invalid_request() {
    for set in SETS {
        let f = fixture(set);
        let mut rng = TestRng(105);
        let mut rsp = responder(&f, &mut rng);
        let a = negotiate(&mut rsp, set, REQ_FLAGS);
        let good = psk_exchange(0x12, 0, 0);
        let hint_at = 12;
        let mut wrong_hint = good.clone();
        wrong_hint[hint_at] ^= 0xFF;
        let mut opaque_len = good.clone();
        opaque_len[10..12].copy_from_slice(&[0xFF, 0xFF]);
        let mut ctx_len = good.clone();
        ctx_len[8..10].copy_from_slice(&[0xFF, 0xFF]);
        for (what, m) in [
            ("unknown PSKHint", wrong_hint),
            ("summary type TCB + 1", psk_exchange(0x12, 2, 0)),
            ("summary type all - 1", psk_exchange(0x12, 0xFE, 0)),
            ("OpaqueDataLength 0xFFFF", opaque_len),
            ("RequesterContextLength 0xFFFF", ctx_len),
        ] {
            assert_eq!(send(&mut rsp, &m), error(INVALID_REQUEST), "{what}");
            assert_eq!(rsp.state_name(), "Negotiated", "{what}");
        }
        let hs = psk_start(&mut rsp, set, &a, &good);
        hs.finish(&mut rsp, 0xE7, 0x67).alive(&mut rsp);
    }
}

/// DMTF SPDM-Responder-Validator case 10.6: PSK_EXCHANGE 1.2 with SessionPolicy
/// TerminationPolicy = 1 gets PSK_EXCHANGE_RSP of version 1.2, as long as its header and
/// lengths say, with a ResponderContext (PSK_CAP = 10b) and a ResponderVerifyData that is
/// HMAC(finished_key, TH) of 1.2 (with PSK_CAP = 01b, as `--no-psk-finish`, no context, and
/// the session starts right away). With measurements offered (MEAS_CAP != 0) the same holds
/// for summary types TCB and all, whose summary hash then sits in the response.
#[test]
fn case_10_6_psk_exchange_1_2_gets_valid_psk_exchange_rsp() {
    let meas = SampleMeasurements;
    for set in SETS {
        let f = fixture(set);
        for with_context in [true, false] {
            for (with_meas, types) in [(false, &[0u8][..]), (true, &[0, 1, 0xFF][..])] {
                for &ty in types {
                    let mut rng = TestRng(106);
                    let mut rsp = responder_psk(&f, &mut rng, with_context);
                    if with_meas {
                        rsp.set_measurements(&meas);
                    }
                    let flags = rsp_flags(&mut rsp);
                    let psk_cap = if with_context { 2 } else { 1 };
                    assert_eq!(flags & (3 << 10), psk_cap << 10, "PSK_CAP");
                    assert_eq!(flags & (3 << 3) != 0, with_meas, "MEAS_CAP");
                    let a = negotiate(&mut rsp, set, REQ_FLAGS);
                    let req = psk_exchange(0x12, ty, 1);
                    let hs = psk_start_ctx(&mut rsp, set, &a, &req, with_context);
                    let mut s = if with_context {
                        hs.finish(&mut rsp, 0xE7, 0x67)
                    } else {
                        // No PSK_FINISH: the session starts with TH2 = TH1 and the verify data.
                        let th = hs.th.clone();
                        hs.establish(th)
                    };
                    s.alive(&mut rsp);
                }
            }
        }
    }
}

/// Two measurement blocks (one in the TCB) of the hash size.
struct SampleMeasurements;

impl spdm_lite::measurements::MeasurementProvider for SampleMeasurements {
    fn count(&self) -> usize {
        2
    }
    fn block(&self, n: usize, value: &mut [u8]) -> Option<spdm_lite::measurements::BlockInfo> {
        let len = 32;
        value.get_mut(..len)?.fill(0x40 + n as u8);
        Some(spdm_lite::measurements::BlockInfo {
            index: n as u8 + 1,
            value_type: spdm_lite::measurements::value_type::MUTABLE_FIRMWARE
                | spdm_lite::measurements::value_type::RAW,
            len,
            tcb: n == 0,
        })
    }
}

// ---------------------------------------------------------------------------------------------
// 11. PSK_FINISH_RSP
// ---------------------------------------------------------------------------------------------

/// After PSK_EXCHANGE: the VCA, the handshake.
fn psk_handshake(rsp: &mut Rsp<'_>, set: AlgorithmSet) -> Hs {
    let a = negotiate(rsp, set, REQ_FLAGS);
    psk_start(rsp, set, &a, &psk_exchange(0x12, 0, 0))
}

/// DMTF SPDM-Responder-Validator case 11.2: PSK_FINISH with SPDMVersion 1.3, then 1.1 (the
/// latter without verify data), in the handshake gets ERROR VersionMismatch (version 1.2,
/// ErrorData 0) under the handshake keys; the handshake waits on, and the correct PSK_FINISH
/// then completes it.
#[test]
fn case_11_2_psk_finish_with_other_version_gets_version_mismatch() {
    for set in SETS {
        let f = fixture(set);
        let mut rng = TestRng(112);
        let mut rsp = responder(&f, &mut rng);
        let mut hs = psk_handshake(&mut rsp, set);
        let mut m = hs.finish_msg(0xE7);
        m[0] = 0x13;
        assert_eq!(hs.keys.send(&mut rsp, &m), error(VERSION_MISMATCH));
        assert_eq!(
            hs.keys.send(&mut rsp, &[0x11, 0xE7, 0, 0]),
            error(VERSION_MISMATCH)
        );
        assert_eq!(rsp.state_name(), "AwaitPskFinish");
        hs.finish(&mut rsp, 0xE7, 0x67).alive(&mut rsp);
    }
}

/// DMTF SPDM-Responder-Validator case 11.3: PSK_FINISH before any PSK_EXCHANGE. The case
/// expects ERROR UnexpectedRequest; with no session to send it in, it can only come in the
/// clear, where DSP0274 1.2 (and libspdm for 1.2) answer a session-only request with
/// SessionRequired, which this responder does (see docs/profile.md). Checked: an ERROR of
/// version 1.2 with ErrorData 0 and SessionRequired; the connection stays negotiated and a
/// PSK handshake then works.
#[test]
fn case_11_3_psk_finish_before_psk_exchange_is_refused() {
    for set in SETS {
        let f = fixture(set);
        let mut rng = TestRng(113);
        let mut rsp = responder(&f, &mut rng);
        let a = negotiate(&mut rsp, set, REQ_FLAGS);
        let mut m = vec![0x12, 0xE7, 0, 0];
        m.extend_from_slice(&vec![0xA5; set.hash.len()]);
        assert_eq!(send(&mut rsp, &m), error(SESSION_REQUIRED));
        assert_eq!(rsp.state_name(), "Negotiated");
        let hs = psk_start(&mut rsp, set, &a, &psk_exchange(0x12, 0, 0));
        hs.finish(&mut rsp, 0xE7, 0x67).alive(&mut rsp);
    }
}

/// DMTF SPDM-Responder-Validator case 11.4: PSK_FINISH inside the established session gets
/// ERROR UnexpectedRequest (version 1.2, ErrorData 0); the session goes on.
#[test]
fn case_11_4_psk_finish_in_a_session_gets_unexpected_request() {
    for set in SETS {
        let f = fixture(set);
        let mut rng = TestRng(114);
        let mut rsp = responder(&f, &mut rng);
        let hs = psk_handshake(&mut rsp, set);
        let m = hs.finish_msg(0xE7);
        let mut s = hs.finish(&mut rsp, 0xE7, 0x67);
        assert_eq!(s.send(&mut rsp, &m), error(UNEXPECTED_REQUEST));
        assert_eq!(rsp.state_name(), "Established");
        s.alive(&mut rsp);
    }
}

/// DMTF SPDM-Responder-Validator case 11.5: PSK_FINISH without RequesterVerifyData gets
/// ERROR InvalidRequest (version 1.2, ErrorData 0); the handshake waits on and the correct
/// PSK_FINISH completes it.
#[test]
fn case_11_5_psk_finish_without_verify_data_gets_invalid_request() {
    for set in SETS {
        let f = fixture(set);
        let mut rng = TestRng(115);
        let mut rsp = responder(&f, &mut rng);
        let mut hs = psk_handshake(&mut rsp, set);
        assert_eq!(
            hs.keys.send(&mut rsp, &[0x12, 0xE7, 0, 0]),
            error(INVALID_REQUEST)
        );
        assert_eq!(rsp.state_name(), "AwaitPskFinish");
        hs.finish(&mut rsp, 0xE7, 0x67).alive(&mut rsp);
    }
}

/// DMTF SPDM-Responder-Validator case 11.6: PSK_FINISH with wrong RequesterVerifyData gets
/// ERROR DecryptError of version 1.2 under the handshake keys. The handshake is over: no
/// session exists, and a PSK_FINISH with the right verify data is not accepted any more
/// (the connection is back to negotiated and takes a new PSK_EXCHANGE).
#[test]
fn case_11_6_psk_finish_with_wrong_verify_data_gets_decrypt_error() {
    for set in SETS {
        let f = fixture(set);
        let mut rng = TestRng(116);
        let mut rsp = responder(&f, &mut rng);
        let a = negotiate(&mut rsp, set, REQ_FLAGS);
        let mut hs = psk_start(&mut rsp, set, &a, &psk_exchange(0x12, 0, 0));
        let good = hs.finish_msg(0xE7);
        let mut bad = good.clone();
        bad[4] ^= 1;
        let r = hs.keys.send(&mut rsp, &bad);
        assert_eq!(r[..3], [0x12, 0x7F, DECRYPT_ERROR]);
        assert!(rsp.session().is_none());
        assert_eq!(rsp.state_name(), "Negotiated");
        let mut rec = hs.keys.seal(&good);
        let mut b = vec![0u8; BUF];
        assert_eq!(rsp.handle(&mut rec, &mut b), Err(Error::UnexpectedMessage));
        let hs = psk_start(&mut rsp, set, &a, &psk_exchange(0x12, 0, 0));
        hs.finish(&mut rsp, 0xE7, 0x67).alive(&mut rsp);
    }
}

/// DMTF SPDM-Responder-Validator case 11.7: PSK_FINISH 1.2 with the right verify data gets
/// PSK_FINISH_RSP (version 1.2, 4 bytes) under the handshake keys, and the session starts
/// (its data keys, derived from TH2 over PSK_FINISH_RSP, carry the next request).
#[test]
fn case_11_7_psk_finish_1_2_gets_psk_finish_rsp() {
    for set in SETS {
        let f = fixture(set);
        let mut rng = TestRng(117);
        let mut rsp = responder(&f, &mut rng);
        let hs = psk_handshake(&mut rsp, set);
        let mut s = hs.finish(&mut rsp, 0xE7, 0x67);
        assert_eq!(rsp.state_name(), "Established");
        s.alive(&mut rsp);
    }
}

// ---------------------------------------------------------------------------------------------
// 12. HEARTBEAT_ACK (the responder configured with a HeartbeatPeriod: without one the
// validator skips 12.1 to 12.3)
// ---------------------------------------------------------------------------------------------

fn heartbeat_responder<'a>(f: &'a Fixture, rng: &'a mut TestRng) -> Rsp<'a> {
    let mut rsp = responder(f, rng);
    rsp.set_heartbeat_period(10);
    rsp
}

/// DMTF SPDM-Responder-Validator case 12.1: in a DHE session whose KEY_EXCHANGE_RSP offered a
/// HeartbeatPeriod, HEARTBEAT gets HEARTBEAT_ACK of version 1.2.
#[test]
fn case_12_1_heartbeat_in_a_dhe_session_gets_heartbeat_ack() {
    for set in SETS {
        let f = fixture(set);
        let mut rng = TestRng(121);
        let mut rsp = heartbeat_responder(&f, &mut rng);
        let flags = rsp_flags(&mut rsp);
        assert_ne!(flags & HBEAT, 0);
        assert_ne!(flags & KEY_EX, 0);
        let mut s = dhe_session(&mut rsp, &f, 1210);
        assert_eq!(rsp.session().unwrap().heartbeat_period(), 10);
        assert_eq!(s.send(&mut rsp, &[0x12, 0xE8, 0, 0]), [0x12, 0x68, 0, 0]);
    }
}

/// DMTF SPDM-Responder-Validator case 12.2: HEARTBEAT of SPDMVersion 1.3, then 1.1, in the
/// session gets ERROR VersionMismatch (version 1.2, ErrorData 0); the session goes on.
#[test]
fn case_12_2_heartbeat_with_other_version_gets_version_mismatch() {
    for set in SETS {
        let f = fixture(set);
        let mut rng = TestRng(122);
        let mut rsp = heartbeat_responder(&f, &mut rng);
        let mut s = dhe_session(&mut rsp, &f, 1220);
        for v in [0x13, 0x11] {
            assert_eq!(s.send(&mut rsp, &[v, 0xE8, 0, 0]), error(VERSION_MISMATCH));
        }
        s.alive(&mut rsp);
    }
}

/// DMTF SPDM-Responder-Validator case 12.3: HEARTBEAT in the handshake (after
/// KEY_EXCHANGE_RSP, under the handshake keys) gets ERROR UnexpectedRequest (version 1.2,
/// ErrorData 0); FINISH then completes the handshake.
#[test]
fn case_12_3_heartbeat_in_the_handshake_gets_unexpected_request() {
    for set in SETS {
        let f = fixture(set);
        let mut rng = TestRng(123);
        let mut rsp = heartbeat_responder(&f, &mut rng);
        let (mut hs, _) = dhe_handshake(&mut rsp, &f, REQ_FLAGS, 1230);
        assert_eq!(
            hs.keys.send(&mut rsp, &[0x12, 0xE8, 0, 0]),
            error(UNEXPECTED_REQUEST)
        );
        assert_eq!(rsp.state_name(), "AwaitFinish");
        hs.finish(&mut rsp, 0xE5, 0x65).alive(&mut rsp);
    }
}

/// DMTF SPDM-Responder-Validator case 12.4: HEARTBEAT in the clear after negotiation gets
/// ERROR SessionRequired of version 1.2; the connection stays negotiated.
#[test]
fn case_12_4_heartbeat_outside_a_session_gets_session_required() {
    for set in SETS {
        let f = fixture(set);
        let mut rng = TestRng(124);
        let mut rsp = responder(&f, &mut rng);
        let a = negotiate(&mut rsp, set, REQ_FLAGS);
        let r = send(&mut rsp, &[0x12, 0xE8, 0, 0]);
        assert_eq!(r[..3], [0x12, 0x7F, SESSION_REQUIRED]);
        assert_eq!(rsp.state_name(), "Negotiated");
        let hs = psk_start(&mut rsp, set, &a, &psk_exchange(0x12, 0, 0));
        hs.finish(&mut rsp, 0xE7, 0x67).alive(&mut rsp);
    }
}

// ---------------------------------------------------------------------------------------------
// 13. KEY_UPDATE_ACK
// ---------------------------------------------------------------------------------------------

/// DMTF SPDM-Responder-Validator case 13.1: in a DHE session, KEY_UPDATE UpdateKey (tag 1),
/// VerifyNewKey (tag 2), UpdateAllKeys (tag 3) and VerifyNewKey (tag 4) each get
/// KEY_UPDATE_ACK of version 1.2 echoing Param1 and Param2. The keys move as DSP0277 says:
/// after UpdateKey the requests go under the next request key, after UpdateAllKeys the ACK
/// already comes under the next response key too (the records open under the keys derived
/// here, so a key not updated, or updated twice, fails the test).
#[test]
fn case_13_1_key_update_in_a_dhe_session_gets_key_update_ack() {
    for set in SETS {
        let f = fixture(set);
        let mut rng = TestRng(131);
        let mut rsp = responder(&f, &mut rng);
        let flags = rsp_flags(&mut rsp);
        assert_ne!(flags & KEY_UPD, 0);
        let mut s = dhe_session(&mut rsp, &f, 1310);
        assert_eq!(s.send(&mut rsp, &[0x12, 0xE9, 1, 1]), [0x12, 0x69, 1, 1]);
        s.update_req();
        assert_eq!(s.send(&mut rsp, &[0x12, 0xE9, 3, 2]), [0x12, 0x69, 3, 2]);
        let mut rec = s.keys.seal(&[0x12, 0xE9, 2, 3]);
        s.update_req();
        s.update_rsp();
        let mut b = vec![0u8; BUF];
        let m = rsp.handle(&mut rec, &mut b).unwrap();
        b.truncate(m);
        assert_eq!(s.keys.open(b), [0x12, 0x69, 2, 3]);
        assert_eq!(s.send(&mut rsp, &[0x12, 0xE9, 3, 4]), [0x12, 0x69, 3, 4]);
        s.alive(&mut rsp);
    }
}

/// DMTF SPDM-Responder-Validator case 13.2: KEY_UPDATE of SPDMVersion 1.3, then 1.1, in the
/// session gets ERROR VersionMismatch (version 1.2, ErrorData 0) and no key moves (the next
/// request under the same keys works).
#[test]
fn case_13_2_key_update_with_other_version_gets_version_mismatch() {
    for set in SETS {
        let f = fixture(set);
        let mut rng = TestRng(132);
        let mut rsp = responder(&f, &mut rng);
        let mut s = dhe_session(&mut rsp, &f, 1320);
        for v in [0x13, 0x11] {
            assert_eq!(s.send(&mut rsp, &[v, 0xE9, 1, 1]), error(VERSION_MISMATCH));
        }
        assert_eq!(rsp.session().unwrap().key_generation(), 0);
        s.alive(&mut rsp);
    }
}

/// DMTF SPDM-Responder-Validator case 13.3: KEY_UPDATE with operation 0 (UpdateKey - 1) and 4
/// (VerifyNewKey + 1) gets ERROR InvalidRequest (version 1.2, ErrorData 0); no key moves.
#[test]
fn case_13_3_key_update_with_invalid_operation_gets_invalid_request() {
    for set in SETS {
        let f = fixture(set);
        let mut rng = TestRng(133);
        let mut rsp = responder(&f, &mut rng);
        let mut s = dhe_session(&mut rsp, &f, 1330);
        for op in [0, 4] {
            assert_eq!(
                s.send(&mut rsp, &[0x12, 0xE9, op, 0]),
                error(INVALID_REQUEST)
            );
        }
        assert_eq!(rsp.session().unwrap().key_generation(), 0);
        s.alive(&mut rsp);
    }
}

/// DMTF SPDM-Responder-Validator case 13.4: KEY_UPDATE in the handshake (after
/// KEY_EXCHANGE_RSP) gets ERROR UnexpectedRequest (version 1.2, ErrorData 0); FINISH then
/// completes the handshake.
#[test]
fn case_13_4_key_update_in_the_handshake_gets_unexpected_request() {
    for set in SETS {
        let f = fixture(set);
        let mut rng = TestRng(134);
        let mut rsp = responder(&f, &mut rng);
        let (mut hs, _) = dhe_handshake(&mut rsp, &f, REQ_FLAGS, 1340);
        assert_eq!(
            hs.keys.send(&mut rsp, &[0x12, 0xE9, 1, 1]),
            error(UNEXPECTED_REQUEST)
        );
        assert_eq!(rsp.state_name(), "AwaitFinish");
        hs.finish(&mut rsp, 0xE5, 0x65).alive(&mut rsp);
    }
}

/// DMTF SPDM-Responder-Validator case 13.5: KEY_UPDATE in the clear after negotiation gets
/// ERROR SessionRequired of version 1.2; the connection stays negotiated.
#[test]
fn case_13_5_key_update_outside_a_session_gets_session_required() {
    for set in SETS {
        let f = fixture(set);
        let mut rng = TestRng(135);
        let mut rsp = responder(&f, &mut rng);
        let a = negotiate(&mut rsp, set, REQ_FLAGS);
        let r = send(&mut rsp, &[0x12, 0xE9, 1, 1]);
        assert_eq!(r[..3], [0x12, 0x7F, SESSION_REQUIRED]);
        assert_eq!(rsp.state_name(), "Negotiated");
        let hs = psk_start(&mut rsp, set, &a, &psk_exchange(0x12, 0, 0));
        hs.finish(&mut rsp, 0xE7, 0x67).alive(&mut rsp);
    }
}

// ---------------------------------------------------------------------------------------------
// 16. END_SESSION_ACK
// ---------------------------------------------------------------------------------------------

/// DMTF SPDM-Responder-Validator case 16.1: END_SESSION (no state preservation) in a DHE
/// session gets END_SESSION_ACK of version 1.2; the session is gone (a record under its keys
/// gets no answer) and the connection stays negotiated.
#[test]
fn case_16_1_end_session_in_a_dhe_session_gets_end_session_ack() {
    for set in SETS {
        let f = fixture(set);
        let mut rng = TestRng(161);
        let mut rsp = responder(&f, &mut rng);
        let mut s = dhe_session(&mut rsp, &f, 1610);
        assert_eq!(s.send(&mut rsp, &[0x12, 0xEC, 0, 0]), [0x12, 0x6C, 0, 0]);
        assert!(rsp.session().is_none());
        assert_eq!(rsp.state_name(), "Negotiated");
        let mut rec = s.keys.seal(&[0x12, 0xE8, 0, 0]);
        let mut b = vec![0u8; BUF];
        assert_eq!(rsp.handle(&mut rec, &mut b), Err(Error::UnexpectedMessage));
    }
}

/// DMTF SPDM-Responder-Validator case 16.2: END_SESSION of SPDMVersion 1.3, then 1.1, gets
/// ERROR VersionMismatch (version 1.2, ErrorData 0); the session does not end.
#[test]
fn case_16_2_end_session_with_other_version_gets_version_mismatch() {
    for set in SETS {
        let f = fixture(set);
        let mut rng = TestRng(162);
        let mut rsp = responder(&f, &mut rng);
        let mut s = dhe_session(&mut rsp, &f, 1620);
        for v in [0x13, 0x11] {
            assert_eq!(s.send(&mut rsp, &[v, 0xEC, 0, 0]), error(VERSION_MISMATCH));
        }
        assert_eq!(rsp.state_name(), "Established");
        s.alive(&mut rsp);
    }
}

/// DMTF SPDM-Responder-Validator case 16.3: END_SESSION in the handshake (after
/// KEY_EXCHANGE_RSP) gets ERROR UnexpectedRequest (version 1.2, ErrorData 0); FINISH then
/// completes the handshake.
#[test]
fn case_16_3_end_session_in_the_handshake_gets_unexpected_request() {
    for set in SETS {
        let f = fixture(set);
        let mut rng = TestRng(163);
        let mut rsp = responder(&f, &mut rng);
        let (mut hs, _) = dhe_handshake(&mut rsp, &f, REQ_FLAGS, 1630);
        assert_eq!(
            hs.keys.send(&mut rsp, &[0x12, 0xEC, 0, 0]),
            error(UNEXPECTED_REQUEST)
        );
        assert_eq!(rsp.state_name(), "AwaitFinish");
        hs.finish(&mut rsp, 0xE5, 0x65).alive(&mut rsp);
    }
}

/// DMTF SPDM-Responder-Validator case 16.4: END_SESSION in the clear after negotiation gets
/// ERROR SessionRequired of version 1.2; an established session is not touched by it.
#[test]
fn case_16_4_end_session_outside_a_session_gets_session_required() {
    for set in SETS {
        let f = fixture(set);
        let mut rng = TestRng(164);
        let mut rsp = responder(&f, &mut rng);
        negotiate(&mut rsp, set, REQ_FLAGS);
        let r = send(&mut rsp, &[0x12, 0xEC, 0, 0]);
        assert_eq!(r[..3], [0x12, 0x7F, SESSION_REQUIRED]);
        assert_eq!(rsp.state_name(), "Negotiated");
        let mut s = psk_session(&mut rsp, set);
        let r = send(&mut rsp, &[0x12, 0xEC, 0, 0]);
        assert_eq!(r[..3], [0x12, 0x7F, SESSION_REQUIRED]);
        assert_eq!(rsp.state_name(), "Established");
        s.alive(&mut rsp);
    }
}

// ---------------------------------------------------------------------------------------------
// 14, 15. ENCAPSULATED_REQUEST, ENCAPSULATED_RESPONSE_ACK (the responder as `--mut-auth` runs
// it: MutAuthRequested 0x02, the encapsulated GET_DIGESTS / GET_CERTIFICATE flow)
// ---------------------------------------------------------------------------------------------

/// The requester's identity: its SPDM chain and the responder's trust anchor for it.
struct ReqIdentity {
    chain: Vec<u8>,
    root: Vec<u8>,
}

fn req_identity(set: AlgorithmSet) -> ReqIdentity {
    ReqIdentity {
        chain: spdm_chain(set, "req_chain.der", "root.cert.der"),
        root: read(set, "root.cert.der"),
    }
}

/// VCA with MUT_AUTH_CAP, GET_DIGESTS, GET_CERTIFICATE, KEY_EXCHANGE: the handshake, which
/// must ask for the encapsulated flow (MutAuthRequested = 0x02).
fn encap_handshake(rsp: &mut Rsp<'_>, f: &Fixture, seed: u64) -> Hs {
    let (hs, requested) = dhe_handshake(rsp, f, REQ_FLAGS | MUT_AUTH, seed);
    assert_eq!(
        requested, 0x02,
        "MutAuthRequested: encapsulated request flow"
    );
    hs
}

/// GET_ENCAPSULATED_REQUEST in the handshake; checks ENCAPSULATED_REQUEST (size, code,
/// version, an encapsulated GET_DIGESTS or GET_CERTIFICATE of version 1.2) and returns its
/// RequestID and the encapsulated request.
fn get_encapsulated_request(hs: &mut Hs, rsp: &mut Rsp<'_>) -> (u8, Vec<u8>) {
    let r = hs.keys.send(rsp, &[0x12, 0xEA, 0, 0]);
    assert!(r.len() >= 4 + 4, "sizeof(ENCAPSULATED_REQUEST) + request");
    assert_eq!(r[..2], [0x12, 0x6A], "{r:02x?}");
    assert_eq!(r[4], 0x12, "encapsulated request of the negotiated version");
    assert!(
        matches!(r[5], 0x81 | 0x82),
        "GET_DIGESTS or GET_CERTIFICATE"
    );
    (r[2], r[4..].to_vec())
}

/// The requester's answer to an encapsulated GET_DIGESTS / GET_CERTIFICATE.
fn encap_answer(set: AlgorithmSet, id: &ReqIdentity, request: &[u8]) -> Vec<u8> {
    match request[1] {
        0x81 => {
            let mut d = vec![0x12, 0x01, 0, 1];
            d.extend_from_slice(&hash(set, &[&id.chain]));
            d
        }
        0x82 => {
            let off = usize::from(u16::from_le_bytes([request[4], request[5]]));
            let len = usize::from(u16::from_le_bytes([request[6], request[7]]));
            let portion = &id.chain[off..(off + len).min(id.chain.len())];
            let rest = id.chain.len() - off - portion.len();
            let mut c = vec![0x12, 0x02, 0, 0];
            c.extend_from_slice(&(portion.len() as u16).to_le_bytes());
            c.extend_from_slice(&(rest as u16).to_le_bytes());
            c.extend_from_slice(portion);
            c
        }
        other => panic!("unexpected encapsulated request {other:#x}"),
    }
}

/// Delivers the answers to the encapsulated requests, starting with `(request_id, request)`,
/// until the responder has none left; checks every ENCAPSULATED_RESPONSE_ACK (size, code,
/// version, PayloadType, RequestID, AckRequestID, the next request GET_CERTIFICATE of
/// version 1.2). Returns the number of ACKs.
fn deliver_all(
    hs: &mut Hs,
    rsp: &mut Rsp<'_>,
    id: &ReqIdentity,
    mut request_id: u8,
    mut request: Vec<u8>,
) -> usize {
    for n in 1..64 {
        let mut m = vec![0x12, 0xEB, request_id, 0];
        m.extend_from_slice(&encap_answer(hs.set, id, &request));
        let ack = hs.keys.send(rsp, &m);
        assert!(ack.len() >= 8, "sizeof(ENCAPSULATED_RESPONSE_ACK)");
        assert_eq!(ack[..2], [0x12, 0x6B], "{ack:02x?}");
        assert_eq!(ack[4], request_id, "AckRequestID");
        match ack[3] {
            0 => {
                assert_eq!(ack[2], 0, "no RequestID without a request");
                assert_eq!(ack.len(), 8);
                return n;
            }
            1 => {
                assert_ne!(ack[2], 0, "RequestID of the next request");
                assert_eq!(ack[8..10], [0x12, 0x82], "GET_CERTIFICATE 1.2");
                request_id = ack[2];
                request = ack[8..].to_vec();
            }
            other => panic!("PayloadType {other}"),
        }
    }
    panic!("the encapsulated flow did not end");
}

fn mut_auth<'a>(
    rsp: &mut Rsp<'a>,
    verifier: &'a spdm_lite::x509::X509Verifier<'a, RustCrypto>,
    chain_buf: &'a mut [u8],
) {
    rsp.set_mut_auth(spdm_lite::mut_auth::MutAuthPolicy {
        mode: spdm_lite::mut_auth::MutAuthMode::Certificate {
            verifier,
            chain_buf,
        },
        mandatory: true,
    });
}

/// DMTF SPDM-Responder-Validator case 14.1: after KEY_EXCHANGE_RSP with MutAuthRequested =
/// encapsulated flow, GET_ENCAPSULATED_REQUEST (in the handshake) gets ENCAPSULATED_REQUEST
/// of version 1.2 carrying a GET_DIGESTS or GET_CERTIFICATE of version 1.2.
#[test]
fn case_14_1_get_encapsulated_request_gets_encapsulated_request() {
    for set in SETS {
        let f = fixture(set);
        let id = req_identity(set);
        let verifier = spdm_lite::x509::X509Verifier::new(RustCrypto, &id.root);
        let mut chain_buf = vec![0u8; 4096];
        let mut rng = TestRng(141);
        let mut rsp = responder(&f, &mut rng);
        mut_auth(&mut rsp, &verifier, &mut chain_buf);
        let flags = rsp_flags(&mut rsp);
        assert_eq!(flags & (KEY_EX | CERT | MUT_AUTH), KEY_EX | CERT | MUT_AUTH);
        let mut hs = encap_handshake(&mut rsp, &f, 1410);
        let (request_id, request) = get_encapsulated_request(&mut hs, &mut rsp);
        assert_ne!(request_id, 0);
        assert_eq!(request, [0x12, 0x81, 0, 0], "GET_DIGESTS first");
    }
}

/// DMTF SPDM-Responder-Validator case 15.3: while an encapsulated request is outstanding,
/// GET_CAPABILITIES gets ERROR RequestInFlight of version 1.2, sent in the clear as well as
/// inside the handshake. The flow is not disturbed: the requester's DIGESTS and CERTIFICATE
/// then complete it.
#[test]
fn case_15_3_other_request_during_the_encapsulated_flow_gets_request_in_flight() {
    for set in SETS {
        let f = fixture(set);
        let id = req_identity(set);
        let verifier = spdm_lite::x509::X509Verifier::new(RustCrypto, &id.root);
        let mut chain_buf = vec![0u8; 4096];
        let mut rng = TestRng(153);
        let mut rsp = responder(&f, &mut rng);
        mut_auth(&mut rsp, &verifier, &mut chain_buf);
        let mut hs = encap_handshake(&mut rsp, &f, 1530);
        let (request_id, request) = get_encapsulated_request(&mut hs, &mut rsp);
        let caps = get_capabilities(REQ_FLAGS | MUT_AUTH);
        assert_eq!(send(&mut rsp, &caps), error(REQUEST_IN_FLIGHT));
        assert_eq!(hs.keys.send(&mut rsp, &caps), error(REQUEST_IN_FLIGHT));
        assert_eq!(rsp.state_name(), "AwaitFinish");
        assert!(deliver_all(&mut hs, &mut rsp, &id, request_id, request) >= 2);
        // Once the flow is over, another request is simply out of order.
        assert_eq!(hs.keys.send(&mut rsp, &caps), error(UNEXPECTED_REQUEST));
    }
}

/// DMTF SPDM-Responder-Validator case 15.5: DELIVER_ENCAPSULATED_RESPONSE carrying a
/// CAPABILITIES instead of the DIGESTS asked for gets ERROR InvalidResponseCode of version
/// 1.2 (in the handshake). The mutual authentication has failed, so the handshake ends: its
/// keys take no more records and the connection is back to negotiated.
#[test]
fn case_15_5_wrong_encapsulated_response_gets_invalid_response_code() {
    for set in SETS {
        let f = fixture(set);
        let id = req_identity(set);
        let verifier = spdm_lite::x509::X509Verifier::new(RustCrypto, &id.root);
        let mut chain_buf = vec![0u8; 4096];
        let mut rng = TestRng(155);
        let mut rsp = responder(&f, &mut rng);
        mut_auth(&mut rsp, &verifier, &mut chain_buf);
        let mut hs = encap_handshake(&mut rsp, &f, 1550);
        let (request_id, _) = get_encapsulated_request(&mut hs, &mut rsp);
        let mut m = vec![0x12, 0xEB, request_id, 0, 0x12, 0x61, 0, 0, 0, 0, 0, 0];
        m.extend_from_slice(&0x0000_F2C6u32.to_le_bytes());
        m.extend_from_slice(&4096u32.to_le_bytes());
        m.extend_from_slice(&4096u32.to_le_bytes());
        let r = hs.keys.send(&mut rsp, &m);
        assert_eq!(r[..3], [0x12, 0x7F, INVALID_RESPONSE_CODE]);
        assert_eq!(rsp.state_name(), "Negotiated");
        let mut rec = hs.keys.seal(&[0x12, 0xEA, 0, 0]);
        let mut b = vec![0u8; BUF];
        assert_eq!(rsp.handle(&mut rec, &mut b), Err(Error::UnexpectedMessage));
    }
}

/// DMTF SPDM-Responder-Validator case 15.7: with SPDM 1.2, DELIVER_ENCAPSULATED_RESPONSE with
/// the requester's DIGESTS, then with each CERTIFICATE portion while the responder asks for
/// one, gets ENCAPSULATED_RESPONSE_ACK of version 1.2: PayloadType a request (RequestID not 0,
/// a GET_CERTIFICATE of version 1.2) or none (RequestID 0, nothing after the header), and
/// AckRequestID the RequestID delivered. The chain is accepted: the flow ends with no
/// request.
#[test]
fn case_15_7_encapsulated_response_1_2_gets_encapsulated_response_ack() {
    for set in SETS {
        let f = fixture(set);
        let id = req_identity(set);
        let verifier = spdm_lite::x509::X509Verifier::new(RustCrypto, &id.root);
        let mut chain_buf = vec![0u8; 4096];
        let mut rng = TestRng(157);
        let mut rsp = responder(&f, &mut rng);
        mut_auth(&mut rsp, &verifier, &mut chain_buf);
        let mut hs = encap_handshake(&mut rsp, &f, 1570);
        let (request_id, request) = get_encapsulated_request(&mut hs, &mut rsp);
        let acks = deliver_all(&mut hs, &mut rsp, &id, request_id, request);
        // DIGESTS, then one CERTIFICATE per portion of at most 1012 bytes.
        assert_eq!(acks, 1 + id.chain.len().div_ceil(1012));
        assert_eq!(rsp.state_name(), "AwaitFinish");
    }
}

// ---------------------------------------------------------------------------------------------
// 17, 18. CSR, SET_CERTIFICATE_RSP (a provisionable device, as `--state FILE` runs it: factory
// policy, one slot)
// ---------------------------------------------------------------------------------------------

/// The device of the test PKI's leaf key, in factory mode, optionally already holding the
/// test chain in slot 0.
struct Device {
    key: EcdsaSigningKey,
    root: Vec<u8>,
    slot0: Option<Vec<u8>>,
    writes: usize,
}

impl spdm_lite::provisioning::ProvisioningProvider for Device {
    fn algorithm(&self) -> AsymAlgo {
        spdm_lite::crypto::Signer::algorithm(&self.key)
    }
    fn device_public_key(&self, out: &mut [u8]) -> Result<usize, CryptoError> {
        self.key.public_key_sec1(out)
    }
    fn sign_prehash(&self, prehash: &[u8], out: &mut [u8]) -> Result<usize, CryptoError> {
        spdm_lite::crypto::Signer::sign_prehash(&self.key, prehash, out)
    }
    fn subject(&self) -> &[u8] {
        // CN=camera
        &[
            0x30, 0x11, 0x31, 0x0F, 0x30, 0x0D, 0x06, 0x03, 0x55, 0x04, 0x03, 0x0C, 0x06, b'c',
            b'a', b'm', b'e', b'r', b'a',
        ]
    }
    fn factory_mode(&self) -> bool {
        true
    }
    fn policy(&self) -> spdm_lite::provisioning::ProvisioningPolicy {
        spdm_lite::provisioning::ProvisioningPolicy::FACTORY
    }
    fn trusted_root(&self) -> Option<&[u8]> {
        Some(&self.root)
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
    ) -> Result<(), spdm_lite::provisioning::StorageError> {
        assert_eq!(slot, 0);
        self.writes += 1;
        self.slot0 = Some(chain.to_vec());
        Ok(())
    }
}

fn device(f: &Fixture, provisioned: bool) -> Device {
    Device {
        key: EcdsaSigningKey::from_sec1_der(f.set.asym, &read(f.set, "leaf.key.der")).unwrap(),
        root: read(f.set, "root.cert.der"),
        slot0: provisioned.then(|| f.chain.clone()),
        writes: 0,
    }
}

fn provisionable<'a>(f: &'a Fixture, rng: &'a mut TestRng, dev: &'a mut Device) -> Rsp<'a> {
    Responder::with_provisioning(
        RustCrypto,
        &f.key,
        rng,
        ResponderConfig {
            algorithms: f.set,
            cert_chain: &[],
            psk: None,
            handshake_in_the_clear: false,
            data_transfer_size: 4096,
        },
        dev,
    )
    .unwrap()
}

/// GET_CSR 1.2 with an empty RequesterInfo and OpaqueData.
const GET_CSR: [u8; 8] = [0x12, 0xED, 0, 0, 0, 0, 0, 0];

/// Checks a CSR response (size, code, version) and returns the DER CSR in it.
fn csr_of(r: &[u8]) -> Vec<u8> {
    assert!(r.len() >= 8, "sizeof(CSR)");
    assert_eq!(r[..4], [0x12, 0x6D, 0, 0], "{:02x?}", &r[..r.len().min(8)]);
    let n = usize::from(u16::from_le_bytes([r[4], r[5]]));
    assert_eq!(r.len(), 8 + n);
    r[8..].to_vec()
}

const CSR_CAP: u32 = 1 << 20;
const SET_CERT_CAP: u32 = 1 << 19;

/// DMTF SPDM-Responder-Validator case 17.1: GET_CSR after negotiation gets CSR of version 1.2
/// (no ResetRequired, so the case's second GET_CSR, after its reset step, gets one too).
#[test]
fn case_17_1_get_csr_gets_csr() {
    for set in SETS {
        let f = fixture(set);
        let mut dev = device(&f, false);
        let mut rng = TestRng(171);
        let mut rsp = provisionable(&f, &mut rng, &mut dev);
        let flags = rsp_flags(&mut rsp);
        assert_eq!(flags & (CSR_CAP | SET_CERT_CAP), CSR_CAP | SET_CERT_CAP);
        negotiate(&mut rsp, set, REQ_FLAGS);
        let first = csr_of(&send(&mut rsp, &GET_CSR));
        let second = csr_of(&send(&mut rsp, &GET_CSR));
        assert_eq!(first[..4], second[..4]);
    }
}

/// DMTF SPDM-Responder-Validator case 17.2: GET_CSR inside a DHE session gets CSR of version
/// 1.2 inside the session, twice (a device still in factory mode that holds a chain, so the
/// certificate handshake works).
#[test]
fn case_17_2_get_csr_in_a_session_gets_csr() {
    for set in SETS {
        let f = fixture(set);
        let mut dev = device(&f, true);
        let mut rng = TestRng(172);
        let mut rsp = provisionable(&f, &mut rng, &mut dev);
        let mut s = dhe_session(&mut rsp, &f, 1720);
        csr_of(&s.send(&mut rsp, &GET_CSR));
        csr_of(&s.send(&mut rsp, &GET_CSR));
        s.alive(&mut rsp);
    }
}

/// DMTF SPDM-Responder-Validator case 17.3: the CSR is a PKCS #10 CertificationRequest whose
/// signatureAlgorithm is the negotiated one (ecdsa-with-SHA256 for P-256 / SHA-256,
/// ecdsa-with-SHA384 for P-384 / SHA-384) and whose signature over certificationRequestInfo
/// verifies under the device key.
#[test]
fn case_17_3_csr_follows_pkcs10_and_verifies() {
    use der::{Decode, Encode};
    for set in SETS {
        let f = fixture(set);
        let mut dev = device(&f, false);
        let mut buf = [0u8; 97];
        let n = f.key.public_key_sec1(&mut buf).unwrap();
        let pk = &buf[..n];
        let mut rng = TestRng(173);
        let mut rsp = provisionable(&f, &mut rng, &mut dev);
        negotiate(&mut rsp, set, REQ_FLAGS);
        let csr = csr_of(&send(&mut rsp, &GET_CSR));
        let req = x509_cert::request::CertReq::from_der(&csr).unwrap();
        assert_eq!(req.info.public_key.subject_public_key.raw_bytes(), pk);
        let info = req.info.to_der().unwrap();
        let sig = req.signature.raw_bytes();
        let mut tampered = info.clone();
        *tampered.last_mut().unwrap() ^= 1;
        if set.asym == AsymAlgo::EcdsaP256 {
            use p256::ecdsa::signature::Verifier;
            assert_eq!(req.algorithm.oid.to_string(), "1.2.840.10045.4.3.2");
            let vk = p256::ecdsa::VerifyingKey::from_sec1_bytes(pk).unwrap();
            let s = p256::ecdsa::Signature::from_der(sig).unwrap();
            vk.verify(&info, &s).unwrap();
            assert!(vk.verify(&tampered, &s).is_err());
        } else {
            use p384::ecdsa::signature::Verifier;
            assert_eq!(req.algorithm.oid.to_string(), "1.2.840.10045.4.3.3");
            let vk = p384::ecdsa::VerifyingKey::from_sec1_bytes(pk).unwrap();
            let s = p384::ecdsa::Signature::from_der(sig).unwrap();
            vk.verify(&info, &s).unwrap();
            assert!(vk.verify(&tampered, &s).is_err());
        }
    }
}

/// DMTF SPDM-Responder-Validator case 18.1: after GET_CSR, SET_CERTIFICATE for slot 0 (in
/// the clear, factory mode) gets SET_CERTIFICATE_RSP of version 1.2 naming slot 0; then
/// GET_DIGESTS announces slot 0 with Hash(chain) and GET_CERTIFICATE returns the chain sent.
#[test]
fn case_18_1_set_certificate_slot_0_gets_set_certificate_rsp() {
    for set in SETS {
        let f = fixture(set);
        let mut dev = device(&f, false);
        let mut rng = TestRng(181);
        {
            let mut rsp = provisionable(&f, &mut rng, &mut dev);
            negotiate(&mut rsp, set, REQ_FLAGS);
            csr_of(&send(&mut rsp, &GET_CSR));
            assert_eq!(send(&mut rsp, &[0x12, 0x81, 0, 0]), [0x12, 0x01, 0, 0]);
            let mut m = vec![0x12, 0xEE, 0, 0];
            m.extend_from_slice(&f.chain);
            assert_eq!(send(&mut rsp, &m), [0x12, 0x6E, 0, 0]);
            let d = send(&mut rsp, &[0x12, 0x81, 0, 0]);
            assert_eq!(d[..4], [0x12, 0x01, 0, 1], "slot 0 announced");
            assert_eq!(d[4..], hash(set, &[&f.chain]));
            let mut got = Vec::new();
            loop {
                let mut gc = vec![0x12, 0x82, 0, 0];
                gc.extend_from_slice(&(got.len() as u16).to_le_bytes());
                gc.extend_from_slice(&1024u16.to_le_bytes());
                let c = send(&mut rsp, &gc);
                assert_eq!(c[..2], [0x12, 0x02]);
                let portion = usize::from(u16::from_le_bytes([c[4], c[5]]));
                got.extend_from_slice(&c[8..8 + portion]);
                if c[6..8] == [0, 0] {
                    break;
                }
            }
            assert_eq!(got, f.chain);
        }
        assert_eq!(dev.writes, 1);
        assert_eq!(dev.slot0.as_deref(), Some(&f.chain[..]));
    }
}
