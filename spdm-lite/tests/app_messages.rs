//! Application messages in sessions: `Responder::set_app_handler` and the PLDM GetTID handler
//! (`PldmGetTid`) that DMTF's `spdm_requester_emu` needs (it sends a PLDM GetTID in each session
//! and stops its session steps when the answer is not a PLDM GetTID response; its checks are
//! those of `pldm_control_get_tid`: five bytes, Rq and datagram bits clear, the request's
//! instance ID, type 0, command 0x02, completion code 0).
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]

mod common;

use std::cell::Cell;
use std::rc::Rc;

use common::{Fixture, HINT, PSK, SETS, TestRng, error, exchange, fixture, test_config, verifier};
use spdm_lite::Error;
use spdm_lite::crypto::{AlgorithmSet, EcdsaSigningKey, RustCrypto};
use spdm_lite::requester::{
    Auth, Requester, RequesterConfig, RequesterSession, SessionEvent, Status,
};
use spdm_lite::responder::{AppAnswer, AppHandler, MCTP_PLDM, PldmGetTid, Responder};

const UNSUPPORTED_REQUEST: u8 = 0x07;

type Rsp<'a> = Responder<'a, RustCrypto, EcdsaSigningKey>;

fn responder<'a>(f: &'a Fixture, set: AlgorithmSet, rng: &'a mut TestRng) -> Rsp<'a> {
    Responder::new(RustCrypto, &f.key, rng, test_config(set, &f.chain)).unwrap()
}

/// A session with `rsp` (certificate or PSK).
fn session(
    rsp: &mut Rsp<'_>,
    set: AlgorithmSet,
    psk: bool,
    qrng: &mut TestRng,
) -> RequesterSession<RustCrypto> {
    let sets: &'static [AlgorithmSet] = Box::leak(vec![set].into_boxed_slice());
    let chain_buf: &'static mut [u8] = Box::leak(vec![0u8; 4096].into_boxed_slice());
    let auth = if psk {
        Auth::Psk {
            hint: HINT,
            key: PSK,
        }
    } else {
        Auth::Certificate {
            verifier: verifier(set),
            chain_buf,
            challenge: false,
        }
    };
    let config = RequesterConfig {
        algorithms: sets,
        handshake_in_the_clear: false,
        data_transfer_size: 1024,
    };
    let mut req = Requester::new(RustCrypto, qrng, config, auth).unwrap();
    while exchange(&mut req, rsp).unwrap() != Status::Established {}
    req.into_session().unwrap()
}

/// One application message `msg` of type `ty` through the session; the answer's MCTP type and
/// message (an SPDM ERROR comes back as type 0x05).
fn app(
    s: &mut RequesterSession<RustCrypto>,
    rsp: &mut Rsp<'_>,
    ty: u8,
    msg: &[u8],
) -> (u8, Vec<u8>) {
    let mut a = [0u8; 512];
    let mut b = [0u8; 512];
    let n = s.write_app_message(ty, msg, &mut a).unwrap();
    let m = rsp.handle(&mut a[..n], &mut b).unwrap();
    let (t, answer) = s.handle_app_response(&mut b[..m]).unwrap();
    (t, answer.to_vec())
}

fn heartbeat(s: &mut RequesterSession<RustCrypto>, rsp: &mut Rsp<'_>) {
    let mut a = [0u8; 512];
    let mut b = [0u8; 512];
    let n = s.write_heartbeat(&mut a).unwrap();
    let m = rsp.handle(&mut a[..n], &mut b).unwrap();
    assert_eq!(
        s.handle_response(&mut b[..m]).unwrap(),
        SessionEvent::HeartbeatAck
    );
}

/// GetTID is answered as libspdm's requester checks it, for every instance ID, in certificate
/// and PSK sessions of both sets; the session goes on (HEARTBEAT) after each.
#[test]
fn pldm_get_tid_is_answered_in_sessions() {
    for set in SETS {
        let f = fixture(set);
        for psk in [false, true] {
            let mut rrng = TestRng(41);
            let mut qrng = TestRng(42);
            let mut pldm = PldmGetTid { tid: 0x2A };
            let mut rsp = responder(&f, set, &mut rrng);
            rsp.set_app_handler(&mut pldm);
            let mut s = session(&mut rsp, set, psk, &mut qrng);
            for instance in 0..32u8 {
                let (ty, answer) = app(&mut s, &mut rsp, MCTP_PLDM, &[0x80 | instance, 0, 2]);
                assert_eq!(ty, MCTP_PLDM);
                assert_eq!(answer, [instance, 0x00, 0x02, 0x00, 0x2A], "{set:?} {psk}");
                heartbeat(&mut s, &mut rsp);
            }
        }
    }
}

/// Without a handler every application message gets an SPDM ERROR UnsupportedRequest in the
/// session (as before); `PldmGetTid` serves only GetTID requests: another PLDM command, a
/// response, a datagram, a reserved bit, another PLDM type, a longer message and another MCTP
/// type get the same ERROR. The session goes on after each.
#[test]
fn unserved_application_messages_get_unsupported_request() {
    let set = AlgorithmSet::SET_A;
    let f = fixture(set);
    let unserved: [(u8, &[u8]); 8] = [
        (MCTP_PLDM, &[0x80, 0x00, 0x03]),
        (MCTP_PLDM, &[0x00, 0x00, 0x02]),
        (MCTP_PLDM, &[0xC0, 0x00, 0x02]),
        (MCTP_PLDM, &[0xA0, 0x00, 0x02]),
        (MCTP_PLDM, &[0x80, 0x02, 0x02]),
        (MCTP_PLDM, &[0x80, 0x00, 0x02, 0x00]),
        (MCTP_PLDM, &[0x80, 0x00]),
        (0x7E, &[0x80, 0x00, 0x02]),
    ];
    for with_handler in [false, true] {
        let mut rrng = TestRng(43);
        let mut qrng = TestRng(44);
        let mut pldm = PldmGetTid { tid: 1 };
        let mut rsp = responder(&f, set, &mut rrng);
        if with_handler {
            rsp.set_app_handler(&mut pldm);
        }
        let mut s = session(&mut rsp, set, false, &mut qrng);
        for (ty, msg) in unserved {
            let (t, answer) = app(&mut s, &mut rsp, ty, msg);
            assert_eq!(
                (t, answer),
                (0x05, error(UNSUPPORTED_REQUEST)),
                "{with_handler} {ty:#x} {msg:02x?}"
            );
            heartbeat(&mut s, &mut rsp);
        }
        // GetTID itself: answered with a handler only.
        let (t, answer) = app(&mut s, &mut rsp, MCTP_PLDM, &[0x80, 0x00, 0x02]);
        if with_handler {
            assert_eq!((t, answer), (MCTP_PLDM, vec![0, 0, 2, 0, 1]));
        } else {
            assert_eq!((t, answer), (0x05, error(UNSUPPORTED_REQUEST)));
        }
    }
}

/// A handler that answers `len` bytes of 0x5A to anything and counts its calls.
struct Echo {
    len: usize,
    calls: Rc<Cell<usize>>,
}

impl AppHandler for Echo {
    fn answer(&mut self, _: u32, _: u8, _: &[u8], out: &mut [u8]) -> AppAnswer {
        self.calls.set(self.calls.get() + 1);
        match out.get_mut(..self.len) {
            Some(dst) => {
                dst.fill(0x5A);
                AppAnswer::Written(self.len)
            }
            None => AppAnswer::NeedsRoom(self.len),
        }
    }
}

/// An answer that does not fit the caller's buffer (the handler needs more room than `out`
/// leaves, or its answer fits but the sealed record does not): `Error::Encode`, nothing sent,
/// the record not consumed; sent again with a larger buffer it is answered (the handler runs
/// again) and the session's sequence numbers stay in step (HEARTBEAT after it works). The
/// answer goes back with the request's MCTP type.
#[test]
fn an_answer_without_room_leaves_the_record_unconsumed() {
    let set = AlgorithmSet::SET_B;
    let f = fixture(set);
    let mut rrng = TestRng(45);
    let mut qrng = TestRng(46);
    let calls = Rc::new(Cell::new(0));
    let mut echo = Echo {
        len: 300,
        calls: calls.clone(),
    };
    let mut rsp = responder(&f, set, &mut rrng);
    rsp.set_app_handler(&mut echo);
    let mut s = session(&mut rsp, set, false, &mut qrng);
    let mut a = [0u8; 512];
    let n = s.write_app_message(0x7E, b"vendor", &mut a).unwrap();
    let record = a[..n].to_vec();
    // 200 bytes: no room for the answer; 320: room for it, not for the record's tag.
    for (i, len) in [200usize, 320].into_iter().enumerate() {
        let mut small = vec![0u8; len];
        let mut copy = record.clone();
        assert!(matches!(
            rsp.handle(&mut copy, &mut small),
            Err(Error::Encode(_))
        ));
        assert_eq!(calls.get(), i + 1);
    }
    let mut b = [0u8; 512];
    let mut copy = record.clone();
    let m = rsp.handle(&mut copy, &mut b).unwrap();
    assert_eq!(calls.get(), 3);
    let (t, answer) = s.handle_app_response(&mut b[..m]).unwrap();
    assert_eq!((t, answer), (0x7E, &[0x5A; 300][..]));
    heartbeat(&mut s, &mut rsp);
}
