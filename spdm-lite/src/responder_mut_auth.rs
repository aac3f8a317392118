//! The responder's side of session mutual authentication: the decision in KEY_EXCHANGE_RSP,
//! the encapsulated GET_DIGESTS / GET_CERTIFICATE flow, and the FINISH signature check (see
//! [`crate::mut_auth`]).

use super::{
    Conn, Fail, Fault, Handshake, INVALID, LocalExt, Responder, Sink, State, UNEXPECTED, body,
    fault,
};
use crate::cert::CertError;
use crate::codec::Writer;
use crate::crypto::{AlgorithmSet, AsymAlgo, CryptoProvider, Digest, HashCtx, Signer};
use crate::msgs::capabilities::CapFlags;
use crate::msgs::certificate::{CertificateRsp, GetCertificate};
use crate::msgs::digests::{DigestsRsp, GetDigests};
use crate::msgs::encapsulated::{
    DeliverEncapsulatedResponse, EncapsulatedRequest, EncapsulatedResponseAck,
    GetEncapsulatedRequest, PAYLOAD_NONE, PAYLOAD_REQUEST,
};
use crate::msgs::error::ErrorCode;
use crate::msgs::finish::Finish;
use crate::msgs::{Code, Encode, Header, Version};
use crate::mut_auth::{
    MUT_AUTH_REQUESTED, MUT_AUTH_REQUESTED_WITH_ENCAP, MutAuthMode, PROVISIONED_KEY_SLOT,
    PROVISIONED_KEY_SLOT_PARAM, spki_ec_point,
};
use crate::record;
use crate::session::Role;
use crate::transcript::{context, signing_digest};

/// The encapsulated request flow (the certificate mode) is built (feature `encap`, default).
/// Without it a certificate-mode policy treats every requester as unable to authenticate
/// (KEY_EXCHANGE is refused when the policy is mandatory), encapsulated requests are
/// answered UnexpectedRequest as when no flow is pending, and none of the flow's code links.
const ENCAP: bool = cfg!(feature = "encap");

/// Largest SEC1 public key of a built curve (`04‖X‖Y`: 97 bytes on P-384, 65 on P-256).
const MAX_SEC1_LEN: usize = 1 + crate::crypto::MAX_DHE_LEN;

/// Where the encapsulated flow is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum EncapStep {
    /// No encapsulated flow (no mutual authentication, or the plain mode).
    Off,
    /// Waiting for GET_ENCAPSULATED_REQUEST.
    AwaitGet,
    /// GET_DIGESTS sent; waiting for its DIGESTS.
    AwaitDigests,
    /// GET_CERTIFICATE sent; waiting for a CERTIFICATE portion.
    AwaitCertificate,
    /// The chain is validated; FINISH may come.
    Done,
}

/// The mutual-authentication state of one handshake.
pub(super) struct Mutual {
    /// MutAuthRequested sent in KEY_EXCHANGE_RSP (0: none).
    pub(super) requested: u8,
    /// The requester's signature algorithm (ReqBaseAsymAlg).
    req_asym: Option<AsymAlgo>,
    /// FINISH Param2 expected.
    finish_slot: u8,
    /// The requester's SEC1 key, once known.
    key: [u8; MAX_SEC1_LEN],
    key_len: usize,
    /// `Hash(Cm)`, once known.
    cm_hash: Option<Digest>,
    step: EncapStep,
    /// RequestID of the outstanding encapsulated request.
    request_id: u8,
    /// The slot-0 digest from the encapsulated DIGESTS.
    digest: Option<Digest>,
    /// Bytes of the chain collected so far.
    chain_len: usize,
}

impl Mutual {
    pub(super) const NONE: Self = Self {
        requested: 0,
        req_asym: None,
        finish_slot: 0,
        key: [0; MAX_SEC1_LEN],
        key_len: 0,
        cm_hash: None,
        step: EncapStep::Off,
        request_id: 0,
        digest: None,
        chain_len: 0,
    };

    /// The refusal of a request other than the encapsulated ones and FINISH during the
    /// handshake: RequestInFlight while an encapsulated request is outstanding (the requester
    /// has to answer it first), else UnexpectedRequest.
    pub(super) fn refusal(&self) -> Fault {
        match self.step {
            EncapStep::Off | EncapStep::Done => UNEXPECTED,
            _ => fault(ErrorCode::REQUEST_IN_FLIGHT),
        }
    }

    fn with_key(mut self, point: &[u8]) -> Result<Self, Fault> {
        let dst = self.key.get_mut(..point.len()).ok_or(INTERNAL)?;
        dst.copy_from_slice(point);
        self.key_len = point.len();
        Ok(self)
    }
}

/// A local misconfiguration (a provisioned key or hash of the wrong kind).
const INTERNAL: Fault = fault(ErrorCode::UNSPECIFIED);

/// Whether a FINISH failure ends the handshake (mutual authentication failed) or leaves it
/// waiting for a correct FINISH.
pub(super) struct FinishRefusal {
    pub(super) fault: Fault,
    pub(super) fatal: bool,
}

impl<'a, P: CryptoProvider, S: Signer> Responder<'a, P, S> {
    /// Asks for mutual authentication: the responder's policy in effect, and the requester
    /// announced `MUT_AUTH_CAP` (and a usable requester algorithm).
    pub fn set_mut_auth(&mut self, policy: crate::mut_auth::MutAuthPolicy<'a>) {
        self.mut_auth = Some(policy);
    }

    /// The CAPABILITIES flags: the configuration's, plus `MUT_AUTH_CAP` and `ENCAP_CAP`
    /// with a mutual-authentication policy, and `MEAS_CAP` (with signatures) with a
    /// measurement provider.
    #[inline(never)]
    pub fn capabilities(&self) -> CapFlags {
        let mut f = self.config.capabilities();
        if self.mut_auth.is_some() {
            f.0 |= CapFlags::MUT_AUTH | CapFlags::ENCAP;
        }
        if self.meas.is_some() {
            f.0 |= CapFlags::MEAS_SIG;
        }
        #[cfg(feature = "provisioning")]
        {
            f.0 |= self.provisioning_caps();
        }
        f
    }

    /// The ReqBaseAsymAlg to select from the requester's offer (type-4 AlgStruct): only with a
    /// policy (this responder's `MUT_AUTH_CAP`, whatever the requester announced: whether it
    /// takes part is decided at KEY_EXCHANGE); the responder's own algorithm first, and only
    /// algorithms this build has.
    #[inline(never)]
    pub(super) fn select_req_asym(&self, offered: Option<u16>) -> Option<AsymAlgo> {
        let offered = u32::from(offered?);
        self.mut_auth.as_ref()?;
        let own = self.config.algorithms.asym;
        [own, AsymAlgo::EcdsaP256, AsymAlgo::EcdsaP384]
            .into_iter()
            .find(|a| offered & a.bit() != 0 && a.is_built())
    }

    /// The mutual-authentication decision for KEY_EXCHANGE_RSP.
    pub(super) fn start_mut_auth(&self, conn: &Conn<P::Hash>) -> Result<Mutual, Fault> {
        let Some(policy) = &self.mut_auth else {
            return Ok(Mutual::NONE);
        };
        let caps = conn.req_caps;
        let encap = matches!(policy.mode, MutAuthMode::Certificate { .. });
        let able = match conn.req_asym {
            Some(_) if caps.has(CapFlags::MUT_AUTH) => {
                !encap || (ENCAP && caps.has(CapFlags::ENCAP) && !caps.has(CapFlags::PUB_KEY_ID))
            }
            _ => false,
        };
        let Some(alg) = conn.req_asym.filter(|_| able) else {
            return if policy.mandatory {
                Err(INTERNAL)
            } else {
                Ok(Mutual::NONE)
            };
        };
        let hash = self.config.algorithms.hash;
        // The parts that depend on the mode, then one Mutual built from them (the requester's
        // key copied in once).
        let (requested, finish_slot, step, cm_hash, point) = match &policy.mode {
            MutAuthMode::PublicKey { spki } => {
                let point = spki_ec_point(alg, spki).ok_or(INTERNAL)?;
                let mut h = self.provider.hash(hash).map_err(|_| INTERNAL)?;
                h.update(spki);
                let cm = h.finish();
                (
                    MUT_AUTH_REQUESTED,
                    PROVISIONED_KEY_SLOT,
                    EncapStep::Off,
                    Some(cm),
                    point,
                )
            }
            MutAuthMode::ChainHash { chain_hash, spki } => {
                let point = spki_ec_point(alg, spki).ok_or(INTERNAL)?;
                if chain_hash.len() != hash.len() {
                    return Err(INTERNAL);
                }
                let cm = Digest::from_slice(chain_hash).map_err(|_| INTERNAL)?;
                (MUT_AUTH_REQUESTED, 0, EncapStep::Off, Some(cm), point)
            }
            // No key yet: the chain comes through the encapsulated requests.
            MutAuthMode::Certificate { .. } => (
                MUT_AUTH_REQUESTED_WITH_ENCAP,
                0,
                EncapStep::AwaitGet,
                None,
                &[][..],
            ),
        };
        Mutual {
            requested,
            req_asym: Some(alg),
            finish_slot,
            cm_hash,
            step,
            ..Mutual::NONE
        }
        .with_key(point)
    }

    /// `ReqSlotIDParam` for KEY_EXCHANGE_RSP.
    pub(super) fn req_slot_id_param(m: &Mutual) -> u8 {
        if m.requested == MUT_AUTH_REQUESTED && m.finish_slot == PROVISIONED_KEY_SLOT {
            PROVISIONED_KEY_SLOT_PARAM
        } else {
            0
        }
    }

    /// Checks FINISH up to its verify data: the signature rules of the mutual-authentication
    /// state and, when requested, the signature. Returns the transcript that the
    /// RequesterVerifyData covers (`TH ‖ [Hash(Cm)] ‖ FINISH header ‖ [Signature]`) and the
    /// verify data.
    #[inline(never)]
    pub(super) fn finish_input<'r>(
        &self,
        hs: &Handshake<P::Hash>,
        req: &'r [u8],
    ) -> Result<(P::Hash, &'r [u8]), FinishRefusal> {
        let m = &hs.mutual;
        let fatal = m.requested != 0;
        let refuse = |fault| FinishRefusal { fault, fatal };
        let set = self.config.algorithms;
        let mut sizes = set.sizes();
        if let Some(a) = m.req_asym {
            sizes.signature = a.signature_len();
        }
        let fin = Finish::parse(req, sizes).map_err(|_| refuse(INVALID))?;
        let header = req.get(..Header::LEN).ok_or(refuse(INVALID))?;
        let mut th = hs.th.clone();
        if m.requested == 0 {
            if fin.signature.is_some() || fin.req_slot_id != 0 {
                return Err(refuse(INVALID));
            }
            th.update(header);
            return Ok((th, fin.verify_data));
        }
        // The chain must have been fetched (encapsulated flow over) before FINISH.
        let (Some(cm), Some(alg)) = (m.cm_hash, m.req_asym) else {
            return Err(refuse(UNEXPECTED));
        };
        let Some(sig) = fin.signature else {
            return Err(refuse(INVALID));
        };
        if fin.req_slot_id != m.finish_slot {
            return Err(refuse(INVALID));
        }
        th.update(cm.as_bytes());
        th.update(header);
        let d = signing_digest(
            &self.provider,
            set.hash,
            Version::V12,
            context::REQUESTER_FINISH,
            &th.clone().finish(),
        )
        .map_err(|_| refuse(INTERNAL))?;
        let key = m.key.get(..m.key_len).unwrap_or(&[]);
        self.provider
            .ecdsa_verify(alg, key, d.as_bytes(), sig)
            .map_err(|_| refuse(fault(ErrorCode::DECRYPT_ERROR)))?;
        th.update(sig);
        Ok((th, fin.verify_data))
    }

    /// Ends a handshake whose mutual authentication failed: ERROR `f` (under the handshake
    /// key unless in the clear), the handshake secrets dropped, back to the negotiated
    /// connection. No session exists.
    pub(super) fn abort_handshake(
        &self,
        hs: Handshake<P::Hash>,
        f: Fault,
        in_clear: bool,
        out: &mut [u8],
    ) -> (State<P::Hash>, Result<usize, Fail>) {
        let mut state = State::AwaitFinish(hs);
        let r = self.abort_in_place(&mut state, f, in_clear, out);
        (state, r)
    }

    /// [`Responder::abort_handshake`] on the `AwaitFinish` state in place (any other state
    /// is left as it is and gets the ERROR in the clear). When `out` cannot take the ERROR,
    /// nothing changes.
    pub(super) fn abort_in_place(
        &self,
        state: &mut State<P::Hash>,
        f: Fault,
        in_clear: bool,
        out: &mut [u8],
    ) -> Result<usize, Fail> {
        let State::AwaitFinish(hs) = state else {
            return self
                .write_error(f, Version::V12, Sink::Plain, out)
                .map_err(Fail::Local);
        };
        let conn = hs.conn.clone();
        let sink = if in_clear {
            Sink::Plain
        } else {
            Sink::Keys(hs.session_id, &mut hs.rsp_keys)
        };
        let r = self.write_error(f, Version::V12, sink, out);
        // Once the ERROR is written, the handshake state (its secrets) drops and zeroizes
        // here; no room for it: the handshake stays as it was.
        if !super::no_room(&r) {
            *state = State::Negotiated(conn);
        }
        r.map_err(Fail::Local)
    }

    /// GET_ENCAPSULATED_REQUEST or DELIVER_ENCAPSULATED_RESPONSE while FINISH is awaited.
    pub(super) fn on_encap(
        &mut self,
        mut hs: Handshake<P::Hash>,
        code: Code,
        req: &[u8],
        out: &mut [u8],
        in_clear: bool,
    ) -> (State<P::Hash>, Result<usize, Fail>) {
        if !ENCAP || matches!(hs.mutual.step, EncapStep::Off | EncapStep::Done) {
            // Nothing pending (1.2: UnexpectedRequest); the handshake goes on.
            return (State::AwaitFinish(hs), Err(UNEXPECTED.into()));
        }
        let off = if in_clear { 1 } else { record::SPDM_OFFSET };
        let dts = self.config.data_transfer_size.min(hs.conn.req_dts) as usize;
        let built = match body(out, off) {
            Ok(dst) => self.encap_step(&mut hs.mutual, dts, code, req, dst),
            Err(e) => return (State::AwaitFinish(hs), Err(Fail::Local(e))),
        };
        match built {
            Ok(n) => {
                let sink = if in_clear {
                    Sink::Plain
                } else {
                    Sink::Keys(hs.session_id, &mut hs.rsp_keys)
                };
                let r = sink.finish(&self.provider, out, n);
                (State::AwaitFinish(hs), r.map_err(Fail::Local))
            }
            // A GET_ENCAPSULATED_REQUEST out of place or malformed, or a delivery for another
            // RequestID, carries no identity proof: refused, the flow goes on.
            Err(Fail::Fault(f))
                if code == Code::GET_ENCAPSULATED_REQUEST
                    || DeliverEncapsulatedResponse::parse(req)
                        .map_or(true, |d| d.request_id != hs.mutual.request_id) =>
            {
                (State::AwaitFinish(hs), Err(f.into()))
            }
            Err(Fail::Fault(f)) => self.abort_handshake(hs, f, in_clear, out),
            Err(Fail::Local(e)) => (State::AwaitFinish(hs), Err(Fail::Local(e))),
        }
    }

    fn encap_step(
        &mut self,
        m: &mut Mutual,
        dts: usize,
        code: Code,
        req: &[u8],
        dst: &mut [u8],
    ) -> Result<usize, Fail> {
        let set = self.config.algorithms;
        let h = set.hash.len();
        // The requester's CERTIFICATE comes back inside DELIVER_ENCAPSULATED_RESPONSE:
        // 4 + 8 bytes of headers.
        let portion = u16::try_from(dts.saturating_sub(12)).unwrap_or(u16::MAX);
        let get_cert = |offset: usize, buf: &mut [u8; 8]| -> Result<(), Fail> {
            let offset = u16::try_from(offset).map_err(|_| INVALID)?;
            GetCertificate {
                version: Version::V12,
                param1: 0,
                param2: 0,
                offset,
                length: portion,
            }
            .encode(buf)
            .local()?;
            Ok(())
        };
        match (code, m.step) {
            (Code::GET_ENCAPSULATED_REQUEST, EncapStep::AwaitGet) => {
                GetEncapsulatedRequest::parse(req)?;
                let mut inner = [0u8; 4];
                GetDigests {
                    version: Version::V12,
                    param1: 0,
                    param2: 0,
                }
                .encode(&mut inner)
                .local()?;
                let n = EncapsulatedRequest {
                    version: Version::V12,
                    request_id: 1,
                    request: &inner,
                }
                .encode(dst)
                .local()?;
                m.request_id = 1;
                m.step = EncapStep::AwaitDigests;
                Ok(n)
            }
            (Code::DELIVER_ENCAPSULATED_RESPONSE, EncapStep::AwaitDigests) => {
                let d = self.delivered(m, req)?;
                let digests = DigestsRsp::parse(d.response, h)?;
                let digest = digests.digest(0, h).ok_or(INVALID)?;
                let digest = Digest::from_slice(digest).map_err(|_| INVALID)?;
                let mut inner = [0u8; 8];
                get_cert(0, &mut inner)?;
                // The flow moves only once the answer is written.
                let n = self.ack_request(m, d.request_id, &inner, dst)?;
                m.digest = Some(digest);
                m.chain_len = 0;
                Ok(n)
            }
            (Code::DELIVER_ENCAPSULATED_RESPONSE, EncapStep::AwaitCertificate) => {
                let d = self.delivered(m, req)?;
                let c = CertificateRsp::parse(d.response)?;
                if c.param1 & 0x0F != 0 || c.portion.is_empty() {
                    return Err(INVALID.into());
                }
                let Some(policy) = self.mut_auth.as_mut() else {
                    return Err(UNEXPECTED.into());
                };
                let MutAuthMode::Certificate {
                    verifier,
                    chain_buf,
                } = &mut policy.mode
                else {
                    return Err(UNEXPECTED.into());
                };
                let end = m.chain_len + c.portion.len();
                if end + usize::from(c.remainder) > usize::from(u16::MAX) {
                    return Err(INVALID.into());
                }
                // A chain larger than the integrator's buffer is refused.
                // Copied past the bytes collected so far, but counted only once the answer is
                // written (a retry copies the same portion to the same place).
                chain_buf
                    .get_mut(m.chain_len..end)
                    .ok_or(fault(ErrorCode::UNSPECIFIED))?
                    .copy_from_slice(c.portion);
                if c.remainder != 0 {
                    let mut inner = [0u8; 8];
                    get_cert(end, &mut inner)?;
                    let n = self.ack_request(m, d.request_id, &inner, dst)?;
                    m.chain_len = end;
                    return Ok(n);
                }
                let chain = chain_buf.get(..end).unwrap_or(&[]);
                let mut hc = self.provider.hash(set.hash).local()?;
                hc.update(chain);
                let chain_hash = hc.finish();
                if Some(chain_hash) != m.digest {
                    return Err(INVALID.into());
                }
                let req_set = AlgorithmSet {
                    asym: m.req_asym.ok_or(UNEXPECTED)?,
                    ..set
                };
                let mut key = [0u8; MAX_SEC1_LEN];
                let key_len = verifier
                    .verify_chain(req_set, Role::Requester, chain, &mut key)
                    .map_err(|_: CertError| fault(ErrorCode::UNSPECIFIED))?;
                // The answer first: the flow ends only once it is written.
                let n = EncapsulatedResponseAck {
                    version: Version::V12,
                    next_request_id: 0,
                    payload_type: PAYLOAD_NONE,
                    ack_request_id: d.request_id,
                    payload: &[],
                }
                .encode(dst)
                .local()?;
                *m = Mutual {
                    cm_hash: Some(chain_hash),
                    step: EncapStep::Done,
                    request_id: 0,
                    ..core::mem::replace(m, Mutual::NONE)
                }
                .with_key(key.get(..key_len).ok_or(INVALID)?)?;
                Ok(n)
            }
            _ => Err(UNEXPECTED.into()),
        }
    }

    /// Parses a DELIVER_ENCAPSULATED_RESPONSE for the outstanding request; an ERROR inside
    /// (the requester cannot answer) ends the flow.
    fn delivered<'r>(
        &self,
        m: &Mutual,
        req: &'r [u8],
    ) -> Result<DeliverEncapsulatedResponse<'r>, Fail> {
        let d = DeliverEncapsulatedResponse::parse(req)?;
        let inner = Header::peek(d.response)?;
        if d.request_id != m.request_id || inner.version != Version::V12 {
            return Err(INVALID.into());
        }
        if inner.code == Code::ERROR {
            return Err(fault(ErrorCode::UNSPECIFIED).into());
        }
        // A response other than the one asked for (DIGESTS to GET_DIGESTS, CERTIFICATE to
        // GET_CERTIFICATE).
        let asked = if m.step == EncapStep::AwaitDigests {
            Code::DIGESTS
        } else {
            Code::CERTIFICATE
        };
        if inner.code != asked {
            return Err(fault(ErrorCode::INVALID_RESPONSE_CODE).into());
        }
        Ok(d)
    }

    /// ENCAPSULATED_RESPONSE_ACK carrying the next encapsulated request.
    fn ack_request(
        &self,
        m: &mut Mutual,
        acked: u8,
        inner: &[u8],
        dst: &mut [u8],
    ) -> Result<usize, Fail> {
        let next = m.request_id.wrapping_add(1).max(1);
        let mut w = Writer::new(dst);
        EncapsulatedResponseAck {
            version: Version::V12,
            next_request_id: next,
            payload_type: PAYLOAD_REQUEST,
            ack_request_id: acked,
            payload: inner,
        }
        .emit(&mut w)
        .local()?;
        m.request_id = next;
        m.step = EncapStep::AwaitCertificate;
        Ok(w.len())
    }
}
