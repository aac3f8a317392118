//! The `bytes` feature: `Transmitter::protect_buf` appends to a `BufMut`, and
//! `rx::hold::PacketHold` keeps unverified packets as `Bytes` handles, releasing them (without
//! copying, for integrity-only blocks) only when their scope verifies.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

mod common;

use bytes::{Bytes, BytesMut};
use common::*;
use cse_core::csi2::{HeaderForm, Packets, payload_crc};
use cse_core::{CipherSuite, SecurityVariant, TagLen, TagMode};
use cse_fsed::rx::hold::{HoldOutcome, PacketHold, VerifiedPacket};
use cse_fsed::{Event, Receiver, Transmitter};

/// The frames protected with `protect_buf` into one `BytesMut`, frozen, and split into
/// packet handles (slices of the one buffer).
fn wire(tx: &mut Transmitter, frames: &[Vec<Vec<u8>>]) -> (Bytes, Vec<Bytes>) {
    let mut out = BytesMut::new();
    for f in frames {
        for p in f {
            let mut pkt = p.clone();
            let before = out.len();
            let _ = tx.protect_buf(&mut pkt, &mut out).unwrap();
            assert!(out.len() >= before + pkt.len());
        }
    }
    let all = out.freeze();
    let mut handles = Vec::new();
    let mut at = 0;
    for d in Packets::new(&all, HeaderForm::Dphy) {
        let n = d.unwrap().raw.len();
        handles.push(all.slice(at..at + n));
        at += n;
    }
    assert_eq!(at, all.len());
    (all, handles)
}

struct Run {
    released: Vec<VerifiedPacket>,
    held_max: usize,
    events: Vec<Event>,
    errors: usize,
}

fn run(rx: &mut Receiver, hold: &mut PacketHold, packets: &[Bytes]) -> Run {
    let mut r = Run {
        released: Vec::new(),
        held_max: 0,
        events: Vec::new(),
        errors: 0,
    };
    for (t, p) in packets.iter().enumerate() {
        match hold.receive(rx, p, t as u64) {
            Ok(HoldOutcome::Released(v)) => r.released.extend(v),
            Ok(_) => {}
            Err(_) => r.errors += 1,
        }
        r.held_max = r.held_max.max(hold.held());
        r.events.extend(hold.poll_events(rx, t as u64));
    }
    r
}

/// An original packet other than FS/FE (those come back as `Sync`).
fn held_kind(p: &[u8]) -> bool {
    !(p.len() == 4 && p[0] & 0x3F <= 0x01)
}

fn within(outer: &Bytes, inner: &Bytes) -> bool {
    let (o, i) = (outer.as_ptr() as usize, inner.as_ptr() as usize);
    i >= o && i + inner.len() <= o + outer.len()
}

#[test]
fn integrity_only_packets_come_back_as_the_same_handles_once_verified() {
    for mode in [TagMode::PerFrame, TagMode::PerDataType] {
        let config = uniform(
            SecurityVariant::FullIntegrity,
            CipherSuite::Aes256Gmac,
            TagLen::L16,
            mode,
        );
        let (mut tx, mut rx) = pair(config, CipherSuite::Aes256Gmac);
        let frames = [frame(&Shape::SMALL, 1, 3), frame(&Shape::SMALL, 2, 4)];
        let (all, packets) = wire(&mut tx, &frames);
        let mut hold = PacketHold::new();
        let r = run(&mut rx, &mut hold, &packets);
        assert_eq!(r.errors, 0);
        assert!(
            r.held_max > 1,
            "packets were held before their scope verified"
        );
        assert_eq!(hold.held(), 0);
        // Every original packet of the protected blocks, bit-exact, in order, each a slice of
        // the received buffer: no copy.
        let lines: Vec<&Vec<u8>> = frames
            .iter()
            .flat_map(|f| f.iter().filter(|p| held_kind(p)))
            .collect();
        assert_eq!(r.released.len(), lines.len(), "{mode:?}");
        // Each release is in arrival order; scopes verify block by block.
        let mut released = r.released.clone();
        released.sort_by_key(|v| (v.info.frame_counter, v.info.message_index));
        for (v, want) in released.iter().zip(&lines) {
            assert_eq!(&v.bytes[..], &want[..]);
            assert!(within(&all, &v.bytes), "released without copying");
        }
        let clean = r
            .events
            .iter()
            .filter(|e| matches!(e, Event::FrameComplete { clean: true, .. }));
        assert_eq!(clean.count(), 2);
    }
}

#[test]
fn sv1_packets_are_released_decrypted_and_in_place_when_the_handle_is_unique() {
    let config = uniform(
        SecurityVariant::FullIntegrityEncrypted,
        CipherSuite::Aes256Gcm,
        TagLen::L16,
        TagMode::PerFrame,
    );
    let (mut tx, mut rx) = pair(config, CipherSuite::Aes256Gcm);
    let originals = frame(&Shape::SMALL, 1, 9);
    let (_, packets) = wire(&mut tx, std::slice::from_ref(&originals));
    // Each packet in a buffer of its own, our handle dropped after receiving it.
    let mut hold = PacketHold::new();
    let mut released = Vec::new();
    let mut pointers = Vec::new();
    for (t, p) in packets.iter().enumerate() {
        let own = Bytes::from(p.to_vec());
        pointers.push(own.as_ptr() as usize);
        if let HoldOutcome::Released(v) = hold.receive(&mut rx, &own, t as u64).unwrap() {
            released.extend(v);
        }
        drop(own);
        hold.poll_events(&mut rx, t as u64);
    }
    let lines: Vec<&Vec<u8>> = originals.iter().filter(|p| held_kind(p)).collect();
    assert_eq!(released.len(), lines.len());
    released.sort_by_key(|v| (v.info.frame_counter, v.info.message_index));
    for (v, want) in released.iter().zip(&lines) {
        assert_eq!(&v.bytes[..], &want[..], "decrypted to the original");
        assert!(
            pointers.contains(&(v.bytes.as_ptr() as usize)),
            "decrypted in place"
        );
    }
}

#[test]
fn nothing_is_released_when_the_tag_fails_and_the_held_packets_are_dropped() {
    for (sv, suite) in [
        (SecurityVariant::FullIntegrity, CipherSuite::Aes128Gmac),
        (
            SecurityVariant::FullIntegrityEncrypted,
            CipherSuite::Aes128Gcm,
        ),
    ] {
        let config = uniform(sv, suite, TagLen::L16, TagMode::PerFrame);
        let (mut tx, mut rx) = pair(config, suite);
        let frames = [frame(&Shape::SMALL, 1, 5), frame(&Shape::SMALL, 2, 6)];
        let (_, mut packets) = wire(&mut tx, &frames);
        // Flip a payload bit of a pixel line of frame 1, CRC-16 recomputed (a forger's edit).
        let victim = packets
            .iter()
            .position(|p| {
                p.len() > 40 && p[0] & 0x3F == 0x2B || p.len() > 40 && p[0] & 0x3F != 0x3A
            })
            .unwrap();
        let mut bad = packets[victim].to_vec();
        let n = bad.len();
        bad[n / 2] ^= 0x04;
        let crc = payload_crc(&bad[4..n - 2]);
        bad[n - 2..].copy_from_slice(&crc.to_le_bytes());
        packets[victim] = Bytes::from(bad.clone());
        let frame1_end = packets
            .iter()
            .position(|p| p.len() == 4 && p[0] & 0x3F == 0x01)
            .unwrap();
        let mut hold = PacketHold::new();
        let r = run(&mut rx, &mut hold, &packets[..=frame1_end]);
        assert!(r.held_max > 0);
        let failed: Vec<_> = r
            .events
            .iter()
            .filter_map(|e| match e {
                Event::ScopeFailed(f) => Some(f.scope),
                _ => None,
            })
            .collect();
        assert!(!failed.is_empty(), "{sv:?}: {:?}", r.events);
        // Nothing of the failed scope came out, least of all the forged packet; what did come
        // out (the other blocks' scopes, which verified) is genuine.
        assert!(
            r.released.iter().all(|v| !failed.contains(&v.scope)),
            "{sv:?}: released a packet of a scope whose tag failed"
        );
        assert!(r.released.iter().all(|v| v.bytes[..] != bad[..]));
        let protected_lines = frames[0].iter().filter(|p| held_kind(p)).count();
        assert!(r.released.len() < protected_lines, "{sv:?}");
        for v in &r.released {
            assert!(frames[0].iter().any(|o| o[..] == v.bytes[..]), "{sv:?}");
        }
        assert_eq!(
            hold.held(),
            0,
            "{sv:?}: the failed scope's packets were dropped"
        );
        // The next frame is untouched and comes through whole.
        let r2 = run(&mut rx, &mut hold, &packets[frame1_end + 1..]);
        let lines = frames[1].iter().filter(|p| held_kind(p)).count();
        assert_eq!(r2.released.len(), lines, "{sv:?}");
        assert!(
            r2.released
                .iter()
                .all(|v| v.info.frame_counter != r2.released[0].info.frame_counter - 1)
        );
    }
}

#[test]
fn protect_buf_refuses_a_full_buffer_before_protecting() {
    let config = uniform(
        SecurityVariant::FullIntegrity,
        CipherSuite::Aes256Gmac,
        TagLen::L16,
        TagMode::PerFrame,
    );
    let (mut tx, _) = pair(config, CipherSuite::Aes256Gmac);
    let originals = frame(&Shape::SMALL, 1, 1);
    let mut small = [0u8; 8];
    let mut out = &mut small[..];
    let mut fs = originals[0].clone();
    let next = tx.next_frame_counter();
    assert!(tx.protect_buf(&mut fs, &mut out).is_err());
    // Nothing was protected: the transmitter is still before the frame, the packet unchanged.
    assert_eq!(tx.next_frame_counter(), next);
    assert!(!tx.in_frame());
    assert_eq!(fs, originals[0]);
    // The same packet into a Vec works.
    let mut v: Vec<u8> = Vec::new();
    let _ = tx.protect_buf(&mut fs, &mut v).unwrap();
    assert!(v.len() > originals[0].len());
}
