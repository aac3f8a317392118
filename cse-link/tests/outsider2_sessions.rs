//! Outsider round 2: SPDM sessions of several peers (`PeerId`) at one sensor, interleaved.
//! docs/security.md: connection state is per peer; a rogue's session (its GET_VERSION,
//! KEY_UPDATE, END_SESSION, timeout) never touches the owner's session, keys, configuration or
//! stream; keys live no longer than the session that made them (a missed heartbeat ends it).

use cse_core::{BlockConfig, CipherSuite, FrameConfig, KeyId, Policy};
use cse_core::{SecurityVariant, TagLen, TagMode};
use cse_link::scene::Scene;
use cse_link::{
    Ecu, EcuIdentity, LinkError, OsRandom, PeerId, Protocol, Sensor, SensorIdentity, SensorMemory,
};
use spdm_lite::crypto::AlgorithmSet;
use spdm_lite::x509::X509Verifier;

const ROOT: &[u8] = include_bytes!("../pki/p256/root.cert.der");
const CHAIN: &[u8] = include_bytes!("../pki/p256/chain.der");
const LEAF_KEY: &[u8] = include_bytes!("../pki/p256/leaf.key.der");
const ECU_CHAIN: &[u8] = include_bytes!("../pki/p256/req_chain.der");
const ECU_KEY: &[u8] = include_bytes!("../pki/p256/req_leaf.key.der");
const ALGS: [AlgorithmSet; 1] = [AlgorithmSet::SET_A];
const ROGUE: PeerId = PeerId(0x33);

fn config() -> FrameConfig {
    FrameConfig::uniform(
        BlockConfig {
            sv: SecurityVariant::FullIntegrityEncrypted,
            suite: CipherSuite::Aes256Gcm,
            tag_len: TagLen::L16,
            tag_mode: TagMode::PerDataType,
        },
        KeyId::default(),
    )
}

struct Parts {
    rng: OsRandom,
    chain_buf: Vec<u8>,
    verifier: X509Verifier<'static, spdm_lite::crypto::RustCrypto>,
    identity: EcuIdentity,
}

impl Parts {
    fn new() -> Self {
        Parts {
            rng: OsRandom,
            chain_buf: vec![0u8; 8192],
            verifier: X509Verifier::new(spdm_lite::crypto::RustCrypto, ROOT),
            identity: EcuIdentity::from_der(AlgorithmSet::SET_A, ECU_CHAIN, ROOT, ECU_KEY)
                .expect("ecu identity"),
        }
    }

    /// The genuine ECU (`authenticated`) or an unauthenticated rogue.
    fn ecu(&mut self, protocol: Protocol, authenticated: bool) -> Ecu<'_> {
        Ecu::new(
            &mut self.rng,
            &self.verifier,
            &mut self.chain_buf,
            &ALGS,
            protocol,
            cse_link::demo::default_vc(),
            Policy::PERMISSIVE,
            authenticated.then_some(&self.identity),
        )
        .expect("ecu")
    }
}

fn identity() -> SensorIdentity {
    SensorIdentity::from_der(AlgorithmSet::SET_A, CHAIN, ROOT, LEAF_KEY)
        .expect("sensor identity")
        .trusting_ecu_root(ROOT)
}

fn scene() -> Scene {
    Scene::new(32, 4, cse_link::demo::default_vc())
}

fn streams(sensor: &mut Sensor<'_>, ecu: &mut Ecu<'_>, n: u16) {
    let originals = scene().frame(n).expect("scene");
    let (mut wire, mut back) = (Vec::new(), Vec::new());
    sensor.transmit_frame(&originals, &mut wire).expect("tx");
    let rep = ecu.receive_frame(&wire, u64::from(n), &mut back);
    assert!(rep.clean, "frame {n}: {:?}", rep.findings);
    assert_eq!(back, originals, "frame {n}");
}

fn handshake_step(ecu: &mut Ecu<'_>, sensor: &mut Sensor<'_>) -> bool {
    let (mut req, mut rsp) = (vec![0u8; 4096], vec![0u8; 4096]);
    let n = ecu.write_spdm_request(&mut req).expect("request");
    let m = sensor
        .handle_spdm_from(ecu.peer(), &mut req[..n], &mut rsp)
        .expect("answer");
    ecu.handle_spdm_response(&mut rsp[..m]).expect("response")
}

fn refuses_to_protect(sensor: &mut Sensor<'_>) -> LinkError {
    let mut wire = Vec::new();
    let e = sensor
        .transmit_frame(&scene().frame(99).expect("scene"), &mut wire)
        .expect_err("protected without a session");
    assert!(wire.is_empty(), "{} bytes written", wire.len());
    e
}

/// The rogue's own session is kept alive with heartbeats; the owner sends none. When the
/// owner's window passes, its session ends and every key goes, whatever the rogue sends.
#[test]
fn a_rogues_heartbeats_do_not_keep_the_owners_keys_alive() {
    for protocol in [Protocol::Sep, Protocol::Fsed] {
        let id = identity();
        let mut mem = SensorMemory::new();
        let mut sensor =
            Sensor::new(&id, &mut mem, protocol, cse_link::demo::default_vc()).expect("sensor");
        sensor.set_heartbeat_period(1);
        assert!(!sensor.tick(0));
        let mut parts = Parts::new();
        let mut owner = parts.ecu(protocol, true);
        cse_link::handshake(&mut owner, &mut sensor).expect("handshake");
        cse_link::configure(&mut owner, &mut sensor, &config()).expect("configure");
        streams(&mut sensor, &mut owner, 1);
        let mut rogue_parts = Parts::new();
        let mut rogue = rogue_parts.ecu(protocol, false).with_peer(ROGUE);
        cse_link::handshake(&mut rogue, &mut sensor).expect("rogue handshake");
        assert_eq!(sensor.key_owner(), Some(PeerId::DEFAULT));
        for now in [600, 1200, 1800] {
            assert!(!sensor.tick(now), "{protocol:?} {now}");
            cse_link::heartbeat(&mut rogue, &mut sensor).expect("rogue heartbeat");
            assert!(sensor.holds_keys());
        }
        assert!(!sensor.tick(2000), "{protocol:?}: the window is 2 s");
        assert!(sensor.tick(2001), "{protocol:?}: the owner's session ends");
        assert!(!sensor.holds_keys(), "{protocol:?}");
        assert_eq!(sensor.key_owner(), None);
        assert!(!sensor.has_session(PeerId::DEFAULT));
        assert!(
            sensor.has_session(ROGUE),
            "the rogue's own session is alive"
        );
        assert!(matches!(
            refuses_to_protect(&mut sensor),
            LinkError::NotAuthenticated
        ));
        // The rogue's session configures nothing either.
        assert!(cse_link::configure(&mut rogue, &mut sensor, &config()).is_err());
        assert!(!sensor.holds_keys());
    }
}

/// A rogue's handshake, one exchange at a time, interleaved with the owner's heartbeats,
/// KEY_UPDATEs, CCISE writes and frames: the owner's link works at every step and the rogue
/// ends with a session that owns nothing.
#[test]
fn a_rogue_handshake_interleaved_with_the_owners_traffic_moves_nothing_of_the_owner() {
    for protocol in [Protocol::Sep, Protocol::Fsed] {
        let id = identity();
        let mut mem = SensorMemory::new();
        let mut sensor =
            Sensor::new(&id, &mut mem, protocol, cse_link::demo::default_vc()).expect("sensor");
        let mut parts = Parts::new();
        let mut owner = parts.ecu(protocol, true);
        cse_link::handshake(&mut owner, &mut sensor).expect("handshake");
        cse_link::configure(&mut owner, &mut sensor, &config()).expect("configure");
        let mut rogue_parts = Parts::new();
        let mut rogue = rogue_parts.ecu(protocol, false).with_peer(ROGUE);
        let mut n = 1u16;
        let mut step = 0;
        loop {
            step += 1;
            assert!(step < 64, "rogue handshake stalled");
            let established = handshake_step(&mut rogue, &mut sensor);
            match step % 3 {
                0 => cse_link::heartbeat(&mut owner, &mut sensor).expect("heartbeat"),
                1 => {
                    let g = cse_link::key_update(&mut owner, &mut sensor).expect("key update");
                    assert_eq!(sensor.cci_generation(), g);
                }
                _ => {
                    cse_link::configure(&mut owner, &mut sensor, &config()).expect("write");
                }
            }
            assert_eq!(sensor.key_owner(), Some(PeerId::DEFAULT), "step {step}");
            streams(&mut sensor, &mut owner, n);
            n += 1;
            if established {
                break;
            }
        }
        assert!(sensor.has_session(ROGUE));
        assert!(!sensor.peer_authenticated(ROGUE));
        // The rogue's END_SESSION ends its own session only.
        cse_link::end_session(&mut rogue, &mut sensor).expect("rogue end");
        assert!(!sensor.has_session(ROGUE));
        assert_eq!(sensor.key_owner(), Some(PeerId::DEFAULT));
        streams(&mut sensor, &mut owner, n);
    }
}

/// The owner ends its session while a rogue's handshake is half done: every key goes at once,
/// and the rogue finishing its handshake gets none.
#[test]
fn the_owners_end_session_during_a_rogue_handshake_leaves_no_key_anywhere() {
    for protocol in [Protocol::Sep, Protocol::Fsed] {
        let id = identity();
        let mut mem = SensorMemory::new();
        let mut sensor =
            Sensor::new(&id, &mut mem, protocol, cse_link::demo::default_vc()).expect("sensor");
        let mut parts = Parts::new();
        let mut owner = parts.ecu(protocol, true);
        cse_link::handshake(&mut owner, &mut sensor).expect("handshake");
        cse_link::configure(&mut owner, &mut sensor, &config()).expect("configure");
        let mut rogue_parts = Parts::new();
        let mut rogue = rogue_parts.ecu(protocol, false).with_peer(ROGUE);
        for _ in 0..3 {
            assert!(!handshake_step(&mut rogue, &mut sensor));
        }
        cse_link::end_session(&mut owner, &mut sensor).expect("end");
        assert!(!sensor.holds_keys());
        assert_eq!(sensor.key_owner(), None);
        let mut steps = 0;
        while !handshake_step(&mut rogue, &mut sensor) {
            steps += 1;
            assert!(steps < 64, "stalled");
        }
        assert!(sensor.has_session(ROGUE));
        assert!(!sensor.holds_keys());
        assert_eq!(sensor.key_owner(), None);
        assert!(matches!(
            refuses_to_protect(&mut sensor),
            LinkError::NotAuthenticated
        ));
        assert!(cse_link::configure(&mut rogue, &mut sensor, &config()).is_err());
        assert!(!sensor.holds_keys());
    }
}

/// Secured records the owner wrote in its first session but that arrive after it started a
/// new session at the same address (a GET_VERSION reset and a new handshake): refused, and
/// nothing of the new session moves (keys, CCISE generation and counter, registers).
#[test]
fn records_of_an_old_session_arriving_in_the_next_one_move_nothing() {
    use spdm_lite::msgs::key_update::KeyUpdateOp;
    for protocol in [Protocol::Sep, Protocol::Fsed] {
        let id = identity();
        let mut mem = SensorMemory::new();
        let mut sensor =
            Sensor::new(&id, &mut mem, protocol, cse_link::demo::default_vc()).expect("sensor");
        let mut old_parts = Parts::new();
        let mut old = old_parts.ecu(protocol, true);
        cse_link::handshake(&mut old, &mut sensor).expect("handshake");
        cse_link::configure(&mut old, &mut sensor, &config()).expect("configure");
        let (mut req, mut rsp) = (vec![0u8; 4096], vec![0u8; 4096]);
        let mut withheld = Vec::new();
        // A heartbeat delivered in the old session (kept as a copy) ...
        let n = old.write_heartbeat(&mut req).expect("heartbeat");
        withheld.push(req[..n].to_vec());
        let m = sensor
            .handle_spdm_from(old.peer(), &mut req[..n], &mut rsp)
            .expect("answer");
        let _ = old.handle_session_response(&mut rsp[..m]).expect("ack");
        // ... a CCISE write sealed and never delivered, and a KEY_UPDATE never delivered.
        let mut cci = [0u8; ccise::wire::MAX_FRAME_LEN];
        let n = old.seal_stream_config(&config(), &mut cci).expect("seal");
        let stale_write = cci[..n].to_vec();
        let k = old
            .write_key_update(KeyUpdateOp::UPDATE_ALL_KEYS, &mut req)
            .expect("key update");
        withheld.push(req[..k].to_vec());

        let mut new_parts = Parts::new();
        let mut new = new_parts.ecu(protocol, true);
        cse_link::handshake(&mut new, &mut sensor).expect("new session");
        cse_link::configure(&mut new, &mut sensor, &config()).expect("configure");
        streams(&mut sensor, &mut new, 1);
        let held = |s: &Sensor<'_>| {
            (
                s.key_owner(),
                s.holds_keys(),
                s.cci_generation(),
                s.cci_last_counter(),
                s.registers().registers().to_vec(),
            )
        };
        let before = held(&sensor);
        for r in &withheld {
            let mut m = r.clone();
            let mut out = vec![0xEEu8; 4096];
            let _ = sensor.handle_spdm_from(PeerId::DEFAULT, &mut m, &mut out);
            assert_eq!(held(&sensor), before, "{protocol:?}");
        }
        assert!(
            sensor.handle_cci_write(&stale_write).is_err(),
            "{protocol:?}"
        );
        assert_eq!(held(&sensor), before, "{protocol:?}");
        cse_link::heartbeat(&mut new, &mut sensor).expect("heartbeat");
        cse_link::configure(&mut new, &mut sensor, &config()).expect("configure");
        streams(&mut sensor, &mut new, 2);
        let g = cse_link::key_update(&mut new, &mut sensor).expect("key update");
        assert_eq!(sensor.cci_generation(), g);
        streams(&mut sensor, &mut new, 3);
    }
}
