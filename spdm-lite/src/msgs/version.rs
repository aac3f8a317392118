//! GET_VERSION (0x84) and VERSION (0x04).
//!
//! ```text
//! GET_VERSION: 10 84 00 00
//! VERSION:     10 04 00 00 | Reserved(1) Count(1) Entry[Count](2 each, LE)
//! ```
//! Both always carry version 1.0 in the header.

use super::{Code, Encode, Version, hdr, header_only};
use crate::codec::{Reader, Writer};
use crate::error::{EncodeError, InvalidMessage};

header_only!(
    /// GET_VERSION.
    GetVersion,
    Code::GET_VERSION
);

/// The most version entries a VERSION response may list here.
pub const MAX_VERSION_ENTRIES: usize = 8;

/// VERSION: the responder's supported versions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct VersionRsp<'a> {
    /// Header version (1.0).
    pub version: Version,
    /// Raw entries, 2 bytes each, little-endian.
    pub entries: &'a [u8],
}

impl<'a> VersionRsp<'a> {
    /// Parses the message.
    ///
    /// # Errors
    /// [`InvalidMessage`]; a zero entry count is [`InvalidMessage::InvalidField`].
    pub fn parse(bytes: &'a [u8]) -> Result<Self, InvalidMessage> {
        let mut r = Reader::new(bytes);
        let h = super::Header::read_expect(&mut r, Code::VERSION)?;
        r.u8()?;
        let count = usize::from(r.u8()?);
        if count == 0 {
            return Err(InvalidMessage::InvalidField);
        }
        let entries = r.take(count * 2)?;
        r.finish()?;
        Ok(Self {
            version: h.version,
            entries,
        })
    }

    /// The listed versions.
    pub fn versions(&self) -> impl Iterator<Item = Version> + 'a {
        self.entries
            .chunks_exact(2)
            .map(|c| Version::from_entry(u16::from_le_bytes([c[0], c[1]])))
    }
}

impl Encode for VersionRsp<'_> {
    fn emit(&self, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        if !self.entries.len().is_multiple_of(2) || self.entries.is_empty() {
            return Err(EncodeError::WrongFieldLength);
        }
        let count = u8::try_from(self.entries.len() / 2).map_err(|_| EncodeError::FieldTooLong)?;
        hdr(self.version, Code::VERSION, 0, 0).emit(w)?;
        w.u8(0)?;
        w.u8(count)?;
        w.put(self.entries)
    }
}
