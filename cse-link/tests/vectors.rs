//! `cse vectors` and `cse_link::vectors`: the generated set contains the crates' golden vector
//! files byte for byte, the binary writes exactly the library's set with a complete index,
//! every vector replays from its JSON alone, and bad arguments are refused.
//!
//! `CSE_REGEN_CRATE_VECTORS=1 cargo test -p cse-link --test vectors` rewrites the crates'
//! golden files (`cse-sep/tests/vectors`, `cse-fsed/tests/vectors`, `ccise/tests/vectors`, the
//! names listed in [`CRATE_VECTORS`]) from the generator; only do it when the format changes
//! on purpose (and say so in the commit).
#![allow(clippy::unwrap_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use ccise::Config;
use cse_core::csi2::VirtualChannel;
use cse_core::testing::{Json, frame_config_from_json, parse_json};
use cse_core::{KeyId, Profile, SecurityVariant, TagLen};
use cse_link::vectors::{
    self, CciseKeys, Recorded, StreamKeys, Transaction, Vector, VectorProtocol,
};

/// The vectors each crate keeps as golden files, by crate directory.
const CRATE_VECTORS: &[(VectorProtocol, &str, &[&str])] = &[
    (
        VectorProtocol::Sep,
        "cse-sep",
        &[
            "sv1-per-frame-aes128ctrcmac-t16",
            "sv1-per-message-aes256gcm-t16",
            "sv2-per-data-type-aes256gmac-t16",
            "sv2-per-message-aes128cmac-t16",
            "sv3-per-message-aes256gmac-t12",
            "sv4-per-message-aes128gmac-t8",
            "sv5-no-security",
        ],
    ),
    (
        VectorProtocol::Fsed,
        "cse-fsed",
        &[
            "sv1-per-data-type-aes128ctrcmac-t16",
            "sv1-per-frame-aes256gcm-t16",
            "sv2-per-data-type-aes128cmac-t12",
            "sv2-per-frame-aes256gmac-t16",
            "sv3-per-frame-aes128gmac-t8",
            "sv4-per-frame-aes256cmac-t16",
            "sv5-no-security",
        ],
    ),
    (
        VectorProtocol::Ccise,
        "ccise",
        &[
            "aes128cmac-t16-clear-reads",
            "aes128cmac-t8-clear-reads",
            "aes256gmac-t12-clear-reads",
            "aes128ctrcmac-t16-encrypted-reads",
            "aes256gcm-t12-encrypted-reads",
        ],
    ),
];

fn generated() -> BTreeMap<(VectorProtocol, String), Vector> {
    vectors::all()
        .unwrap()
        .into_iter()
        .map(|v| ((v.protocol, v.name.clone()), v))
        .collect()
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn json_files(dir: &Path) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .map(|p| p.file_stem().unwrap().to_str().unwrap().to_string())
        .collect()
}

#[test]
fn the_set_has_the_documented_matrix() {
    let all = vectors::all().unwrap();
    let count = |p| all.iter().filter(|v| v.protocol == p).count();
    // SV-1 x 4 encrypting suites + SV-2..SV-4 x 4 integrity suites = 16 cells per tag mode,
    // x 3 tag lengths, + sv5-no-security.
    assert_eq!(count(VectorProtocol::Sep), 16 * 3 * 3 + 1);
    assert_eq!(count(VectorProtocol::Fsed), 16 * 2 * 3 + 1);
    // 8 suites x 3 tag lengths with clear reads, 4 encrypting suites x 3 with encrypted reads.
    assert_eq!(count(VectorProtocol::Ccise), 8 * 3 + 4 * 3);
    let names: BTreeSet<_> = all.iter().map(|v| (v.protocol, &v.name)).collect();
    assert_eq!(names.len(), all.len(), "names are unique per protocol");
    assert!(
        all.iter()
            .any(|v| v.name == "sv3-per-message-aes256gmac-t12")
    );
    assert!(
        !all.iter()
            .any(|v| v.protocol == VectorProtocol::Fsed && v.name.contains("per-message")),
        "FSED has no per-message mode"
    );
    // Deterministic.
    assert_eq!(all, vectors::all().unwrap());
}

#[test]
fn crate_golden_files_are_byte_identical_to_the_generated_set() {
    let set = generated();
    let regen = std::env::var_os("CSE_REGEN_CRATE_VECTORS").is_some();
    for (protocol, krate, names) in CRATE_VECTORS {
        let dir = workspace().join(krate).join("tests/vectors");
        if regen {
            std::fs::create_dir_all(&dir).unwrap();
            for name in *names {
                let v = &set[&(*protocol, name.to_string())];
                std::fs::write(dir.join(format!("{name}.json")), &v.json).unwrap();
            }
        }
        let files = json_files(&dir);
        let listed: BTreeSet<String> = names.iter().map(|s| s.to_string()).collect();
        assert_eq!(
            files, listed,
            "{krate}/tests/vectors holds exactly the listed vectors"
        );
        for name in &files {
            let text = std::fs::read_to_string(dir.join(format!("{name}.json"))).unwrap();
            let v = set
                .get(&(*protocol, name.clone()))
                .unwrap_or_else(|| panic!("{krate}: {name} is not in the generated set"));
            assert!(
                text == v.json,
                "{krate}/tests/vectors/{name}.json differs from `cse vectors` \
                 (CSE_REGEN_CRATE_VECTORS=1 rewrites it)"
            );
        }
    }
}

fn temp_dir(tag: &str) -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    std::env::temp_dir().join(format!(
        "cse-vectors-test-{tag}-{}-{nanos}",
        std::process::id()
    ))
}

#[test]
fn the_binary_writes_the_library_set_and_a_complete_index() {
    let out = temp_dir("out");
    let run = Command::new(env!("CARGO_BIN_EXE_cse"))
        .args(["vectors", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(
        stdout.contains("145 SEP, 97 FSED, 36 CCISE"),
        "summary: {stdout}"
    );
    let set = vectors::all().unwrap();
    for v in &set {
        let text = std::fs::read_to_string(out.join(v.file())).unwrap();
        assert!(text == v.json, "{} differs", v.file());
    }
    // No other files.
    let mut on_disk = 0;
    for p in VectorProtocol::ALL {
        on_disk += json_files(&out.join(p.dir())).len();
    }
    assert_eq!(on_disk, set.len());

    let index_text = std::fs::read_to_string(out.join("index.json")).unwrap();
    assert_eq!(index_text, vectors::index(&set));
    let index = parse_json(&index_text);
    assert_eq!(index.get("format").str(), vectors::FORMAT);
    let listed: Vec<(String, String, String)> = index
        .get("vectors")
        .arr()
        .iter()
        .map(|e| {
            (
                e.get("protocol").str().to_string(),
                e.get("name").str().to_string(),
                e.get("file").str().to_string(),
            )
        })
        .collect();
    assert_eq!(listed.len(), set.len());
    for (v, (p, n, f)) in set.iter().zip(&listed) {
        assert_eq!((p.as_str(), n, f), (v.protocol.name(), &v.name, &v.file()));
        assert!(out.join(f).is_file(), "{f} listed but missing");
    }
    for p in VectorProtocol::ALL {
        let k = set.iter().filter(|v| v.protocol == p).count() as u64;
        assert_eq!(index.get("counts").get(p.dir()).num(), k);
    }
    std::fs::remove_dir_all(&out).unwrap();
}

/// Replays a SEP or FSED vector from its JSON: the transmitter reproduces the output packets,
/// the receiver gives back the inputs, the tags are the ones the outputs carry.
fn replay_stream(protocol: VectorProtocol, v: &Json) {
    let name = v.get("name").str();
    let config = frame_config_from_json(v);
    let keys = StreamKeys {
        suite: config.image.suite,
        key: v.get("key").bytes(),
        mac_key: v.get("mac_key").opt_bytes(),
        salt: v.get("salt").bytes(),
    };
    let vc = VirtualChannel::new(v.get("virtual_channel").num() as u8).unwrap();
    let fc = v.get("first_frame_counter").num() as u32;
    let inputs = v.get("input_packets").byte_list();
    let outputs = v.get("output_packets").byte_list();
    let (sent, back) = if protocol == VectorProtocol::Sep {
        (
            vectors::sep_transmit(vc, fc, &keys, config, &inputs).unwrap(),
            vectors::sep_receive(vc, config.key_id, &keys, &outputs).unwrap(),
        )
    } else {
        (
            vectors::fsed_transmit(vc, fc, &keys, config, &inputs).unwrap(),
            vectors::fsed_receive(vc, config.key_id, &keys, &outputs).unwrap(),
        )
    };
    assert!(sent == outputs, "{name}: transmitter output differs");
    assert!(
        back == inputs,
        "{name}: receiver does not give back the inputs"
    );
    assert_eq!(
        vectors::stream_tags(protocol, &outputs).unwrap(),
        v.get("tags").byte_list(),
        "{name}: tags"
    );
    let protected = config.image.sv != SecurityVariant::NoSecurity;
    assert_eq!(v.get("tags").arr().is_empty(), !protected, "{name}");
}

fn replay_ccise(v: &Json) {
    let name = v.get("name").str();
    let suite = Profile::DRAFT_1
        .suite_ids
        .suite(v.get("suite_id").num() as u8)
        .unwrap();
    let keys = CciseKeys {
        suite,
        to_target_key: v.get("to_target_key").bytes(),
        to_target_mac_key: v.get("to_target_mac_key").opt_bytes(),
        to_controller_key: v.get("to_controller_key").bytes(),
        to_controller_mac_key: v.get("to_controller_mac_key").opt_bytes(),
        salt: v.get("salt").bytes(),
    };
    let config = Config::new(v.get("device_address").num() as u8)
        .with_tag_len(TagLen::new(v.get("tag_len").num() as u8).unwrap())
        .with_encrypted_reads(v.get("encrypted_reads").bool());
    let txs: Vec<Transaction> = v
        .get("transactions")
        .arr()
        .iter()
        .map(|t| match t.get("kind").str() {
            "write" => Transaction::Write {
                register: t.get("register").num() as u16,
                data: t.get("data").bytes(),
            },
            "read" => Transaction::Read {
                register: t.get("register").num() as u16,
                len: t.get("len").num() as u8,
            },
            k => panic!("{name}: unknown kind {k}"),
        })
        .collect();
    let recs = vectors::ccise_run(config, &keys, &txs).unwrap();
    for (t, r) in v.get("transactions").arr().iter().zip(&recs) {
        match r {
            Recorded::Write { counter, frame } => {
                assert_eq!(u64::from(*counter), t.get("counter").num());
                assert_eq!(frame, &t.get("frame").bytes(), "{name}: write frame");
            }
            Recorded::Read {
                request_counter,
                request,
                response_counter,
                response,
                data,
            } => {
                assert_eq!(u64::from(*request_counter), t.get("request_counter").num());
                assert_eq!(request, &t.get("request").bytes(), "{name}: request");
                assert_eq!(
                    u64::from(*response_counter),
                    t.get("response_counter").num()
                );
                assert_eq!(response, &t.get("response").bytes(), "{name}: response");
                assert_eq!(data, &t.get("data").bytes(), "{name}: data");
                if t.get("encrypted").bool() {
                    // The register bytes never travel in clear.
                    assert_ne!(&response[..data.len()], &data[..], "{name}");
                } else {
                    assert_eq!(&response[..data.len()], &data[..], "{name}");
                }
            }
        }
    }
}

#[test]
fn every_generated_vector_replays_from_its_json() {
    for v in vectors::all().unwrap() {
        let j = parse_json(&v.json);
        assert_eq!(j.get("format").str(), vectors::FORMAT);
        assert_eq!(j.get("protocol").str(), v.protocol.name());
        assert_eq!(j.get("name").str(), v.name);
        match v.protocol {
            VectorProtocol::Ccise => replay_ccise(&j),
            p => replay_stream(p, &j),
        }
    }
}

#[test]
fn a_tampered_stream_vector_does_not_verify() {
    let set = generated();
    let v = &set[&(VectorProtocol::Sep, "sv2-per-message-aes128cmac-t16".into())];
    let j = parse_json(&v.json);
    let mut outs = j.get("output_packets").byte_list();
    outs[2][12] ^= 0x01;
    // The byte changed under the tag (and the CSI-2 CRC-16): the receiver refuses the stream.
    let keys = StreamKeys {
        suite: cse_core::CipherSuite::Aes128Cmac,
        key: j.get("key").bytes(),
        mac_key: None,
        salt: j.get("salt").bytes(),
    };
    let vc = VirtualChannel::new(1).unwrap();
    assert!(vectors::sep_receive(vc, KeyId::default(), &keys, &outs).is_err());
}

fn cse(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_cse"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn bad_arguments_and_unwritable_output_exit_2() {
    let (code, err) = cse(&["vectors"]);
    assert_eq!(code, 2);
    assert!(err.contains("missing --out"), "{err}");

    let (code, err) = cse(&["vectors", "--out"]);
    assert_eq!(code, 2);
    assert!(err.contains("--out needs a directory"), "{err}");

    let (code, err) = cse(&["vectors", "--bogus"]);
    assert_eq!(code, 2);
    assert!(err.contains("unknown argument --bogus"), "{err}");

    // An output "directory" below a regular file cannot be created.
    let file = temp_dir("file");
    std::fs::write(&file, b"not a directory").unwrap();
    let bad = file.join("out");
    let (code, err) = cse(&["vectors", "--out", bad.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(err.contains("cannot write the output directory"), "{err}");
    std::fs::remove_file(&file).unwrap();
}
