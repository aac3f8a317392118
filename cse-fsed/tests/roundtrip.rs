//! Round trips: every SV x tag mode x suite x tag length, over several frames and frame
//! shapes; the receiver releases exactly the original frames, every frame clean.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use cse_core::{CipherSuite, SecurityVariant, TagMode};
use proptest::prelude::*;

fn run(
    shape: &Shape,
    sv: SecurityVariant,
    suite: CipherSuite,
    tag: cse_core::TagLen,
    mode: TagMode,
    frames: u16,
) {
    let config = uniform(sv, suite, tag, mode);
    let (mut tx, mut rx) = pair(config, suite);
    let mut originals = Vec::new();
    let mut stream = Vec::new();
    for f in 0..frames {
        let o = frame(shape, f + 1, f as u8);
        stream.extend(protect_all(&mut tx, &o));
        originals.extend(o);
    }
    let out = receive_all(&mut rx, &stream);
    assert!(
        out.errors.is_empty(),
        "{sv:?} {suite:?} {mode:?}: {:?}",
        out.errors
    );
    assert!(out.pending.is_empty());
    assert_eq!(out.clean_frames(), usize::from(frames), "{:?}", out.events);
    assert_eq!(
        out.accepted(),
        originals,
        "{sv:?} {suite:?} {mode:?} {tag:?}"
    );
}

#[test]
fn every_sv_mode_suite_and_tag_length_round_trips() {
    for sv in all_svs() {
        for mode in MODES {
            for suite in CipherSuite::ALL {
                for tag in TAGS {
                    run(&Shape::SMALL, sv, suite, tag, mode, 2);
                }
            }
        }
    }
}

#[test]
fn frames_without_embedded_lines_or_line_syncs_round_trip() {
    let shape = Shape {
        top_lines: 0,
        pixel_lines: 3,
        bottom_lines: 0,
        line_len: 100,
        embedded_len: 0,
        ls_le: false,
    };
    for sv in all_svs() {
        for mode in MODES {
            run(
                &shape,
                sv,
                CipherSuite::Aes128Gmac,
                cse_core::TagLen::L16,
                mode,
                3,
            );
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]
    #[test]
    fn arbitrary_frame_shapes_round_trip(
        top in 0usize..3, pixels in 1usize..6, bottom in 0usize..3,
        line_len in 1usize..200, emb in 1usize..40, ls_le: bool,
        sv_i in 0usize..5, mode_i in 0usize..2, suite_i in 0usize..8, tag_i in 0usize..3,
    ) {
        let shape = Shape { top_lines: top, pixel_lines: pixels, bottom_lines: bottom, line_len, embedded_len: emb, ls_le };
        run(&shape, all_svs()[sv_i], CipherSuite::ALL[suite_i], TAGS[tag_i], MODES[mode_i], 2);
    }
}
