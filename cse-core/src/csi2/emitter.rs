//! Appending packets to a caller buffer.

use super::ecc::HeaderForm;
use super::packet::{HEADER_LEN, Repr};
use super::{DataType, Error, FOOTER_LEN, VirtualChannel, payload_crc};

/// Appends CSI-2 packets to a caller buffer, computing ECC and CRC.
///
/// Every method either appends one whole packet and returns its offset, or returns an error
/// and leaves the buffer and the cursor as they were. Never panics.
///
/// ```
/// use cse_core::csi2::{DataType, Emitter, HeaderForm, Packets, VirtualChannel};
///
/// let mut buf = [0u8; 64];
/// let vc = VirtualChannel::new(1)?;
/// let mut out = Emitter::new(&mut buf, HeaderForm::Dphy);
/// out.short(vc, DataType::FS, 7)?;
/// out.long_with(vc, DataType::RAW8, 8, |line| line.fill(0x80))?;
/// out.short(vc, DataType::FE, 7)?;
/// let stream = out.written();
/// assert_eq!(stream.len(), 4 + (4 + 8 + 2) + 4);
/// assert_eq!(Packets::new(stream, HeaderForm::Dphy).count(), 3);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Emitter<'a> {
    buf: &'a mut [u8],
    len: usize,
    form: HeaderForm,
}

impl<'a> Emitter<'a> {
    /// An emitter writing from the start of `buf`.
    pub const fn new(buf: &'a mut [u8], form: HeaderForm) -> Self {
        Emitter { buf, len: 0, form }
    }

    /// The header form used.
    pub const fn form(&self) -> HeaderForm {
        self.form
    }

    /// Bytes written so far.
    pub const fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing has been written.
    pub const fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Bytes still free.
    pub const fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.len)
    }

    /// The packets written so far.
    pub fn written(&self) -> &[u8] {
        self.buf.get(..self.len).unwrap_or_default()
    }

    /// Ends the emitter, returning the written part of the buffer.
    pub fn into_written(self) -> &'a mut [u8] {
        let len = self.len;
        self.buf.get_mut(..len).unwrap_or_default()
    }

    /// Reserves `repr.buffer_len()` bytes and returns the header and the slot slice.
    fn reserve(&mut self, repr: &Repr) -> Result<([u8; 4], &mut [u8]), Error> {
        let header = repr.header_bytes(self.form)?;
        let needed = repr.buffer_len();
        let available = self.remaining();
        let start = self.len;
        match self.buf.get_mut(start..start.saturating_add(needed)) {
            Some(slot) if slot.len() == needed => Ok((header, slot)),
            _ => Err(Error::BufferTooSmall { needed, available }),
        }
    }

    /// Appends a short packet with its 16-bit data field.
    ///
    /// # Errors
    ///
    /// [`Error::WrongPacketKind`] for a long data type, [`Error::VirtualChannel`],
    /// [`Error::BufferTooSmall`].
    pub fn short(&mut self, vc: VirtualChannel, dt: DataType, data: u16) -> Result<usize, Error> {
        if !dt.is_short() {
            return Err(Error::WrongPacketKind(dt.0));
        }
        let repr = Repr::short(vc, dt, data);
        let (header, slot) = self.reserve(&repr)?;
        slot.copy_from_slice(&header);
        Ok(self.commit(HEADER_LEN))
    }

    /// Appends a frame start with its frame number.
    ///
    /// # Errors
    ///
    /// As [`Emitter::short`].
    pub fn frame_start(&mut self, vc: VirtualChannel, frame: u16) -> Result<usize, Error> {
        self.short(vc, DataType::FS, frame)
    }

    /// Appends a frame end with its frame number.
    ///
    /// # Errors
    ///
    /// As [`Emitter::short`].
    pub fn frame_end(&mut self, vc: VirtualChannel, frame: u16) -> Result<usize, Error> {
        self.short(vc, DataType::FE, frame)
    }

    /// Appends a line start with its line number.
    ///
    /// # Errors
    ///
    /// As [`Emitter::short`].
    pub fn line_start(&mut self, vc: VirtualChannel, line: u16) -> Result<usize, Error> {
        self.short(vc, DataType::LS, line)
    }

    /// Appends a line end with its line number.
    ///
    /// # Errors
    ///
    /// As [`Emitter::short`].
    pub fn line_end(&mut self, vc: VirtualChannel, line: u16) -> Result<usize, Error> {
        self.short(vc, DataType::LE, line)
    }

    /// Appends a long packet carrying `payload`.
    ///
    /// # Errors
    ///
    /// [`Error::PayloadTooLong`] above 65535 bytes, [`Error::WrongPacketKind`] for a short data
    /// type, [`Error::VirtualChannel`], [`Error::DataType`], [`Error::BufferTooSmall`].
    pub fn long(
        &mut self,
        vc: VirtualChannel,
        dt: DataType,
        payload: &[u8],
    ) -> Result<usize, Error> {
        let len = u16::try_from(payload.len()).map_err(|_| Error::PayloadTooLong(payload.len()))?;
        // The copy and the CRC in one pass; the copy overwrites the whole slot.
        self.long_filled(vc, dt, len, |slot| {
            crate::crc::copy_crc16_mcrf4xx(payload, slot)
        })
    }

    /// Appends a long packet of `len` payload bytes that `fill` writes in place (the slice it
    /// gets is exactly `len` bytes, zeroed first so nothing stale leaks); then the CRC is
    /// computed over what it wrote.
    ///
    /// # Errors
    ///
    /// As [`Emitter::long`]; `fill` is not called on error.
    pub fn long_with(
        &mut self,
        vc: VirtualChannel,
        dt: DataType,
        len: u16,
        fill: impl FnOnce(&mut [u8]),
    ) -> Result<usize, Error> {
        self.long_filled(vc, dt, len, |payload| {
            // Zeroed first, so nothing stale leaks.
            payload.fill(0);
            fill(payload);
            payload_crc(payload)
        })
    }

    /// Appends a long packet of `len` payload bytes: `fill` writes the whole payload slot and
    /// returns the CRC-16 of what it wrote.
    fn long_filled(
        &mut self,
        vc: VirtualChannel,
        dt: DataType,
        len: u16,
        fill: impl FnOnce(&mut [u8]) -> u16,
    ) -> Result<usize, Error> {
        if dt.is_short() {
            return Err(Error::WrongPacketKind(dt.0));
        }
        let repr = Repr::long(vc, dt, len);
        let (header, slot) = self.reserve(&repr)?;
        let (head, body) = slot.split_at_mut(HEADER_LEN);
        head.copy_from_slice(&header);
        let (payload, footer) = body.split_at_mut(usize::from(len));
        let crc = fill(payload);
        if footer.len() == FOOTER_LEN {
            footer.copy_from_slice(&crc.to_le_bytes());
        }
        Ok(self.commit(repr.buffer_len()))
    }

    /// Appends a packet described by `repr`; `payload` must be empty for a short packet and
    /// exactly `repr.word_count` bytes for a long one.
    ///
    /// # Errors
    ///
    /// [`Error::Truncated`] if the payload length does not match, and the errors of
    /// [`Emitter::short`] / [`Emitter::long`].
    pub fn packet(&mut self, repr: &Repr, payload: &[u8]) -> Result<usize, Error> {
        if repr.is_short() {
            if !payload.is_empty() {
                return Err(Error::Truncated {
                    needed: 0,
                    available: payload.len(),
                });
            }
            return self.short(repr.vc, repr.data_type, repr.word_count);
        }
        if payload.len() != usize::from(repr.word_count) {
            return Err(Error::Truncated {
                needed: usize::from(repr.word_count),
                available: payload.len(),
            });
        }
        self.long(repr.vc, repr.data_type, payload)
    }

    fn commit(&mut self, len: usize) -> usize {
        let start = self.len;
        self.len = start.saturating_add(len);
        start
    }
}
