//! Golden vectors: `tests/vectors/*.json` (format `cse-vectors/3`, `docs/vectors.md`) pin the
//! FSED wire format byte for byte. For each file the transmitter must reproduce the recorded
//! stream from the recorded input packets, configuration and keys, and the receiver must give
//! back the inputs.
//!
//! The files are members of the set `cse vectors` generates (`cse_link::vectors`);
//! `cse-link/tests/vectors.rs` checks that they are byte-identical to it. Regenerate them (only
//! when the format changes on purpose) with
//! `CSE_REGEN_CRATE_VECTORS=1 cargo test -p cse-link --test vectors`.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use common::{is_fsed, protect_all, receive_all};
use cse_core::csi2::VirtualChannel;
use cse_core::keys::{Salt, SecretKey};
use cse_core::testing::{Json, frame_config_from_json, load_vectors};
use cse_core::{CipherSuite, Policy, Profile, TagLen};
use cse_fsed::{KeyMaterial, Receiver, Settings, Transmitter, wire};

fn material(suite: CipherSuite, key: &[u8], mac: Option<&[u8]>, salt: &[u8]) -> KeyMaterial {
    KeyMaterial::new(
        SecretKey::from_slice(suite.key_size(), key).unwrap(),
        mac.map(|m| SecretKey::from_slice(suite.key_size(), m).unwrap()),
        Salt::from_slice(salt).unwrap(),
    )
    .with_min_tag_len(TagLen::L8)
}

/// The tags of the tag records in `stream`, in order.
fn tags(stream: &[Vec<u8>]) -> Vec<Vec<u8>> {
    stream
        .iter()
        .filter(|p| is_fsed(p))
        .filter_map(|o| {
            let p = wire::Packet::new_checked(&o[4..o.len() - 2]).unwrap();
            (p.kind() == wire::Kind::TagRecord).then(|| p.tag().to_vec())
        })
        .collect()
}

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors")
}

fn load_all() -> BTreeMap<String, Json> {
    load_vectors(&dir())
}

fn check(name: &str, v: &Json) {
    assert_eq!(v.get("format").str(), "cse-vectors/3");
    assert_eq!(v.get("protocol").str(), "FSED");
    assert_eq!(v.get("profile").str(), Profile::DRAFT_1.name);
    assert_eq!(v.get("header_form").str(), "D-PHY");
    let config = frame_config_from_json(v);
    let suite = config.image.suite;
    let key = v.get("key").bytes();
    let mac = v.get("mac_key").opt_bytes();
    let salt = v.get("salt").bytes();
    let vc = VirtualChannel::new(v.get("virtual_channel").num() as u8).unwrap();
    let inputs = v.get("input_packets").byte_list();
    let recorded = v.get("output_packets").byte_list();

    let mut tx = Transmitter::new(Settings::new(vc), v.get("first_frame_counter").num() as u32);
    tx.install_key(config.key_id, material(suite, &key, mac.as_deref(), &salt))
        .unwrap();
    tx.set_config(config).unwrap();
    let stream = protect_all(&mut tx, &inputs);
    assert!(
        stream == recorded,
        "{name}: transmitter output differs from the vector"
    );
    assert_eq!(tags(&stream), v.get("tags").byte_list(), "{name}: tags");

    let mut rx = Receiver::new(Settings::new(vc), Policy::PERMISSIVE, 100);
    rx.install_key(config.key_id, material(suite, &key, mac.as_deref(), &salt))
        .unwrap();
    let out = receive_all(&mut rx, &recorded);
    assert!(out.errors.is_empty(), "{name}: {:?}", out.errors);
    assert!(out.pending.is_empty(), "{name}: packets never verified");
    assert_eq!(out.accepted(), inputs, "{name}: receiver output differs");
    assert_eq!(out.clean_frames(), 1, "{name}");
}

#[test]
fn golden_vectors_reproduce_and_verify() {
    let all = load_all();
    assert!(all.len() >= 7, "the FSED golden vectors are missing");
    for (name, v) in &all {
        check(name, v);
    }
}

/// A vector with one tag byte changed must fail the check (the test can fail).
#[test]
#[should_panic(expected = "transmitter output differs")]
fn a_changed_tag_byte_is_caught() {
    let all = load_all();
    let mut v = all["sv2-per-frame-aes256gmac-t16"].clone();
    let Json::Obj(members) = &mut v else {
        unreachable!()
    };
    let outs = &mut members
        .iter_mut()
        .find(|(k, _)| k == "output_packets")
        .unwrap()
        .1;
    let Json::Arr(a) = outs else { unreachable!() };
    let k = a.iter().rposition(|p| is_fsed(&p.bytes())).unwrap();
    let mut b = a[k].bytes();
    let n = b.len();
    b[n - 8] ^= 1;
    a[k] = Json::Str(b.iter().map(|x| format!("{x:02x}")).collect());
    check("tampered", &v);
}
