//! Outsider round 4: whole frames taken out of a protected capture, captures spliced together,
//! and the per-capture nonce of `cse protect` (docs/capture.md sections 1, 3 and 5).
//!
//! Each attacked capture is compared with its unattacked twin: the twin verifies (exit 0) and
//! `verify --out` gives back the plain input bit for bit; the attacked one must not exit 0.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::path::PathBuf;
use std::process::Command;

const KEYS: &str = "key = 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\nsalt = a0a1a2a3a4a5a6a7a8a9aaab\n";

fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("cse-outsider4-frames-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn cse(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_cse"))
        .args(args)
        .output()
        .expect("run cse");
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    (out.status.code().unwrap_or(-1), text)
}

/// Splits a raw capture into its packets (docs/capture.md section 1).
fn packets(b: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let dt = b[i] & 0x3f;
        let wc = usize::from(b[i + 1]) | usize::from(b[i + 2]) << 8;
        let n = if dt < 0x10 { 4 } else { 4 + wc + 2 };
        out.push(b[i..i + n].to_vec());
        i += n;
    }
    out
}

struct Setup {
    keys: PathBuf,
    plain: Vec<u8>,
    prot: Vec<Vec<u8>>,
    per_frame: usize,
}

/// Three 16x6 RAW12 frames, protected; the plain capture they came from.
fn setup(proto: &str, tag: &str) -> Setup {
    let keys = tmp(&format!("keys-{proto}-{tag}.txt"));
    std::fs::write(&keys, KEYS).unwrap();
    let raw = tmp(&format!("img-{proto}-{tag}.raw"));
    std::fs::write(
        &raw,
        (0..3 * 6 * 24)
            .map(|i| (i * 13 + 1) as u8)
            .collect::<Vec<u8>>(),
    )
    .unwrap();
    let out = tmp(&format!("a-{proto}-{tag}.bin"));
    let (code, text) = cse(&[
        "protect",
        "--in",
        raw.to_str().unwrap(),
        "--raw12",
        "--width",
        "16",
        "--height",
        "6",
        "--out",
        out.to_str().unwrap(),
        "--keys",
        keys.to_str().unwrap(),
        "--protocol",
        proto,
        "--force",
    ]);
    assert_eq!(code, 0, "{text}");
    let prot = packets(&std::fs::read(&out).unwrap());
    // the twin: verify --out gives the plain capture back
    let plain_path = tmp(&format!("plain-{proto}-{tag}.bin"));
    let _ = std::fs::remove_file(&plain_path);
    let (code, text) = cse(&[
        "verify",
        "--in",
        out.to_str().unwrap(),
        "--keys",
        keys.to_str().unwrap(),
        "--out",
        plain_path.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "the unattacked twin verifies: {text}");
    let plain = std::fs::read(&plain_path).unwrap();
    assert_eq!(packets(&plain).len(), 3 * 8);
    let per_frame = (prot.len() - 1) / 3;
    assert_eq!(prot.len(), 1 + 3 * per_frame);
    Setup {
        keys,
        plain,
        prot,
        per_frame,
    }
}

/// Verifies `pk` concatenated, with `--out`: (exit status, report, bytes written).
fn verify(s: &Setup, name: &str, pk: &[Vec<u8>]) -> (i32, String, Vec<u8>) {
    let p = tmp(name);
    std::fs::write(&p, pk.concat()).unwrap();
    let o = tmp(&format!("{name}.plain"));
    let _ = std::fs::remove_file(&o);
    let (code, text) = cse(&[
        "verify",
        "--in",
        p.to_str().unwrap(),
        "--keys",
        s.keys.to_str().unwrap(),
        "--out",
        o.to_str().unwrap(),
    ]);
    (code, text, std::fs::read(&o).unwrap_or_default())
}

#[test]
fn a_frame_dropped_between_two_others_fails_and_releases_only_the_two() {
    for proto in ["sep", "fsed"] {
        let s = setup(proto, "mid");
        let n = s.per_frame;
        let attacked: Vec<Vec<u8>> = [&s.prot[..1 + n], &s.prot[1 + 2 * n..]].concat();
        let (code, text, out) = verify(&s, &format!("mid-{proto}"), &attacked);
        assert_eq!(code, 1, "{proto}: {text}");
        assert!(text.contains("frame(s) lost"), "{text}");
        let pl = packets(&s.plain);
        assert_eq!(
            out,
            [&pl[..8], &pl[16..]].concat().concat(),
            "{proto}: frames 1 and 3, bit-exact"
        );
    }
}

#[test]
fn a_second_capture_spliced_behind_the_first_never_passes() {
    for proto in ["sep", "fsed"] {
        let a = setup(proto, "splice-a");
        let b = setup(proto, "splice-b");
        // Same key file, two runs: two nonces (docs/capture.md section 3).
        assert_ne!(
            a.prot[0], b.prot[0],
            "{proto}: two runs drew the same capture nonce"
        );
        let spliced: Vec<Vec<u8>> = [&a.prot[..], &b.prot[..]].concat();
        let (code, text, out) = verify(&a, &format!("splice-{proto}"), &spliced);
        assert_eq!(code, 1, "{proto}: {text}");
        assert_eq!(
            out, a.plain,
            "{proto}: only the first capture's originals come out"
        );
    }
}

#[test]
fn two_runs_with_one_key_file_never_share_keystream() {
    // Identical inputs: under the same key and IVs the SV-1 ciphertexts would be identical.
    let a = setup("sep", "nonce-a");
    let b = setup("sep", "nonce-b");
    assert_eq!(a.prot.len(), b.prot.len());
    assert_ne!(
        a.prot[0][20..36],
        b.prot[0][20..36],
        "capture nonces differ"
    );
    for (pa, pb) in a.prot.iter().zip(&b.prot).skip(1) {
        assert_eq!(pa.len(), pb.len());
        // every protected packet differs (other keys, other ciphertext, other tag)
        assert_ne!(pa, pb);
    }
}

/// The first frame, or the last, cut off a genuine capture: a packet the sensor sent is
/// missing, and `verify` must not say "every packet verified" (exit 0 only when everything
/// verified; never 0 for a capture with a missing packet).
#[test]
fn leading_or_trailing_frames_cut_off_do_not_pass() {
    for proto in ["sep", "fsed"] {
        let s = setup(proto, "cut");
        let n = s.per_frame;
        let head_cut: Vec<Vec<u8>> = [&s.prot[..1], &s.prot[1 + n..]].concat();
        let (code, text, _) = verify(&s, &format!("head-{proto}"), &head_cut);
        assert_ne!(code, 0, "{proto}: first frame dropped, yet PASS:\n{text}");
        let tail_cut: Vec<Vec<u8>> = s.prot[..1 + 2 * n].to_vec();
        let (code, text, _) = verify(&s, &format!("tail-{proto}"), &tail_cut);
        assert_ne!(code, 0, "{proto}: last frame dropped, yet PASS:\n{text}");
    }
}

/// What the documented behaviour is today: the frames that remain verify and come out
/// bit-exact, and the report names the frame counters it saw, so that the loss is visible to
/// whoever knows the range.
#[test]
fn frames_cut_at_the_ends_release_only_what_remains_bit_exact() {
    for proto in ["sep", "fsed"] {
        let s = setup(proto, "cut2");
        let n = s.per_frame;
        let pl = packets(&s.plain);
        let head_cut: Vec<Vec<u8>> = [&s.prot[..1], &s.prot[1 + n..]].concat();
        let (_, _, out) = verify(&s, &format!("head2-{proto}"), &head_cut);
        assert_eq!(out, pl[8..].concat(), "{proto}");
        let tail_cut: Vec<Vec<u8>> = s.prot[..1 + 2 * n].to_vec();
        let (_, _, out) = verify(&s, &format!("tail2-{proto}"), &tail_cut);
        assert_eq!(out, pl[..16].concat(), "{proto}");
    }
}

/// CRC-16/MCRF4XX (the CSI-2 packet footer).
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

/// A capture header rebuilt with another payload (header bytes and CRC-16 made consistent).
fn header_with(payload: &[u8]) -> Vec<u8> {
    let mut h = Vec::new();
    let mut buf = vec![0u8; 4 + payload.len() + 2];
    let mut em = cse_core::csi2::Emitter::new(&mut buf, cse_core::csi2::HeaderForm::Dphy);
    em.long(
        cse_core::csi2::VirtualChannel::new(0).unwrap(),
        cse_link::capture::HEADER_DT,
        payload,
    )
    .unwrap();
    h.extend_from_slice(em.written());
    let n = h.len();
    let crc = crc16(&h[4..n - 2]);
    h[n - 2..].copy_from_slice(&crc.to_le_bytes());
    h
}

#[test]
fn the_recorded_frame_range_cannot_be_rewritten_or_dropped() {
    for proto in ["sep", "fsed"] {
        let s = setup(proto, "range");
        let n = s.per_frame;
        let hdr = &s.prot[0];
        assert_eq!(&hdr[4..20], cse_link::capture::HEADER_MAGIC);
        let payload = hdr[4..hdr.len() - 2].to_vec();
        assert_eq!(payload.len(), 40);
        assert_eq!(payload[32..36], 1u32.to_le_bytes(), "first frame 1");
        assert_eq!(payload[36..40], 3u32.to_le_bytes(), "three frames");
        // The last frame cut and the count lowered to match: other keys, nothing verifies.
        let mut p2 = payload.clone();
        p2[36..40].copy_from_slice(&2u32.to_le_bytes());
        let forged: Vec<Vec<u8>> = [vec![header_with(&p2)], s.prot[1..1 + 2 * n].to_vec()].concat();
        let (code, text, out) = verify(&s, &format!("count-{proto}"), &forged);
        assert_eq!(code, 1, "{proto}: {text}");
        assert!(
            out.is_empty(),
            "{proto}: nothing released under a rewritten range"
        );
        // The first frame cut and the first counter moved to match.
        let mut p3 = payload.clone();
        p3[32..36].copy_from_slice(&2u32.to_le_bytes());
        p3[36..40].copy_from_slice(&2u32.to_le_bytes());
        let forged: Vec<Vec<u8>> = [vec![header_with(&p3)], s.prot[1 + n..].to_vec()].concat();
        let (code, text, out) = verify(&s, &format!("first-{proto}"), &forged);
        assert_eq!(code, 1, "{proto}: {text}");
        assert!(out.is_empty(), "{proto}");
        // The range dropped: a version 1 header with the same nonce derives other keys.
        let mut v1 = b"cse-rs capture 1".to_vec();
        v1.extend_from_slice(&payload[16..32]);
        let forged: Vec<Vec<u8>> = [vec![header_with(&v1)], s.prot[1..1 + 2 * n].to_vec()].concat();
        let (code, text, out) = verify(&s, &format!("v1-{proto}"), &forged);
        assert_eq!(code, 1, "{proto}: {text}");
        assert!(out.is_empty(), "{proto}");
    }
}

#[test]
fn a_capture_from_another_first_frame_is_checked_against_its_own_range() {
    let keys = tmp("keys-ff.txt");
    std::fs::write(&keys, KEYS).unwrap();
    let raw = tmp("img-ff.raw");
    std::fs::write(
        &raw,
        (0..2 * 6 * 24).map(|i| (i * 3) as u8).collect::<Vec<u8>>(),
    )
    .unwrap();
    let out = tmp("ff.sep");
    let (code, text) = cse(&[
        "protect",
        "--in",
        raw.to_str().unwrap(),
        "--raw12",
        "--width",
        "16",
        "--height",
        "6",
        "--out",
        out.to_str().unwrap(),
        "--keys",
        keys.to_str().unwrap(),
        "--first-frame",
        "1000",
        "--force",
    ]);
    assert_eq!(code, 0, "{text}");
    let (code, text) = cse(&[
        "verify",
        "--in",
        out.to_str().unwrap(),
        "--keys",
        keys.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{text}");
    let prot = packets(&std::fs::read(&out).unwrap());
    let cut = tmp("ff-cut.sep");
    std::fs::write(&cut, [&prot[..1], &prot[9..]].concat().concat()).unwrap();
    let (code, text) = cse(&[
        "verify",
        "--in",
        cut.to_str().unwrap(),
        "--keys",
        keys.to_str().unwrap(),
    ]);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("frames missing at the start"), "{text}");
}
