//! Stream iterator and emitter: round trips, errors at known offsets, random streams.
#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use cse_core::csi2::{
    DataType, Decoded, EccCheck, Emitter, Error, HeaderForm, Packets, StreamError, VirtualChannel,
};
use proptest::prelude::*;

fn vc(n: u8) -> VirtualChannel {
    VirtualChannel::new(n).unwrap()
}

/// A small frame on `v`: FS, top embedded line, three RAW12 lines framed by LS/LE, FE.
/// Returns the stream length and the offsets of the packets.
fn frame(buf: &mut [u8], form: HeaderForm, v: VirtualChannel) -> (usize, Vec<usize>) {
    let mut out = Emitter::new(buf, form);
    let mut offsets = vec![out.frame_start(v, 42).unwrap()];
    offsets.push(out.long(v, DataType::EMBEDDED, &[0x0A; 12]).unwrap());
    for line in 1..=3u16 {
        offsets.push(out.line_start(v, line).unwrap());
        offsets.push(
            out.long_with(v, DataType::RAW12, 30, |px| {
                for (i, b) in px.iter_mut().enumerate() {
                    *b = (i as u8).wrapping_mul(line as u8);
                }
            })
            .unwrap(),
        );
        offsets.push(out.line_end(v, line).unwrap());
    }
    offsets.push(out.frame_end(v, 42).unwrap());
    (out.len(), offsets)
}

fn reemit(items: &[Decoded<'_>], form: HeaderForm, out: &mut [u8]) -> usize {
    let mut em = Emitter::new(out, form);
    for d in items {
        em.packet(&d.repr, d.payload).unwrap();
    }
    em.len()
}

#[test]
fn frame_stream_round_trips() {
    for (form, v) in [
        (HeaderForm::Dphy, vc(2)),
        (HeaderForm::DPHY_VCX_DRAFT_1, vc(13)),
    ] {
        let mut buf = [0u8; 512];
        let (len, offsets) = frame(&mut buf, form, v);
        let stream = &buf[..len];
        let items: Vec<Decoded<'_>> = Packets::new(stream, form).map(Result::unwrap).collect();

        let types: Vec<DataType> = items.iter().map(Decoded::data_type).collect();
        let mut expected = vec![DataType::FS, DataType::EMBEDDED];
        for _ in 0..3 {
            expected.extend([DataType::LS, DataType::RAW12, DataType::LE]);
        }
        expected.push(DataType::FE);
        assert_eq!(types, expected);
        assert_eq!(items.iter().map(|d| d.offset).collect::<Vec<_>>(), offsets);
        assert!(items.iter().all(|d| d.vc() == v && d.ecc == EccCheck::Ok));
        assert_eq!(items[0].word_count(), 42);
        assert_eq!(items[2].word_count(), 1);
        assert_eq!(items[3].payload.len(), 30);
        assert_eq!(items[3].payload[5], 5);

        let mut again = [0u8; 512];
        let n = reemit(&items, form, &mut again);
        assert_eq!(&again[..n], stream);
    }
}

#[test]
fn empty_stream_yields_nothing() {
    assert!(Packets::new(&[], HeaderForm::Dphy).next().is_none());
}

#[test]
fn reports_truncation_at_the_packet_that_is_cut() {
    let mut buf = [0u8; 512];
    let (len, offsets) = frame(&mut buf, HeaderForm::Dphy, vc(0));
    // Cut inside the first RAW12 line (packet 3): two bytes into its payload.
    let cut = offsets[3] + 6;
    let mut it = Packets::new(&buf[..cut], HeaderForm::Dphy);
    for _ in 0..3 {
        assert!(it.next().unwrap().is_ok());
    }
    assert_eq!(
        it.next(),
        Some(Err(StreamError {
            offset: offsets[3],
            error: Error::Truncated {
                needed: 36,
                available: 6
            }
        }))
    );
    assert_eq!(it.next(), None);
    assert_eq!(it.next(), None);
    // Cut inside the FE header.
    let mut it = Packets::new(&buf[..len - 1], HeaderForm::Dphy);
    let err = it.find_map(Result::err).unwrap();
    assert_eq!(err.offset, offsets[offsets.len() - 1]);
    assert_eq!(
        err.error,
        Error::Truncated {
            needed: 4,
            available: 3
        }
    );
}

#[test]
fn reports_uncorrectable_header_at_its_offset_and_stops() {
    let mut buf = [0u8; 512];
    let (len, offsets) = frame(&mut buf, HeaderForm::Dphy, vc(1));
    let bad = offsets[4];
    buf[bad] ^= 0x01;
    buf[bad + 2] ^= 0x10;
    let items: Vec<_> = Packets::new(&buf[..len], HeaderForm::Dphy).collect();
    assert_eq!(items.len(), 5);
    assert!(items[..4].iter().all(Result::is_ok));
    let err = items[4].unwrap_err();
    assert_eq!(err.offset, bad);
    assert!(matches!(err.error, Error::EccUncorrectable { .. }));
}

#[test]
fn reports_crc_mismatch_at_its_offset_and_stops() {
    let mut buf = [0u8; 512];
    let (len, offsets) = frame(&mut buf, HeaderForm::Dphy, vc(1));
    let bad = offsets[6];
    buf[bad + 4 + 17] ^= 0x20; // a payload byte of the second RAW12 line
    let items: Vec<_> = Packets::new(&buf[..len], HeaderForm::Dphy).collect();
    assert_eq!(items.len(), 7);
    let err = items[6].unwrap_err();
    assert_eq!(err.offset, bad);
    assert!(matches!(err.error, Error::CrcMismatch { .. }));
    assert!(err.error.to_fusa().is_some());
}

#[test]
fn corrects_single_bit_header_error_and_keeps_going() {
    let mut buf = [0u8; 512];
    let (len, offsets) = frame(&mut buf, HeaderForm::DPHY_VCX_DRAFT_1, vc(6));
    let original = buf;
    // Flip WC bit 13 of the first RAW12 line: uncorrected, the length would be wrong.
    buf[offsets[3] + 2] ^= 0x20;
    // Flip VCX bit 1 of the LE after it.
    buf[offsets[4] + 3] ^= 0x80;
    let items: Vec<Decoded<'_>> = Packets::new(&buf[..len], HeaderForm::DPHY_VCX_DRAFT_1)
        .map(Result::unwrap)
        .collect();
    assert_eq!(items.len(), offsets.len());
    assert_eq!(items[3].ecc, EccCheck::Corrected { bit: 21 });
    assert_eq!(items[3].word_count(), 30);
    assert!(items[3].was_corrected());
    assert_eq!(items[4].ecc, EccCheck::Corrected { bit: 31 });
    assert_eq!(items[4].vc(), vc(6));
    assert_eq!(items[4].header, original[offsets[4]..offsets[4] + 4]);
    // Re-emitting gives the stream as it was sent.
    let mut again = [0u8; 512];
    let n = reemit(&items, HeaderForm::DPHY_VCX_DRAFT_1, &mut again);
    assert_eq!(&again[..n], &original[..len]);
}

#[test]
fn emitter_refuses_without_writing() {
    let mut buf = [0u8; 10];
    let mut out = Emitter::new(&mut buf, HeaderForm::Dphy);
    out.short(vc(0), DataType::FS, 1).unwrap();
    assert_eq!(
        out.long(vc(0), DataType::RAW8, &[1, 2, 3]),
        Err(Error::BufferTooSmall {
            needed: 9,
            available: 6
        })
    );
    let mut called = false;
    assert_eq!(
        out.long_with(vc(0), DataType::RAW8, 1, |_| called = true),
        Err(Error::BufferTooSmall {
            needed: 7,
            available: 6
        })
    );
    assert!(!called);
    assert_eq!(
        out.short(vc(0), DataType::RAW8, 0),
        Err(Error::WrongPacketKind(0x2A))
    );
    assert_eq!(
        out.long(vc(0), DataType::LS, &[]),
        Err(Error::WrongPacketKind(0x02))
    );
    assert_eq!(
        out.short(vc(4), DataType::FS, 0),
        Err(Error::VirtualChannel(4))
    );
    assert_eq!(out.len(), 4);
    assert_eq!(out.remaining(), 6);
    // An empty long packet is header + CRC of nothing (the CRC init value, 0xFFFF).
    assert_eq!(out.long(vc(0), DataType::RAW8, &[]), Ok(4));
    assert_eq!(
        out.short(vc(0), DataType::FE, 1),
        Err(Error::BufferTooSmall {
            needed: 4,
            available: 0
        })
    );
    let written = out.into_written();
    assert_eq!(written.len(), 10);
    assert_eq!(&buf[8..], &[0xFF, 0xFF]);
}

#[test]
fn emitter_rejects_payload_longer_than_word_count() {
    let big = vec![0u8; 65536];
    let mut buf = [0u8; 8];
    let mut out = Emitter::new(&mut buf, HeaderForm::Dphy);
    assert_eq!(
        out.long(vc(0), DataType::RAW8, &big),
        Err(Error::PayloadTooLong(65536))
    );
}

#[derive(Debug, Clone)]
struct Pkt {
    vc: u8,
    dt: u8,
    wc: u16,
    payload: Vec<u8>,
}

fn any_packet(max_vc: u8) -> impl Strategy<Value = Pkt> {
    (
        0..=max_vc,
        0u8..0x40,
        any::<u16>(),
        proptest::collection::vec(any::<u8>(), 0..200),
    )
        .prop_map(|(vc, dt, wc, payload)| Pkt {
            vc,
            dt,
            wc,
            payload,
        })
}

fn any_stream() -> impl Strategy<Value = (HeaderForm, Vec<Pkt>)> {
    prop_oneof![
        proptest::collection::vec(any_packet(3), 0..12).prop_map(|p| (HeaderForm::Dphy, p)),
        proptest::collection::vec(any_packet(15), 0..12)
            .prop_map(|p| (HeaderForm::DPHY_VCX_DRAFT_1, p)),
    ]
}

fn build(form: HeaderForm, pkts: &[Pkt], buf: &mut [u8]) -> usize {
    let mut out = Emitter::new(buf, form);
    for p in pkts {
        let dt = DataType(p.dt);
        if dt.is_short() {
            out.short(vc(p.vc), dt, p.wc).unwrap();
        } else {
            out.long(vc(p.vc), dt, &p.payload).unwrap();
        }
    }
    out.len()
}

proptest! {
    #[test]
    fn random_streams_iterate_and_reemit_identically((form, pkts) in any_stream()) {
        let mut buf = vec![0u8; 12 * (4 + 200 + 2)];
        let len = build(form, &pkts, &mut buf);
        let stream = &buf[..len];
        let items: Vec<Decoded<'_>> = Packets::new(stream, form).map(Result::unwrap).collect();
        prop_assert_eq!(items.len(), pkts.len());
        for (d, p) in items.iter().zip(&pkts) {
            prop_assert_eq!(d.vc(), vc(p.vc));
            prop_assert_eq!(d.data_type(), DataType(p.dt));
            if DataType(p.dt).is_long() {
                prop_assert_eq!(d.payload, &p.payload[..]);
            } else {
                prop_assert_eq!(d.word_count(), p.wc);
            }
        }
        let mut again = vec![0u8; buf.len()];
        let n = reemit(&items, form, &mut again);
        prop_assert_eq!(&again[..n], stream);
        // The fuzz oracle agrees.
        let mut input = vec![u8::from(form.has_vcx())];
        input.extend_from_slice(stream);
        cse_core::fuzzing::csi2_stream(&input);
    }

    #[test]
    fn mutated_streams_keep_oracle_invariants(
        (form, pkts) in any_stream(), flips in proptest::collection::vec((any::<usize>(), 0u8..8), 0..4),
        cut in any::<usize>(),
    ) {
        let mut buf = vec![0u8; 12 * (4 + 200 + 2) + 1];
        buf[0] = u8::from(form.has_vcx());
        let len = 1 + build(form, &pkts, &mut buf[1..]);
        for (pos, bit) in flips {
            let i = 1 + pos % len.max(2).saturating_sub(1).max(1);
            if i < len {
                buf[i] ^= 1 << bit;
            }
        }
        let end = 1 + cut % len;
        cse_core::fuzzing::csi2_stream(&buf[..end.max(1)]);
    }

    #[test]
    fn ecc_oracle_holds(data in proptest::collection::vec(any::<u8>(), 0..10)) {
        cse_core::fuzzing::ecc(&data);
    }

    #[test]
    fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..400)) {
        cse_core::fuzzing::csi2_stream(&data);
    }
}

/// The committed fuzz seeds are valid streams (so the fuzzer starts from deep states).
#[test]
fn fuzz_seed_streams_are_clean() {
    let seeds: [&[u8]; 5] = [
        include_bytes!("../../fuzz/corpus/csi2_stream/seed-dphy-frame"),
        include_bytes!("../../fuzz/corpus/csi2_stream/seed-vcx-frame"),
        include_bytes!("../../fuzz/corpus/csi2_stream/seed-spec-crc-payloads"),
        include_bytes!("../../fuzz/corpus/csi2_stream/seed-short-only"),
        include_bytes!("../../fuzz/corpus/csi2_stream/seed-two-vcs-interleaved"),
    ];
    for seed in seeds {
        let form = if seed[0] & 1 == 1 {
            HeaderForm::DPHY_VCX_DRAFT_1
        } else {
            HeaderForm::Dphy
        };
        let mut it = Packets::new(&seed[1..], form);
        for item in it.by_ref() {
            assert_eq!(item.unwrap().ecc, EccCheck::Ok);
        }
        assert_eq!(it.offset(), seed.len() - 1);
        cse_core::fuzzing::csi2_stream(seed);
    }
}
