//! GET_MEASUREMENTS (0xE0), MEASUREMENTS (0x60) and DMTF measurement blocks (SPDM 1.2).
//!
//! ```text
//! GET_MEASUREMENTS: header(P1 = attributes, P2 = operation) [Nonce(32) SlotIDParam(1)]
//!                   (the body only when P1 bit 0, SignatureRequested, is set)
//! MEASUREMENTS:     header(P1 = total count for operation 0, else 0;
//!                          P2 = SlotID (bits 0-3) | ContentChanged (bits 4-5), signed only)
//!                   NumberOfBlocks(1) MeasurementRecordLength(3) MeasurementRecord
//!                   Nonce(32) OpaqueLen(2) Opaque [Signature(S), when requested]
//! Block:            Index(1) MeasurementSpecification(1) = 0x01 MeasurementSize(2)
//!                   DMTFSpecMeasurementValueType(1) DMTFSpecMeasurementValueSize(2) Value
//! ```
//!
//! Operation 0 asks for the number of blocks, 1..=0xFE for the block of that index, 0xFF for
//! all blocks. The nonce is present in every MEASUREMENTS, signed or not.

use super::{Code, Encode, NONCE_LEN, Version, hdr, put_fixed};
use crate::codec::{Reader, Writer};
use crate::error::{EncodeError, InvalidMessage};

/// GET_MEASUREMENTS attribute bit 0: the response must be signed.
pub const ATTR_SIGNATURE_REQUESTED: u8 = 0x01;
/// GET_MEASUREMENTS attribute bit 1: the raw bit stream is asked for (a hint the responder
/// may ignore).
pub const ATTR_RAW_BIT_STREAM_REQUESTED: u8 = 0x02;
/// Operation 0: only the number of blocks.
pub const OP_COUNT: u8 = 0x00;
/// Operation 0xFF: every block.
pub const OP_ALL: u8 = 0xFF;
/// MeasurementSpecification of a DMTF block.
pub const MEAS_SPEC_DMTF: u8 = 0x01;
/// Length of a block's common header (Index, MeasurementSpecification, MeasurementSize).
pub const BLOCK_HEADER_LEN: usize = 4;
/// Length of the DMTF header inside a block (ValueType, ValueSize).
pub const DMTF_HEADER_LEN: usize = 3;
/// Largest MeasurementRecordLength (24 bits).
pub const MAX_RECORD_LEN: usize = 0xFF_FFFF;

/// ContentChanged of a signed MEASUREMENTS (Param2 bits 4-5).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ContentChanged {
    /// 00b: the responder does not detect changes (and every unsigned response).
    NotDetected,
    /// 01b: a measurement changed during the L1/L2 transcript.
    Changed,
    /// 10b: no measurement changed during the L1/L2 transcript.
    Unchanged,
}

impl ContentChanged {
    /// The Param2 bits of this value.
    pub const fn bits(self) -> u8 {
        match self {
            Self::NotDetected => 0x00,
            Self::Changed => 0x10,
            Self::Unchanged => 0x20,
        }
    }

    /// The value of Param2 bits 4-5 (11b is reserved: `None`).
    pub const fn from_param2(p2: u8) -> Option<Self> {
        match p2 & 0x30 {
            0x00 => Some(Self::NotDetected),
            0x10 => Some(Self::Changed),
            0x20 => Some(Self::Unchanged),
            _ => None,
        }
    }
}

/// GET_MEASUREMENTS.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct GetMeasurements {
    /// SPDMVersion.
    pub version: Version,
    /// Param1: request attributes ([`ATTR_SIGNATURE_REQUESTED`], ...).
    pub attributes: u8,
    /// Param2: the measurement operation ([`OP_COUNT`], an index, [`OP_ALL`]).
    pub operation: u8,
    /// Nonce and SlotIDParam, present iff a signature is requested.
    pub signed: Option<([u8; NONCE_LEN], u8)>,
}

impl GetMeasurements {
    /// Whether the request asks for a signature.
    pub const fn signature_requested(&self) -> bool {
        self.attributes & ATTR_SIGNATURE_REQUESTED != 0
    }

    /// Parses the message (SPDM 1.2 layout).
    ///
    /// # Errors
    /// [`InvalidMessage`] on a wrong code, truncation or trailing bytes.
    pub fn parse(bytes: &[u8]) -> Result<Self, InvalidMessage> {
        let mut r = Reader::new(bytes);
        let h = super::Header::read_expect(&mut r, Code::GET_MEASUREMENTS)?;
        let signed = if h.param1 & ATTR_SIGNATURE_REQUESTED != 0 {
            let nonce = r.take_array()?;
            let slot = r.u8()?;
            Some((nonce, slot))
        } else {
            None
        };
        r.finish()?;
        Ok(Self {
            version: h.version,
            attributes: h.param1,
            operation: h.param2,
            signed,
        })
    }
}

impl Encode for GetMeasurements {
    fn emit(&self, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        if self.signature_requested() != self.signed.is_some() {
            return Err(EncodeError::WrongFieldLength);
        }
        hdr(
            self.version,
            Code::GET_MEASUREMENTS,
            self.attributes,
            self.operation,
        )
        .emit(w)?;
        if let Some((nonce, slot)) = &self.signed {
            w.put(nonce)?;
            w.u8(*slot)?;
        }
        Ok(())
    }
}

/// MEASUREMENTS.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MeasurementsRsp<'a> {
    /// SPDMVersion.
    pub version: Version,
    /// Param1: the total number of blocks for operation 0, else 0.
    pub param1: u8,
    /// Param2: SlotID and ContentChanged (signed responses), else 0.
    pub param2: u8,
    /// NumberOfBlocks.
    pub number_of_blocks: u8,
    /// MeasurementRecord: the blocks back to back.
    pub record: &'a [u8],
    /// Nonce (32).
    pub nonce: &'a [u8],
    /// Opaque data.
    pub opaque: &'a [u8],
    /// Signature (S), empty when none was requested.
    pub signature: &'a [u8],
}

impl<'a> MeasurementsRsp<'a> {
    /// Parses the message; `signature_len` is S when the request asked for a signature, else 0.
    ///
    /// # Errors
    /// [`InvalidMessage`].
    pub fn parse(bytes: &'a [u8], signature_len: usize) -> Result<Self, InvalidMessage> {
        let mut r = Reader::new(bytes);
        let h = super::Header::read_expect(&mut r, Code::MEASUREMENTS)?;
        let number_of_blocks = r.u8()?;
        let [l0, l1, l2] = r.take_array::<3>()?;
        let len = usize::from(l0) | usize::from(l1) << 8 | usize::from(l2) << 16;
        let record = r.take(len)?;
        let nonce = r.take(NONCE_LEN)?;
        let ol = usize::from(r.u16()?);
        let opaque = r.take(ol)?;
        let signature = r.take(signature_len)?;
        r.finish()?;
        Ok(Self {
            version: h.version,
            param1: h.param1,
            param2: h.param2,
            number_of_blocks,
            record,
            nonce,
            opaque,
            signature,
        })
    }

    /// Length of the part covered by the signature (everything but the Signature).
    pub fn signed_len(&self) -> usize {
        4 + 1 + 3 + self.record.len() + NONCE_LEN + 2 + self.opaque.len()
    }
}

impl Encode for MeasurementsRsp<'_> {
    fn emit(&self, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        if self.record.len() > MAX_RECORD_LEN {
            return Err(EncodeError::FieldTooLong);
        }
        hdr(self.version, Code::MEASUREMENTS, self.param1, self.param2).emit(w)?;
        w.u8(self.number_of_blocks)?;
        w.put(&u24(self.record.len()))?;
        w.put(self.record)?;
        put_fixed(w, self.nonce, NONCE_LEN)?;
        w.len16(self.opaque.len())?;
        w.put(self.opaque)?;
        w.put(self.signature)
    }
}

/// The little-endian 24-bit encoding of `len` (the caller checks `len` < 2^24).
pub(crate) const fn u24(len: usize) -> [u8; 3] {
    [len as u8, (len >> 8) as u8, (len >> 16) as u8]
}

/// One DMTF measurement block, borrowing its value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MeasurementBlock<'a> {
    /// Index (1..=0xFE).
    pub index: u8,
    /// DMTFSpecMeasurementValueType (bit 7: raw bit stream; bits 0-6: the kind, see
    /// [`crate::measurements::value_type`]).
    pub value_type: u8,
    /// The value: a digest of MeasurementHashAlgo, or the raw bit stream.
    pub value: &'a [u8],
}

impl<'a> MeasurementBlock<'a> {
    /// Whether the value is a raw bit stream (else a digest).
    pub const fn is_raw(&self) -> bool {
        self.value_type & 0x80 != 0
    }

    /// The kind (ValueType bits 0-6).
    pub const fn kind(&self) -> u8 {
        self.value_type & 0x7F
    }

    /// The whole block's length on the wire.
    pub const fn wire_len(&self) -> usize {
        BLOCK_HEADER_LEN + DMTF_HEADER_LEN + self.value.len()
    }

    /// Reads one block. `digest_len` is the MeasurementHashAlgo size: a digest value must have
    /// it.
    ///
    /// # Errors
    /// [`InvalidMessage`] for truncation, a MeasurementSpecification other than DMTF, an
    /// index 0 or 0xFF, or sizes that disagree.
    pub fn read(r: &mut Reader<'a>, digest_len: usize) -> Result<Self, InvalidMessage> {
        let index = r.u8()?;
        let spec = r.u8()?;
        let size = usize::from(r.u16()?);
        let mut b = r.sub(size)?;
        let value_type = b.u8()?;
        let vs = usize::from(b.u16()?);
        let value = b.take(vs)?;
        b.finish()?;
        if spec != MEAS_SPEC_DMTF || index == 0 || index == 0xFF {
            return Err(InvalidMessage::InvalidField);
        }
        let block = Self {
            index,
            value_type,
            value,
        };
        if !block.is_raw() && value.len() != digest_len {
            return Err(InvalidMessage::BadLength);
        }
        Ok(block)
    }

    /// Writes the block's headers for a value of `value_len` bytes (the value follows).
    ///
    /// # Errors
    /// [`EncodeError`].
    pub fn emit_header(
        w: &mut Writer<'_>,
        index: u8,
        value_type: u8,
        value_len: usize,
    ) -> Result<(), EncodeError> {
        let vs = u16::try_from(value_len).map_err(|_| EncodeError::FieldTooLong)?;
        let ms = vs
            .checked_add(DMTF_HEADER_LEN as u16)
            .ok_or(EncodeError::FieldTooLong)?;
        w.u8(index)?;
        w.u8(MEAS_SPEC_DMTF)?;
        w.u16(ms)?;
        w.u8(value_type)?;
        w.u16(vs)
    }
}

impl Encode for MeasurementBlock<'_> {
    fn emit(&self, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        Self::emit_header(w, self.index, self.value_type, self.value.len())?;
        w.put(self.value)
    }
}

/// Iterates over the blocks of a MeasurementRecord; stops after the first error.
#[derive(Clone, Debug)]
pub struct Blocks<'a> {
    r: Reader<'a>,
    digest_len: usize,
    failed: bool,
}

impl<'a> Blocks<'a> {
    /// The blocks of `record`, digest values of `digest_len` bytes.
    pub fn new(record: &'a [u8], digest_len: usize) -> Self {
        Self {
            r: Reader::new(record),
            digest_len,
            failed: false,
        }
    }
}

impl<'a> Iterator for Blocks<'a> {
    type Item = Result<MeasurementBlock<'a>, InvalidMessage>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.r.left() == 0 {
            return None;
        }
        let b = MeasurementBlock::read(&mut self.r, self.digest_len);
        self.failed = b.is_err();
        Some(b)
    }
}

/// Checks a MeasurementRecord: `count` well-formed blocks filling it exactly, with distinct
/// indices.
///
/// # Errors
/// [`InvalidMessage`].
pub fn validate_record(record: &[u8], count: u8, digest_len: usize) -> Result<(), InvalidMessage> {
    let mut seen = [0u32; 8];
    let mut n = 0usize;
    for b in Blocks::new(record, digest_len) {
        let b = b?;
        let (word, bit) = (usize::from(b.index / 32), 1u32 << (b.index % 32));
        let slot = seen.get_mut(word).ok_or(InvalidMessage::InvalidField)?;
        if *slot & bit != 0 {
            return Err(InvalidMessage::InvalidField);
        }
        *slot |= bit;
        n += 1;
    }
    if n != usize::from(count) {
        return Err(InvalidMessage::BadLength);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn get_measurements_round_trip() {
        for m in [
            GetMeasurements {
                version: Version::V12,
                attributes: 0,
                operation: OP_ALL,
                signed: None,
            },
            GetMeasurements {
                version: Version::V12,
                attributes: ATTR_SIGNATURE_REQUESTED,
                operation: 2,
                signed: Some(([7; 32], 0)),
            },
        ] {
            let mut buf = [0u8; 64];
            let n = m.encode(&mut buf).unwrap();
            assert_eq!(n, if m.signed.is_some() { 37 } else { 4 });
            assert_eq!(GetMeasurements::parse(&buf[..n]).unwrap(), m);
            assert!(GetMeasurements::parse(&buf[..n - 1]).is_err());
        }
        // Signed attribute without the body, and a body without the attribute.
        assert!(GetMeasurements::parse(&[0x12, 0xE0, 1, 0xFF]).is_err());
        assert!(GetMeasurements::parse(&[0x12, 0xE0, 0, 0xFF, 0]).is_err());
    }

    #[test]
    fn measurements_round_trip_and_blocks() {
        let mut rec = [0u8; 64];
        let mut w = Writer::new(&mut rec);
        MeasurementBlock {
            index: 1,
            value_type: 0x01,
            value: &[0xAA; 32],
        }
        .emit(&mut w)
        .unwrap();
        MeasurementBlock {
            index: 2,
            value_type: 0x87,
            value: &5u64.to_le_bytes(),
        }
        .emit(&mut w)
        .unwrap();
        let rl = w.len();
        assert_eq!(rl, 39 + 15);
        let rsp = MeasurementsRsp {
            version: Version::V12,
            param1: 0,
            param2: 0,
            number_of_blocks: 2,
            record: &rec[..rl],
            nonce: &[3; 32],
            opaque: &[],
            signature: &[9; 64],
        };
        let mut buf = [0u8; 256];
        let n = rsp.encode(&mut buf).unwrap();
        let p = MeasurementsRsp::parse(&buf[..n], 64).unwrap();
        assert_eq!(p, rsp);
        assert_eq!(p.signed_len(), n - 64);
        assert!(MeasurementsRsp::parse(&buf[..n], 0).is_err());
        validate_record(p.record, 2, 32).unwrap();
        assert!(validate_record(p.record, 1, 32).is_err());
        assert!(validate_record(p.record, 2, 48).is_err());
        let second = Blocks::new(p.record, 32).nth(1).unwrap().unwrap();
        assert_eq!(second.value, &5u64.to_le_bytes());
        assert!(second.is_raw() && second.kind() == 7);
        // A MeasurementSize that disagrees with the ValueSize.
        let mut bad = rec;
        bad[2] = 34;
        assert!(validate_record(&bad[..rl], 2, 32).is_err());
        // Duplicate index.
        let mut dup = rec;
        dup[39] = 1;
        assert!(validate_record(&dup[..rl], 2, 32).is_err());
    }
}
