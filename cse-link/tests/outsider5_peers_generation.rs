//! Outsider round 5 (black box): several SPDM peers and the CCISE generation switch. A
//! KEY_UPDATE left half way by the owner, then a take-over by another authenticated ECU, must
//! not carry the old owner's pending switch into the new owner's channel; a KEY_UPDATE on the
//! session of a peer that owns no keys must not move the owner's CCISE generation.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use cse_core::csi2::VirtualChannel;
use cse_core::{BlockConfig, CipherSuite, FrameConfig, KeyId, Policy, SecurityVariant, SvLevel};
use cse_core::{TagLen, TagMode};
use cse_link::{
    Ecu, EcuIdentity, OsRandom, PeerId, Protocol, Sensor, SensorIdentity, SensorMemory, configure,
    handshake, heartbeat, key_update,
};
use spdm_lite::crypto::AlgorithmSet;
use spdm_lite::msgs::key_update::KeyUpdateOp;

const ROOT: &[u8] = include_bytes!("../pki/p256/root.cert.der");
const CHAIN: &[u8] = include_bytes!("../pki/p256/chain.der");
const LEAF_KEY: &[u8] = include_bytes!("../pki/p256/leaf.key.der");
const ECU_CHAIN: &[u8] = include_bytes!("../pki/p256/req_chain.der");
const ECU_KEY: &[u8] = include_bytes!("../pki/p256/req_leaf.key.der");
const ALGS: [AlgorithmSet; 1] = [AlgorithmSet::SET_A];

fn config() -> FrameConfig {
    FrameConfig::uniform(
        BlockConfig {
            sv: SecurityVariant::FullIntegrity,
            suite: CipherSuite::Aes128Cmac,
            tag_len: TagLen::L16,
            tag_mode: TagMode::PerMessage,
        },
        KeyId::default(),
    )
}

fn policy() -> Policy {
    Policy {
        min_top: SvLevel::Sv2,
        min_image: SvLevel::Sv2,
        min_bottom: SvLevel::Sv2,
    }
}

/// One SPDM KEY_UPDATE step from `ecu` to `sensor` (response handed back to the ECU).
fn step(ecu: &mut Ecu<'_>, sensor: &mut Sensor<'_>, op: KeyUpdateOp) {
    let mut req = vec![0u8; 4096];
    let mut rsp = vec![0u8; 4096];
    let n = ecu.write_key_update(op, &mut req).unwrap();
    let m = sensor
        .handle_spdm_from(ecu.peer(), &mut req[..n], &mut rsp)
        .unwrap();
    let _ = ecu.handle_session_response(&mut rsp[..m]);
}

fn run(f: impl FnOnce(&mut Sensor<'_>, &mut Ecu<'_>, &mut Ecu<'_>, &mut Ecu<'_>)) {
    let id = SensorIdentity::from_der(AlgorithmSet::SET_A, CHAIN, ROOT, LEAF_KEY)
        .unwrap()
        .trusting_ecu_root(ROOT);
    let eid = EcuIdentity::from_der(AlgorithmSet::SET_A, ECU_CHAIN, ROOT, ECU_KEY).unwrap();
    let verifier = spdm_lite::x509::X509Verifier::new(spdm_lite::crypto::RustCrypto, ROOT);
    let mut mem = SensorMemory::new();
    let vc = VirtualChannel::default();
    let mut sensor = Sensor::new(&id, &mut mem, Protocol::Sep, vc).unwrap();
    let (mut r1, mut r2, mut r3) = (OsRandom, OsRandom, OsRandom);
    let (mut b1, mut b2, mut b3) = (vec![0u8; 8192], vec![0u8; 8192], vec![0u8; 8192]);
    let mk = |rng, buf, identity| {
        Ecu::new(
            rng,
            &verifier,
            buf,
            &ALGS,
            Protocol::Sep,
            vc,
            policy(),
            identity,
        )
        .unwrap()
    };
    let mut one = mk(&mut r1, &mut b1, Some(&eid));
    let mut two = mk(&mut r2, &mut b2, Some(&eid)).with_peer(PeerId(0x20));
    let mut rogue = mk(&mut r3, &mut b3, None).with_peer(PeerId(0x21));
    handshake(&mut one, &mut sensor).unwrap();
    configure(&mut one, &mut sensor, &config()).unwrap();
    f(&mut sensor, &mut one, &mut two, &mut rogue);
}

/// The owner sends UpdateAllKeys (the sensor now waits for VerifyNewKey to switch CCISE),
/// then a second ECU authenticates and takes the keys over. The new owner's channel is in
/// step with the new owner: its writes are accepted before and after its first secured
/// SPDM request (a heartbeat), and after its own KEY_UPDATE.
#[test]
fn a_half_done_key_update_does_not_follow_the_keys_to_the_next_owner() {
    run(|sensor, one, two, _| {
        let g0 = one.key_generation();
        step(one, sensor, KeyUpdateOp::UPDATE_ALL_KEYS);
        assert_ne!(one.key_generation(), g0, "UpdateAllKeys did not run");
        assert_eq!(sensor.cci_generation(), one.cci_generation());
        handshake(two, sensor).unwrap();
        assert_eq!(sensor.key_owner(), Some(PeerId(0x20)));
        assert_eq!(sensor.cci_generation(), two.cci_generation());
        configure(two, sensor, &config()).unwrap();
        heartbeat(two, sensor).unwrap();
        assert_eq!(sensor.cci_generation(), two.cci_generation());
        configure(two, sensor, &config()).unwrap();
        assert_eq!(sensor.cci_last_counter(), Some(2));
        // The old owner's VerifyNewKey (its session is gone) changes nothing either.
        let before = (sensor.cci_generation(), sensor.cci_last_counter());
        let mut req = vec![0u8; 4096];
        let mut rsp = vec![0u8; 4096];
        if let Ok(n) = one.write_key_update(KeyUpdateOp::VERIFY_NEW_KEY, &mut req) {
            let _ = sensor.handle_spdm_from(one.peer(), &mut req[..n], &mut rsp);
        }
        assert_eq!((sensor.cci_generation(), sensor.cci_last_counter()), before);
        assert_eq!(sensor.key_owner(), Some(PeerId(0x20)));
        let g = key_update(two, sensor).unwrap();
        assert_eq!(sensor.cci_generation(), g);
        assert_eq!(two.cci_generation(), g);
        configure(two, sensor, &config()).unwrap();
        assert_eq!(sensor.cci_last_counter(), Some(1));
    });
}

/// A peer without configuration rights runs a whole KEY_UPDATE on its own session: the
/// owner's CCISE generation and counters do not move, and the owner's next write is accepted
/// with the very next counter.
#[test]
fn another_peers_key_update_does_not_move_the_owners_channel() {
    run(|sensor, one, _, rogue| {
        handshake(rogue, sensor).unwrap();
        assert_eq!(sensor.key_owner(), Some(PeerId::DEFAULT));
        let before = (sensor.cci_generation(), sensor.cci_last_counter());
        let g0 = rogue.key_generation();
        let g = key_update(rogue, sensor).unwrap();
        assert_ne!(g, g0, "the rogue's KEY_UPDATE did not run");
        heartbeat(rogue, sensor).unwrap();
        assert_eq!((sensor.cci_generation(), sensor.cci_last_counter()), before);
        // The owner's own next secured request does not switch either.
        heartbeat(one, sensor).unwrap();
        assert_eq!((sensor.cci_generation(), sensor.cci_last_counter()), before);
        configure(one, sensor, &config()).unwrap();
        assert_eq!(sensor.cci_last_counter(), Some(2));
        assert_eq!(sensor.cci_generation(), one.cci_generation());
    });
}
