//! Helpers of the outsider round 7 tests: a PSK responder written by hand around our
//! requester. The VCA answers come from a real responder and may be rewritten on their way
//! (the transcript is kept from the bytes the requester saw); PSK_EXCHANGE_RSP, PSK_FINISH_RSP
//! and every session answer are built here from the public key schedule and record layer, so
//! their fields can hold anything a third-party responder may send.
#![allow(dead_code, clippy::unwrap_used, clippy::panic)]

use crate::common::{self, Fixture, TestRng};
use spdm_lite::Error;
use spdm_lite::crypto::{AlgorithmSet, EcdsaSigningKey, RustCrypto, Secret};
use spdm_lite::key_schedule::KeySchedule;
use spdm_lite::msgs::Version;
use spdm_lite::msgs::psk::PskExchange;
use spdm_lite::record::DirectionKeys;
use spdm_lite::requester::{Auth, Requester, RequesterConfig, RequesterSession, Status};
use spdm_lite::responder::Responder;

/// The real responder answering the VCA.
pub(crate) type Rsp<'a> = Responder<'a, RustCrypto, EcdsaSigningKey>;

/// libspdm's answer opaque data (format 1): one DMTF element selecting secured-message
/// version 1.2 (`SMDataVersion 1, SMDataID 0, 00 12`), 12 bytes.
pub(crate) const OPAQUE_SELECT_12: [u8; 12] = [1, 0, 0, 0, 0, 0, 4, 0, 1, 0, 0x00, 0x12];

/// Rewrites the SPDM answer (without the MCTP type) to VCA step 0, 1 or 2.
pub(crate) type VcaHook = Box<dyn FnMut(usize, &mut Vec<u8>)>;

/// What the hand-written responder puts in PSK_EXCHANGE_RSP.
pub(crate) struct PskOpts {
    /// Rewrites the VCA answers.
    pub(crate) vca: VcaHook,
    /// HeartbeatPeriod (Param1).
    pub(crate) heartbeat: u8,
    /// OpaqueData.
    pub(crate) opaque: Vec<u8>,
    /// RspSessionID.
    pub(crate) rsp_session_id: u16,
    /// Param2 (reserved in 1.2).
    pub(crate) param2: u8,
    /// Length of the ResponderContext when the capabilities announce PSK with context.
    pub(crate) context_len: usize,
    /// Replaces the answer of a step (0..=4) by these SPDM bytes (sealed under the handshake
    /// response key at step 4).
    pub(crate) replace: Option<(usize, Vec<u8>)>,
    /// MeasurementSummaryHashType the requester asks for (its summary is `0xAB` bytes).
    pub(crate) summary: Option<spdm_lite::measurements::SummaryType>,
    /// The Reserved field after RspSessionID.
    pub(crate) reserved: u16,
}

impl Default for PskOpts {
    fn default() -> Self {
        Self {
            vca: Box::new(|_, _| {}),
            heartbeat: 0,
            opaque: OPAQUE_SELECT_12.to_vec(),
            rsp_session_id: 0xBEEF,
            param2: 0,
            context_len: 32,
            replace: None,
            summary: None,
            reserved: 0,
        }
    }
}

/// The responder's side of an established session (application keys).
pub(crate) struct Peer {
    pub(crate) set: AlgorithmSet,
    pub(crate) sid: u32,
    /// Opens the requester's records.
    pub(crate) req: DirectionKeys,
    /// Seals our answers.
    pub(crate) rsp: DirectionKeys,
    pub(crate) req_secret: Secret,
    pub(crate) rsp_secret: Secret,
}

impl Peer {
    fn ks(&self) -> KeySchedule<'static, RustCrypto> {
        KeySchedule::new(&RustCrypto, self.set.hash, Version::V12)
    }

    /// Opens a record of the requester; the SPDM request inside.
    pub(crate) fn open(&mut self, rec: &[u8]) -> Vec<u8> {
        let mut r = rec.to_vec();
        spdm_lite::record::open(&RustCrypto, self.sid, &mut self.req, &mut r)
            .unwrap()
            .to_vec()
    }

    /// Seals the SPDM answer `spdm` with random padding `pad`.
    pub(crate) fn seal(&mut self, spdm: &[u8], pad: &[u8]) -> Vec<u8> {
        let mut out = vec![0u8; spdm.len() + pad.len() + 64];
        let n = spdm_lite::record::seal(&RustCrypto, self.sid, &mut self.rsp, spdm, pad, &mut out)
            .unwrap();
        out.truncate(n);
        out
    }

    /// A response record whose whole plaintext (AppDataLength, MCTP type, SPDM, padding) is
    /// `plaintext`, under the current response key; uses its sequence number up.
    pub(crate) fn seal_plaintext(&mut self, plaintext: &[u8]) -> Vec<u8> {
        let seq = self.rsp.sequence();
        let rec = common::seal_raw_record(self.set, &self.rsp_secret, self.sid, seq, plaintext);
        // Move this direction's counter past the sequence number used.
        let _ = self.seal(&[], &[]);
        rec
    }

    /// Moves the request direction to its next secret (after a KEY_UPDATE was answered).
    pub(crate) fn update_req(&mut self) {
        let s = self.ks().update(&self.req_secret).unwrap();
        self.req = DirectionKeys::new(self.ks().traffic_keys(self.set.aead, &s).unwrap());
        self.req_secret = s;
    }

    /// Moves the response direction to its next secret.
    pub(crate) fn update_rsp(&mut self) {
        let s = self.ks().update(&self.rsp_secret).unwrap();
        self.rsp = DirectionKeys::new(self.ks().traffic_keys(self.set.aead, &s).unwrap());
        self.rsp_secret = s;
    }
}

/// A PSK requester of `set` (DataTransferSize 1024).
pub(crate) fn psk_requester(set: AlgorithmSet, rng: &mut TestRng) -> Requester<'_, RustCrypto> {
    let sets: &'static [AlgorithmSet] = Box::leak(vec![set].into_boxed_slice());
    Requester::new(
        RustCrypto,
        rng,
        RequesterConfig {
            algorithms: sets,
            handshake_in_the_clear: false,
            data_transfer_size: 1024,
        },
        Auth::Psk {
            hint: common::HINT,
            key: common::PSK,
        },
    )
    .unwrap()
}

/// Where a hand-driven handshake stopped: the step (0..=2 VCA, 3 PSK_EXCHANGE, 4 PSK_FINISH),
/// the requester's error, and what `write_request` said next (poisoned, as documented).
pub(crate) type Stop = (usize, Error, Result<usize, Error>);

/// Runs a PSK handshake of a fresh requester of `set` against the hand-written responder
/// with `opts`; the requester's session and the responder's keys, or where it stopped.
pub(crate) fn psk_session(
    set: AlgorithmSet,
    opts: PskOpts,
) -> Result<(RequesterSession<RustCrypto>, Peer), Stop> {
    let fx: &'static Fixture = Box::leak(Box::new(common::fixture(set)));
    let rr: &'static mut TestRng = Box::leak(Box::new(TestRng(7)));
    let mut rsp =
        Responder::new(RustCrypto, &fx.key, rr, common::test_config(set, &fx.chain)).unwrap();
    let qr: &'static mut TestRng = Box::leak(Box::new(TestRng(9)));
    let req = psk_requester(set, qr);
    psk_session_with(set, req, &mut rsp, opts)
}

/// [`psk_session`] with a given requester and VCA responder.
pub(crate) fn psk_session_with(
    set: AlgorithmSet,
    mut req: Requester<'_, RustCrypto>,
    rsp: &mut Rsp<'_>,
    mut opts: PskOpts,
) -> Result<(RequesterSession<RustCrypto>, Peer), Stop> {
    if let Some(t) = opts.summary {
        req.set_measurement_summary(t);
    }
    let mut a = Vec::new();
    let mut with_context = false;
    let mut buf = vec![0u8; 4096];
    let stop = |step: usize, e: Error, req: &mut Requester<'_, RustCrypto>| -> Stop {
        (step, e, req.write_request(&mut vec![0u8; 4096]))
    };
    for step in 0..3 {
        let n = req
            .write_request(&mut buf)
            .map_err(|e| stop(step, e, &mut req))?;
        let mut ans = common::send(rsp, &buf[..n]).unwrap();
        let mut spdm = ans[1..].to_vec();
        (opts.vca)(step, &mut spdm);
        if let Some((at, r)) = &opts.replace
            && *at == step
        {
            spdm.clone_from(r);
        }
        if step == 1 && spdm[1] == 0x61 {
            let f = u32::from_le_bytes(spdm[8..12].try_into().unwrap());
            with_context = f & (3 << 10) == 2 << 10;
        }
        a.extend_from_slice(&buf[1..n]);
        a.extend_from_slice(&spdm);
        ans.truncate(1);
        ans.extend_from_slice(&spdm);
        let st = req
            .handle_response(&mut ans)
            .map_err(|e| stop(step, e, &mut req))?;
        assert_eq!(st, Status::Continue);
    }
    // PSK_EXCHANGE.
    let n = req
        .write_request(&mut buf)
        .map_err(|e| stop(3, e, &mut req))?;
    let px = buf[1..n].to_vec();
    let p = PskExchange::parse(&px).unwrap();
    let h = set.sizes().hash;
    let ctx: Vec<u8> = if with_context {
        (0..opts.context_len).map(|i| i as u8 ^ 0x3C).collect()
    } else {
        Vec::new()
    };
    let mut pxr = vec![0x12, 0x66, opts.heartbeat, opts.param2];
    pxr.extend(opts.rsp_session_id.to_le_bytes());
    pxr.extend(opts.reserved.to_le_bytes());
    pxr.extend((ctx.len() as u16).to_le_bytes());
    pxr.extend((opts.opaque.len() as u16).to_le_bytes());
    if p.meas_hash_type != 0 {
        pxr.extend(vec![0xABu8; h]);
    }
    pxr.extend_from_slice(&ctx);
    pxr.extend_from_slice(&opts.opaque);
    let ks = KeySchedule::new(&RustCrypto, set.hash, Version::V12);
    let th1 = common::hash_digest(set, &[&a, &px, &pxr]);
    let hs = ks.handshake_secret(common::PSK, true).unwrap();
    let master = ks.master_secret(&hs).unwrap();
    let hss = ks.handshake(hs, &th1).unwrap();
    pxr.extend_from_slice(
        ks.verify_data(&hss.response.finished_key, &th1)
            .unwrap()
            .as_bytes(),
    );
    let sid = u32::from(p.req_session_id) | (u32::from(opts.rsp_session_id) << 16);
    let mut m = vec![0x05];
    match &opts.replace {
        Some((3, r)) => m.extend_from_slice(r),
        _ => m.extend_from_slice(&pxr),
    }
    let st = req
        .handle_response(&mut m)
        .map_err(|e| stop(3, e, &mut req))?;
    let mut th2: Vec<u8> = [a.as_slice(), &px, &pxr].concat();
    if with_context {
        assert_eq!(st, Status::Continue);
        let mut hreq = DirectionKeys::new(ks.traffic_keys(set.aead, &hss.request.secret).unwrap());
        let mut hrsp = DirectionKeys::new(ks.traffic_keys(set.aead, &hss.response.secret).unwrap());
        let n = req
            .write_request(&mut buf)
            .map_err(|e| stop(4, e, &mut req))?;
        let mut rec = buf[..n].to_vec();
        let pf = spdm_lite::record::open(&RustCrypto, sid, &mut hreq, &mut rec)
            .unwrap()
            .to_vec();
        assert_eq!(pf[..4], [0x12, 0xE7, 0, 0]);
        let th = common::hash_digest(set, &[&th2, &pf[..4]]);
        ks.check_verify_data(&hss.request.finished_key, &th, &pf[4..])
            .unwrap();
        let pfr: Vec<u8> = match &opts.replace {
            Some((4, r)) => r.clone(),
            _ => vec![0x12, 0x67, 0, 0],
        };
        th2.extend_from_slice(&pf);
        th2.extend_from_slice(&pfr);
        let mut out = vec![0u8; 256];
        let n = spdm_lite::record::seal(&RustCrypto, sid, &mut hrsp, &pfr, &[], &mut out).unwrap();
        let st = req
            .handle_response(&mut out[..n])
            .map_err(|e| stop(4, e, &mut req))?;
        assert_eq!(st, Status::Established);
    } else {
        assert_eq!(st, Status::Established);
    }
    let d = ks
        .data(&master, &common::hash_digest(set, &[&th2]))
        .unwrap();
    let peer = Peer {
        set,
        sid,
        req: DirectionKeys::new(ks.traffic_keys(set.aead, &d.request).unwrap()),
        rsp: DirectionKeys::new(ks.traffic_keys(set.aead, &d.response).unwrap()),
        req_secret: d.request,
        rsp_secret: d.response,
    };
    Ok((req.into_session().unwrap(), peer))
}

/// One request of `s` written by `write`, opened by `peer`; the request's SPDM bytes.
pub(crate) fn request(
    s: &mut RequesterSession<RustCrypto>,
    peer: &mut Peer,
    write: impl FnOnce(&mut RequesterSession<RustCrypto>, &mut [u8]) -> Result<usize, Error>,
) -> Vec<u8> {
    let mut out = vec![0u8; 4096];
    let n = write(s, &mut out).unwrap();
    peer.open(&out[..n])
}

/// A certificate requester of `set` without CHALLENGE (the CERTIFICATE and DIGESTS bytes are
/// then in no signed transcript, so they can be rewritten), chain buffer leaked.
pub(crate) fn cert_requester(set: AlgorithmSet, rng: &mut TestRng) -> Requester<'_, RustCrypto> {
    let buf: &'static mut [u8] = Box::leak(vec![0u8; 8192].into_boxed_slice());
    let sets: &'static [AlgorithmSet] = Box::leak(vec![set].into_boxed_slice());
    Requester::new(
        RustCrypto,
        rng,
        RequesterConfig {
            algorithms: sets,
            handshake_in_the_clear: false,
            data_transfer_size: 1024,
        },
        Auth::Certificate {
            verifier: common::verifier(set),
            chain_buf: buf,
            challenge: false,
        },
    )
    .unwrap()
}

/// Runs `req` against the real responder `rsp`; every plain answer passes through
/// `hook(request, answer)` (SPDM bytes, without the MCTP type). The requests seen, and the
/// session or the requester's error with what `write_request` said next.
pub(crate) fn drive(
    mut req: Requester<'_, RustCrypto>,
    rsp: &mut Rsp<'_>,
    hook: &mut dyn FnMut(&[u8], &mut Vec<u8>),
) -> (Vec<Vec<u8>>, Result<RequesterSession<RustCrypto>, Stop>) {
    let mut seen = Vec::new();
    let mut buf = vec![0u8; 4096];
    for step in 0..10_000 {
        let n = match req.write_request(&mut buf) {
            Ok(n) => n,
            Err(e) => return (seen, Err((step, e, Ok(0)))),
        };
        let plain = buf[0] == 0x05;
        if plain {
            seen.push(buf[1..n].to_vec());
        }
        let mut ans = common::send(rsp, &buf[..n]).unwrap();
        if plain && ans[0] == 0x05 {
            let mut spdm = ans[1..].to_vec();
            hook(&buf[1..n], &mut spdm);
            ans.truncate(1);
            ans.extend_from_slice(&spdm);
        }
        match req.handle_response(&mut ans) {
            Ok(Status::Established) => return (seen, Ok(req.into_session().unwrap())),
            Ok(_) => {}
            Err(e) => {
                let next = req.write_request(&mut vec![0u8; 4096]);
                return (seen, Err((step, e, next)));
            }
        }
    }
    panic!("no end");
}
