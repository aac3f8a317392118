//! Third outsider round: `cse verify` (`capture::analyse`) and FSED's FS.
//!
//! An FS carries only its frame number, which the frame header binds; `verify --out` writes an
//! FS once a tag of its frame verified (`Verdict::BoundByFrameHeader`). A keyless injector puts
//! a second FS with another frame number between the genuine FS and the frame header: the
//! receiver remembers both numbers and the header takes the genuine one. The recovered output
//! must hold the genuine FS, never the injected one.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use cse_core::csi2::{DataType, HeaderForm, Packets, Repr, VirtualChannel};
use cse_core::{BlockConfig, CipherSuite, FrameConfig, KeyId, Policy, TagMode};
use cse_link::Protocol;
use cse_link::capture::{KeyFile, ProtectOptions, Verdict, analyse, protect};
use cse_link::scene::Scene;

fn short(dt: DataType, n: u16) -> Vec<u8> {
    Repr {
        vc: VirtualChannel::default(),
        data_type: dt,
        word_count: n,
    }
    .header_bytes(HeaderForm::Dphy)
    .unwrap()
    .to_vec()
}

#[test]
fn an_fs_injected_after_the_genuine_one_is_not_recovered_in_its_place() {
    let scene = Scene::new(32, 4, VirtualChannel::default());
    let plain = [scene.frame(1).unwrap(), scene.frame(2).unwrap()].concat();
    let keys = KeyFile::parse(&KeyFile::render(&[0x42; 16], None, &[0x24; 12], 0)).unwrap();
    let mut block = BlockConfig::full_integrity(CipherSuite::Aes128Gmac);
    block.tag_mode = TagMode::PerFrame;
    let opts = ProtectOptions {
        protocol: Protocol::Fsed,
        config: FrameConfig::uniform(block, KeyId::default()),
        vc: None,
        first_frame: 1,
    };
    let protected = protect(&plain, &keys, &opts).unwrap();
    let clean = analyse(
        &protected,
        Some(&keys),
        Some(Protocol::Fsed),
        Policy::PERMISSIVE,
    )
    .unwrap();
    assert!(clean.passed());
    assert_eq!(clean.recovered, plain);

    // The same capture with an FS of another frame number right after each genuine FS, or
    // right after each frame header (inside the frame, before its first tag record).
    let injected = short(DataType::FS, 0x0BAD);
    for after in [DataType::FS, cse_core::Profile::DRAFT_1.dt_fsed] {
        let mut attacked = Vec::new();
        let mut fsed_seen = false;
        for p in Packets::new(&protected, HeaderForm::Dphy) {
            let p = p.unwrap();
            attacked.extend_from_slice(p.raw);
            let first_fsed = p.repr.data_type == cse_core::Profile::DRAFT_1.dt_fsed && !fsed_seen;
            if p.repr.data_type == DataType::FS {
                fsed_seen = false;
            }
            if p.repr.data_type == cse_core::Profile::DRAFT_1.dt_fsed {
                fsed_seen = true;
            }
            if (after == DataType::FS && p.repr.data_type == DataType::FS)
                || (after != DataType::FS && first_fsed)
            {
                attacked.extend_from_slice(&injected);
            }
        }
        assert!(attacked.len() > protected.len() + 4);
        let a = analyse(
            &attacked,
            Some(&keys),
            Some(Protocol::Fsed),
            Policy::PERMISSIVE,
        )
        .unwrap();
        assert!(
            !a.recovered.windows(4).any(|w| w == injected.as_slice()),
            "after {after:?}: the injected FS is in the recovered output"
        );
        // Every injected row is left unverified, never bound to a frame.
        for r in &a.rows {
            if r.packet
                .repr
                .is_some_and(|h| h.data_type == DataType::FS && h.word_count == 0x0BAD)
            {
                assert_ne!(r.verdict, Verdict::BoundByFrameHeader, "{r:?}");
            }
        }
        // The genuine packets are all recovered, genuine FS included.
        assert_eq!(a.recovered, plain, "after {after:?}");
    }
}
