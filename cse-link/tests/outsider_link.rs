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
/// packets are all released, but its `FrameReport` says `clean: false` with `NotClean` (and
/// `ScopeFailed` under scopes): the findings of the broken frame, reported when the next
/// frame starts, are charged to the next frame, although `FrameReport::clean` promises
/// "every packet of the frame verified, the frame completed, and nothing was rejected".
#[test]
#[ignore = "FINDING: Ecu::receive_frame charges the abandonment (NotClean, ScopeFailed) of a \
            frame whose end never arrived to the report of the next, genuine frame"]
fn a_frame_without_its_end_does_not_make_the_next_frame_unclean() {
    let failures = broken_frame_then_genuine(&[0, 1, 4]);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
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
