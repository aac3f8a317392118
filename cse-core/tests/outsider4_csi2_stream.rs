//! Outsider round 4 (black box): CSI-2 streams through `Packets` with every single-bit and
//! every two-bit header error, the reserved ECC bits, word counts at 0, 1 and 65535, and the
//! stream cut at every length. Single-bit errors are corrected (the decoded packet equals the
//! sent one), two-bit errors end the iteration with `EccUncorrectable` at that packet's offset
//! (never a wrong packet), reserved bits with `ReservedBits`, a cut with `Truncated`, a flipped
//! payload byte with `CrcMismatch`; nothing panics and the packets before the bad one come out
//! as sent.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use cse_core::csi2::{
    DataType, EccCheck, Emitter, Error, HeaderForm, Packets, Repr, VirtualChannel,
};

/// The stream: FS, long packets of 0, 1 and 65535 bytes, LS, FE; the start offset of each
/// packet and its header/payload.
fn stream(form: HeaderForm) -> (Vec<u8>, Vec<usize>) {
    let mut buf = vec![0u8; 70_000];
    let mut e = Emitter::new(&mut buf, form);
    let vc = VirtualChannel::new(if matches!(form, HeaderForm::Dphy) {
        3
    } else {
        9
    })
    .unwrap();
    let mut offs = Vec::new();
    let mut at = |e: &Emitter<'_>| offs.push(e.len());
    at(&e);
    e.frame_start(vc, 7).unwrap();
    at(&e);
    e.long(vc, DataType::EMBEDDED, &[]).unwrap();
    at(&e);
    e.long(vc, DataType::RAW8, &[0xA7]).unwrap();
    at(&e);
    let big: Vec<u8> = (0..65_535u32).map(|i| (i * 7) as u8).collect();
    e.long(vc, DataType::RAW8, &big).unwrap();
    at(&e);
    e.line_start(vc, 1).unwrap();
    at(&e);
    e.frame_end(vc, 7).unwrap();
    let n = e.len();
    buf.truncate(n);
    (buf, offs)
}

type Seen = Vec<(usize, Repr, Vec<u8>)>;

/// The packets yielded and the error that ended the iteration.
fn decode(buf: &[u8], form: HeaderForm) -> (Seen, Option<(usize, Error)>) {
    let mut seen = Vec::new();
    for p in Packets::new(buf, form) {
        match p {
            Ok(d) => seen.push((d.offset, d.repr, d.payload.to_vec())),
            Err(e) => return (seen, Some((e.offset, e.error))),
        }
    }
    (seen, None)
}

const FORMS: [HeaderForm; 2] = [HeaderForm::Dphy, HeaderForm::DPHY_VCX_DRAFT_1];

#[test]
fn every_single_bit_header_error_is_corrected() {
    for form in FORMS {
        let (buf, offs) = stream(form);
        let (clean, end) = decode(&buf, form);
        assert_eq!(end, None);
        assert_eq!(clean.len(), offs.len());
        for (k, &o) in offs.iter().enumerate() {
            for bit in 0..32u32 {
                let mut b = buf.clone();
                let h = u32::from_le_bytes(b[o..o + 4].try_into().unwrap()) ^ (1 << bit);
                b[o..o + 4].copy_from_slice(&h.to_le_bytes());
                let reserved = matches!(form, HeaderForm::Dphy) && bit >= 30;
                let (seen, end) = decode(&b, form);
                if reserved {
                    // D-PHY without VCX: ECC byte bits 7:6 are reserved (docs).
                    assert_eq!(seen, clean[..k], "{form:?} pkt {k} bit {bit}");
                    assert!(
                        matches!(end, Some((off, Error::ReservedBits { .. })) if off == o),
                        "{form:?} pkt {k} bit {bit}: {end:?}"
                    );
                    continue;
                }
                assert_eq!(end, None, "{form:?} pkt {k} bit {bit}");
                assert_eq!(seen, clean, "{form:?} pkt {k} bit {bit}");
                let d = Packets::new(&b, form).nth(k).unwrap().unwrap();
                assert_eq!(
                    d.ecc,
                    EccCheck::Corrected { bit: bit as u8 },
                    "{form:?} {k} {bit}"
                );
                assert_eq!(&d.header[..], &buf[o..o + 4], "corrected header bytes");
                assert_eq!(&d.raw[..4], &b[o..o + 4], "raw is as received");
            }
        }
    }
}

#[test]
fn every_two_bit_header_error_is_detected_never_miscorrected() {
    for form in FORMS {
        let (buf, offs) = stream(form);
        let (clean, _) = decode(&buf, form);
        for (k, &o) in offs.iter().enumerate() {
            for b1 in 0..32u32 {
                for b2 in b1 + 1..32 {
                    let mut b = buf.clone();
                    let h =
                        u32::from_le_bytes(b[o..o + 4].try_into().unwrap()) ^ (1 << b1) ^ (1 << b2);
                    b[o..o + 4].copy_from_slice(&h.to_le_bytes());
                    let (seen, end) = decode(&b, form);
                    assert_eq!(seen, clean[..k], "{form:?} pkt {k} bits {b1},{b2}");
                    let ok = match end {
                        Some((off, Error::EccUncorrectable { .. })) => off == o,
                        Some((off, Error::ReservedBits { .. })) => {
                            off == o && matches!(form, HeaderForm::Dphy) && b2 >= 30
                        }
                        _ => false,
                    };
                    assert!(ok, "{form:?} pkt {k} bits {b1},{b2}: {end:?}");
                }
            }
        }
    }
}

#[test]
fn stream_cut_at_every_length_and_payload_flips() {
    for form in FORMS {
        let (buf, offs) = stream(form);
        let (clean, _) = decode(&buf, form);
        // Lengths around every boundary and a stride through the big packet.
        let mut cuts: Vec<usize> = offs
            .iter()
            .chain(std::iter::once(&buf.len()))
            .flat_map(|&o| o.saturating_sub(8)..(o + 8).min(buf.len() + 1))
            .collect();
        cuts.extend((0..buf.len()).step_by(997));
        for cut in cuts {
            let (seen, end) = decode(&buf[..cut], form);
            let whole = offs
                .iter()
                .zip(offs.iter().skip(1).chain(std::iter::once(&buf.len())))
                .filter(|&(_, &e)| e <= cut)
                .count();
            assert_eq!(seen, clean[..whole], "{form:?} cut {cut}");
            let next = offs.get(whole).copied().unwrap_or(buf.len());
            if next == cut {
                assert_eq!(end, None, "{form:?} cut {cut}");
            } else {
                assert!(
                    matches!(end, Some((o, Error::Truncated { available, .. })) if o == next && available == cut - next),
                    "{form:?} cut {cut}: {end:?}"
                );
            }
        }
        // A payload byte or a footer byte flipped: CrcMismatch at that packet.
        for (k, &o) in offs.iter().enumerate() {
            let len = clean[k].1.word_count as usize;
            if clean[k].1.data_type.0 < 0x10 {
                continue;
            }
            for i in [4, 4 + len / 2, 4 + len, 4 + len + 1] {
                let mut b = buf.clone();
                b[o + i] ^= 0x10;
                let (seen, end) = decode(&b, form);
                assert_eq!(seen, clean[..k], "{form:?} pkt {k} byte {i}");
                assert!(
                    matches!(end, Some((off, Error::CrcMismatch { .. })) if off == o),
                    "{form:?} pkt {k} byte {i}: {end:?}"
                );
            }
        }
    }
}
