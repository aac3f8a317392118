//! D-PHY packet-header ECC: known answers, single-error correction, double-error detection.
#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use cse_core::Profile;
use cse_core::csi2::{EccCheck, HeaderForm};
use proptest::prelude::*;

/// The six parity equations written as rows (which data bits feed parity bit k), as published
/// in gatecat/CSI2Rx `mipi-csi-rx/csi_rx_hdr_ecc.vhd` (MIT). This is the transpose of the
/// column table in the library, so it checks the table independently.
const ROWS: [&[u32]; 6] = [
    &[0, 1, 2, 4, 5, 7, 10, 11, 13, 16, 20, 21, 22, 23],
    &[0, 1, 3, 4, 6, 8, 10, 12, 14, 17, 20, 21, 22, 23],
    &[0, 2, 3, 5, 6, 9, 11, 12, 15, 18, 20, 21, 22],
    &[1, 2, 3, 7, 8, 9, 13, 14, 15, 19, 20, 21, 23],
    &[4, 5, 6, 7, 8, 9, 16, 17, 18, 19, 20, 22, 23],
    &[10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 21, 22, 23],
];

fn row_masks() -> [u32; 6] {
    ROWS.map(|row| row.iter().fold(0u32, |m, &b| m | 1 << b))
}

fn reference_parity(masks: &[u32; 6], data: u32) -> u8 {
    masks.iter().enumerate().fold(0u8, |p, (k, m)| {
        p | (((data & m).count_ones() & 1) as u8) << k
    })
}

fn header(data: u32, ecc_byte: u8) -> [u8; 4] {
    let b = data.to_le_bytes();
    [b[0], b[1], b[2], ecc_byte]
}

fn flip(h: [u8; 4], bit: u8) -> [u8; 4] {
    (u32::from_le_bytes(h) ^ (1 << bit)).to_le_bytes()
}

const FORMS: [HeaderForm; 2] = [HeaderForm::Dphy, HeaderForm::DPHY_VCX_DRAFT_1];

/// Headers to test every error pattern on: edge values and a spread of others.
fn sample_headers(form: HeaderForm) -> impl Iterator<Item = [u8; 4]> {
    let vcx_values: &[u8] = if form.has_vcx() { &[0, 1, 2, 3] } else { &[0] };
    let data = [
        0u32, 0xFF_FFFF, 0x00_002C, 0x16_802C, 0xAA_AA55, 0x12_3400, 0x00_0001,
    ];
    data.into_iter().flat_map(move |d| {
        vcx_values.iter().map(move |&v| {
            let mut h = header(d, v << 6);
            form.fill(&mut h);
            h
        })
    })
}

#[test]
fn parity_matches_published_row_equations_for_every_24_bit_header() {
    let masks = row_masks();
    for data in 0..1u32 << 24 {
        let h = header(data, 0);
        assert_eq!(
            HeaderForm::Dphy.parity(&h),
            reference_parity(&masks, data),
            "header {data:#08x}"
        );
    }
}

#[test]
fn known_headers_have_known_ecc() {
    // Computed with the row equations above (gatecat/CSI2Rx): FS VC0 frame 7 -> 0x25,
    // FE VC0 frame 7 -> 0x22, RAW12 VC0 WC 0x1680 (5760) -> 0x23, RAW8 VC1 WC 4 -> 0x25.
    for (h, ecc) in [
        ([0x00, 0x07, 0x00], 0x25),
        ([0x01, 0x07, 0x00], 0x22),
        ([0x2C, 0x80, 0x16], 0x23),
        ([0x6A, 0x04, 0x00], 0x25),
        ([0x00, 0x00, 0x00], 0x00),
    ] {
        assert_eq!(HeaderForm::Dphy.parity(&[h[0], h[1], h[2], 0]), ecc);
    }
}

#[test]
fn vcx_bits_use_the_profile_columns() {
    let form = HeaderForm::vcx_from_profile(&Profile::DRAFT_1).unwrap();
    assert_eq!(form, HeaderForm::DPHY_VCX_DRAFT_1);
    let [c0, c1] = Profile::DRAFT_1.vcx_ecc_columns;
    assert_eq!(form.parity(&[0, 0, 0, 0x40]), c0);
    assert_eq!(form.parity(&[0, 0, 0, 0x80]), c1);
    // Linear: VCX bits add their columns to the 24-bit parity.
    let base = form.parity(&[0x2C, 0x80, 0x16, 0x00]);
    assert_eq!(form.parity(&[0x2C, 0x80, 0x16, 0xC0]), base ^ c0 ^ c1);
}

#[test]
fn corrects_every_single_bit_error_in_data_and_parity() {
    for form in FORMS {
        let protected = form.protected_bits();
        assert_eq!(protected, if form.has_vcx() { 32 } else { 30 });
        for valid in sample_headers(form) {
            assert_eq!(form.check(&valid), EccCheck::Ok);
            for bit in 0..protected {
                let received = flip(valid, bit);
                assert_eq!(
                    form.check(&received),
                    EccCheck::Corrected { bit },
                    "{form:?} header {valid:02x?} bit {bit}"
                );
                let mut fixed = received;
                assert_eq!(form.correct(&mut fixed), EccCheck::Corrected { bit });
                assert_eq!(fixed, valid);
            }
        }
    }
}

#[test]
fn detects_every_double_bit_error_without_miscorrecting() {
    for form in FORMS {
        let protected = form.protected_bits();
        for valid in sample_headers(form) {
            let mut pairs = 0;
            for a in 0..protected {
                for b in a + 1..protected {
                    let received = flip(flip(valid, a), b);
                    let mut after = received;
                    let result = form.correct(&mut after);
                    assert!(
                        matches!(result, EccCheck::Uncorrectable { .. }),
                        "{form:?} header {valid:02x?} bits {a},{b}: {result:?}"
                    );
                    assert_eq!(after, received, "uncorrectable header must be left alone");
                    pairs += 1;
                }
            }
            assert_eq!(pairs, u32::from(protected) * (u32::from(protected) - 1) / 2);
        }
    }
}

#[test]
fn dphy_form_does_not_protect_reserved_bits() {
    let mut h = [0x2C, 0x80, 0x16, 0];
    HeaderForm::Dphy.fill(&mut h);
    assert_eq!(HeaderForm::Dphy.check(&flip(h, 30)), EccCheck::Ok);
    assert_eq!(HeaderForm::Dphy.check(&flip(h, 31)), EccCheck::Ok);
}

proptest! {
    #[test]
    fn single_flip_round_trips_on_random_headers(
        data in 0u32..1 << 24, vcx in 0u8..4, vcx_form: bool, bit in 0u8..32,
    ) {
        let form = if vcx_form { HeaderForm::DPHY_VCX_DRAFT_1 } else { HeaderForm::Dphy };
        let bit = bit % form.protected_bits();
        let mut valid = header(data, if vcx_form { vcx << 6 } else { 0 });
        form.fill(&mut valid);
        prop_assert_eq!(form.check(&valid), EccCheck::Ok);
        let mut h = flip(valid, bit);
        prop_assert_eq!(form.correct(&mut h), EccCheck::Corrected { bit });
        prop_assert_eq!(h, valid);
    }
}
