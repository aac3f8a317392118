//! Opaque data format 1 (`OtherParams` bit 1) and the DSP0277 secured-message version
//! negotiation carried in it.
//!
//! ```text
//! OpaqueData = TotalElements(1) Reserved(3) Element[TotalElements]
//! Element    = ID(1) VendorLen(1) VendorID[VendorLen] DataLen(2) Data[DataLen] pad to 4 bytes
//! DMTF secured-message data (ID 0, no vendor id):
//!   supported = SMDataVersion(1) = 1, SMDataID(1) = 1, Count(1), Version[Count](2)
//!   selection = SMDataVersion(1) = 1, SMDataID(1) = 0, Version(2)
//! ```
//!
//! Version entries are little-endian like every SPDM integer: 1.2 is `00 12` on the wire.

use crate::codec::{Reader, Writer};
use crate::error::{EncodeError, InvalidMessage};

/// DSP0277 secured-message version 1.2 (version entry).
pub const SECURED_MESSAGE_V12: u16 = 0x1200;

/// One opaque element.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Element<'a> {
    /// Registry ID (0 = DMTF).
    pub id: u8,
    /// Vendor ID.
    pub vendor_id: &'a [u8],
    /// Element data.
    pub data: &'a [u8],
}

/// Iterates the elements of format-1 opaque data.
#[derive(Clone, Debug)]
pub struct Elements<'a> {
    r: Reader<'a>,
    left: u8,
}

/// Parses the element list of format-1 opaque data.
///
/// # Errors
/// [`InvalidMessage`] if the header is truncated.
pub fn elements(opaque: &[u8]) -> Result<Elements<'_>, InvalidMessage> {
    let mut r = Reader::new(opaque);
    let left = r.u8()?;
    r.take(3)?;
    Ok(Elements { r, left })
}

impl<'a> Elements<'a> {
    /// The next element.
    ///
    /// # Errors
    /// [`InvalidMessage`] on truncation; after the last element, trailing bytes are
    /// [`InvalidMessage::TrailingData`].
    pub fn next_element(&mut self) -> Result<Option<Element<'a>>, InvalidMessage> {
        if self.left == 0 {
            self.r.finish()?;
            return Ok(None);
        }
        self.left -= 1;
        let start = self.r.used();
        let id = self.r.u8()?;
        let vl = usize::from(self.r.u8()?);
        let vendor_id = self.r.take(vl)?;
        let dl = usize::from(self.r.u16()?);
        let data = self.r.take(dl)?;
        let len = self.r.used() - start;
        self.r.take((4 - len % 4) % 4)?;
        Ok(Some(Element {
            id,
            vendor_id,
            data,
        }))
    }
}

/// The DMTF secured-message version data found in opaque data.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SmVersions<'a> {
    /// The requester's supported versions (raw 2-byte LE entries).
    Supported(&'a [u8]),
    /// The responder's selection.
    Selected(u16),
}

impl<'a> SmVersions<'a> {
    /// Finds the DMTF secured-message element in format-1 opaque data.
    ///
    /// # Errors
    /// [`InvalidMessage`] if the opaque data or the element is malformed;
    /// [`InvalidMessage::InvalidField`] if there is no such element.
    pub fn find(opaque: &'a [u8]) -> Result<Self, InvalidMessage> {
        let mut it = elements(opaque)?;
        let mut found = None;
        while let Some(e) = it.next_element()? {
            if e.id == 0 && e.vendor_id.is_empty() && found.is_none() {
                found = Some(Self::parse_element(e.data)?);
            }
        }
        found.ok_or(InvalidMessage::InvalidField)
    }

    fn parse_element(data: &'a [u8]) -> Result<Self, InvalidMessage> {
        let mut r = Reader::new(data);
        if r.u8()? != 1 {
            return Err(InvalidMessage::InvalidField);
        }
        let out = match r.u8()? {
            0 => Self::Selected(r.u16()?),
            1 => {
                let n = usize::from(r.u8()?);
                if n == 0 {
                    return Err(InvalidMessage::InvalidField);
                }
                Self::Supported(r.take(2 * n)?)
            }
            _ => return Err(InvalidMessage::InvalidField),
        };
        r.finish()?;
        Ok(out)
    }

    /// Writes format-1 opaque data holding this one element.
    ///
    /// # Errors
    /// [`EncodeError`].
    pub fn emit(&self, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        w.put(&[1, 0, 0, 0])?;
        w.put(&[0, 0])?;
        match *self {
            Self::Supported(v) => {
                if v.is_empty() || !v.len().is_multiple_of(2) || v.len() > 2 * 255 {
                    return Err(EncodeError::WrongFieldLength);
                }
                let dl = 3 + v.len();
                w.len16(dl)?;
                w.put(&[1, 1, (v.len() / 2) as u8])?;
                w.put(v)?;
                w.zeros((4 - (4 + dl) % 4) % 4)
            }
            Self::Selected(v) => {
                w.u16(4)?;
                w.put(&[1, 0])?;
                w.u16(v)
            }
        }
    }
}
