//! A no-allocation byte cursor for parsing (`Reader`) and a bounded writer over a caller buffer
//! (`Writer`), in the shape of rustls `msgs/codec.rs`.
//!
//! Every SPDM multi-byte integer is little-endian; cryptographic values (ECDSA `r‖s`, ECDH
//! `X‖Y`, hashes) are opaque byte strings and are taken as they are.
//!
//! Panic contract: no method of `Reader` or `Writer` panics, whatever the input or the buffer
//! size; running out of input is [`InvalidMessage::Truncated`] and running out of output space is
//! [`EncodeError::BufferTooSmall`].

use crate::error::{EncodeError, InvalidMessage};

/// A cursor over a received message.
#[derive(Clone, Debug)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// Starts reading at the first byte of `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        Self { buf, pos: 0 }
    }

    /// Takes the next `len` bytes.
    ///
    /// # Errors
    /// [`InvalidMessage::Truncated`] if fewer than `len` bytes are left.
    pub fn take(&mut self, len: usize) -> Result<&'a [u8], InvalidMessage> {
        let end = self.pos.checked_add(len).ok_or(InvalidMessage::Truncated)?;
        let out = self
            .buf
            .get(self.pos..end)
            .ok_or(InvalidMessage::Truncated)?;
        self.pos = end;
        Ok(out)
    }

    /// Takes the next `N` bytes as an array.
    ///
    /// # Errors
    /// [`InvalidMessage::Truncated`] if fewer than `N` bytes are left.
    pub fn take_array<const N: usize>(&mut self) -> Result<[u8; N], InvalidMessage> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    /// Reads one byte.
    ///
    /// # Errors
    /// [`InvalidMessage::Truncated`] at the end of the input.
    pub fn u8(&mut self) -> Result<u8, InvalidMessage> {
        Ok(self.take_array::<1>()?[0])
    }

    /// Reads a little-endian `u16`.
    ///
    /// # Errors
    /// [`InvalidMessage::Truncated`] if fewer than 2 bytes are left.
    pub fn u16(&mut self) -> Result<u16, InvalidMessage> {
        Ok(u16::from_le_bytes(self.take_array()?))
    }

    /// Reads a little-endian `u32`.
    ///
    /// # Errors
    /// [`InvalidMessage::Truncated`] if fewer than 4 bytes are left.
    pub fn u32(&mut self) -> Result<u32, InvalidMessage> {
        Ok(u32::from_le_bytes(self.take_array()?))
    }

    /// Splits off a sub-reader over the next `len` bytes.
    ///
    /// # Errors
    /// [`InvalidMessage::Truncated`] if fewer than `len` bytes are left.
    pub fn sub(&mut self, len: usize) -> Result<Reader<'a>, InvalidMessage> {
        Ok(Reader::new(self.take(len)?))
    }

    /// Takes everything that is left.
    pub fn rest(&mut self) -> &'a [u8] {
        let out = self.buf.get(self.pos..).unwrap_or(&[]);
        self.pos = self.buf.len();
        out
    }

    /// Bytes not yet read.
    pub fn left(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }

    /// Bytes read so far.
    pub fn used(&self) -> usize {
        self.pos
    }

    /// Succeeds only if every byte has been read.
    ///
    /// # Errors
    /// [`InvalidMessage::TrailingData`] otherwise.
    pub fn finish(&self) -> Result<(), InvalidMessage> {
        if self.left() == 0 {
            Ok(())
        } else {
            Err(InvalidMessage::TrailingData)
        }
    }
}

/// A bounded writer into a caller buffer.
#[derive(Debug)]
pub struct Writer<'a> {
    buf: &'a mut [u8],
    pos: usize,
}

impl<'a> Writer<'a> {
    /// Starts writing at the first byte of `buf`.
    pub fn new(buf: &'a mut [u8]) -> Self {
        Self { buf, pos: 0 }
    }

    /// Appends `bytes`.
    ///
    /// # Errors
    /// [`EncodeError::BufferTooSmall`] if they do not fit; nothing is written then.
    pub fn put(&mut self, bytes: &[u8]) -> Result<(), EncodeError> {
        let end = self
            .pos
            .checked_add(bytes.len())
            .ok_or(EncodeError::BufferTooSmall)?;
        let dst = self
            .buf
            .get_mut(self.pos..end)
            .ok_or(EncodeError::BufferTooSmall)?;
        dst.copy_from_slice(bytes);
        self.pos = end;
        Ok(())
    }

    /// Appends one byte.
    ///
    /// # Errors
    /// [`EncodeError::BufferTooSmall`] if the buffer is full.
    pub fn u8(&mut self, v: u8) -> Result<(), EncodeError> {
        self.put(&[v])
    }

    /// Appends a little-endian `u16`.
    ///
    /// # Errors
    /// [`EncodeError::BufferTooSmall`] if it does not fit.
    pub fn u16(&mut self, v: u16) -> Result<(), EncodeError> {
        self.put(&v.to_le_bytes())
    }

    /// Appends a little-endian `u32`.
    ///
    /// # Errors
    /// [`EncodeError::BufferTooSmall`] if it does not fit.
    pub fn u32(&mut self, v: u32) -> Result<(), EncodeError> {
        self.put(&v.to_le_bytes())
    }

    /// Appends `n` zero bytes.
    ///
    /// # Errors
    /// [`EncodeError::BufferTooSmall`] if they do not fit.
    pub fn zeros(&mut self, n: usize) -> Result<(), EncodeError> {
        let end = self.pos.checked_add(n).ok_or(EncodeError::BufferTooSmall)?;
        let dst = self
            .buf
            .get_mut(self.pos..end)
            .ok_or(EncodeError::BufferTooSmall)?;
        dst.fill(0);
        self.pos = end;
        Ok(())
    }

    /// Appends a length as `u16`.
    ///
    /// # Errors
    /// [`EncodeError::FieldTooLong`] if `len` exceeds `u16::MAX`, else as [`Writer::u16`].
    pub fn len16(&mut self, len: usize) -> Result<(), EncodeError> {
        self.u16(u16::try_from(len).map_err(|_| EncodeError::FieldTooLong)?)
    }

    /// Bytes written so far.
    pub fn len(&self) -> usize {
        self.pos
    }

    /// Whether nothing has been written.
    pub fn is_empty(&self) -> bool {
        self.pos == 0
    }

    /// The bytes written so far.
    pub fn written(&self) -> &[u8] {
        self.buf.get(..self.pos).unwrap_or(&[])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reader_rejects_truncated_and_trailing_input() {
        let mut r = Reader::new(&[1, 2, 3]);
        assert_eq!(r.u16(), Ok(0x0201));
        assert_eq!(r.finish(), Err(InvalidMessage::TrailingData));
        assert_eq!(r.u16(), Err(InvalidMessage::Truncated));
        assert_eq!(r.u8(), Ok(3));
        assert_eq!(r.finish(), Ok(()));
        assert_eq!(r.take(usize::MAX), Err(InvalidMessage::Truncated));
    }

    #[test]
    fn writer_refuses_to_overflow_and_writes_nothing_then() {
        let mut buf = [0u8; 3];
        let mut w = Writer::new(&mut buf);
        assert_eq!(w.u16(0xBEEF), Ok(()));
        assert_eq!(w.u16(1), Err(EncodeError::BufferTooSmall));
        assert_eq!(w.len(), 2);
        assert_eq!(w.u8(7), Ok(()));
        assert_eq!(w.written(), &[0xEF, 0xBE, 7]);
        assert_eq!(w.len16(70_000), Err(EncodeError::FieldTooLong));
    }
}
