//! Golden vectors: `tests/vectors/*.json` (format `cse-vectors/3`, `docs/vectors.md`) pin the
//! SEP wire format byte for byte. For each file the transmitter must reproduce the recorded
//! output packets from the recorded inputs, configuration and keys, and the receiver must give
//! back the inputs. The worked examples of `docs/wire-format.md` section 4 are checked against
//! the files too.
//!
//! The files are members of the set `cse vectors` generates (`cse_link::vectors`);
//! `cse-link/tests/vectors.rs` checks that they are byte-identical to it. Regenerate them (only
//! when the format changes on purpose) with
//! `CSE_REGEN_CRATE_VECTORS=1 cargo test -p cse-link --test vectors`.
#![allow(clippy::unwrap_used, clippy::panic)] // test helpers outside #[test] fns

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use cse_core::csi2::{HeaderForm, Packets, VirtualChannel};
use cse_core::keys::{Salt, SecretKey};
use cse_core::testing::{Json, frame_config_from_json, load_vectors, unhex};
use cse_core::{CipherSuite, Policy, Profile, TagLen};
use cse_sep::{Delivery, KeyMaterial, Receiver, Settings, Transmitter, wire};

fn material(suite: CipherSuite, key: &[u8], mac: Option<&[u8]>, salt: &[u8]) -> KeyMaterial {
    KeyMaterial::new(
        SecretKey::from_slice(suite.key_size(), key).unwrap(),
        mac.map(|m| SecretKey::from_slice(suite.key_size(), m).unwrap()),
        Salt::from_slice(salt).unwrap(),
    )
    .with_min_tag_len(TagLen::L8)
}

fn tags(outs: &[Vec<u8>]) -> Vec<Vec<u8>> {
    outs.iter()
        .filter_map(|o| {
            let p = wire::Packet::new_checked(&o[4..o.len() - 2], &Profile::DRAFT_1).unwrap();
            (!p.tag().is_empty()).then(|| p.tag().to_vec())
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
    assert_eq!(v.get("protocol").str(), "SEP");
    assert_eq!(v.get("profile").str(), Profile::DRAFT_1.name);
    assert_eq!(v.get("header_form").str(), "D-PHY");
    let config = frame_config_from_json(v);
    // The key is for the image block's suite (SV-5 vectors: a key nothing uses).
    let suite = config.image.suite;
    let key = v.get("key").bytes();
    let mac = v.get("mac_key").opt_bytes();
    let salt = v.get("salt").bytes();
    let vc = VirtualChannel::new(v.get("virtual_channel").num() as u8).unwrap();
    let ins = v.get("input_packets").byte_list();
    let want = v.get("output_packets").byte_list();

    // Transmitter: same bytes.
    let mut tx = Transmitter::new(Settings::new(vc), v.get("first_frame_counter").num() as u32);
    tx.install_key(config.key_id, material(suite, &key, mac.as_deref(), &salt))
        .unwrap();
    tx.set_config(config).unwrap();
    let mut got = Vec::new();
    for p in &ins {
        let mut buf = vec![0u8; 512];
        let r = tx.protect(p, &mut buf).unwrap();
        for d in Packets::new(&buf[..r.len], HeaderForm::Dphy) {
            got.push(d.unwrap().raw.to_vec());
        }
    }
    assert!(got == want, "{name}: transmitter output changed");
    assert_eq!(tags(&got), v.get("tags").byte_list(), "{name}: tags");

    // Receiver: the inputs come back.
    let mut rx = Receiver::new(Settings::new(vc), Policy::PERMISSIVE, 100);
    rx.install_key(config.key_id, material(suite, &key, mac.as_deref(), &salt))
        .unwrap();
    let mut back: Vec<(u32, Vec<u8>)> = Vec::new();
    let mut held = Vec::new();
    for (t, s) in want.iter().enumerate() {
        let mut out = vec![0u8; 512];
        match rx.receive(s, t as u64, &mut out).unwrap() {
            Delivery::Verified(p) => back.push((p.info().message_index, p.packet().to_vec())),
            Delivery::Unprotected(p) => {
                back.push((p.info().message_index, p.unauthenticated_packet().to_vec()))
            }
            Delivery::Unverified(u) => held.push((
                u.unverified_packet().to_vec(),
                u.decrypt_ticket(),
                u.is_encrypted(),
                u.scope(),
                u.info().message_index,
            )),
            Delivery::ScopeVerified(proof) => {
                let (now, later): (Vec<_>, Vec<_>) = held
                    .drain(..)
                    .partition(|h| h.3 == proof.scope() && proof.indices().contains(&h.4));
                held = later;
                for (mut b, t, enc, _, i) in now {
                    if enc {
                        rx.decrypt(&proof, &t, &mut b).unwrap();
                    }
                    back.push((i, b));
                }
            }
            _ => unreachable!(),
        }
    }
    assert!(held.is_empty(), "{name}: packets never verified");
    back.sort_by_key(|(i, _)| *i);
    let back: Vec<Vec<u8>> = back.into_iter().map(|(_, b)| b).collect();
    assert!(back == ins, "{name}: receiver output differs");
}

#[test]
fn golden_vectors_reproduce_byte_for_byte_and_verify() {
    let all = load_all();
    assert!(all.len() >= 7, "the SEP golden vectors are missing");
    for (name, v) in &all {
        check(name, v);
    }
}

/// A vector with one output byte changed must fail the check (the test can fail).
#[test]
#[should_panic(expected = "transmitter output changed")]
fn a_changed_output_byte_is_caught() {
    let all = load_all();
    let mut v = all["sv2-per-message-aes128cmac-t16"].clone();
    let Json::Obj(members) = &mut v else {
        unreachable!()
    };
    let outs = &mut members
        .iter_mut()
        .find(|(k, _)| k == "output_packets")
        .unwrap()
        .1;
    let Json::Arr(a) = outs else { unreachable!() };
    let mut b = a[2].bytes();
    b[10] ^= 1;
    a[2] = Json::Str(b.iter().map(|x| format!("{x:02x}")).collect());
    check("tampered", &v);
}

/// `docs/wire-format.md` section 4 quotes packets of these vectors; each example starts with
/// a line `vector <name> packet <k>` followed by hex lines.
#[test]
fn wire_format_examples_match_the_vectors() {
    let doc = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/wire-format.md"),
    )
    .unwrap();
    let all = load_all();
    let mut checked = 0;
    let mut quoted = std::collections::BTreeSet::new();
    let mut lines = doc.lines().peekable();
    while let Some(l) = lines.next() {
        let Some(rest) = l.strip_prefix("vector ") else {
            continue;
        };
        let mut parts = rest.split_whitespace();
        let name = parts.next().unwrap();
        assert_eq!(parts.next(), Some("packet"));
        let k: usize = parts.next().unwrap().parse().unwrap();
        let mut bytes = Vec::new();
        while let Some(h) = lines.peek() {
            if h.starts_with("```") || h.trim().is_empty() {
                break;
            }
            // Each line: `label:  hex bytes` (label optional).
            let hexpart = h.split_once(':').map_or(*h, |(_, b)| b);
            for tok in hexpart.split_whitespace() {
                bytes.push(u8::from_str_radix(tok, 16).unwrap());
            }
            lines.next();
        }
        let v = all
            .get(name)
            .unwrap_or_else(|| panic!("docs quote an unknown vector {name}"));
        let want = unhex(v.get("output_packets").arr()[k].str());
        assert_eq!(bytes, want, "docs example {name} packet {k}");
        quoted.insert(name.to_string());
        checked += 1;
    }
    assert!(checked >= all.len(), "examples checked: {checked}");
    assert_eq!(
        quoted.len(),
        all.len(),
        "every vector is quoted in the docs"
    );
}

/// The FS of a frame whose top block is SV-5 (`docs/wire-format.md` section 4, "The FS is
/// always authenticated"): its tag is AES-256-GCM under the image block's key, recomputed here
/// with RustCrypto `aes-gcm` from the documented inputs alone (context block, IV, AAD).
#[test]
fn frame_start_with_an_sv5_top_block_is_tagged_with_the_image_configuration() {
    use aes_gcm::Aes256Gcm;
    use aes_gcm::aead::{AeadInOut, KeyInit};
    let all = load_all();
    let v = &all["fs-top-sv5-image-sv1-per-message-aes256gcm-t16"];
    let fs = unhex(v.get("output_packets").arr()[0].str());
    let payload = &fs[4..fs.len() - 2];
    let (head, rest) = payload.split_at(40); // SEP header (12) and frame extension (28)
    let tag = &rest[..16];
    // Context: SEP, scope message, suite 0x12, tag length 16, SV 1, block top, VC 1, key id 0,
    // direction 0, number frame 7 << 32 | index 0.
    let mut ctx = [0u8; 32];
    ctx[..12].copy_from_slice(&[1, 0, 0, 0x12, 16, 1, 0, 1, 0, 0, 0, 0]);
    ctx[12..20].copy_from_slice(&(7u64 << 32).to_be_bytes());
    // IV: salt c0..cb XOR (stream id 0x00000800 ‖ packet number 7 << 32).
    let mut sid_pn = [0u8; 12];
    sid_pn[..4].copy_from_slice(&0x0000_0800u32.to_be_bytes());
    sid_pn[4..].copy_from_slice(&(7u64 << 32).to_be_bytes());
    let iv: [u8; 12] = core::array::from_fn(|i| (0xC0 + i as u8) ^ sid_pn[i]);
    let key: Vec<u8> = (0..32u8).collect();
    assert_eq!(unhex(v.get("key").str()), key);
    let aad = [&ctx[..], head, &[0x01, 0x00, 0x01, 0x00]].concat();
    let want = Aes256Gcm::new_from_slice(&key)
        .unwrap()
        .encrypt_inout_detached(&iv.into(), &aad, (&mut [][..]).into())
        .unwrap();
    assert_eq!(tag, &want[..]);
    // Header: SV 1 (the image block's), block top, tag length 16, flags E, T, X.
    assert_eq!(&head[..6], &[0x01, 0xE0, 0x01, 0x01, 0x00, 0x10]);
    // Extension: the top and bottom blocks announce SV-5, the image block SV-1 AES-256-GCM.
    assert_eq!(head[16], 5);
    assert_eq!(&head[24..27], &[1, 0x12, 16]);
    assert_eq!(head[32], 5);
}
