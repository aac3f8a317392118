//! GET_DIGESTS (0x81) and DIGESTS (0x01).
//!
//! ```text
//! GET_DIGESTS: header
//! DIGESTS:     header(P2 = SlotMask) | Digest[H] for each bit of SlotMask
//! ```

use super::{Code, Encode, Version, hdr, header_only};
use crate::codec::{Reader, Writer};
use crate::error::{EncodeError, InvalidMessage};

header_only!(
    /// GET_DIGESTS.
    GetDigests,
    Code::GET_DIGESTS
);

/// DIGESTS.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct DigestsRsp<'a> {
    /// SPDMVersion.
    pub version: Version,
    /// Param1 (1.3: SupportedSlotMask).
    pub param1: u8,
    /// SlotMask (1.3: ProvisionedSlotMask).
    pub slot_mask: u8,
    /// The digests, H bytes each, in slot order.
    pub digests: &'a [u8],
}

impl<'a> DigestsRsp<'a> {
    /// Parses the message with hash length `hash_len`.
    ///
    /// # Errors
    /// [`InvalidMessage`].
    pub fn parse(bytes: &'a [u8], hash_len: usize) -> Result<Self, InvalidMessage> {
        let mut r = Reader::new(bytes);
        let h = super::Header::read_expect(&mut r, Code::DIGESTS)?;
        let n = h.param2.count_ones() as usize;
        let digests = r.take(n * hash_len)?;
        r.finish()?;
        Ok(Self {
            version: h.version,
            param1: h.param1,
            slot_mask: h.param2,
            digests,
        })
    }

    /// The digest of `slot`, if the slot mask lists it and `hash_len` matches.
    pub fn digest(&self, slot: u8, hash_len: usize) -> Option<&'a [u8]> {
        if slot > 7 || self.slot_mask & (1 << slot) == 0 {
            return None;
        }
        let idx = (self.slot_mask & ((1u8 << slot) - 1)).count_ones() as usize;
        self.digests.get(idx * hash_len..(idx + 1) * hash_len)
    }
}

impl Encode for DigestsRsp<'_> {
    fn emit(&self, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        let n = self.slot_mask.count_ones() as usize;
        if n == 0 && !self.digests.is_empty() || n != 0 && !self.digests.len().is_multiple_of(n) {
            return Err(EncodeError::WrongFieldLength);
        }
        hdr(self.version, Code::DIGESTS, self.param1, self.slot_mask).emit(w)?;
        w.put(self.digests)
    }
}
