//! D-PHY packet-header ECC: a 6-bit modified Hamming code (single-error correction,
//! double-error detection) over the 24 header bits, or 26 with VCX.
//!
//! The parity is the XOR of one 6-bit column per set data bit. The 24 columns for DI and WC
//! are public (the CSI-2 D-PHY packet-header ECC table, as open-source CSI-2 receivers reproduce it). All of them have odd weight (3 or
//! 5) and are distinct, and the check bits themselves have the weight-1 columns, so:
//! a single flipped bit gives a syndrome equal to its own column (correctable), and two
//! flipped bits give an even-weight, non-zero syndrome that matches no column (detected).
//!
//! The columns for the VCX bits 24 and 25 are not public. A search of public code (CSI-2
//! receivers such as gatecat/CSI2Rx and htti/mipitest, overhitech `csi_packet_item.sv`) found
//! only 24-bit implementations. Among 6-bit columns, the only odd-weight ones left unused by
//! the 24 public columns and the 6 check bits are 0x3D and 0x3E, which is why the default
//! profile uses them; they come from [`crate::Profile::vcx_ecc_columns`] and can be retargeted
//! there.

use super::Error;
use crate::Profile;

/// Syndrome columns of data bits 0..=23 (bits 0..=7 = DI, 8..=23 = WC least significant bit
/// first). Source: the CSI-2 D-PHY packet-header ECC table.
const COLUMNS: [u8; 24] = [
    0x07, 0x0B, 0x0D, 0x0E, 0x13, 0x15, 0x16, 0x19, 0x1A, 0x1C, 0x23, 0x25, 0x26, 0x29, 0x2A, 0x2C,
    0x31, 0x32, 0x34, 0x38, 0x1F, 0x2F, 0x37, 0x3B,
];

/// Marker for "no data bit has this column".
const NO_BIT: u8 = 0xFF;

/// Parity contribution of each value of header byte `index` (0..=2).
const fn byte_table(index: usize) -> [u8; 256] {
    let mut table = [0u8; 256];
    let mut value = 0;
    while value < 256 {
        let mut parity = 0;
        let mut bit = 0;
        while bit < 8 {
            if (value >> bit) & 1 == 1 {
                parity ^= COLUMNS[index * 8 + bit];
            }
            bit += 1;
        }
        table[value] = parity;
        value += 1;
    }
    table
}

/// Map from a syndrome to the data bit (0..=23) whose column it is, or [`NO_BIT`].
const fn syndrome_table() -> [u8; 64] {
    let mut table = [NO_BIT; 64];
    let mut bit = 0;
    while bit < 24 {
        table[COLUMNS[bit] as usize] = bit as u8;
        bit += 1;
    }
    table
}

const TABLE_DI: [u8; 256] = byte_table(0);
const TABLE_WC_LO: [u8; 256] = byte_table(1);
const TABLE_WC_HI: [u8; 256] = byte_table(2);
const SYNDROME_TO_BIT: [u8; 64] = syndrome_table();

/// Mask of the 6 parity bits in the ECC byte.
const PARITY_MASK: u8 = 0x3F;
/// Header bit index of parity bit 0 (byte 3, bit 0).
const PARITY_BIT0: u8 = 24;
/// Header bit index of VCX bit 0 (byte 3, bit 6).
const VCX_BIT0: u8 = 30;

/// How a packet header is laid out and protected.
///
/// Every function that reads or writes a header takes one: it is the place where the C-PHY
/// header form will be added.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum HeaderForm {
    /// D-PHY, CSI-2 v1.x header: 2-bit virtual channel, ECC over 24 bits, ECC byte bits 7:6
    /// reserved (zero).
    #[default]
    Dphy,
    /// D-PHY with virtual channel extension (CSI-2 v2.0+): VCX\[1:0\] in ECC byte bits 7:6,
    /// 4-bit virtual channel, ECC over 26 bits.
    DphyVcx {
        /// Syndrome columns of VCX bit 0 (data bit 24) and VCX bit 1 (data bit 25).
        /// Use [`HeaderForm::dphy_vcx`] to have them checked.
        columns: [u8; 2],
    },
}

/// Result of checking (or correcting) a header's ECC.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EccCheck {
    /// The header is consistent with its ECC.
    Ok,
    /// Exactly one bit was in error and has been (or can be) corrected.
    ///
    /// `bit` indexes the 4 header bytes read as a little-endian `u32` (transmit order):
    /// 0..=7 DI, 8..=23 WC, 24..=29 the ECC parity bits P0..P5, 30..=31 VCX\[1:0\].
    Corrected {
        /// Header bit that was flipped.
        bit: u8,
    },
    /// Two (or more) bits are in error; the header must be discarded.
    Uncorrectable {
        /// The non-zero 6-bit syndrome.
        syndrome: u8,
    },
}

impl EccCheck {
    /// Whether the header can be used (as received or after correction).
    pub const fn is_usable(self) -> bool {
        !matches!(self, EccCheck::Uncorrectable { .. })
    }
}

impl HeaderForm {
    /// D-PHY with VCX and the VCX columns of the default profile `draft-1` (0x3D, 0x3E).
    pub const DPHY_VCX_DRAFT_1: HeaderForm = HeaderForm::DphyVcx {
        columns: Profile::DRAFT_1.vcx_ecc_columns,
    };

    /// D-PHY with VCX and the given columns for data bits 24 and 25.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidEccColumns`] if the columns would break single-error correction or
    /// double-error detection (see [`HeaderForm::is_sec_ded`]).
    pub const fn dphy_vcx(columns: [u8; 2]) -> Result<Self, Error> {
        let form = HeaderForm::DphyVcx { columns };
        if form.is_sec_ded() {
            Ok(form)
        } else {
            Err(Error::InvalidEccColumns(columns))
        }
    }

    /// D-PHY with VCX and the columns of a profile.
    ///
    /// # Errors
    ///
    /// As [`HeaderForm::dphy_vcx`].
    pub const fn vcx_from_profile(profile: &Profile) -> Result<Self, Error> {
        Self::dphy_vcx(profile.vcx_ecc_columns)
    }

    /// Header length in bytes (4 for both D-PHY forms).
    pub const fn header_len(self) -> usize {
        4
    }

    /// Whether the form carries VCX bits.
    pub const fn has_vcx(self) -> bool {
        matches!(self, HeaderForm::DphyVcx { .. })
    }

    /// The largest virtual channel the form can carry.
    pub const fn max_vc(self) -> u8 {
        match self {
            HeaderForm::Dphy => 3,
            HeaderForm::DphyVcx { .. } => 15,
        }
    }

    /// Number of header bits the ECC protects, parity bits included (30, or 32 with VCX).
    pub const fn protected_bits(self) -> u8 {
        match self {
            HeaderForm::Dphy => 30,
            HeaderForm::DphyVcx { .. } => 32,
        }
    }

    /// Whether the form's columns give single-error correction and double-error detection:
    /// every column has odd weight, fits 6 bits, is not a single check bit, and differs from
    /// every other column.
    pub const fn is_sec_ded(self) -> bool {
        let HeaderForm::DphyVcx { columns } = self else {
            return true;
        };
        let mut i = 0;
        while i < 2 {
            let c = columns[i];
            if c > PARITY_MASK || c.count_ones() % 2 == 0 || c.count_ones() == 1 {
                return false;
            }
            if SYNDROME_TO_BIT[c as usize] != NO_BIT {
                return false;
            }
            i += 1;
        }
        columns[0] != columns[1]
    }

    /// The 6-bit parity of a header (bits 5:0 of byte 3 are ignored; for VCX forms, bits 7:6
    /// of byte 3 are the VCX data bits).
    pub fn parity(self, header: &[u8; 4]) -> u8 {
        let mut p = TABLE_DI[usize::from(header[0])]
            ^ TABLE_WC_LO[usize::from(header[1])]
            ^ TABLE_WC_HI[usize::from(header[2])];
        if let HeaderForm::DphyVcx { columns } = self {
            if header[3] & 0x40 != 0 {
                p ^= columns[0];
            }
            if header[3] & 0x80 != 0 {
                p ^= columns[1];
            }
        }
        p & PARITY_MASK
    }

    /// Writes the parity into bits 5:0 of byte 3, keeping bits 7:6.
    pub fn fill(self, header: &mut [u8; 4]) {
        let p = self.parity(header);
        header[3] = (header[3] & !PARITY_MASK) | p;
    }

    /// Checks a received header without changing it.
    pub fn check(self, header: &[u8; 4]) -> EccCheck {
        let syndrome = (header[3] & PARITY_MASK) ^ self.parity(header);
        if syndrome == 0 {
            return EccCheck::Ok;
        }
        if syndrome.is_power_of_two() {
            // A check bit itself flipped: the data is intact.
            return EccCheck::Corrected {
                bit: PARITY_BIT0 + syndrome.trailing_zeros() as u8,
            };
        }
        let data_bit = SYNDROME_TO_BIT[usize::from(syndrome)];
        if data_bit != NO_BIT {
            return EccCheck::Corrected { bit: data_bit };
        }
        if let HeaderForm::DphyVcx { columns } = self {
            if syndrome == columns[0] & PARITY_MASK {
                return EccCheck::Corrected { bit: VCX_BIT0 };
            }
            if syndrome == columns[1] & PARITY_MASK {
                return EccCheck::Corrected { bit: VCX_BIT0 + 1 };
            }
        }
        EccCheck::Uncorrectable { syndrome }
    }

    /// Checks a header and corrects a single-bit error in place. Returns what was found; an
    /// uncorrectable header is left unchanged.
    pub fn correct(self, header: &mut [u8; 4]) -> EccCheck {
        let result = self.check(header);
        if let EccCheck::Corrected { bit } = result {
            flip_bit(header, bit);
        }
        result
    }
}

/// Flips header bit `bit` (0..=31, little-endian bit order over the 4 bytes).
pub(crate) fn flip_bit(header: &mut [u8; 4], bit: u8) {
    let word = u32::from_le_bytes(*header) ^ (1u32 << (bit & 31));
    *header = word.to_le_bytes();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_vcx_columns_are_sec_ded() {
        assert!(HeaderForm::DPHY_VCX_DRAFT_1.is_sec_ded());
        assert!(HeaderForm::vcx_from_profile(&Profile::DRAFT_1).is_ok());
    }

    #[test]
    fn rejects_vcx_columns_that_collide_or_have_even_weight() {
        // 0x07 is the column of DI bit 0.
        assert_eq!(
            HeaderForm::dphy_vcx([0x07, 0x3E]),
            Err(Error::InvalidEccColumns([0x07, 0x3E]))
        );
        // 0x03 has even weight: a double error could look like it.
        assert!(HeaderForm::dphy_vcx([0x03, 0x3E]).is_err());
        // A single check bit.
        assert!(HeaderForm::dphy_vcx([0x01, 0x3E]).is_err());
        // Same column twice.
        assert!(HeaderForm::dphy_vcx([0x3D, 0x3D]).is_err());
        // Wider than 6 bits.
        assert!(HeaderForm::dphy_vcx([0x7D, 0x3E]).is_err());
    }

    #[test]
    fn parity_of_single_bits_is_the_column() {
        for (bit, &column) in COLUMNS.iter().enumerate() {
            let mut header = 1u32.wrapping_shl(bit as u32).to_le_bytes();
            header[3] = 0;
            assert_eq!(HeaderForm::Dphy.parity(&header), column, "bit {bit}");
        }
    }

    #[test]
    fn dphy_form_ignores_reserved_bits_in_parity() {
        let h = [0x2C, 0x34, 0x12, 0x00];
        let mut h2 = h;
        h2[3] = 0xC0;
        assert_eq!(HeaderForm::Dphy.parity(&h), HeaderForm::Dphy.parity(&h2));
        assert_ne!(
            HeaderForm::DPHY_VCX_DRAFT_1.parity(&h),
            HeaderForm::DPHY_VCX_DRAFT_1.parity(&h2)
        );
    }
}
