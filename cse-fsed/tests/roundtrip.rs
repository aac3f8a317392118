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

type Held = Vec<(cse_fsed::DecryptTicket, Vec<u8>, u32, cse_fsed::ScopeId)>;

/// Feeds `packets`, collecting the SV-1 lines released unverified and the proofs.
fn feed(
    rx: &mut cse_fsed::Receiver,
    packets: &[Vec<u8>],
    held: &mut Held,
    proofs: &mut Vec<cse_fsed::ScopeProof>,
) {
    for p in packets {
        match rx.receive(p, 0).unwrap() {
            cse_fsed::Delivery::Unverified(u) if u.is_encrypted() && p.len() > 4 => held.push((
                u.decrypt_ticket(),
                p.clone(),
                u.info().message_index,
                u.scope(),
            )),
            cse_fsed::Delivery::ScopeVerified(pr) => proofs.push(pr),
            _ => {}
        }
    }
}

/// Decrypts every held line of a frame with its proof: `Ok` when each comes out as its
/// original (`originals`, by message index), the first error otherwise.
fn decrypt_all(
    rx: &cse_fsed::Receiver,
    held: &Held,
    proofs: &[cse_fsed::ScopeProof],
    originals: &[Vec<u8>],
) -> Result<(), cse_fsed::FsedError> {
    assert!(!held.is_empty());
    for (ticket, bytes, index, scope) in held {
        let proof = proofs.iter().find(|p| p.scope() == *scope).unwrap();
        let mut b = bytes.clone();
        rx.decrypt(proof, ticket, &mut b)?;
        assert_eq!(&b, &originals[*index as usize], "index {index}");
    }
    Ok(())
}

/// The receiver keeps the expanded keys of the frame in progress and of the finished frame in
/// two slots, re-expanded in place at each frame header: the SV-1 lines of a frame decrypt (to
/// the originals) until the end of the next frame, also after the next frame's header took the
/// other slot, and not after that (the proof's frame is gone). Each frame runs under another
/// key (a rollover per frame), so a header that expanded its keys over the finished frame's
/// would make that frame's lines fail to decrypt; frame 3 reuses frame 1's key id and slot
/// with new material, so a slot's expansion reused across a key installation fails it too.
#[test]
fn sv1_lines_decrypt_until_the_next_frame_ends() {
    use cse_core::{FrameConfig, KeyId};
    use cse_fsed::FsedError;
    let suite = CipherSuite::Aes256Gcm;
    let sv = SecurityVariant::FullIntegrityEncrypted;
    let shape = Shape {
        line_len: 100,
        ..Shape::SMALL
    };
    let config = uniform(sv, suite, cse_core::TagLen::L16, TagMode::PerFrame);
    let (mut tx, mut rx) = pair(config, suite);
    let (id0, id1) = (KeyId::default(), KeyId::new(1).unwrap());
    // Frame 1 under id 0, frame 2 under id 1, frame 3 under id 0 with new material.
    let plan = [(id0, None), (id1, Some(0x77)), (id0, Some(0x55))];
    let frames: Vec<Vec<Vec<u8>>> = (0..3u16).map(|f| frame(&shape, f + 1, f as u8)).collect();
    let mut streams = Vec::new();
    for (f, (id, seed)) in plan.iter().enumerate() {
        if let Some(seed) = seed {
            tx.install_key(*id, material(suite, *seed)).unwrap();
            tx.set_config(FrameConfig {
                key_id: *id,
                ..config
            })
            .unwrap();
        }
        streams.push(protect_all(&mut tx, &frames[f]));
    }
    rx.install_key(id1, material(suite, 0x77)).unwrap();
    let mut held: Vec<Held> = vec![Vec::new(); 3];
    let mut proofs: Vec<Vec<cse_fsed::ScopeProof>> = vec![Vec::new(), Vec::new(), Vec::new()];
    feed(&mut rx, &streams[0], &mut held[0], &mut proofs[0]);
    decrypt_all(&rx, &held[0], &proofs[0], &frames[0]).unwrap();
    for f in 1..3 {
        if f == 2 {
            rx.install_key(id0, material(suite, 0x55)).unwrap();
        }
        // FS, frame header and the first lines of frame f: its keys took the other slot, so
        // the previous frame still decrypts.
        let (head, rest) = streams[f].split_at(5);
        feed(&mut rx, head, &mut held[f], &mut proofs[f]);
        assert!(!held[f].is_empty() && proofs[f].is_empty());
        decrypt_all(&rx, &held[f - 1], &proofs[f - 1], &frames[f - 1]).unwrap();
        // The rest of frame f: it decrypts, the previous frame is gone.
        feed(&mut rx, rest, &mut held[f], &mut proofs[f]);
        decrypt_all(&rx, &held[f], &proofs[f], &frames[f]).unwrap();
        assert_eq!(
            decrypt_all(&rx, &held[f - 1], &proofs[f - 1], &frames[f - 1]),
            Err(FsedError::ProofMismatch)
        );
    }
}
