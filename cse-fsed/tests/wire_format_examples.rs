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

fn example(
    sv: SecurityVariant,
    suite: CipherSuite,
    mode: TagMode,
) -> (Vec<Vec<u8>>, Vec<Vec<u8>>, Receiver) {
    let vc = VirtualChannel::new(0).unwrap();
    let key = || {
        let mac = suite.needs_mac_key().then(|| SecretKey::aes128([0x33; 16]));
        KeyMaterial::new(SecretKey::aes128([0x11; 16]), mac, Salt::new([0x22; 12]))
            .with_min_tag_len(TagLen::L8)
    };
    let cfg = FrameConfig::uniform(
        BlockConfig {
            sv,
            suite,
            tag_len: TagLen::L8,
            tag_mode: mode,
        },
        KeyId::default(),
    );
    let mut tx = Transmitter::new(Settings::new(vc), 1);
    tx.install_key(KeyId::default(), key()).unwrap();
    tx.set_config(cfg).unwrap();
    let mut rx = Receiver::new(Settings::new(vc), Policy::PERMISSIVE, 100);
    rx.install_key(KeyId::default(), key()).unwrap();
    let mut originals = Vec::new();
    for f in [
        &|e: &mut Emitter<'_>| e.frame_start(vc, 1).map(drop),
        &|e: &mut Emitter<'_>| {
            e.long(vc, DataType::RAW12, &[0, 1, 2, 3, 4, 5, 6, 7])
                .map(drop)
        },
        &|e: &mut Emitter<'_>| e.frame_end(vc, 1).map(drop),
    ] as [&dyn Fn(&mut Emitter<'_>) -> Result<(), cse_core::csi2::Error>; 3]
    {
        let mut b = [0u8; 32];
        let mut e = Emitter::new(&mut b, HeaderForm::Dphy);
        f(&mut e).unwrap();
        let n = e.len();
        originals.push(b[..n].to_vec());
    }
    let stream = protect_all(&mut tx, &originals);
    (originals, stream, rx)
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

fn check(n: u32, sv: SecurityVariant, suite: CipherSuite, mode: TagMode) {
    let (originals, stream, mut rx) = example(sv, suite, mode);
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
}

#[test]
fn example_1_sv2_cmac128_per_frame_matches_the_document() {
    check(
        1,
        SecurityVariant::FullIntegrity,
        CipherSuite::Aes128Cmac,
        TagMode::PerFrame,
    );
}

#[test]
fn example_2_sv1_ctr_cmac128_per_data_type_matches_the_document() {
    check(
        2,
        SecurityVariant::FullIntegrityEncrypted,
        CipherSuite::Aes128CtrCmac,
        TagMode::PerDataType,
    );
}
