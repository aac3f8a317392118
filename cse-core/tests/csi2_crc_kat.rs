//! CSI-2 payload CRC-16 known answers and the footer byte order.
#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use cse_core::csi2::{
    DataType, Emitter, Error, HEADER_LEN, HeaderForm, Packet, Packets, Repr, VirtualChannel,
    payload_crc,
};
use hex_literal::hex;

// MIPI CSI-2 specification example (the two CRC-16 examples the specification gives).
const PAYLOAD_1: [u8; 24] =
    hex!("FF 00 00 02 B9 DC F3 72 BB D4 B8 5A C8 75 C2 7C 81 F8 05 DF FF 00 00 01");
const CRC_1: u16 = 0x00F0;
// MIPI CSI-2 specification example (the two CRC-16 examples the specification gives).
const PAYLOAD_2: [u8; 24] =
    hex!("FF 00 00 00 1E F0 1E C7 4F 82 78 C5 82 E0 8C 70 D2 3C 78 E9 FF 00 00 01");
const CRC_2: u16 = 0xE569;

#[test]
fn crc16_matches_csi2_spec_examples() {
    assert_eq!(payload_crc(&PAYLOAD_1), CRC_1);
    assert_eq!(payload_crc(&PAYLOAD_2), CRC_2);
}

#[test]
fn long_packet_carries_crc_least_significant_byte_first() {
    for (payload, crc, footer) in [
        (&PAYLOAD_1, CRC_1, [0xF0, 0x00]),
        (&PAYLOAD_2, CRC_2, [0x69, 0xE5]),
    ] {
        let mut buf = [0u8; 64];
        let mut out = Emitter::new(&mut buf, HeaderForm::Dphy);
        out.long(VirtualChannel::default(), DataType::RAW8, payload)
            .unwrap();
        let bytes = out.written();
        assert_eq!(bytes.len(), HEADER_LEN + 24 + 2);
        assert_eq!(&bytes[HEADER_LEN..HEADER_LEN + 24], payload);
        assert_eq!(&bytes[HEADER_LEN + 24..], &footer);

        let packet = Packet::new_checked(bytes).unwrap();
        assert_eq!(packet.crc(), Some(crc));
        assert_eq!(packet.verify_crc(), Ok(()));
    }
}

#[test]
fn rejects_footer_with_swapped_crc_bytes() {
    let mut buf = [0u8; 64];
    let mut out = Emitter::new(&mut buf, HeaderForm::Dphy);
    out.long(VirtualChannel::default(), DataType::RAW8, &PAYLOAD_2)
        .unwrap();
    let len = out.len();
    buf.swap(len - 2, len - 1);
    let packet = Packet::new_checked(&buf[..len]).unwrap();
    let expected = Error::CrcMismatch {
        computed: CRC_2,
        received: 0x69E5,
    };
    assert_eq!(packet.verify_crc(), Err(expected));
    assert_eq!(Repr::parse(&packet, HeaderForm::Dphy), Err(expected));
    assert_eq!(
        expected.to_fusa(),
        Some(cse_core::FusaError::Crc16Mismatch {
            computed: CRC_2,
            received: 0x69E5
        })
    );
    let err = Packets::new(&buf[..len], HeaderForm::Dphy)
        .next()
        .unwrap()
        .unwrap_err();
    assert_eq!(err.offset, 0);
    assert_eq!(err.error, expected);
}
