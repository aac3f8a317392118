//! Packet view and Repr: deconstruct, construct, parse, emit, impossible lengths.
#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use cse_core::csi2::{DataType, EccCheck, Error, HeaderForm, Packet, Repr, VirtualChannel};
use hex_literal::hex;
use proptest::prelude::*;

// RAW8, VC 1, WC 4, payload 01 02 03 04. ECC 0x25 from the published row equations
// (gatecat/CSI2Rx csi_rx_hdr_ecc.vhd), CRC 0xC66E = CRC-16/MCRF4XX of the payload (footer LS
// byte first), both computed independently of this crate.
static LONG: [u8; 10] = hex!("6A 04 00 25 01 02 03 04 6E C6");
// FS, VC 0, frame number 7; ECC 0x25 (same source).
static FRAME_START: [u8; 4] = hex!("00 07 00 25");
// FE, VC 5 with VCX (DI VC bits 01, VCX 01): ECC byte = VCX << 6 | (parity24 ^ column 0x3D).
static FRAME_END_VC5: [u8; 4] = hex!("41 07 00 49");

fn vc(n: u8) -> VirtualChannel {
    VirtualChannel::new(n).unwrap()
}

#[test]
fn deconstructs_long_packet() {
    let p = Packet::new_checked(&LONG[..]).unwrap();
    assert_eq!(p.data_id(), 0x6A);
    assert_eq!(p.data_type(), DataType::RAW8);
    assert_eq!(p.di_vc(), 1);
    assert_eq!(p.vcx(), 0);
    assert_eq!(p.vc(HeaderForm::Dphy), vc(1));
    assert_eq!(p.word_count(), 4);
    assert_eq!(p.ecc(), 0x25);
    assert!(!p.is_short());
    assert_eq!(p.total_len(), 10);
    assert_eq!(p.payload(), &[1, 2, 3, 4]);
    assert_eq!(p.crc(), Some(0xC66E));
    assert_eq!(p.check_ecc(HeaderForm::Dphy), EccCheck::Ok);
    assert_eq!(p.verify_crc(), Ok(()));
}

#[test]
fn deconstructs_short_packets() {
    let p = Packet::new_checked(&FRAME_START[..]).unwrap();
    assert_eq!(p.data_type(), DataType::FS);
    assert!(p.data_type().is_frame_sync());
    assert_eq!(p.short_data(), 7);
    assert_eq!(p.payload(), &[] as &[u8]);
    assert_eq!(p.crc(), None);
    assert_eq!(p.total_len(), 4);

    let p = Packet::new_checked(&FRAME_END_VC5[..]).unwrap();
    assert_eq!(p.data_type(), DataType::FE);
    assert_eq!(p.vc(HeaderForm::DPHY_VCX_DRAFT_1), vc(5));
    assert_eq!(p.vc(HeaderForm::Dphy), vc(1));
    assert_eq!(p.check_ecc(HeaderForm::DPHY_VCX_DRAFT_1), EccCheck::Ok);
}

#[test]
fn constructs_packets_with_setters() {
    let mut buf = [0xFFu8; 10];
    let mut p = Packet::new_unchecked(&mut buf[..]);
    p.set_data_id(0);
    p.set_data_type(DataType::RAW8);
    p.set_vc(vc(1));
    p.set_word_count(4);
    p.payload_mut().copy_from_slice(&[1, 2, 3, 4]);
    p.fill_ecc(HeaderForm::Dphy);
    p.fill_crc();
    assert_eq!(buf, LONG);

    let mut buf = [0u8; 4];
    let mut p = Packet::new_unchecked(&mut buf[..]);
    p.set_data_type(DataType::FE);
    p.set_vc(vc(5));
    p.set_short_data(7);
    p.fill_ecc(HeaderForm::DPHY_VCX_DRAFT_1);
    assert_eq!(buf, FRAME_END_VC5);
}

#[test]
fn parses_static_packets() {
    let p = Packet::new_checked(&LONG[..]).unwrap();
    assert_eq!(
        Repr::parse(&p, HeaderForm::Dphy),
        Ok((Repr::long(vc(1), DataType::RAW8, 4), EccCheck::Ok))
    );
    let p = Packet::new_checked(&FRAME_END_VC5[..]).unwrap();
    assert_eq!(
        Repr::parse(&p, HeaderForm::DPHY_VCX_DRAFT_1),
        Ok((Repr::short(vc(5), DataType::FE, 7), EccCheck::Ok))
    );
}

/// `parse_header` checks the header and the length as `parse` does, but not the CRC-16: a
/// payload or footer change that `parse` refuses passes it with the same `Repr`, and
/// `verify_crc` still reports it; a truncated packet and an uncorrectable header are refused.
#[test]
fn parse_header_skips_only_the_crc() {
    let p = Packet::new_checked(&LONG[..]).unwrap();
    let want = Ok((Repr::long(vc(1), DataType::RAW8, 4), EccCheck::Ok));
    assert_eq!(Repr::parse_header(&p, HeaderForm::Dphy), want);
    for at in [5, 9] {
        let mut b = LONG;
        b[at] ^= 0x10;
        let p = Packet::new_checked(&b[..]).unwrap();
        assert!(matches!(
            Repr::parse(&p, HeaderForm::Dphy),
            Err(Error::CrcMismatch { .. })
        ));
        assert_eq!(Repr::parse_header(&p, HeaderForm::Dphy), want);
        assert!(matches!(p.verify_crc(), Err(Error::CrcMismatch { .. })));
    }
    // One byte short of the footer.
    let p = Packet::new_unchecked(&LONG[..9]);
    assert_eq!(
        Repr::parse_header(&p, HeaderForm::Dphy),
        Err(Error::Truncated {
            needed: 10,
            available: 9
        })
    );
    let mut b = LONG;
    b[0] ^= 0x03; // two header bits
    let p = Packet::new_checked(&b[..]).unwrap();
    assert_eq!(
        Repr::parse_header(&p, HeaderForm::Dphy),
        Repr::parse(&p, HeaderForm::Dphy)
    );
    assert!(Repr::parse_header(&p, HeaderForm::Dphy).is_err());
}

#[test]
fn rejects_vcx_bits_in_plain_dphy_header() {
    // Reserved bits set, 24-bit parity intact.
    let mut bytes = FRAME_START;
    bytes[3] |= 0xC0;
    let p = Packet::new_checked(&bytes[..]).unwrap();
    assert_eq!(
        Repr::parse(&p, HeaderForm::Dphy),
        Err(Error::ReservedBits { ecc_byte: 0xE5 })
    );
    // A VCX header read as plain D-PHY: its parity includes the VCX column 0x3D, which the
    // plain form sees as an uncorrectable syndrome.
    let p = Packet::new_checked(&FRAME_END_VC5[..]).unwrap();
    assert_eq!(
        Repr::parse(&p, HeaderForm::Dphy),
        Err(Error::EccUncorrectable { syndrome: 0x3D })
    );
}

#[test]
fn parse_reports_and_applies_single_bit_correction() {
    let mut bytes = LONG;
    bytes[1] ^= 0x04; // WC bit 2: the raw header now claims 0 payload bytes.
    let p = Packet::new_checked(&bytes[..]).unwrap();
    assert_eq!(p.word_count(), 0);
    let (repr, ecc) = Repr::parse(&p, HeaderForm::Dphy).unwrap();
    assert_eq!(repr.word_count, 4);
    assert_eq!(ecc, EccCheck::Corrected { bit: 10 });

    let mut owned = bytes;
    let mut p = Packet::new_unchecked(&mut owned[..]);
    assert_eq!(
        p.correct_ecc(HeaderForm::Dphy),
        EccCheck::Corrected { bit: 10 }
    );
    assert_eq!(owned, LONG);
}

#[test]
fn rejects_double_bit_header_error() {
    let mut bytes = LONG;
    bytes[0] ^= 0x01;
    bytes[2] ^= 0x80;
    let p = Packet::new_unchecked(&bytes[..]);
    assert!(matches!(
        Repr::parse(&p, HeaderForm::Dphy),
        Err(Error::EccUncorrectable { .. })
    ));
}

#[test]
fn emits_static_packets() {
    let mut buf = [0u8; 10];
    buf[4..8].copy_from_slice(&[1, 2, 3, 4]);
    let repr = Repr::long(vc(1), DataType::RAW8, 4);
    assert_eq!(repr.buffer_len(), 10);
    repr.emit(&mut Packet::new_unchecked(&mut buf[..]), HeaderForm::Dphy)
        .unwrap();
    assert_eq!(buf, LONG);

    let mut buf = [0u8; 4];
    let repr = Repr::short(vc(5), DataType::FE, 7);
    repr.emit(
        &mut Packet::new_unchecked(&mut buf[..]),
        HeaderForm::DPHY_VCX_DRAFT_1,
    )
    .unwrap();
    assert_eq!(buf, FRAME_END_VC5);
}

#[test]
fn emit_refuses_what_the_form_cannot_carry() {
    let mut buf = [0u8; 16];
    let mut p = Packet::new_unchecked(&mut buf[..]);
    assert_eq!(
        Repr::short(vc(4), DataType::FS, 0).emit(&mut p, HeaderForm::Dphy),
        Err(Error::VirtualChannel(4))
    );
    assert_eq!(
        Repr::short(vc(16), DataType::FS, 0).emit(&mut p, HeaderForm::DPHY_VCX_DRAFT_1),
        Err(Error::VirtualChannel(16))
    );
    assert_eq!(
        Repr::long(vc(0), DataType(0x40), 0).emit(&mut p, HeaderForm::Dphy),
        Err(Error::DataType(0x40))
    );
    assert_eq!(
        Repr::long(vc(0), DataType::RAW8, 11).emit(&mut p, HeaderForm::Dphy),
        Err(Error::BufferTooSmall {
            needed: 17,
            available: 16
        })
    );
    assert_eq!(buf, [0u8; 16], "nothing written on error");
}

#[test]
fn rejects_truncated_header() {
    for len in 0..4 {
        let e = Error::Truncated {
            needed: 4,
            available: len,
        };
        assert_eq!(Packet::new_checked(&LONG[..len]), Err(e));
        assert_eq!(
            Repr::parse(&Packet::new_unchecked(&LONG[..len]), HeaderForm::Dphy),
            Err(e)
        );
    }
}

#[test]
fn rejects_truncated_payload() {
    for len in 4..8 {
        let e = Error::Truncated {
            needed: 10,
            available: len,
        };
        assert_eq!(Packet::new_checked(&LONG[..len]), Err(e));
        assert_eq!(
            Repr::parse(&Packet::new_unchecked(&LONG[..len]), HeaderForm::Dphy),
            Err(e)
        );
    }
}

#[test]
fn rejects_missing_crc() {
    for len in 8..10 {
        let e = Error::Truncated {
            needed: 10,
            available: len,
        };
        assert_eq!(Packet::new_checked(&LONG[..len]), Err(e));
        assert_eq!(
            Repr::parse(&Packet::new_unchecked(&LONG[..len]), HeaderForm::Dphy),
            Err(e)
        );
    }
}

#[test]
fn accepts_trailing_bytes_after_packet() {
    let mut bytes = [0u8; 12];
    bytes[..10].copy_from_slice(&LONG);
    let p = Packet::new_checked(&bytes[..]).unwrap();
    assert_eq!(p.total_len(), 10);
    assert!(Repr::parse(&p, HeaderForm::Dphy).is_ok());
}

#[test]
fn virtual_channel_bounds() {
    assert_eq!(
        VirtualChannel::new(32),
        Err(cse_core::ConfigError::VirtualChannel(32))
    );
    let v = VirtualChannel::new(13).unwrap();
    assert_eq!((v.di_bits(), v.vcx_bits()), (1, 3));
    assert_eq!(VirtualChannel::from_parts(1, 3), v);
}

#[test]
fn data_type_classes() {
    assert!(DataType::LE.is_short() && DataType::LE.is_line_sync());
    assert!(DataType::GENERIC_SHORT_8.is_short() && DataType::GENERIC_SHORT_8.is_generic_short());
    assert!(DataType::NULL.is_long());
    assert!(DataType::EMBEDDED.is_long());
    assert!(DataType::RAW12.is_raw() && DataType::RAW28.is_raw() && !DataType::USER_1.is_raw());
    assert!(DataType::USER_8.is_user_defined());
    assert!(!DataType(0x40).fits_wire());
}

fn any_form() -> impl Strategy<Value = HeaderForm> {
    prop_oneof![Just(HeaderForm::Dphy), Just(HeaderForm::DPHY_VCX_DRAFT_1)]
}

proptest! {
    #[test]
    fn new_checked_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300), form in any_form()) {
        if let Ok(p) = Packet::new_checked(&bytes[..]) {
            prop_assert!(p.total_len() <= bytes.len());
            let _ = (p.payload(), p.crc(), p.verify_crc(), p.vc(form), p.check_ecc(form));
        }
        let _ = Repr::parse(&Packet::new_unchecked(&bytes[..]), form);
    }

    #[test]
    fn header_round_trips(vcn in 0u8..16, dt in 0u8..0x40, wc: u16, vcx_form: bool) {
        let form = if vcx_form { HeaderForm::DPHY_VCX_DRAFT_1 } else { HeaderForm::Dphy };
        let repr = Repr { vc: vc(vcn % (form.max_vc() + 1)), data_type: DataType(dt), word_count: wc };
        let header = repr.header_bytes(form).unwrap();
        let mut buf = [0u8; 4];
        buf.copy_from_slice(&header);
        let p = Packet::new_unchecked(&buf[..]);
        prop_assert_eq!(p.vc(form), repr.vc);
        prop_assert_eq!(p.data_type(), repr.data_type);
        prop_assert_eq!(p.word_count(), wc);
        prop_assert_eq!(p.check_ecc(form), EccCheck::Ok);
    }

    #[test]
    fn parse_then_emit_gives_same_bytes(
        vcn in 0u8..16, dt in 0u8..0x40, wc in 0u16..600,
        payload_seed: u8, vcx_form: bool,
    ) {
        let form = if vcx_form { HeaderForm::DPHY_VCX_DRAFT_1 } else { HeaderForm::Dphy };
        let repr = Repr { vc: vc(vcn % (form.max_vc() + 1)), data_type: DataType(dt), word_count: wc };
        let mut wire = vec![0u8; repr.buffer_len()];
        for (i, b) in wire.iter_mut().enumerate().skip(4) {
            *b = payload_seed.wrapping_mul(31).wrapping_add(i as u8);
        }
        repr.emit(&mut Packet::new_unchecked(&mut wire[..]), form).unwrap();

        let p = Packet::new_checked(&wire[..]).unwrap();
        let (parsed, ecc) = Repr::parse(&p, form).unwrap();
        prop_assert_eq!(parsed, repr);
        prop_assert_eq!(ecc, EccCheck::Ok);

        let mut again = wire.clone();
        again[..4].fill(0);
        if wire.len() > 4 {
            let n = again.len();
            again[n - 2..].fill(0);
        }
        parsed.emit(&mut Packet::new_unchecked(&mut again[..]), form).unwrap();
        prop_assert_eq!(again, wire);
    }
}
