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

/// CRC-16/MCRF4XX (the CSI-2 payload CRC): poly 0x1021 reflected, init 0xFFFF, no final XOR.
pub fn crc16_mcrf4xx(data: &[u8]) -> u16 {
    const C: crc::Crc<u16> = crc::Crc::<u16>::new(&crc::CRC_16_MCRF4XX);
    C.checksum(data)
}
