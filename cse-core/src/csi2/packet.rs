//! The packet view ([`Packet`]) and its validated representation ([`Repr`]).

use super::ecc::{EccCheck, HeaderForm};
use super::{DataType, Error, FOOTER_LEN, VirtualChannel, payload_crc};

/// Length of a D-PHY packet header in bytes.
pub const HEADER_LEN: usize = 4;

/// Byte offsets of the D-PHY packet fields.
mod field {
    pub(super) type Field = core::ops::Range<usize>;

    pub(super) const DATA_ID: usize = 0;
    pub(super) const WORD_COUNT: Field = 1..3;
    pub(super) const ECC: usize = 3;
    pub(super) const HEADER: Field = 0..4;

    /// Payload of a long packet with word count `wc`.
    pub(super) const fn payload(wc: u16) -> Field {
        HEADER.end..HEADER.end + wc as usize
    }

    /// CRC-16 footer of a long packet with word count `wc`.
    pub(super) const fn footer(wc: u16) -> Field {
        let start = payload(wc).end;
        start..start + super::FOOTER_LEN
    }
}

/// Mask of the DT bits in the data identifier.
const DT_MASK: u8 = 0x3F;
/// Shift of the VC bits in the data identifier.
const DI_VC_SHIFT: u32 = 6;
/// Shift of the VCX bits in the ECC byte.
const VCX_SHIFT: u32 = 6;

/// Total length of a packet whose header says `dt` and `wc`.
const fn packet_len(dt: DataType, wc: u16) -> usize {
    if dt.is_short() {
        HEADER_LEN
    } else {
        field::footer(wc).end
    }
}

/// A read/write view of one CSI-2 D-PHY packet at the start of a buffer.
///
/// The buffer may be longer than the packet; [`Packet::total_len`] says where it ends. The
/// view reads the header as it is in the buffer: it does not correct ECC errors. Use
/// [`Packet::correct_ecc`] on a mutable buffer, or [`Repr::parse`] / [`super::Packets`] which
/// decode the corrected header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wraps a buffer without checking it.
    ///
    /// # Panics
    ///
    /// Accessors may panic if the buffer is shorter than the packet; call
    /// [`Packet::check_len`] first or use [`Packet::new_checked`].
    pub const fn new_unchecked(buffer: T) -> Packet<T> {
        Packet { buffer }
    }

    /// Wraps a buffer after [`Packet::check_len`].
    ///
    /// # Errors
    ///
    /// [`Error::Truncated`] if the buffer is shorter than the header, or, for a long packet,
    /// than header, word count bytes of payload and the CRC footer.
    pub fn new_checked(buffer: T) -> Result<Packet<T>, Error> {
        let packet = Self::new_unchecked(buffer);
        packet.check_len()?;
        Ok(packet)
    }

    /// Checks that the buffer holds the whole packet as its (uncorrected) header describes it.
    ///
    /// # Errors
    ///
    /// [`Error::Truncated`] with the number of bytes needed.
    pub fn check_len(&self) -> Result<(), Error> {
        let available = self.buffer.as_ref().len();
        if available < HEADER_LEN {
            return Err(Error::Truncated {
                needed: HEADER_LEN,
                available,
            });
        }
        let needed = self.total_len();
        if available < needed {
            return Err(Error::Truncated { needed, available });
        }
        Ok(())
    }

    /// The wrapped buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// The 4 header bytes.
    pub fn header(&self) -> [u8; 4] {
        let b = self.buffer.as_ref();
        [b[0], b[1], b[2], b[3]]
    }

    /// The data identifier byte (VC\[1:0\] and DT).
    pub fn data_id(&self) -> u8 {
        self.buffer.as_ref()[field::DATA_ID]
    }

    /// The data type (DI bits 5:0).
    pub fn data_type(&self) -> DataType {
        DataType(self.data_id() & DT_MASK)
    }

    /// The two virtual-channel bits of the data identifier (DI bits 7:6).
    pub fn di_vc(&self) -> u8 {
        self.data_id() >> DI_VC_SHIFT
    }

    /// The two bits above the ECC parity (VCX\[1:0\] in VCX forms, reserved otherwise).
    pub fn vcx(&self) -> u8 {
        self.ecc() >> VCX_SHIFT
    }

    /// The virtual channel as the header form reads it: DI bits only for
    /// [`HeaderForm::Dphy`], `VCX << 2 | DI bits` for [`HeaderForm::DphyVcx`].
    pub fn vc(&self, form: HeaderForm) -> VirtualChannel {
        let vcx = if form.has_vcx() { self.vcx() } else { 0 };
        VirtualChannel::from_parts(self.di_vc(), vcx)
    }

    /// The word count (long packet payload length) or the 16-bit data field of a short packet.
    pub fn word_count(&self) -> u16 {
        let b = &self.buffer.as_ref()[field::WORD_COUNT];
        u16::from_le_bytes([b[0], b[1]])
    }

    /// The 16-bit data field of a short packet (frame or line number); same bits as
    /// [`Packet::word_count`].
    pub fn short_data(&self) -> u16 {
        self.word_count()
    }

    /// The whole ECC byte (parity in bits 5:0, VCX or reserved in bits 7:6).
    pub fn ecc(&self) -> u8 {
        self.buffer.as_ref()[field::ECC]
    }

    /// Whether the header's data type is a short packet type.
    pub fn is_short(&self) -> bool {
        self.data_type().is_short()
    }

    /// Length of the packet in bytes as the header describes it: 4 for a short packet,
    /// `4 + WC + 2` for a long one.
    pub fn total_len(&self) -> usize {
        packet_len(self.data_type(), self.word_count())
    }

    /// Checks the header against its ECC.
    pub fn check_ecc(&self, form: HeaderForm) -> EccCheck {
        form.check(&self.header())
    }

    /// The payload of a long packet (empty for a short packet).
    pub fn payload(&self) -> &[u8] {
        if self.is_short() {
            return &[];
        }
        &self.buffer.as_ref()[field::payload(self.word_count())]
    }

    /// The CRC-16 footer of a long packet (`None` for a short packet).
    pub fn crc(&self) -> Option<u16> {
        if self.is_short() {
            return None;
        }
        let b = &self.buffer.as_ref()[field::footer(self.word_count())];
        Some(u16::from_le_bytes([b[0], b[1]]))
    }

    /// Checks the CRC-16 footer of a long packet (always `Ok` for a short packet).
    ///
    /// # Errors
    ///
    /// [`Error::CrcMismatch`] with the computed and received values.
    pub fn verify_crc(&self) -> Result<(), Error> {
        match self.crc() {
            None => Ok(()),
            Some(received) => {
                let computed = payload_crc(self.payload());
                if computed == received {
                    Ok(())
                } else {
                    Err(Error::CrcMismatch { computed, received })
                }
            }
        }
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    /// Sets the data identifier byte.
    pub fn set_data_id(&mut self, di: u8) {
        self.buffer.as_mut()[field::DATA_ID] = di;
    }

    /// Sets the data type (its low 6 bits), keeping the DI virtual-channel bits.
    pub fn set_data_type(&mut self, dt: DataType) {
        let di = (self.data_id() & !DT_MASK) | (dt.0 & DT_MASK);
        self.set_data_id(di);
    }

    /// Sets the virtual channel: DI bits 7:6 and the VCX bits of the ECC byte. For
    /// [`HeaderForm::Dphy`] use channels 0..=3 so the reserved bits stay zero.
    pub fn set_vc(&mut self, vc: VirtualChannel) {
        let di = (self.data_id() & DT_MASK) | (vc.di_bits() << DI_VC_SHIFT);
        self.set_data_id(di);
        let ecc = (self.ecc() & 0x3F) | ((vc.vcx_bits() & 0x03) << VCX_SHIFT);
        self.set_ecc(ecc);
    }

    /// Sets the word count (or the short-packet data field). A larger word count can make the
    /// packet longer than the buffer: call [`Packet::check_len`] again before using the
    /// payload.
    pub fn set_word_count(&mut self, wc: u16) {
        self.buffer.as_mut()[field::WORD_COUNT].copy_from_slice(&wc.to_le_bytes());
    }

    /// Sets the 16-bit data field of a short packet.
    pub fn set_short_data(&mut self, data: u16) {
        self.set_word_count(data);
    }

    /// Sets the whole ECC byte.
    pub fn set_ecc(&mut self, ecc: u8) {
        self.buffer.as_mut()[field::ECC] = ecc;
    }

    /// Computes and writes the ECC parity (keeping the VCX / reserved bits).
    pub fn fill_ecc(&mut self, form: HeaderForm) {
        let mut header = self.header();
        form.fill(&mut header);
        self.set_ecc(header[3]);
    }

    /// Corrects a single-bit header error in place and reports what was found.
    pub fn correct_ecc(&mut self, form: HeaderForm) -> EccCheck {
        let mut header = self.header();
        let result = form.correct(&mut header);
        self.buffer.as_mut()[field::HEADER].copy_from_slice(&header);
        result
    }

    /// The payload of a long packet (empty for a short packet), writable.
    pub fn payload_mut(&mut self) -> &mut [u8] {
        if self.is_short() {
            return &mut [];
        }
        let range = field::payload(self.word_count());
        &mut self.buffer.as_mut()[range]
    }

    /// Writes `crc` as the CRC-16 footer (no-op for a short packet): for a caller that computed
    /// the payload's CRC-16 itself, e.g. in the pass that wrote the payload
    /// ([`crate::crypto::SuiteKey::apply_keystream_crc16`]).
    pub fn set_crc(&mut self, crc: u16) {
        if self.is_short() {
            return;
        }
        let range = field::footer(self.word_count());
        self.buffer.as_mut()[range].copy_from_slice(&crc.to_le_bytes());
    }

    /// Computes the CRC-16 of the payload and writes the footer (no-op for a short packet).
    pub fn fill_crc(&mut self) {
        if self.is_short() {
            return;
        }
        let crc = payload_crc(self.payload());
        let range = field::footer(self.word_count());
        self.buffer.as_mut()[range].copy_from_slice(&crc.to_le_bytes());
    }
}

impl<T: AsRef<[u8]>> AsRef<[u8]> for Packet<T> {
    fn as_ref(&self) -> &[u8] {
        self.buffer.as_ref()
    }
}

/// The validated header values of a packet.
///
/// For a short packet, `word_count` is the 16-bit data field (frame or line number).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Repr {
    /// Virtual channel.
    pub vc: VirtualChannel,
    /// Data type.
    pub data_type: DataType,
    /// Word count (payload length) of a long packet, or data field of a short packet.
    pub word_count: u16,
}

/// Decodes and ECC-checks the header at the start of `bytes`; returns the values and the
/// corrected header bytes.
pub(super) fn decode_header(
    bytes: &[u8],
    form: HeaderForm,
) -> Result<(Repr, EccCheck, [u8; 4]), Error> {
    let Some(&[b0, b1, b2, b3]) = bytes.get(field::HEADER) else {
        return Err(Error::Truncated {
            needed: HEADER_LEN,
            available: bytes.len(),
        });
    };
    let mut header = [b0, b1, b2, b3];
    let ecc = form.correct(&mut header);
    if let EccCheck::Uncorrectable { syndrome } = ecc {
        return Err(Error::EccUncorrectable { syndrome });
    }
    let view = Packet::new_unchecked(&header[..]);
    if !form.has_vcx() && view.vcx() != 0 {
        return Err(Error::ReservedBits {
            ecc_byte: view.ecc(),
        });
    }
    let repr = Repr {
        vc: view.vc(form),
        data_type: view.data_type(),
        word_count: view.word_count(),
    };
    Ok((repr, ecc, header))
}

impl Repr {
    /// A short packet (frame/line sync or generic short) with its 16-bit data field.
    pub const fn short(vc: VirtualChannel, data_type: DataType, data: u16) -> Repr {
        Repr {
            vc,
            data_type,
            word_count: data,
        }
    }

    /// A long packet header for `word_count` payload bytes.
    pub const fn long(vc: VirtualChannel, data_type: DataType, word_count: u16) -> Repr {
        Repr {
            vc,
            data_type,
            word_count,
        }
    }

    /// Whether this is a short packet.
    pub const fn is_short(&self) -> bool {
        self.data_type.is_short()
    }

    /// Parses a packet: decodes the header through its ECC (correcting a single-bit error,
    /// which the returned [`EccCheck`] reports), checks the length against the corrected
    /// header and verifies the CRC-16 of a long packet.
    ///
    /// # Errors
    ///
    /// [`Error::Truncated`], [`Error::EccUncorrectable`], [`Error::ReservedBits`] (VCX bits
    /// set in a [`HeaderForm::Dphy`] header), [`Error::CrcMismatch`].
    pub fn parse<T: AsRef<[u8]>>(
        packet: &Packet<T>,
        form: HeaderForm,
    ) -> Result<(Repr, EccCheck), Error> {
        Repr::parse_inner(packet, form, None).map(|(r, e, _)| (r, e))
    }

    /// Parses a packet as [`Repr::parse`] does (the same checks, in the same order, with the
    /// same errors), and also returns the CRC-32 (`variant`) of the payload without its last
    /// four bytes: the check value of a record whose CRC-32 is its payload's last field (SEP
    /// packets). Both CRCs are computed in one pass over the payload
    /// ([`crate::crc::crc32_and_crc16`]). The CRC-32 is `None` for a short packet and for a
    /// payload shorter than four bytes.
    ///
    /// # Errors
    ///
    /// As [`Repr::parse`].
    pub fn parse_with_record_crc32<T: AsRef<[u8]>>(
        packet: &Packet<T>,
        form: HeaderForm,
        variant: crate::crc::Crc32Variant,
    ) -> Result<(Repr, EccCheck, Option<u32>), Error> {
        Repr::parse_inner(packet, form, Some(variant))
    }

    /// [`Repr::parse`] without the CRC-16 check of a long packet: the header through its ECC
    /// and the length only. For a caller that checks the payload's CRC-16 itself in a pass it
    /// makes anyway (e.g. [`crate::crypto::SuiteKey::apply_keystream_crc16`]) before it uses
    /// the payload; [`Packet::verify_crc`] is the separate check.
    ///
    /// # Errors
    ///
    /// [`Error::Truncated`], [`Error::EccUncorrectable`], [`Error::ReservedBits`].
    pub fn parse_header<T: AsRef<[u8]>>(
        packet: &Packet<T>,
        form: HeaderForm,
    ) -> Result<(Repr, EccCheck), Error> {
        let bytes = packet.buffer.as_ref();
        let (repr, ecc, _) = decode_header(bytes, form)?;
        let needed = repr.buffer_len();
        if bytes.len() < needed {
            return Err(Error::Truncated {
                needed,
                available: bytes.len(),
            });
        }
        Ok((repr, ecc))
    }

    fn parse_inner<T: AsRef<[u8]>>(
        packet: &Packet<T>,
        form: HeaderForm,
        record: Option<crate::crc::Crc32Variant>,
    ) -> Result<(Repr, EccCheck, Option<u32>), Error> {
        let bytes = packet.buffer.as_ref();
        let (repr, ecc) = Repr::parse_header(packet, form)?;
        if !repr.is_short() {
            let payload = bytes
                .get(field::payload(repr.word_count))
                .unwrap_or_default();
            let received = bytes
                .get(field::footer(repr.word_count))
                .map_or(0, |f| u16::from_le_bytes([f[0], f[1]]));
            let (computed, record_crc) = match record {
                Some(variant) if payload.len() >= 4 => {
                    let (data, tail) = payload.split_at(payload.len() - 4);
                    let (c32, c16) = crate::crc::crc32_and_crc16(variant, data, tail);
                    (c16, Some(c32))
                }
                _ => (payload_crc(payload), None),
            };
            if computed != received {
                return Err(Error::CrcMismatch { computed, received });
            }
            return Ok((repr, ecc, record_crc));
        }
        Ok((repr, ecc, None))
    }

    /// Length of the packet in bytes: 4 for a short packet, `4 + word_count + 2` otherwise.
    pub const fn buffer_len(&self) -> usize {
        packet_len(self.data_type, self.word_count)
    }

    /// The 4 header bytes of this packet, ECC included.
    ///
    /// # Errors
    ///
    /// [`Error::VirtualChannel`] above [`HeaderForm::max_vc`], [`Error::DataType`] above
    /// 0x3F.
    pub fn header_bytes(&self, form: HeaderForm) -> Result<[u8; 4], Error> {
        if self.vc.get() > form.max_vc() {
            return Err(Error::VirtualChannel(self.vc.get()));
        }
        if !self.data_type.fits_wire() {
            return Err(Error::DataType(self.data_type.0));
        }
        let wc = self.word_count.to_le_bytes();
        let mut header = [
            (self.vc.di_bits() << DI_VC_SHIFT) | self.data_type.0,
            wc[0],
            wc[1],
            self.vc.vcx_bits() << VCX_SHIFT,
        ];
        form.fill(&mut header);
        Ok(header)
    }

    /// Writes the header (with ECC) and, for a long packet, the CRC-16 footer over the payload
    /// bytes already in the buffer. Writes within the first [`Repr::buffer_len`] bytes only and
    /// leaves the payload untouched: fill it before (at offset 4), or after and then call
    /// [`Packet::fill_crc`].
    ///
    /// # Errors
    ///
    /// [`Error::BufferTooSmall`] if the buffer is shorter than `buffer_len()`, and the errors
    /// of [`Repr::header_bytes`]. Nothing is written on error.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(
        &self,
        packet: &mut Packet<T>,
        form: HeaderForm,
    ) -> Result<(), Error> {
        let header = self.header_bytes(form)?;
        let needed = self.buffer_len();
        let available = packet.buffer.as_ref().len();
        if available < needed {
            return Err(Error::BufferTooSmall { needed, available });
        }
        let buf = packet.buffer.as_mut();
        buf[field::HEADER].copy_from_slice(&header);
        if !self.is_short() {
            let crc = payload_crc(&buf[field::payload(self.word_count)]);
            buf[field::footer(self.word_count)].copy_from_slice(&crc.to_le_bytes());
        }
        Ok(())
    }
}
