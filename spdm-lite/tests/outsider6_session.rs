//! Outsider round 6: the responder's secured session as a third-party requester sees it. The
//! peer here is built from the public codecs, key schedule and record layer only (a PSK
//! session by hand, `o6::RawPsk`), so it can put any request, version or framing in a record
//! and read every answer; each refusal is followed by a request that must still work under
//! the same keys and sequence numbers.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;
mod o6;

use common::{SETS, TestRng, fixture, send};
use o6::{RawPsk, ask, responder};
use spdm_lite::Error;

const HEARTBEAT: [u8; 4] = [0x12, 0xE8, 0, 0];
const HEARTBEAT_ACK: [u8; 4] = [0x12, 0x68, 0, 0];

fn err(code: u8) -> Vec<u8> {
    vec![0x12, 0x7F, code, 0]
}

/// The session goes on: the responder is `Established` on the same session, with the
/// sequence numbers `seq` (request, response) and the key generation `generation`, and a
/// HEARTBEAT under the current keys gets its ACK.
fn still_alive(rsp: &mut o6::Rsp<'_>, s: &mut RawPsk, seq: (u64, u64), generation: u32) {
    assert_eq!(rsp.state_name(), "Established");
    let sess = rsp.session().unwrap();
    assert_eq!(sess.id(), s.sid);
    assert_eq!(sess.sequence_numbers(), seq);
    assert_eq!(sess.key_generation(), generation);
    assert_eq!(s.ask(rsp, &HEARTBEAT), HEARTBEAT_ACK);
}

#[test]
fn get_version_inside_a_session_is_unexpected_request_and_the_session_goes_on() {
    for set in SETS {
        let fx = fixture(set);
        let mut rr = TestRng(1);
        let mut rsp = responder(set, &fx, &mut rr);
        let mut s = RawPsk::establish(set, &mut rsp);
        // GET_VERSION always carries 0x10, so VersionMismatch would be wrong; it is not a
        // request of a session, as GET_CAPABILITIES is not (UnexpectedRequest), and it must
        // not end the session from inside it.
        assert_eq!(s.ask(&mut rsp, &[0x10, 0x84, 0, 0]), err(0x04), "{set:?}");
        assert_eq!(s.ask(&mut rsp, &[0x12, 0x84, 0, 0]), err(0x04), "{set:?}");
        still_alive(&mut rsp, &mut s, (2, 2), 0);
    }
}

#[test]
fn requests_not_allowed_in_a_session_get_unexpected_request_and_change_nothing() {
    for set in SETS {
        let fx = fixture(set);
        let mut rr = TestRng(1);
        let mut rsp = responder(set, &fx, &mut rr);
        let mut s = RawPsk::establish(set, &mut rsp);
        let mut challenge = vec![0x12, 0x83, 0, 0];
        challenge.extend([0x11; 32]);
        let reqs: Vec<Vec<u8>> = vec![
            s.vca.get_caps.clone(),
            s.vca.neg_algs.clone(),
            challenge,
            vec![0x12, 0xE4, 0, 0],
            vec![0x12, 0xE6, 0, 0],
            vec![0x12, 0xE5, 0, 0],
            vec![0x12, 0xE7, 0, 0],
        ];
        for r in &reqs {
            assert_eq!(s.ask(&mut rsp, r), err(0x04), "{set:?} {r:02x?}");
        }
        let n = reqs.len() as u64;
        still_alive(&mut rsp, &mut s, (n, n), 0);
    }
}

#[test]
fn another_version_in_a_session_is_version_mismatch_and_the_session_goes_on() {
    for set in SETS {
        let fx = fixture(set);
        let mut rr = TestRng(1);
        let mut rsp = responder(set, &fx, &mut rr);
        let mut s = RawPsk::establish(set, &mut rsp);
        for v in [0x10, 0x11, 0x13, 0x20] {
            assert_eq!(s.ask(&mut rsp, &[v, 0xE8, 0, 0]), err(0x41), "{v:#x}");
            assert_eq!(s.ask(&mut rsp, &[v, 0xE9, 1, 1]), err(0x41), "{v:#x}");
        }
        still_alive(&mut rsp, &mut s, (8, 8), 0);
    }
}

#[test]
fn reserved_parameters_of_heartbeat_are_ignored() {
    let set = SETS[0];
    let fx = fixture(set);
    let mut rr = TestRng(1);
    let mut rsp = responder(set, &fx, &mut rr);
    let mut s = RawPsk::establish(set, &mut rsp);
    assert_eq!(s.ask(&mut rsp, &[0x12, 0xE8, 0xFF, 0x5A]), HEARTBEAT_ACK);
    still_alive(&mut rsp, &mut s, (1, 1), 0);
}

#[test]
fn key_update_with_an_undefined_operation_is_invalid_request_and_keys_stay() {
    for set in SETS {
        let fx = fixture(set);
        let mut rr = TestRng(1);
        let mut rsp = responder(set, &fx, &mut rr);
        let mut s = RawPsk::establish(set, &mut rsp);
        for op in [0u8, 4, 0x81, 0xFF] {
            assert_eq!(
                s.ask(&mut rsp, &[0x12, 0xE9, op, 9]),
                err(0x01),
                "op {op:#x}"
            );
        }
        // The records after it still go under the same keys.
        still_alive(&mut rsp, &mut s, (4, 4), 0);
    }
}

#[test]
fn update_key_then_verify_new_key_as_a_third_party_requester_does_it() {
    for set in SETS {
        let fx = fixture(set);
        let mut rr = TestRng(1);
        let mut rsp = responder(set, &fx, &mut rr);
        let mut s = RawPsk::establish(set, &mut rsp);
        // UpdateKey under the old request key; the ACK echoes operation and tag under the
        // unchanged response key.
        assert_eq!(
            s.ask(&mut rsp, &[0x12, 0xE9, 1, 0x37]),
            [0x12, 0x69, 1, 0x37]
        );
        let (sec, keys) = s.next_keys(&s.req_secret);
        let old = core::mem::replace(&mut s.req, keys);
        s.req_secret = sec;
        // A record under the old request key (at its next sequence number) is not answered.
        let mut stale = RawPsk {
            req: old,
            ..s.clone_for_probe()
        };
        let rec = stale.seal(&HEARTBEAT, &[]);
        assert!(send(&mut rsp, &rec).is_err());
        // VerifyNewKey goes under the new key at sequence number 0.
        assert_eq!(s.req.sequence(), 0);
        assert_eq!(
            s.ask(&mut rsp, &[0x12, 0xE9, 3, 0x38]),
            [0x12, 0x69, 3, 0x38]
        );
        still_alive(&mut rsp, &mut s, (1, 2), 1);
    }
}

#[test]
fn update_all_keys_acks_under_the_new_response_key() {
    for set in SETS {
        let fx = fixture(set);
        let mut rr = TestRng(1);
        let mut rsp = responder(set, &fx, &mut rr);
        let mut s = RawPsk::establish(set, &mut rsp);
        let rec = s.seal(&[0x12, 0xE9, 2, 0x44], &[7; 5]);
        let ans = send(&mut rsp, &rec).unwrap();
        let (rs, rk) = s.next_keys(&s.rsp_secret);
        let old = core::mem::replace(&mut s.rsp, rk);
        s.rsp_secret = rs;
        // Not under the old response key, under the new one at sequence number 0.
        let mut probe = RawPsk {
            rsp: old,
            ..s.clone_for_probe()
        };
        assert!(probe.open(ans.clone()).is_err());
        assert_eq!(s.open(ans).unwrap(), [0x12, 0x69, 2, 0x44]);
        let (qs, qk) = s.next_keys(&s.req_secret);
        s.req = qk;
        s.req_secret = qs;
        assert_eq!(
            s.ask(&mut rsp, &[0x12, 0xE9, 3, 0x45]),
            [0x12, 0x69, 3, 0x45]
        );
        // Request key: VerifyNewKey only; response key: the ACK of UpdateAllKeys and this one.
        still_alive(&mut rsp, &mut s, (1, 2), 2);
    }
}

#[test]
fn random_padding_of_any_length_up_to_32_is_accepted() {
    let set = SETS[1];
    let fx = fixture(set);
    let mut rr = TestRng(1);
    let mut rsp = responder(set, &fx, &mut rr);
    let mut s = RawPsk::establish(set, &mut rsp);
    for pad in [0usize, 1, 15, 16, 31, 32] {
        let rec = s.seal(&HEARTBEAT, &vec![0xC3; pad]);
        let ans = send(&mut rsp, &rec).unwrap();
        assert_eq!(s.open(ans).unwrap(), HEARTBEAT_ACK, "pad {pad}");
    }
    still_alive(&mut rsp, &mut s, (6, 6), 0);
}

#[test]
fn a_record_whose_length_field_disagrees_is_not_answered_and_moves_nothing() {
    for set in SETS {
        let fx = fixture(set);
        let mut rr = TestRng(1);
        let mut rsp = responder(set, &fx, &mut rr);
        let mut s = RawPsk::establish(set, &mut rsp);
        let rec = s.seal(&HEARTBEAT, &[1, 2, 3]);
        let len = u16::from_le_bytes([rec[7], rec[8]]);
        for bad in [len - 1, len + 1, 0, 15, 16, 0xFFFF] {
            let mut r = rec.clone();
            r[7..9].copy_from_slice(&bad.to_le_bytes());
            assert!(send(&mut rsp, &r).is_err(), "Length {bad}");
            // Truncated and extended records too.
            assert!(send(&mut rsp, &rec[..rec.len() - 1]).is_err());
            let mut longer = rec.clone();
            longer.push(0);
            assert!(send(&mut rsp, &longer).is_err());
        }
        assert_eq!(rsp.session().unwrap().sequence_numbers(), (0, 0));
        // The genuine record, at the same sequence number, is still the next one.
        let ans = send(&mut rsp, &rec).unwrap();
        assert_eq!(s.open(ans).unwrap(), HEARTBEAT_ACK);
        still_alive(&mut rsp, &mut s, (1, 1), 0);
    }
}

#[test]
fn records_of_another_session_or_sequence_number_are_not_answered() {
    let set = SETS[0];
    let fx = fixture(set);
    let mut rr = TestRng(1);
    let mut rsp = responder(set, &fx, &mut rr);
    let mut s = RawPsk::establish(set, &mut rsp);
    let rec = s.seal(&HEARTBEAT, &[]);
    for sid in [s.sid ^ 1, s.sid ^ 0x1_0000, 0, 0xFFFF_FFFF] {
        let mut r = rec.clone();
        r[1..5].copy_from_slice(&u32::to_le_bytes(sid));
        assert!(
            matches!(send(&mut rsp, &r), Err(Error::UnknownSession)),
            "{sid:#x}"
        );
    }
    for seq in [1u16, 2, 0xFFFF] {
        let mut r = rec.clone();
        r[5..7].copy_from_slice(&seq.to_le_bytes());
        assert!(send(&mut rsp, &r).is_err(), "seq {seq}");
    }
    let mut flipped = rec.clone();
    *flipped.last_mut().unwrap() ^= 1;
    assert!(matches!(
        send(&mut rsp, &flipped),
        Err(Error::Authentication)
    ));
    let ans = send(&mut rsp, &rec).unwrap();
    assert_eq!(s.open(ans).unwrap(), HEARTBEAT_ACK);
    // A replay of the accepted record is not answered either.
    assert!(send(&mut rsp, &rec).is_err());
    still_alive(&mut rsp, &mut s, (1, 1), 0);
}

#[test]
fn after_end_session_the_session_is_gone_and_the_connection_stays_negotiated() {
    for set in SETS {
        let fx = fixture(set);
        let mut rr = TestRng(1);
        let mut rsp = responder(set, &fx, &mut rr);
        let mut s = RawPsk::establish(set, &mut rsp);
        // Param1 bit 0 (negotiated state clearing, what spdm-emu's requester sends by
        // default) matters only with CACHE_CAP, which this responder does not offer: set
        // (set B) or clear (set A), the ACK is the same and the connection stays negotiated.
        let p1 = u8::from(set == SETS[1]);
        assert_eq!(s.ask(&mut rsp, &[0x12, 0xEC, p1, 0]), [0x12, 0x6C, 0, 0]);
        assert_eq!(rsp.state_name(), "Negotiated");
        assert!(rsp.session().is_none());
        // Every later record of the ended session, genuine and in sequence, gets no answer.
        for m in [&HEARTBEAT[..], &[0x12, 0xEC, 0, 0], &[0x12, 0x81, 0, 0]] {
            let rec = s.seal(m, &[]);
            assert!(send(&mut rsp, &rec).is_err());
        }
        // The connection is still negotiated: GET_DIGESTS in the clear is served.
        assert_eq!(ask(&mut rsp, &[0x12, 0x81, 0, 0])[1], 0x01);
        // A new session on the same responder (after a new VCA) works.
        let mut s2 = RawPsk::establish(set, &mut rsp);
        assert_ne!(s2.sid, 0);
        still_alive(&mut rsp, &mut s2, (0, 0), 0);
    }
}

#[test]
fn get_version_during_the_psk_handshake_restarts_and_the_old_handshake_is_dead() {
    for set in SETS {
        let fx = fixture(set);
        let mut rr = TestRng(1);
        let mut rsp = responder(set, &fx, &mut rr);
        let mut reset_done = false;
        // Inject at step 4 (after PSK_EXCHANGE_RSP, before PSK_FINISH): GET_VERSION, then
        // the whole VCA again would be needed; the PSK_FINISH record of the old handshake
        // must not open.
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            RawPsk::establish_with(set, &mut rsp, &mut |step, rsp| {
                if step == 4 {
                    let a = ask(rsp, &[0x10, 0x84, 0, 0]);
                    assert_eq!(a[1], 0x04);
                    assert_eq!(rsp.state_name(), "AwaitCapabilities");
                    reset_done = true;
                }
            })
        }));
        assert!(r.is_err(), "the old handshake must not complete");
        assert!(reset_done);
        assert_eq!(rsp.state_name(), "AwaitCapabilities");
        // And a new one does.
        let mut s = RawPsk::establish(set, &mut rsp);
        still_alive(&mut rsp, &mut s, (0, 0), 0);
    }
}

#[test]
fn authentic_records_with_bad_inner_framing() {
    for set in SETS {
        let fx = fixture(set);
        // AppDataLength beyond the plaintext, 0, or a plaintext too short for it: the record
        // is authentic, so its sequence number is used up on both ends, but there is no
        // message to answer: no answer, and the session goes on at the next number.
        for pt in [
            vec![50, 0, 0x05, 0x12, 0xE8, 0, 0],
            vec![0, 0, 0x05, 0x12, 0xE8, 0, 0],
            vec![5],
            vec![],
        ] {
            let mut rr = TestRng(1);
            let mut rsp = responder(set, &fx, &mut rr);
            let mut s = RawPsk::establish(set, &mut rsp);
            let rec = s.seal_plaintext(&pt);
            assert!(
                matches!(send(&mut rsp, &rec), Err(Error::Message(_))),
                "{pt:02x?}"
            );
            assert_eq!(rsp.session().unwrap().sequence_numbers(), (1, 0));
            // The same record again is a replay now.
            assert!(send(&mut rsp, &rec).is_err());
            still_alive(&mut rsp, &mut s, (1, 0), 0);
        }
        // An SPDM message too short for a header: InvalidRequest. Another inner MCTP type
        // (no application handler): UnsupportedRequest. Padding beyond 32 bytes is ignored
        // like any other.
        let mut padded = vec![5, 0, 0x05, 0x12, 0xE8, 0, 0];
        padded.extend([0xEE; 100]);
        for (pt, answer) in [
            (vec![1, 0, 0x05], err(0x01)),
            (vec![3, 0, 0x05, 0x12, 0xE8], err(0x01)),
            (
                vec![5, 0, 0x06, 0x12, 0xE8, 0, 0],
                vec![0x12, 0x7F, 0x07, 0],
            ),
            (padded, HEARTBEAT_ACK.to_vec()),
        ] {
            let mut rr = TestRng(1);
            let mut rsp = responder(set, &fx, &mut rr);
            let mut s = RawPsk::establish(set, &mut rsp);
            let rec = s.seal_plaintext(&pt);
            let a = send(&mut rsp, &rec).unwrap();
            assert_eq!(s.open(a).unwrap(), answer, "{pt:02x?}");
            still_alive(&mut rsp, &mut s, (1, 1), 0);
        }
    }
}

#[test]
#[ignore = "libspdm's responder answers InvalidRequest to UpdateKey/UpdateAllKeys while a key \
            update awaits its VerifyNewKey (and to VerifyNewKey without one); spdm-lite ACKs \
            and updates again. DSP0274 1.2 puts the order on the Requester and does not say \
            clearly what a Responder answers; enforcing it needs per-session pending state"]
fn update_key_twice_without_verify_new_key_is_invalid_request() {
    let set = SETS[0];
    let fx = fixture(set);
    let mut rr = TestRng(1);
    let mut rsp = responder(set, &fx, &mut rr);
    let mut s = RawPsk::establish(set, &mut rsp);
    assert_eq!(s.ask(&mut rsp, &[0x12, 0xE9, 1, 1]), [0x12, 0x69, 1, 1]);
    let (sec, k) = s.next_keys(&s.req_secret);
    s.req = k;
    s.req_secret = sec;
    assert_eq!(s.ask(&mut rsp, &[0x12, 0xE9, 1, 2]), err(0x01));
    assert_eq!(rsp.session().unwrap().key_generation(), 1);
}

#[test]
#[ignore = "as update_key_twice_without_verify_new_key_is_invalid_request: libspdm refuses a \
            VerifyNewKey that follows no UpdateKey/UpdateAllKeys, spdm-lite ACKs it; the spec \
            does not clearly require either"]
fn verify_new_key_without_a_pending_update_is_invalid_request() {
    let set = SETS[0];
    let fx = fixture(set);
    let mut rr = TestRng(1);
    let mut rsp = responder(set, &fx, &mut rr);
    let mut s = RawPsk::establish(set, &mut rsp);
    assert_eq!(s.ask(&mut rsp, &[0x12, 0xE9, 3, 1]), err(0x01));
}
