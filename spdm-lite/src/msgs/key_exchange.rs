//! KEY_EXCHANGE (0xE4) and KEY_EXCHANGE_RSP (0x64).
//!
//! ```text
//! KEY_EXCHANGE:     header(P1 = MeasSummaryHashType, P2 = slot) | ReqSessionID(2)
//!                   SessionPolicy(1) Reserved(1) Random(32) ExchangeData[D] OpaqueLen(2) Opaque
//! KEY_EXCHANGE_RSP: header(P1 = HeartbeatPeriod) | RspSessionID(2) MutAuthRequested(1)
//!                   ReqSlotIDParam(1) Random(32) ExchangeData[D] MeasSummaryHash[H or 0]
//!                   OpaqueLen(2) Opaque Signature[S] ResponderVerifyData[H, absent in the clear]
//! ```

use super::{Code, Encode, NONCE_LEN, Version, hdr, put_fixed};
use crate::codec::{Reader, Writer};
use crate::crypto::Sizes;
use crate::error::{EncodeError, InvalidMessage};

/// KEY_EXCHANGE.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct KeyExchange<'a> {
    /// SPDMVersion.
    pub version: Version,
    /// MeasurementSummaryHashType.
    pub meas_hash_type: u8,
    /// Slot id.
    pub slot: u8,
    /// ReqSessionID.
    pub req_session_id: u16,
    /// SessionPolicy.
    pub session_policy: u8,
    /// Random.
    pub random: &'a [u8],
    /// ExchangeData (D): the requester's ECDHE public key `X‖Y`.
    pub exchange_data: &'a [u8],
    /// Opaque data.
    pub opaque: &'a [u8],
}

impl<'a> KeyExchange<'a> {
    /// Parses the message.
    ///
    /// # Errors
    /// [`InvalidMessage`].
    pub fn parse(bytes: &'a [u8], sizes: Sizes) -> Result<Self, InvalidMessage> {
        let mut r = Reader::new(bytes);
        let h = super::Header::read_expect(&mut r, Code::KEY_EXCHANGE)?;
        let req_session_id = r.u16()?;
        let session_policy = r.u8()?;
        r.u8()?;
        let random = r.take(NONCE_LEN)?;
        let exchange_data = r.take(sizes.dhe)?;
        let ol = usize::from(r.u16()?);
        let opaque = r.take(ol)?;
        r.finish()?;
        Ok(Self {
            version: h.version,
            meas_hash_type: h.param1,
            slot: h.param2,
            req_session_id,
            session_policy,
            random,
            exchange_data,
            opaque,
        })
    }
}

impl Encode for KeyExchange<'_> {
    fn emit(&self, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        hdr(
            self.version,
            Code::KEY_EXCHANGE,
            self.meas_hash_type,
            self.slot,
        )
        .emit(w)?;
        w.u16(self.req_session_id)?;
        w.u8(self.session_policy)?;
        w.u8(0)?;
        put_fixed(w, self.random, NONCE_LEN)?;
        w.put(self.exchange_data)?;
        w.len16(self.opaque.len())?;
        w.put(self.opaque)
    }
}

/// KEY_EXCHANGE_RSP.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct KeyExchangeRsp<'a> {
    /// SPDMVersion.
    pub version: Version,
    /// HeartbeatPeriod in seconds (0 = none).
    pub heartbeat_period: u8,
    /// RspSessionID.
    pub rsp_session_id: u16,
    /// MutAuthRequested.
    pub mut_auth_requested: u8,
    /// ReqSlotIDParam.
    pub req_slot_id_param: u8,
    /// Random.
    pub random: &'a [u8],
    /// ExchangeData (D): the responder's ECDHE public key.
    pub exchange_data: &'a [u8],
    /// MeasurementSummaryHash (H or empty).
    pub meas_summary_hash: &'a [u8],
    /// Opaque data.
    pub opaque: &'a [u8],
    /// Signature (S).
    pub signature: &'a [u8],
    /// ResponderVerifyData (H), absent when HANDSHAKE_IN_THE_CLEAR is negotiated.
    pub verify_data: Option<&'a [u8]>,
}

impl<'a> KeyExchangeRsp<'a> {
    /// Parses the message. `meas_summary`: the request's MeasSummaryHashType was not 0;
    /// `verify_data`: HANDSHAKE_IN_THE_CLEAR was *not* negotiated.
    ///
    /// # Errors
    /// [`InvalidMessage`].
    pub fn parse(
        bytes: &'a [u8],
        sizes: Sizes,
        meas_summary: bool,
        verify_data: bool,
    ) -> Result<Self, InvalidMessage> {
        let mut r = Reader::new(bytes);
        let h = super::Header::read_expect(&mut r, Code::KEY_EXCHANGE_RSP)?;
        let rsp_session_id = r.u16()?;
        let mut_auth_requested = r.u8()?;
        let req_slot_id_param = r.u8()?;
        let random = r.take(NONCE_LEN)?;
        let exchange_data = r.take(sizes.dhe)?;
        let meas_summary_hash = r.take(if meas_summary { sizes.hash } else { 0 })?;
        let ol = usize::from(r.u16()?);
        let opaque = r.take(ol)?;
        let signature = r.take(sizes.signature)?;
        let verify_data = if verify_data {
            Some(r.take(sizes.hash)?)
        } else {
            None
        };
        r.finish()?;
        Ok(Self {
            version: h.version,
            heartbeat_period: h.param1,
            rsp_session_id,
            mut_auth_requested,
            req_slot_id_param,
            random,
            exchange_data,
            meas_summary_hash,
            opaque,
            signature,
            verify_data,
        })
    }

    /// Length of the message up to (excluding) the signature.
    pub fn unsigned_len(&self) -> usize {
        4 + 4
            + NONCE_LEN
            + self.exchange_data.len()
            + self.meas_summary_hash.len()
            + 2
            + self.opaque.len()
    }

    /// Length of the message up to (excluding) the verify data: the TH1 part.
    pub fn th1_len(&self) -> usize {
        self.unsigned_len() + self.signature.len()
    }
}

impl Encode for KeyExchangeRsp<'_> {
    fn emit(&self, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        hdr(
            self.version,
            Code::KEY_EXCHANGE_RSP,
            self.heartbeat_period,
            0,
        )
        .emit(w)?;
        w.u16(self.rsp_session_id)?;
        w.u8(self.mut_auth_requested)?;
        w.u8(self.req_slot_id_param)?;
        put_fixed(w, self.random, NONCE_LEN)?;
        w.put(self.exchange_data)?;
        w.put(self.meas_summary_hash)?;
        w.len16(self.opaque.len())?;
        w.put(self.opaque)?;
        w.put(self.signature)?;
        if let Some(v) = self.verify_data {
            w.put(v)?;
        }
        Ok(())
    }
}
