//! CRC known answers and the differential test of the CRC backends.
//!
//! Check values: the CRC RevEng "Catalogue of parametrised CRC algorithms"
//! (<https://reveng.sourceforge.io/crc-catalogue/>), the `check` field of each entry, which is
//! the CRC of the ASCII string "123456789".

use cse_core::crc::{self, Crc16Mcrf4xx, Crc32, Crc32Variant, crc16_mcrf4xx, crc32};
use proptest::prelude::*;

const CHECK: &[u8] = b"123456789";

const VARIANTS: [(Crc32Variant, &crc_ref::Algorithm<u32>); 3] = [
    (Crc32Variant::IsoHdlc, &crc_ref::CRC_32_ISO_HDLC),
    (Crc32Variant::Autosar, &crc_ref::CRC_32_AUTOSAR),
    (Crc32Variant::Iscsi, &crc_ref::CRC_32_ISCSI),
];

// The `crc` crate (a regular dependency of cse-core), one-table form, as the reference.
use ::crc as crc_ref;

fn reference32(alg: &'static crc_ref::Algorithm<u32>, data: &[u8]) -> u32 {
    crc_ref::Crc::<u32, crc_ref::NoTable>::new(alg).checksum(data)
}

fn reference16(data: &[u8]) -> u16 {
    crc_ref::Crc::<u16, crc_ref::NoTable>::new(&crc_ref::CRC_16_MCRF4XX).checksum(data)
}

#[test]
fn crc32_iso_hdlc_matches_reveng_check() {
    assert_eq!(crc32(Crc32Variant::IsoHdlc, CHECK), 0xCBF4_3926);
}

#[test]
fn crc32_autosar_matches_reveng_check() {
    assert_eq!(crc32(Crc32Variant::Autosar, CHECK), 0x1697_D06A);
}

#[test]
fn crc32_iscsi_matches_reveng_check() {
    assert_eq!(crc32(Crc32Variant::Iscsi, CHECK), 0xE306_9283);
}

#[test]
fn crc16_mcrf4xx_matches_reveng_check() {
    assert_eq!(crc16_mcrf4xx(CHECK), 0x6F91);
    let mut d = Crc16Mcrf4xx::new();
    d.update(b"123");
    d.update(b"");
    d.update(b"456789");
    assert_eq!(d.finalize(), 0x6F91);
}

#[test]
fn portable_backend_matches_reveng_checks() {
    assert_eq!(
        crc::portable::crc32(Crc32Variant::IsoHdlc, CHECK),
        0xCBF4_3926
    );
    assert_eq!(
        crc::portable::crc32(Crc32Variant::Autosar, CHECK),
        0x1697_D06A
    );
    assert_eq!(
        crc::portable::crc32(Crc32Variant::Iscsi, CHECK),
        0xE306_9283
    );
    assert_eq!(crc::portable::crc16_mcrf4xx(CHECK), 0x6F91);
}

#[test]
fn empty_input_gives_the_catalogue_zero_length_value() {
    // For init = xorout = all ones the CRC of no bytes is 0; MCRF4XX (xorout 0) gives its init.
    for (v, _) in VARIANTS {
        assert_eq!(crc32(v, &[]), 0);
        assert_eq!(Crc32::new(v).finalize(), 0);
    }
    assert_eq!(crc16_mcrf4xx(&[]), 0xFFFF);
}

#[test]
fn detects_a_single_bit_flip_in_a_line() {
    let mut line = vec![0x5Au8; 5760];
    let good = crc32(Crc32Variant::IsoHdlc, &line);
    let good16 = crc16_mcrf4xx(&line);
    line[4000] ^= 0x08;
    assert_ne!(crc32(Crc32Variant::IsoHdlc, &line), good);
    assert_ne!(crc16_mcrf4xx(&line), good16);
}

#[test]
fn finalize_does_not_consume_the_running_state() {
    let mut d = Crc32::new(Crc32Variant::Autosar);
    d.update(b"1234");
    let _ = d.finalize();
    d.update(b"56789");
    assert_eq!(d.finalize(), 0x1697_D06A);
    assert_eq!(d.variant(), Crc32Variant::Autosar);
}

proptest! {
    /// Every backend built in (the accelerated one under `std`, the portable one always), one-shot
    /// and streaming over any three-way split, equals the `crc` crate reference.
    #[test]
    fn backends_match_reference_for_any_input_and_split(
        data in proptest::collection::vec(any::<u8>(), 0..4096),
        a in any::<prop::sample::Index>(),
        b in any::<prop::sample::Index>(),
    ) {
        let (mut i, mut j) = (a.index(data.len() + 1), b.index(data.len() + 1));
        if i > j { core::mem::swap(&mut i, &mut j); }
        let pieces = [&data[..i], &data[i..j], &data[j..]];
        for (v, alg) in VARIANTS {
            let want = reference32(alg, &data);
            prop_assert_eq!(crc32(v, &data), want);
            prop_assert_eq!(crc::portable::crc32(v, &data), want);
            for mut d in [Crc32::new(v), Crc32::new_portable(v)] {
                for p in pieces { d.update(p); }
                prop_assert_eq!(d.finalize(), want);
            }
        }
        let want16 = reference16(&data);
        prop_assert_eq!(crc16_mcrf4xx(&data), want16);
        for mut d in [Crc16Mcrf4xx::new(), Crc16Mcrf4xx::new_portable()] {
            for p in pieces { d.update(p); }
            prop_assert_eq!(d.finalize(), want16);
        }
    }
}

/// Lengths around every boundary of the folding backend (one register, four registers, the
/// 16-byte tail) and CSI-2 line lengths.
const EDGE_LENS: &[usize] = &[
    0, 1, 15, 16, 17, 63, 64, 65, 79, 80, 127, 128, 129, 191, 192, 255, 256, 257, 271, 319, 320,
    511, 512, 513, 767, 768, 1023, 1024, 1025, 2880, 5760, 5766, 5799, 11520, 11559, 69_999,
];

fn pattern(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

#[test]
fn fused_crc32_and_crc16_equal_the_separate_crcs() {
    for (k, &len) in EDGE_LENS.iter().enumerate() {
        let data = pattern(len, k as u64);
        for tail in [&[][..], &[1, 2, 3, 4][..], &data[..len.min(9)]] {
            let whole: Vec<u8> = [&data[..], tail].concat();
            for (v, alg) in VARIANTS {
                let (c32, c16) = crc::crc32_and_crc16(v, &data, tail);
                assert_eq!(c32, reference32(alg, &data), "{v:?} len {len}");
                assert_eq!(c16, reference16(&whole), "{v:?} len {len}");
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[test]
fn folding_backend_matches_the_tables_at_every_boundary() {
    if !crc::fold::available() {
        return;
    }
    for (k, &len) in EDGE_LENS.iter().enumerate() {
        let data = pattern(len, 100 + k as u64);
        let runs = len >= crc::fold::MIN_LEN;
        for (v, alg) in VARIANTS {
            let want = reference32(alg, &data);
            assert_eq!(
                crc::fold::crc32(v, &data),
                runs.then_some(want),
                "{v:?} len {len}"
            );
            assert_eq!(crc::portable::crc32(v, &data), want);
            let (c32, c16) = (want, reference16(&[&data[..], b"tail"].concat()));
            assert_eq!(
                crc::fold::crc32_and_crc16(v, &data, b"tail"),
                runs.then_some((c32, c16)),
                "{v:?} len {len}"
            );
        }
        let want16 = reference16(&data);
        assert_eq!(
            crc::fold::crc16_mcrf4xx(&data),
            runs.then_some(want16),
            "len {len}"
        );
        // The copying fold: the CRC, every byte copied, nothing written past `src.len()`.
        let mut dst = vec![0xEE; len + 64];
        assert_eq!(
            crc::fold::copy_crc16_mcrf4xx(&data, &mut dst),
            runs.then_some(want16),
            "len {len}"
        );
        if runs {
            assert_eq!(&dst[..len], &data[..], "len {len}");
        } else {
            assert!(dst[..len].iter().all(|&b| b == 0xEE), "len {len}");
        }
        assert!(dst[len..].iter().all(|&b| b == 0xEE), "len {len}");
        // A destination shorter than the source is refused, untouched.
        if len > 0 {
            let mut short = vec![0xEE; len - 1];
            assert_eq!(crc::fold::copy_crc16_mcrf4xx(&data, &mut short), None);
            assert!(short.iter().all(|&b| b == 0xEE));
        }
    }
    // Known answers through the folding path: the catalogue check string, repeated, against
    // the one-table reference, and a CSI-2 line of one byte value.
    let long: Vec<u8> = CHECK.iter().copied().cycle().take(9 * 64).collect();
    assert_eq!(crc::fold::crc16_mcrf4xx(&long), Some(reference16(&long)));
    assert_eq!(
        crc::fold::crc32(Crc32Variant::IsoHdlc, &[0u8; 64]),
        Some(0x758D_6336)
    );
}

/// A span spliced into the CRCs of `head ‖ run ‖ tail` equals the tables over the whole, for
/// heads and tails of several lengths around runs of every boundary length the span takes.
#[test]
fn spans_splice_into_the_crcs_around_them() {
    for (k, &len) in EDGE_LENS.iter().enumerate() {
        let run = pattern(len, 300 + k as u64);
        for (v, alg) in VARIANTS {
            let Some(span) = crc::Span::new(v, &run) else {
                // Only where the folding backend does not run, or outside its lengths.
                #[cfg(target_arch = "x86_64")]
                assert!(
                    !crc::fold::available() || !(crc::fold::MIN_LEN..=0xFFFF).contains(&len),
                    "{v:?} len {len}"
                );
                continue;
            };
            assert_eq!(span.len(), len);
            assert_eq!(span.variant(), v);
            assert_eq!(span.crc16_mcrf4xx(), reference16(&run), "len {len}");
            assert_eq!(span.crc32(), reference32(alg, &run), "{v:?} len {len}");
            for (h, t) in [(0, 0), (1, 0), (0, 16), (20, 16), (33, 3), (200, 64)] {
                let head = pattern(h, 7 + h as u64);
                let tail = pattern(t, 11 + t as u64);
                let whole = [&head[..], &run[..], &tail[..]].concat();
                let c32 = reference32(alg, &whole);
                let appended = [&whole[..], &c32.to_le_bytes()[..]].concat();
                assert_eq!(
                    crc::crc32_appended_crc16_around(&head, &span, &tail),
                    (c32, reference16(&appended)),
                    "{v:?} len {len} head {h} tail {t}"
                );
                let extra = [0xA5, 0x5A, 0x01, 0x80];
                assert_eq!(
                    crc::crc32_and_crc16_around(&head, &span, &tail, &extra),
                    (c32, reference16(&[&whole[..], &extra[..]].concat())),
                    "{v:?} len {len} head {h} tail {t}"
                );
            }
        }
    }
    // The longest run a span takes, and the first it refuses.
    #[cfg(target_arch = "x86_64")]
    if crc::fold::available() {
        let run = pattern(0xFFFF, 5);
        let span = crc::Span::new(Crc32Variant::IsoHdlc, &run).expect("65535 bytes");
        assert_eq!(span.crc16_mcrf4xx(), reference16(&run));
        assert!(crc::Span::new(Crc32Variant::IsoHdlc, &pattern(0x1_0000, 5)).is_none());
    }
}

proptest! {
    /// The folding backend (where the CPU has it), the fused CRC-32 + CRC-16 and the streaming
    /// digests on random lengths up to 70 000 bytes, against the `crc` crate reference.
    #[test]
    fn long_inputs_match_reference_on_every_backend(
        len in 0usize..70_000,
        seed in any::<u64>(),
        split in any::<prop::sample::Index>(),
        tail in proptest::collection::vec(any::<u8>(), 0..8),
    ) {
        let data = pattern(len, seed);
        let cut = split.index(len + 1);
        for (v, alg) in VARIANTS {
            let want = reference32(alg, &data);
            prop_assert_eq!(crc32(v, &data), want);
            let mut d = Crc32::new(v);
            d.update(&data[..cut]);
            d.update(&data[cut..]);
            prop_assert_eq!(d.finalize(), want);
            let whole: Vec<u8> = [&data[..], &tail[..]].concat();
            prop_assert_eq!(crc::crc32_and_crc16(v, &data, &tail), (want, reference16(&whole)));
        }
        let want16 = reference16(&data);
        prop_assert_eq!(crc16_mcrf4xx(&data), want16);
        // Copy and CRC in one pass: exactly the source in the destination's first bytes.
        let mut dst = vec![0xA5u8; len + 3];
        prop_assert_eq!(crc::copy_crc16_mcrf4xx(&data, &mut dst), want16);
        prop_assert_eq!(&dst[..len], &data[..]);
        prop_assert_eq!(&dst[len..], &[0xA5u8; 3][..]);
        let mut d = Crc16Mcrf4xx::new();
        d.update(&data[..cut]);
        d.update(&data[cut..]);
        prop_assert_eq!(d.finalize(), want16);
    }
}
