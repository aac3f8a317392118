//! Pins the FSED worked examples of `docs/wire-format.md`: the stream between the markers
//! `<!-- fsed-example-N -->` and `<!-- /fsed-example-N -->` (one packet per line, hex) must be
//! what the transmitter produces for the stated inputs, and the receiver must accept it.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use cse_core::csi2::{DataType, Emitter, HeaderForm, VirtualChannel};
use cse_core::keys::{Salt, SecretKey};
use cse_core::{
    BlockConfig, CipherSuite, FrameConfig, KeyId, Policy, SecurityVariant, TagLen, TagMode,
};
use cse_fsed::{KeyMaterial, Receiver, Settings, Transmitter};

fn hex(b: &[u8]) -> String {
    b.iter()
        .map(|x| format!("{x:02x}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// An original packet of an example frame (VC 0, frame number 1).
enum Pkt {
    Fs,
    Long(DataType, Vec<u8>),
    Fe,
}

/// `00 01 02 ..`, `n` bytes.
fn counting(n: u8) -> Vec<u8> {
    (0..n).collect()
}

fn example(cfg: FrameConfig, frame: &[Pkt]) -> (Vec<Vec<u8>>, Vec<Vec<u8>>, Receiver) {
    let vc = VirtualChannel::new(0).unwrap();
    let suite = cfg.image.suite;
    let key = || {
        let mac = suite.needs_mac_key().then(|| SecretKey::aes128([0x33; 16]));
        KeyMaterial::new(SecretKey::aes128([0x11; 16]), mac, Salt::new([0x22; 12]))
            .with_min_tag_len(TagLen::L8)
    };
    let mut tx = Transmitter::new(Settings::new(vc), 1);
    tx.install_key(KeyId::default(), key()).unwrap();
    tx.set_config(cfg).unwrap();
    let mut rx = Receiver::new(Settings::new(vc), Policy::PERMISSIVE, 100);
    rx.install_key(KeyId::default(), key()).unwrap();
    let mut originals = Vec::new();
    for p in frame {
        let mut b = [0u8; 64];
        let mut e = Emitter::new(&mut b, HeaderForm::Dphy);
        match p {
            Pkt::Fs => e.frame_start(vc, 1).map(drop),
            Pkt::Long(dt, body) => e.long(vc, *dt, body).map(drop),
            Pkt::Fe => e.frame_end(vc, 1).map(drop),
        }
        .unwrap();
        let n = e.len();
        originals.push(b[..n].to_vec());
    }
    let stream = protect_all(&mut tx, &originals);
    (originals, stream, rx)
}

fn uniform(sv: SecurityVariant, suite: CipherSuite, mode: TagMode) -> FrameConfig {
    FrameConfig::uniform(
        BlockConfig {
            sv,
            suite,
            tag_len: TagLen::L8,
            tag_mode: mode,
        },
        KeyId::default(),
    )
}

/// FS, one RAW12 line `00 01 .. 07`, FE (examples 1 and 2).
fn one_line() -> Vec<Pkt> {
    vec![Pkt::Fs, Pkt::Long(DataType::RAW12, counting(8)), Pkt::Fe]
}

fn documented(n: u32) -> Vec<String> {
    let doc = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../docs/wire-format.md"
    ))
    .unwrap();
    let start = format!("<!-- fsed-example-{n} -->");
    let end = format!("<!-- /fsed-example-{n} -->");
    let body = doc
        .split(&start)
        .nth(1)
        .unwrap()
        .split(&end)
        .next()
        .unwrap();
    body.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("```"))
        .map(|l| l.split("  #").next().unwrap().trim().to_string())
        .collect()
}

fn check(n: u32, cfg: FrameConfig, frame: &[Pkt]) -> Vec<Vec<u8>> {
    let (originals, stream, mut rx) = example(cfg, frame);
    let got: Vec<String> = stream.iter().map(|p| hex(p)).collect();
    if std::env::var_os("FSED_PRINT_EXAMPLES").is_some() {
        for g in &got {
            println!("{g}");
        }
    }
    assert_eq!(
        got,
        documented(n),
        "example {n} in docs/wire-format.md is stale"
    );
    let out = receive_all(&mut rx, &stream);
    assert!(out.errors.is_empty());
    assert_eq!(out.accepted(), originals);
    stream
}

#[test]
fn example_1_sv2_cmac128_per_frame_matches_the_document() {
    let cfg = uniform(
        SecurityVariant::FullIntegrity,
        CipherSuite::Aes128Cmac,
        TagMode::PerFrame,
    );
    check(1, cfg, &one_line());
}

#[test]
fn example_2_sv1_ctr_cmac128_per_data_type_matches_the_document() {
    let cfg = uniform(
        SecurityVariant::FullIntegrityEncrypted,
        CipherSuite::Aes128CtrCmac,
        TagMode::PerDataType,
    );
    check(2, cfg, &one_line());
}

/// Reads the little-endian u32 at `at` of a packet's payload (after the 4-byte header).
fn field(pkt: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(pkt[4 + at..8 + at].try_into().unwrap())
}

#[test]
fn example_3_seal_record_matches_the_document() {
    // Only the top block is protected; its scope ends before the RAW12 line, so no scope is
    // open at FE and the seal record closes the frame.
    let top = BlockConfig {
        sv: SecurityVariant::FullIntegrity,
        suite: CipherSuite::Aes128Cmac,
        tag_len: TagLen::L8,
        tag_mode: TagMode::PerFrame,
    };
    let none = BlockConfig {
        tag_mode: TagMode::PerFrame,
        ..BlockConfig::no_security()
    };
    let cfg = FrameConfig {
        top,
        image: none,
        bottom: none,
        key_id: KeyId::default(),
    };
    let frame = [
        Pkt::Fs,
        Pkt::Long(DataType::EMBEDDED, counting(4)),
        Pkt::Long(DataType::RAW12, counting(8)),
        Pkt::Fe,
    ];
    let s = check(3, cfg, &frame);
    // FS, frame header, embedded line, top record, RAW12 line, seal record, FE.
    assert_eq!(s.len(), 7);
    let (top_rec, seal) = (&s[3], &s[5]);
    assert!(is_fsed(top_rec) && is_fsed(seal));
    // The top record: per frame, top block, 1 packet of 4 bytes, first index 1, end 2, not last.
    assert_eq!(&top_rec[4 + 8..4 + 12], &[2, 0, 0, 8]);
    assert_eq!((field(top_rec, 12), field(top_rec, 16)), (1, 4));
    assert_eq!((field(top_rec, 20), field(top_rec, 28)), (1, 2));
    assert_eq!(&top_rec[4 + 24..4 + 26], &[0, 0]);
    // The seal record: per frame, bottom block, DT 0, 0 packets, 0 bytes, first = end = 3
    // (the index FE's successor would take), record index 1, L set.
    assert_eq!(&seal[4 + 8..4 + 12], &[2, 2, 0, 8]);
    assert_eq!((field(seal, 12), field(seal, 16)), (0, 0));
    assert_eq!((field(seal, 20), field(seal, 28)), (3, 3));
    assert_eq!(&seal[4 + 24..4 + 26], &[1, 1]);
}

#[test]
fn example_4_sv3_line_index_matches_the_document() {
    // SV-3 stride 2, offset 1, per data type: lines 1, 3, 5 .. of each block are covered,
    // counting the long packets of the block from 0 whatever their data type.
    let cfg = uniform(
        SecurityVariant::LinePartialIntegrity {
            stride: 2,
            offset: 1,
        },
        CipherSuite::Aes128Cmac,
        TagMode::PerDataType,
    );
    let raw10 = DataType(0x2B);
    let frame = [
        Pkt::Fs,
        Pkt::Long(DataType::EMBEDDED, counting(4)), // top idx 0
        Pkt::Long(DataType::EMBEDDED, counting(6)), // top idx 1: covered
        Pkt::Long(DataType::RAW12, counting(8)),    // image idx 0
        Pkt::Long(raw10, counting(10)),             // image idx 1: covered
        Pkt::Long(DataType::RAW12, counting(12)),   // image idx 2
        Pkt::Long(DataType::EMBEDDED, counting(2)), // bottom idx 0
        Pkt::Fe,
    ];
    let s = check(4, cfg, &frame);
    let records: Vec<(u8, u8, u32, u32)> = s
        .iter()
        .filter(|p| is_fsed(p) && p[4 + 1] == 0x02)
        .map(|p| (p[4 + 9], p[4 + 10], field(p, 12), field(p, 16)))
        .collect();
    // (block, data type, covered packets, covered bytes) per record, in order.
    assert_eq!(
        records,
        [
            (0, 0x12, 2, 6),  // top: the 6-byte line (idx 1), not the 4-byte one (idx 0)
            (1, 0x2C, 2, 0),  // image RAW12: idx 0 and 2, neither covered
            (1, 0x2B, 1, 10), // image RAW10: idx 1 (per-block count), covered
            (2, 0x12, 1, 0),  // bottom: idx 0, not covered
        ]
    );
}
