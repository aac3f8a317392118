//! Outsider round 5 (black box): the stream configuration written over CCISE. Configurations
//! the ECU must not write are refused before anything is sealed (no counter used, the sensor
//! untouched); what the sensor decodes is what the ECU wrote and streams with, SV-5 included;
//! a write sealed under the old CCISE generation means nothing after VerifyNewKey; a second
//! controller (another SPDM peer) cannot move the owner's configuration or counters.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use cse_core::csi2::VirtualChannel;
use cse_core::{
    BlockConfig, CipherSuite, FrameConfig, KeyId, Policy, SecurityVariant, SvLevel, TagLen, TagMode,
};
use cse_link::scene::Scene;
use cse_link::{
    Ecu, EcuIdentity, OsRandom, PeerId, Protocol, Sensor, SensorIdentity, SensorMemory, configure,
    handshake, key_update,
};
use spdm_lite::crypto::AlgorithmSet;

const ROOT: &[u8] = include_bytes!("../pki/p256/root.cert.der");
const CHAIN: &[u8] = include_bytes!("../pki/p256/chain.der");
const LEAF_KEY: &[u8] = include_bytes!("../pki/p256/leaf.key.der");
const ECU_CHAIN: &[u8] = include_bytes!("../pki/p256/req_chain.der");
const ECU_KEY: &[u8] = include_bytes!("../pki/p256/req_leaf.key.der");
const ALGS: [AlgorithmSet; 1] = [AlgorithmSet::SET_A];

fn block(sv: SecurityVariant, suite: CipherSuite) -> BlockConfig {
    BlockConfig {
        sv,
        suite,
        tag_len: TagLen::L16,
        tag_mode: TagMode::PerMessage,
    }
}

fn good() -> FrameConfig {
    FrameConfig::uniform(
        block(SecurityVariant::FullIntegrity, CipherSuite::Aes128Cmac),
        KeyId::default(),
    )
}

fn lowest_policy() -> Policy {
    Policy {
        min_top: SvLevel::Sv5,
        min_image: SvLevel::Sv5,
        min_bottom: SvLevel::Sv5,
    }
}

fn sensor_id() -> SensorIdentity {
    SensorIdentity::from_der(AlgorithmSet::SET_A, CHAIN, ROOT, LEAF_KEY)
        .unwrap()
        .trusting_ecu_root(ROOT)
}

fn ecu_id() -> EcuIdentity {
    EcuIdentity::from_der(AlgorithmSet::SET_A, ECU_CHAIN, ROOT, ECU_KEY).unwrap()
}

/// Runs `f` with an authenticated ECU (default peer) and sensor, nothing configured yet; a
/// second authenticated identity is available to `f` through `ecu_id`.
fn with_link(f: impl FnOnce(&mut Ecu<'_>, &mut Sensor<'_>)) {
    let id = sensor_id();
    let eid = ecu_id();
    let verifier = spdm_lite::x509::X509Verifier::new(spdm_lite::crypto::RustCrypto, ROOT);
    let mut mem = SensorMemory::new();
    let mut sensor = Sensor::new(&id, &mut mem, Protocol::Sep, VirtualChannel::default()).unwrap();
    let mut rng = OsRandom;
    let mut buf = vec![0u8; 8192];
    let mut ecu = Ecu::new(
        &mut rng,
        &verifier,
        &mut buf,
        &ALGS,
        Protocol::Sep,
        VirtualChannel::default(),
        lowest_policy(),
        Some(&eid),
    )
    .unwrap();
    handshake(&mut ecu, &mut sensor).unwrap();
    f(&mut ecu, &mut sensor);
}

fn snapshot(sensor: &Sensor<'_>) -> (Vec<u8>, Option<u32>, u32) {
    (
        sensor.registers().registers().to_vec(),
        sensor.cci_last_counter(),
        sensor.cci_generation(),
    )
}

/// Unsafe or inconsistent configurations (SV-4 outside the image, SV-1 without encryption,
/// SV-2 naming an encrypting suite, SV-3/SV-4 parameters out of bounds, a 4-byte tag) are
/// refused by the ECU before sealing: no CCISE counter is used, the sensor is exactly as
/// before and the next genuine write takes the very next counter.
#[test]
fn configurations_the_ecu_must_not_write_are_never_sealed() {
    with_link(|ecu, sensor| {
        configure(ecu, sensor, &good()).unwrap();
        assert_eq!(sensor.cci_last_counter(), Some(1));
        let before = snapshot(sensor);
        let cfg_before = sensor.stream_config().unwrap();
        let mut bad = Vec::new();
        let mut c = good();
        c.top.sv = SecurityVariant::BytePartialIntegrity { start: 0, len: 4 };
        bad.push(c);
        let mut c = good();
        c.image.sv = SecurityVariant::FullIntegrityEncrypted;
        bad.push(c);
        let mut c = good();
        c.image.suite = CipherSuite::Aes128Gcm;
        bad.push(c);
        let mut c = good();
        c.image.sv = SecurityVariant::LinePartialIntegrity {
            stride: 0,
            offset: 0,
        };
        bad.push(c);
        let mut c = good();
        c.image.sv = SecurityVariant::LinePartialIntegrity {
            stride: 2,
            offset: 7,
        };
        bad.push(c);
        let mut c = good();
        c.image.sv = SecurityVariant::BytePartialIntegrity {
            start: u16::MAX,
            len: u16::MAX,
        };
        bad.push(c);
        assert!(TagLen::new(0).is_err());
        assert!(TagLen::new(4).is_err());
        for c in &bad {
            let mut frame = [0u8; ccise::wire::MAX_FRAME_LEN];
            assert!(
                ecu.seal_stream_config(c, &mut frame).is_err(),
                "ECU sealed {c:?}"
            );
            assert!(
                frame.iter().all(|&b| b == 0),
                "bytes left in the output: {c:?}"
            );
            assert_eq!(snapshot(sensor), before);
            assert_eq!(sensor.stream_config().unwrap(), cfg_before);
        }
        // Same key family (tag lengths, scopes and suite family belong to the generation).
        let mut next = good();
        next.image.sv = SecurityVariant::LinePartialIntegrity {
            stride: 2,
            offset: 1,
        };
        configure(ecu, sensor, &next).unwrap();
        assert_eq!(
            sensor.cci_last_counter(),
            Some(2),
            "a refused config used a counter"
        );
    });
}

/// For a set of valid configurations (SV-5 in every block, mixed tag lengths and modes,
/// SV-3/SV-4 edge parameters), the sensor decodes exactly what the ECU wrote (key id
/// aside), streams under it, and the ECU's receiver releases the frame as clean.
#[test]
fn the_sensor_streams_exactly_the_configuration_the_ecu_wrote() {
    let mut configs = Vec::new();
    configs.push(FrameConfig::uniform(
        block(SecurityVariant::NoSecurity, CipherSuite::Aes128Cmac),
        KeyId::default(),
    ));
    let mut c = good();
    c.image = BlockConfig {
        sv: SecurityVariant::LinePartialIntegrity {
            stride: 4,
            offset: 3,
        },
        suite: CipherSuite::Aes128Cmac,
        tag_len: TagLen::L8,
        tag_mode: TagMode::PerDataType,
    };
    configs.push(c);
    let mut c = good();
    c.image.sv = SecurityVariant::BytePartialIntegrity { start: 0, len: 1 };
    c.top.tag_len = TagLen::L12;
    configs.push(c);
    for config in configs {
        with_link(|ecu, sensor| {
            if config.validate().is_err() {
                let mut frame = [0u8; ccise::wire::MAX_FRAME_LEN];
                assert!(ecu.seal_stream_config(&config, &mut frame).is_err());
                return;
            }
            configure(ecu, sensor, &config).unwrap();
            let mut seen = sensor.stream_config().unwrap();
            seen.key_id = config.key_id;
            assert_eq!(seen, config);
            let scene = Scene::new(64, 8, VirtualChannel::default());
            let frame = scene.frame(1).unwrap();
            let mut wire = Vec::new();
            sensor.transmit_frame(&frame, &mut wire).unwrap();
            let mut out = Vec::new();
            let report = ecu.receive_frame(&wire, 0, &mut out);
            assert!(report.clean, "{config:?}: {report:?}");
            assert_eq!(out, frame, "{config:?}");
        });
    }
}

/// A configuration write sealed under generation 0 and held back until after KEY_UPDATE
/// (VerifyNewKey moved the CCISE channel to generation 1) is refused: registers, counters
/// and configuration stay as they were; the new generation starts at counter 1, and the old
/// write is still refused after the new generation accepted writes.
#[test]
fn a_write_of_the_old_generation_means_nothing_after_the_switch() {
    with_link(|ecu, sensor| {
        configure(ecu, sensor, &good()).unwrap();
        let mut held = [0u8; ccise::wire::MAX_FRAME_LEN];
        let mut unsafe_cfg = good();
        unsafe_cfg.image.sv = SecurityVariant::NoSecurity;
        let n = ecu.seal_stream_config(&unsafe_cfg, &mut held).unwrap();
        let held = held[..n].to_vec();
        let old = sensor.cci_generation();
        let generation = key_update(ecu, sensor).unwrap();
        assert!(generation > old);
        assert_eq!(sensor.cci_generation(), generation);
        assert_eq!(ecu.cci_generation(), generation);
        let before = snapshot(sensor);
        assert_eq!(before.1, None);
        assert!(sensor.handle_cci_write(&held).is_err());
        assert_eq!(snapshot(sensor), before);
        assert_eq!(sensor.stream_config().unwrap().image, good().image);
        let mut next = good();
        next.bottom.sv = SecurityVariant::NoSecurity;
        configure(ecu, sensor, &next).unwrap();
        assert_eq!(sensor.cci_last_counter(), Some(1));
        let before = snapshot(sensor);
        // Same counter (1) under the old keys, and a higher one (2): both refused.
        assert!(sensor.handle_cci_write(&held).is_err());
        assert_eq!(snapshot(sensor), before);
        let cfg = sensor.stream_config().unwrap();
        assert_eq!(cfg.bottom.sv, SecurityVariant::NoSecurity);
        assert_eq!(cfg.image.sv, SecurityVariant::FullIntegrity);
    });
}

/// Two controllers: a second authenticated ECU (another peer) takes the keys over; the first
/// ECU's writes, held back or new, are refused afterwards and never touch what the second
/// one wrote or its counters. An ECU without an identity gets no configuration rights at all.
#[test]
fn a_second_controller_cannot_write_into_the_owners_session() {
    let id = sensor_id();
    let eid = ecu_id();
    let verifier = spdm_lite::x509::X509Verifier::new(spdm_lite::crypto::RustCrypto, ROOT);
    let mut mem = SensorMemory::new();
    let mut sensor = Sensor::new(&id, &mut mem, Protocol::Sep, VirtualChannel::default()).unwrap();
    let (mut r1, mut r2, mut r3) = (OsRandom, OsRandom, OsRandom);
    let (mut b1, mut b2, mut b3) = (vec![0u8; 8192], vec![0u8; 8192], vec![0u8; 8192]);
    let mk = |rng, buf, identity| {
        Ecu::new(
            rng,
            &verifier,
            buf,
            &ALGS,
            Protocol::Sep,
            VirtualChannel::default(),
            lowest_policy(),
            identity,
        )
        .unwrap()
    };
    let mut one = mk(&mut r1, &mut b1, Some(&eid));
    handshake(&mut one, &mut sensor).unwrap();
    configure(&mut one, &mut sensor, &good()).unwrap();
    let mut held = [0u8; ccise::wire::MAX_FRAME_LEN];
    let n = one.seal_stream_config(&good(), &mut held).unwrap();
    let held = held[..n].to_vec();

    // A rogue controller without an identity: its session gets no keys, changes nothing.
    let mut rogue = mk(&mut r3, &mut b3, None).with_peer(PeerId(0x21));
    let _ = handshake(&mut rogue, &mut sensor);
    let before = snapshot(&sensor);
    let mut frame = [0u8; ccise::wire::MAX_FRAME_LEN];
    let mut weak = good();
    weak.image.sv = SecurityVariant::NoSecurity;
    if let Ok(n) = rogue.seal_stream_config(&weak, &mut frame) {
        assert!(sensor.handle_cci_write(&frame[..n]).is_err());
    }
    assert_eq!(snapshot(&sensor), before);
    assert_eq!(sensor.key_owner(), Some(PeerId::DEFAULT));

    // A second genuine ECU takes over and configures.
    let mut two = mk(&mut r2, &mut b2, Some(&eid)).with_peer(PeerId(0x20));
    handshake(&mut two, &mut sensor).unwrap();
    assert_eq!(sensor.key_owner(), Some(PeerId(0x20)));
    let mut mine = good();
    mine.top.tag_len = TagLen::L8;
    configure(&mut two, &mut sensor, &mine).unwrap();
    let before = snapshot(&sensor);
    assert_eq!(before.1, Some(1));
    // The first ECU's held write and a fresh one of its own (counter 3 > 1) are refused.
    assert!(sensor.handle_cci_write(&held).is_err());
    assert_eq!(snapshot(&sensor), before);
    // The first ECU does not know it lost the keys: it still seals.
    let n = one.seal_stream_config(&weak, &mut frame).unwrap();
    assert!(sensor.handle_cci_write(&frame[..n]).is_err());
    assert_eq!(snapshot(&sensor), before);
    let mut seen = sensor.stream_config().unwrap();
    seen.key_id = mine.key_id;
    assert_eq!(seen, mine);
    // The owner's counter sequence went on as if nothing had come in between.
    configure(&mut two, &mut sensor, &mine).unwrap();
    assert_eq!(sensor.cci_last_counter(), Some(2));
}

/// After KEY_UPDATE the ECU may not switch the stream to another key family either (the
/// family belongs to the session's keys): the write is refused before sealing, the sensor is
/// unchanged, and frames under the new generation still arrive clean with the configuration
/// both ends agree on.
#[test]
fn a_key_update_does_not_open_a_door_to_another_key_family() {
    with_link(|ecu, sensor| {
        configure(ecu, sensor, &good()).unwrap();
        let scene = Scene::new(64, 8, VirtualChannel::default());
        let mut wire = Vec::new();
        sensor
            .transmit_frame(&scene.frame(1).unwrap(), &mut wire)
            .unwrap();
        let mut out = Vec::new();
        assert!(ecu.receive_frame(&wire, 0, &mut out).clean);
        let _ = key_update(ecu, sensor).unwrap();
        let before = snapshot(sensor);
        for other in [
            FrameConfig::uniform(
                block(SecurityVariant::FullIntegrity, CipherSuite::Aes256Cmac),
                KeyId::default(),
            ),
            FrameConfig::uniform(
                BlockConfig {
                    tag_len: TagLen::L8,
                    ..block(SecurityVariant::FullIntegrity, CipherSuite::Aes128Cmac)
                },
                KeyId::default(),
            ),
        ] {
            let mut frame = [0u8; ccise::wire::MAX_FRAME_LEN];
            assert!(
                ecu.seal_stream_config(&other, &mut frame).is_err(),
                "{other:?}"
            );
            assert_eq!(snapshot(sensor), before);
        }
        for n in 2..4 {
            let frame = scene.frame(n).unwrap();
            let mut wire = Vec::new();
            sensor.transmit_frame(&frame, &mut wire).unwrap();
            let mut out = Vec::new();
            let report = ecu.receive_frame(&wire, u64::from(n), &mut out);
            assert!(report.clean, "{report:?}");
            assert_eq!(out, frame);
        }
    });
}
