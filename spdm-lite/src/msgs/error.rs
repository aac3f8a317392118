//! ERROR (0x7F): header(P1 = ErrorCode, P2 = ErrorData) | ExtendedErrorData (0..=32 bytes).

use super::{Code, Encode, Version, hdr};
use crate::codec::{Reader, Writer};
use crate::error::{EncodeError, InvalidMessage};

/// The largest ExtendedErrorData.
pub const MAX_EXTENDED_LEN: usize = 32;

/// SPDM error codes (Param1); an open set.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ErrorCode(pub u8);

#[allow(missing_docs)]
impl ErrorCode {
    pub const INVALID_REQUEST: Self = Self(0x01);
    pub const BUSY: Self = Self(0x03);
    pub const UNEXPECTED_REQUEST: Self = Self(0x04);
    pub const UNSPECIFIED: Self = Self(0x05);
    pub const DECRYPT_ERROR: Self = Self(0x06);
    pub const UNSUPPORTED_REQUEST: Self = Self(0x07);
    pub const REQUEST_IN_FLIGHT: Self = Self(0x08);
    pub const INVALID_RESPONSE_CODE: Self = Self(0x09);
    pub const SESSION_LIMIT_EXCEEDED: Self = Self(0x0A);
    pub const SESSION_REQUIRED: Self = Self(0x0B);
    pub const RESET_REQUIRED: Self = Self(0x0C);
    pub const RESPONSE_TOO_LARGE: Self = Self(0x0D);
    pub const REQUEST_TOO_LARGE: Self = Self(0x0E);
    pub const LARGE_RESPONSE: Self = Self(0x0F);
    pub const MESSAGE_LOST: Self = Self(0x10);
    pub const VERSION_MISMATCH: Self = Self(0x41);
    pub const RESPONSE_NOT_READY: Self = Self(0x42);
    pub const REQUEST_RESYNCH: Self = Self(0x43);
    pub const VENDOR_DEFINED: Self = Self(0xFF);
}

/// ERROR.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ErrorRsp<'a> {
    /// SPDMVersion.
    pub version: Version,
    /// ErrorCode.
    pub code: ErrorCode,
    /// ErrorData.
    pub data: u8,
    /// ExtendedErrorData.
    pub extended: &'a [u8],
}

impl<'a> ErrorRsp<'a> {
    /// Parses the message.
    ///
    /// # Errors
    /// [`InvalidMessage`]; more than 32 extended bytes is [`InvalidMessage::BadLength`].
    pub fn parse(bytes: &'a [u8]) -> Result<Self, InvalidMessage> {
        let mut r = Reader::new(bytes);
        let h = super::Header::read_expect(&mut r, Code::ERROR)?;
        let extended = r.rest();
        if extended.len() > MAX_EXTENDED_LEN {
            return Err(InvalidMessage::BadLength);
        }
        Ok(Self {
            version: h.version,
            code: ErrorCode(h.param1),
            data: h.param2,
            extended,
        })
    }
}

impl Encode for ErrorRsp<'_> {
    fn emit(&self, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        if self.extended.len() > MAX_EXTENDED_LEN {
            return Err(EncodeError::FieldTooLong);
        }
        hdr(self.version, Code::ERROR, self.code.0, self.data).emit(w)?;
        w.put(self.extended)
    }
}
