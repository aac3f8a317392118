//! Round trips: every SV x tag mode x suite x tag length, and proptest over frame shapes.
#![allow(clippy::unwrap_used, clippy::panic)] // test helpers outside #[test] fns

mod common;

use common::*;
use cse_core::CipherSuite;
use proptest::prelude::*;

fn round_trip(cfg: cse_core::FrameConfig, suite: CipherSuite, shape: &Shape, frames: u16) {
    let (mut tx, mut rx) = pair(cfg, suite);
    for f in 0..frames {
        let originals = frame(shape, f, f as u8);
        let seps = protect_all(&mut tx, &originals);
        let o = receive_all(&mut rx, &seps);
        assert!(o.errors.is_empty(), "{cfg:?}: {:?}", o.errors);
        assert!(o.pending.is_empty(), "{cfg:?}");
        assert!(
            o.accepted() == originals,
            "{cfg:?}: released packets differ from the originals"
        );
        assert!(
            o.events
                .iter()
                .any(|e| matches!(e, cse_sep::Event::FrameComplete { clean: true, .. })),
            "{cfg:?} {:?}",
            o.events
        );
    }
}

#[test]
fn every_sv_mode_suite_and_tag_length_round_trips() {
    for sv in all_svs() {
        for mode in MODES {
            for suite in CipherSuite::ALL {
                for tag in TAGS {
                    round_trip(uniform(sv, suite, tag, mode), suite, &Shape::SMALL, 2);
                }
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn random_frame_shapes_round_trip(
        sv in 0usize..5, mode in 0usize..3, suite in 0usize..8, tag in 0usize..3,
        top in 0usize..3, pixels in 0usize..6, bottom in 0usize..3,
        line_len in 1usize..300, emb in 1usize..40, ls_le: bool,
    ) {
        let suite = CipherSuite::ALL[suite];
        let cfg = uniform(all_svs()[sv], suite, TAGS[tag], MODES[mode]);
        let shape = Shape { top_lines: top, pixel_lines: pixels, bottom_lines: bottom, line_len, embedded_len: emb, ls_le };
        round_trip(cfg, suite, &shape, 2);
    }
}

/// The FS header under the frame-start configuration (`docs/wire-format.md` section 4, "The FS
/// is always authenticated"): with an SV-5 top block announced per frame, byte 2 carries the
/// SV and tag mode of the image block (SV-2, per data type), T and its tag length; with every
/// block SV-5 it carries the top block's own SV 5 and tag mode, only X is set and the tag
/// length is 0. Both frames round trip.
#[test]
fn the_fs_header_carries_the_frame_start_configuration() {
    use cse_core::{FrameConfig, KeyId, SecurityVariant, TagLen, TagMode};
    let suite = CipherSuite::Aes128Gmac;
    let sv5 = block(
        SecurityVariant::NoSecurity,
        suite,
        TagLen::L16,
        TagMode::PerFrame,
    );
    let sv2 = block(
        SecurityVariant::FullIntegrity,
        suite,
        TagLen::L12,
        TagMode::PerDataType,
    );
    let cases = [
        // (config, flags, byte 2, tag length)
        (
            FrameConfig {
                top: sv5,
                image: sv2,
                bottom: sv2,
                key_id: KeyId::default(),
            },
            0x60,
            0x22,
            12,
        ),
        (
            FrameConfig {
                top: sv5,
                image: sv5,
                bottom: sv5,
                key_id: KeyId::default(),
            },
            0x20,
            0x45,
            0,
        ),
    ];
    for (cfg, flags, byte2, tag_len) in cases {
        let originals = frame(&Shape::SMALL, 1, 0);
        let (mut tx, _) = pair(cfg, suite);
        let seps = protect_all(&mut tx, &originals);
        // SEP payload after the 4-byte CSI-2 header: version, flags, byte 2, VC, DT, tag length.
        let fs = &seps[0][4..10];
        assert_eq!(fs, &[1, flags, byte2, 1, 0x00, tag_len], "{cfg:?}");
        round_trip(cfg, suite, &Shape::SMALL, 2);
    }
}
