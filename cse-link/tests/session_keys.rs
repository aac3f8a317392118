//! Stream and CCISE keys live as long as the SPDM session that made them: after END_SESSION or
//! a GET_VERSION reset the sensor holds no key and protects nothing, a holder of the old
//! session's keys can neither verify the stream nor write registers, and a new session's keys
//! work. Also: several KEY_UPDATEs without a frame between keep the link working.
#![allow(clippy::unwrap_used, clippy::panic)]

use cse_core::csi2::{HeaderForm, Packets};
use cse_core::{
    BlockConfig, CipherSuite, FrameConfig, KeyId, Policy, SecurityError, SecurityVariant, TagLen,
    TagMode,
};
use cse_link::scene::Scene;
use cse_link::{Ecu, EcuIdentity, LinkError, OsRandom, Protocol, Sensor, SensorIdentity};
use spdm_lite::crypto::AlgorithmSet;
use spdm_lite::x509::X509Verifier;

const ROOT: &[u8] = include_bytes!("../pki/p256/root.cert.der");
const CHAIN: &[u8] = include_bytes!("../pki/p256/chain.der");
const LEAF_KEY: &[u8] = include_bytes!("../pki/p256/leaf.key.der");
const ECU_CHAIN: &[u8] = include_bytes!("../pki/p256/req_chain.der");
const ECU_KEY: &[u8] = include_bytes!("../pki/p256/req_leaf.key.der");
const ALGS: [AlgorithmSet; 1] = [AlgorithmSet::SET_A];

fn config(protocol: Protocol, sv: SecurityVariant, suite: CipherSuite) -> FrameConfig {
    FrameConfig::uniform(
        BlockConfig {
            sv,
            suite,
            tag_len: TagLen::L16,
            // FSED has no per-message tags.
            tag_mode: match protocol {
                Protocol::Sep => TagMode::PerMessage,
                _ => TagMode::PerDataType,
            },
        },
        KeyId::default(),
    )
}

/// SV-1 (full integrity and encryption), AES-256-GCM.
fn encrypted(protocol: Protocol) -> FrameConfig {
    config(
        protocol,
        SecurityVariant::FullIntegrityEncrypted,
        CipherSuite::Aes256Gcm,
    )
}

/// What one ECU needs besides the sensor: its random source, chain buffer and trust anchor.
struct EcuParts {
    rng: OsRandom,
    chain_buf: Vec<u8>,
    verifier: X509Verifier<'static, spdm_lite::crypto::RustCrypto>,
    identity: EcuIdentity,
}

impl EcuParts {
    fn new() -> Self {
        EcuParts {
            rng: OsRandom,
            chain_buf: vec![0u8; 8192],
            verifier: X509Verifier::new(spdm_lite::crypto::RustCrypto, ROOT),
            identity: EcuIdentity::from_der(AlgorithmSet::SET_A, ECU_CHAIN, ROOT, ECU_KEY).unwrap(),
        }
    }

    fn ecu(&mut self, protocol: Protocol) -> Ecu<'_> {
        Ecu::new(
            &mut self.rng,
            &self.verifier,
            &mut self.chain_buf,
            &ALGS,
            protocol,
            cse_link::demo::default_vc(),
            Policy::PERMISSIVE,
            Some(&self.identity),
        )
        .unwrap()
    }
}

fn identity() -> SensorIdentity {
    SensorIdentity::from_der(AlgorithmSet::SET_A, CHAIN, ROOT, LEAF_KEY)
        .unwrap()
        .trusting_ecu_root(ROOT)
}

fn scene() -> Scene {
    Scene::new(32, 4, cse_link::demo::default_vc())
}

/// Frame `n` goes from the sensor to `ecu` and arrives clean and bit-exact.
fn streams(sensor: &mut Sensor<'_>, ecu: &mut Ecu<'_>, n: u16) -> cse_link::FrameReport {
    let originals = scene().frame(n).unwrap();
    let (mut wire, mut back) = (Vec::new(), Vec::new());
    sensor.transmit_frame(&originals, &mut wire).unwrap();
    let rep = ecu.receive_frame(&wire, u64::from(n), &mut back);
    assert!(rep.clean, "frame {n}: {:?}", rep.findings);
    assert_eq!(back, originals, "frame {n}");
    rep
}

/// The sensor refuses to protect: an error, and not one byte of output.
fn refuses_to_protect(sensor: &mut Sensor<'_>, n: u16) -> LinkError {
    let mut wire = Vec::new();
    let e = sensor
        .transmit_frame(&scene().frame(n).unwrap(), &mut wire)
        .unwrap_err();
    assert!(
        wire.is_empty(),
        "{} bytes emitted after the session",
        wire.len()
    );
    e
}

fn seal(ecu: &mut Ecu<'_>, c: &FrameConfig) -> Vec<u8> {
    let mut frame = [0u8; ccise::wire::MAX_FRAME_LEN];
    let n = ecu.seal_stream_config(c, &mut frame).unwrap();
    frame[..n].to_vec()
}

/// A CCISE write is refused and leaves every register as it was.
fn write_refused(sensor: &mut Sensor<'_>, frame: &[u8]) -> LinkError {
    let before = sensor.registers().registers().to_vec();
    let e = sensor.handle_cci_write(frame).unwrap_err();
    assert_eq!(sensor.registers().registers()[..], before[..]);
    e
}

/// Runs one SPDM exchange of a handshake; returns whether the session is established.
fn handshake_step(ecu: &mut Ecu<'_>, sensor: &mut Sensor<'_>) -> bool {
    let (mut req, mut rsp) = (vec![0u8; 4096], vec![0u8; 4096]);
    let n = ecu.write_spdm_request(&mut req).unwrap();
    let m = sensor.handle_spdm(&mut req[..n], &mut rsp).unwrap();
    ecu.handle_spdm_response(&mut rsp[..m]).unwrap()
}

/// `old` (a holder of the previous session's keys) gets the sensor's next frames: none
/// verifies and nothing is released, while `new` verifies every one of them.
fn old_keys_verify_nothing(sensor: &mut Sensor<'_>, old: &mut Ecu<'_>, new: &mut Ecu<'_>) {
    for n in 10..=12u16 {
        let originals = scene().frame(n).unwrap();
        let (mut wire, mut back) = (Vec::new(), Vec::new());
        sensor.transmit_frame(&originals, &mut wire).unwrap();
        let stale = old.receive_frame(&wire, u64::from(n), &mut back);
        assert!(
            !stale.clean,
            "frame {n} verified under the old session's keys"
        );
        // Nothing but FSED's clear frame start/end (4-byte short packets) is released: no line.
        for p in Packets::new(&back, HeaderForm::Dphy) {
            let p = p.unwrap();
            assert_eq!(
                p.raw.len(),
                4,
                "frame {n}: a line released: {:?}",
                stale.findings
            );
        }
        for line in Packets::new(&originals, HeaderForm::Dphy).skip(1) {
            let line = line.unwrap().raw;
            if line.len() > 4 {
                assert!(!back.windows(line.len()).any(|w| w == line));
            }
        }
        let fresh = new.receive_frame(&wire, u64::from(n), &mut back);
        assert!(fresh.clean, "frame {n}: {:?}", fresh.findings);
        assert_eq!(back, originals);
    }
}

#[test]
fn end_session_drops_every_key_on_both_ends_and_the_sensor_protects_nothing() {
    for protocol in [Protocol::Sep, Protocol::Fsed] {
        let id = identity();
        let mut srng = OsRandom;
        let mut parts = EcuParts::new();
        let mut sensor =
            Sensor::new(&id, &mut srng, protocol, cse_link::demo::default_vc()).unwrap();
        let mut ecu = parts.ecu(protocol);
        cse_link::handshake(&mut ecu, &mut sensor).unwrap();
        cse_link::configure(&mut ecu, &mut sensor, &encrypted(protocol)).unwrap();
        streams(&mut sensor, &mut ecu, 1);
        let held_back = seal(&mut ecu, &encrypted(protocol));
        assert!(sensor.holds_keys() && ecu.holds_keys());

        cse_link::end_session(&mut ecu, &mut sensor).unwrap();
        assert!(!sensor.holds_keys(), "{protocol:?}: sensor keeps keys");
        assert!(!ecu.holds_keys(), "{protocol:?}: ECU keeps keys");
        assert!(matches!(
            refuses_to_protect(&mut sensor, 2),
            LinkError::NotAuthenticated
        ));
        assert!(matches!(
            write_refused(&mut sensor, &held_back),
            LinkError::NotAuthenticated
        ));
        // The ECU has nothing left to talk with either.
        let mut out = [0u8; ccise::wire::MAX_FRAME_LEN];
        assert!(
            ecu.seal_stream_config(&encrypted(protocol), &mut out)
                .is_err()
        );
        assert!(ecu.write_heartbeat(&mut vec![0u8; 4096]).is_err());
    }
}

#[test]
fn reauthentication_after_get_version_drops_the_old_keys_and_the_new_session_streams() {
    for protocol in [Protocol::Sep, Protocol::Fsed] {
        let id = identity();
        let mut srng = OsRandom;
        let (mut old_parts, mut new_parts) = (EcuParts::new(), EcuParts::new());
        let mut sensor =
            Sensor::new(&id, &mut srng, protocol, cse_link::demo::default_vc()).unwrap();
        let mut old = old_parts.ecu(protocol);
        cse_link::handshake(&mut old, &mut sensor).unwrap();
        cse_link::configure(&mut old, &mut sensor, &encrypted(protocol)).unwrap();
        streams(&mut sensor, &mut old, 1);
        let old_write = seal(&mut old, &encrypted(protocol));

        // The ECU starts again from GET_VERSION: the first request ends the old session, and
        // the sensor drops its keys at once, before the new handshake is anywhere.
        let mut new = new_parts.ecu(protocol);
        assert!(!handshake_step(&mut new, &mut sensor));
        assert!(
            !sensor.holds_keys(),
            "{protocol:?}: keys kept after GET_VERSION"
        );
        assert!(matches!(
            refuses_to_protect(&mut sensor, 2),
            LinkError::NotAuthenticated
        ));
        while !handshake_step(&mut new, &mut sensor) {}

        // A new session, but the old configuration is gone with the old session: nothing is
        // protected until the new ECU configures the stream.
        assert!(matches!(
            refuses_to_protect(&mut sensor, 3),
            LinkError::NotConfigured
        ));
        // The old session's register write is refused (other keys), registers unchanged.
        assert!(matches!(
            write_refused(&mut sensor, &old_write),
            LinkError::Cci(ccise::Error::Security(SecurityError::AuthFailed))
        ));
        cse_link::configure(&mut new, &mut sensor, &encrypted(protocol)).unwrap();
        // The old session's holder can neither verify nor decrypt what the sensor sends now;
        // the new session's ECU verifies all of it.
        old_keys_verify_nothing(&mut sensor, &mut old, &mut new);
        // Nor write registers under the old keys, even with a fresh counter.
        let later = seal(&mut old, &encrypted(protocol));
        assert!(matches!(
            write_refused(&mut sensor, &later),
            LinkError::Cci(ccise::Error::Security(SecurityError::AuthFailed))
        ));
        // The new session's writes still apply.
        let sv2 = config(
            protocol,
            SecurityVariant::FullIntegrity,
            CipherSuite::Aes256Gmac,
        );
        cse_link::configure(&mut new, &mut sensor, &sv2).unwrap();
        assert_eq!(sensor.stream_config().unwrap().image.sv, sv2.image.sv);
        streams(&mut sensor, &mut new, 20);
    }
}

#[test]
fn after_end_session_whose_ack_was_withheld_the_old_holder_verifies_nothing_of_the_next_session() {
    let protocol = Protocol::Sep;
    let id = identity();
    let mut srng = OsRandom;
    let (mut old_parts, mut new_parts) = (EcuParts::new(), EcuParts::new());
    let mut sensor =
        Sensor::new(&id, &mut srng, Protocol::Sep, cse_link::demo::default_vc()).unwrap();
    let mut old = old_parts.ecu(Protocol::Sep);
    cse_link::handshake(&mut old, &mut sensor).unwrap();
    cse_link::configure(&mut old, &mut sensor, &encrypted(protocol)).unwrap();
    streams(&mut sensor, &mut old, 1);
    // END_SESSION reaches the sensor; its ACK never reaches the old ECU, which keeps its keys.
    let (mut req, mut rsp) = (vec![0u8; 4096], vec![0u8; 4096]);
    let n = old.write_end_session(&mut req).unwrap();
    sensor.handle_spdm(&mut req[..n], &mut rsp).unwrap();
    assert!(!sensor.holds_keys());
    assert!(old.holds_keys());
    // The next session (a new key exchange) has keys of its own.
    let mut new = new_parts.ecu(Protocol::Sep);
    cse_link::handshake(&mut new, &mut sensor).unwrap();
    cse_link::configure(&mut new, &mut sensor, &encrypted(protocol)).unwrap();
    old_keys_verify_nothing(&mut sensor, &mut old, &mut new);
}

#[test]
fn several_key_updates_without_a_frame_between_keep_the_link_working() {
    for protocol in [Protocol::Sep, Protocol::Fsed] {
        let id = identity();
        let mut srng = OsRandom;
        let mut parts = EcuParts::new();
        let mut sensor =
            Sensor::new(&id, &mut srng, protocol, cse_link::demo::default_vc()).unwrap();
        let mut ecu = parts.ecu(protocol);
        cse_link::handshake(&mut ecu, &mut sensor).unwrap();
        // Two updates even before the first frame.
        cse_link::key_update(&mut ecu, &mut sensor).unwrap();
        cse_link::key_update(&mut ecu, &mut sensor).unwrap();
        cse_link::configure(&mut ecu, &mut sensor, &encrypted(protocol)).unwrap();
        streams(&mut sensor, &mut ecu, 1);
        let mut n = 2;
        for updates in [2, 3, 1, 4, 2] {
            for _ in 0..updates {
                cse_link::key_update(&mut ecu, &mut sensor).unwrap();
            }
            let rep = streams(&mut sensor, &mut ecu, n);
            assert!(rep.key_rollover, "{protocol:?} frame {n}: no rollover");
            // A frame without an update in between stays on its key.
            assert!(!streams(&mut sensor, &mut ecu, n + 1).key_rollover);
            n += 2;
        }
        // CCISE followed every update too.
        let g = ecu.key_generation();
        assert_eq!((ecu.cci_generation(), sensor.cci_generation()), (g, g));
        cse_link::configure(&mut ecu, &mut sensor, &encrypted(protocol)).unwrap();
        streams(&mut sensor, &mut ecu, n);
    }
}

#[test]
fn a_missed_heartbeat_ends_the_session_and_the_sensor_drops_its_keys() {
    let protocol = Protocol::Sep;
    let id = identity();
    let mut srng = OsRandom;
    let mut parts = EcuParts::new();
    let mut sensor = Sensor::new(&id, &mut srng, protocol, cse_link::demo::default_vc()).unwrap();
    sensor.set_heartbeat_period(1);
    assert!(!sensor.tick(0));
    let mut ecu = parts.ecu(protocol);
    cse_link::handshake(&mut ecu, &mut sensor).unwrap();
    cse_link::configure(&mut ecu, &mut sensor, &encrypted(protocol)).unwrap();
    ecu.set_time(0);
    assert!(!ecu.heartbeat_due());
    // Half a period later the ECU sends its HEARTBEAT; the sensor's window restarts.
    ecu.set_time(500);
    assert!(ecu.heartbeat_due());
    let mut out = vec![0u8; 4096];
    let mut back = vec![0u8; 4096];
    let n = ecu.write_heartbeat(&mut out).unwrap();
    assert!(!sensor.tick(500));
    let m = sensor.handle_spdm(&mut out[..n], &mut back).unwrap();
    ecu.handle_session_response(&mut back[..m]).unwrap();
    assert!(!ecu.heartbeat_due());
    streams(&mut sensor, &mut ecu, 1);
    // Twice the period after the HEARTBEAT: still within the window.
    assert!(!sensor.tick(2500));
    assert!(sensor.holds_keys());
    // The ECU went silent: one millisecond later the session ends and every key goes.
    assert!(sensor.tick(2501));
    assert!(!sensor.holds_keys());
    assert!(matches!(
        refuses_to_protect(&mut sensor, 2),
        LinkError::NotAuthenticated
    ));
    // The late HEARTBEAT gets no answer.
    ecu.set_time(2502);
    let n = ecu.write_heartbeat(&mut out).unwrap();
    assert!(sensor.handle_spdm(&mut out[..n], &mut back).is_err());
}

#[test]
fn only_a_mutually_authenticated_ecu_may_configure_the_sensor() {
    for protocol in [Protocol::Sep, Protocol::Fsed] {
        let id = identity();
        let mut srng = OsRandom;
        let mut sensor =
            Sensor::new(&id, &mut srng, protocol, cse_link::demo::default_vc()).unwrap();
        // An ECU without an ECU identity: the session comes up, but unauthenticated.
        let mut rng = OsRandom;
        let mut chain_buf = vec![0u8; 8192];
        let verifier = X509Verifier::new(spdm_lite::crypto::RustCrypto, ROOT);
        let mut rogue = Ecu::new(
            &mut rng,
            &verifier,
            &mut chain_buf,
            &ALGS,
            protocol,
            cse_link::demo::default_vc(),
            Policy::PERMISSIVE,
            None,
        )
        .unwrap();
        cse_link::handshake(&mut rogue, &mut sensor).unwrap();
        assert!(!sensor.requester_authenticated());
        let before = sensor.registers().registers().to_vec();
        let write = seal(&mut rogue, &encrypted(protocol));
        assert!(matches!(
            write_refused(&mut sensor, &write),
            LinkError::NotAuthenticated
        ));
        assert_eq!(sensor.registers().registers(), &before[..]);
        assert!(!sensor.holds_keys());
        assert!(matches!(
            refuses_to_protect(&mut sensor, 1),
            LinkError::NotAuthenticated | LinkError::NotConfigured
        ));

        // The genuine ECU (mutual authentication) configures it and streams.
        let mut parts = EcuParts::new();
        let mut ecu = parts.ecu(protocol);
        cse_link::handshake(&mut ecu, &mut sensor).unwrap();
        assert!(sensor.requester_authenticated());
        cse_link::configure(&mut ecu, &mut sensor, &encrypted(protocol)).unwrap();
        streams(&mut sensor, &mut ecu, 2);
    }
}
