//! Property tests: arbitrary registers, data and suites round-trip; any single-byte change of a
//! sealed write is rejected and leaves the register map unchanged.
#![allow(clippy::unwrap_used)]

mod common;

use ccise::wire::MAX_FRAME_LEN;
use ccise::{Config, SimSensor};
use cse_core::{CipherSuite, TagLen};
use proptest::prelude::*;

fn suite() -> impl Strategy<Value = CipherSuite> {
    prop::sample::select(CipherSuite::ALL.to_vec())
}

fn tag() -> impl Strategy<Value = TagLen> {
    prop::sample::select(vec![TagLen::L16, TagLen::L12, TagLen::L8])
}

proptest! {
    #[test]
    fn writes_and_reads_round_trip(
        suite in suite(),
        tag_len in tag(),
        encrypt in any::<bool>(),
        reg in 0x0100u16..0x01C0,
        data in prop::collection::vec(any::<u8>(), 1..=64),
    ) {
        let cfg = Config::new(0x36)
            .with_tag_len(tag_len)
            .with_encrypted_reads(encrypt && suite.encrypts());
        let (mut ctrl, mut tgt) = common::pair(suite, cfg);
        let mut map = SimSensor::demo();
        let mut frame = [0u8; MAX_FRAME_LEN];
        let s = ctrl.seal_write(reg, &data, &mut frame).unwrap();
        let _ = tgt.handle_write(&frame[..s.len], &mut map).unwrap();
        let (p, s) = ctrl.seal_read_request(reg, data.len() as u8, &mut frame).unwrap();
        let mut resp = [0u8; MAX_FRAME_LEN];
        let a = tgt.handle_read(&frame[..s.len], &mut map, &mut resp).unwrap();
        let mut out = vec![0u8; data.len()];
        prop_assert_eq!(ctrl.open_read_response(p, &resp[..a.response_len], &mut out), Ok(data.len()));
        prop_assert_eq!(out, data);
    }

    #[test]
    fn any_changed_byte_of_a_write_is_rejected(
        suite in suite(),
        reg in 0x0000u16..0x0400,
        data in prop::collection::vec(any::<u8>(), 1..=32),
        pos in any::<prop::sample::Index>(),
        mask in 1u8..=255,
    ) {
        let (mut ctrl, mut tgt) = common::pair(suite, Config::new(0x36));
        let mut map = SimSensor::demo();
        let before = map.clone();
        let mut frame = [0u8; MAX_FRAME_LEN];
        let s = ctrl.seal_write(reg, &data, &mut frame).unwrap();
        let i = pos.index(s.len);
        frame[i] ^= mask;
        prop_assert!(tgt.handle_write(&frame[..s.len], &mut map).is_err());
        prop_assert_eq!(map, before);
    }
}
