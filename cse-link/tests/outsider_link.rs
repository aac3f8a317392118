//! Outsider attacks on the whole link (`cse_link::Sensor` and `cse_link::Ecu`), written against
//! the public API and the docs only: broken frames on the wire followed by genuine ones,
//! forged, replayed and stale CCISE writes, records of the owner replayed from another peer's
//! address, and keys after a missed heartbeat.

use cse_core::{BlockConfig, CipherSuite, FrameConfig, KeyId, Policy};
use cse_core::{SecurityVariant, TagLen, TagMode};
use cse_link::{Ecu, EcuIdentity, LinkError, PeerId, Protocol, Sensor, SensorIdentity};
use cse_link::{SensorMemory, scene::Scene};
use spdm_lite::crypto::{AlgorithmSet, RustCrypto};
use spdm_lite::x509::X509Verifier;

fn pki(f: &str) -> Vec<u8> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../spdm-lite/tests/pki/p256");
    std::fs::read(format!("{dir}/{f}")).expect("test pki")
}

struct Pki {
    root: Vec<u8>,
    sensor: SensorIdentity,
    ecu: EcuIdentity,
}

fn identities() -> Pki {
    let set = AlgorithmSet::SET_A;
    let root = pki("root.cert.der");
    let sensor = SensorIdentity::from_der(set, &pki("chain.der"), &root, &pki("leaf.key.der"))
        .expect("sensor identity")
        .trusting_ecu_root(&root);
    let ecu = EcuIdentity::from_der(set, &pki("req_chain.der"), &root, &pki("req_leaf.key.der"))
        .expect("ecu identity");
    Pki { root, sensor, ecu }
}

const OFFERED: [AlgorithmSet; 1] = [AlgorithmSet::SET_A];

fn config(tag_mode: TagMode) -> FrameConfig {
    let (sv, suite) = match tag_mode {
        TagMode::PerMessage => (
            SecurityVariant::FullIntegrityEncrypted,
            CipherSuite::Aes256Gcm,
        ),
        _ => (SecurityVariant::FullIntegrity, CipherSuite::Aes256Gmac),
    };
    FrameConfig::uniform(
        BlockConfig {
            sv,
            suite,
            tag_len: TagLen::L16,
            tag_mode,
        },
        KeyId::default(),
    )
}

/// Builds an authenticated, configured link and runs `body` on it.
fn with_link(
    protocol: Protocol,
    tag_mode: TagMode,
    body: impl FnOnce(&mut Ecu<'_>, &mut Sensor<'_>),
) {
    let p = identities();
    let vc = cse_link::demo::default_vc();
    let mut memory = SensorMemory::new();
    let mut rng = cse_link::OsRandom;
    let mut chain_buf = vec![0u8; 8192];
    let verifier = X509Verifier::new(RustCrypto, &p.root);
    let mut sensor = Sensor::new(&p.sensor, &mut memory, protocol, vc).expect("sensor");
    let mut ecu = Ecu::new(
        &mut rng,
        &verifier,
        &mut chain_buf,
        &OFFERED,
        protocol,
        vc,
        Policy::PERMISSIVE,
        Some(&p.ecu),
    )
    .expect("ecu");
    cse_link::handshake(&mut ecu, &mut sensor).expect("handshake");
    let _ = cse_link::configure(&mut ecu, &mut sensor, &config(tag_mode)).expect("configure");
    body(&mut ecu, &mut sensor);
}

fn scene() -> Scene {
    Scene::new(64, 6, cse_link::demo::default_vc())
}

/// Wire packets of one protected frame, split at the CSI-2 packet boundaries.
fn split(wire: &[u8]) -> Vec<Vec<u8>> {
    cse_core::csi2::Packets::new(wire, cse_core::csi2::HeaderForm::Dphy)
        .map(|p| p.expect("packet").raw.to_vec())
        .collect()
}

/// Frame 2 reaches the ECU broken by attack `attack`: 0 a garbage packet header whose length
/// swallows the rest, 1 a packet cut short, 2 the previous frame's packets mixed in, 3 one
/// packet twice, 4 only its first half, 5 frame 1 again instead. Frames 3 and 4 follow
/// genuine: they must be released whole; returns the findings of their reports that are not
/// the expected ones (`Loss` where frame 2 never started: attacks 2 under FSED and 5).
fn broken_frame_then_genuine(attacks: &[usize]) -> Vec<String> {
    let mut failures: Vec<String> = Vec::new();
    for protocol in [Protocol::Sep, Protocol::Fsed] {
        for mode in [TagMode::PerMessage, TagMode::PerFrame] {
            if protocol == Protocol::Fsed && mode == TagMode::PerMessage {
                continue;
            }
            for &attack in attacks {
                with_link(protocol, mode, |ecu, sensor| {
                    let s = scene();
                    let mut wires = Vec::new();
                    for n in 1..=4u16 {
                        let mut w = Vec::new();
                        sensor
                            .transmit_frame(&s.frame(n).expect("scene"), &mut w)
                            .expect("tx");
                        wires.push(w);
                    }
                    let mut out = Vec::new();
                    let r1 = ecu.receive_frame(&wires[0], 1, &mut out);
                    assert!(r1.clean, "{r1:?}");
                    let (f1, f2) = (split(&wires[0]), split(&wires[1]));
                    let mid = f2.len() / 2;
                    let broken: Vec<u8> = match attack {
                        0 => [
                            &f2[..mid],
                            &[vec![0x2C, 0x40, 0x00, 0x11, 0xDE, 0xAD]][..],
                            &f2[mid..],
                        ]
                        .concat()
                        .concat(),
                        1 => [f2[..mid].concat(), f2[mid][..f2[mid].len() - 3].to_vec()].concat(),
                        2 => f2
                            .iter()
                            .zip(&f1)
                            .flat_map(|(a, b)| [b.clone(), a.clone()])
                            .collect::<Vec<_>>()
                            .concat(),
                        3 => [&f2[..=mid], &f2[mid..]].concat().concat(),
                        4 => f2[..mid].concat(),
                        _ => wires[0].clone(),
                    };
                    let _ = ecu.receive_frame(&broken, 2, &mut out);
                    for (k, n) in [(2usize, 3u16), (3, 4)] {
                        let r = ecu.receive_frame(&wires[k], u64::from(n), &mut out);
                        assert_eq!(
                            out,
                            s.frame(n).expect("scene"),
                            "{protocol:?} attack {attack}"
                        );
                        let frame_2_lost = attack == 5 || protocol == Protocol::Fsed && attack == 2;
                        let expected = if frame_2_lost && n == 3 {
                            vec![cse_link::Finding::Loss]
                        } else {
                            vec![]
                        };
                        if r.findings != expected {
                            failures.push(format!(
                                "{protocol:?} {mode:?} attack {attack}: frame {n}: {:?}",
                                r.findings
                            ));
                        }
                    }
                });
            }
        }
    }
    failures
}

#[test]
fn a_broken_frame_on_the_wire_leaves_the_next_frames_clean() {
    let failures = broken_frame_then_genuine(&[2, 3, 5]);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A frame whose end never arrives (its FE dropped or its last packets cut): the next frame's
/// packets are all released, and its `FrameReport` must be clean: the findings of the broken
/// frame, reported by the receiver when the next frame starts, belong to the broken frame
/// (`FrameReport::clean` promises "every packet of the frame verified, the frame completed,
/// and nothing was rejected"). Found by the outsider pass: they were charged to the next
/// frame (`NotClean`, and `ScopeFailed` under scopes).
#[test]
fn a_frame_without_its_end_does_not_make_the_next_frame_unclean() {
    let failures = broken_frame_then_genuine(&[0, 1, 4]);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The abandoned frame keeps its own outcome: its report (the call it arrived in) is not
/// clean, and the next frame's report names it, by its frame counter, in `earlier` (given up,
/// and its scope failed under scoped tag modes) without charging the next frame.
#[test]
fn an_abandoned_frame_is_reported_under_its_own_frame_counter() {
    for (protocol, mode) in [
        (Protocol::Sep, TagMode::PerMessage),
        (Protocol::Sep, TagMode::PerFrame),
        (Protocol::Fsed, TagMode::PerFrame),
    ] {
        with_link(protocol, mode, |ecu, sensor| {
            let s = scene();
            let mut wires = Vec::new();
            for n in 1..=3u16 {
                let mut w = Vec::new();
                sensor
                    .transmit_frame(&s.frame(n).expect("scene"), &mut w)
                    .expect("tx");
                wires.push(w);
            }
            let mut out = Vec::new();
            let r1 = ecu.receive_frame(&wires[0], 1, &mut out);
            assert!(r1.clean && r1.earlier.is_empty(), "{r1:?}");
            let f2 = split(&wires[1]);
            let r2 = ecu.receive_frame(&f2[..f2.len() / 2].concat(), 2, &mut out);
            assert!(!r2.clean, "{protocol:?} {mode:?}: {r2:?}");
            assert!(r2.findings.contains(&cse_link::Finding::NotClean));
            let fc2 = r2.frame_counter.expect("frame 2 started");
            let r3 = ecu.receive_frame(&wires[2], 3, &mut out);
            assert!(r3.clean, "{protocol:?} {mode:?}: {r3:?}");
            assert_eq!(out, s.frame(3).expect("scene"));
            assert_ne!(r3.frame_counter, Some(fc2));
            let mut expected = vec![(fc2, cse_link::Finding::NotClean)];
            if mode == TagMode::PerFrame {
                expected.push((fc2, cse_link::Finding::ScopeFailed));
            }
            assert_eq!(r3.earlier, expected, "{protocol:?} {mode:?}");
        });
    }
}

/// CCISE writes a keyless attacker can put on the I2C bus: the configuration write replayed,
/// with a flipped bit, cut short or extended, and a genuine write sealed before a KEY_UPDATE
/// but delivered after it. None applies, the counters do not move, and the next genuine
/// write applies.
#[test]
fn replayed_forged_and_stale_cci_writes_change_nothing() {
    with_link(Protocol::Sep, TagMode::PerMessage, |ecu, sensor| {
        let mut frame = [0u8; ccise::wire::MAX_FRAME_LEN];
        let n = ecu
            .seal_stream_config(&config(TagMode::PerMessage), &mut frame)
            .expect("seal");
        let write = frame[..n].to_vec();
        sensor.handle_cci_write(&write).expect("applies");
        let regs = sensor.registers().registers().to_vec();
        let last = sensor.cci_last_counter();
        assert_eq!(last, Some(2), "configure used counter 1, this write 2");
        let mut attacks = vec![
            write.clone(),
            write[..n - 1].to_vec(),
            [write.as_slice(), &[0]].concat(),
        ];
        for bit in [0, 8 * 2, 8 * (n - 17), 8 * n - 1] {
            let mut f = write.clone();
            f[bit / 8] ^= 1 << (bit % 8);
            attacks.push(f);
        }
        // A write of the next counter, sealed but withheld: it must still apply after the
        // attacks, and no longer after a KEY_UPDATE.
        let m = ecu
            .seal_stream_config(&config(TagMode::PerMessage), &mut frame)
            .expect("seal");
        let withheld = frame[..m].to_vec();
        for a in &attacks {
            assert!(sensor.handle_cci_write(a).is_err(), "{a:02x?}");
            assert_eq!(sensor.cci_last_counter(), last);
            assert_eq!(sensor.registers().registers().to_vec(), regs);
        }
        let m = ecu
            .seal_stream_config(&config(TagMode::PerMessage), &mut frame)
            .expect("seal");
        let stale = frame[..m].to_vec();
        sensor
            .handle_cci_write(&withheld)
            .expect("the withheld genuine write applies");
        assert_eq!(sensor.cci_last_counter(), Some(3));
        let generation = cse_link::key_update(ecu, sensor).expect("key update");
        assert_eq!(sensor.cci_generation(), generation);
        assert_eq!(
            sensor.cci_last_counter(),
            None,
            "fresh counters under the new keys"
        );
        let regs = sensor.registers().registers().to_vec();
        for a in [&stale, &withheld, &write] {
            assert!(
                sensor.handle_cci_write(a).is_err(),
                "an old generation's write"
            );
            assert_eq!(sensor.cci_last_counter(), None);
            assert_eq!(sensor.registers().registers().to_vec(), regs);
        }
        let _ = cse_link::configure(ecu, sensor, &config(TagMode::PerMessage)).expect("new gen");
        assert_eq!(sensor.cci_last_counter(), Some(1));
    });
}

/// The owner's secured records (a heartbeat, a KEY_UPDATE) copied by a peer at another
/// transport address, and the owner's own records replayed at its address: nothing moves on
/// the owner's session, keys or CCISE channel, and the owner's next exchanges work.
#[test]
fn the_owners_records_replayed_from_anywhere_move_nothing() {
    with_link(Protocol::Sep, TagMode::PerMessage, |ecu, sensor| {
        use spdm_lite::msgs::key_update::KeyUpdateOp;
        let owner = ecu.peer();
        let (mut req, mut rsp) = (vec![0u8; 4096], vec![0u8; 4096]);
        let mut records = Vec::new();
        let n = ecu.write_heartbeat(&mut req).expect("heartbeat");
        records.push(req[..n].to_vec());
        let m = sensor
            .handle_spdm_from(owner, &mut req[..n], &mut rsp)
            .expect("answer");
        let _ = ecu.handle_session_response(&mut rsp[..m]).expect("ack");
        for op in [KeyUpdateOp::UPDATE_ALL_KEYS, KeyUpdateOp::VERIFY_NEW_KEY] {
            let n = ecu.write_key_update(op, &mut req).expect("key update");
            records.push(req[..n].to_vec());
            let m = sensor
                .handle_spdm_from(owner, &mut req[..n], &mut rsp)
                .expect("answer");
            let _ = ecu.handle_session_response(&mut rsp[..m]).expect("ack");
        }
        let generation = sensor.cci_generation();
        assert_eq!(generation, ecu.cci_generation());
        let s = scene();
        let mut wire = Vec::new();
        sensor
            .transmit_frame(&s.frame(1).expect("scene"), &mut wire)
            .expect("tx");
        for peer in [owner, PeerId(9), PeerId(10)] {
            for r in &records {
                let mut m = r.clone();
                let mut out = vec![0xEEu8; 4096];
                let _ = sensor.handle_spdm_from(peer, &mut m, &mut out);
                assert_eq!(sensor.key_owner(), Some(owner), "peer {peer:?}");
                assert!(sensor.holds_keys());
                assert_eq!(sensor.cci_generation(), generation);
            }
        }
        // The owner's session goes on: a heartbeat, a CCISE write, a frame.
        cse_link::heartbeat(ecu, sensor).expect("heartbeat after the replays");
        let _ = cse_link::configure(ecu, sensor, &config(TagMode::PerMessage)).expect("configure");
        let mut out = Vec::new();
        let r = ecu.receive_frame(&wire, 1, &mut out);
        assert!(r.clean, "{r:?}");
        wire.clear();
        sensor
            .transmit_frame(&s.frame(2).expect("scene"), &mut wire)
            .expect("tx");
        let r = ecu.receive_frame(&wire, 2, &mut out);
        assert!(r.clean, "{r:?}");
    });
}

/// A missed heartbeat ends the session: the sensor drops every key at that tick, writes
/// nothing to the wire afterwards, refuses the ECU's CCISE writes (even one sealed before),
/// and the old records of the session get no answer.
#[test]
fn a_missed_heartbeat_drops_every_key_and_nothing_is_protected_afterwards() {
    let p = identities();
    let vc = cse_link::demo::default_vc();
    let mut memory = SensorMemory::new();
    let mut rng = cse_link::OsRandom;
    let mut chain_buf = vec![0u8; 8192];
    let verifier = X509Verifier::new(RustCrypto, &p.root);
    let mut sensor = Sensor::new(&p.sensor, &mut memory, Protocol::Fsed, vc).expect("sensor");
    sensor.set_heartbeat_period(1);
    let _ = sensor.tick(0);
    let mut ecu = Ecu::new(
        &mut rng,
        &verifier,
        &mut chain_buf,
        &OFFERED,
        Protocol::Fsed,
        vc,
        Policy::PERMISSIVE,
        Some(&p.ecu),
    )
    .expect("ecu");
    cse_link::handshake(&mut ecu, &mut sensor).expect("handshake");
    let _ = cse_link::configure(&mut ecu, &mut sensor, &config(TagMode::PerFrame)).expect("cfg");
    let mut frame = [0u8; ccise::wire::MAX_FRAME_LEN];
    let n = ecu
        .seal_stream_config(&config(TagMode::PerFrame), &mut frame)
        .expect("seal");
    let (mut req, rsp) = (vec![0u8; 4096], vec![0u8; 4096]);
    let hb = ecu.write_heartbeat(&mut req).expect("heartbeat");
    let hb_record = req[..hb].to_vec();
    assert!(!sensor.tick(2000), "the window is 2 s");
    assert!(sensor.holds_keys());
    assert!(sensor.tick(2001), "the session ends");
    assert!(!sensor.holds_keys());
    assert_eq!(sensor.key_owner(), None);
    let mut wire = vec![0xAB; 3];
    let e = sensor.transmit_frame(&scene().frame(1).expect("scene"), &mut wire);
    assert!(matches!(e, Err(LinkError::NotAuthenticated)), "{e:?}");
    assert_eq!(wire, [0xAB; 3], "nothing written");
    let regs = sensor.registers().registers().to_vec();
    assert!(matches!(
        sensor.handle_cci_write(&frame[..n]),
        Err(LinkError::NotAuthenticated)
    ));
    assert_eq!(sensor.registers().registers().to_vec(), regs);
    let mut m = hb_record.clone();
    let mut out = vec![0xEEu8; 4096];
    assert!(
        sensor
            .handle_spdm_from(ecu.peer(), &mut m, &mut out)
            .is_err()
    );
    assert!(out.iter().all(|&b| b == 0xEE));
    assert!(!sensor.holds_keys());
    let _ = rsp;
}

/// KEY_UPDATE sequences other than the helper's UpdateAllKeys + VerifyNewKey: UpdateKey (the
/// request direction only) twice before one VerifyNewKey, then UpdateAllKeys twice without a
/// frame in between, with forged answers offered to the ECU before each genuine one. Both
/// ends must agree on the generation; CCISE writes and frames keep working after each step.
#[test]
fn update_key_sequences_with_forged_answers_keep_both_ends_in_step() {
    use spdm_lite::msgs::key_update::KeyUpdateOp;
    for protocol in [Protocol::Sep, Protocol::Fsed] {
        let mode = if protocol == Protocol::Sep {
            TagMode::PerMessage
        } else {
            TagMode::PerFrame
        };
        with_link(protocol, mode, |ecu, sensor| {
            let s = scene();
            let owner = ecu.peer();
            let (mut req, mut rsp) = (vec![0u8; 4096], vec![0u8; 4096]);
            let mut out = Vec::new();
            let mut n_frame = 0u16;
            let mut frame_ok = |ecu: &mut Ecu<'_>, sensor: &mut Sensor<'_>, step: &str| {
                n_frame += 1;
                let mut wire = Vec::new();
                sensor
                    .transmit_frame(&s.frame(n_frame).expect("scene"), &mut wire)
                    .expect("tx");
                let r = ecu.receive_frame(&wire, u64::from(n_frame), &mut out);
                assert!(r.clean, "{protocol:?} after {step}: {r:?}");
            };
            frame_ok(ecu, sensor, "configure");
            let sequences: [&[KeyUpdateOp]; 3] = [
                &[KeyUpdateOp::UPDATE_KEY, KeyUpdateOp::VERIFY_NEW_KEY],
                &[
                    KeyUpdateOp::UPDATE_KEY,
                    KeyUpdateOp::UPDATE_KEY,
                    KeyUpdateOp::VERIFY_NEW_KEY,
                ],
                &[
                    KeyUpdateOp::UPDATE_ALL_KEYS,
                    KeyUpdateOp::VERIFY_NEW_KEY,
                    KeyUpdateOp::UPDATE_ALL_KEYS,
                    KeyUpdateOp::VERIFY_NEW_KEY,
                ],
            ];
            for (q, ops) in sequences.iter().enumerate() {
                for op in *ops {
                    let n = ecu.write_key_update(*op, &mut req).expect("key update");
                    let m = sensor
                        .handle_spdm_from(owner, &mut req[..n], &mut rsp)
                        .expect("answer");
                    let genuine = rsp[..m].to_vec();
                    for mut forged in [genuine[..m - 1].to_vec(), {
                        let mut f = genuine.clone();
                        f[m - 2] ^= 1;
                        f
                    }] {
                        assert!(ecu.handle_session_response(&mut forged).is_err());
                    }
                    let mut g = genuine.clone();
                    let _ = ecu
                        .handle_session_response(&mut g)
                        .expect("the genuine ACK");
                }
                assert_eq!(
                    ecu.cci_generation(),
                    sensor.cci_generation(),
                    "{protocol:?} sequence {q}"
                );
                let _ = cse_link::configure(ecu, sensor, &config(mode))
                    .unwrap_or_else(|e| unreachable!("{protocol:?} sequence {q}: {e:?}"));
                frame_ok(ecu, sensor, &format!("sequence {q}"));
                frame_ok(ecu, sensor, &format!("sequence {q}, second frame"));
            }
        });
    }
}

/// The capture readers behind `cse verify` / `cse inspect` get files from anywhere: pcapng
/// files (whole and segmented CMP messages) and key files, mutated in many ways, and random
/// bytes must never panic the readers or the packet scanner.
#[test]
fn mutated_capture_files_and_key_files_never_panic_the_readers() {
    use cse_link::capture::{KeyFile, pcapng, scan};
    let mut wire = Vec::new();
    with_link(Protocol::Sep, TagMode::PerMessage, |_, sensor| {
        sensor
            .transmit_frame(&scene().frame(1).expect("scene"), &mut wire)
            .expect("tx");
    });
    let whole = pcapng::write_csi2(&wire, 1_000).expect("pcapng");
    let segmented = pcapng::write_csi2_mtu(&wire, 1_000, Some(64)).expect("pcapng");
    assert!(pcapng::read(&whole).is_ok() && pcapng::read(&segmented).is_ok());
    let key_text = "key = 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n\
                    salt = 000102030405060708090a0b\nkey_id = 1\n";
    assert!(KeyFile::parse(key_text).is_ok());
    let mut seed = 5u64;
    let mut next = move || {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (seed >> 33) as usize
    };
    let mut panics = Vec::new();
    for round in 0..6000 {
        let base: &[u8] = match round % 3 {
            0 => &whole,
            1 => &segmented,
            _ => key_text.as_bytes(),
        };
        let mut m = base.to_vec();
        for _ in 0..1 + next() % 4 {
            match next() % 5 {
                0 => {
                    let i = next() % m.len().max(1);
                    if let Some(b) = m.get_mut(i) {
                        *b ^= 1 << (next() % 8);
                    }
                }
                1 => m.truncate(next() % (m.len() + 1)),
                2 => {
                    let i = next() % (m.len() + 1);
                    m.insert(i, next() as u8);
                }
                3 => {
                    // A 32-bit length field somewhere set to something large or small.
                    let i = (next() % m.len().max(1)) & !3;
                    let v = [0u32, 1, 3, 0xFFFF_FFFF, 0x8000_0000, 12, 28][next() % 7];
                    if let Some(w) = m.get_mut(i..i + 4) {
                        w.copy_from_slice(&v.to_le_bytes());
                    }
                }
                _ => {
                    let i = next() % m.len().max(1);
                    let j = (i + 1 + next() % 16).min(m.len());
                    let (a, b) = (next() as u8, next() as u8);
                    for (k, x) in m[i..j].iter_mut().enumerate() {
                        *x = if k % 2 == 0 { a } else { b };
                    }
                }
            }
        }
        let r = std::panic::catch_unwind(|| {
            let _ = pcapng::read(&m);
            let _ = pcapng::read_selected(&m, &pcapng::Selection::default());
            let _ = scan(&m);
            if let Ok(text) = std::str::from_utf8(&m) {
                let _ = KeyFile::parse(text);
            }
        });
        if r.is_err() {
            panics.push(format!(
                "round {round}: {} bytes from base {}",
                m.len(),
                round % 3
            ));
        }
    }
    assert!(panics.is_empty(), "{}", panics.join("\n"));
}

/// `cse verify` / `cse inspect` over a protected capture an attacker edited (bits flipped,
/// bytes inserted, cut or removed): the analysis, the text table and the report never
/// panic, and every packet the analysis recovers (`cse verify --out`) is one of the
/// original packets, bit-exact (also when the ECC corrected a header bit: see
/// `verify_out_is_bit_exact_after_an_ecc_corrected_header_bit`).
#[test]
fn edited_protected_captures_never_panic_verify_or_inspect() {
    use cse_link::capture::{
        KeyFile, ProtectOptions, analyse, inspect_report, inspect_text, protect_with_nonce, summary,
    };
    let keys = KeyFile::parse(
        "key = 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n\
         salt = 000102030405060708090a0b\nkey_id = 1\n",
    )
    .expect("key file");
    let s = scene();
    let plain: Vec<u8> = (1..=3u16)
        .flat_map(|n| s.frame(n).expect("scene"))
        .collect();
    let originals = split(&plain);
    let mut seed = 11u64;
    let mut next = move || {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (seed >> 33) as usize
    };
    let mut panics = Vec::new();
    for (protocol, mode) in [
        (Protocol::Sep, TagMode::PerMessage),
        (Protocol::Fsed, TagMode::PerFrame),
    ] {
        let opts = ProtectOptions {
            protocol,
            config: config(mode),
            vc: None,
            first_frame: 1,
        };
        let protected = protect_with_nonce(&plain, &keys, &opts, &[7; 16]).expect("protect");
        let clean =
            analyse(&protected, Some(&keys), Some(protocol), Policy::PERMISSIVE).expect("analyse");
        assert_eq!(
            (clean.frames, clean.frames_clean),
            (3, 3),
            "{}",
            summary(&clean)
        );
        assert_eq!(clean.recovered, plain);
        for round in 0..400 {
            let mut m = protected.clone();
            for _ in 0..1 + next() % 3 {
                match next() % 4 {
                    0 => {
                        let i = next() % m.len();
                        m[i] ^= 1 << (next() % 8);
                    }
                    1 => m.truncate(next() % (m.len() + 1)),
                    2 => {
                        let i = next() % (m.len() + 1);
                        m.insert(i, next() as u8);
                    }
                    _ => {
                        let i = next() % m.len().max(1);
                        let j = (i + 1 + next() % 64).min(m.len());
                        m.drain(i..j);
                    }
                }
            }
            let r = std::panic::catch_unwind(|| {
                for proto in [Some(protocol), None] {
                    if let Ok(a) = analyse(&m, Some(&keys), proto, Policy::PERMISSIVE) {
                        let _ = inspect_text(&a, &m);
                        let _ = inspect_report(&a, &m, None);
                        let _ = summary(&a);
                        for p in split(&a.recovered) {
                            assert!(originals.contains(&p), "recovered {:02x?}", &p[..4]);
                        }
                    }
                    if let Ok(a) = analyse(&m, None, proto, Policy::PERMISSIVE) {
                        let _ = inspect_text(&a, &m);
                    }
                }
            });
            if r.is_err() {
                panics.push(format!("{protocol:?} round {round}"));
            }
        }
    }
    assert!(panics.is_empty(), "{}", panics.join("\n"));
}

/// docs/capture.md: `verify --out` writes "the original packets that verified, bit-exact".
/// Under FSED the original packets travel as they are; one flipped header bit (here a VC bit
/// of a RAW12 line, and a frame-number bit of an FS) is corrected by the ECC, the tag verifies
/// over the corrected header, and the analysis recovers the packet with the flipped bit still
/// in it: VC 2 instead of VC 0 (frame 1026 instead of 2) for a consumer that does not
/// correct the ECC itself. Found by the outsider pass; recovered packets now carry the header
/// the tag authenticated.
#[test]
fn verify_out_is_bit_exact_after_an_ecc_corrected_header_bit() {
    use cse_link::capture::{KeyFile, ProtectOptions, analyse, protect_with_nonce};
    let keys = KeyFile::parse(
        "key = 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n\
         salt = 000102030405060708090a0b\nkey_id = 1\n",
    )
    .expect("key file");
    let s = scene();
    let plain: Vec<u8> = (1..=2u16)
        .flat_map(|n| s.frame(n).expect("scene"))
        .collect();
    let opts = ProtectOptions {
        protocol: Protocol::Fsed,
        config: config(TagMode::PerFrame),
        vc: None,
        first_frame: 1,
    };
    let protected = protect_with_nonce(&plain, &keys, &opts, &[7; 16]).expect("protect");
    let packets = split(&protected);
    // The first RAW12 line (DT 0x2C) and the FS of frame 2 (the second FS).
    let line = packets
        .iter()
        .position(|p| p[0] & 0x3F == 0x2C)
        .expect("a line");
    let fs2 = packets
        .iter()
        .enumerate()
        .filter(|(_, p)| p[0] & 0x3F == 0x00)
        .nth(1)
        .map(|(i, _)| i)
        .expect("the second FS");
    let mut wrong = Vec::new();
    for (at, byte, bit) in [(line, 0, 7), (fs2, 2, 2)] {
        let mut edited = packets.clone();
        edited[at][byte] ^= 1 << bit;
        let capture = edited.concat();
        let a = analyse(
            &capture,
            Some(&keys),
            Some(Protocol::Fsed),
            Policy::PERMISSIVE,
        )
        .expect("analyse");
        for p in split(&a.recovered) {
            if !split(&plain).contains(&p) {
                wrong.push(format!(
                    "packet {at}, byte {byte} bit {bit}: recovered {:02x?}",
                    &p[..4]
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// The same at the ECU: an FSED frame with one header bit of a line flipped on the wire (the
/// ECC corrects it, the frame verifies) must be written to `out` as the sensor sent it. Found
/// by the outsider pass: `out` kept the flipped bit although the report said clean.
#[test]
fn the_ecu_releases_fsed_packets_with_their_header_corrected() {
    with_link(Protocol::Fsed, TagMode::PerFrame, |ecu, sensor| {
        let s = scene();
        let mut wire = Vec::new();
        sensor
            .transmit_frame(&s.frame(1).expect("scene"), &mut wire)
            .expect("tx");
        let mut packets = split(&wire);
        let line = packets
            .iter()
            .position(|p| p[0] & 0x3F == 0x2C)
            .expect("a line");
        packets[line][0] ^= 0x80;
        let mut out = Vec::new();
        let r = ecu.receive_frame(&packets.concat(), 1, &mut out);
        assert!(
            !r.clean || out == s.frame(1).expect("scene"),
            "clean, but out differs: {r:?}"
        );
    });
}

/// Every single header bit of every wire packet that the ECC corrects (see below for the
/// others), one at a time, under
/// SEP per-message (SV-1), SEP per-frame and FSED per-frame (SV-2): the ECU reports the frame
/// clean and writes exactly the sensor's packets. SEP rebuilds the originals from the
/// authenticated fields; FSED releases them with the header the tag authenticated.
#[test]
fn every_corrected_header_bit_leaves_the_released_frame_bit_exact() {
    for (protocol, mode) in [
        (Protocol::Sep, TagMode::PerMessage),
        (Protocol::Sep, TagMode::PerFrame),
        (Protocol::Fsed, TagMode::PerFrame),
    ] {
        with_link(protocol, mode, |ecu, sensor| {
            let s = scene();
            let mut n = 0u16;
            let mut wrong = Vec::new();
            let mut out = Vec::new();
            let packets = {
                let mut w = Vec::new();
                sensor
                    .transmit_frame(&s.frame(1).expect("scene"), &mut w)
                    .expect("tx");
                split(&w)
                    .iter()
                    .map(|p| (p.len(), p[0] & 0x3F))
                    .collect::<Vec<_>>()
            };
            for at in 0..packets.len() {
                // Not the 2 reserved bits (outside the ECC: refused as malformed), nor a bit
                // that changes the packet's length as its header reads before the correction
                // (a word-count bit of a long packet, a data-type bit that makes a long type
                // short or back): the receivers check a packet's length against its header as
                // received, and refuse it. Both fail safe.
                let (len, dt) = packets[at];
                let same_len = |b: &usize| {
                    let flipped_dt = if *b < 6 { dt ^ (1 << b) } else { dt };
                    (flipped_dt < 0x10) == (dt < 0x10) && (len == 4 || !(8..24).contains(b))
                };
                for bit in (0..30).filter(same_len) {
                    n += 1;
                    let frame = s.frame(n).expect("scene");
                    let mut w = Vec::new();
                    sensor.transmit_frame(&frame, &mut w).expect("tx");
                    let mut p = split(&w);
                    p[at][bit / 8] ^= 1 << (bit % 8);
                    let r = ecu.receive_frame(&p.concat(), u64::from(n), &mut out);
                    if !r.clean || out != frame {
                        wrong.push(format!(
                            "packet {at} bit {bit}: clean {}, out exact {}",
                            r.clean,
                            out == frame
                        ));
                    }
                }
            }
            assert!(
                wrong.is_empty(),
                "{protocol:?} {mode:?}:\n{}",
                wrong.join("\n")
            );
        });
    }
}
