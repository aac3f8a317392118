//! Outsider attacks on the SPDM responder and requester, written against the public API and
//! the README only: messages out of order and replayed at every step of the handshake, forged,
//! truncated and replayed records in the session, keys after END_SESSION, GET_VERSION and a
//! missed heartbeat.

use spdm_lite::CryptoError;
use spdm_lite::cert::encode_spdm_chain;
use spdm_lite::crypto::{AlgorithmSet, EcdsaSigningKey, RandomSource, RustCrypto};
use spdm_lite::requester::{Auth, Requester, RequesterConfig, RequesterSession, Status};
use spdm_lite::responder::{Responder, ResponderConfig};
use spdm_lite::x509::X509Verifier;

const BUF: usize = 4096;

/// A deterministic random source (a test may compare two runs).
struct Counter(u64);

impl RandomSource for Counter {
    fn fill(&mut self, out: &mut [u8]) -> Result<(), CryptoError> {
        for b in out {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            *b = (self.0 >> 33) as u8;
        }
        Ok(())
    }
}

fn pki(f: &str) -> Vec<u8> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/pki/p256");
    std::fs::read(format!("{dir}/{f}")).expect("test pki")
}

struct Fixture {
    root: Vec<u8>,
    chain: Vec<u8>,
    key: EcdsaSigningKey,
}

fn fixture() -> Fixture {
    let set = AlgorithmSet::SET_A;
    let (root, certs) = (pki("root.cert.der"), pki("chain.der"));
    let mut chain = vec![0u8; certs.len() + 64];
    let n = encode_spdm_chain(&RustCrypto, set.hash, &root, &certs, &mut chain).expect("chain");
    chain.truncate(n);
    let key = EcdsaSigningKey::from_sec1_der(set.asym, &pki("leaf.key.der")).expect("key");
    Fixture { root, chain, key }
}

fn responder<'a>(
    f: &'a Fixture,
    rng: &'a mut Counter,
) -> Responder<'a, RustCrypto, EcdsaSigningKey> {
    let mut r = Responder::new(
        RustCrypto,
        &f.key,
        rng,
        ResponderConfig {
            algorithms: AlgorithmSet::SET_A,
            cert_chain: &f.chain,
            psk: None,
            handshake_in_the_clear: false,
            data_transfer_size: 1024,
        },
    )
    .expect("responder");
    r.set_heartbeat_period(1);
    r
}

const OFFERED: [AlgorithmSet; 1] = [AlgorithmSet::SET_A];

/// Runs a certificate handshake with CHALLENGE. Before request `k` reaches the responder,
/// `inject(k, responder, genuine requests so far)` may send it anything. Returns the
/// requester's session.
fn handshake<'a>(
    sensor: &mut Responder<'_, RustCrypto, EcdsaSigningKey>,
    verifier: &'a X509Verifier<'_, RustCrypto>,
    chain_buf: &'a mut [u8],
    rng: &'a mut Counter,
    mut inject: impl FnMut(usize, &mut Responder<'_, RustCrypto, EcdsaSigningKey>, &[Vec<u8>]),
) -> Result<RequesterSession<RustCrypto>, String> {
    let mut ecu = Requester::new(
        RustCrypto,
        rng,
        RequesterConfig {
            algorithms: &OFFERED,
            handshake_in_the_clear: false,
            data_transfer_size: 1024,
        },
        Auth::Certificate {
            verifier,
            chain_buf,
            challenge: true,
        },
    )
    .map_err(|e| format!("{e:?}"))?;
    let mut sent: Vec<Vec<u8>> = Vec::new();
    let (mut req, mut rsp) = ([0u8; BUF], [0u8; BUF]);
    for k in 0..64 {
        let n = ecu
            .write_request(&mut req)
            .map_err(|e| format!("write {k}: {e:?}"))?;
        inject(k, sensor, &sent);
        sent.push(req[..n].to_vec());
        let m = sensor
            .handle(&mut req[..n], &mut rsp)
            .map_err(|e| format!("responder at request {k}: {e:?}"))?;
        match ecu.handle_response(&mut rsp[..m]) {
            Ok(Status::Established) => {
                return ecu.into_session().map_err(|e| format!("{e:?}"));
            }
            Ok(_) => {}
            Err(e) => {
                return Err(format!(
                    "requester at response {k} ({} bytes, state {}): {e:?}",
                    m,
                    sensor.state_name()
                ));
            }
        }
    }
    Err("no session after 64 requests".into())
}

/// Plain requests a keyless peer can send at any step (GET_VERSION aside: it resets the
/// connection by design): replays of every earlier genuine request (the secured FINISH
/// record included), truncated copies of them, garbage, an empty message, a record for an
/// unknown session.
fn attacks(sent: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let mut v: Vec<Vec<u8>> = Vec::new();
    for s in sent {
        // A GET_VERSION replay resets the connection (documented); leave it out.
        if s.get(1..3) == Some(&[0x10, 0x84]) {
            continue;
        }
        v.push(s.clone());
        v.push(s[..s.len() / 2].to_vec());
    }
    v.push(vec![0x05, 0x12, 0x7F, 0, 0]);
    v.push(vec![0x05]);
    v.push(Vec::new());
    v.push(vec![
        0x06, 0xAA, 0xBB, 0xCC, 0xDD, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    ]);
    v.push(vec![0x05, 0x12, 0x60, 0, 0]);
    v
}

/// Before every request of the handshake, every replay of an earlier request (and garbage)
/// is sent to the responder. The responder answers them (with ERROR or whatever the state
/// allows) but the genuine handshake must still complete.
#[test]
fn replays_and_garbage_before_every_handshake_request_do_not_break_the_handshake() {
    let f = fixture();
    let verifier = X509Verifier::new(RustCrypto, &f.root);
    // How many requests the genuine handshake has.
    let mut count = 0;
    {
        let mut rng = Counter(1);
        let mut sensor = responder(&f, &mut rng);
        let (mut buf, mut rng2) = (vec![0u8; 8192], Counter(2));
        handshake(&mut sensor, &verifier, &mut buf, &mut rng2, |k, _, _| {
            count = count.max(k + 1)
        })
        .expect("the genuine handshake");
    }
    let mut broken = Vec::new();
    let mut accepted_breaks = Vec::new();
    for at in 0..count {
        // One attack message at a time, so a failure names it.
        let probe = {
            let mut rng = Counter(1);
            let mut sensor = responder(&f, &mut rng);
            let (mut buf, mut rng2) = (vec![0u8; 8192], Counter(2));
            let mut list = Vec::new();
            let _ = handshake(&mut sensor, &verifier, &mut buf, &mut rng2, |k, _, sent| {
                if k == at {
                    list = attacks(sent);
                }
            });
            list
        };
        for (i, attack) in probe.iter().enumerate() {
            let mut rng = Counter(1);
            let mut sensor = responder(&f, &mut rng);
            let (mut buf, mut rng2) = (vec![0u8; 8192], Counter(2));
            let mut refused = true;
            let r = handshake(&mut sensor, &verifier, &mut buf, &mut rng2, |k, s, _| {
                if k == at {
                    let mut m = attack.clone();
                    let mut out = [0u8; BUF];
                    // Refused: no answer, or an SPDM ERROR.
                    refused = match s.handle(&mut m, &mut out) {
                        Ok(n) => n >= 3 && out[0] == 0x05 && out[2] == 0x7F,
                        Err(_) => true,
                    };
                }
            });
            let name = format!(
                "before request {at}, attack {i} ({:02x?})",
                &attack[..attack.len().min(4)]
            );
            match (r, refused) {
                (Ok(session), _) => {
                    let mine = session.session().expect("live").id();
                    assert_eq!(sensor.session().map(|s| s.id()), Some(mine));
                }
                (Err(e), true) => broken.push(format!("{name}: {e}")),
                // A request the responder accepted and answered is part of the connection's
                // transcript (it is no failed input): note which ones break the handshake.
                (Err(_), false) => accepted_breaks.push(attack[2]),
            }
        }
    }
    // A keyless peer on the requester's address can replay GET_DIGESTS / GET_CERTIFICATE
    // before CHALLENGE: the responder answers them and they enter its message B, so
    // CHALLENGE_AUTH no longer verifies. The same peer can send GET_VERSION anyway.
    accepted_breaks.sort_unstable();
    accepted_breaks.dedup();
    assert_eq!(
        accepted_breaks,
        [0x81, 0x82],
        "accepted requests that broke the handshake"
    );
    assert!(
        broken.is_empty(),
        "{} broken:\n{}",
        broken.len(),
        broken.join("\n")
    );
}

/// In an established session: forged, truncated and replayed records, and plain requests,
/// move nothing on the responder (sequence numbers, key generation, session id, heartbeat
/// window): the session still ends at the same tick as in the twin, and the genuine
/// heartbeat sent before that is answered.
#[test]
fn forged_records_and_plain_requests_do_not_refresh_the_heartbeat_or_move_the_session() {
    let f = fixture();
    let verifier = X509Verifier::new(RustCrypto, &f.root);
    for attacked in [false, true] {
        let mut rng = Counter(1);
        let mut sensor = responder(&f, &mut rng);
        let _ = sensor.tick(0);
        let (mut buf, mut rng2) = (vec![0u8; 8192], Counter(2));
        let mut sent = Vec::new();
        let mut session = handshake(&mut sensor, &verifier, &mut buf, &mut rng2, |_, _, s| {
            sent = s.to_vec();
        })
        .expect("session");
        assert_eq!(session.session().map(|s| s.heartbeat_period()), Some(1));
        let (mut req, mut rsp) = ([0u8; BUF], [0u8; BUF]);
        // A genuine heartbeat at 100 ms.
        let _ = sensor.tick(100);
        let n = session.write_heartbeat(&mut req).expect("heartbeat");
        let hb = req[..n].to_vec();
        let m = sensor.handle(&mut req[..n], &mut rsp).expect("answered");
        let _ = session.handle_response(&mut rsp[..m]).expect("ack");
        let snapshot = |s: &Responder<'_, RustCrypto, EcdsaSigningKey>| {
            s.session()
                .map(|x| (x.id(), x.key_generation(), x.sequence_numbers()))
        };
        let before = snapshot(&sensor);
        if attacked {
            let _ = sensor.tick(1900);
            let mut list: Vec<Vec<u8>> = vec![hb.clone(), hb[..hb.len() - 1].to_vec()];
            let mut flipped = hb.clone();
            let last = flipped.len() - 1;
            flipped[last] ^= 1;
            list.push(flipped);
            let mut ahead = hb.clone();
            // The sequence number is implicit in DSP0277 over MCTP: a changed body is enough.
            ahead[10] ^= 0x80;
            list.push(ahead);
            list.extend(sent.iter().skip(1).cloned()); // every handshake request but GET_VERSION
            for mut m in list {
                let mut out = [0xEEu8; BUF];
                let r = sensor.handle(&mut m, &mut out);
                if r.is_err() {
                    assert!(
                        out.iter().all(|&b| b == 0xEE),
                        "nothing written on an error"
                    );
                }
                assert_eq!(snapshot(&sensor), before, "{:02x?}", &m[..m.len().min(6)]);
                assert_eq!(sensor.state_name(), "Established");
            }
        }
        // Last authentic record at 100 ms, window 2000 ms: alive at 2100, over at 2101.
        assert!(!sensor.tick(2100), "attacked: {attacked}");
        assert!(sensor.session().is_some());
        assert!(
            sensor.tick(2101),
            "attacked: {attacked}: the forged records refreshed it"
        );
        assert!(sensor.session().is_none());
        // The requester's next record is refused unopened and answered with nothing.
        let n = session.write_heartbeat(&mut req).expect("heartbeat");
        let mut out = [0xEEu8; BUF];
        assert!(sensor.handle(&mut req[..n], &mut out).is_err());
        assert!(out.iter().all(|&b| b == 0xEE));
    }
}

/// A link key of the session (the CCISE key of generation 0).
fn ems(s: &spdm_lite::session::Session) -> [u8; 16] {
    let mut k = [0u8; 16];
    s.export_master_secret()
        .derive_link_key(
            &RustCrypto,
            &cse_core::Profile::DRAFT_1,
            spdm_lite::export::LinkKeyPurpose::CciseKey,
            cse_core::Direction::ControllerToSensor,
            cse_core::csi2::VirtualChannel::new(0).expect("vc"),
            0,
            &mut k,
        )
        .expect("derive");
    k
}

/// END_SESSION ends the session on both ends; its record replayed, and every record of the
/// ended session, are refused without an answer; the next handshake gets a new session whose
/// export master secret differs.
#[test]
fn records_of_an_ended_session_are_refused_and_the_next_session_has_new_secrets() {
    let f = fixture();
    let verifier = X509Verifier::new(RustCrypto, &f.root);
    let mut rng = Counter(1);
    let mut sensor = responder(&f, &mut rng);
    let (mut buf, mut rng2) = (vec![0u8; 8192], Counter(2));
    let mut session =
        handshake(&mut sensor, &verifier, &mut buf, &mut rng2, |_, _, _| {}).expect("session");
    let first_key = ems(session.session().expect("live"));
    let (mut req, mut rsp) = ([0u8; BUF], [0u8; BUF]);
    let mut records = Vec::new();
    let n = session.write_heartbeat(&mut req).expect("heartbeat");
    records.push(req[..n].to_vec());
    let m = sensor.handle(&mut req[..n], &mut rsp).expect("answered");
    let _ = session.handle_response(&mut rsp[..m]).expect("ack");
    let n = session.write_end_session(&mut req).expect("end");
    records.push(req[..n].to_vec());
    let m = sensor.handle(&mut req[..n], &mut rsp).expect("answered");
    let _ = session.handle_response(&mut rsp[..m]).expect("ended");
    assert!(
        session.session().is_none(),
        "the requester dropped its secrets"
    );
    assert!(
        sensor.session().is_none(),
        "the responder dropped its session"
    );
    let state = sensor.state_name();
    for r in &records {
        let mut m = r.clone();
        let mut out = [0xEEu8; BUF];
        assert!(sensor.handle(&mut m, &mut out).is_err());
        assert!(out.iter().all(|&b| b == 0xEE));
        assert_eq!(sensor.state_name(), state);
    }
    // The requester writes nothing more.
    assert!(session.write_heartbeat(&mut req).is_err());

    // A new handshake on the same responder (GET_VERSION first): new id, new secrets.
    let verifier2 = X509Verifier::new(RustCrypto, &f.root);
    let (mut buf2, mut rng3) = (vec![0u8; 8192], Counter(3));
    let s2 = handshake(&mut sensor, &verifier2, &mut buf2, &mut rng3, |_, _, _| {})
        .expect("a second session");
    let live = s2.session().expect("live");
    let responder_side = sensor.session().expect("responder session");
    assert_eq!(live.id(), responder_side.id());
    assert_eq!(ems(live), ems(responder_side), "both ends agree");
    assert_ne!(ems(live), first_key, "the new session has its own keys");
    // Every old record is still refused under the new session.
    for r in &records {
        let mut m = r.clone();
        let mut out = [0xEEu8; BUF];
        assert!(sensor.handle(&mut m, &mut out).is_err());
        assert!(out.iter().all(|&b| b == 0xEE));
        assert_eq!(
            sensor.session().map(|s| s.sequence_numbers()),
            Some(live.sequence_numbers())
        );
    }
}

type WriteFn = dyn Fn(&mut RequesterSession<RustCrypto>, &mut [u8]) -> usize;

/// The requester in its session: while a HEARTBEAT (then a KEY_UPDATE) is outstanding, forged,
/// truncated and replayed response records (earlier ACKs of the session included) are
/// refused and leave the session as it was: the genuine answer that follows is accepted.
#[test]
fn forged_and_replayed_responses_leave_the_requester_session_alone() {
    use spdm_lite::msgs::key_update::KeyUpdateOp;
    use spdm_lite::requester::SessionEvent;
    let f = fixture();
    let verifier = X509Verifier::new(RustCrypto, &f.root);
    let mut rng = Counter(1);
    let mut sensor = responder(&f, &mut rng);
    let (mut buf, mut rng2) = (vec![0u8; 8192], Counter(2));
    let mut session =
        handshake(&mut sensor, &verifier, &mut buf, &mut rng2, |_, _, _| {}).expect("session");
    let (mut req, mut rsp) = ([0u8; BUF], [0u8; BUF]);
    let mut old_answers: Vec<Vec<u8>> = Vec::new();
    let requests: [&WriteFn; 4] = [
        &|s, out| s.write_heartbeat(out).expect("heartbeat"),
        &|s, out| {
            s.write_key_update(KeyUpdateOp::UPDATE_ALL_KEYS, out)
                .expect("update")
        },
        &|s, out| {
            s.write_key_update(KeyUpdateOp::VERIFY_NEW_KEY, out)
                .expect("verify")
        },
        &|s, out| s.write_heartbeat(out).expect("heartbeat"),
    ];
    for (k, write) in requests.iter().enumerate() {
        let n = write(&mut session, &mut req);
        let m = sensor.handle(&mut req[..n], &mut rsp).expect("answered");
        let answer = rsp[..m].to_vec();
        let snapshot = |s: &RequesterSession<RustCrypto>| {
            s.session()
                .map(|x| (x.id(), x.key_generation(), x.sequence_numbers()))
        };
        let before = snapshot(&session);
        let mut attacks = old_answers.clone();
        attacks.push(answer[..answer.len() - 1].to_vec());
        let mut flipped = answer.clone();
        let i = flipped.len() - 3;
        flipped[i] ^= 0x40;
        attacks.push(flipped);
        attacks.push(vec![0x06, 0, 0, 0, 0]);
        attacks.push(vec![0x05, 0x12, 0x7F, 0x01, 0x00]); // a plain ERROR
        attacks.push(Vec::new());
        for mut a in attacks {
            assert!(session.handle_response(&mut a).is_err(), "request {k}");
            assert_eq!(snapshot(&session), before, "request {k}");
        }
        let mut genuine = answer.clone();
        let ev = session
            .handle_response(&mut genuine)
            .expect("the genuine answer");
        match k {
            0 | 3 => assert_eq!(ev, SessionEvent::HeartbeatAck),
            _ => assert!(matches!(ev, SessionEvent::KeyUpdated(_)), "{ev:?}"),
        }
        old_answers.push(answer);
    }
    assert_eq!(
        session.session().map(|s| s.key_generation()),
        sensor.session().map(|s| s.key_generation())
    );
}

/// Note (documented: "Any requester failure poisons it"): during the handshake one forged
/// plain response, such as a copy of an earlier genuine response, ends the requester; the
/// genuine response that follows is refused too.
#[test]
fn a_forged_response_during_the_handshake_poisons_the_requester_as_documented() {
    let f = fixture();
    let verifier = X509Verifier::new(RustCrypto, &f.root);
    let mut rng = Counter(1);
    let mut sensor = responder(&f, &mut rng);
    let mut chain_buf = vec![0u8; 8192];
    let mut rng2 = Counter(2);
    let mut ecu = Requester::new(
        RustCrypto,
        &mut rng2,
        RequesterConfig {
            algorithms: &OFFERED,
            handshake_in_the_clear: false,
            data_transfer_size: 1024,
        },
        Auth::Certificate {
            verifier: &verifier,
            chain_buf: &mut chain_buf,
            challenge: true,
        },
    )
    .expect("requester");
    let (mut req, mut rsp) = ([0u8; BUF], [0u8; BUF]);
    let n = ecu.write_request(&mut req).expect("GET_VERSION");
    let m = sensor.handle(&mut req[..n], &mut rsp).expect("VERSION");
    let version = rsp[..m].to_vec();
    let _ = ecu
        .handle_response(&mut rsp[..m])
        .expect("VERSION accepted");
    let n = ecu.write_request(&mut req).expect("GET_CAPABILITIES");
    let m = sensor
        .handle(&mut req[..n], &mut rsp)
        .expect("CAPABILITIES");
    assert!(
        ecu.handle_response(&mut version.clone()).is_err(),
        "a copy of VERSION"
    );
    assert!(
        ecu.handle_response(&mut rsp[..m]).is_err(),
        "poisoned: the genuine answer too"
    );
    assert!(ecu.write_request(&mut req).is_err());
}
