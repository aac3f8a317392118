//! PSK_EXCHANGE (0xE6), PSK_EXCHANGE_RSP (0x66), PSK_FINISH (0xE7), PSK_FINISH_RSP (0x67).
//!
//! ```text
//! PSK_EXCHANGE:     header(P1 = MeasSummaryHashType, P2 = SessionPolicy) | ReqSessionID(2)
//!                   PSKHintLen(2) ReqContextLen(2) OpaqueLen(2) Hint Context Opaque
//! PSK_EXCHANGE_RSP: header(P1 = HeartbeatPeriod) | RspSessionID(2) Reserved(2) RspContextLen(2)
//!                   OpaqueLen(2) MeasSummaryHash[H or 0] RspContext Opaque ResponderVerifyData[H]
//! PSK_FINISH:       header | RequesterVerifyData[H]
//! PSK_FINISH_RSP:   header
//! ```

use super::{Code, Encode, Version, hdr, header_only};
use crate::codec::{Reader, Writer};
use crate::crypto::Sizes;
use crate::error::{EncodeError, InvalidMessage};

/// PSK_EXCHANGE.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PskExchange<'a> {
    /// SPDMVersion.
    pub version: Version,
    /// MeasurementSummaryHashType.
    pub meas_hash_type: u8,
    /// SessionPolicy.
    pub session_policy: u8,
    /// ReqSessionID.
    pub req_session_id: u16,
    /// PSKHint.
    pub psk_hint: &'a [u8],
    /// RequesterContext.
    pub requester_context: &'a [u8],
    /// Opaque data.
    pub opaque: &'a [u8],
}

impl<'a> PskExchange<'a> {
    /// Parses the message.
    ///
    /// # Errors
    /// [`InvalidMessage`].
    pub fn parse(bytes: &'a [u8]) -> Result<Self, InvalidMessage> {
        let mut r = Reader::new(bytes);
        let h = super::Header::read_expect(&mut r, Code::PSK_EXCHANGE)?;
        let req_session_id = r.u16()?;
        let hl = usize::from(r.u16()?);
        let cl = usize::from(r.u16()?);
        let ol = usize::from(r.u16()?);
        let psk_hint = r.take(hl)?;
        let requester_context = r.take(cl)?;
        let opaque = r.take(ol)?;
        r.finish()?;
        Ok(Self {
            version: h.version,
            meas_hash_type: h.param1,
            session_policy: h.param2,
            req_session_id,
            psk_hint,
            requester_context,
            opaque,
        })
    }
}

impl Encode for PskExchange<'_> {
    fn emit(&self, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        hdr(
            self.version,
            Code::PSK_EXCHANGE,
            self.meas_hash_type,
            self.session_policy,
        )
        .emit(w)?;
        w.u16(self.req_session_id)?;
        w.len16(self.psk_hint.len())?;
        w.len16(self.requester_context.len())?;
        w.len16(self.opaque.len())?;
        w.put(self.psk_hint)?;
        w.put(self.requester_context)?;
        w.put(self.opaque)
    }
}

/// PSK_EXCHANGE_RSP.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PskExchangeRsp<'a> {
    /// SPDMVersion.
    pub version: Version,
    /// HeartbeatPeriod.
    pub heartbeat_period: u8,
    /// RspSessionID.
    pub rsp_session_id: u16,
    /// MeasurementSummaryHash (H or empty).
    pub meas_summary_hash: &'a [u8],
    /// ResponderContext (empty when the responder does not require PSK_FINISH).
    pub responder_context: &'a [u8],
    /// Opaque data.
    pub opaque: &'a [u8],
    /// ResponderVerifyData (H).
    pub verify_data: &'a [u8],
}

impl<'a> PskExchangeRsp<'a> {
    /// Parses the message; `meas_summary`: the request's MeasSummaryHashType was not 0.
    ///
    /// # Errors
    /// [`InvalidMessage`].
    pub fn parse(
        bytes: &'a [u8],
        sizes: Sizes,
        meas_summary: bool,
    ) -> Result<Self, InvalidMessage> {
        let mut r = Reader::new(bytes);
        let h = super::Header::read_expect(&mut r, Code::PSK_EXCHANGE_RSP)?;
        let rsp_session_id = r.u16()?;
        r.u16()?;
        let cl = usize::from(r.u16()?);
        let ol = usize::from(r.u16()?);
        let meas_summary_hash = r.take(if meas_summary { sizes.hash } else { 0 })?;
        let responder_context = r.take(cl)?;
        let opaque = r.take(ol)?;
        let verify_data = r.take(sizes.hash)?;
        r.finish()?;
        Ok(Self {
            version: h.version,
            heartbeat_period: h.param1,
            rsp_session_id,
            meas_summary_hash,
            responder_context,
            opaque,
            verify_data,
        })
    }

    /// Length of the part TH1 covers (everything but the verify data).
    pub fn th1_len(&self) -> usize {
        12 + self.meas_summary_hash.len() + self.responder_context.len() + self.opaque.len()
    }
}

impl Encode for PskExchangeRsp<'_> {
    fn emit(&self, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        hdr(
            self.version,
            Code::PSK_EXCHANGE_RSP,
            self.heartbeat_period,
            0,
        )
        .emit(w)?;
        w.u16(self.rsp_session_id)?;
        w.u16(0)?;
        w.len16(self.responder_context.len())?;
        w.len16(self.opaque.len())?;
        w.put(self.meas_summary_hash)?;
        w.put(self.responder_context)?;
        w.put(self.opaque)?;
        w.put(self.verify_data)
    }
}

/// PSK_FINISH.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PskFinish<'a> {
    /// SPDMVersion.
    pub version: Version,
    /// RequesterVerifyData (H).
    pub verify_data: &'a [u8],
}

impl<'a> PskFinish<'a> {
    /// Parses the message.
    ///
    /// # Errors
    /// [`InvalidMessage`].
    pub fn parse(bytes: &'a [u8], sizes: Sizes) -> Result<Self, InvalidMessage> {
        let mut r = Reader::new(bytes);
        let h = super::Header::read_expect(&mut r, Code::PSK_FINISH)?;
        let verify_data = r.take(sizes.hash)?;
        r.finish()?;
        Ok(Self {
            version: h.version,
            verify_data,
        })
    }
}

impl Encode for PskFinish<'_> {
    fn emit(&self, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        hdr(self.version, Code::PSK_FINISH, 0, 0).emit(w)?;
        w.put(self.verify_data)
    }
}

header_only!(
    /// PSK_FINISH_RSP.
    PskFinishRsp,
    Code::PSK_FINISH_RSP
);
