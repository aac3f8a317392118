//! CSI-2 framing: packet views, D-PHY header ECC, CRC-16 footer, a stream iterator and an emitter.
//!
//! This module is the wire layer under the CSE protocols: it knows how CSI-2 low-level-protocol
//! packets are laid out in a byte buffer, and nothing about security.
//!
//! # Wire format (D-PHY)
//!
//! Every packet starts with a 4-byte packet header. Bytes are listed in transmit order; within
//! a byte, bit 0 is sent first.
//!
//! ```text
//!  byte 0            byte 1        byte 2        byte 3
//! +-------+--------+-------------+-------------+---------+-----------+
//! | VC    | DT     | WC[7:0]     | WC[15:8]    | VCX     | ECC       |
//! | [7:6] | [5:0]  |             |             | [7:6]   | [5:0]     |
//! +-------+--------+-------------+-------------+---------+-----------+
//!  DI = data identifier
//! ```
//!
//! - `DT` 0x00..=0x0F is a **short packet**: the header is the whole packet and the 16-bit
//!   field is data (frame number for FS/FE, line number for LS/LE, free for generic short).
//! - Any other `DT` is a **long packet**: header, then `WC` payload bytes, then a 2-byte CRC-16
//!   footer (CRC-16/MCRF4XX over the payload, least significant byte first):
//!
//! ```text
//! +----------------+----------------------------+-----------+-----------+
//! | header (4)     | payload (WC bytes)         | CRC[7:0]  | CRC[15:8] |
//! +----------------+----------------------------+-----------+-----------+
//! ```
//!
//! - `ECC` is a 6-bit modified Hamming code over `DI` and `WC` (24 bits), or, when virtual
//!   channel extension is on ([`HeaderForm::DphyVcx`]), over `DI`, `WC` and the two `VCX` bits
//!   (26 bits). The virtual channel is then `VCX << 2 | VC`, 0..=15. Without VCX the two top
//!   bits of byte 3 are reserved (zero). See [`HeaderForm`] for the ECC API.
//!
//! The C-PHY header form (no ECC, a header CRC, the header sent twice) is not implemented yet;
//! [`HeaderForm`] is the parameter through which it will enter, and [`VirtualChannel`] already
//! holds the 32 channels C-PHY can address.
//!
//! # Layers
//!
//! - [`Packet`]: a typed view over a borrowed buffer (getters with `AsRef<[u8]>`, setters with
//!   `AsMut<[u8]>`).
//! - [`Repr`]: validated header values with [`Repr::parse`], [`Repr::buffer_len`] and
//!   [`Repr::emit`].
//! - [`Packets`]: a zero-copy iterator over a buffer of concatenated packets.
//! - [`Emitter`]: appends packets to a caller buffer, computing ECC and CRC.
//!
//! # Panic contract
//!
//! - [`Packet::new_checked`] (or [`Packet::check_len`]) succeeding guarantees that no getter or
//!   setter of that packet panics, as long as the word count is not changed afterwards
//!   ([`Packet::set_word_count`] to a larger value re-opens the question: call `check_len`
//!   again). A packet made with [`Packet::new_unchecked`] and never checked may panic on access
//!   when its buffer is too short; that is the only panic in this module.
//! - [`Repr::parse`], [`Repr::emit`], [`Packets`] and [`Emitter`] never panic, whatever the
//!   input; `emit` writes exactly [`Repr::buffer_len`] bytes or returns an error.

mod ecc;
mod emitter;
mod iter;
mod packet;

pub use ecc::{EccCheck, HeaderForm};
pub use emitter::Emitter;
pub use iter::{Decoded, Packets, StreamError};
pub use packet::{HEADER_LEN, Packet, Repr};

use crate::error::{ConfigError, FusaError};

/// Length of the CRC-16 packet footer of a long packet, in bytes.
pub const FOOTER_LEN: usize = 2;

/// CRC-16 of a long packet payload (CRC-16/MCRF4XX, the CSI-2 payload checksum).
pub fn payload_crc(payload: &[u8]) -> u16 {
    crate::crc::crc16_mcrf4xx(payload)
}

/// A CSI-2 data type (6 bits on the wire, or an extended code). Open set: unknown codes
/// round-trip.
///
/// Codes and names follow the public list in Linux `include/media/mipi-csi2.h`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DataType(pub u8);

impl DataType {
    /// Frame start (short packet; data field = frame number).
    pub const FS: DataType = DataType(0x00);
    /// Frame end (short packet; data field = frame number).
    pub const FE: DataType = DataType(0x01);
    /// Line start (short packet; data field = line number).
    pub const LS: DataType = DataType(0x02);
    /// Line end (short packet; data field = line number).
    pub const LE: DataType = DataType(0x03);
    /// Generic short packet code 1.
    pub const GENERIC_SHORT_1: DataType = DataType(0x08);
    /// Generic short packet code 2.
    pub const GENERIC_SHORT_2: DataType = DataType(0x09);
    /// Generic short packet code 3.
    pub const GENERIC_SHORT_3: DataType = DataType(0x0A);
    /// Generic short packet code 4.
    pub const GENERIC_SHORT_4: DataType = DataType(0x0B);
    /// Generic short packet code 5.
    pub const GENERIC_SHORT_5: DataType = DataType(0x0C);
    /// Generic short packet code 6.
    pub const GENERIC_SHORT_6: DataType = DataType(0x0D);
    /// Generic short packet code 7.
    pub const GENERIC_SHORT_7: DataType = DataType(0x0E);
    /// Generic short packet code 8.
    pub const GENERIC_SHORT_8: DataType = DataType(0x0F);
    /// Null (long packet, receiver discards the payload).
    pub const NULL: DataType = DataType(0x10);
    /// Blanking data (long packet).
    pub const BLANKING: DataType = DataType(0x11);
    /// Embedded 8-bit non-image data (long packet; top and bottom blocks of a frame).
    pub const EMBEDDED: DataType = DataType(0x12);
    /// YUV420 8-bit.
    pub const YUV420_8: DataType = DataType(0x18);
    /// YUV420 10-bit.
    pub const YUV420_10: DataType = DataType(0x19);
    /// Legacy YUV420 8-bit.
    pub const YUV420_8_LEGACY: DataType = DataType(0x1A);
    /// YUV422 8-bit.
    pub const YUV422_8: DataType = DataType(0x1E);
    /// YUV422 10-bit.
    pub const YUV422_10: DataType = DataType(0x1F);
    /// RGB444.
    pub const RGB444: DataType = DataType(0x20);
    /// RGB555.
    pub const RGB555: DataType = DataType(0x21);
    /// RGB565.
    pub const RGB565: DataType = DataType(0x22);
    /// RGB666.
    pub const RGB666: DataType = DataType(0x23);
    /// RGB888.
    pub const RGB888: DataType = DataType(0x24);
    /// RAW28 (CSI-2 v4.0).
    pub const RAW28: DataType = DataType(0x26);
    /// RAW24.
    pub const RAW24: DataType = DataType(0x27);
    /// RAW6.
    pub const RAW6: DataType = DataType(0x28);
    /// RAW7.
    pub const RAW7: DataType = DataType(0x29);
    /// RAW8.
    pub const RAW8: DataType = DataType(0x2A);
    /// RAW10.
    pub const RAW10: DataType = DataType(0x2B);
    /// RAW12.
    pub const RAW12: DataType = DataType(0x2C);
    /// RAW14.
    pub const RAW14: DataType = DataType(0x2D);
    /// RAW16.
    pub const RAW16: DataType = DataType(0x2E);
    /// RAW20.
    pub const RAW20: DataType = DataType(0x2F);
    /// User-defined 8-bit data type 1 (0x30); the user range is 0x30..=0x37.
    pub const USER_1: DataType = DataType(0x30);
    /// User-defined 8-bit data type 8 (0x37).
    pub const USER_8: DataType = DataType(0x37);

    /// The largest code that fits in the 6-bit DT field of a D-PHY header.
    pub const MAX_WIRE: u8 = 0x3F;

    /// Whether packets of this type are short packets (0x00..=0x0F): header only.
    pub const fn is_short(self) -> bool {
        self.0 <= 0x0F
    }

    /// Whether packets of this type are long packets (header, payload, CRC footer).
    pub const fn is_long(self) -> bool {
        !self.is_short()
    }

    /// Frame start or frame end.
    pub const fn is_frame_sync(self) -> bool {
        self.0 == Self::FS.0 || self.0 == Self::FE.0
    }

    /// Line start or line end.
    pub const fn is_line_sync(self) -> bool {
        self.0 == Self::LS.0 || self.0 == Self::LE.0
    }

    /// Generic short packet (0x08..=0x0F).
    pub const fn is_generic_short(self) -> bool {
        self.0 >= 0x08 && self.0 <= 0x0F
    }

    /// User-defined data type (0x30..=0x37).
    pub const fn is_user_defined(self) -> bool {
        self.0 >= 0x30 && self.0 <= 0x37
    }

    /// RAW pixel data (RAW6..RAW20, RAW24, RAW28).
    pub const fn is_raw(self) -> bool {
        self.0 >= 0x26 && self.0 <= 0x2F
    }

    /// Whether the code fits the 6-bit DT field of a D-PHY header.
    pub const fn fits_wire(self) -> bool {
        self.0 <= Self::MAX_WIRE
    }
}

/// A CSI-2 virtual channel number, 0..=31.
///
/// D-PHY without VCX carries 2 bits (0..=3), D-PHY with VCX 4 bits (0..=15) and C-PHY 5 bits
/// (0..=31); the value type holds all of them, and each [`HeaderForm`] checks its own range on
/// emit ([`HeaderForm::max_vc`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct VirtualChannel(u8);

impl VirtualChannel {
    /// The largest virtual channel any CSI-2 header form can carry (C-PHY, 5 bits).
    pub const MAX: u8 = 31;

    /// A virtual channel.
    ///
    /// # Errors
    ///
    /// [`ConfigError::VirtualChannel`] above [`VirtualChannel::MAX`].
    pub const fn new(vc: u8) -> Result<Self, ConfigError> {
        if vc > Self::MAX {
            Err(ConfigError::VirtualChannel(vc))
        } else {
            Ok(VirtualChannel(vc))
        }
    }

    /// From the two DI bits and the VCX extension bits (`vcx << 2 | di_bits`).
    pub const fn from_parts(di_bits: u8, vcx: u8) -> Self {
        VirtualChannel(((vcx & 0x07) << 2) | (di_bits & 0x03))
    }

    /// The channel number.
    pub const fn get(self) -> u8 {
        self.0
    }

    /// The low two bits, carried in the data identifier.
    pub const fn di_bits(self) -> u8 {
        self.0 & 0x03
    }

    /// The extension bits above the two DI bits (VCX).
    pub const fn vcx_bits(self) -> u8 {
        self.0 >> 2
    }
}

impl TryFrom<u8> for VirtualChannel {
    type Error = ConfigError;
    fn try_from(vc: u8) -> Result<Self, ConfigError> {
        VirtualChannel::new(vc)
    }
}

/// A CSI-2 framing error: the reason a packet could not be read or written.
///
/// Small and `Copy`; [`StreamError`] adds the byte offset of the offending packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The buffer ends inside the packet (header, payload or CRC footer).
    #[error("truncated packet: need {needed} bytes, have {available}")]
    Truncated {
        /// Bytes the packet needs (header, payload and footer as far as known).
        needed: usize,
        /// Bytes available from the packet start.
        available: usize,
    },
    /// The header has an error the ECC cannot correct (two or more flipped bits).
    #[error("uncorrectable packet header (ECC syndrome {syndrome:#04x})")]
    EccUncorrectable {
        /// The 6-bit ECC syndrome.
        syndrome: u8,
    },
    /// The payload CRC-16 did not match the footer (a functional-safety finding; see
    /// [`Error::to_fusa`]).
    #[error("CRC-16 mismatch: computed {computed:#06x}, received {received:#06x}")]
    CrcMismatch {
        /// CRC over the received payload.
        computed: u16,
        /// CRC carried in the footer.
        received: u16,
    },
    /// Reserved header bits are set: ECC byte bits 7:6 without VCX.
    #[error("reserved header bits set (ECC byte {ecc_byte:#04x})")]
    ReservedBits {
        /// The received ECC byte.
        ecc_byte: u8,
    },
    /// A virtual channel the header form cannot carry.
    #[error("virtual channel {0} does not fit the header form")]
    VirtualChannel(u8),
    /// A data type that does not fit the 6-bit DT field.
    #[error("data type {0:#04x} does not fit the header")]
    DataType(u8),
    /// A short packet was asked for with a long data type, or the reverse.
    #[error("data type {0:#04x} has the wrong packet kind for this call")]
    WrongPacketKind(u8),
    /// A payload longer than the 16-bit word count can describe.
    #[error("payload of {0} bytes exceeds the 65535-byte word count")]
    PayloadTooLong(usize),
    /// The output buffer is too small.
    #[error("buffer too small: need {needed} bytes, have {available}")]
    BufferTooSmall {
        /// Bytes needed.
        needed: usize,
        /// Bytes available.
        available: usize,
    },
    /// VCX ECC columns that would break single-error correction / double-error detection.
    #[error("VCX ECC columns {0:#04x?} are not valid SEC-DED columns")]
    InvalidEccColumns([u8; 2]),
}

impl Error {
    /// The functional-safety view of this error: a CRC mismatch is
    /// [`FusaError::Crc16Mismatch`]; other framing errors are not FuSa findings.
    pub const fn to_fusa(self) -> Option<FusaError> {
        match self {
            Error::CrcMismatch { computed, received } => {
                Some(FusaError::Crc16Mismatch { computed, received })
            }
            _ => None,
        }
    }
}
