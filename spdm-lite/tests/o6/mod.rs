//! Helpers of the outsider round 6 tests: a responder driven with raw SPDM bytes, the VCA
//! requests of our requester captured once, and a certificate session to probe records with.
#![allow(dead_code, clippy::unwrap_used, clippy::panic)]

use crate::common::{self, Fixture, TestRng};
use spdm_lite::Error;
use spdm_lite::crypto::{AlgorithmSet, EcdsaSigningKey, RustCrypto};
use spdm_lite::requester::{Auth, Requester, RequesterConfig, RequesterSession, Status};
use spdm_lite::responder::Responder;

/// A responder of `set` over the test PKI (slot-0 chain, the test PSK).
pub(crate) type Rsp<'a> = Responder<'a, RustCrypto, EcdsaSigningKey>;

/// The responder of the common test configuration.
pub(crate) fn responder<'a>(set: AlgorithmSet, fx: &'a Fixture, rng: &'a mut TestRng) -> Rsp<'a> {
    Responder::new(
        RustCrypto,
        &fx.key,
        rng,
        common::test_config(set, &fx.chain),
    )
    .unwrap()
}

/// `0x05 ‖ spdm`: a plain MCTP SPDM message.
pub(crate) fn mctp(spdm: &[u8]) -> Vec<u8> {
    let mut v = vec![0x05];
    v.extend_from_slice(spdm);
    v
}

/// Sends the plain SPDM request `spdm`; the SPDM answer (without the MCTP type byte).
pub(crate) fn ask(rsp: &mut Rsp<'_>, spdm: &[u8]) -> Vec<u8> {
    let a = common::send(rsp, &mctp(spdm)).unwrap();
    assert_eq!(a[0], 0x05, "plain answer");
    a[1..].to_vec()
}

/// The requests (SPDM bytes) and answers of a VCA of our requester offering `set`.
pub(crate) struct Vca {
    pub(crate) get_version: Vec<u8>,
    pub(crate) get_caps: Vec<u8>,
    pub(crate) neg_algs: Vec<u8>,
}

/// Captures the three VCA requests our requester sends (they draw no random bytes).
pub(crate) fn vca(set: AlgorithmSet) -> Vca {
    let fx = common::fixture(set);
    let mut rr = TestRng(7);
    let mut rsp = responder(set, &fx, &mut rr);
    let mut qr = TestRng(9);
    let mut buf = vec![0u8; 8192];
    let sets = [set];
    let mut req = Requester::new(
        RustCrypto,
        &mut qr,
        RequesterConfig {
            algorithms: &sets,
            handshake_in_the_clear: false,
            data_transfer_size: 1024,
        },
        Auth::Certificate {
            verifier: common::verifier(set),
            chain_buf: &mut buf,
            challenge: true,
        },
    )
    .unwrap();
    let mut out = Vec::new();
    for _ in 0..3 {
        let mut a = [0u8; 4096];
        let mut b = [0u8; 4096];
        let n = req.write_request(&mut a).unwrap();
        out.push(a[1..n].to_vec());
        let m = rsp.handle(&mut a[..n], &mut b).unwrap();
        assert_eq!(req.handle_response(&mut b[..m]).unwrap(), Status::Continue);
    }
    Vca {
        get_version: out[0].clone(),
        get_caps: out[1].clone(),
        neg_algs: out[2].clone(),
    }
}

/// Runs the VCA of `v` on `rsp` (each answer must not be an ERROR).
pub(crate) fn run_vca(rsp: &mut Rsp<'_>, v: &Vca) {
    for r in [&v.get_version, &v.get_caps, &v.neg_algs] {
        let a = ask(rsp, r);
        assert_ne!(a[1], 0x7F, "VCA answer {a:02x?}");
    }
}

/// A certificate requester of `set` (with CHALLENGE) whose chain buffer is leaked.
pub(crate) fn cert_requester(set: AlgorithmSet, rng: &mut TestRng) -> Requester<'_, RustCrypto> {
    cert_requester_with(set, rng, false)
}

/// [`cert_requester`], offering HANDSHAKE_IN_THE_CLEAR if `in_clear`.
pub(crate) fn cert_requester_with(
    set: AlgorithmSet,
    rng: &mut TestRng,
    in_clear: bool,
) -> Requester<'_, RustCrypto> {
    let buf: &'static mut [u8] = Box::leak(vec![0u8; 8192].into_boxed_slice());
    let sets: &'static [AlgorithmSet] = Box::leak(vec![set].into_boxed_slice());
    Requester::new(
        RustCrypto,
        rng,
        RequesterConfig {
            algorithms: sets,
            handshake_in_the_clear: in_clear,
            data_transfer_size: 1024,
        },
        Auth::Certificate {
            verifier: common::verifier(set),
            chain_buf: buf,
            challenge: true,
        },
    )
    .unwrap()
}

/// Runs `req` against `rsp` to `Established` and returns the session.
pub(crate) fn establish<'r>(
    mut req: Requester<'r, RustCrypto>,
    rsp: &mut Rsp<'_>,
) -> RequesterSession<RustCrypto> {
    for _ in 0..64 {
        if common::exchange(&mut req, rsp).unwrap() == Status::Established {
            return req.into_session().unwrap();
        }
    }
    panic!("no session");
}

/// An ERROR answer's code, or `None` for another answer.
pub(crate) fn err_code(a: &[u8]) -> Option<u8> {
    (a.get(1) == Some(&0x7F)).then(|| a[2])
}

/// `Result` helper: the error of `r` as text.
pub(crate) fn e<T: core::fmt::Debug>(r: Result<T, Error>) -> String {
    format!("{r:?}")
}

/// GET_CAPABILITIES 1.2 of a PSK-only requester: ENCRYPT, MAC, PSK_CAP (01b), HBEAT,
/// KEY_UPD; DataTransferSize = MaxSPDMmsgSize = 1024.
pub(crate) fn psk_get_caps() -> Vec<u8> {
    let flags: u32 = 0x40 | 0x80 | 0x400 | 0x2000 | 0x4000;
    let mut m = vec![0x12, 0xE1, 0, 0, 0, 0, 0, 0];
    m.extend(flags.to_le_bytes());
    m.extend(1024u32.to_le_bytes());
    m.extend(1024u32.to_le_bytes());
    m
}

/// OpaqueDataFmt1 with the secured-message versions 1.0, 1.1 and 1.2 supported (20 bytes).
pub(crate) const OPAQUE_VERSIONS: [u8; 20] = [
    1, 0, 0, 0, 0, 0, 9, 0, 1, 1, 3, 0, 0x10, 0, 0x11, 0, 0x12, 0, 0, 0,
];

/// A third-party requester built from the public codecs, key schedule and record layer
/// only: it speaks PSK with raw bytes, so it can put anything in a record (any version, any
/// code, any parameters) and read every answer. Keys are the application keys after
/// PSK_FINISH.
pub(crate) struct RawPsk {
    pub(crate) set: AlgorithmSet,
    pub(crate) sid: u32,
    pub(crate) req: spdm_lite::record::DirectionKeys,
    pub(crate) rsp: spdm_lite::record::DirectionKeys,
    /// The application secrets (request, response) for KEY_UPDATE.
    pub(crate) req_secret: spdm_lite::crypto::Secret,
    pub(crate) rsp_secret: spdm_lite::crypto::Secret,
    /// The VCA requests used (for replays).
    pub(crate) vca: Vca,
    /// The VCA transcript A (the six messages, as exchanged).
    pub(crate) a: Vec<u8>,
}

fn digest(set: AlgorithmSet, parts: &[&[u8]]) -> spdm_lite::crypto::Digest {
    common::hash_digest(set, parts)
}

impl RawPsk {
    /// VCA + PSK_EXCHANGE + PSK_FINISH by hand against `rsp`.
    pub(crate) fn establish(set: AlgorithmSet, rsp: &mut Rsp<'_>) -> Self {
        Self::establish_with(set, rsp, &mut |_, _| {})
    }

    /// [`RawPsk::establish`] with `inject(step, rsp)` called before each plain step (0
    /// GET_VERSION, 1 GET_CAPABILITIES, 2 NEGOTIATE_ALGORITHMS, 3 PSK_EXCHANGE) and before
    /// PSK_FINISH (step 4): whatever it sends must leave the transcripts as they were, or the
    /// verify data checked here (both directions) fails.
    pub(crate) fn establish_with(
        set: AlgorithmSet,
        rsp: &mut Rsp<'_>,
        inject: &mut dyn FnMut(usize, &mut Rsp<'_>),
    ) -> Self {
        let mut v = vca(set);
        v.get_caps = psk_get_caps();
        Self::establish_vca(set, rsp, v, 0, inject)
    }

    /// [`RawPsk::establish_with`] with the VCA requests `v` and PSK_EXCHANGE Param2
    /// (SessionPolicy) `policy`.
    pub(crate) fn establish_vca(
        set: AlgorithmSet,
        rsp: &mut Rsp<'_>,
        v: Vca,
        policy: u8,
        inject: &mut dyn FnMut(usize, &mut Rsp<'_>),
    ) -> Self {
        use spdm_lite::key_schedule::KeySchedule;
        use spdm_lite::msgs::Version;
        use spdm_lite::msgs::psk::PskExchangeRsp;
        use spdm_lite::record::DirectionKeys;
        let mut a = Vec::new();
        for (i, r) in [&v.get_version, &v.get_caps, &v.neg_algs]
            .into_iter()
            .enumerate()
        {
            inject(i, rsp);
            let ans = ask(rsp, r);
            assert_ne!(ans[1], 0x7F, "VCA answer {ans:02x?}");
            a.extend_from_slice(r);
            a.extend_from_slice(&ans);
        }
        let ctx = [0x5Au8; 32];
        let mut px = vec![0x12, 0xE6, 0, policy];
        px.extend(0x1234u16.to_le_bytes());
        px.extend((common::HINT.len() as u16).to_le_bytes());
        px.extend((ctx.len() as u16).to_le_bytes());
        px.extend((OPAQUE_VERSIONS.len() as u16).to_le_bytes());
        px.extend_from_slice(common::HINT);
        px.extend_from_slice(&ctx);
        px.extend_from_slice(&OPAQUE_VERSIONS);
        inject(3, rsp);
        let pxr = ask(rsp, &px);
        let p = PskExchangeRsp::parse(&pxr, set.sizes(), false)
            .unwrap_or_else(|e| panic!("{e:?}: {pxr:02x?}"));
        let sid = 0x1234u32 | (u32::from(p.rsp_session_id) << 16);
        let ks = KeySchedule::new(&RustCrypto, set.hash, Version::V12);
        let th1 = digest(set, &[&a, &px, &pxr[..p.th1_len()]]);
        let hs = ks.handshake_secret(common::PSK, true).unwrap();
        let master = ks.master_secret(&hs).unwrap();
        let hss = ks.handshake(hs, &th1).unwrap();
        ks.check_verify_data(&hss.response.finished_key, &th1, p.verify_data)
            .unwrap();
        let mut pf = vec![0x12, 0xE7, 0, 0];
        let th = digest(set, &[&a, &px, &pxr, &pf]);
        pf.extend_from_slice(
            ks.verify_data(&hss.request.finished_key, &th)
                .unwrap()
                .as_bytes(),
        );
        let mut hreq = DirectionKeys::new(ks.traffic_keys(set.aead, &hss.request.secret).unwrap());
        let mut hrsp = DirectionKeys::new(ks.traffic_keys(set.aead, &hss.response.secret).unwrap());
        inject(4, rsp);
        let mut rec = vec![0u8; 512];
        let n =
            spdm_lite::record::seal(&RustCrypto, sid, &mut hreq, &pf, &[0; 3], &mut rec).unwrap();
        let mut ans = common::send(rsp, &rec[..n]).unwrap();
        let pfr = spdm_lite::record::open(&RustCrypto, sid, &mut hrsp, &mut ans)
            .unwrap()
            .to_vec();
        assert_eq!(pfr, [0x12, 0x67, 0, 0]);
        let th2 = digest(set, &[&a, &px, &pxr, &pf, &pfr]);
        let d = ks.data(&master, &th2).unwrap();
        let req = DirectionKeys::new(ks.traffic_keys(set.aead, &d.request).unwrap());
        let rspk = DirectionKeys::new(ks.traffic_keys(set.aead, &d.response).unwrap());
        Self {
            set,
            sid,
            req,
            rsp: rspk,
            req_secret: d.request,
            rsp_secret: d.response,
            vca: v,
            a,
        }
    }

    /// Seals `spdm` (any bytes) with `pad` into a record under the current request key.
    pub(crate) fn seal(&mut self, spdm: &[u8], pad: &[u8]) -> Vec<u8> {
        let mut rec = vec![0u8; spdm.len() + 64];
        let n = spdm_lite::record::seal(&RustCrypto, self.sid, &mut self.req, spdm, pad, &mut rec)
            .unwrap();
        rec.truncate(n);
        rec
    }

    /// A record under the current request key whose whole plaintext (AppDataLength, the
    /// application data and any padding) is `plaintext`, as sent; uses the sequence number
    /// up (the next record goes at the next one).
    pub(crate) fn seal_plaintext(&mut self, plaintext: &[u8]) -> Vec<u8> {
        let seq = self.req.sequence();
        let rec = common::seal_raw_record(self.set, &self.req_secret, self.sid, seq, plaintext);
        // Move this direction's counter past the sequence number used.
        let _ = self.seal(&[], &[]);
        rec
    }

    /// Opens an answer record under the current response key; the SPDM message inside.
    pub(crate) fn open(&mut self, mut rec: Vec<u8>) -> Result<Vec<u8>, Error> {
        spdm_lite::record::open(&RustCrypto, self.sid, &mut self.rsp, &mut rec).map(<[u8]>::to_vec)
    }

    /// Sends `spdm` in the session; the SPDM answer (the record must open).
    pub(crate) fn ask(&mut self, rsp: &mut Rsp<'_>, spdm: &[u8]) -> Vec<u8> {
        let rec = self.seal(spdm, &[0xA5; 4]);
        let ans = common::send(rsp, &rec).unwrap_or_else(|e| panic!("no answer: {e:?}"));
        self.open(ans).unwrap()
    }

    /// A copy of this peer for a probe (keys re-derived from the secrets, sequence numbers
    /// 0): replace the keys of interest with struct update syntax.
    pub(crate) fn clone_for_probe(&self) -> Self {
        let ks = spdm_lite::key_schedule::KeySchedule::new(
            &RustCrypto,
            self.set.hash,
            spdm_lite::msgs::Version::V12,
        );
        let k = |s: &spdm_lite::crypto::Secret| {
            spdm_lite::record::DirectionKeys::new(ks.traffic_keys(self.set.aead, s).unwrap())
        };
        Self {
            set: self.set,
            sid: self.sid,
            req: k(&self.req_secret),
            rsp: k(&self.rsp_secret),
            req_secret: spdm_lite::crypto::Secret::from_slice(self.req_secret.as_bytes()).unwrap(),
            rsp_secret: spdm_lite::crypto::Secret::from_slice(self.rsp_secret.as_bytes()).unwrap(),
            vca: Vca {
                get_version: self.vca.get_version.clone(),
                get_caps: self.vca.get_caps.clone(),
                neg_algs: self.vca.neg_algs.clone(),
            },
            a: self.a.clone(),
        }
    }

    /// Derives the next secret of a direction and its keys (KEY_UPDATE).
    pub(crate) fn next_keys(
        &self,
        secret: &spdm_lite::crypto::Secret,
    ) -> (spdm_lite::crypto::Secret, spdm_lite::record::DirectionKeys) {
        let ks = spdm_lite::key_schedule::KeySchedule::new(
            &RustCrypto,
            self.set.hash,
            spdm_lite::msgs::Version::V12,
        );
        let s = ks.update(secret).unwrap();
        let k = spdm_lite::record::DirectionKeys::new(ks.traffic_keys(self.set.aead, &s).unwrap());
        (s, k)
    }
}
