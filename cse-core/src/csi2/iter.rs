//! A zero-copy iterator over a buffer of concatenated packets.

use core::iter::FusedIterator;

use super::ecc::{EccCheck, HeaderForm};
use super::packet::{HEADER_LEN, decode_header};
use super::{DataType, Error, FOOTER_LEN, VirtualChannel, payload_crc};
use crate::csi2::packet::Repr;

/// One packet decoded from a stream, borrowing the stream buffer.
///
/// The header values are the decoded ones: after a single-bit ECC correction they differ from
/// the bytes in `raw`, and `ecc` says which bit was corrected. `header` holds the corrected
/// header bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Decoded<'a> {
    /// Byte offset of the packet in the stream buffer.
    pub offset: usize,
    /// Decoded header values.
    pub repr: Repr,
    /// Header bytes after ECC correction.
    pub header: [u8; 4],
    /// What the ECC check found ([`EccCheck::Ok`] or [`EccCheck::Corrected`]).
    pub ecc: EccCheck,
    /// Payload of a long packet (empty for a short packet).
    pub payload: &'a [u8],
    /// The CRC-16 footer of a long packet (verified), `None` for a short packet.
    pub crc: Option<u16>,
    /// The packet's bytes in the stream, as received (header, payload, footer).
    pub raw: &'a [u8],
}

impl Decoded<'_> {
    /// Virtual channel.
    pub const fn vc(&self) -> VirtualChannel {
        self.repr.vc
    }

    /// Data type.
    pub const fn data_type(&self) -> DataType {
        self.repr.data_type
    }

    /// Word count of a long packet or data field of a short packet.
    pub const fn word_count(&self) -> u16 {
        self.repr.word_count
    }

    /// Length of the packet in the stream.
    pub const fn len(&self) -> usize {
        self.raw.len()
    }

    /// Always false: a packet has at least a header.
    pub const fn is_empty(&self) -> bool {
        self.raw.is_empty()
    }

    /// Whether the header needed a correction.
    pub const fn was_corrected(&self) -> bool {
        matches!(self.ecc, EccCheck::Corrected { .. })
    }
}

/// A malformed packet in a stream: where it starts and what is wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("CSI-2 packet at byte {offset}: {error}")]
pub struct StreamError {
    /// Byte offset of the malformed packet in the stream buffer.
    pub offset: usize,
    /// What is wrong with it.
    pub error: Error,
}

/// Iterator over the packets of a buffer holding whole packets back to back.
///
/// Yields `Ok(Decoded)` per packet. On the first malformed packet (truncated, uncorrectable
/// header, reserved bits, CRC mismatch) it yields one `Err(StreamError)` and then ends: after a
/// bad header the packet boundaries are unknown. Never panics.
#[derive(Clone, Debug)]
pub struct Packets<'a> {
    buf: &'a [u8],
    pos: usize,
    form: HeaderForm,
    done: bool,
}

impl<'a> Packets<'a> {
    /// Iterates over `buf`, reading headers in `form`.
    pub const fn new(buf: &'a [u8], form: HeaderForm) -> Self {
        Packets {
            buf,
            pos: 0,
            form,
            done: false,
        }
    }

    /// Offset of the next packet (the end of the last one yielded).
    pub const fn offset(&self) -> usize {
        self.pos
    }

    /// The bytes not consumed yet.
    pub fn remainder(&self) -> &'a [u8] {
        self.buf.get(self.pos..).unwrap_or_default()
    }

    fn decode_at(&self, offset: usize) -> Result<Decoded<'a>, Error> {
        let rest = self.buf.get(offset..).unwrap_or_default();
        let (repr, ecc, header) = decode_header(rest, self.form)?;
        let len = repr.buffer_len();
        let Some(raw) = rest.get(..len) else {
            return Err(Error::Truncated {
                needed: len,
                available: rest.len(),
            });
        };
        if repr.is_short() {
            return Ok(Decoded {
                offset,
                repr,
                header,
                ecc,
                payload: &[],
                crc: None,
                raw,
            });
        }
        let body = raw.get(HEADER_LEN..).unwrap_or_default();
        let (payload, footer) = body.split_at(body.len().saturating_sub(FOOTER_LEN));
        let received = match footer {
            [lo, hi] => u16::from_le_bytes([*lo, *hi]),
            _ => {
                return Err(Error::Truncated {
                    needed: len,
                    available: rest.len(),
                });
            }
        };
        let computed = payload_crc(payload);
        if computed != received {
            return Err(Error::CrcMismatch { computed, received });
        }
        Ok(Decoded {
            offset,
            repr,
            header,
            ecc,
            payload,
            crc: Some(received),
            raw,
        })
    }
}

impl<'a> Iterator for Packets<'a> {
    type Item = Result<Decoded<'a>, StreamError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done || self.pos >= self.buf.len() {
            self.done = true;
            return None;
        }
        let offset = self.pos;
        match self.decode_at(offset) {
            Ok(decoded) => {
                self.pos = offset.saturating_add(decoded.raw.len());
                Some(Ok(decoded))
            }
            Err(error) => {
                self.done = true;
                Some(Err(StreamError { offset, error }))
            }
        }
    }
}

impl FusedIterator for Packets<'_> {}
