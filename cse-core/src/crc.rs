//! CRCs: the FuSa CRC-32 (variant from the Profile) and the CSI-2 payload CRC-16/MCRF4XX.
//!
//! One-shot functions ([`crc32`], [`crc16_mcrf4xx`]) and streaming digests ([`Crc32`],
//! [`Crc16Mcrf4xx`]) that accept a record in discontiguous pieces (header, payload, tag)
//! without copying them together:
//!
//! ```
//! use cse_core::crc::{crc32, Crc32, Crc32Variant};
//!
//! let mut d = Crc32::new(Crc32Variant::IsoHdlc);
//! d.update(b"1234");
//! d.update(b"56789");
//! assert_eq!(d.finalize(), crc32(Crc32Variant::IsoHdlc, b"123456789"));
//! assert_eq!(d.finalize(), 0xCBF4_3926);
//! ```
//!
//! Parameters (Rocksoft model, as in the CRC RevEng catalogue):
//!
//! ```text
//! name             width  poly        init        refin refout xorout      check("123456789")
//! CRC-32/ISO-HDLC  32     0x04C11DB7  0xFFFFFFFF  true  true   0xFFFFFFFF  0xCBF43926
//! CRC-32/AUTOSAR   32     0xF4ACFB13  0xFFFFFFFF  true  true   0xFFFFFFFF  0x1697D06A
//! CRC-32/ISCSI     32     0x1EDC6F41  0xFFFFFFFF  true  true   0xFFFFFFFF  0xE3069283
//! CRC-16/MCRF4XX   16     0x1021      0xFFFF      true  true   0x0000      0x6F91
//! ```
//!
//! # Backends
//!
//! The portable backend is the `crc` crate with slice-by-16 tables; it is always built and is
//! the reference of the differential tests. With the `std` feature the digests run on
//! `crc-fast` (PCLMULQDQ/VPCLMULQDQ on x86-64, PMULL on aarch64, detected at run time), which
//! is several times faster on CSI-2 line sizes (numbers in the crate README). `crc-fast` does not
//! build without `std` (its x86-64 code imports `std`, and it is also built as a `staticlib`,
//! which needs a panic handler on bare-metal targets), so `no_std` builds keep the portable path.
//!
//! No function in this module panics.

/// The CRC-32 variant of the FuSa record CRC (not public; see `docs/profile.md`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Crc32Variant {
    /// CRC-32/ISO-HDLC (IEEE 802.3, zlib): poly 0x04C11DB7 reflected, init and xorout 0xFFFFFFFF.
    IsoHdlc,
    /// CRC-32/AUTOSAR (AUTOSAR E2E profile 4 "CRC-32P4"): poly 0xF4ACFB13 reflected.
    Autosar,
    /// CRC-32/ISCSI (Castagnoli, CRC-32C): poly 0x1EDC6F41 reflected.
    Iscsi,
}

/// The portable backend: the `crc` crate, slice-by-16 tables (16 KiB of tables per CRC).
///
/// Public (hidden) so the differential tests and benches can compare a fast backend with it.
#[doc(hidden)]
pub mod portable {
    use super::Crc32Variant;
    use crc::{Crc, Table};

    static ISO_HDLC: Crc<u32, Table<16>> = Crc::<u32, Table<16>>::new(&crc::CRC_32_ISO_HDLC);
    static AUTOSAR: Crc<u32, Table<16>> = Crc::<u32, Table<16>>::new(&crc::CRC_32_AUTOSAR);
    static ISCSI: Crc<u32, Table<16>> = Crc::<u32, Table<16>>::new(&crc::CRC_32_ISCSI);
    static MCRF4XX: Crc<u16, Table<16>> = Crc::<u16, Table<16>>::new(&crc::CRC_16_MCRF4XX);

    pub(super) fn engine32(variant: Crc32Variant) -> &'static Crc<u32, Table<16>> {
        match variant {
            Crc32Variant::IsoHdlc => &ISO_HDLC,
            Crc32Variant::Autosar => &AUTOSAR,
            Crc32Variant::Iscsi => &ISCSI,
        }
    }

    /// Streaming CRC-32 state of the portable backend.
    pub(super) type Digest32 = crc::Digest<'static, u32, Table<16>>;
    /// Streaming CRC-16 state of the portable backend.
    pub(super) type Digest16 = crc::Digest<'static, u16, Table<16>>;

    pub(super) fn digest32(variant: Crc32Variant) -> Digest32 {
        engine32(variant).digest()
    }

    pub(super) fn digest16() -> Digest16 {
        MCRF4XX.digest()
    }

    /// One-shot CRC-32 on the portable backend.
    pub fn crc32(variant: Crc32Variant, data: &[u8]) -> u32 {
        engine32(variant).checksum(data)
    }

    /// One-shot CRC-16/MCRF4XX on the portable backend.
    pub fn crc16_mcrf4xx(data: &[u8]) -> u16 {
        MCRF4XX.checksum(data)
    }
}

/// The CRC-32 of `data` with the given variant.
pub fn crc32(variant: Crc32Variant, data: &[u8]) -> u32 {
    let mut d = Crc32::new(variant);
    d.update(data);
    d.finalize()
}

/// CRC-16/MCRF4XX (the CSI-2 payload CRC): poly 0x1021 reflected, init 0xFFFF, no final XOR.
pub fn crc16_mcrf4xx(data: &[u8]) -> u16 {
    let mut d = Crc16Mcrf4xx::new();
    d.update(data);
    d.finalize()
}

/// A streaming CRC-32 over a record given in pieces.
///
/// `finalize` borrows, so a caller can read the running value and keep feeding bytes.
#[derive(Clone)]
pub struct Crc32 {
    variant: Crc32Variant,
    inner: portable::Digest32,
}

impl Crc32 {
    /// A fresh digest for `variant`.
    pub fn new(variant: Crc32Variant) -> Self {
        Crc32 {
            variant,
            inner: portable::digest32(variant),
        }
    }

    /// The variant this digest computes.
    pub fn variant(&self) -> Crc32Variant {
        self.variant
    }

    /// Feeds the next piece of the record.
    pub fn update(&mut self, data: &[u8]) {
        self.inner.update(data);
    }

    /// The CRC of everything fed so far.
    pub fn finalize(&self) -> u32 {
        self.inner.clone().finalize()
    }
}

impl core::fmt::Debug for Crc32 {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Crc32")
            .field("variant", &self.variant)
            .field("value", &self.finalize())
            .finish()
    }
}

/// A streaming CRC-16/MCRF4XX over a CSI-2 payload given in pieces.
#[derive(Clone)]
pub struct Crc16Mcrf4xx {
    inner: portable::Digest16,
}

impl Crc16Mcrf4xx {
    /// A fresh digest.
    pub fn new() -> Self {
        Crc16Mcrf4xx {
            inner: portable::digest16(),
        }
    }

    /// Feeds the next piece of the payload.
    pub fn update(&mut self, data: &[u8]) {
        self.inner.update(data);
    }

    /// The CRC of everything fed so far.
    pub fn finalize(&self) -> u16 {
        self.inner.clone().finalize()
    }
}

impl Default for Crc16Mcrf4xx {
    fn default() -> Self {
        Crc16Mcrf4xx::new()
    }
}

impl core::fmt::Debug for Crc16Mcrf4xx {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Crc16Mcrf4xx")
            .field("value", &self.finalize())
            .finish()
    }
}
