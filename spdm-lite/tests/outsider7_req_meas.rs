//! Outsider round 7: MEASUREMENTS a libspdm responder may send to our requester inside a PSK
//! session (unsigned: a PSK session has no responder key), built by hand: several blocks,
//! digest and raw values, opaque data, a count-only answer; and answers that do not match the
//! request.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;
mod o7;

use common::SETS;
use o7::{Peer, PskOpts, psk_session, request};
use spdm_lite::Error;
use spdm_lite::crypto::{AlgorithmSet, RustCrypto};
use spdm_lite::requester::{MeasurementRequest, RequesterSession, SessionEvent};

type Sess = RequesterSession<RustCrypto>;
/// A block as read: index, value type, value.
type Blk = (u8, u8, Vec<u8>);

/// A PSK session whose VCA announced MEAS_CAP (no signature) and selected DMTF measurements
/// with the set's hash.
fn meas_session(set: AlgorithmSet) -> (Sess, Peer) {
    let mh: u32 = if set.sizes().hash == 32 { 0x02 } else { 0x04 };
    let (s, p) = psk_session(
        set,
        PskOpts {
            vca: Box::new(move |i, m| match i {
                1 => m[8] |= 1 << 3,
                2 => {
                    m[6] = 0x01;
                    m[8..12].copy_from_slice(&mh.to_le_bytes());
                }
                _ => {}
            }),
            ..PskOpts::default()
        },
    )
    .unwrap();
    assert!(s.has_measurements());
    (s, p)
}

/// A block: index, value type, value.
fn block(index: u8, ty: u8, value: &[u8]) -> Vec<u8> {
    let mut b = vec![index, 0x01];
    b.extend(((value.len() + 3) as u16).to_le_bytes());
    b.push(ty);
    b.extend((value.len() as u16).to_le_bytes());
    b.extend_from_slice(value);
    b
}

/// MEASUREMENTS 1.2 (unsigned): Param1, Param2, NumberOfBlocks, the record, opaque data.
fn measurements(p1: u8, p2: u8, n: u8, record: &[u8], opaque: &[u8]) -> Vec<u8> {
    let mut m = vec![0x12, 0x60, p1, p2, n];
    m.extend(&(record.len() as u32).to_le_bytes()[..3]);
    m.extend_from_slice(record);
    m.extend([0x4E; 32]);
    m.extend((opaque.len() as u16).to_le_bytes());
    m.extend_from_slice(opaque);
    m
}

/// GET_MEASUREMENTS `op` (unsigned), answered with `answer`: the requester's verdict as
/// (total, number of blocks, blocks as (index, type, value), opaque-free record length).
fn ask(s: &mut Sess, peer: &mut Peer, op: u8, answer: &[u8]) -> Result<(u8, u8, Vec<Blk>), Error> {
    let req = MeasurementRequest {
        operation: op,
        nonce: None,
    };
    let q = request(s, peer, |s, o| s.write_get_measurements(&req, o));
    assert_eq!(q[..4], [0x12, 0xE0, 0, op]);
    let mut rec = peer.seal(answer, &[0x77; 6]);
    let m = s.handle_measurements(&mut rec)?;
    let blocks = m
        .blocks()
        .map(|b| (b.index, b.value_type, b.value.to_vec()))
        .collect();
    Ok((m.total, m.number_of_blocks, blocks))
}

/// After a refusal the session still works.
fn still_works(s: &mut Sess, peer: &mut Peer) {
    let hb = request(s, peer, |s, o| s.write_heartbeat(o));
    assert_eq!(hb[1], 0xE8);
    let mut rec = peer.seal(&[0x12, 0x68, 0, 0], &[]);
    assert_eq!(
        s.handle_response(&mut rec).unwrap(),
        SessionEvent::HeartbeatAck
    );
}

#[test]
fn measurements_a_libspdm_responder_sends_are_read() {
    for set in SETS {
        let h = set.sizes().hash;
        let (mut s, mut peer) = meas_session(set);
        // Count only (NumberOfBlocks 0, empty record); opaque data present.
        let r = ask(
            &mut s,
            &mut peer,
            0,
            &measurements(5, 0, 0, &[], &[1, 2, 3, 4]),
        )
        .unwrap();
        assert_eq!((r.0, r.1, r.2.len()), (5, 0, 0));
        // All: digest of ROM, raw firmware version string, digest of configuration, a
        // 1.2 device-mode structure as raw bits, and opaque data of an odd length.
        let d1 = vec![0x11u8; h];
        let d3 = vec![0x33u8; h];
        let want = vec![
            (1u8, 0x00u8, d1.clone()),
            (2, 0x82, b"fw 1.2.3-rc1".to_vec()),
            (3, 0x04, d3.clone()),
            (
                0xFD,
                0x86,
                vec![1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
            ),
        ];
        let rec: Vec<u8> = want.iter().flat_map(|(i, t, v)| block(*i, *t, v)).collect();
        let r = ask(
            &mut s,
            &mut peer,
            0xFF,
            &measurements(0, 0, 4, &rec, &[9; 7]),
        )
        .unwrap();
        assert_eq!((r.0, r.1), (0, 4));
        assert_eq!(r.2, want);
        // One index.
        let one = block(2, 0x82, b"x");
        let r = ask(&mut s, &mut peer, 2, &measurements(0, 0, 1, &one, &[])).unwrap();
        assert_eq!(r.2, vec![(2, 0x82, b"x".to_vec())]);
        still_works(&mut s, &mut peer);
    }
}

#[test]
fn measurements_that_do_not_answer_the_request_are_refused() {
    let set = SETS[0];
    let h = set.sizes().hash;
    let d = vec![0x22u8; h];
    let cases: [(&str, u8, Vec<u8>); 7] = [
        (
            "another index",
            2,
            measurements(0, 0, 1, &block(3, 0x00, &d), &[]),
        ),
        (
            "two blocks for one index",
            2,
            measurements(0, 0, 2, &[block(2, 0, &d), block(2, 0, &d)].concat(), &[]),
        ),
        (
            "count differs from the record",
            0xFF,
            measurements(0, 0, 2, &block(1, 0, &d), &[]),
        ),
        (
            "digest of another size",
            0xFF,
            measurements(0, 0, 1, &block(1, 0x00, &d[1..]), &[]),
        ),
        (
            "index 0",
            0xFF,
            measurements(0, 0, 1, &block(0, 0x00, &d), &[]),
        ),
        ("opaque length beyond the message", 0xFF, {
            let mut m = measurements(0, 0, 1, &block(1, 0, &d), &[1, 2]);
            m.pop();
            m
        }),
        (
            "blocks in a count-only answer",
            0,
            measurements(1, 0, 1, &block(1, 0, &d), &[]),
        ),
    ];
    for (name, op, answer) in cases {
        let (mut s, mut peer) = meas_session(set);
        let r = ask(&mut s, &mut peer, op, &answer);
        assert!(
            matches!(r, Err(Error::Message(_) | Error::UnexpectedMessage)),
            "{name}: {r:?}"
        );
        still_works(&mut s, &mut peer);
        // The next genuine exchange is read.
        let r = ask(
            &mut s,
            &mut peer,
            0xFF,
            &measurements(0, 0, 1, &block(1, 0, &d), &[]),
        );
        assert_eq!(r.unwrap().1, 1, "{name}");
    }
}
