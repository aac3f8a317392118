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
use cse_core::csi2::HeaderForm;
use cse_core::csi2::VirtualChannel;
use cse_core::testing::{Json, frame_config_from_json, parse_json};
use cse_core::{CipherSuite, Direction, KeyId, Policy, Profile, SecurityVariant, SvLevel, TagLen};
use cse_link::vectors::{
    self, CciseAttack, CciseKeys, FrameSpec, Recorded, StreamKeys, StreamSetup, Transaction,
    Vector, VectorProtocol,
};

/// The vectors each crate keeps as golden files, by crate directory.
const CRATE_VECTORS: &[(VectorProtocol, &str, &[&str])] = &[
    (
        VectorProtocol::Sep,
        "cse-sep",
        &[
            "fs-top-sv5-image-sv1-per-message-aes256gcm-t16",
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
            "seal-record-top-sv2-per-frame-aes128cmac-t16",
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
    // x 3 tag lengths, + sv5-no-security, + 24 extra cases each (docs/vectors.md: FSED has the
    // seal record and a tampered tag record where SEP has the CRC-32 and forged-FS cases).
    assert_eq!(count(VectorProtocol::Sep), 16 * 3 * 3 + 1 + 24);
    assert_eq!(count(VectorProtocol::Fsed), 16 * 2 * 3 + 1 + 24);
    let extra = |p, prefix: &str| {
        all.iter()
            .filter(|v| v.protocol == p && v.name.starts_with(prefix))
            .count()
    };
    assert_eq!(extra(VectorProtocol::Sep, "neg-"), 7);
    assert_eq!(extra(VectorProtocol::Fsed, "neg-"), 6);
    // SV-1 (2), SV-2 (2), SV-3 and SV-4 over lines up to 11520 bytes.
    for p in [VectorProtocol::Sep, VectorProtocol::Fsed] {
        assert_eq!(extra(p, "long-lines-"), 6);
        for sv in 1..=4 {
            assert!(
                all.iter().any(|v| v.protocol == p
                    && v.name.starts_with(&format!("long-lines-sv{sv}-"))
                    && v.json.contains(&format!("\"sv\": {sv},"))),
                "{p:?}: long lines under SV-{sv}"
            );
        }
    }
    assert_eq!(extra(VectorProtocol::Fsed, "multi-frame-"), 3);
    // 8 suites x 3 tag lengths with clear reads, 4 encrypting suites x 3 with encrypted reads,
    // 2 negative vectors.
    assert_eq!(count(VectorProtocol::Ccise), 8 * 3 + 4 * 3 + 2);
    // One key-derivation vector per SPDM hash (SHA-256, SHA-384).
    assert_eq!(count(VectorProtocol::Keys), 2);
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
        stdout.contains("169 SEP, 121 FSED, 38 CCISE, 2 KEYS"),
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

fn policy_from_json(p: &Json) -> Policy {
    let l = |k: &str| SvLevel::try_from(p.get(k).num() as u8).unwrap();
    Policy {
        min_top: l("min_top"),
        min_image: l("min_image"),
        min_bottom: l("min_bottom"),
    }
}

/// The link set-up of a stream vector, from its JSON alone (`docs/vectors.md`).
fn setup_from_json(protocol: VectorProtocol, v: &Json) -> StreamSetup {
    let keys = v
        .get("keys")
        .arr()
        .iter()
        .map(|k| {
            let key = k.get("key").bytes();
            // Only the key size matters for the material; any suite of that size will do.
            let suite = if key.len() == 16 {
                CipherSuite::Aes128Cmac
            } else {
                CipherSuite::Aes256Cmac
            };
            (
                KeyId::new(k.get("key_id").num() as u8).unwrap(),
                StreamKeys {
                    suite,
                    key,
                    mac_key: k.get("mac_key").opt_bytes(),
                    salt: k.get("salt").bytes(),
                },
            )
        })
        .collect();
    let frames = v
        .get("frames")
        .arr()
        .iter()
        .map(|f| FrameSpec {
            config: frame_config_from_json(f),
            inputs: f.get("input_count").num() as usize,
        })
        .collect();
    StreamSetup {
        protocol,
        vc: VirtualChannel::new(v.get("virtual_channel").num() as u8).unwrap(),
        direction: match v.get("direction").str() {
            "sensor-to-controller" => Direction::SensorToController,
            "controller-to-sensor" => Direction::ControllerToSensor,
            d => panic!("direction {d}"),
        },
        form: match v.get("header_form").str() {
            "D-PHY" => HeaderForm::Dphy,
            "D-PHY-VCX" => HeaderForm::DPHY_VCX_DRAFT_1,
            f => panic!("header form {f}"),
        },
        first_frame_counter: v.get("first_frame_counter").num() as u32,
        keys,
        frames,
    }
}

const ACCEPTED: [&str; 6] = [
    "verified",
    "unprotected",
    "unverified",
    "scope-verified",
    "sync",
    "frame-header",
];

/// Replays a SEP or FSED vector from its JSON: the transmitter reproduces the output packets
/// frame by frame, the receiver gives back the inputs, the tags are the ones the outputs carry,
/// and for a negative vector a receiver reaches the recorded verdict on every received packet
/// and releases only genuine packets.
fn replay_stream(protocol: VectorProtocol, v: &Json) {
    let name = v.get("name").str();
    let setup = setup_from_json(protocol, v);
    let first = &v.get("frames").arr()[0];
    assert_eq!(
        frame_config_from_json(first),
        frame_config_from_json(v),
        "{name}: config is frame 0's"
    );
    let inputs = v.get("input_packets").byte_list();
    let outputs = v.get("output_packets").byte_list();
    let per_frame = setup.transmit(&inputs).unwrap();
    for (i, (f, o)) in v.get("frames").arr().iter().zip(&per_frame).enumerate() {
        assert_eq!(
            o.len() as u64,
            f.get("output_count").num(),
            "{name}: frame {i}"
        );
        assert_eq!(
            f.get("frame_counter").num(),
            u64::from(setup.first_frame_counter) + i as u64,
            "{name}"
        );
    }
    let sent = per_frame.concat();
    assert!(sent == outputs, "{name}: transmitter output differs");
    let log = setup
        .receive(
            Policy::PERMISSIVE,
            &outputs,
            &setup.output_installs(&per_frame),
        )
        .unwrap();
    assert!(
        log.verdicts.iter().all(|x| ACCEPTED.contains(&x.as_str())),
        "{name}: {:?}",
        log.verdicts
    );
    assert_eq!(log.unreleased, 0, "{name}");
    assert!(
        log.delivered == inputs,
        "{name}: receiver does not give back the inputs"
    );
    if protocol == VectorProtocol::Sep || setup.form == HeaderForm::Dphy {
        assert_eq!(
            vectors::stream_tags(protocol, &outputs).unwrap(),
            v.get("tags").byte_list(),
            "{name}: tags"
        );
    }
    let any_protected = setup.frames.iter().any(|f| {
        [f.config.top, f.config.image, f.config.bottom]
            .iter()
            .any(|b| b.sv != SecurityVariant::NoSecurity)
    });
    assert_eq!(v.get("tags").arr().is_empty(), !any_protected, "{name}");

    let a = v.get("attack");
    if matches!(a, Json::Null) {
        assert!(
            !name.starts_with("neg-"),
            "{name}: a negative vector needs an attack"
        );
        return;
    }
    assert!(name.starts_with("neg-"), "{name}");
    let received = a.get("received_packets").byte_list();
    if a.get("kind").str() == "downgrade" {
        // A genuine stream; the receiver's policy refuses it.
        assert!(received == outputs, "{name}");
    } else {
        assert!(received != outputs, "{name}: the attack changes the stream");
    }
    let key_id = KeyId::new(v.get("key_id").num() as u8).unwrap();
    let log = setup
        .receive(policy_from_json(a.get("policy")), &received, &[(0, key_id)])
        .unwrap();
    let want: Vec<String> = a
        .get("verdicts")
        .arr()
        .iter()
        .map(|x| x.str().to_string())
        .collect();
    assert_eq!(log.verdicts, want, "{name}: verdicts");
    assert_eq!(received.len(), want.len(), "{name}: one verdict per packet");
    assert!(
        want.iter().any(|x| !ACCEPTED.contains(&x.as_str())),
        "{name}: the attack is detected"
    );
    assert_eq!(
        log.delivered,
        a.get("delivered_packets").byte_list(),
        "{name}: delivered"
    );
    assert_eq!(log.unreleased as u64, a.get("unreleased").num(), "{name}");
    // Safety: whatever is released is a genuine input packet, once per copy sent.
    for d in &log.delivered {
        assert!(inputs.contains(d), "{name}: a forged packet was released");
    }
    assert!(
        log.delivered.len() <= inputs.len(),
        "{name}: replayed packets released"
    );
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
    let attacks: Vec<CciseAttack> = v
        .get("attacks")
        .arr()
        .iter()
        .map(|a| CciseAttack {
            after: a.get("after").num() as usize,
            frame_kind: a.get("frame_kind").str().to_string(),
            frame: a.get("frame").bytes(),
        })
        .collect();
    assert_eq!(attacks.is_empty(), !name.starts_with("neg-"), "{name}");
    let recs = vectors::ccise_run(config, &keys, &txs).unwrap();
    // The attacks, fed to the target between the genuine transactions, are refused as
    // recorded and move nothing: the genuine transactions come out byte for byte the same.
    let (again, verdicts) = vectors::ccise_run_attacked(config, &keys, &txs, &attacks).unwrap();
    assert!(again == recs, "{name}: an attack moved the target");
    for (a, got) in v.get("attacks").arr().iter().zip(&verdicts) {
        assert_eq!(got.verdict, a.get("verdict").str(), "{name}");
        assert_ne!(got.verdict, "accepted", "{name}");
        assert_eq!(got.response, a.get("response").opt_bytes(), "{name}");
        if let Some(r) = &got.response {
            assert!(r.iter().all(|b| *b == 0xFF), "{name}: filler");
        }
    }
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
            // Recomputed in `key_derivation_vectors_match_an_independent_hkdf`.
            VectorProtocol::Keys => {}
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
    assert!(
        err.contains("required arguments were not provided") && err.contains("--out <DIR>"),
        "{err}"
    );

    let (code, err) = cse(&["vectors", "--out"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("a value is required for '--out <DIR>'"),
        "{err}"
    );

    let (code, err) = cse(&["vectors", "--out", ""]);
    assert_eq!(code, 2);
    assert!(err.contains("--out <DIR>"), "{err}");

    let (code, err) = cse(&["vectors", "--bogus"]);
    assert_eq!(code, 2);
    assert!(err.contains("unexpected argument '--bogus'"), "{err}");

    // An output "directory" below a regular file cannot be created.
    let file = temp_dir("file");
    std::fs::write(&file, b"not a directory").unwrap();
    let bad = file.join("out");
    let (code, err) = cse(&["vectors", "--out", bad.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(err.contains("cannot write the output directory"), "{err}");
    std::fs::remove_file(&file).unwrap();
}

/// HKDF-Expand(`prk`, `info`, `len`) of `hash`, with the `hkdf`/`sha2` crates directly.
fn hkdf_expand(hash: &str, prk: &[u8], info: &[u8], len: usize) -> Vec<u8> {
    let mut out = vec![0u8; len];
    match hash {
        "SHA-256" => hkdf::Hkdf::<sha2::Sha256>::from_prk(prk)
            .unwrap()
            .expand(info, &mut out)
            .unwrap(),
        "SHA-384" => hkdf::Hkdf::<sha2::Sha384>::from_prk(prk)
            .unwrap()
            .expand(info, &mut out)
            .unwrap(),
        h => panic!("hash {h}"),
    }
    out
}

/// The link keys of one generation as `docs/key-hierarchy.md` section 2 tabulates them:
/// (item, label, direction, virtual channel: `None` for the stream's, length). The stream key
/// and MAC key appear at both AES key sizes (the suite picks one).
const KEY_TABLE: [(&str, &str, u8, Option<u8>, usize); 8] = [
    ("stream-key", "cse key", 0, None, 16),
    ("stream-key", "cse key", 0, None, 32),
    ("stream-mac-key", "cse mac key", 0, None, 16),
    ("stream-mac-key", "cse mac key", 0, None, 32),
    ("stream-salt", "cse salt", 0, None, 12),
    ("ccise-to-target-key", "ccise key", 1, Some(0), 16),
    ("ccise-to-controller-key", "ccise key", 0, Some(0), 16),
    ("ccise-salt", "cse salt", 1, Some(0), 12),
];

/// The key-derivation vectors, recomputed from `docs/key-hierarchy.md`'s formulas with
/// `hkdf`/`sha2` (neither `spdm_lite` nor `cse_link` computes anything here):
/// `key = HKDF-Expand(export_master, u16_le(L) ‖ "spdm1.2 " ‖ label ‖ context, L)`,
/// `context = direction ‖ VC ‖ u32_le(generation) ‖ u32_le(session id)`,
/// `session id = ReqSessionID | RspSessionID << 16`.
#[test]
fn key_derivation_vectors_match_an_independent_hkdf() {
    let set: Vec<Vector> = vectors::all()
        .unwrap()
        .into_iter()
        .filter(|v| v.protocol == VectorProtocol::Keys)
        .collect();
    let names: Vec<&str> = set.iter().map(|v| v.name.as_str()).collect();
    assert_eq!(names, ["kdf-sha256", "kdf-sha384"]);
    let mut every_output = BTreeSet::new();
    for v in &set {
        let j = parse_json(&v.json);
        let name = v.name.as_str();
        assert_eq!(j.get("format").str(), vectors::FORMAT);
        assert_eq!(j.get("protocol").str(), "KEYS");
        assert_eq!(j.get("profile").str(), "draft-1");
        assert_eq!(j.get("spdm_version").str(), "1.2");
        let hash = j.get("hash").str();
        let master = j.get("export_master_secret").bytes();
        assert_eq!(
            master.len(),
            if hash == "SHA-256" { 32 } else { 48 },
            "{name}: H bytes"
        );
        let req = j.get("req_session_id").num() as u32;
        let rsp = j.get("rsp_session_id").num() as u32;
        let sid = j.get("session_id").num() as u32;
        assert_eq!(sid, req | rsp << 16, "{name}: session id");
        let stream_vc = j.get("stream_virtual_channel").num() as u8;
        let gens: Vec<u32> = j
            .get("generations")
            .arr()
            .iter()
            .map(|g| g.num() as u32)
            .collect();
        assert_eq!(gens, [0, 1, 2], "{name}");
        let key_ids: Vec<u64> = j.get("ccise_key_ids").arr().iter().map(Json::num).collect();
        assert_eq!(key_ids, [0, 1, 2], "{name}: generation mod 4");

        let ds = j.get("derivations").arr();
        assert_eq!(ds.len(), gens.len() * KEY_TABLE.len(), "{name}");
        let expected = gens
            .iter()
            .flat_map(|g| KEY_TABLE.iter().map(move |row| (*g, row)));
        for (d, (g, &(item, label, dir, vc, len))) in ds.iter().zip(expected) {
            let vc = vc.unwrap_or(stream_vc);
            assert_eq!(d.get("generation").num(), u64::from(g), "{name}");
            assert_eq!(d.get("item").str(), item, "{name}");
            assert_eq!(d.get("label").str(), label, "{name} {item}");
            assert_eq!(d.get("direction").num(), u64::from(dir), "{name} {item}");
            assert_eq!(d.get("virtual_channel").num(), u64::from(vc), "{name}");
            assert_eq!(d.get("length").num(), len as u64, "{name} {item}");
            let mut context = vec![dir, vc];
            context.extend_from_slice(&g.to_le_bytes());
            context.extend_from_slice(&sid.to_le_bytes());
            assert_eq!(d.get("context").bytes(), context, "{name} {item} g{g}");
            let mut info = (len as u16).to_le_bytes().to_vec();
            info.extend_from_slice(b"spdm1.2 ");
            info.extend_from_slice(label.as_bytes());
            info.extend_from_slice(&context);
            assert_eq!(d.get("info").bytes(), info, "{name} {item} g{g}");
            let out = d.get("output").bytes();
            assert_eq!(
                out,
                hkdf_expand(hash, &master, &info, len),
                "{name} {item} L={len} generation {g}"
            );
            // The session id is bound: the same derivation under another session differs.
            let mut other = info.clone();
            let at = other.len() - 4;
            other[at] ^= 1;
            assert_ne!(out, hkdf_expand(hash, &master, &other, len), "{name}");
            every_output.insert(out);
        }
    }
    // No two derived values coincide (labels, directions, generations, lengths, hashes).
    assert_eq!(every_output.len(), 2 * 3 * KEY_TABLE.len());
}

/// One derived value of a key-derivation vector, by generation, item and length.
fn derived(v: &Json, generation: u32, item: &str, len: usize) -> Vec<u8> {
    v.get("derivations")
        .arr()
        .iter()
        .find(|d| {
            d.get("generation").num() == u64::from(generation)
                && d.get("item").str() == item
                && d.get("length").num() == len as u64
        })
        .unwrap_or_else(|| panic!("{item}/{len} of generation {generation}"))
        .get("output")
        .bytes()
}

/// The key-derivation vectors are the keys a link really installs: a SEP transmitter keyed by
/// `cse_link::keys::stream_material` and the CCISE session of `cse_link::keys::ccise_keys`,
/// both from the vector's export master secret and session id, produce the same bytes as the
/// same transmitter and session keyed with the vector's values.
#[test]
fn key_derivation_vectors_are_the_keys_a_link_installs() {
    use cse_core::{BlockConfig, FrameConfig, TagMode};
    use cse_link::keys::{KeyProfile, ccise_config, ccise_keys, stream_material};
    use spdm_lite::crypto::{HashAlgo, Secret};
    use spdm_lite::export::ExportMasterSecret;
    use spdm_lite::msgs::Version;

    let set = generated();
    let inputs =
        parse_json(&set[&(VectorProtocol::Sep, "sv1-per-message-aes128gcm-t16".into())].json)
            .get("input_packets")
            .byte_list();
    let vc = VirtualChannel::new(vectors::STREAM_VC).unwrap();
    let profile = Profile::DRAFT_1;
    for (name, hash) in [
        ("kdf-sha256", HashAlgo::Sha256),
        ("kdf-sha384", HashAlgo::Sha384),
    ] {
        let v = parse_json(&set[&(VectorProtocol::Keys, name.into())].json);
        let ems = || {
            ExportMasterSecret::new(
                Secret::from_slice(&v.get("export_master_secret").bytes()).unwrap(),
                hash,
                Version::V12,
                v.get("session_id").num() as u32,
            )
        };
        let mut outputs = BTreeSet::new();
        for g in vectors::KEY_GENERATIONS {
            // Every suite: the encrypting ones under SV-1, the integrity-only ones under SV-2
            // (a CMAC stream is keyed by `stream-key` alone, as GMAC is).
            for suite in [
                CipherSuite::Aes128Gcm,
                CipherSuite::Aes256Gcm,
                CipherSuite::Aes128CtrCmac,
                CipherSuite::Aes256CtrCmac,
                CipherSuite::Aes128Gmac,
                CipherSuite::Aes256Gmac,
                CipherSuite::Aes128Cmac,
                CipherSuite::Aes256Cmac,
            ] {
                let config = FrameConfig::uniform(
                    BlockConfig {
                        sv: if suite.encrypts() {
                            SecurityVariant::FullIntegrityEncrypted
                        } else {
                            SecurityVariant::FullIntegrity
                        },
                        suite,
                        tag_len: TagLen::L16,
                        tag_mode: TagMode::PerMessage,
                    },
                    KeyId::default(),
                );
                let len = if suite.key_size() == cse_core::KeySize::Aes128 {
                    16
                } else {
                    32
                };
                let from_vector = StreamKeys {
                    suite,
                    key: derived(&v, g, "stream-key", len),
                    mac_key: matches!(
                        suite,
                        CipherSuite::Aes128CtrCmac | CipherSuite::Aes256CtrCmac
                    )
                    .then(|| derived(&v, g, "stream-mac-key", len)),
                    salt: derived(&v, g, "stream-salt", 12),
                };
                let want = vectors::sep_transmit(vc, 7, &from_vector, config, &inputs).unwrap();
                let kp = KeyProfile {
                    suite,
                    min_tag_len: TagLen::L16,
                    scoped: false,
                };
                let material = stream_material(&ems(), &profile, vc, g, &kp).unwrap();
                let mut tx = cse_sep::Transmitter::new(cse_sep::Settings::new(vc), 7);
                tx.install_key(KeyId::default(), material).unwrap();
                tx.set_config(config).unwrap();
                let mut got = Vec::new();
                for p in &inputs {
                    let mut buf = vec![0u8; cse_sep::tx::max_protected_len(p.len())];
                    let r = tx.protect(p, &mut buf).unwrap();
                    got.extend_from_slice(&buf[..r.len]);
                }
                assert!(got == want.concat(), "{name} {suite:?} generation {g}");
                assert!(
                    outputs.insert(got),
                    "{name}: every generation and suite differs"
                );
            }

            // CCISE: the link's session and one keyed from the vector write and read alike.
            let config = ccise_config(&profile, g);
            let txs = [
                Transaction::Write {
                    register: 0x0100,
                    data: vec![0x12, 0x34, 0x56, 0x78],
                },
                Transaction::Read {
                    register: 0x0100,
                    len: 4,
                },
            ];
            let from_vector = CciseKeys {
                suite: cse_link::keys::CCISE_SUITE,
                to_target_key: derived(&v, g, "ccise-to-target-key", 16),
                to_target_mac_key: None,
                to_controller_key: derived(&v, g, "ccise-to-controller-key", 16),
                to_controller_mac_key: None,
                salt: derived(&v, g, "ccise-salt", 12),
            };
            let want = vectors::ccise_run(config, &from_vector, &txs).unwrap();
            let mut ctrl =
                ccise::Controller::new(config, ccise_keys(&ems(), &profile, g).unwrap()).unwrap();
            let mut tgt =
                ccise::Target::new(config, ccise_keys(&ems(), &profile, g).unwrap()).unwrap();
            let mut map = ccise::SimSensor::demo();
            let mut frame = [0u8; ccise::wire::MAX_FRAME_LEN];
            let sealed = ctrl
                .seal_write(0x0100, &[0x12, 0x34, 0x56, 0x78], &mut frame)
                .unwrap();
            let accepted = tgt.handle_write(&frame[..sealed.len], &mut map).unwrap();
            assert_eq!(accepted.counter, 1, "{name}: a fresh CCISE session");
            let Recorded::Write { frame: w, .. } = &want[0] else {
                panic!("write")
            };
            assert_eq!(
                &frame[..sealed.len],
                &w[..],
                "{name} CCISE write, generation {g}"
            );
            let (_, sealed) = ctrl.seal_read_request(0x0100, 4, &mut frame).unwrap();
            let mut resp = [0u8; ccise::wire::MAX_FRAME_LEN];
            let a = tgt
                .handle_read(&frame[..sealed.len], &mut map, &mut resp)
                .unwrap();
            let Recorded::Read {
                request, response, ..
            } = &want[1]
            else {
                panic!("read")
            };
            assert_eq!(
                &frame[..sealed.len],
                &request[..],
                "{name} request, generation {g}"
            );
            assert_eq!(
                &resp[..a.response_len],
                &response[..],
                "{name} response, g {g}"
            );
        }
    }
}

/// The reader's tree (`cse_core::testing::Json`, read by serde_json) as the writer's tree.
fn to_writer_tree(j: &Json) -> cse_link::vectors::Json {
    use cse_link::vectors::Json as W;
    match j {
        Json::Null => W::Null,
        Json::Bool(b) => W::Bool(*b),
        Json::Num(n) => W::Num(*n),
        Json::Str(s) => W::Str(s.clone()),
        Json::Arr(v) => W::Arr(v.iter().map(to_writer_tree).collect()),
        Json::Obj(v) => W::Obj(
            v.iter()
                .map(|(k, x)| (k.clone(), to_writer_tree(x)))
                .collect(),
        ),
    }
}

#[test]
fn every_vector_round_trips_through_the_serde_reader_and_writer_byte_for_byte() {
    let all = generated();
    assert!(all.len() > 100);
    for v in all.values() {
        let read = parse_json(&v.json);
        assert_eq!(read.get("name").str(), v.name);
        assert_eq!(to_writer_tree(&read).to_text(), v.json, "{}", v.name);
    }
    // The writer escapes what a string may hold, and the reader gets it back.
    let w = cse_link::vectors::Json::Obj(vec![(
        "s".into(),
        cse_link::vectors::Json::Str("a\"b\\c\u{1}".into()),
    )]);
    let text = w.to_text();
    assert_eq!(text, "{\n  \"s\": \"a\\\"b\\\\c\\u0001\"\n}\n");
    assert_eq!(to_writer_tree(&parse_json(&text)), w);
}
