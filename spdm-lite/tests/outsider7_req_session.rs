//! Outsider round 7: our requester's PSK handshake and session against a responder written
//! by hand (libspdm-like answers): opaque data forms, HeartbeatPeriod values, padded records,
//! KEY_UPDATE_ACK variants, ERROR inside the session, END_SESSION_ACK.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;
mod o7;

use common::SETS;
use o7::{OPAQUE_SELECT_12, Peer, PskOpts, psk_session, request};
use spdm_lite::Error;
use spdm_lite::crypto::RustCrypto;
use spdm_lite::msgs::key_update::KeyUpdateOp;
use spdm_lite::requester::{RequesterSession, SessionEvent};

type Sess = RequesterSession<RustCrypto>;

/// A HEARTBEAT answered with HEARTBEAT_ACK (padding `pad`): the requester's event.
fn heartbeat(s: &mut Sess, peer: &mut Peer, pad: &[u8]) -> Result<SessionEvent, Error> {
    let hb = request(s, peer, |s, o| s.write_heartbeat(o));
    assert_eq!(hb, [0x12, 0xE8, 0, 0]);
    let mut rec = peer.seal(&[0x12, 0x68, 0, 0], pad);
    s.handle_response(&mut rec)
}

#[test]
fn answers_with_random_padding_are_accepted() {
    for set in SETS {
        let (mut s, mut peer) = psk_session(set, PskOpts::default()).unwrap();
        for len in [0usize, 1, 3, 15, 16, 31, 32] {
            let pad: Vec<u8> = (0..len).map(|i| (i * 37 + 11) as u8).collect();
            assert_eq!(
                heartbeat(&mut s, &mut peer, &pad).unwrap(),
                SessionEvent::HeartbeatAck,
                "padding {len}"
            );
        }
        let es = request(&mut s, &mut peer, |s, o| s.write_end_session(o));
        assert_eq!(es[..2], [0x12, 0xEC]);
        let mut rec = peer.seal(&[0x12, 0x6C, 0, 0], &[0xEE; 9]);
        assert_eq!(s.handle_response(&mut rec).unwrap(), SessionEvent::Ended);
        assert!(s.is_ended() && s.session().is_none());
    }
}

#[test]
fn heartbeat_periods_a_responder_may_choose_are_kept() {
    for hb in [0u8, 1, 10, 255] {
        let (mut s, mut peer) = psk_session(
            SETS[0],
            PskOpts {
                heartbeat: hb,
                ..PskOpts::default()
            },
        )
        .unwrap();
        assert_eq!(s.heartbeat_period(), hb);
        s.set_time(0);
        assert!(!s.heartbeat_due());
        if hb != 0 {
            s.set_time(u64::from(hb) * 500);
            assert!(s.heartbeat_due(), "period {hb}");
        }
        assert_eq!(
            heartbeat(&mut s, &mut peer, &[]).unwrap(),
            SessionEvent::HeartbeatAck
        );
    }
}

/// Opaque data: `elements` (id, vendor id, data) in format 1, each padded to 4 bytes.
fn opaque(elements: &[(u8, &[u8], &[u8])]) -> Vec<u8> {
    let mut o = vec![elements.len() as u8, 0, 0, 0];
    for (id, vendor, data) in elements {
        o.push(*id);
        o.push(vendor.len() as u8);
        o.extend_from_slice(vendor);
        o.extend((data.len() as u16).to_le_bytes());
        o.extend_from_slice(data);
        while o.len() % 4 != 0 {
            o.push(0);
        }
    }
    o
}

#[test]
fn opaque_data_forms_selecting_1_2_are_accepted() {
    let sel: &[u8] = &[1, 0, 0x00, 0x12];
    let forms = [
        OPAQUE_SELECT_12.to_vec(),
        opaque(&[(0, &[], sel)]),
        // A vendor-defined element before and after the DMTF one.
        opaque(&[(0x0A, &[0x34, 0x12], &[9, 9, 9]), (0, &[], sel)]),
        opaque(&[(0, &[], sel), (0x0B, &[0x01, 0x02, 0x03, 0x04], &[7])]),
    ];
    for (i, o) in forms.into_iter().enumerate() {
        let r = psk_session(
            SETS[1],
            PskOpts {
                opaque: o,
                ..PskOpts::default()
            },
        );
        let (mut s, mut peer) = r.unwrap_or_else(|e| panic!("form {i}: {e:?}"));
        assert_eq!(
            heartbeat(&mut s, &mut peer, &[]).unwrap(),
            SessionEvent::HeartbeatAck
        );
    }
}

#[test]
fn opaque_data_selecting_another_version_is_refused() {
    for sel in [[1u8, 0, 0x00, 0x11], [1, 0, 0x00, 0x13], [1, 0, 0x00, 0x10]] {
        let r = psk_session(
            SETS[0],
            PskOpts {
                opaque: opaque(&[(0, &[], &sel)]),
                ..PskOpts::default()
            },
        );
        match r {
            Err((3, Error::Negotiation, Err(Error::Poisoned))) => {}
            Err(e) => panic!("refused at the wrong step: {e:?}"),
            Ok(_) => panic!("selection {sel:02x?} accepted"),
        }
    }
}

/// KEY_UPDATE `op` written and opened; its tag.
fn key_update(s: &mut Sess, peer: &mut Peer, op: KeyUpdateOp) -> u8 {
    let ku = request(s, peer, |s, o| s.write_key_update(op, o));
    assert_eq!(ku[..3], [0x12, 0xE9, op.0]);
    ku[3]
}

#[test]
fn update_key_and_update_all_keys_as_libspdm_answers_them() {
    for set in SETS {
        let (mut s, mut peer) = psk_session(set, PskOpts::default()).unwrap();
        // UpdateKey: the ACK under the current response key, then VerifyNewKey under the
        // new request key.
        let tag = key_update(&mut s, &mut peer, KeyUpdateOp::UPDATE_KEY);
        let mut rec = peer.seal(&[0x12, 0x69, 1, tag], &[1, 2, 3]);
        assert_eq!(
            s.handle_response(&mut rec).unwrap(),
            SessionEvent::KeyUpdated(KeyUpdateOp::UPDATE_KEY)
        );
        peer.update_req();
        let tag = key_update(&mut s, &mut peer, KeyUpdateOp::VERIFY_NEW_KEY);
        let mut rec = peer.seal(&[0x12, 0x69, 3, tag], &[]);
        assert_eq!(
            s.handle_response(&mut rec).unwrap(),
            SessionEvent::KeyUpdated(KeyUpdateOp::VERIFY_NEW_KEY)
        );
        // UpdateAllKeys: the ACK under the new response key, its sequence number from 0.
        let tag = key_update(&mut s, &mut peer, KeyUpdateOp::UPDATE_ALL_KEYS);
        peer.update_req();
        peer.update_rsp();
        assert_eq!(peer.rsp.sequence(), 0);
        let mut rec = peer.seal(&[0x12, 0x69, 2, tag], &[0xAB; 5]);
        assert_eq!(
            s.handle_response(&mut rec).unwrap(),
            SessionEvent::KeyUpdated(KeyUpdateOp::UPDATE_ALL_KEYS)
        );
        let tag = key_update(&mut s, &mut peer, KeyUpdateOp::VERIFY_NEW_KEY);
        let mut rec = peer.seal(&[0x12, 0x69, 3, tag], &[]);
        assert_eq!(
            s.handle_response(&mut rec).unwrap(),
            SessionEvent::KeyUpdated(KeyUpdateOp::VERIFY_NEW_KEY)
        );
        assert_eq!(
            heartbeat(&mut s, &mut peer, &[]).unwrap(),
            SessionEvent::HeartbeatAck
        );
    }
}

#[test]
fn padding_longer_than_our_own_is_accepted() {
    // DSP0277 bounds the random padding only by the record; a peer may pad more than the
    // 32 bytes this crate adds itself.
    let (mut s, mut peer) = psk_session(SETS[0], PskOpts::default()).unwrap();
    for len in [33usize, 100, 300] {
        let hb = request(&mut s, &mut peer, |s, o| s.write_heartbeat(o));
        assert_eq!(hb[1], 0xE8);
        let mut pt = 5u16.to_le_bytes().to_vec();
        pt.extend([0x05, 0x12, 0x68, 0, 0]);
        pt.extend((0..len).map(|i| (i * 7) as u8));
        let mut rec = peer.seal_plaintext(&pt);
        assert_eq!(
            s.handle_response(&mut rec).unwrap(),
            SessionEvent::HeartbeatAck,
            "padding {len}"
        );
    }
}

/// After a refused answer to KEY_UPDATE(UpdateKey): the request key did not move (the next
/// HEARTBEAT opens under the old key), and the session goes on.
fn still_on_old_keys(s: &mut Sess, peer: &mut Peer) {
    assert!(!s.is_ended());
    assert_eq!(heartbeat(s, peer, &[]).unwrap(), SessionEvent::HeartbeatAck);
}

#[test]
fn key_update_acks_that_do_not_match_are_refused_without_switching_keys() {
    for (name, ack, want) in [
        ("wrong tag", [0x12u8, 0x69, 1, 0], Error::UnexpectedMessage),
        (
            "wrong operation",
            [0x12, 0x69, 2, 0],
            Error::UnexpectedMessage,
        ),
        (
            "HEARTBEAT_ACK",
            [0x12, 0x68, 0, 0],
            Error::UnexpectedMessage,
        ),
        (
            "END_SESSION_ACK",
            [0x12, 0x6C, 0, 0],
            Error::UnexpectedMessage,
        ),
    ] {
        let (mut s, mut peer) = psk_session(SETS[0], PskOpts::default()).unwrap();
        let tag = key_update(&mut s, &mut peer, KeyUpdateOp::UPDATE_KEY);
        let mut a = ack;
        a[3] = if name == "wrong tag" { tag ^ 0x5A } else { tag };
        let mut rec = peer.seal(&a, &[]);
        assert_eq!(s.handle_response(&mut rec), Err(want), "{name}");
        assert!(s.session().is_some(), "{name}");
        still_on_old_keys(&mut s, &mut peer);
    }
}

#[test]
fn error_inside_the_session_is_reported_and_the_session_goes_on() {
    // Busy, UnexpectedRequest, ResponseNotReady (with its 1.2 extended data), vendor-defined
    // data after the header.
    let errors: [&[u8]; 4] = [
        &[0x12, 0x7F, 0x03, 0],
        &[0x12, 0x7F, 0x04, 0],
        &[0x12, 0x7F, 0x42, 0, 2, 0xE9, 7, 1],
        &[0x12, 0x7F, 0xFF, 0, 1, 0xAA],
    ];
    for err in errors {
        let (mut s, mut peer) = psk_session(SETS[1], PskOpts::default()).unwrap();
        let _ = key_update(&mut s, &mut peer, KeyUpdateOp::UPDATE_KEY);
        let mut rec = peer.seal(err, &[3; 3]);
        assert_eq!(
            s.handle_response(&mut rec),
            Err(Error::PeerError(err[2])),
            "{err:02x?}"
        );
        still_on_old_keys(&mut s, &mut peer);
        let _ = request(&mut s, &mut peer, |s, o| s.write_heartbeat(o));
        let mut rec = peer.seal(err, &[]);
        assert_eq!(s.handle_response(&mut rec), Err(Error::PeerError(err[2])));
        still_on_old_keys(&mut s, &mut peer);
    }
}

#[test]
fn psk_exchange_rsp_field_values_a_responder_may_choose_are_accepted() {
    type Tweak = fn(&mut PskOpts);
    let cases: [(&str, Tweak); 6] = [
        ("RspSessionID 0", |o| o.rsp_session_id = 0),
        ("RspSessionID 0xFFFF", |o| o.rsp_session_id = 0xFFFF),
        ("Param2 set (reserved)", |o| o.param2 = 0xA5),
        ("Reserved set", |o| o.reserved = 0x5AA5),
        ("a 1-byte context", |o| o.context_len = 1),
        ("a 200-byte context", |o| o.context_len = 200),
    ];
    for (name, f) in cases {
        let mut o = PskOpts::default();
        f(&mut o);
        let rsid = o.rsp_session_id;
        let (mut s, mut peer) = psk_session(SETS[0], o).unwrap_or_else(|e| panic!("{name}: {e:?}"));
        assert_eq!(s.session().unwrap().id() >> 16, u32::from(rsid), "{name}");
        assert_eq!(
            heartbeat(&mut s, &mut peer, &[]).unwrap(),
            SessionEvent::HeartbeatAck
        );
    }
}

#[test]
fn psk_without_context_needs_no_psk_finish() {
    // PSK_CAP 01b: no ResponderContext, the session starts with PSK_EXCHANGE_RSP.
    let (mut s, mut peer) = psk_session(
        SETS[1],
        PskOpts {
            vca: Box::new(|i, m| {
                if i == 1 {
                    m[9] = (m[9] & !0x0C) | 0x04;
                }
            }),
            ..PskOpts::default()
        },
    )
    .unwrap();
    assert_eq!(
        heartbeat(&mut s, &mut peer, &[]).unwrap(),
        SessionEvent::HeartbeatAck
    );
}

#[test]
fn acks_with_reserved_parameters_set_are_accepted() {
    let (mut s, mut peer) = psk_session(SETS[0], PskOpts::default()).unwrap();
    let _ = request(&mut s, &mut peer, |s, o| s.write_heartbeat(o));
    let mut rec = peer.seal(&[0x12, 0x68, 0x5A, 0xA5], &[]);
    assert_eq!(
        s.handle_response(&mut rec).unwrap(),
        SessionEvent::HeartbeatAck
    );
    let _ = request(&mut s, &mut peer, |s, o| s.write_end_session(o));
    let mut rec = peer.seal(&[0x12, 0x6C, 0xFF, 0xFF], &[]);
    assert_eq!(s.handle_response(&mut rec).unwrap(), SessionEvent::Ended);
    assert!(s.session().is_none());
}

#[test]
fn measurement_summary_in_psk_exchange_rsp_is_kept() {
    // MEAS_CAP 01b (measurements without signature) and 10b (signed) both mean the
    // responder measures; a summary hash may be asked of either (only 00b rules it out).
    use spdm_lite::measurements::SummaryType;
    for (set, meas_cap) in [(SETS[0], 1u8 << 3), (SETS[1], 1 << 3), (SETS[0], 1 << 4)] {
        let mh: u32 = if set.sizes().hash == 32 { 0x02 } else { 0x04 };
        for t in [SummaryType::Tcb, SummaryType::All] {
            let (s, _) = psk_session(
                set,
                PskOpts {
                    vca: Box::new(move |i, m| match i {
                        1 => m[8] |= meas_cap,
                        2 => {
                            m[6] = 0x01;
                            m[8..12].copy_from_slice(&mh.to_le_bytes());
                        }
                        _ => {}
                    }),
                    summary: Some(t),
                    ..PskOpts::default()
                },
            )
            .unwrap_or_else(|e| panic!("MEAS_CAP {meas_cap:#x} {t:?}: {e:?}"));
            let (got, d) = s.measurement_summary().unwrap();
            assert_eq!(got, t);
            assert_eq!(d.as_bytes(), vec![0xAB; set.sizes().hash]);
        }
    }
}

#[test]
fn measurement_summary_from_a_responder_without_meas_cap_is_refused() {
    use spdm_lite::measurements::SummaryType;
    let r = psk_session(
        SETS[0],
        PskOpts {
            summary: Some(SummaryType::All),
            ..PskOpts::default()
        },
    );
    assert!(
        matches!(r, Err((1, Error::Negotiation, Err(Error::Poisoned)))),
        "{:?}",
        r.err()
    );
}
