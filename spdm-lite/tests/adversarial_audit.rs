//! Independent adversarial audit of the public SPDM responder and requester-session API
//! (written from the rustdoc and `docs/security.md` only).
//!
//! The attacked responder runs next to a twin responder with the same signing key and the same
//! random source seed. The genuine requester's messages reach both; the attacked one first gets
//! changed copies (every single-byte change in the header, sampled bytes elsewhere, every
//! truncation, trailing bytes). A refused request (an ERROR answer, or no answer for a record)
//! must leave it exactly where it was: the genuine request that follows gets, byte for byte,
//! the twin's answer (so no transcript, state, sequence number or key moved). On the requester
//! side, every change of every response record of the session is refused and leaves the
//! sequence numbers, the key generation and the outstanding request as they were.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]

mod common;

use std::cell::Cell;
use std::rc::Rc;

use common::{HINT, TestRng, encode_chain, read, send, test_config};
use spdm_lite::crypto::{AlgorithmSet, EcdsaSigningKey, RandomSource, RustCrypto};
use spdm_lite::msgs::key_update::KeyUpdateOp;
use spdm_lite::requester::{
    Auth, Requester, RequesterConfig, RequesterSession, SessionEvent, Status,
};
use spdm_lite::responder::{PskConfig, Responder, ResponderConfig};
use spdm_lite::x509::X509Verifier;
use spdm_lite::{CryptoError, Error};

struct Fixture {
    chain: Vec<u8>,
    key: EcdsaSigningKey,
    verifier: X509Verifier<'static, RustCrypto>,
}

/// Test-only: leaked so that responders and requesters can borrow it for `'static`.
fn fixture(set: AlgorithmSet) -> &'static Fixture {
    let root: &'static [u8] = Box::leak(read(set, "root.cert.der").into_boxed_slice());
    Box::leak(Box::new(Fixture {
        chain: encode_chain(set, &read(set, "chain.der"), root),
        key: EcdsaSigningKey::from_sec1_der(set.asym, &read(set, "leaf.key.der")).unwrap(),
        verifier: X509Verifier::new(RustCrypto, root),
    }))
}

const BUF: usize = 4096;
const RSP_SEED: u64 = 0x1111_2222_3333_4445;
const REQ_SEED: u64 = 0x5555_6666_7777_8889;

type Rsp = Responder<'static, RustCrypto, EcdsaSigningKey>;

fn responder(f: &'static Fixture, set: AlgorithmSet) -> Rsp {
    responder_with(f, set, Box::leak(Box::new(TestRng(RSP_SEED))))
}

/// The responder of the tests (set `set`, PSK offered, 10 s heartbeat) drawing from `rng`.
fn responder_with(
    f: &'static Fixture,
    set: AlgorithmSet,
    rng: &'static mut dyn RandomSource,
) -> Rsp {
    let mut r = Responder::new(RustCrypto, &f.key, rng, test_config(set, &f.chain)).unwrap();
    r.set_heartbeat_period(10);
    r
}

fn requester(f: &'static Fixture, sets: &'static [AlgorithmSet]) -> Requester<'static, RustCrypto> {
    let rng: &'static mut TestRng = Box::leak(Box::new(TestRng(REQ_SEED)));
    let chain_buf: &'static mut [u8] = Box::leak(vec![0u8; 8192].into_boxed_slice());
    Requester::new(
        RustCrypto,
        rng,
        RequesterConfig {
            algorithms: sets,
            handshake_in_the_clear: false,
            data_transfer_size: 1024,
        },
        Auth::Certificate {
            verifier: &f.verifier,
            chain_buf,
            challenge: true,
        },
    )
    .unwrap()
}

/// Whether an MCTP answer is a plain SPDM ERROR.
fn is_plain_error(a: &[u8]) -> bool {
    a.len() >= 3 && a[0] == 0x05 && a[2] == 0x7F
}

/// Changed copies of a message: every byte of the first `head` bytes with masks 0x01, 0x80
/// and 0xFF, every `stride`-th byte after them with mask 0x01, every truncation, and trailing
/// bytes.
fn mutations(g: &[u8], head: usize, stride: usize) -> Vec<(String, Vec<u8>)> {
    let mut v = Vec::new();
    for at in 0..g.len() {
        let masks: &[u8] = if at < head {
            &[0x01, 0x80, 0xFF]
        } else if (at - head).is_multiple_of(stride) {
            &[0x01]
        } else {
            &[]
        };
        for &m in masks {
            let mut x = g.to_vec();
            x[at] ^= m;
            v.push((format!("byte {at} ^ {m:#x}"), x));
        }
    }
    for len in 0..g.len() {
        v.push((format!("first {len} bytes"), g[..len].to_vec()));
    }
    for extra in [1usize, 64] {
        let mut x = g.to_vec();
        x.extend(std::iter::repeat_n(0xA5u8, extra));
        v.push((format!("{extra} bytes appended"), x));
    }
    v
}

/// Requests of a handshake with the answers they got.
type Log = Vec<(Vec<u8>, Vec<u8>)>;

/// The genuine handshake on the twin: every request the requester wrote and the twin's
/// answer; the requester, established.
fn genuine_handshake(
    f: &'static Fixture,
    set: AlgorithmSet,
    sets: &'static [AlgorithmSet],
) -> (Rsp, Requester<'static, RustCrypto>, Log) {
    let mut twin = responder(f, set);
    let mut req = requester(f, sets);
    let mut log = Vec::new();
    for _ in 0..64 {
        let mut a = [0u8; BUF];
        let n = req.write_request(&mut a).unwrap();
        let q = a[..n].to_vec();
        let answer = send(&mut twin, &q).unwrap();
        log.push((q, answer.clone()));
        let mut b = answer;
        if req.handle_response(&mut b).unwrap() == Status::Established {
            return (twin, req, log);
        }
    }
    panic!("handshake did not finish");
}

/// A responder and a requester session after a genuine handshake under set A.
fn established() -> (Rsp, RequesterSession<RustCrypto>) {
    let set = AlgorithmSet::SET_A;
    let sets: &'static [AlgorithmSet] = Box::leak(vec![set].into_boxed_slice());
    let (rsp, req, _) = genuine_handshake(fixture(set), set, sets);
    (rsp, req.into_session().unwrap())
}

/// A responder brought to step `k` of the genuine handshake (its answers checked).
fn replayed(f: &'static Fixture, set: AlgorithmSet, log: &[(Vec<u8>, Vec<u8>)], k: usize) -> Rsp {
    let mut r = responder(f, set);
    for (q, a) in &log[..k] {
        assert_eq!(&send(&mut r, q).unwrap(), a, "replay diverged");
    }
    r
}

/// A random source that counts the bytes it gave out.
struct CountingRng(TestRng, Rc<Cell<usize>>);

impl RandomSource for CountingRng {
    fn fill(&mut self, out: &mut [u8]) -> Result<(), CryptoError> {
        self.1.set(self.1.get() + out.len());
        self.0.fill(out)
    }
}

/// A responder (with a counting random source) brought to step `k` of the genuine handshake.
fn counted(
    f: &'static Fixture,
    set: AlgorithmSet,
    log: &[(Vec<u8>, Vec<u8>)],
    k: usize,
) -> (Rsp, Rc<Cell<usize>>) {
    let drawn = Rc::new(Cell::new(0));
    let rng: &'static mut CountingRng =
        Box::leak(Box::new(CountingRng(TestRng(RSP_SEED), drawn.clone())));
    let mut r = responder_with(f, set, rng);
    for (q, a) in &log[..k] {
        assert_eq!(&send(&mut r, q).unwrap(), a, "replay diverged");
    }
    (r, drawn)
}

/// Every refused change of every handshake request leaves the responder where it was: the
/// same state, and the genuine request then gets the twin's answer byte for byte when the
/// refusal drew no random bytes; in any case the genuine requester then completes the
/// handshake with it (its signature and verify-data checks cover the whole transcript, so a
/// refused request that had slipped into a transcript would fail them) and the session works.
#[test]
fn refused_handshake_requests_leave_the_responder_exactly_where_it_was() {
    for set in [AlgorithmSet::SET_A, AlgorithmSet::SET_B] {
        let sets: &'static [AlgorithmSet] = Box::leak(vec![set].into_boxed_slice());
        let f = fixture(set);
        let (_, _, log) = genuine_handshake(f, set, sets);
        let mut refused = 0;
        let mut accepted = 0;
        let mut randomized = Vec::new();
        for (k, (q, want)) in log.iter().enumerate() {
            // The genuine requester at step k.
            let mut req = requester(f, sets);
            for (i, (qi, ai)) in log[..k].iter().enumerate() {
                let mut a = [0u8; BUF];
                let n = req.write_request(&mut a).unwrap();
                assert_eq!(&a[..n], &qi[..], "requester replay {i}");
                let mut b = ai.clone();
                assert_eq!(req.handle_response(&mut b).unwrap(), Status::Continue);
            }
            let mut a = [0u8; BUF];
            let n = req.write_request(&mut a).unwrap();
            assert_eq!(&a[..n], &q[..]);
            let (mut rsp, mut drawn) = counted(f, set, &log, k);
            let start = drawn.get();
            let stride = if q.len() > 100 { 23 } else { 3 };
            for (w, m) in mutations(q, 8, stride) {
                let before = rsp.state_name();
                match send(&mut rsp, &m) {
                    Err(_) => {
                        refused += 1;
                        assert_eq!(rsp.state_name(), before, "step {k} {w}: state moved");
                    }
                    Ok(a) if is_plain_error(&a) => {
                        refused += 1;
                        assert_eq!(rsp.state_name(), before, "step {k} {w}: state moved");
                    }
                    Ok(_) => {
                        // Plain requests carry no tag: a changed copy may be a valid
                        // request, which moves the state by right. Start over at step k.
                        accepted += 1;
                        (rsp, drawn) = counted(f, set, &log, k);
                    }
                }
            }
            let drew = drawn.get() != start;
            let got = send(&mut rsp, q).unwrap();
            if drew {
                randomized.push(k);
            } else {
                assert_eq!(
                    &got, want,
                    "{set:?} step {k}: answer differs from the twin's"
                );
            }
            // The genuine requester completes the handshake with the attacked responder.
            let mut b = got;
            let mut status = req.handle_response(&mut b).unwrap();
            while status != Status::Established {
                let n = req.write_request(&mut a).unwrap();
                let mut b = send(&mut rsp, &a[..n]).unwrap();
                status = req.handle_response(&mut b).unwrap();
            }
            let mut s = req.into_session().unwrap();
            let n = s.write_heartbeat(&mut a).unwrap();
            let mut b = send(&mut rsp, &a[..n]).unwrap();
            assert_eq!(
                s.handle_response(&mut b).unwrap(),
                SessionEvent::HeartbeatAck,
                "{set:?} step {k}"
            );
        }
        assert!(refused > 200 && accepted < refused, "{refused} {accepted}");
        // No refusal draws random bytes (a KEY_EXCHANGE with exchange data off the curve is
        // checked before the responder's DHE key is drawn).
        assert!(randomized.is_empty(), "{set:?}: {randomized:?}");
    }
}

/// Session phase at the responder: every change of every request record (every byte three
/// ways, every truncation, trailing bytes) is dropped without an answer and moves nothing:
/// state, sequence numbers and key generation stay, and the genuine record then gets the
/// twin's answer byte for byte. Covers HEARTBEAT, GET_DIGESTS, every KEY_UPDATE operation and
/// END_SESSION.
#[test]
fn every_change_of_every_session_record_is_dropped_and_moves_nothing() {
    let set = AlgorithmSet::SET_A;
    let sets: &'static [AlgorithmSet] = Box::leak(vec![set].into_boxed_slice());
    let f = fixture(set);
    let (mut twin, req, log) = genuine_handshake(f, set, sets);
    let mut rsp = replayed(f, set, &log, log.len());
    let mut s = req.into_session().unwrap();
    type Write = fn(&mut RequesterSession<RustCrypto>, &mut [u8]) -> Result<usize, Error>;
    let ops: Vec<(&str, Write)> = vec![
        ("heartbeat", |s, o| s.write_heartbeat(o)),
        ("get digests", |s, o| {
            s.write_spdm_request(&[0x12, 0x81, 0, 0], o)
        }),
        ("update key", |s, o| {
            s.write_key_update(KeyUpdateOp::UPDATE_KEY, o)
        }),
        ("verify new key", |s, o| {
            s.write_key_update(KeyUpdateOp::VERIFY_NEW_KEY, o)
        }),
        ("update all keys", |s, o| {
            s.write_key_update(KeyUpdateOp::UPDATE_ALL_KEYS, o)
        }),
        ("verify new key", |s, o| {
            s.write_key_update(KeyUpdateOp::VERIFY_NEW_KEY, o)
        }),
        ("heartbeat", |s, o| s.write_heartbeat(o)),
        ("end session", |s, o| s.write_end_session(o)),
    ];
    for (name, write) in ops {
        let mut a = [0u8; BUF];
        let n = write(&mut s, &mut a).unwrap();
        let q = a[..n].to_vec();
        let probe = |r: &Rsp| {
            let sess = r.session().unwrap();
            (
                r.state_name(),
                sess.sequence_numbers(),
                sess.key_generation(),
            )
        };
        let before = probe(&rsp);
        for (w, m) in mutations(&q, q.len(), 1) {
            let r = send(&mut rsp, &m);
            assert!(r.is_err(), "{name} {w}: answered {r:?}");
            assert_eq!(probe(&rsp), before, "{name} {w}: state moved");
        }
        let got = send(&mut rsp, &q).unwrap();
        let want = send(&mut twin, &q).unwrap();
        assert_eq!(got, want, "{name}: answer differs from the twin's");
        let mut b = got;
        if name == "get digests" {
            s.handle_spdm_response(&mut b).unwrap();
        } else {
            s.handle_response(&mut b).unwrap();
        }
    }
    assert!(s.is_ended());
    assert!(rsp.session().is_none());
}

/// Session phase at the requester: every change of every response record is refused, the
/// request stays outstanding, the sequence numbers and key generation stay, and the genuine
/// response is then taken. UpdateAllKeys included (its ACK comes under the next response key:
/// forged ACKs must not make the requester derive twice).
#[test]
fn every_change_of_every_response_record_is_refused_by_the_requester_and_moves_nothing() {
    let (mut rsp, mut s) = established();
    type Write = fn(&mut RequesterSession<RustCrypto>, &mut [u8]) -> Result<usize, Error>;
    let ops: Vec<(&str, Write, Option<SessionEvent>)> = vec![
        (
            "heartbeat",
            |s, o| s.write_heartbeat(o),
            Some(SessionEvent::HeartbeatAck),
        ),
        (
            "get digests",
            |s, o| s.write_spdm_request(&[0x12, 0x81, 0, 0], o),
            None,
        ),
        (
            "update all keys",
            |s, o| s.write_key_update(KeyUpdateOp::UPDATE_ALL_KEYS, o),
            Some(SessionEvent::KeyUpdated(KeyUpdateOp::UPDATE_ALL_KEYS)),
        ),
        (
            "verify new key",
            |s, o| s.write_key_update(KeyUpdateOp::VERIFY_NEW_KEY, o),
            Some(SessionEvent::KeyUpdated(KeyUpdateOp::VERIFY_NEW_KEY)),
        ),
        (
            "update key",
            |s, o| s.write_key_update(KeyUpdateOp::UPDATE_KEY, o),
            Some(SessionEvent::KeyUpdated(KeyUpdateOp::UPDATE_KEY)),
        ),
        (
            "heartbeat",
            |s, o| s.write_heartbeat(o),
            Some(SessionEvent::HeartbeatAck),
        ),
        (
            "end session",
            |s, o| s.write_end_session(o),
            Some(SessionEvent::Ended),
        ),
    ];
    let mut earlier: Vec<Vec<u8>> = Vec::new();
    for (name, write, event) in ops {
        let mut a = [0u8; BUF];
        let n = write(&mut s, &mut a).unwrap();
        let g = send(&mut rsp, &a[..n]).unwrap();
        let probe = |s: &RequesterSession<RustCrypto>| {
            let x = s.session().unwrap();
            (x.sequence_numbers(), x.key_generation(), s.is_ended())
        };
        let mut attacks = mutations(&g, g.len(), 1);
        for (k, e) in earlier.iter().enumerate() {
            attacks.push((format!("earlier response {k}"), e.clone()));
        }
        if name == "update all keys" {
            // The first record to arrive installs the next response key before it is opened
            // (see `update_all_keys_ack_forgery_moves_the_session_before_authentication`);
            // from then on nothing may move.
            let mut junk = [0x06u8];
            assert!(s.handle_response(&mut junk).is_err());
        }
        for (w, m) in attacks {
            let before = probe(&s);
            let mut m = m;
            let r = if event.is_none() {
                s.handle_spdm_response(&mut m).map(|_| ())
            } else {
                s.handle_response(&mut m).map(|_| ())
            };
            assert!(r.is_err(), "{name} {w}: accepted");
            assert_eq!(probe(&s), before, "{name} {w}: state moved");
            // The request is still outstanding: nothing new may be written.
            let mut o = [0u8; BUF];
            assert!(
                s.write_heartbeat(&mut o).is_err(),
                "{name} {w}: request lost"
            );
        }
        let mut b = g.clone();
        match event {
            None => {
                s.handle_spdm_response(&mut b).unwrap();
            }
            Some(e) => assert_eq!(s.handle_response(&mut b).unwrap(), e, "{name}"),
        }
        earlier.push(g);
    }
    assert!(s.is_ended() && s.session().is_none());
}

/// `RequesterSession::handle_response` documents that record errors leave the session as it
/// was. While an UpdateAllKeys is outstanding, the first record to arrive (here a lone `0x06`
/// byte, i.e. anything with the secured-message type) installs the next response key before
/// it is authenticated: `key_generation()` and the response sequence number move although the
/// record was refused.
#[test]
fn update_all_keys_ack_forgery_moves_the_session_before_authentication() {
    let (mut rsp, mut s) = established();
    let mut a = [0u8; BUF];
    let n = s.write_heartbeat(&mut a).unwrap();
    let mut b = send(&mut rsp, &a[..n]).unwrap();
    s.handle_response(&mut b).unwrap();
    let n = s
        .write_key_update(KeyUpdateOp::UPDATE_ALL_KEYS, &mut a)
        .unwrap();
    let before = {
        let x = s.session().unwrap();
        (x.sequence_numbers(), x.key_generation())
    };
    let mut junk = [0x06u8];
    assert!(s.handle_response(&mut junk).is_err());
    let after = {
        let x = s.session().unwrap();
        (x.sequence_numbers(), x.key_generation())
    };
    assert_eq!(after, before, "a refused record moved the session");
    // (The genuine ACK still verifies afterwards, see the test above.)
    let mut b = send(&mut rsp, &a[..n]).unwrap();
    s.handle_response(&mut b).unwrap();
}

/// Forged and replayed records at the session's heartbeat deadline do not keep it alive: the
/// session ends on time exactly as for a twin that saw nothing, and a genuine heartbeat before
/// the deadline does keep it.
#[test]
fn forged_records_do_not_keep_a_session_alive() {
    let (mut rsp, mut s) = established();
    assert_eq!(s.heartbeat_period(), 10);
    let mut a = [0u8; BUF];
    // One genuine heartbeat at t = 15 s: the window restarts.
    assert!(!rsp.tick(15_000));
    let n = s.write_heartbeat(&mut a).unwrap();
    let old = a[..n].to_vec();
    let mut b = send(&mut rsp, &old).unwrap();
    s.handle_response(&mut b).unwrap();
    let n = s.write_heartbeat(&mut a).unwrap();
    let next = a[..n].to_vec();
    // From then on only forgeries: the replayed heartbeat and changed copies of the next one.
    let mut forged = vec![old.clone()];
    forged.extend(mutations(&next, next.len(), 1).into_iter().map(|m| m.1));
    for (i, t) in (16_000..35_000u64).step_by(1000).enumerate() {
        assert!(!rsp.tick(t), "ended early at {t}");
        let m = &forged[i % forged.len()];
        assert!(send(&mut rsp, m).is_err());
    }
    assert!(rsp.tick(35_001), "forged records kept the session alive");
    assert!(rsp.session().is_none());
    // The genuine heartbeat now goes unanswered (no keys).
    assert!(send(&mut rsp, &next).is_err());
}

/// An `out` too small for the answer to an authentic session record: the responder answers
/// nothing (`Error::Encode`) and, as in the other crates (SEP `receive`, CCISE `handle_read`,
/// where a short caller buffer consumes nothing), the record stays unconsumed so that the
/// caller can retry with a proper buffer: the request sequence number does not move and a
/// KEY_UPDATE does not switch the request key before its ACK goes out (an earlier version
/// consumed the record and lost the session). `tests/short_out.rs` covers plain requests.
#[test]
fn a_session_record_answered_into_a_too_small_buffer_can_be_retried() {
    let (mut rsp, mut s) = established();
    type Write = fn(&mut RequesterSession<RustCrypto>, &mut [u8]) -> Result<usize, Error>;
    let ops: [(&str, Write); 2] = [
        ("get digests", |s, o| {
            s.write_spdm_request(&[0x12, 0x81, 0, 0], o)
        }),
        ("update key", |s, o| {
            s.write_key_update(KeyUpdateOp::UPDATE_KEY, o)
        }),
    ];
    for (name, write) in ops {
        let mut a = [0u8; BUF];
        let n = write(&mut s, &mut a).unwrap();
        let q = a[..n].to_vec();
        let probe = |r: &Rsp| {
            let x = r.session().unwrap();
            (x.sequence_numbers(), x.key_generation())
        };
        let before = probe(&rsp);
        for len in [0usize, 4, 20] {
            let mut m = q.clone();
            let mut out = vec![0u8; len];
            assert!(rsp.handle(&mut m, &mut out).is_err(), "{name} {len}");
            assert_eq!(
                probe(&rsp),
                before,
                "{name}, out of {len} bytes: the record was consumed without an answer"
            );
        }
        let mut b = send(&mut rsp, &q).unwrap();
        if name == "get digests" {
            s.handle_spdm_response(&mut b).unwrap();
        } else {
            s.handle_response(&mut b).unwrap();
        }
    }
}

/// Plain messages of every length and content never panic either role, and a responder fed
/// them while established keeps its session unless the message is a GET_VERSION (documented:
/// it resets the connection).
#[test]
fn arbitrary_plain_messages_never_panic_and_never_end_the_session_unless_get_version() {
    let (mut rsp, mut s) = established();
    let mut rng = TestRng(0xDEAD_BEEF_F00D_1234);
    for i in 0..3000usize {
        let len = i % 70;
        let mut m = vec![0u8; len];
        rng.fill(&mut m).unwrap();
        if let Some(b) = m.first_mut() {
            *b = 0x05;
        }
        if len > 2 {
            m[1] = [0x10, 0x11, 0x12, 0x13][i % 4];
        }
        let is_get_version = len > 2 && m[2] == 0x84;
        let r = send(&mut rsp, &m);
        if !is_get_version {
            assert!(rsp.session().is_some(), "{m:?} ended the session: {r:?}");
        } else {
            return;
        }
        // The session still works after each burst.
        if i % 500 == 0 {
            let mut a = [0u8; BUF];
            let n = s.write_heartbeat(&mut a).unwrap();
            let mut b = send(&mut rsp, &a[..n]).unwrap();
            assert_eq!(
                s.handle_response(&mut b).unwrap(),
                SessionEvent::HeartbeatAck
            );
        }
    }
}

/// The PSK and its configuration holders never print the key.
#[test]
fn psk_configuration_and_requesters_never_print_the_psk() {
    let psk: &[u8] = &[
        0xD1, 0xE2, 0xF3, 0x04, 0x15, 0x26, 0x37, 0x48, 0x59, 0x6A, 0x7B, 0x8C,
    ];
    let cfg = PskConfig {
        hint: HINT,
        key: psk,
        with_context: false,
    };
    let set = AlgorithmSet::SET_A;
    let f = fixture(set);
    let rcfg = ResponderConfig {
        algorithms: set,
        cert_chain: &f.chain,
        psk: Some(cfg),
        handshake_in_the_clear: false,
        data_transfer_size: 1024,
    };
    let auth = Auth::Psk {
        hint: HINT,
        key: psk,
    };
    let texts = [
        format!("{cfg:?} {cfg:#?}"),
        format!("{rcfg:?} {rcfg:#?}"),
        format!("{auth:?} {auth:#?}"),
    ];
    let mut rng = TestRng(1);
    let rsp = Responder::new(RustCrypto, &f.key, &mut rng, rcfg).unwrap();
    let mut qrng = TestRng(2);
    let sets = [set];
    let req = Requester::new(
        RustCrypto,
        &mut qrng,
        RequesterConfig {
            algorithms: &sets,
            handshake_in_the_clear: false,
            data_transfer_size: 1024,
        },
        Auth::Psk {
            hint: HINT,
            key: psk,
        },
    )
    .unwrap();
    let more = [format!("{rsp:?} {rsp:#?}"), format!("{req:?} {req:#?}")];
    for t in texts.iter().chain(&more) {
        let lower = t.to_lowercase();
        for w in psk.windows(3) {
            for form in [
                format!("{}, {}, {}", w[0], w[1], w[2]),
                format!("{:02x}{:02x}{:02x}", w[0], w[1], w[2]),
                format!("{:x}, {:x}, {:x}", w[0], w[1], w[2]),
            ] {
                assert!(!lower.contains(&form), "PSK bytes in {t}");
            }
        }
    }
}
