//! The batch paths (`Transmitter::protect_batch`, `Receiver::receive_batch`) against the
//! single ones: same results, bytes, state, statistics and events, on SV-2 CMAC-128 frames of
//! camera-sized lines with good and bad lines mixed in one batch.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use common::*;
use cse_core::csi2::payload_crc;
use cse_core::{
    CipherSuite, FrameConfig, KeyId, Policy, Profile, SecurityError, SecurityVariant, TagLen,
    TagMode,
};
use cse_sep::fuzzing::{receiver_batch_matches_single, transmitter_batch_matches_single};
use cse_sep::{BATCH_LINES, Delivery, Receiver, SepError, Settings, Transmitter, wire};

/// A frame of 20 RAW12 lines of 5760 bytes, no embedded lines.
const LINES: Shape = Shape {
    top_lines: 0,
    pixel_lines: 20,
    bottom_lines: 0,
    line_len: 5760,
    embedded_len: 0,
    ls_le: false,
};

fn cfg() -> FrameConfig {
    uniform(
        SecurityVariant::FullIntegrity,
        CipherSuite::Aes128Cmac,
        TagLen::L16,
        TagMode::PerMessage,
    )
}

fn tx() -> Transmitter {
    pair(cfg(), CipherSuite::Aes128Cmac).0
}

fn rx() -> Receiver {
    let mut rx = Receiver::new(Settings::new(vc()), Policy::PERMISSIVE, 1000);
    rx.install_key(KeyId::default(), material(CipherSuite::Aes128Cmac, 0x42))
        .unwrap();
    rx
}

fn fix_crcs(sep: &mut [u8]) {
    let n = sep.len();
    let payload = &mut sep[4..n - 2];
    let m = payload.len();
    let crc = wire::crc32(&Profile::DRAFT_1, &payload[..m - 4]);
    payload[m - 4..].copy_from_slice(&crc.to_le_bytes());
    let c16 = payload_crc(&sep[4..n - 2]);
    sep[n - 2..].copy_from_slice(&c16.to_le_bytes());
}

/// Two frames: originals and SEP packets.
fn genuine() -> (Vec<Vec<u8>>, Vec<Vec<u8>>) {
    let mut originals = frame(&LINES, 1, 3);
    originals.extend(frame(&LINES, 2, 4));
    let seps = protect_all(&mut tx(), &originals);
    (originals, seps)
}

#[test]
fn protect_batch_writes_what_protect_writes() {
    let (originals, _) = genuine();
    // Batches of 16 (one chunk), 19 (a chunk and 3), 1, and mixed sizes crossing FS/FE.
    for sizes in [&[15u8][..], &[18], &[0], &[6, 2, 17, 0, 11]] {
        transmitter_batch_matches_single(tx(), tx(), &originals, sizes);
    }
    // A whole frame in one call gives the SEP packets of the single path.
    let mut t = tx();
    let mut bufs: Vec<Vec<u8>> = originals.iter().map(|p| vec![0u8; p.len() + 64]).collect();
    let mut outs: Vec<&mut [u8]> = bufs.iter_mut().map(Vec::as_mut_slice).collect();
    let refs: Vec<&[u8]> = originals.iter().map(Vec::as_slice).collect();
    let mut lens = vec![0; refs.len()];
    t.protect_batch(&refs, &mut outs, |i, r| lens[i] = r.unwrap().len)
        .unwrap();
    let (_, seps) = genuine();
    for (i, (b, s)) in bufs.iter().zip(&seps).enumerate() {
        assert_eq!(&b[..lens[i]], &s[..], "packet {i}");
    }
}

#[test]
fn protect_batch_refuses_mismatched_slices_and_keeps_going_after_a_refused_packet() {
    let (originals, _) = genuine();
    let mut t = tx();
    let mut buf = vec![0u8; 8];
    let mut outs: Vec<&mut [u8]> = vec![&mut buf];
    let refs: Vec<&[u8]> = vec![&originals[0], &originals[1]];
    let before = t.next_frame_counter();
    let r = t.protect_batch(&refs, &mut outs, |_, _| panic!("nothing processed"));
    assert!(matches!(r, Err(SepError::Config(_))));
    assert_eq!(t.next_frame_counter(), before);
    assert!(!t.in_frame());
    // A line before FS (refused, nothing written), then FS and lines: the same as the single
    // path.
    let mut pkts = vec![originals[1].clone()];
    pkts.extend(originals[..5].iter().cloned());
    transmitter_batch_matches_single(tx(), tx(), &pkts, &[17]);
}

/// The genuine stream with attacks mixed in; every attack is rejected on its own.
fn attacked(seps: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let mut s: Vec<Vec<u8>> = seps.to_vec();
    // Line 3: one payload bit flipped, CRCs fixed (tag fails).
    fix_flip(&mut s[3], 200);
    // Line 6: a payload bit flipped, CRCs not fixed (FuSa).
    let n = s[6].len();
    s[6][n / 2] ^= 0x10;
    // After line 8: a replay of line 7.
    s.insert(9, seps[7].clone());
    // Line 12 (of the list): a flipped tag byte, CRCs fixed.
    let n = s[12].len();
    fix_flip(&mut s[12], n - 10);
    // Truncated packet.
    s.insert(14, seps[13][..40].to_vec());
    // Second frame: FS tag forged.
    let fs2 = 22 + 2;
    s.insert(fs2, {
        let mut f = s[fs2].clone();
        let n = f.len();
        fix_flip(&mut f, n - 8);
        f
    });
    s
}

fn fix_flip(p: &mut [u8], at: usize) {
    p[at] ^= 1;
    fix_crcs(p);
}

#[test]
fn receive_batch_equals_receive_on_a_mixed_stream() {
    let (_, seps) = genuine();
    let stream = attacked(&seps);
    for sizes in [&[15u8][..], &[18], &[0], &[3], &[6, 2, 17, 0, 11, 9]] {
        receiver_batch_matches_single(rx(), rx(), &stream, sizes);
    }
}

/// One batch of 16 packets with good and bad lines: each bad line is refused with its own
/// error, its output wiped, and the good lines around it verify; the receiver then takes the
/// rest of the stream as the single path does.
#[test]
fn bad_lines_in_a_batch_move_nothing_for_their_line() {
    let (originals, seps) = genuine();
    let mut batch = rx();
    let mut single = rx();
    let mut o = vec![0u8; 64];
    let _ = batch.receive(&seps[0], 0, &mut o).unwrap();
    let _ = single.receive(&seps[0], 0, &mut o).unwrap();
    let mut lines: Vec<Vec<u8>> = seps[1..17].to_vec();
    fix_flip(&mut lines[2], 300); // tag fails
    let n = lines[5].len();
    lines[5][n - 3] ^= 4; // CRC-16 broken
    lines[9] = lines[8].clone(); // replay of the line before
    let mut bufs: Vec<Vec<u8>> = lines.iter().map(|p| vec![0xEEu8; p.len()]).collect();
    let mut got: Vec<Option<Result<Vec<u8>, SepError>>> = vec![None; lines.len()];
    {
        let mut outs: Vec<&mut [u8]> = bufs.iter_mut().map(Vec::as_mut_slice).collect();
        let refs: Vec<&[u8]> = lines.iter().map(Vec::as_slice).collect();
        batch
            .receive_batch(&refs, 1, &mut outs, |i, r| {
                got[i] = Some(r.map(|d| match d {
                    Delivery::Verified(v) => v.packet().to_vec(),
                    other => panic!("line {i}: {other:?}"),
                }));
            })
            .unwrap();
    }
    assert_eq!(lines.len(), BATCH_LINES);
    for (i, g) in got.iter().enumerate() {
        match i {
            2 => assert_eq!(g, &Some(Err(SepError::Security(SecurityError::AuthFailed)))),
            5 => assert!(matches!(g, Some(Err(SepError::Fusa(_)))), "{g:?}"),
            9 => assert!(matches!(
                g,
                Some(Err(SepError::Security(SecurityError::Replay { .. })))
            )),
            _ => assert_eq!(g, &Some(Ok(originals[i + 1].clone())), "line {i}"),
        }
        if matches!(g, Some(Err(_))) {
            assert!(bufs[i].iter().all(|&b| b == 0), "output of line {i} wiped");
        }
    }
    // The single receiver fed the same lines one by one ends in the same state.
    for (i, l) in lines.iter().enumerate() {
        let mut out = vec![0u8; l.len()];
        let r = single.receive(l, 1, &mut out).map(|_| ());
        assert_eq!(r.is_ok(), matches!(got[i], Some(Ok(_))));
    }
    assert_eq!(batch.security_stats(), single.security_stats());
    assert_eq!(batch.fusa_stats(), single.fusa_stats());
    assert_eq!(batch.protocol_stats(), single.protocol_stats());
    assert_eq!(batch.security_stats().auth_failures, 1);
    assert_eq!(batch.protocol_stats().verified, 1 + 13);
    // The genuine lines refused in the batch (2 and 5) are still accepted (nothing moved for
    // them), and the rest of the frame verifies on both.
    for (k, s) in [&seps[3], &seps[6]]
        .into_iter()
        .chain(&seps[17..22])
        .enumerate()
    {
        let mut a = vec![0u8; s.len()];
        let mut b = vec![0u8; s.len()];
        let ra = batch.receive(s, 2, &mut a).map(|_| ());
        let rb = single.receive(s, 2, &mut b).map(|_| ());
        assert_eq!(ra, rb, "packet {k}");
        assert_eq!(a, b);
    }
    assert_eq!(batch.protocol_stats(), single.protocol_stats());
    loop {
        let (a, b) = (batch.poll_event(3), single.poll_event(3));
        assert_eq!(a, b);
        if a.is_none() {
            break;
        }
    }
}
