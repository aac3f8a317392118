//! An `out` too small for the answer changes nothing: `Responder::handle` then returns
//! `Error::Encode` and the responder is exactly as it was (state, transcripts, L1/L2,
//! negotiated data, random source, session), so the same request sent again with a larger
//! `out` gets the answer a responder that never saw the short attempt gives, and the
//! connection goes on as if it never happened. The same holds for the requester's writes.
//!
//! Every flow runs on a responder and a twin with the same configuration and random seed
//! (and on two requesters with the same seed): the twin answers every request into a large
//! buffer; the responder first gets every shorter `out` (each refused with `Error::Encode`),
//! then one exactly as long as the twin's answer, and must answer byte for byte alike. The
//! flows: VCA, GET_DIGESTS, GET_CERTIFICATE (several portions), CHALLENGE, KEY_EXCHANGE and
//! FINISH (in records and in the clear), PSK_EXCHANGE (with and without PSK_FINISH), the
//! encapsulated mutual-authentication requests in the clear, GET_MEASUREMENTS in the clear
//! (unsigned and signed) and in the session, the session's requests, GET_VERSION. Other tests
//! make a short attempt and then go on *without* retrying it: refused requests (every ERROR
//! path of the clear), GET_VERSION inside a session, a failed FINISH in the clear, and an
//! ERROR inside the session, each followed by requests whose answers show whether anything
//! moved (signatures over L1/L2, the session's records, FINISH_RSP).
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]

mod common;

use common::{Block, HINT, PSK, SETS, TestRng, block_info, read, send, spdm_chain, verifier};
use spdm_lite::Error;
use spdm_lite::crypto::{AlgorithmSet, EcdsaSigningKey, RustCrypto};
use spdm_lite::measurements::{BlockInfo, MeasurementProvider, SummaryType, value_type};
use spdm_lite::msgs::key_update::KeyUpdateOp;
use spdm_lite::msgs::measurements::OP_ALL;
use spdm_lite::mut_auth::{MutAuthMode, MutAuthPolicy, RequesterIdentity};
use spdm_lite::requester::{
    Auth, MeasurementRequest, Requester, RequesterConfig, RequesterSession, Status,
};
use spdm_lite::responder::{PskConfig, Responder, ResponderConfig};
use spdm_lite::x509::X509Verifier;

const BUF: usize = 4096;
/// Small enough for several GET_CERTIFICATE portions (and encapsulated ones).
const DTS: u32 = 512;
const RSP_SEED: u64 = 0x0bad_5eed_0000_0001;
const REQ_SEED: u64 = 0x0bad_5eed_0000_0002;

type Rsp = Responder<'static, RustCrypto, EcdsaSigningKey>;
type Req = Requester<'static, RustCrypto>;
type Sess = RequesterSession<RustCrypto>;

fn leak<T>(t: T) -> &'static mut T {
    Box::leak(Box::new(t))
}

fn leak_slice(v: Vec<u8>) -> &'static mut [u8] {
    Box::leak(v.into_boxed_slice())
}

/// Firmware measurements (one generation).
struct Fw(Vec<Block>);

impl MeasurementProvider for Fw {
    fn count(&self) -> usize {
        self.0.len()
    }
    fn block(&self, n: usize, value: &mut [u8]) -> Option<BlockInfo> {
        block_info(&self.0, n, value)
    }
    fn generation(&self) -> Option<u64> {
        Some(7)
    }
}

fn fw(set: AlgorithmSet) -> Fw {
    let h = set.hash.len();
    Fw(vec![
        (1, value_type::IMMUTABLE_ROM, vec![0x11; h], true),
        (2, value_type::MUTABLE_FIRMWARE, vec![0x22; h], true),
        (
            3,
            value_type::FIRMWARE_VERSION | value_type::RAW,
            b"2.0.1".to_vec(),
            false,
        ),
    ])
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Flow {
    /// Certificates: GET_DIGESTS, GET_CERTIFICATE, CHALLENGE, KEY_EXCHANGE, FINISH.
    Certificate,
    /// PSK_EXCHANGE (and PSK_FINISH with a responder context).
    Psk { with_context: bool },
    /// KEY_EXCHANGE, the encapsulated GET_DIGESTS / GET_CERTIFICATE of the requester's chain,
    /// a signed FINISH.
    MutualAuth,
}

#[derive(Clone, Copy, Debug)]
struct Opts {
    set: AlgorithmSet,
    flow: Flow,
    in_clear: bool,
}

fn responder(o: Opts) -> Rsp {
    let set = o.set;
    let key = leak(EcdsaSigningKey::from_sec1_der(set.asym, &read(set, "leaf.key.der")).unwrap());
    let chain = leak_slice(spdm_chain(set, "chain.der", "root.cert.der"));
    let psk = match o.flow {
        Flow::Psk { with_context } => Some(PskConfig {
            hint: HINT,
            key: PSK,
            with_context,
        }),
        _ => None,
    };
    let mut r = Responder::new(
        RustCrypto,
        &*key,
        leak(TestRng(RSP_SEED)),
        ResponderConfig {
            algorithms: set,
            cert_chain: chain,
            psk,
            handshake_in_the_clear: o.in_clear,
            data_transfer_size: DTS,
        },
    )
    .unwrap();
    r.set_heartbeat_period(10);
    r.set_measurements(leak(fw(set)));
    if o.flow == Flow::MutualAuth {
        let root = leak_slice(read(set, "root.cert.der"));
        r.set_mut_auth(MutAuthPolicy {
            mode: MutAuthMode::Certificate {
                verifier: leak(X509Verifier::new(RustCrypto, root)),
                chain_buf: leak_slice(vec![0u8; 4096]),
            },
            mandatory: true,
        });
    }
    r
}

fn requester(o: Opts) -> Req {
    let set = o.set;
    let auth = match o.flow {
        Flow::Psk { .. } => Auth::Psk {
            hint: HINT,
            key: PSK,
        },
        _ => Auth::Certificate {
            verifier: verifier(set),
            chain_buf: leak_slice(vec![0u8; 4096]),
            challenge: o.flow == Flow::Certificate,
        },
    };
    let mut q = Requester::new(
        RustCrypto,
        leak(TestRng(REQ_SEED)),
        RequesterConfig {
            algorithms: Box::leak(vec![set].into_boxed_slice()),
            handshake_in_the_clear: o.in_clear,
            data_transfer_size: DTS,
        },
        auth,
    )
    .unwrap();
    q.set_measurement_summary(SummaryType::All);
    if o.flow == Flow::MutualAuth {
        let key = EcdsaSigningKey::from_sec1_der(set.asym, &read(set, "req_leaf.key.der")).unwrap();
        q = q.with_mutual_auth(RequesterIdentity {
            signer: leak(key),
            cert_chain: leak_slice(spdm_chain(set, "req_chain.der", "root.cert.der")),
            public_key: None,
        });
    }
    q
}

/// `f` with every `out` shorter than `len` bytes must fail with `Error::Encode`.
fn assert_short(len: usize, what: &str, mut f: impl FnMut(&mut [u8]) -> Result<usize, Error>) {
    let mut buf = vec![0u8; len];
    for l in 0..len {
        let r = f(&mut buf[..l]);
        assert!(
            matches!(r, Err(Error::Encode(_))),
            "{what}: out of {l} bytes (the answer has {len}): {r:?}"
        );
    }
}

/// Short attempts of `q` on `rsp` (0 up to `len - 1` bytes of `out`), each refused with
/// `Error::Encode`.
fn short_attempts(rsp: &mut Rsp, q: &[u8], len: usize, what: &str) {
    assert_short(len, what, |out| rsp.handle(&mut q.to_vec(), out));
}

/// A name for a request in failure messages.
fn name(q: &[u8]) -> String {
    if q.first() == Some(&0x05) && q.len() > 2 {
        format!("plain request {:#04x}", q[2])
    } else {
        format!("record of {} bytes", q.len())
    }
}

/// A responder and its twin, two requesters with the same seed.
struct Run {
    o: Opts,
    rsp: Rsp,
    twin: Rsp,
    req: Req,
    req_twin: Req,
    /// Give the responder every too-short `out` before each request.
    short_rsp: bool,
    /// Give the requester every too-short `out` before each request it writes.
    short_req: bool,
}

/// A run on `set` (certificate flow, not in the clear, no short buffers) brought to an
/// established session: the run and both requesters' sessions.
fn certificate_session(set: AlgorithmSet) -> (Run, Sess, Sess) {
    let o = Opts {
        set,
        flow: Flow::Certificate,
        in_clear: false,
    };
    let mut run = Run::new(o, false, false);
    let (s, t) = run.handshake(&mut |_, _| {});
    (run, s, t)
}

impl Run {
    fn new(o: Opts, short_rsp: bool, short_req: bool) -> Self {
        Self {
            o,
            rsp: responder(o),
            twin: responder(o),
            req: requester(o),
            req_twin: requester(o),
            short_rsp,
            short_req,
        }
    }

    /// The twin answers `q`; the responder (after its short attempts, if asked) answers it
    /// too, into an `out` exactly as long for a plain request: the same bytes.
    fn answer(&mut self, q: &[u8]) -> Vec<u8> {
        let what = format!("{:?} {}", self.o, name(q));
        let want = send(&mut self.twin, q).unwrap();
        if self.short_rsp {
            short_attempts(&mut self.rsp, q, want.len(), &what);
        }
        // A record of the handshake needs room for its longest answer (documented).
        let room = if q[0] == 0x05 { want.len() } else { BUF };
        let mut out = vec![0u8; room];
        let n = self
            .rsp
            .handle(&mut q.to_vec(), &mut out)
            .unwrap_or_else(|e| panic!("{what}: {e:?}"));
        assert_eq!(
            &out[..n],
            &want[..],
            "{what}: answer differs from the twin's"
        );
        assert_eq!(self.rsp.state_name(), self.twin.state_name(), "{what}");
        want
    }

    /// One handshake step: both requesters write (the first after its short attempts), both
    /// responders answer, both requesters handle the answer.
    fn step(&mut self, hook: &mut dyn FnMut(&mut Rsp, &[u8])) -> Status {
        let mut a = vec![0u8; BUF];
        let n = self.req_twin.write_request(&mut a).unwrap();
        let want = a[..n].to_vec();
        if self.short_req {
            let what = format!("{:?} requester, {}", self.o, name(&want));
            assert_short(n, &what, |out| self.req.write_request(out));
        }
        let mut q = vec![0u8; n];
        let m = self.req.write_request(&mut q).unwrap();
        assert_eq!(&q[..m], &want[..], "{:?}: request differs", self.o);
        hook(&mut self.rsp, &q);
        let b = self.answer(&q);
        let s = self.req.handle_response(&mut b.clone()).unwrap();
        let t = self.req_twin.handle_response(&mut b.clone()).unwrap();
        assert_eq!(s, t);
        s
    }

    /// The handshake to the end; both requester sessions.
    fn handshake(&mut self, hook: &mut dyn FnMut(&mut Rsp, &[u8])) -> (Sess, Sess) {
        for _ in 0..64 {
            if self.step(hook) == Status::Established {
                let s = std::mem::replace(&mut self.req, requester(self.o));
                let t = std::mem::replace(&mut self.req_twin, requester(self.o));
                return (s.into_session().unwrap(), t.into_session().unwrap());
            }
        }
        panic!("{:?}: no session", self.o);
    }

    /// One request of the session (or in the clear beside it) written by `write` on both
    /// requester sessions; both handle the answer with `handle` and must agree.
    fn session_step(&mut self, s: &mut Sess, t: &mut Sess, op: &SessionOp) -> Vec<u8> {
        let mut a = vec![0u8; BUF];
        let n = (op.write)(t, &mut a).unwrap();
        let want = a[..n].to_vec();
        if self.short_req {
            let what = format!("{:?} session {}", self.o, op.name);
            assert_short(n, &what, |out| (op.write)(s, out));
        }
        let mut q = vec![0u8; n];
        let m = (op.write)(s, &mut q).unwrap();
        assert_eq!(
            &q[..m],
            &want[..],
            "{:?} {}: request differs",
            self.o,
            op.name
        );
        let b = self.answer(&q);
        let x = (op.handle)(s, &mut b.clone());
        let y = (op.handle)(t, &mut b.clone());
        assert_eq!(x, y, "{:?} {}", self.o, op.name);
        assert!(!x.starts_with("Err"), "{:?} {}: {x}", self.o, op.name);
        b
    }

    /// The session keys of both responders and the requester are the same.
    fn assert_same_secrets(&self, s: &Sess) {
        let a = self
            .rsp
            .session()
            .unwrap()
            .export_master_secret()
            .as_bytes();
        let b = self
            .twin
            .session()
            .unwrap()
            .export_master_secret()
            .as_bytes();
        let c = s.session().unwrap().export_master_secret().as_bytes();
        assert_eq!(a, b, "{:?}", self.o);
        assert_eq!(a, c, "{:?}", self.o);
    }
}

type Write = Box<dyn Fn(&mut Sess, &mut [u8]) -> Result<usize, Error>>;
type Handle = Box<dyn Fn(&mut Sess, &mut [u8]) -> String>;

struct SessionOp {
    name: &'static str,
    write: Write,
    handle: Handle,
}

fn op(
    name: &'static str,
    write: impl Fn(&mut Sess, &mut [u8]) -> Result<usize, Error> + 'static,
    handle: impl Fn(&mut Sess, &mut [u8]) -> String + 'static,
) -> SessionOp {
    SessionOp {
        name,
        write: Box::new(write),
        handle: Box::new(handle),
    }
}

const NONCE: [u8; 32] = [0x5A; 32];

fn meas(operation: u8, signed: bool) -> MeasurementRequest {
    MeasurementRequest {
        operation,
        nonce: signed.then_some(NONCE),
    }
}

/// The session's requests (and those in the clear beside it): HEARTBEAT, GET_MEASUREMENTS
/// in the session and in the clear (unsigned, then signed: the signature covers L1/L2),
/// GET_DIGESTS in the session, KEY_UPDATE.
fn session_ops(signed: bool) -> Vec<SessionOp> {
    let mut v = vec![
        op(
            "heartbeat",
            |s, o| s.write_heartbeat(o),
            |s, b| format!("{:?}", s.handle_response(b)),
        ),
        op(
            "measurements in the session",
            |s, o| s.write_get_measurements(&meas(OP_ALL, false), o),
            |s, b| format!("{:?}", s.handle_measurements(b)),
        ),
        op(
            "measurements in the clear",
            |s, o| s.write_get_measurements_plain(&meas(2, false), o),
            |s, b| format!("{:?}", s.handle_measurements_plain(b)),
        ),
        op(
            "measurement count in the clear",
            |s, o| s.write_get_measurements_plain(&meas(0, false), o),
            |s, b| format!("{:?}", s.handle_measurements_plain(b)),
        ),
    ];
    if signed {
        v.push(op(
            "signed measurements in the session",
            |s, o| s.write_get_measurements(&meas(1, true), o),
            |s, b| format!("{:?}", s.handle_measurements(b)),
        ));
        v.push(op(
            "signed measurements in the clear",
            |s, o| s.write_get_measurements_plain(&meas(OP_ALL, true), o),
            |s, b| format!("{:?}", s.handle_measurements_plain(b)),
        ));
    }
    v.extend([
        op(
            "digests in the session",
            |s, o| s.write_spdm_request(&[0x12, 0x81, 0, 0], o),
            |s, b| format!("{:?}", s.handle_spdm_response(b)),
        ),
        op(
            "update all keys",
            |s, o| s.write_key_update(KeyUpdateOp::UPDATE_ALL_KEYS, o),
            |s, b| format!("{:?}", s.handle_response(b)),
        ),
        op(
            "verify new key",
            |s, o| s.write_key_update(KeyUpdateOp::VERIFY_NEW_KEY, o),
            |s, b| format!("{:?}", s.handle_response(b)),
        ),
        op(
            "heartbeat",
            |s, o| s.write_heartbeat(o),
            |s, b| format!("{:?}", s.handle_response(b)),
        ),
    ]);
    v
}

/// A whole flow: the handshake, the session's requests, then the handshake again (its
/// GET_VERSION ends the session) and a HEARTBEAT.
fn flow(o: Opts, short_rsp: bool, short_req: bool) {
    let mut run = Run::new(o, short_rsp, short_req);
    let (mut s, mut t) = run.handshake(&mut |_, _| {});
    run.assert_same_secrets(&s);
    let signed = !matches!(o.flow, Flow::Psk { .. });
    for op in session_ops(signed) {
        run.session_step(&mut s, &mut t, &op);
    }
    run.assert_same_secrets(&s);
    // A new handshake from fresh requesters: its GET_VERSION, in the middle of the
    // session, ends it.
    let (mut s, mut t) = run.handshake(&mut |_, _| {});
    run.assert_same_secrets(&s);
    run.session_step(&mut s, &mut t, &session_ops(false)[0]);
}

fn all_flows() -> Vec<Opts> {
    let mut v = Vec::new();
    for set in SETS {
        for in_clear in [false, true] {
            v.push(Opts {
                set,
                flow: Flow::Certificate,
                in_clear,
            });
            v.push(Opts {
                set,
                flow: Flow::MutualAuth,
                in_clear,
            });
        }
        for with_context in [true, false] {
            v.push(Opts {
                set,
                flow: Flow::Psk { with_context },
                in_clear: false,
            });
        }
    }
    v
}

/// The responder, given every too-short `out` before every request of every flow, answers
/// each request as its twin does and ends with the same session keys.
#[test]
fn every_request_of_every_flow_is_answered_alike_after_short_outs() {
    for o in all_flows() {
        flow(o, true, false);
    }
}

/// The requester, given every too-short `out` before every request it writes, then writes
/// what its twin writes, and the flows end alike.
#[test]
fn every_requester_write_is_alike_after_short_outs() {
    for o in all_flows() {
        flow(o, false, true);
    }
}

/// Requests the responder refuses with an ERROR in the clear once a session is established
/// (and, last, its L1/L2 state): (SPDM request, what it is).
fn refused() -> Vec<(Vec<u8>, &'static str)> {
    vec![
        (vec![0x12], "truncated header"),
        (vec![0x11, 0xE0, 0, 0], "wrong version"),
        (vec![0x12, 0xFE, 0, 0], "unsupported code"),
        (vec![0x12, 0x81, 0, 0], "GET_DIGESTS out of order"),
        (
            vec![0x12, 0xE1, 0, 0, 0xFF, 0xFF, 0, 0],
            "GET_CAPABILITIES out of order",
        ),
        (vec![0x12, 0xE8, 0, 0], "HEARTBEAT in the clear"),
        (vec![0x12, 0xEC, 0, 0], "END_SESSION in the clear"),
        (vec![0x12, 0xE4, 0, 0], "KEY_EXCHANGE in a session"),
        (
            vec![0x12, 0xE0, 0, 0xFF, 0xAA],
            "GET_MEASUREMENTS with trailing bytes",
        ),
        (vec![0x12, 0xE0, 0, 0x33], "GET_MEASUREMENTS of no block"),
        (
            vec![0x12, 0xE0, 0x01, 0xFF, 0x01],
            "truncated signed GET_MEASUREMENTS",
        ),
    ]
}

/// Short attempts of a refused request do not end L1/L2 (outside sessions and in the
/// session): a signed GET_MEASUREMENTS afterwards covers the same transcript as on the twin,
/// which never saw them. Then each refused request, sent for real to both, gets the same
/// ERROR.
#[test]
fn short_attempts_of_refused_requests_keep_l1_and_l2() {
    for set in SETS {
        let (mut run, mut s, mut t) = certificate_session(set);
        let ops = session_ops(true);
        let unsigned: Vec<&SessionOp> = ops
            .iter()
            .filter(|x| x.name.starts_with("measurements"))
            .collect();
        let signed: Vec<&SessionOp> = ops
            .iter()
            .filter(|x| x.name.starts_with("signed"))
            .collect();
        assert_eq!((unsigned.len(), signed.len()), (2, 2));
        for u in &unsigned {
            run.session_step(&mut s, &mut t, u);
        }
        // The responder alone gets every refused request with every `out` too short for
        // its ERROR (5 bytes).
        for (spdm, what) in refused() {
            let mut q = vec![0x05];
            q.extend_from_slice(&spdm);
            short_attempts(&mut run.rsp, &q, 5, what);
        }
        for x in &signed {
            run.session_step(&mut s, &mut t, x);
        }
        for (spdm, what) in refused() {
            let mut q = vec![0x05];
            q.extend_from_slice(&spdm);
            // A large `out`: a GET_MEASUREMENTS of no block needs room for the blocks before
            // the responder finds that none matches.
            let a = send(&mut run.rsp, &q).unwrap();
            assert_eq!(a, send(&mut run.twin, &q).unwrap(), "{what}");
            assert_eq!(a.len(), 5, "{what}: {a:02x?}");
            assert_eq!(a[2], 0x7F, "{what}: {a:02x?}");
        }
        run.session_step(&mut s, &mut t, &ops[0]);
    }
}

/// A GET_VERSION (or a GET_VERSION refused for trailing bytes) answered into a too-short
/// `out` does not reset the connection: the session goes on, alike on both responders.
#[test]
fn a_short_get_version_does_not_end_the_session() {
    for set in SETS {
        let (mut run, mut s, mut t) = certificate_session(set);
        short_attempts(&mut run.rsp, &[0x05, 0x10, 0x84, 0, 0], 9, "GET_VERSION");
        short_attempts(
            &mut run.rsp,
            &[0x05, 0x10, 0x84, 0, 0, 0xAA],
            5,
            "GET_VERSION with trailing bytes",
        );
        assert_eq!(run.rsp.state_name(), "Established");
        for op in session_ops(true) {
            run.session_step(&mut s, &mut t, &op);
        }
        run.assert_same_secrets(&s);
        let a = run.answer(&[0x05, 0x10, 0x84, 0, 0, 0xAA]);
        assert_eq!(a, [0x05, 0x10, 0x7F, 0x01, 0]);
        assert!(run.rsp.session().is_none());
    }
}

/// A FINISH in the clear that fails (wrong verify data; with mutual authentication also a
/// wrong signature), answered into a too-short `out`, does not end the handshake: the
/// genuine FINISH then completes it as on the twin.
#[test]
fn a_short_failed_finish_in_the_clear_keeps_the_handshake() {
    for set in SETS {
        for flow in [Flow::Certificate, Flow::MutualAuth] {
            let o = Opts {
                set,
                flow,
                in_clear: true,
            };
            let mut run = Run::new(o, false, false);
            let mut tampered = 0;
            let mut hook = |rsp: &mut Rsp, q: &[u8]| {
                if q[0] != 0x05 || q[2] != 0xE5 {
                    return;
                }
                let mut flips = vec![q.len() - 1];
                if flow == Flow::MutualAuth {
                    flips.push(10);
                }
                for at in flips {
                    let mut bad = q.to_vec();
                    bad[at] ^= 0x01;
                    short_attempts(rsp, &bad, 5, "tampered FINISH");
                    tampered += 1;
                }
                assert_eq!(rsp.state_name(), "AwaitFinish");
            };
            let (mut s, mut t) = run.handshake(&mut hook);
            assert!(tampered > 0, "{o:?}: no FINISH in the clear");
            run.assert_same_secrets(&s);
            run.session_step(&mut s, &mut t, &session_ops(true)[0]);
        }
    }
}

/// An ERROR inside the session that does not fit `out` leaves the record unread and L2 as
/// it was: the next record (another request under the same sequence number, from the twin
/// requester) gets the twin's answer, and a signed GET_MEASUREMENTS covers the same L2.
#[test]
fn a_short_error_in_the_session_keeps_l2() {
    for set in SETS {
        let (mut run, mut s, mut t) = certificate_session(set);
        let ops = session_ops(true);
        // A HEARTBEAT_ACK record is as long as an ERROR record (4 bytes of SPDM).
        let ack = run.session_step(&mut s, &mut t, &ops[0]);
        run.session_step(&mut s, &mut t, &ops[1]);
        // `s` writes a refused GET_MEASUREMENTS (trailing bytes) under the next sequence
        // number; the responder alone gets it with every `out` too short for the ERROR.
        let mut a = vec![0u8; BUF];
        let n = s
            .write_spdm_request(&[0x12, 0xE0, 0, 0xFF, 0xAA], &mut a)
            .unwrap();
        short_attempts(&mut run.rsp, &a[..n], ack.len(), "refused GET_MEASUREMENTS");
        // `t` (the same session) sends the signed GET_MEASUREMENTS under that number.
        let signed = ops
            .iter()
            .find(|x| x.name == "signed measurements in the session")
            .unwrap();
        let n = (signed.write)(&mut t, &mut a).unwrap();
        let q = a[..n].to_vec();
        let b = run.answer(&q);
        let r = (signed.handle)(&mut t, &mut b.clone());
        assert!(r.starts_with("Ok"), "{r}");
    }
}
