//! Outsider round 4: a copy of any packet of a protected capture, replayed or with one payload
//! bit flipped (CRC-16 recomputed), inserted right behind the genuine packet: `analyse` (what
//! `cse verify` runs) must handle everything else exactly as in the unattacked twin.
//!
//! - SEP, per-message tags: every packet has its own tag, so the copy is refused alone; every
//!   genuine row verifies and the released originals equal the twin's, bit-exact.
//! - FSED, per-frame tags: an injected original joins the frame's scope and costs that frame
//!   (docs/security.md, "Known limits of FSED"), never more: every other frame is released
//!   whole, bit-exact, and the attacked frame either whole or not at all.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use cse_core::csi2::VirtualChannel;
use cse_core::{
    BlockConfig, CipherSuite, FrameConfig, KeyId, Policy, SecurityVariant, SvLevel, TagLen, TagMode,
};
use cse_link::Protocol;
use cse_link::capture::{
    self, KeyFile, ProtectOptions, RawFormat, RawInput, analyse, protect_with_nonce, raw_to_capture,
};

const KEYS: &str = "key = 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\nsalt = a0a1a2a3a4a5a6a7a8a9aaab\n";
const FRAMES: usize = 3;
const LINES: usize = 4;

fn crc16(data: &[u8]) -> u16 {
    let mut crc: u16 = 0xFFFF;
    for &b in data {
        crc ^= u16::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0x8408
            } else {
                crc >> 1
            };
        }
    }
    crc
}

fn plain() -> Vec<u8> {
    let raw: Vec<u8> = (0..FRAMES * LINES * 12)
        .map(|i| (i * 29 + 5) as u8)
        .collect();
    let input = RawInput {
        format: RawFormat::Raw12,
        width: 8,
        height: LINES,
    };
    raw_to_capture(&raw, &input, VirtualChannel::new(0).unwrap(), 1).unwrap()
}

fn policy() -> Policy {
    let m = SvLevel::try_from(2).unwrap();
    Policy {
        min_top: m,
        min_image: m,
        min_bottom: m,
    }
}

fn protected(protocol: Protocol, mode: TagMode) -> Vec<u8> {
    let block = BlockConfig {
        sv: SecurityVariant::FullIntegrityEncrypted,
        suite: CipherSuite::Aes256Gcm,
        tag_len: TagLen::L16,
        tag_mode: mode,
    };
    let opts = ProtectOptions {
        protocol,
        config: FrameConfig::uniform(block, KeyId::default()),
        vc: None,
        first_frame: 1,
    };
    protect_with_nonce(&plain(), &KeyFile::parse(KEYS).unwrap(), &opts, &[0x42; 16]).unwrap()
}

/// The packets of a capture, as byte vectors.
fn split(cap: &[u8]) -> Vec<Vec<u8>> {
    capture::scan(cap)
        .iter()
        .map(|p| p.bytes(cap).to_vec())
        .collect()
}

/// The copy: replayed as it is, or with one payload bit flipped and the CRC-16 fixed (short
/// packets, which have no payload, are only replayed).
fn attacked_copy(p: &[u8], flip: bool) -> Vec<u8> {
    let mut c = p.to_vec();
    if flip && c.len() > 6 {
        let n = c.len();
        c[4 + (n - 6) / 2] ^= 0x08;
        let crc = crc16(&c[4..n - 2]);
        c[n - 2..].copy_from_slice(&crc.to_le_bytes());
    }
    c
}

/// The plain capture's frames (FS..FE), as byte vectors.
fn plain_frames() -> Vec<Vec<u8>> {
    let pk = split(&plain());
    pk.chunks(LINES + 2).map(|f| f.concat()).collect()
}

#[test]
fn an_sep_copy_anywhere_is_refused_alone_and_the_rest_is_the_twin() {
    let cap = protected(Protocol::Sep, TagMode::PerMessage);
    let keys = KeyFile::parse(KEYS).unwrap();
    let twin = analyse(&cap, Some(&keys), None, policy()).unwrap();
    assert!(twin.passed());
    assert_eq!(twin.recovered, plain());
    let pk = split(&cap);
    for i in 1..pk.len() {
        for flip in [false, true] {
            let mut att = pk.clone();
            att.insert(i + 1, attacked_copy(&pk[i], flip));
            let a = analyse(&att.concat(), Some(&keys), None, policy()).unwrap();
            assert!(
                !a.passed(),
                "packet {i} flip {flip}: the copy must not pass"
            );
            assert_eq!(
                a.recovered, twin.recovered,
                "packet {i} flip {flip}: released bytes"
            );
            for (r, row) in a.rows.iter().enumerate() {
                if r != i + 1 {
                    assert!(
                        row.verdict.is_ok(),
                        "packet {i} flip {flip}: genuine row {r} is {:?}",
                        row.verdict
                    );
                } else {
                    assert!(
                        !row.verdict.is_ok(),
                        "packet {i} flip {flip}: the copy verified"
                    );
                }
            }
            assert_eq!((a.frames, a.frames_clean), (twin.frames, twin.frames_clean));
        }
    }
}

#[test]
fn an_fsed_copy_anywhere_costs_at_most_its_frame() {
    let cap = protected(Protocol::Fsed, TagMode::PerFrame);
    let keys = KeyFile::parse(KEYS).unwrap();
    let twin = analyse(&cap, Some(&keys), None, policy()).unwrap();
    assert!(twin.passed());
    assert_eq!(twin.recovered, plain());
    let frames = plain_frames();
    let pk = split(&cap);
    let per_frame = (pk.len() - 1) / FRAMES;
    for i in 1..pk.len() {
        let hit = (i - 1) / per_frame;
        for flip in [false, true] {
            let mut att = pk.clone();
            att.insert(i + 1, attacked_copy(&pk[i], flip));
            let a = analyse(&att.concat(), Some(&keys), None, policy()).unwrap();
            assert!(
                !a.passed(),
                "packet {i} flip {flip}: the copy must not pass"
            );
            let with: Vec<u8> = frames.concat();
            let without: Vec<u8> = frames
                .iter()
                .enumerate()
                .filter(|(f, _)| *f != hit)
                .flat_map(|(_, b)| b.clone())
                .collect();
            assert!(
                a.recovered == with || a.recovered == without,
                "packet {i} flip {flip}: released {} bytes, expected every frame, or every \
                 frame but frame {} ({} or {} bytes)",
                a.recovered.len(),
                hit + 1,
                with.len(),
                without.len()
            );
        }
    }
}

/// A capture with a version 1 header (nonce only), as earlier versions of `protect` wrote it,
/// still verifies: its keys are `KeyFile::for_capture(nonce)`, without a frame range. It
/// cannot show frames cut off at its ends (docs/capture.md section 1), but it still refuses a
/// frame lost in between, and the same frames under a version 2 header with that nonce derive
/// other keys.
#[test]
fn a_version_1_capture_still_verifies_and_cannot_be_upgraded() {
    let nonce = [0x24u8; 16];
    let file = KeyFile::parse(KEYS).unwrap();
    let derived = file.for_capture(&nonce).unwrap();
    let block = BlockConfig {
        sv: SecurityVariant::FullIntegrityEncrypted,
        suite: CipherSuite::Aes256Gcm,
        tag_len: TagLen::L16,
        tag_mode: TagMode::PerMessage,
    };
    let vc = VirtualChannel::new(0).unwrap();
    let mut tx = cse_sep::Transmitter::new(cse_sep::Settings::new(vc), 1);
    tx.install_key(
        KeyId::default(),
        derived.material(TagLen::L16, false).unwrap(),
    )
    .unwrap();
    tx.set_config(FrameConfig::uniform(block, KeyId::default()))
        .unwrap();
    let mut body = Vec::new();
    for p in split(&plain()) {
        let mut out = vec![0u8; p.len() + 256];
        let r = tx.protect(&p, &mut out).unwrap();
        body.push(out[..r.len].to_vec());
    }
    let header = |magic: &[u8], extra: &[u8]| {
        let mut payload = magic.to_vec();
        payload.extend_from_slice(&nonce);
        payload.extend_from_slice(extra);
        let mut buf = vec![0u8; payload.len() + 6];
        let mut em = cse_core::csi2::Emitter::new(&mut buf, cse_core::csi2::HeaderForm::Dphy);
        em.long(vc, capture::HEADER_DT, &payload).unwrap();
        em.written().to_vec()
    };
    let v1 = header(capture::HEADER_MAGIC_V1, &[]);
    let cap = [vec![v1.clone()], body.clone()].concat().concat();
    let a = analyse(&cap, Some(&file), None, policy()).unwrap();
    assert!(a.passed(), "{:?}", a.findings);
    assert_eq!(a.recovered, plain());
    // A frame lost in between is still a finding.
    let per = LINES + 2;
    let cut = [vec![v1], body[..per].to_vec(), body[2 * per..].to_vec()]
        .concat()
        .concat();
    assert!(!analyse(&cut, Some(&file), None, policy()).unwrap().passed());
    // The same frames under a version 2 header naming their range: other keys, nothing.
    let mut range = 1u32.to_le_bytes().to_vec();
    range.extend_from_slice(&(FRAMES as u32).to_le_bytes());
    let v2 = header(capture::HEADER_MAGIC, &range);
    let up = [vec![v2], body].concat().concat();
    let a = analyse(&up, Some(&file), None, policy()).unwrap();
    assert!(!a.passed());
    assert!(a.recovered.is_empty());
}
