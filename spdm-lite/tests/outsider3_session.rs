//! Third outsider round against an established spdm-lite session, through the public API only.
//!
//! Every run is deterministic (fixed random sources), so an attacked run and an unattacked
//! twin derive the same keys: after an attack the two must produce byte-identical records and
//! report the same sequence numbers, key generation and heartbeat outcome. The attacks: records
//! with a bad tag, a wrong session id, old and future sequence numbers, truncated or extended,
//! sealed under the other direction's key; forged KEY_UPDATE ACKs at the requester; replays of
//! every earlier record after END_SESSION and in the next session; handshake requests inside
//! and beside an established session; plain requests and forged records between KEY_EXCHANGE
//! and FINISH; and `Debug` output of every public value that holds a secret.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use spdm_lite::Error;
use spdm_lite::cert::encode_spdm_chain;
use spdm_lite::crypto::{AlgorithmSet, AsymAlgo, EcdsaSigningKey, RandomSource, RustCrypto};
use spdm_lite::msgs::key_update::KeyUpdateOp;
use spdm_lite::requester::{Auth, Requester, RequesterConfig, RequesterSession, SessionEvent};
use spdm_lite::responder::{PskConfig, Responder, ResponderConfig};
use spdm_lite::x509::X509Verifier;

const CHAIN: &[u8] = include_bytes!("pki/p256/chain.der");
const ROOT: &[u8] = include_bytes!("pki/p256/root.cert.der");
const KEY: &[u8] = include_bytes!("pki/p256/leaf.key.der");
const PSK: &[u8] = &[
    0xD3, 0x9A, 0x41, 0xF7, 0x0E, 0xB2, 0x6C, 0x95, 0x2F, 0xE8, 0x73, 0x1A, 0xC4, 0x58, 0xAD, 0x07,
    0x91, 0x3E, 0xF2, 0x64, 0xBB, 0x0D, 0x86, 0x29, 0x5F, 0xCA, 0x17, 0xE3, 0x7A, 0x44, 0x9C, 0x02,
];
const HINT: &[u8] = b"cam0";
const HB_SECONDS: u8 = 2;

struct XorShift(u64);

impl RandomSource for XorShift {
    fn fill(&mut self, out: &mut [u8]) -> Result<(), spdm_lite::CryptoError> {
        for b in out {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            *b = self.0 as u8;
        }
        Ok(())
    }
}

struct Pki {
    chain: Vec<u8>,
    key: EcdsaSigningKey,
}

fn pki() -> Pki {
    let mut chain = vec![0u8; CHAIN.len() + 128];
    let n = encode_spdm_chain(
        &RustCrypto,
        AlgorithmSet::SET_A.hash,
        ROOT,
        CHAIN,
        &mut chain,
    )
    .unwrap();
    chain.truncate(n);
    Pki {
        chain,
        key: EcdsaSigningKey::from_sec1_der(AsymAlgo::EcdsaP256, KEY).unwrap(),
    }
}

type Rsp<'a> = Responder<'a, RustCrypto, EcdsaSigningKey>;

fn responder<'a>(p: &'a Pki, rng: &'a mut XorShift) -> Rsp<'a> {
    let mut r = Responder::new(
        RustCrypto,
        &p.key,
        rng,
        ResponderConfig {
            algorithms: AlgorithmSet::SET_A,
            cert_chain: &p.chain,
            psk: Some(PskConfig {
                hint: HINT,
                key: PSK,
                with_context: true,
            }),
            handshake_in_the_clear: false,
            data_transfer_size: 1024,
        },
    )
    .unwrap();
    r.set_heartbeat_period(HB_SECONDS);
    r
}

/// Runs a handshake (certificate or PSK) from GET_VERSION and returns the requester's session.
fn establish(rsp: &mut Rsp<'_>, seed: u64, psk: bool) -> RequesterSession<RustCrypto> {
    let mut rng = XorShift(seed);
    let verifier = X509Verifier::new(RustCrypto, ROOT);
    let mut chain_buf = vec![0u8; 4096];
    let auth = if psk {
        Auth::Psk {
            hint: HINT,
            key: PSK,
        }
    } else {
        Auth::Certificate {
            verifier: &verifier,
            chain_buf: &mut chain_buf,
            challenge: false,
        }
    };
    let mut req = Requester::new(
        RustCrypto,
        &mut rng,
        RequesterConfig {
            algorithms: &[AlgorithmSet::SET_A],
            handshake_in_the_clear: false,
            data_transfer_size: 1024,
        },
        auth,
    )
    .unwrap();
    let mut a = vec![0u8; 4096];
    let mut b = vec![0u8; 4096];
    for _ in 0..32 {
        let n = req.write_request(&mut a).unwrap();
        let m = rsp.handle(&mut a[..n], &mut b).unwrap();
        if req.handle_response(&mut b[..m]).unwrap() == spdm_lite::requester::Status::Established {
            return req.into_session().unwrap();
        }
    }
    panic!("handshake did not finish");
}

/// One request record from the requester and the responder's answer to it.
struct Exchange {
    request: Vec<u8>,
    response: Vec<u8>,
}

fn heartbeat(rsp: &mut Rsp<'_>, s: &mut RequesterSession<RustCrypto>) -> Exchange {
    let mut a = vec![0u8; 1024];
    let n = s.write_heartbeat(&mut a).unwrap();
    let request = a[..n].to_vec();
    let mut b = vec![0u8; 1024];
    let m = rsp.handle(&mut a[..n], &mut b).unwrap();
    let response = b[..m].to_vec();
    assert_eq!(
        s.handle_response(&mut b[..m]).unwrap(),
        SessionEvent::HeartbeatAck
    );
    Exchange { request, response }
}

fn key_update(
    rsp: &mut Rsp<'_>,
    s: &mut RequesterSession<RustCrypto>,
    op: KeyUpdateOp,
) -> Exchange {
    let mut a = vec![0u8; 1024];
    let n = s.write_key_update(op, &mut a).unwrap();
    let request = a[..n].to_vec();
    let mut b = vec![0u8; 1024];
    let m = rsp.handle(&mut a[..n], &mut b).unwrap();
    let response = b[..m].to_vec();
    assert_eq!(
        s.handle_response(&mut b[..m]).unwrap(),
        SessionEvent::KeyUpdated(op)
    );
    Exchange { request, response }
}

/// What a session's observer can see of the responder.
/// Session id, sequence numbers and key generation.
type View = Option<(u32, (u64, u64), u32)>;

fn rsp_view(rsp: &Rsp<'_>) -> (&'static str, View) {
    (
        rsp.state_name(),
        rsp.session()
            .map(|s| (s.id(), s.sequence_numbers(), s.key_generation())),
    )
}

fn req_view(s: &RequesterSession<RustCrypto>) -> View {
    s.session()
        .map(|s| (s.id(), s.sequence_numbers(), s.key_generation()))
}

/// Every mangled form of a genuine record a keyless attacker can build from it.
fn mangled(rec: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut v = Vec::new();
    let n = rec.len();
    for (what, i) in [
        ("tag", n - 1),
        ("tag first", n - 16),
        ("ciphertext", 9),
        ("length field", 7),
        ("sequence", 5),
        ("session id", 1),
        ("session id high", 4),
    ] {
        let mut r = rec.to_vec();
        r[i] ^= 0x01;
        v.push((what.to_string(), r));
    }
    for cut in [1usize, 16, n - 9, n - 5, n - 1] {
        v.push((format!("truncated by {cut}"), rec[..n - cut].to_vec()));
    }
    let mut r = rec.to_vec();
    r.push(0);
    v.push(("one byte extra".into(), r));
    let mut r = rec.to_vec();
    r.extend_from_slice(&[0u8; 16]);
    let len = u16::from_le_bytes([r[7], r[8]]) + 16;
    r[7..9].copy_from_slice(&len.to_le_bytes());
    v.push(("extended with its length".into(), r));
    let mut r = rec.to_vec();
    r[0] = 0x05;
    v.push(("as a plain SPDM message".into(), r));
    v.push(("empty".into(), Vec::new()));
    v
}

/// Feeds `rec` to the responder: a record must be refused with nothing to send; the same
/// bytes as a plain message (MCTP type 0x05) get a plain ERROR, nothing else.
fn refused(rsp: &mut Rsp<'_>, rec: &[u8], what: &str) {
    let mut rec = rec.to_vec();
    let mut out = [0xA5u8; 1024];
    match rsp.handle(&mut rec, &mut out) {
        Err(_) => {}
        Ok(n) => {
            assert!(
                n >= 3 && out[0] == 0x05 && out[2] == 0x7F,
                "{what}: answered {:02x?}",
                &out[..n]
            );
        }
    }
}

#[test]
fn forged_request_records_move_nothing_and_the_twin_runs_stay_byte_identical() {
    for psk in [false, true] {
        let p = pki();
        let (mut g1, mut g2) = (XorShift(0x1111), XorShift(0x1111));
        let mut r1 = responder(&p, &mut g1);
        let mut r2 = responder(&p, &mut g2);
        let mut s1 = establish(&mut r1, 0x2222, psk);
        let mut s2 = establish(&mut r2, 0x2222, psk);
        let first = heartbeat(&mut r1, &mut s1);
        let twin_first = heartbeat(&mut r2, &mut s2);
        assert_eq!(first.request, twin_first.request, "deterministic twins");

        // The twin runs one exchange ahead: its next record is a future one for run 1.
        let ahead = heartbeat(&mut r2, &mut s2);
        let mut a = vec![0u8; 1024];
        let mut future = Vec::new();
        {
            let n = s2.write_heartbeat(&mut a).unwrap();
            future.push(a[..n].to_vec());
        }

        // Attacks on run 1's responder: the earlier records (old sequence numbers), the
        // earlier response sealed under the response key (wrong direction, and for its
        // sequence number the current one), the twin's future record and its mangled forms,
        // and mangled forms of the earlier request.
        let view = rsp_view(&r1);
        let mut attacks: Vec<(String, Vec<u8>)> = vec![
            ("old request".into(), first.request.clone()),
            (
                "old response, wrong direction".into(),
                first.response.clone(),
            ),
            ("future request".into(), future[0].clone()),
        ];
        attacks.extend(mangled(&future[0]));
        attacks.extend(mangled(&first.request));
        for (what, rec) in &attacks {
            refused(&mut r1, rec, what);
            assert_eq!(rsp_view(&r1), view, "psk {psk}: {what}");
        }

        // Run 1's genuine next exchange is the one the twin made ahead, byte for byte.
        let caught_up = heartbeat(&mut r1, &mut s1);
        assert_eq!(caught_up.request, ahead.request, "psk {psk}");
        assert_eq!(caught_up.response, ahead.response, "psk {psk}");
        // And its next request equals the twin's future record, answered the same.
        let mut a1 = vec![0u8; 1024];
        let n1 = s1.write_heartbeat(&mut a1).unwrap();
        assert_eq!(a1[..n1], future[0][..], "psk {psk}");
        let mut b1 = vec![0u8; 1024];
        let m1 = r1.handle(&mut a1[..n1], &mut b1).unwrap();
        let mut b2 = vec![0u8; 1024];
        let mut f = future[0].clone();
        let m2 = r2.handle(&mut f, &mut b2).unwrap();
        assert_eq!(b1[..m1], b2[..m2], "psk {psk}");
        assert_eq!(rsp_view(&r1), rsp_view(&r2));
    }
}

#[test]
fn forged_key_update_acks_do_not_switch_the_requester_keys() {
    let p = pki();
    let (mut g1, mut g2) = (XorShift(0x5555), XorShift(0x5555));
    let mut r1 = responder(&p, &mut g1);
    let mut r2 = responder(&p, &mut g2);
    let mut s1 = establish(&mut r1, 0x6666, false);
    let mut s2 = establish(&mut r2, 0x6666, false);
    let before = heartbeat(&mut r1, &mut s1);
    let _ = heartbeat(&mut r2, &mut s2);

    for op in [KeyUpdateOp::UPDATE_ALL_KEYS, KeyUpdateOp::UPDATE_KEY] {
        let mut a = vec![0u8; 1024];
        let n = s1.write_key_update(op, &mut a).unwrap();
        let mut b = vec![0u8; 1024];
        let m = r1.handle(&mut a[..n], &mut b).unwrap();
        let ack = b[..m].to_vec();
        let view = req_view(&s1);
        let mut attacks = mangled(&ack);
        attacks.push(("pre-update response".into(), before.response.clone()));
        for (what, rec) in &attacks {
            let mut rec = rec.clone();
            assert!(s1.handle_response(&mut rec).is_err(), "{op:?} {what}");
            assert_eq!(req_view(&s1), view, "{op:?} {what}");
        }
        let mut g = ack.clone();
        assert_eq!(
            s1.handle_response(&mut g).unwrap(),
            SessionEvent::KeyUpdated(op)
        );
        let _ = key_update(&mut r2, &mut s2, op);
        assert_eq!(req_view(&s1), req_view(&s2), "{op:?}");
        // VerifyNewKey, with forged copies of it first at the responder.
        let n = s1
            .write_key_update(KeyUpdateOp::VERIFY_NEW_KEY, &mut a)
            .unwrap();
        let verify = a[..n].to_vec();
        let rv = rsp_view(&r1);
        for (what, rec) in mangled(&verify) {
            refused(&mut r1, &rec, &what);
            assert_eq!(rsp_view(&r1), rv, "{op:?} {what}");
        }
        // The pre-update request record, replayed under the new keys, is refused as well.
        let mut old = before.request.clone();
        assert!(r1.handle(&mut old, &mut b).is_err());
        assert_eq!(rsp_view(&r1), rv);
        let mut v = verify.clone();
        let m = r1.handle(&mut v, &mut b).unwrap();
        let answer = b[..m].to_vec();
        assert_eq!(
            s1.handle_response(&mut b[..m]).unwrap(),
            SessionEvent::KeyUpdated(KeyUpdateOp::VERIFY_NEW_KEY)
        );
        let twin = key_update(&mut r2, &mut s2, KeyUpdateOp::VERIFY_NEW_KEY);
        assert_eq!(verify, twin.request);
        assert_eq!(answer, twin.response);
        assert_eq!(rsp_view(&r1), rsp_view(&r2));
    }
    let x = heartbeat(&mut r1, &mut s1);
    let y = heartbeat(&mut r2, &mut s2);
    assert_eq!((x.request, x.response), (y.request, y.response));
}

#[test]
fn after_end_session_no_earlier_record_opens_on_either_end_nor_in_the_next_session() {
    let p = pki();
    let mut g = XorShift(0x7777);
    let mut rsp = responder(&p, &mut g);
    let mut s = establish(&mut rsp, 0x8888, false);
    let mut requests = Vec::new();
    let mut responses = Vec::new();
    for x in [
        heartbeat(&mut rsp, &mut s),
        key_update(&mut rsp, &mut s, KeyUpdateOp::UPDATE_ALL_KEYS),
        key_update(&mut rsp, &mut s, KeyUpdateOp::VERIFY_NEW_KEY),
        heartbeat(&mut rsp, &mut s),
    ] {
        requests.push(x.request);
        responses.push(x.response);
    }
    let old_ems = s
        .session()
        .unwrap()
        .export_master_secret()
        .as_bytes()
        .to_vec();
    let old_id = s.session().unwrap().id();
    let mut a = vec![0u8; 1024];
    let n = s.write_end_session(&mut a).unwrap();
    requests.push(a[..n].to_vec());
    let mut b = vec![0u8; 1024];
    let m = rsp.handle(&mut a[..n], &mut b).unwrap();
    let end_ack = b[..m].to_vec();
    assert_eq!(s.handle_response(&mut b[..m]).unwrap(), SessionEvent::Ended);
    assert!(s.is_ended() && s.session().is_none());
    assert!(rsp.session().is_none());
    let view = rsp_view(&rsp);

    // The responder: every earlier request record, again.
    for (i, rec) in requests.iter().enumerate() {
        let mut rec = rec.clone();
        let mut out = [0u8; 1024];
        assert!(rsp.handle(&mut rec, &mut out).is_err(), "request {i}");
        assert_eq!(rsp_view(&rsp), view);
    }
    // The requester: every earlier response, and the ACK again; it writes nothing more.
    for rec in responses.iter().chain([&end_ack]) {
        let mut rec = rec.clone();
        assert!(s.handle_response(&mut rec).is_err());
        assert!(s.session().is_none());
    }
    assert_eq!(s.write_heartbeat(&mut a), Err(Error::UnexpectedMessage));
    assert_eq!(
        s.write_key_update(KeyUpdateOp::UPDATE_KEY, &mut a),
        Err(Error::UnexpectedMessage)
    );

    // A new session on the same responder: new id, new export master secret, and none of the
    // old records opens in it or moves it.
    let mut s2 = establish(&mut rsp, 0x9999, false);
    let sess = s2.session().unwrap();
    assert_ne!(sess.export_master_secret().as_bytes(), &old_ems[..]);
    assert_ne!(sess.id(), old_id);
    let view = rsp_view(&rsp);
    for (i, rec) in requests.iter().enumerate() {
        let mut rec = rec.clone();
        // Rewritten to the new session id, too: only the old keys stand behind it.
        let mut rewritten = rec.clone();
        rewritten[1..5].copy_from_slice(&rsp.session().unwrap().id().to_le_bytes());
        let mut out = [0u8; 1024];
        assert!(rsp.handle(&mut rec, &mut out).is_err(), "request {i}");
        assert!(
            rsp.handle(&mut rewritten, &mut out).is_err(),
            "request {i} rewritten"
        );
        assert_eq!(rsp_view(&rsp), view);
    }
    let _ = heartbeat(&mut rsp, &mut s2);
}

#[test]
fn handshake_requests_inside_or_beside_a_session_leave_it_running() {
    let p = pki();
    let mut g = XorShift(0xAAAA);
    let mut rsp = responder(&p, &mut g);
    let mut s = establish(&mut rsp, 0xBBBB, false);
    let _ = heartbeat(&mut rsp, &mut s);
    let id = s.session().unwrap().id();

    // In the clear, beside the session: KEY_EXCHANGE, FINISH, PSK_EXCHANGE, PSK_FINISH,
    // CHALLENGE, GET_CAPABILITIES, NEGOTIATE_ALGORITHMS, END_SESSION, HEARTBEAT, KEY_UPDATE.
    for code in [0xE4u8, 0xE5, 0xE6, 0xE7, 0x83, 0xE1, 0xE3, 0xEC, 0xE8, 0xE9] {
        let view = rsp_view(&rsp);
        let mut msg = vec![0x05, 0x12, code, 0, 0];
        msg.extend_from_slice(&[0u8; 200]);
        let mut out = [0u8; 1024];
        let k = rsp.handle(&mut msg, &mut out).unwrap();
        assert_eq!(out[0], 0x05, "{code:#x}: answered in the clear");
        assert_eq!(out[2], 0x7F, "{code:#x}: an ERROR");
        assert_eq!(rsp_view(&rsp), view, "{code:#x}");
        let _ = k;
    }
    let _ = heartbeat(&mut rsp, &mut s);

    // Inside the session: handshake requests are answered with an ERROR in the session and
    // the session goes on (each costs one record each way, nothing else).
    for req in [
        vec![0x12u8, 0xE5, 0, 0],        // FINISH
        vec![0x12, 0xE5, 0, 0, 1, 2, 3], // FINISH with garbage
        vec![0x12, 0xE4, 0, 0],          // KEY_EXCHANGE
        vec![0x12, 0xE6, 0, 0],          // PSK_EXCHANGE
        vec![0x12, 0xE7, 0, 0],          // PSK_FINISH
        vec![0x12, 0xE1, 0, 0],          // GET_CAPABILITIES
        vec![0x12, 0xE3, 0, 0],          // NEGOTIATE_ALGORITHMS
        vec![0x12, 0x84, 0, 0],          // GET_VERSION with 1.2
        vec![0x10, 0x84, 0, 0],          // GET_VERSION with 1.0
        vec![0x12, 0xE0, 0, 0],          // GET_MEASUREMENTS, index 0 (count)
    ] {
        let (sq, sp) = rsp.session().unwrap().sequence_numbers();
        let mut a = vec![0u8; 1024];
        let Ok(n) = s.write_spdm_request(&req, &mut a) else {
            // The requester refuses to send it at all (version other than 1.2).
            assert_eq!(req[0], 0x10);
            continue;
        };
        let mut b = vec![0u8; 1024];
        let m = rsp.handle(&mut a[..n], &mut b).unwrap();
        let answer = s.handle_spdm_response(&mut b[..m]);
        assert!(
            matches!(answer, Err(Error::PeerError(_))),
            "{req:02x?}: {answer:?}"
        );
        assert_eq!(
            rsp.session().unwrap().sequence_numbers(),
            (sq + 1, sp + 1),
            "{req:02x?}"
        );
        assert_eq!(rsp.session().unwrap().id(), id);
        assert_eq!(rsp.state_name(), "Established");
    }
    let _ = heartbeat(&mut rsp, &mut s);
    let _ = key_update(&mut rsp, &mut s, KeyUpdateOp::UPDATE_KEY);
    let _ = key_update(&mut rsp, &mut s, KeyUpdateOp::VERIFY_NEW_KEY);
    let _ = heartbeat(&mut rsp, &mut s);
}

#[test]
fn debug_output_shows_no_export_master_secret_psk_or_signing_key() {
    let p = pki();
    let mut g = XorShift(0xEEEE);
    let mut rsp = responder(&p, &mut g);
    for psk in [false, true] {
        let s = establish(&mut rsp, 0xFFFF, psk);
        let ems = s
            .session()
            .unwrap()
            .export_master_secret()
            .as_bytes()
            .to_vec();
        let texts = [
            format!("{s:?}"),
            format!("{s:#?}"),
            format!("{rsp:?}"),
            format!("{rsp:#?}"),
            format!("{:?}", s.session().unwrap()),
            format!("{:?}", s.session().unwrap().export_master_secret()),
            format!("{:?}", rsp.session().unwrap()),
            format!("{:?}", p.key),
        ];
        // The private scalar of a SEC1 P-256 key: 32 bytes at offset 7.
        let scalar = &KEY[7..39];
        for text in &texts {
            for (which, secret) in [("ems", &ems[..]), ("psk", PSK), ("scalar", scalar)] {
                for w in secret.windows(4) {
                    let dec = format!("{}, {}, {}, {}", w[0], w[1], w[2], w[3]);
                    let hex = format!("{:02x}{:02x}{:02x}{:02x}", w[0], w[1], w[2], w[3]);
                    assert!(
                        !text.contains(&dec) && !text.contains(&hex),
                        "{which} {dec} in {}",
                        &text[..80]
                    );
                }
            }
        }
        let mut a = vec![0u8; 1024];
        let mut s = s;
        let n = s.write_end_session(&mut a).unwrap();
        let mut b = vec![0u8; 1024];
        let m = rsp.handle(&mut a[..n], &mut b).unwrap();
        let _ = s.handle_response(&mut b[..m]).unwrap();
    }
}

fn new_requester<'a>(
    rng: &'a mut XorShift,
    verifier: &'a X509Verifier<'a, RustCrypto>,
    chain_buf: &'a mut [u8],
    psk: bool,
) -> Requester<'a, RustCrypto> {
    let auth = if psk {
        Auth::Psk {
            hint: HINT,
            key: PSK,
        }
    } else {
        Auth::Certificate {
            verifier,
            chain_buf,
            challenge: false,
        }
    };
    Requester::new(
        RustCrypto,
        rng,
        RequesterConfig {
            algorithms: &[AlgorithmSet::SET_A],
            handshake_in_the_clear: false,
            data_transfer_size: 1024,
        },
        auth,
    )
    .unwrap()
}

/// Runs a handshake to its last request (FINISH or PSK_FINISH, a record under the handshake
/// keys) and returns the requester, the record, unsent.
fn to_last_request<'r>(rsp: &mut Rsp<'_>, req: &mut Requester<'r, RustCrypto>) -> Vec<u8> {
    let mut a = vec![0u8; 4096];
    let mut b = vec![0u8; 4096];
    loop {
        let n = req.write_request(&mut a).unwrap();
        if a[0] == 0x06 {
            return a[..n].to_vec();
        }
        let m = rsp.handle(&mut a[..n], &mut b).unwrap();
        assert_eq!(
            req.handle_response(&mut b[..m]).unwrap(),
            spdm_lite::requester::Status::Continue
        );
    }
}

#[test]
fn injections_between_the_key_exchange_and_finish_leave_the_handshake_as_its_twin() {
    for psk in [false, true] {
        let p = pki();
        let (mut g1, mut g2) = (XorShift(0x1357), XorShift(0x1357));
        let mut r1 = responder(&p, &mut g1);
        let mut r2 = responder(&p, &mut g2);
        let verifier = X509Verifier::new(RustCrypto, ROOT);
        let (mut b1, mut b2) = (vec![0u8; 4096], vec![0u8; 4096]);
        let (mut q1, mut q2) = (XorShift(0x2468), XorShift(0x2468));
        let mut req1 = new_requester(&mut q1, &verifier, &mut b1, psk);
        let mut req2 = new_requester(&mut q2, &verifier, &mut b2, psk);
        let last1 = to_last_request(&mut r1, &mut req1);
        let last2 = to_last_request(&mut r2, &mut req2);
        assert_eq!(last1, last2, "deterministic twins");
        let state = r1.state_name();

        // Plain requests of every kind a keyless injector can send from the requester's
        // address (GET_VERSION, which resets the connection by design, excepted), then
        // forged records for the handshake's session id.
        for code in [
            0xE1u8, 0xE3, 0x81, 0x82, 0x83, 0xE0, 0xE4, 0xE5, 0xE6, 0xE7, 0xE8, 0xE9, 0xEC, 0xEA,
            0xEB, 0xED, 0xEE, 0xFF, 0x00,
        ] {
            let mut m = vec![0x05, 0x12, code, 0, 0];
            m.extend_from_slice(&[0x5A; 96]);
            let mut out = [0u8; 1024];
            let _ = r1.handle(&mut m, &mut out);
            assert_eq!(r1.state_name(), state, "psk {psk}: plain {code:#04x}");
        }
        for (what, rec) in mangled(&last1) {
            refused(&mut r1, &rec, &what);
            assert_eq!(r1.state_name(), state, "psk {psk}: {what}");
        }
        // The genuine last request completes both runs into the same session.
        let (mut o1, mut o2) = (vec![0u8; 4096], vec![0u8; 4096]);
        let mut l1 = last1.clone();
        let m1 = r1.handle(&mut l1, &mut o1).unwrap();
        let mut l2 = last2.clone();
        let m2 = r2.handle(&mut l2, &mut o2).unwrap();
        assert_eq!(o1[..m1], o2[..m2], "psk {psk}");
        assert_eq!(
            req1.handle_response(&mut o1[..m1]).unwrap(),
            spdm_lite::requester::Status::Established
        );
        let s1 = r1.session().unwrap();
        let s2 = r2.session().unwrap();
        assert_eq!(s1.id(), s2.id());
        assert_eq!(
            s1.export_master_secret().as_bytes(),
            s2.export_master_secret().as_bytes()
        );
        let mut s = req1.into_session().unwrap();
        let _ = heartbeat(&mut r1, &mut s);
    }
}
