//! CRCs: the FuSa CRC-32 (variant from the Profile) and the CSI-2 payload CRC-16/MCRF4XX.

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
