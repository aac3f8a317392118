//! The worked examples of `docs/wire-format.md`, byte for byte, so the document cannot drift
//! from the code.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

use cse_core::context::{Context, covered_prefix};
use cse_core::csi2::{DataType, Emitter, HeaderForm, VirtualChannel};
use cse_core::keys::Salt;
use cse_core::nonce::{Iv, PacketNumber, StreamId};
use cse_core::{
    Block, CipherSuite, Direction, KeyId, Profile, Protocol, ScopeKind, SecurityVariant, TagLen,
};
use hex_literal::hex;

#[test]
fn csi2_packets_match_section_1() {
    let mut buf = [0u8; 16];
    let mut em = Emitter::new(&mut buf, HeaderForm::Dphy);
    em.frame_start(VirtualChannel::new(0).unwrap(), 1).unwrap();
    assert_eq!(em.written(), hex!("00 01 00 1A"));

    let mut buf = [0u8; 16];
    let mut em = Emitter::new(&mut buf, HeaderForm::Dphy);
    em.long(
        VirtualChannel::new(1).unwrap(),
        DataType::RAW12,
        &hex!("01 02 03 04 05 06"),
    )
    .unwrap();
    assert_eq!(em.written(), hex!("6C 06 00 3F 01 02 03 04 05 06 F1 47"));
}

fn section_2_context() -> Context {
    Context {
        protocol: Protocol::Sep,
        direction: Direction::SensorToController,
        scope: ScopeKind::Message,
        suite: CipherSuite::Aes256Gcm,
        tag_len: TagLen::L16,
        sv: SecurityVariant::FullIntegrityEncrypted,
        block: Block::Image,
        orig_vc: 1,
        key_id: KeyId::new(2).unwrap(),
        number: PacketNumber::new(7, 3).get(),
    }
}

#[test]
fn context_block_matches_section_2() {
    assert_eq!(
        section_2_context().encode(&Profile::DRAFT_1),
        hex!(
            "01 00 00 12 10 01 01 01 02 00 00 00 00 00 00 07 00 00 00 03 00 00 00 00"
            "00 00 00 00 00 00 00 00"
        )
    );
    assert_eq!(
        covered_prefix(3, DataType::RAW12.0, 5760),
        hex!("03 2C 80 16")
    );
}

#[test]
fn iv_matches_section_3() {
    let stream = StreamId::new(
        Direction::SensorToController,
        Protocol::Sep,
        ScopeKind::Message,
        Block::Image,
        1,
    )
    .unwrap();
    assert_eq!(stream.to_u32(), 0x0100_0800);
    let iv = Iv::new(&Salt::new([0x5A; 12]), stream, PacketNumber::new(7, 3));
    assert_eq!(iv.as_bytes(), &hex!("5B 5A 52 5A 5A 5A 5A 5D 5A 5A 5A 59"));
}
