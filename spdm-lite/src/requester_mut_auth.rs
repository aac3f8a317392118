//! The requester's side of session mutual authentication: its identity, the answer to
//! MutAuthRequested, the encapsulated GET_DIGESTS / GET_CERTIFICATE answered from its own
//! chain, and the FINISH signature (see [`crate::mut_auth`]).

use super::{Conn, Handshake, Requester, St, check_error, plain_msg};
use crate::crypto::{CryptoProvider, Digest, HashAlgo, HashCtx, MAX_SIGNATURE_LEN};
use crate::error::{Error, InvalidMessage};
use crate::msgs::capabilities::CapFlags;
use crate::msgs::certificate::{CertificateRsp, GetCertificate};
use crate::msgs::digests::{DigestsRsp, GetDigests};
use crate::msgs::encapsulated::{
    EncapsulatedRequest, EncapsulatedResponseAck, GetEncapsulatedRequest, PAYLOAD_NONE,
    PAYLOAD_REQUEST, PAYLOAD_SLOT_NUMBER,
};
use crate::msgs::error::{ErrorCode, ErrorRsp};
use crate::msgs::{Code, Encode, Header, Version};
use crate::mut_auth::{
    MUT_AUTH_REQUESTED, MUT_AUTH_REQUESTED_WITH_ENCAP, PROVISIONED_KEY_SLOT,
    PROVISIONED_KEY_SLOT_PARAM, RequesterIdentity,
};
use crate::record;
use crate::transcript::{context, signing_digest};

/// Longest encapsulated request kept for its answer (GET_CERTIFICATE is 8 bytes).
const MAX_ENCAP_REQUEST: usize = 16;

/// The requester's mutual authentication in one handshake.
pub(super) struct ReqMutual {
    /// FINISH Param2: slot 0, or 0xFF for the provisioned key.
    slot: u8,
    /// `Hash(Cm)`.
    cm: Digest,
}

/// The next encapsulated message to send.
pub(super) enum Encap {
    /// GET_ENCAPSULATED_REQUEST.
    Get,
    /// DELIVER_ENCAPSULATED_RESPONSE answering `request`.
    Deliver {
        id: u8,
        request: [u8; MAX_ENCAP_REQUEST],
        len: usize,
    },
}

fn hash_of<P: CryptoProvider>(p: &P, alg: HashAlgo, data: &[u8]) -> Result<Digest, Error> {
    let mut h = p.hash(alg)?;
    h.update(data);
    Ok(h.finish())
}

impl<'a, P: CryptoProvider> Requester<'a, P> {
    /// Takes part in session mutual authentication with `identity`: the requester advertises
    /// `MUT_AUTH_CAP`, `ENCAP_CAP` and `CERT_CAP`, offers the signer's algorithm as
    /// ReqBaseAsymAlg, answers the responder's encapsulated GET_DIGESTS / GET_CERTIFICATE from
    /// `identity.cert_chain` and signs FINISH when KEY_EXCHANGE_RSP asks for it.
    #[must_use]
    pub fn with_mutual_auth(mut self, identity: RequesterIdentity<'a>) -> Self {
        self.identity = Some(identity);
        self
    }

    /// The capability flags mutual authentication adds.
    pub(super) fn mut_auth_caps(&self) -> u32 {
        if self.identity.is_some() {
            CapFlags::CERT | CapFlags::MUT_AUTH | CapFlags::ENCAP
        } else {
            0
        }
    }

    /// ReqBaseAsymAlg offered (type-4 AlgStruct).
    pub(super) fn offered_req_asym(&self) -> Option<u16> {
        self.identity
            .as_ref()
            .and_then(|i| u16::try_from(i.signer.algorithm().bit()).ok())
    }

    /// The answer to KEY_EXCHANGE_RSP's MutAuthRequested / ReqSlotIDParam: what FINISH signs
    /// with, and whether the encapsulated flow comes first.
    pub(super) fn accept_mut_auth(
        &self,
        conn: &Conn<P::Hash>,
        requested: u8,
        slot_param: u8,
    ) -> Result<(Option<ReqMutual>, bool), Error> {
        if requested == 0 {
            return Ok((None, false));
        }
        let identity = self.identity.as_ref().ok_or(Error::Negotiation)?;
        if !conn.rsp_caps.has(CapFlags::MUT_AUTH)
            || conn.req_asym != Some(identity.signer.algorithm())
        {
            return Err(Error::Negotiation);
        }
        let hash = conn.set.hash;
        match (requested, slot_param) {
            (MUT_AUTH_REQUESTED, PROVISIONED_KEY_SLOT_PARAM) => {
                let spki = identity.public_key.ok_or(Error::Negotiation)?;
                let cm = hash_of(&self.provider, hash, spki)?;
                Ok((
                    Some(ReqMutual {
                        slot: PROVISIONED_KEY_SLOT,
                        cm,
                    }),
                    false,
                ))
            }
            (MUT_AUTH_REQUESTED | MUT_AUTH_REQUESTED_WITH_ENCAP, 0) => {
                let cm = hash_of(&self.provider, hash, identity.cert_chain)?;
                Ok((
                    Some(ReqMutual { slot: 0, cm }),
                    requested == MUT_AUTH_REQUESTED_WITH_ENCAP,
                ))
            }
            _ => Err(Error::Negotiation),
        }
    }

    /// FINISH's header, and its signature into `sig` (returns the signature length) when
    /// mutual authentication was asked; `th` is the transcript so far, which gains
    /// `Hash(Cm)`, the header and the signature.
    pub(super) fn finish_header_and_signature(
        &self,
        hs: &Handshake<P::Hash>,
        th: &mut P::Hash,
        sig: &mut [u8; MAX_SIGNATURE_LEN],
    ) -> Result<([u8; 4], usize), Error> {
        let Some(m) = &hs.mutual else {
            let header = [Version::V12.0, Code::FINISH.0, 0, 0];
            th.update(&header);
            return Ok((header, 0));
        };
        let identity = self.identity.as_ref().ok_or(Error::UnexpectedMessage)?;
        let header = [Version::V12.0, Code::FINISH.0, 1, m.slot];
        th.update(m.cm.as_bytes());
        th.update(&header);
        let d = signing_digest(
            &self.provider,
            hs.conn.set.hash,
            Version::V12,
            context::REQUESTER_FINISH,
            &th.clone().finish(),
        )?;
        let s = identity.signer.algorithm().signature_len();
        let dst = sig.get_mut(..s).ok_or(crate::EncodeError::BufferTooSmall)?;
        identity.signer.sign_prehash(d.as_bytes(), dst)?;
        th.update(dst);
        Ok((header, s))
    }

    /// Writes GET_ENCAPSULATED_REQUEST or DELIVER_ENCAPSULATED_RESPONSE (in a record under
    /// the request handshake key, or plain with HANDSHAKE_IN_THE_CLEAR).
    #[allow(clippy::type_complexity, clippy::result_large_err)]
    pub(super) fn write_encap(
        &mut self,
        mut hs: Handshake<P::Hash>,
        next: Encap,
        out: &mut [u8],
    ) -> Result<(St<P::Hash, P::Dhe>, usize), (St<P::Hash, P::Dhe>, Error)> {
        let off = if hs.conn.in_clear {
            1
        } else {
            record::SPDM_OFFSET
        };
        let built = match out.get_mut(off..) {
            None => Err(crate::EncodeError::BufferTooSmall.into()),
            Some(dst) => match &next {
                Encap::Get => GetEncapsulatedRequest {
                    version: Version::V12,
                    param1: 0,
                    param2: 0,
                }
                .encode(dst)
                .map_err(Error::from),
                Encap::Deliver { id, request, len } => {
                    let req = request.get(..*len).unwrap_or(&[]);
                    self.deliver(&hs.conn, *id, req, dst)
                }
            },
        };
        // No room for the message (or its record): nothing moved, the same message can be
        // written into a larger `out`.
        let n = match built {
            Ok(n) if hs.conn.in_clear || out.len() >= record::record_len(n) => n,
            Ok(_) | Err(Error::Encode(_)) => {
                return Err((
                    St::SendEncap(hs, next),
                    crate::EncodeError::BufferTooSmall.into(),
                ));
            }
            Err(e) => return Err((St::Failed, e)),
        };
        let last_id = match next {
            Encap::Get => 0,
            Encap::Deliver { id, .. } => id,
        };
        let sent = if hs.conn.in_clear {
            super::plain(out, n)
        } else {
            record::seal_in_place(&self.provider, hs.session_id, &mut hs.req_keys, out, n)
        };
        match sent {
            Ok(s) => Ok((St::AwaitEncap(hs, last_id), s)),
            Err(e) => Err((St::Failed, e)),
        }
    }

    /// DELIVER_ENCAPSULATED_RESPONSE answering `req` from the requester's own chain.
    fn deliver(
        &self,
        conn: &Conn<P::Hash>,
        id: u8,
        req: &[u8],
        dst: &mut [u8],
    ) -> Result<usize, Error> {
        let identity = self.identity.as_ref().ok_or(Error::UnexpectedMessage)?;
        let chain = identity.cert_chain;
        let inner = dst
            .get_mut(Header::LEN..)
            .ok_or(crate::EncodeError::BufferTooSmall)?;
        let h = Header::peek(req)?;
        let refuse = |code: ErrorCode, inner: &mut [u8]| {
            ErrorRsp {
                version: Version::V12,
                code,
                data: 0,
                extended: &[],
            }
            .encode(inner)
        };
        let n = match h.code {
            _ if h.version != Version::V12 => refuse(ErrorCode::VERSION_MISMATCH, inner)?,
            Code::GET_DIGESTS => {
                if GetDigests::parse(req).is_err() {
                    refuse(ErrorCode::INVALID_REQUEST, inner)?
                } else {
                    let d = hash_of(&self.provider, conn.set.hash, chain)?;
                    DigestsRsp {
                        version: Version::V12,
                        param1: 0,
                        slot_mask: 1,
                        digests: d.as_bytes(),
                    }
                    .encode(inner)?
                }
            }
            Code::GET_CERTIFICATE => {
                let portion = GetCertificate::parse(req).ok().and_then(|gc| {
                    let offset = usize::from(gc.offset);
                    let max = (conn.dts as usize).saturating_sub(12);
                    let left = chain.len().checked_sub(offset)?;
                    let len = usize::from(gc.length).min(left).min(max);
                    let remainder = u16::try_from(left - len).ok()?;
                    (gc.slot() == 0 && len != 0)
                        .then(|| chain.get(offset..offset + len).map(|p| (p, remainder)))
                        .flatten()
                });
                match portion {
                    Some((portion, remainder)) => CertificateRsp {
                        version: Version::V12,
                        param1: 0,
                        param2: 0,
                        portion,
                        remainder,
                    }
                    .encode(inner)?,
                    None => refuse(ErrorCode::INVALID_REQUEST, inner)?,
                }
            }
            _ => refuse(ErrorCode::UNSUPPORTED_REQUEST, inner)?,
        };
        dst.get_mut(..Header::LEN)
            .ok_or(crate::EncodeError::BufferTooSmall)?
            .copy_from_slice(&[Version::V12.0, Code::DELIVER_ENCAPSULATED_RESPONSE.0, id, 0]);
        Ok(Header::LEN + n)
    }

    /// ENCAPSULATED_REQUEST (after GET_ENCAPSULATED_REQUEST, `last_id` 0) or
    /// ENCAPSULATED_RESPONSE_ACK (after a DELIVER of request `last_id`).
    pub(super) fn handle_encap(
        &mut self,
        mut hs: Handshake<P::Hash>,
        last_id: u8,
        msg: &mut [u8],
    ) -> Result<St<P::Hash, P::Dhe>, Error> {
        let m: &[u8] = if hs.conn.in_clear {
            plain_msg(msg)?
        } else {
            check_error(record::open(
                &self.provider,
                hs.session_id,
                &mut hs.rsp_keys,
                msg,
            )?)?
        };
        let keep = |request: &[u8]| -> Result<([u8; MAX_ENCAP_REQUEST], usize), Error> {
            let mut b = [0u8; MAX_ENCAP_REQUEST];
            b.get_mut(..request.len())
                .ok_or(InvalidMessage::BadLength)?
                .copy_from_slice(request);
            Ok((b, request.len()))
        };
        match Header::peek(m)?.code {
            Code::ENCAPSULATED_REQUEST if last_id == 0 => {
                let e = EncapsulatedRequest::parse(m)?;
                let (request, len) = keep(e.request)?;
                Ok(St::SendEncap(
                    hs,
                    Encap::Deliver {
                        id: e.request_id,
                        request,
                        len,
                    },
                ))
            }
            Code::ENCAPSULATED_RESPONSE_ACK if last_id != 0 => {
                let a = EncapsulatedResponseAck::parse(m)?;
                if a.ack_request_id != last_id {
                    return Err(InvalidMessage::InvalidField.into());
                }
                match a.payload_type {
                    PAYLOAD_NONE => Ok(St::SendFinish(hs)),
                    // One chain: only slot 0 can be named.
                    PAYLOAD_SLOT_NUMBER if a.payload == [0] => Ok(St::SendFinish(hs)),
                    PAYLOAD_REQUEST if a.next_request_id != 0 => {
                        let (request, len) = keep(a.payload)?;
                        Ok(St::SendEncap(
                            hs,
                            Encap::Deliver {
                                id: a.next_request_id,
                                request,
                                len,
                            },
                        ))
                    }
                    _ => Err(InvalidMessage::InvalidField.into()),
                }
            }
            _ => Err(Error::UnexpectedMessage),
        }
    }
}
