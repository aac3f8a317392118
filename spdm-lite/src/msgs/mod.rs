//! SPDM message codecs, one file per message family.
//!
//! Every message is a struct of validated values borrowing the variable-length parts from the
//! input, with `parse(bytes, ..)` (rejecting truncated input, inconsistent lengths and trailing
//! bytes) and `emit(&self, &mut Writer)`. Parsing is independent of session state: fields whose
//! size depends on negotiation take that size ([`Sizes`](crate::crypto::Sizes)) or the
//! presence flag as an argument, and the state machines do every semantic check. Reserved
//! bytes are ignored on parse and written as zero.
//!
//! Common header (4 bytes):
//!
//! ```text
//! SPDMVersion(1) RequestResponseCode(1) Param1(1) Param2(1)
//! ```

pub mod algorithms;
pub mod capabilities;
pub mod certificate;
pub mod challenge;
pub mod digests;
pub mod encapsulated;
pub mod end_session;
pub mod error;
pub mod finish;
pub mod heartbeat;
pub mod key_exchange;
pub mod key_update;
pub mod measurements;
pub mod opaque;
#[cfg(feature = "provisioning")]
pub mod provisioning;
pub mod psk;
pub mod version;

use crate::codec::{Reader, Writer};
use crate::error::{EncodeError, InvalidMessage};

/// Length of the random nonces of CHALLENGE and KEY_EXCHANGE.
pub const NONCE_LEN: usize = 32;

/// An SPDM version byte (`major << 4 | minor`); an open set.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Version(pub u8);

impl Version {
    /// SPDM 1.0 (GET_VERSION / VERSION always carry it).
    pub const V10: Self = Self(0x10);
    /// SPDM 1.1.
    pub const V11: Self = Self(0x11);
    /// SPDM 1.2.
    pub const V12: Self = Self(0x12);
    /// SPDM 1.3.
    pub const V13: Self = Self(0x13);

    /// The `VERSION` entry of this version (`major<<12 | minor<<8`).
    pub const fn entry(self) -> u16 {
        (self.0 as u16) << 8
    }

    /// The version of a `VERSION` entry (update and alpha ignored).
    pub const fn from_entry(entry: u16) -> Self {
        Self((entry >> 8) as u8)
    }

    /// The label prefix of the key schedule, `"spdm1.2 "` for 1.2.
    pub const fn bin_concat_prefix(self) -> [u8; 8] {
        [
            b's',
            b'p',
            b'd',
            b'm',
            b'0' + (self.0 >> 4),
            b'.',
            b'0' + (self.0 & 0x0F),
            b' ',
        ]
    }
}

/// A request/response code; an open set with named constants.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Code(pub u8);

#[allow(missing_docs)]
impl Code {
    pub const DIGESTS: Self = Self(0x01);
    pub const CERTIFICATE: Self = Self(0x02);
    pub const CHALLENGE_AUTH: Self = Self(0x03);
    pub const VERSION: Self = Self(0x04);
    pub const CAPABILITIES: Self = Self(0x61);
    pub const ALGORITHMS: Self = Self(0x63);
    pub const KEY_EXCHANGE_RSP: Self = Self(0x64);
    pub const FINISH_RSP: Self = Self(0x65);
    pub const PSK_EXCHANGE_RSP: Self = Self(0x66);
    pub const PSK_FINISH_RSP: Self = Self(0x67);
    pub const HEARTBEAT_ACK: Self = Self(0x68);
    pub const KEY_UPDATE_ACK: Self = Self(0x69);
    pub const END_SESSION_ACK: Self = Self(0x6C);
    pub const MEASUREMENTS: Self = Self(0x60);
    pub const ERROR: Self = Self(0x7F);
    pub const GET_DIGESTS: Self = Self(0x81);
    pub const GET_CERTIFICATE: Self = Self(0x82);
    pub const CHALLENGE: Self = Self(0x83);
    pub const GET_VERSION: Self = Self(0x84);
    pub const GET_MEASUREMENTS: Self = Self(0xE0);
    pub const GET_CAPABILITIES: Self = Self(0xE1);
    pub const NEGOTIATE_ALGORITHMS: Self = Self(0xE3);
    pub const KEY_EXCHANGE: Self = Self(0xE4);
    pub const FINISH: Self = Self(0xE5);
    pub const PSK_EXCHANGE: Self = Self(0xE6);
    pub const PSK_FINISH: Self = Self(0xE7);
    pub const HEARTBEAT: Self = Self(0xE8);
    pub const KEY_UPDATE: Self = Self(0xE9);
    pub const END_SESSION: Self = Self(0xEC);
    pub const RESPOND_IF_READY: Self = Self(0xFF);

    /// Whether this is a request code (bit 7 set).
    pub const fn is_request(self) -> bool {
        self.0 & 0x80 != 0
    }
}

/// The common 4-byte header.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Header {
    /// SPDMVersion.
    pub version: Version,
    /// RequestResponseCode.
    pub code: Code,
    /// Param1.
    pub param1: u8,
    /// Param2.
    pub param2: u8,
}

impl Header {
    /// Length of the header.
    pub const LEN: usize = 4;

    /// Reads the header of any message without checking the code.
    ///
    /// # Errors
    /// [`InvalidMessage::Truncated`] if `bytes` is shorter than 4.
    pub fn peek(bytes: &[u8]) -> Result<Self, InvalidMessage> {
        Self::read(&mut Reader::new(bytes))
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, InvalidMessage> {
        let [v, c, p1, p2] = r.take_array::<4>()?;
        Ok(Self {
            version: Version(v),
            code: Code(c),
            param1: p1,
            param2: p2,
        })
    }

    /// Reads the header and checks the code.
    pub(crate) fn read_expect(r: &mut Reader<'_>, code: Code) -> Result<Self, InvalidMessage> {
        let h = Self::read(r)?;
        if h.code != code {
            return Err(InvalidMessage::UnexpectedCode(h.code.0));
        }
        Ok(h)
    }

    /// Writes the header.
    ///
    /// # Errors
    /// [`EncodeError::BufferTooSmall`].
    pub fn emit(&self, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        w.put(&[self.version.0, self.code.0, self.param1, self.param2])
    }
}

pub(crate) fn hdr(version: Version, code: Code, param1: u8, param2: u8) -> Header {
    Header {
        version,
        code,
        param1,
        param2,
    }
}

/// Writes a field that must be exactly `len` bytes.
pub(crate) fn put_fixed(w: &mut Writer<'_>, field: &[u8], len: usize) -> Result<(), EncodeError> {
    if field.len() != len {
        return Err(EncodeError::WrongFieldLength);
    }
    w.put(field)
}

/// Common interface of every message codec, for generic encoding into a caller buffer.
pub trait Encode {
    /// Writes the message.
    ///
    /// # Errors
    /// [`EncodeError`] if the buffer is too small or a field has an impossible length.
    fn emit(&self, w: &mut Writer<'_>) -> Result<(), EncodeError>;

    /// Writes the message at the start of `buf` and returns its length.
    ///
    /// # Errors
    /// As [`Encode::emit`].
    fn encode(&self, buf: &mut [u8]) -> Result<usize, EncodeError> {
        let mut w = Writer::new(buf);
        self.emit(&mut w)?;
        Ok(w.len())
    }
}

/// Header-only messages: `struct { version, param1, param2 }` with parse/emit.
macro_rules! header_only {
    ($(#[$m:meta])* $name:ident, $code:expr) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub struct $name {
            /// SPDMVersion.
            pub version: $crate::msgs::Version,
            /// Param1.
            pub param1: u8,
            /// Param2.
            pub param2: u8,
        }

        impl $name {
            /// Parses the message.
            ///
            /// # Errors
            /// [`InvalidMessage`](crate::error::InvalidMessage) on a wrong code, truncation or
            /// trailing bytes.
            pub fn parse(bytes: &[u8]) -> Result<Self, $crate::error::InvalidMessage> {
                let mut r = $crate::codec::Reader::new(bytes);
                let h = $crate::msgs::Header::read_expect(&mut r, $code)?;
                r.finish()?;
                Ok(Self { version: h.version, param1: h.param1, param2: h.param2 })
            }
        }

        impl $crate::msgs::Encode for $name {
            fn emit(
                &self,
                w: &mut $crate::codec::Writer<'_>,
            ) -> Result<(), $crate::error::EncodeError> {
                $crate::msgs::hdr(self.version, $code, self.param1, self.param2).emit(w)
            }
        }
    };
}
pub(crate) use header_only;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_prefix_and_entry() {
        assert_eq!(&Version::V12.bin_concat_prefix(), b"spdm1.2 ");
        assert_eq!(Version::V12.entry(), 0x1200);
        assert_eq!(Version::from_entry(0x1321), Version::V13);
    }
}
