//! FINISH (0xE5) and FINISH_RSP (0x65).
//!
//! ```text
//! FINISH:     header(P1 bit0 = SignatureIncluded, P2 = ReqSlotID) | [Signature[S]] RequesterVerifyData[H]
//! FINISH_RSP: header | [ResponderVerifyData[H], only under HANDSHAKE_IN_THE_CLEAR]
//! ```

use super::{Code, Encode, Version, hdr};
use crate::codec::{Reader, Writer};
use crate::crypto::Sizes;
use crate::error::{EncodeError, InvalidMessage};

/// FINISH.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Finish<'a> {
    /// SPDMVersion.
    pub version: Version,
    /// Param1 (bit 0: signature included, mutual authentication).
    pub param1: u8,
    /// ReqSlotID.
    pub req_slot_id: u8,
    /// Requester signature (S), present iff `param1` bit 0 is set.
    pub signature: Option<&'a [u8]>,
    /// RequesterVerifyData (H).
    pub verify_data: &'a [u8],
}

impl<'a> Finish<'a> {
    /// Parses the message.
    ///
    /// # Errors
    /// [`InvalidMessage`].
    pub fn parse(bytes: &'a [u8], sizes: Sizes) -> Result<Self, InvalidMessage> {
        let mut r = Reader::new(bytes);
        let h = super::Header::read_expect(&mut r, Code::FINISH)?;
        let signature = if h.param1 & 1 != 0 {
            Some(r.take(sizes.signature)?)
        } else {
            None
        };
        let verify_data = r.take(sizes.hash)?;
        r.finish()?;
        Ok(Self {
            version: h.version,
            param1: h.param1,
            req_slot_id: h.param2,
            signature,
            verify_data,
        })
    }

    /// Length of the part the requester verify data covers (header and signature).
    pub fn hmac_input_len(&self) -> usize {
        4 + self.signature.map_or(0, <[u8]>::len)
    }
}

impl Encode for Finish<'_> {
    fn emit(&self, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        if (self.param1 & 1 != 0) != self.signature.is_some() {
            return Err(EncodeError::WrongFieldLength);
        }
        hdr(self.version, Code::FINISH, self.param1, self.req_slot_id).emit(w)?;
        if let Some(s) = self.signature {
            w.put(s)?;
        }
        w.put(self.verify_data)
    }
}

/// FINISH_RSP.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FinishRsp<'a> {
    /// SPDMVersion.
    pub version: Version,
    /// ResponderVerifyData (H), only under HANDSHAKE_IN_THE_CLEAR.
    pub verify_data: Option<&'a [u8]>,
}

impl<'a> FinishRsp<'a> {
    /// Parses the message; `verify_data`: HANDSHAKE_IN_THE_CLEAR was negotiated.
    ///
    /// # Errors
    /// [`InvalidMessage`].
    pub fn parse(bytes: &'a [u8], sizes: Sizes, verify_data: bool) -> Result<Self, InvalidMessage> {
        let mut r = Reader::new(bytes);
        let h = super::Header::read_expect(&mut r, Code::FINISH_RSP)?;
        let verify_data = if verify_data {
            Some(r.take(sizes.hash)?)
        } else {
            None
        };
        r.finish()?;
        Ok(Self {
            version: h.version,
            verify_data,
        })
    }
}

impl Encode for FinishRsp<'_> {
    fn emit(&self, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        hdr(self.version, Code::FINISH_RSP, 0, 0).emit(w)?;
        if let Some(v) = self.verify_data {
            w.put(v)?;
        }
        Ok(())
    }
}
