//! CHALLENGE (0x83) and CHALLENGE_AUTH (0x03).
//!
//! ```text
//! CHALLENGE:      header(P1 = slot, P2 = MeasSummaryHashType) | Nonce(32) [RequesterContext(8), 1.3]
//! CHALLENGE_AUTH: header(P1 = slot | flags, P2 = SlotMask) | CertChainHash[H] Nonce(32)
//!                 MeasSummaryHash[H or 0] OpaqueLen(2) Opaque [RequesterContext(8), 1.3] Signature[S]
//! ```

use super::{Code, Encode, NONCE_LEN, Version, hdr, put_fixed};
use crate::codec::{Reader, Writer};
use crate::crypto::Sizes;
use crate::error::{EncodeError, InvalidMessage};

/// RequesterContext length of SPDM 1.3.
pub const REQUESTER_CONTEXT_LEN: usize = 8;

/// CHALLENGE.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Challenge {
    /// SPDMVersion.
    pub version: Version,
    /// Slot id.
    pub slot: u8,
    /// MeasurementSummaryHashType (0 none, 1 TCB, 0xFF all).
    pub meas_hash_type: u8,
    /// Nonce.
    pub nonce: [u8; NONCE_LEN],
    /// RequesterContext (1.3 and later only).
    pub requester_context: Option<[u8; REQUESTER_CONTEXT_LEN]>,
}

impl Challenge {
    /// Parses the message.
    ///
    /// # Errors
    /// [`InvalidMessage`].
    pub fn parse(bytes: &[u8]) -> Result<Self, InvalidMessage> {
        let mut r = Reader::new(bytes);
        let h = super::Header::read_expect(&mut r, Code::CHALLENGE)?;
        let nonce = r.take_array()?;
        let requester_context = if h.version >= Version::V13 {
            Some(r.take_array()?)
        } else {
            None
        };
        r.finish()?;
        Ok(Self {
            version: h.version,
            slot: h.param1,
            meas_hash_type: h.param2,
            nonce,
            requester_context,
        })
    }
}

impl Encode for Challenge {
    fn emit(&self, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        if (self.version >= Version::V13) != self.requester_context.is_some() {
            return Err(EncodeError::WrongFieldLength);
        }
        hdr(
            self.version,
            Code::CHALLENGE,
            self.slot,
            self.meas_hash_type,
        )
        .emit(w)?;
        w.put(&self.nonce)?;
        if let Some(c) = &self.requester_context {
            w.put(c)?;
        }
        Ok(())
    }
}

/// CHALLENGE_AUTH.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ChallengeAuth<'a> {
    /// SPDMVersion.
    pub version: Version,
    /// Param1: slot id (bits 0..4) and attribute bits.
    pub param1: u8,
    /// SlotMask.
    pub slot_mask: u8,
    /// CertChainHash (H).
    pub cert_chain_hash: &'a [u8],
    /// Nonce.
    pub nonce: &'a [u8],
    /// MeasurementSummaryHash (H, or empty when the request asked for none).
    pub meas_summary_hash: &'a [u8],
    /// Opaque data.
    pub opaque: &'a [u8],
    /// RequesterContext echo (1.3 and later only).
    pub requester_context: Option<&'a [u8]>,
    /// Signature (S).
    pub signature: &'a [u8],
}

impl<'a> ChallengeAuth<'a> {
    /// Parses the message; `meas_summary` says whether the request asked for a measurement
    /// summary hash (MeasSummaryHashType ≠ 0).
    ///
    /// # Errors
    /// [`InvalidMessage`].
    pub fn parse(
        bytes: &'a [u8],
        sizes: Sizes,
        meas_summary: bool,
    ) -> Result<Self, InvalidMessage> {
        let mut r = Reader::new(bytes);
        let h = super::Header::read_expect(&mut r, Code::CHALLENGE_AUTH)?;
        let cert_chain_hash = r.take(sizes.hash)?;
        let nonce = r.take(NONCE_LEN)?;
        let meas_summary_hash = r.take(if meas_summary { sizes.hash } else { 0 })?;
        let ol = usize::from(r.u16()?);
        let opaque = r.take(ol)?;
        let requester_context = if h.version >= Version::V13 {
            Some(r.take(REQUESTER_CONTEXT_LEN)?)
        } else {
            None
        };
        let signature = r.take(sizes.signature)?;
        r.finish()?;
        Ok(Self {
            version: h.version,
            param1: h.param1,
            slot_mask: h.param2,
            cert_chain_hash,
            nonce,
            meas_summary_hash,
            opaque,
            requester_context,
            signature,
        })
    }

    /// Length of the message without the signature (the part the signature covers).
    pub fn signed_len(&self) -> usize {
        4 + self.cert_chain_hash.len()
            + NONCE_LEN
            + self.meas_summary_hash.len()
            + 2
            + self.opaque.len()
            + self.requester_context.map_or(0, <[u8]>::len)
    }
}

impl Encode for ChallengeAuth<'_> {
    fn emit(&self, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        if (self.version >= Version::V13) != self.requester_context.is_some() {
            return Err(EncodeError::WrongFieldLength);
        }
        hdr(
            self.version,
            Code::CHALLENGE_AUTH,
            self.param1,
            self.slot_mask,
        )
        .emit(w)?;
        w.put(self.cert_chain_hash)?;
        put_fixed(w, self.nonce, NONCE_LEN)?;
        w.put(self.meas_summary_hash)?;
        w.len16(self.opaque.len())?;
        w.put(self.opaque)?;
        if let Some(c) = self.requester_context {
            put_fixed(w, c, REQUESTER_CONTEXT_LEN)?;
        }
        w.put(self.signature)
    }
}
