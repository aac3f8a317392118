//! Golden vectors: `tests/vectors/*.json` (format `cse-vectors/3`, `docs/vectors.md`) pin the
//! CCISE frames byte for byte. For each file a fresh controller and target of the recorded
//! session (suite, tag length, read mode, both directions' keys) replay the transactions: the
//! controller must produce the recorded write frames and read requests, the target must accept
//! them and answer with the recorded responses, and the controller must recover the recorded
//! register bytes.
//!
//! The files are members of the set `cse vectors` generates (`cse_link::vectors`);
//! `cse-link/tests/vectors.rs` checks that they are byte-identical to it. Regenerate them (only
//! when the format changes on purpose) with
//! `CSE_REGEN_CRATE_VECTORS=1 cargo test -p cse-link --test vectors`.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ccise::{Config, Controller, SessionKeys, SimSensor, Target};
use cse_core::crypto::SuiteKey;
use cse_core::keys::{Salt, SecretKey};
use cse_core::testing::{Json, parse_json};
use cse_core::{CipherSuite, KeyId, Profile, TagLen};

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors")
}

fn load_all() -> BTreeMap<String, Json> {
    let mut m = BTreeMap::new();
    for e in std::fs::read_dir(dir()).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "json") {
            let j = parse_json(&std::fs::read_to_string(&p).unwrap());
            let name = j.get("name").str().to_string();
            assert_eq!(p.file_stem().unwrap().to_str(), Some(name.as_str()));
            m.insert(name, j);
        }
    }
    m
}

fn suite_key(suite: CipherSuite, key: &Json, mac: &Json) -> SuiteKey {
    let size = suite.key_size();
    let mac = mac
        .opt_bytes()
        .map(|m| SecretKey::from_slice(size, &m).unwrap());
    SuiteKey::new(
        suite,
        &SecretKey::from_slice(size, &key.bytes()).unwrap(),
        mac.as_ref(),
    )
    .unwrap()
}

fn keys(v: &Json, suite: CipherSuite) -> SessionKeys {
    SessionKeys::new(
        suite_key(suite, v.get("to_target_key"), v.get("to_target_mac_key")),
        suite_key(
            suite,
            v.get("to_controller_key"),
            v.get("to_controller_mac_key"),
        ),
        Salt::from_slice(&v.get("salt").bytes()).unwrap(),
    )
    .unwrap()
}

fn check(name: &str, v: &Json) {
    assert_eq!(v.get("format").str(), "cse-vectors/3");
    assert_eq!(v.get("protocol").str(), "CCISE");
    assert_eq!(v.get("profile").str(), Profile::DRAFT_1.name);
    let suite = Profile::DRAFT_1
        .suite_ids
        .suite(v.get("suite_id").num() as u8)
        .unwrap();
    assert_eq!(v.get("suite").str(), suite.name());
    let tag_len = TagLen::new(v.get("tag_len").num() as u8).unwrap();
    let config = Config::new(v.get("device_address").num() as u8)
        .with_tag_len(tag_len)
        .with_encrypted_reads(v.get("encrypted_reads").bool())
        .with_key_id(KeyId::new(v.get("key_id").num() as u8).unwrap());
    let mut ctrl = Controller::resume(
        config,
        keys(v, suite),
        v.get("first_controller_counter").num() as u32,
    )
    .unwrap();
    let mut tgt = Target::new(config, keys(v, suite)).unwrap();
    assert_eq!(v.get("first_target_counter").num(), 1);
    let mut map = SimSensor::demo();
    let t = tag_len.get();
    for (k, x) in v.get("transactions").arr().iter().enumerate() {
        let register = x.get("register").num() as u16;
        let mut buf = [0u8; ccise::wire::MAX_FRAME_LEN];
        match x.get("kind").str() {
            "write" => {
                assert_eq!(ctrl.next_counter() as u64, x.get("counter").num());
                let s = ctrl
                    .seal_write(register, &x.get("data").bytes(), &mut buf)
                    .unwrap();
                let frame = &buf[..s.len];
                assert_eq!(
                    frame,
                    &x.get("frame").bytes()[..],
                    "{name} #{k}: write frame"
                );
                assert_eq!(&frame[s.len - t..], &x.get("tag").bytes()[..]);
                let a = tgt.handle_write(frame, &mut map).unwrap();
                assert_eq!(u64::from(a.counter), x.get("counter").num());
            }
            "read" => {
                assert_eq!(ctrl.next_counter() as u64, x.get("request_counter").num());
                assert_eq!(x.get("encrypted").bool(), config.encrypt_reads);
                let len = x.get("len").num() as u8;
                let (pending, s) = ctrl.seal_read_request(register, len, &mut buf).unwrap();
                let req = &buf[..s.len];
                assert_eq!(req, &x.get("request").bytes()[..], "{name} #{k}: request");
                assert_eq!(&req[s.len - t..], &x.get("request_tag").bytes()[..]);
                let mut resp = [0u8; ccise::wire::MAX_FRAME_LEN];
                let a = tgt.handle_read(req, &mut map, &mut resp).unwrap();
                let resp = &resp[..a.response_len];
                assert_eq!(
                    resp,
                    &x.get("response").bytes()[..],
                    "{name} #{k}: response"
                );
                assert_eq!(&resp[resp.len() - t..], &x.get("response_tag").bytes()[..]);
                let mut data = vec![0u8; usize::from(len)];
                assert_eq!(
                    ctrl.open_read_response(pending, resp, &mut data),
                    Ok(usize::from(len))
                );
                assert_eq!(data, x.get("data").bytes(), "{name} #{k}: data");
                assert_eq!(
                    ctrl.last_response_counter().map(u64::from),
                    Some(x.get("response_counter").num())
                );
            }
            other => panic!("{name}: unknown transaction kind {other}"),
        }
    }
}

#[test]
fn golden_vectors_replay_byte_for_byte() {
    let all = load_all();
    assert!(all.len() >= 3, "the CCISE golden vectors are missing");
    for (name, v) in &all {
        check(name, v);
    }
}

/// `docs/wire-format.md` section 6, Example 1 (AES-128-CMAC, 16-byte tag, device 0x36, write
/// `12 34 56 78` to 0x0100 with counter 1) is the first transaction of one vector.
#[test]
fn wire_format_example_1_is_a_vector() {
    let v = &load_all()["aes128cmac-t16-clear-reads"];
    let w = &v.get("transactions").arr()[0];
    assert_eq!(w.get("kind").str(), "write");
    assert_eq!(
        w.get("frame").bytes(),
        hex_literal::hex!(
            "01 00 12 34 56 78 00 00 00 01"
            "52 54 63 16 63 13 48 40 8E 45 38 84 3F 93 97 94"
        )
    );
}

/// A vector whose response was changed must fail the replay (the test can fail).
#[test]
#[should_panic(expected = "response")]
fn a_changed_response_is_caught() {
    let all = load_all();
    let mut v = all["aes128cmac-t8-clear-reads"].clone();
    let Json::Obj(members) = &mut v else {
        unreachable!()
    };
    let txs = &mut members
        .iter_mut()
        .find(|(k, _)| k == "transactions")
        .unwrap()
        .1;
    let Json::Arr(a) = txs else { unreachable!() };
    let Json::Obj(read) = &mut a[1] else {
        unreachable!()
    };
    let resp = &mut read.iter_mut().find(|(k, _)| k == "response").unwrap().1;
    let mut b = resp.bytes();
    b[0] ^= 0x80;
    *resp = Json::Str(b.iter().map(|x| format!("{x:02x}")).collect());
    check("tampered", &v);
}
