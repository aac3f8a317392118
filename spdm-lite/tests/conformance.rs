//! Responder details an independent conformance run checks: SessionRequired for session-only
//! requests in the clear, the 0x10 version of ERRORs before negotiation, GET_CAPABILITIES
//! validation (a refused request leaves the connection as it was), and GET_DIGESTS /
//! GET_CERTIFICATE inside a session.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]

mod common;

use common::{HINT, TestRng, encode_chain, exchange, in_session, read, test_config};
use spdm_lite::Error;
use spdm_lite::crypto::{AlgorithmSet, EcdsaSigningKey, RustCrypto};
use spdm_lite::requester::{
    Auth, Requester, RequesterConfig, RequesterSession, SessionEvent, Status,
};
use spdm_lite::responder::Responder;
use spdm_lite::x509::X509Verifier;

struct Fixture {
    chain: Vec<u8>,
    key: EcdsaSigningKey,
    root: Vec<u8>,
}

fn fixture(set: AlgorithmSet) -> Fixture {
    let root = read(set, "root.cert.der");
    Fixture {
        chain: encode_chain(set, &read(set, "chain.der"), &root),
        key: EcdsaSigningKey::from_sec1_der(set.asym, &read(set, "leaf.key.der")).unwrap(),
        root,
    }
}

const BUF: usize = 4096;

fn responder<'a>(
    f: &'a Fixture,
    rng: &'a mut TestRng,
    set: AlgorithmSet,
) -> Responder<'a, RustCrypto, EcdsaSigningKey> {
    Responder::new(RustCrypto, &f.key, rng, test_config(set, &f.chain)).unwrap()
}

fn requester<'a>(
    rng: &'a mut TestRng,
    verifier: &'a X509Verifier<'a, RustCrypto>,
    chain_buf: &'a mut [u8],
    set: &'a [AlgorithmSet],
) -> Requester<'a, RustCrypto> {
    Requester::new(
        RustCrypto,
        rng,
        RequesterConfig {
            algorithms: set,
            handshake_in_the_clear: false,
            data_transfer_size: 1024,
        },
        Auth::Certificate {
            verifier,
            chain_buf,
            challenge: true,
        },
    )
    .unwrap()
}

fn drive(
    req: &mut Requester<'_, RustCrypto>,
    rsp: &mut Responder<'_, RustCrypto, EcdsaSigningKey>,
) {
    for _ in 0..64 {
        if exchange(req, rsp).unwrap() == Status::Established {
            return;
        }
    }
    panic!("handshake did not finish");
}

/// Sends one plain SPDM request, returns the MCTP response.
fn plain(rsp: &mut Responder<'_, RustCrypto, EcdsaSigningKey>, spdm: &[u8]) -> Vec<u8> {
    let mut a = vec![0x05];
    a.extend_from_slice(spdm);
    let mut b = [0u8; BUF];
    let m = rsp.handle(&mut a, &mut b).unwrap();
    b[..m].to_vec()
}

fn error(version: u8, code: u8, data: u8) -> Vec<u8> {
    vec![0x05, version, 0x7F, code, data]
}

/// GET_CAPABILITIES 1.2 with these flags and sizes.
fn get_caps(flags: u32, dts: u32, max: u32) -> Vec<u8> {
    let mut m = vec![0x12, 0xE1, 0, 0, 0, 0, 0, 0];
    m.extend_from_slice(&flags.to_le_bytes());
    m.extend_from_slice(&dts.to_le_bytes());
    m.extend_from_slice(&max.to_le_bytes());
    m
}

const CERT: u32 = 1 << 1;
const CHAL: u32 = 1 << 2;
const ENCRYPT: u32 = 1 << 6;
const MAC: u32 = 1 << 7;
const KEY_EX: u32 = 1 << 9;
const PSK_CAP: u32 = 1 << 10;
const HBEAT: u32 = 1 << 13;
const KEY_UPD: u32 = 1 << 14;
const CHUNK: u32 = 1 << 17;
const GOOD: u32 = CERT | CHAL | ENCRYPT | MAC | KEY_EX | HBEAT | KEY_UPD;

/// FINISH, PSK_FINISH, HEARTBEAT, KEY_UPDATE and END_SESSION in the clear (padded to valid
/// lengths for set A where they have a body).
fn session_only_requests() -> Vec<Vec<u8>> {
    let mut finish = vec![0x12, 0xE5, 0, 0];
    finish.extend_from_slice(&[0u8; 32]);
    let mut psk_finish = vec![0x12, 0xE7, 0, 0];
    psk_finish.extend_from_slice(&[0u8; 32]);
    vec![
        finish,
        psk_finish,
        vec![0x12, 0xE8, 0, 0],
        vec![0x12, 0xE9, 1, 1],
        vec![0x12, 0xEC, 0, 0],
    ]
}

#[test]
fn session_only_requests_in_the_clear_get_session_required_and_change_nothing() {
    let set = AlgorithmSet::SET_A;
    let f = fixture(set);
    let verifier = X509Verifier::new(RustCrypto, &f.root);
    let mut rrng = TestRng(0x0123_4567_89ab_cdef);
    let mut qrng = TestRng(0xfedc_ba98_7654_3211);
    let mut chain_buf = vec![0u8; 4096];
    let sets = [set];
    let mut rsp = responder(&f, &mut rrng, set);
    let mut req = requester(&mut qrng, &verifier, &mut chain_buf, &sets);
    // VERSION only: nothing negotiated, so these are out of order (version 1.0).
    let _ = exchange(&mut req, &mut rsp).unwrap();
    for m in session_only_requests() {
        assert_eq!(plain(&mut rsp, &m), error(0x10, 0x04, 0), "{:02x}", m[1]);
    }
    assert_eq!(rsp.state_name(), "AwaitCapabilities");
    // CAPABILITIES and ALGORITHMS: now they belong inside a session.
    let _ = exchange(&mut req, &mut rsp).unwrap();
    let _ = exchange(&mut req, &mut rsp).unwrap();
    for m in session_only_requests() {
        assert_eq!(plain(&mut rsp, &m), error(0x12, 0x0B, 0), "{:02x}", m[1]);
    }
    assert_eq!(rsp.state_name(), "Negotiated");
    // Nothing changed: the handshake (with CHALLENGE, whose signature covers the transcript)
    // completes after the refusals.
    drive(&mut req, &mut rsp);
    let mut s = req.into_session().unwrap();
    let seqs = rsp.session().unwrap().sequence_numbers();
    // Established: still SessionRequired in the clear, the session keys do not move.
    for m in session_only_requests() {
        assert_eq!(plain(&mut rsp, &m), error(0x12, 0x0B, 0), "{:02x}", m[1]);
    }
    assert_eq!(rsp.state_name(), "Established");
    assert_eq!(rsp.session().unwrap().sequence_numbers(), seqs);
    let mut a = [0u8; BUF];
    let mut b = [0u8; BUF];
    let n = s.write_heartbeat(&mut a).unwrap();
    let m = rsp.handle(&mut a[..n], &mut b).unwrap();
    assert_eq!(
        s.handle_response(&mut b[..m]),
        Ok(SessionEvent::HeartbeatAck)
    );
}

#[test]
fn errors_before_version_negotiation_carry_version_1_0() {
    let set = AlgorithmSet::SET_A;
    let f = fixture(set);
    let mut rrng = TestRng(7);
    let mut rsp = responder(&f, &mut rrng, set);
    // Before GET_VERSION.
    assert_eq!(
        plain(&mut rsp, &get_caps(GOOD, 1024, 1024)),
        error(0x10, 0x04, 0)
    );
    plain(&mut rsp, &[0x10, 0x84, 0, 0]);
    // GET_CAPABILITIES of another version: VersionMismatch, with SPDMVersion 0x10.
    let mut c = get_caps(GOOD, 1024, 1024);
    for v in [0x10, 0x11, 0x13] {
        c[0] = v;
        assert_eq!(plain(&mut rsp, &c), error(0x10, 0x41, 0), "version {v:#x}");
    }
    assert_eq!(rsp.state_name(), "AwaitCapabilities");
    // Once CAPABILITIES went out, 1.2 is the version of every answer.
    assert_eq!(
        plain(&mut rsp, &get_caps(GOOD, 1024, 1024))[1..3],
        [0x12, 0x61]
    );
    assert_eq!(plain(&mut rsp, &[0x11, 0x81, 0, 0]), error(0x12, 0x41, 0));
}

#[test]
fn invalid_get_capabilities_is_refused_and_a_corrected_one_then_succeeds() {
    let bad: &[(&str, u32, u32, u32)] = &[
        (
            "KEY_EX without ENCRYPT or MAC",
            CERT | CHAL | KEY_EX,
            1024,
            1024,
        ),
        ("PSK without ENCRYPT or MAC", PSK_CAP, 1024, 1024),
        (
            "ENCRYPT without KEY_EX or PSK",
            CERT | CHAL | ENCRYPT,
            1024,
            1024,
        ),
        ("MAC without KEY_EX or PSK", CERT | CHAL | MAC, 1024, 1024),
        (
            "HBEAT without KEY_EX or PSK",
            CERT | CHAL | HBEAT,
            1024,
            1024,
        ),
        ("PSK_CAP = 11b", ENCRYPT | MAC | (3 << 10), 1024, 1024),
        (
            "DataTransferSize != MaxSPDMmsgSize without CHUNK",
            GOOD,
            1024,
            2048,
        ),
        ("DataTransferSize below 42", GOOD, 41, 41),
        (
            "DataTransferSize below 42 with CHUNK",
            GOOD | CHUNK,
            41,
            4096,
        ),
        (
            "DataTransferSize above MaxSPDMmsgSize",
            GOOD | CHUNK,
            2048,
            1024,
        ),
    ];
    for set in [AlgorithmSet::SET_A, AlgorithmSet::SET_B] {
        let f = fixture(set);
        let verifier = X509Verifier::new(RustCrypto, &f.root);
        let mut rrng = TestRng(0x1111_2222_3333_4445);
        let mut qrng = TestRng(0x5555_6666_7777_8889);
        let mut chain_buf = vec![0u8; 4096];
        let sets = [set];
        let mut rsp = responder(&f, &mut rrng, set);
        let mut req = requester(&mut qrng, &verifier, &mut chain_buf, &sets);
        let _ = exchange(&mut req, &mut rsp).unwrap(); // VERSION
        for &(what, flags, dts, max) in bad {
            // Refused in 1.2, the version the request carries (libspdm sets the connection
            // version before checking the flags).
            assert_eq!(
                plain(&mut rsp, &get_caps(flags, dts, max)),
                error(0x12, 0x01, 0),
                "{what}"
            );
            assert_eq!(rsp.state_name(), "AwaitCapabilities", "{what}");
        }
        // The requester's own (correct) GET_CAPABILITIES is accepted and the handshake
        // completes: the refused requests left no trace in the VCA transcript, which the
        // CHALLENGE_AUTH and KEY_EXCHANGE_RSP signatures cover.
        drive(&mut req, &mut rsp);
        assert!(rsp.session().is_some());
    }
}

#[test]
fn chunk_cap_allows_a_data_transfer_size_below_the_max_message_size() {
    let set = AlgorithmSet::SET_A;
    let f = fixture(set);
    let mut rrng = TestRng(9);
    let mut rsp = responder(&f, &mut rrng, set);
    plain(&mut rsp, &[0x10, 0x84, 0, 0]);
    let r = plain(&mut rsp, &get_caps(GOOD | CHUNK, 1024, 4096));
    assert_eq!(r[1..3], [0x12, 0x61]);
    assert_eq!(rsp.state_name(), "AwaitAlgorithms");
    // PSK only (no certificates) with MAC is a legal requester too.
    let mut rrng = TestRng(10);
    let mut rsp = responder(&f, &mut rrng, set);
    plain(&mut rsp, &[0x10, 0x84, 0, 0]);
    let r = plain(&mut rsp, &get_caps(MAC | PSK_CAP, 42, 42));
    assert_eq!(r[1..3], [0x12, 0x61]);
}

fn established<'a>(
    f: &'a Fixture,
    rrng: &'a mut TestRng,
    qrng: &'a mut TestRng,
    verifier: &'a X509Verifier<'a, RustCrypto>,
    chain_buf: &'a mut [u8],
    sets: &'a [AlgorithmSet],
) -> (
    Responder<'a, RustCrypto, EcdsaSigningKey>,
    RequesterSession<RustCrypto>,
) {
    let mut rsp = responder(f, rrng, sets[0]);
    let mut req = requester(qrng, verifier, chain_buf, sets);
    drive(&mut req, &mut rsp);
    (rsp, req.into_session().unwrap())
}

#[test]
fn get_digests_and_get_certificate_work_inside_a_session() {
    for set in [AlgorithmSet::SET_A, AlgorithmSet::SET_B] {
        let f = fixture(set);
        let verifier = X509Verifier::new(RustCrypto, &f.root);
        let (mut rrng, mut qrng) = (TestRng(31), TestRng(37));
        let mut chain_buf = vec![0u8; 4096];
        let sets = [set];
        let (mut rsp, mut s) =
            established(&f, &mut rrng, &mut qrng, &verifier, &mut chain_buf, &sets);
        let h = set.hash.len();
        // DIGESTS: slot 0 only, the hash of the SPDM chain.
        let d = in_session(&mut s, &mut rsp, &[0x12, 0x81, 0, 0]).unwrap();
        assert_eq!(d[..4], [0x12, 0x01, 0, 1]);
        let mut hc = spdm_lite::crypto::CryptoProvider::hash(&RustCrypto, set.hash).unwrap();
        spdm_lite::crypto::HashCtx::update(&mut hc, &f.chain);
        assert_eq!(&d[4..], spdm_lite::crypto::HashCtx::finish(hc).as_bytes());
        assert_eq!(d.len(), 4 + h);
        // The chain in portions of at most 512 bytes, reassembled.
        let mut got = Vec::new();
        loop {
            let off = got.len() as u16;
            let mut gc = vec![0x12, 0x82, 0, 0];
            gc.extend_from_slice(&off.to_le_bytes());
            gc.extend_from_slice(&512u16.to_le_bytes());
            let c = in_session(&mut s, &mut rsp, &gc).unwrap();
            assert_eq!(c[..2], [0x12, 0x02]);
            let portion = u16::from_le_bytes([c[4], c[5]]) as usize;
            let remainder = u16::from_le_bytes([c[6], c[7]]) as usize;
            assert!(portion > 0 && portion <= 512);
            got.extend_from_slice(&c[8..8 + portion]);
            if remainder == 0 {
                break;
            }
            assert_eq!(got.len() + remainder, f.chain.len());
        }
        assert_eq!(got, f.chain);
        // A bad slot inside the session: InvalidRequest, answered inside the session.
        let mut gc = vec![0x12, 0x82, 1, 0];
        gc.extend_from_slice(&[0, 0, 0, 2]);
        assert_eq!(
            in_session(&mut s, &mut rsp, &gc),
            Err(Error::PeerError(0x01))
        );
        // The session goes on: heartbeat, then END_SESSION.
        let mut a = [0u8; BUF];
        let mut b = [0u8; BUF];
        let n = s.write_heartbeat(&mut a).unwrap();
        let m = rsp.handle(&mut a[..n], &mut b).unwrap();
        assert_eq!(
            s.handle_response(&mut b[..m]),
            Ok(SessionEvent::HeartbeatAck)
        );
        let n = s.write_end_session(&mut a).unwrap();
        let m = rsp.handle(&mut a[..n], &mut b).unwrap();
        assert_eq!(s.handle_response(&mut b[..m]), Ok(SessionEvent::Ended));
    }
}

#[test]
fn raw_session_requests_are_kept_apart_from_the_typed_ones() {
    let set = AlgorithmSet::SET_A;
    let f = fixture(set);
    let verifier = X509Verifier::new(RustCrypto, &f.root);
    let (mut rrng, mut qrng) = (TestRng(41), TestRng(43));
    let mut chain_buf = vec![0u8; 4096];
    let sets = [set];
    let (mut rsp, mut s) = established(&f, &mut rrng, &mut qrng, &verifier, &mut chain_buf, &sets);
    in_session(&mut s, &mut rsp, &[0x12, 0x81, 0, 0]).unwrap();
    // The requester refuses to smuggle session-changing requests through the raw writer.
    let mut a = [0u8; BUF];
    assert_eq!(
        s.write_spdm_request(&[0x12, 0xE8, 0, 0], &mut a),
        Err(Error::UnexpectedMessage)
    );
    assert_eq!(
        s.write_spdm_request(&[0x11, 0x81, 0, 0], &mut a),
        Err(Error::Message(spdm_lite::InvalidMessage::InvalidField))
    );
    // A raw response is not a typed one and vice versa.
    let n = s.write_heartbeat(&mut a).unwrap();
    let mut b = [0u8; BUF];
    let m = rsp.handle(&mut a[..n], &mut b).unwrap();
    assert_eq!(
        s.handle_spdm_response(&mut b[..m]),
        Err(Error::UnexpectedMessage)
    );
    assert_eq!(
        s.handle_response(&mut b[..m]),
        Ok(SessionEvent::HeartbeatAck)
    );
}

#[test]
fn an_application_message_of_an_unknown_mctp_type_gets_an_error_record() {
    for set in [AlgorithmSet::SET_A, AlgorithmSet::SET_B] {
        let f = fixture(set);
        let verifier = X509Verifier::new(RustCrypto, &f.root);
        let (mut rrng, mut qrng) = (TestRng(51), TestRng(53));
        let mut chain_buf = vec![0u8; 4096];
        let sets = [set];
        let (mut rsp, mut s) =
            established(&f, &mut rrng, &mut qrng, &verifier, &mut chain_buf, &sets);
        let mut a = [0u8; BUF];
        let mut b = [0u8; BUF];
        // A PLDM GetTID (MCTP type 0x01) inside the session, as spdm-emu's requester sends.
        let n = s
            .write_app_message(0x01, &[0x80, 0x02, 0x02], &mut a)
            .unwrap();
        let m = rsp.handle(&mut a[..n], &mut b).unwrap();
        // Answered inside the session: SPDM ERROR UnsupportedRequest.
        let (ty, msg) = s.handle_app_response(&mut b[..m]).unwrap();
        assert_eq!((ty, msg), (0x05, &[0x12, 0x7F, 0x07, 0x00][..]));
        // Both sequence numbers moved by one, and the session goes on.
        assert_eq!(rsp.session().unwrap().sequence_numbers(), (1, 1));
        let n = s.write_heartbeat(&mut a).unwrap();
        let m = rsp.handle(&mut a[..n], &mut b).unwrap();
        assert_eq!(
            s.handle_response(&mut b[..m]),
            Ok(SessionEvent::HeartbeatAck)
        );
        // SPDM goes through its own writer.
        assert_eq!(
            s.write_app_message(0x05, &[0x12, 0xE8, 0, 0], &mut a),
            Err(Error::UnexpectedMessage)
        );
        // A forged record of that type still gets no answer and changes nothing.
        let n = s
            .write_app_message(0x01, &[0x80, 0x02, 0x02], &mut a)
            .unwrap();
        a[n - 1] ^= 1;
        assert_eq!(rsp.handle(&mut a[..n], &mut b), Err(Error::Authentication));
        assert_eq!(rsp.session().unwrap().sequence_numbers(), (2, 2));
    }
}

#[test]
fn heartbeat_period_is_offered_kept_by_the_requester_and_enforced_by_the_responder() {
    for set in [AlgorithmSet::SET_A, AlgorithmSet::SET_B] {
        let f = fixture(set);
        let verifier = X509Verifier::new(RustCrypto, &f.root);
        let (mut rrng, mut qrng) = (TestRng(61), TestRng(67));
        let mut chain_buf = vec![0u8; 4096];
        let sets = [set];
        let mut rsp = responder(&f, &mut rrng, set);
        rsp.set_heartbeat_period(2);
        rsp.tick(10_000);
        let mut req = requester(&mut qrng, &verifier, &mut chain_buf, &sets);
        drive(&mut req, &mut rsp);
        let mut s = req.into_session().unwrap();
        assert_eq!(rsp.session().unwrap().heartbeat_period(), 2);
        assert_eq!(s.heartbeat_period(), 2);
        // Requester: due after half the period without a request.
        s.set_time(10_000);
        assert!(!s.heartbeat_due());
        s.set_time(10_999);
        assert!(!s.heartbeat_due());
        s.set_time(11_000);
        assert!(s.heartbeat_due());
        let mut a = [0u8; BUF];
        let mut b = [0u8; BUF];
        let n = s.write_heartbeat(&mut a).unwrap();
        assert!(
            !s.heartbeat_due(),
            "not due while the HEARTBEAT is outstanding"
        );
        // Responder: the record at 11 s restarts its window (2 x 2 s).
        assert!(!rsp.tick(11_000));
        let m = rsp.handle(&mut a[..n], &mut b).unwrap();
        assert_eq!(
            s.handle_response(&mut b[..m]),
            Ok(SessionEvent::HeartbeatAck)
        );
        assert!(!s.heartbeat_due());
        // 15 s is exactly 2 x 2 s after the HEARTBEAT: still alive (a window counted from
        // establishment at 10 s would have closed at 14 s).
        assert!(!rsp.tick(15_000));
        assert!(rsp.session().is_some());
        // Past it: the session ends and its keys go; the connection stays negotiated.
        assert!(rsp.tick(15_001));
        assert!(rsp.session().is_none());
        assert_eq!(rsp.state_name(), "Negotiated");
        assert!(!rsp.tick(20_000));
        // A requester whose clock runs a millisecond behind still writes a HEARTBEAT; its
        // records get no answer (the responder holds no session keys any more).
        s.set_time(15_000);
        assert!(!s.is_ended());
        assert!(s.heartbeat_due());
        let n = s.write_heartbeat(&mut a).unwrap();
        assert_eq!(
            rsp.handle(&mut a[..n], &mut b),
            Err(Error::UnexpectedMessage)
        );
        // On its own clock the requester ends the session too, twice the period after its
        // last request (the HEARTBEAT at 15 s, never answered): its secrets go, it writes
        // nothing more.
        s.set_time(19_000);
        assert!(!s.is_ended());
        assert!(s.session().is_some());
        s.set_time(19_001);
        assert!(s.is_ended());
        assert!(s.session().is_none());
        assert_eq!(s.heartbeat_period(), 0);
        assert!(!s.heartbeat_due());
        assert_eq!(s.write_heartbeat(&mut a), Err(Error::UnexpectedMessage));
        assert_eq!(s.write_end_session(&mut a), Err(Error::UnexpectedMessage));
        // A plain request still works on the negotiated connection.
        assert_eq!(plain(&mut rsp, &[0x12, 0x81, 0, 0])[1..3], [0x12, 0x01]);
    }
}

#[test]
fn without_a_heartbeat_period_the_session_never_times_out() {
    let set = AlgorithmSet::SET_A;
    let f = fixture(set);
    let verifier = X509Verifier::new(RustCrypto, &f.root);
    let (mut rrng, mut qrng) = (TestRng(71), TestRng(73));
    let mut chain_buf = vec![0u8; 4096];
    let sets = [set];
    let (mut rsp, mut s) = established(&f, &mut rrng, &mut qrng, &verifier, &mut chain_buf, &sets);
    assert_eq!(s.heartbeat_period(), 0);
    s.set_time(0);
    s.set_time(u64::MAX);
    assert!(!s.heartbeat_due());
    assert!(!s.is_ended());
    assert!(!rsp.tick(0));
    assert!(!rsp.tick(u64::MAX));
    assert!(rsp.session().is_some());
}

/// NEGOTIATE_ALGORITHMS 1.2 for `set` with OtherParamsSupport `other` and the AlgStructs
/// `structs` (type, supported), in order.
fn negotiate(set: AlgorithmSet, other: u8, structs: &[(u8, u16)]) -> Vec<u8> {
    let len = 32 + 4 * structs.len() as u16;
    let mut m = vec![0x12, 0xE3, structs.len() as u8, 0];
    m.extend_from_slice(&len.to_le_bytes());
    m.extend_from_slice(&[0x01, other]); // DMTF measurements, opaque data format
    m.extend_from_slice(&set.asym.bit().to_le_bytes());
    m.extend_from_slice(&set.hash.bit().to_le_bytes());
    m.extend_from_slice(&[0u8; 16]); // reserved, no extended algorithms
    for &(t, bits) in structs {
        m.extend_from_slice(&[t, 0x20]);
        m.extend_from_slice(&bits.to_le_bytes());
    }
    m
}

/// A well-formed KEY_EXCHANGE 1.2 for set A with an empty OpaqueData.
fn key_exchange_a() -> Vec<u8> {
    let mut m = vec![0x12, 0xE4, 0, 0, 0x34, 0x12, 0, 0];
    m.extend_from_slice(&[0x5A; 32]); // RandomData
    m.extend_from_slice(&[0x11; 64]); // ExchangeData (P-256 point, not checked first)
    m.extend_from_slice(&[0, 0]); // OpaqueDataLength
    m
}

/// DSP0274 1.2 lets a requester that cannot open a session (neither KEY_EX_CAP nor PSK_CAP)
/// leave the DHE, AEAD and KeySchedule AlgStructs and the opaque data format out, as
/// libspdm's requester does when it has no session algorithms configured: such a requester
/// gets ALGORITHMS with only the AlgStructs it sent and can authenticate the sensor
/// (DIGESTS, CHALLENGE_AUTH); KEY_EXCHANGE and PSK_EXCHANGE then get UnsupportedRequest and
/// change nothing. A requester with KEY_EX_CAP still has to offer the session algorithms.
#[test]
fn a_requester_without_sessions_may_leave_the_session_algorithms_out() {
    let set = AlgorithmSet::SET_A;
    let f = fixture(set);
    let mut rng = TestRng(7);
    let mut rsp = responder(&f, &mut rng, set);
    let _ = plain(&mut rsp, &[0x10, 0x84, 0, 0]);
    assert_eq!(plain(&mut rsp, &get_caps(CERT | CHAL, 1024, 1024))[2], 0x61);
    let algorithms = plain(&mut rsp, &negotiate(set, 0, &[]));
    assert_eq!(
        algorithms[1..5],
        [0x12, 0x63, 0, 0],
        "ALGORITHMS, no AlgStruct"
    );
    assert_eq!(algorithms.len(), 1 + 36, "{algorithms:02x?}");
    assert_eq!(
        u16::from_le_bytes([algorithms[5], algorithms[6]]),
        36,
        "Length"
    );
    assert_eq!(algorithms[8], 0, "no opaque data format selected");
    assert_eq!(
        algorithms[13..17],
        set.asym.bit().to_le_bytes(),
        "BaseAsymSel"
    );
    assert_eq!(
        algorithms[17..21],
        set.hash.bit().to_le_bytes(),
        "BaseHashSel"
    );

    let digests = plain(&mut rsp, &[0x12, 0x81, 0, 0]);
    assert_eq!(digests[1..5], [0x12, 0x01, 0, 1], "DIGESTS of slot 0");
    let state = rsp.state_name();
    let mut psk_exchange = vec![0x12, 0xE6, 0, 0, 0x34, 0x12, 4, 0, 32, 0, 0, 0];
    psk_exchange.extend_from_slice(HINT);
    psk_exchange.extend_from_slice(&[0x5A; 32]);
    for (req, code) in [(key_exchange_a(), 0xE4), (psk_exchange, 0xE6)] {
        assert_eq!(plain(&mut rsp, &req), error(0x12, 0x07, code));
        assert_eq!(rsp.state_name(), state);
    }
    // Nothing moved: the same DIGESTS, then a CHALLENGE_AUTH.
    assert_eq!(plain(&mut rsp, &[0x12, 0x81, 0, 0]), digests);
    let mut challenge = vec![0x12, 0x83, 0, 0];
    challenge.extend_from_slice(&[0x3C; 32]);
    assert_eq!(plain(&mut rsp, &challenge)[1..3], [0x12, 0x03]);

    // Only the AlgStructs asked for come back, one-hot or 0.
    let mut rng = TestRng(8);
    let mut rsp = responder(&f, &mut rng, set);
    let _ = plain(&mut rsp, &[0x10, 0x84, 0, 0]);
    let _ = plain(&mut rsp, &get_caps(CERT | CHAL, 1024, 1024));
    let dhe = set.dhe.bit();
    let algorithms = plain(
        &mut rsp,
        &negotiate(set, 0x02, &[(2, dhe | 0x8000), (5, 1)]),
    );
    assert_eq!(algorithms[3], 2, "two AlgStructs");
    assert_eq!(algorithms[8], 0x02, "opaque data format 1");
    assert_eq!(
        algorithms[37..],
        [2, 0x20, dhe as u8, (dhe >> 8) as u8, 5, 0x20, 1, 0]
    );

    // With KEY_EX_CAP the session algorithms are required (and nothing moves).
    for structs in [
        &[(3, set.aead.bit()), (5, 1)][..],
        &[(2, dhe), (3, set.aead.bit())],
    ] {
        let mut rng = TestRng(9);
        let mut rsp = responder(&f, &mut rng, set);
        let _ = plain(&mut rsp, &[0x10, 0x84, 0, 0]);
        let _ = plain(&mut rsp, &get_caps(GOOD, 1024, 1024));
        assert_eq!(
            plain(&mut rsp, &negotiate(set, 0x02, structs)),
            error(0x12, 0x01, 0)
        );
        assert_eq!(rsp.state_name(), "AwaitAlgorithms");
        let all = [(2, dhe), (3, set.aead.bit()), (5, 1)];
        assert_eq!(plain(&mut rsp, &negotiate(set, 0x02, &all))[2], 0x63);
    }
}
