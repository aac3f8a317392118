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
