//! IV construction: the stream-id bit layout and `IV = salt XOR (stream_id ‖ PN)`.
//!
//! The expected bytes below are worked by hand from the layout documented in
//! `cse_core::nonce` (`docs/wire-format.md`, the IV construction); they are this crate's own definition, not
//! an external vector.

use std::collections::HashSet;

use cse_core::keys::Salt;
use cse_core::nonce::{Iv, PacketNumber, StreamId};
use cse_core::{Block, ConfigError, Direction, Protocol, ScopeKind};
use proptest::prelude::*;

fn sid(dir: Direction, p: Protocol, s: ScopeKind, b: Block, vc: u8) -> StreamId {
    StreamId::new(dir, p, s, b, vc).expect("valid stream id")
}

#[test]
fn stream_id_layout_on_fixed_fields() {
    // direction 1 (bit 31), FSED = 1 (bits 30..28), data-type scope = 1 (27..26),
    // bottom = 2 (25..24), DT 0x2C (23..16), VC 21 = 0b10101 (15..11).
    let s = sid(
        Direction::ControllerToSensor,
        Protocol::Fsed,
        ScopeKind::DataType(0x2C),
        Block::Bottom,
        21,
    );
    assert_eq!(
        s.to_u32(),
        0x8000_0000 | 0x1000_0000 | 0x0400_0000 | 0x0200_0000 | 0x002C_0000 | 0xA800
    );
    assert_eq!(s.to_u32(), 0x962C_A800);
    // All-zero fields give zero.
    let z = sid(
        Direction::SensorToController,
        Protocol::Sep,
        ScopeKind::Message,
        Block::Top,
        0,
    );
    assert_eq!(z.to_u32(), 0);
    // Per-frame scope of CCISE, image block, VC 31.
    let f = sid(
        Direction::SensorToController,
        Protocol::Ccise,
        ScopeKind::Frame,
        Block::Image,
        31,
    );
    assert_eq!(f.to_u32(), 0x2000_0000 | 0x0800_0000 | 0x0100_0000 | 0xF800);
}

#[test]
fn iv_is_salt_xor_stream_id_and_packet_number() {
    let s = sid(
        Direction::ControllerToSensor,
        Protocol::Fsed,
        ScopeKind::DataType(0x2C),
        Block::Bottom,
        21,
    );
    let pn = PacketNumber::new(0x0102_0304, 0x0506_0708);
    let zero = Iv::new(&Salt::new([0; 12]), s, pn);
    assert_eq!(
        zero.as_bytes(),
        &[
            0x96, 0x2C, 0xA8, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08
        ]
    );
    let salt = Salt::new([0xFF, 0, 0xFF, 0, 0xFF, 0, 0xFF, 0, 0xFF, 0, 0xFF, 0]);
    let iv = Iv::new(&salt, s, pn);
    assert_eq!(
        iv.0,
        [
            0x69, 0x2C, 0x57, 0x00, 0xFE, 0x02, 0xFC, 0x04, 0xFA, 0x06, 0xF8, 0x08
        ]
    );
}

#[test]
fn rejects_virtual_channel_32() {
    assert_eq!(
        StreamId::new(
            Direction::SensorToController,
            Protocol::Sep,
            ScopeKind::Message,
            Block::Image,
            32
        ),
        Err(ConfigError::VirtualChannel(32))
    );
}

#[test]
fn scope_ivs_differ_from_message_zero_of_the_same_frame() {
    let salt = Salt::new([0x3C; 12]);
    let msg = sid(
        Direction::SensorToController,
        Protocol::Sep,
        ScopeKind::Message,
        Block::Image,
        0,
    );
    let pn = PacketNumber::scope(9);
    let m = Iv::new(&salt, msg, pn);
    let f = Iv::new(&salt, msg.with_scope(ScopeKind::Frame), pn);
    let d = Iv::new(&salt, msg.with_scope(ScopeKind::DataType(0)), pn);
    assert_ne!(m, f);
    assert_ne!(m, d);
    assert_ne!(f, d);
}

fn any_stream() -> impl Strategy<Value = StreamId> {
    (
        prop_oneof![
            Just(Direction::SensorToController),
            Just(Direction::ControllerToSensor)
        ],
        prop_oneof![
            Just(Protocol::Sep),
            Just(Protocol::Fsed),
            Just(Protocol::Ccise)
        ],
        prop_oneof![
            Just(ScopeKind::Message),
            any::<u8>().prop_map(ScopeKind::DataType),
            Just(ScopeKind::Frame)
        ],
        prop_oneof![Just(Block::Top), Just(Block::Image), Just(Block::Bottom)],
        0u8..=31,
    )
        .prop_map(|(d, p, s, b, vc)| sid(d, p, s, b, vc))
}

proptest! {
    /// Distinct (stream id, packet number) pairs never share an IV under one salt, and distinct
    /// stream ids have distinct 32-bit values (the layout is injective).
    #[test]
    fn distinct_stream_and_pn_never_share_an_iv(
        salt in any::<[u8; 12]>(),
        a in any_stream(), b in any_stream(),
        pa in any::<u64>(), pb in any::<u64>(),
    ) {
        let salt = Salt::new(salt);
        let ia = Iv::new(&salt, a, PacketNumber::from_u64(pa));
        let ib = Iv::new(&salt, b, PacketNumber::from_u64(pb));
        prop_assert_eq!(a == b && pa == pb, ia == ib);
        prop_assert_eq!(a == b, a.to_u32() == b.to_u32());
    }

    /// The three scope kinds of one stream and frame give three different IVs, for every
    /// message index of that frame.
    #[test]
    fn scope_kinds_never_collide(
        salt in any::<[u8; 12]>(), base in any_stream(), fc in any::<u32>(),
        idx in any::<u32>(), dt in any::<u8>(),
    ) {
        let salt = Salt::new(salt);
        let msg = Iv::new(&salt, base.with_scope(ScopeKind::Message), PacketNumber::new(fc, idx));
        let per_dt = Iv::new(&salt, base.with_scope(ScopeKind::DataType(dt)), PacketNumber::scope(fc));
        let per_frame = Iv::new(&salt, base.with_scope(ScopeKind::Frame), PacketNumber::scope(fc));
        let set: HashSet<[u8; 12]> = [msg.0, per_dt.0, per_frame.0].into_iter().collect();
        prop_assert_eq!(set.len(), 3);
    }
}

#[test]
fn debug_shows_no_iv_byte() {
    // An IV is salt XOR public data: printing it would print the salt.
    let salt = Salt::new([
        0xC5, 0x3A, 0x91, 0x7E, 0x28, 0xD4, 0x6B, 0x0F, 0xE2, 0x57, 0xB9, 0x14,
    ]);
    let iv = Iv::new(
        &salt,
        sid(
            Direction::SensorToController,
            Protocol::Sep,
            ScopeKind::Message,
            Block::Image,
            0,
        ),
        PacketNumber::new(0, 0),
    );
    // PN 0: the IV is the salt with only the stream id's bits flipped.
    assert_eq!(iv.as_bytes()[4..], salt.as_bytes()[4..]);
    for text in [format!("{iv:?}"), format!("{iv:#?}"), format!("{iv:x?}")] {
        assert_eq!(text, "Iv { .. }");
    }
}
