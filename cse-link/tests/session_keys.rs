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

impl EcuParts {
    /// An ECU without an ECU identity: it cannot answer the sensor's mutual authentication.
    fn rogue(&mut self, protocol: Protocol) -> Ecu<'_> {
        Ecu::new(
            &mut self.rng,
            &self.verifier,
            &mut self.chain_buf,
            &ALGS,
            protocol,
            cse_link::demo::default_vc(),
            Policy::PERMISSIVE,
            None,
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
    let m = sensor
        .handle_spdm_from(ecu.peer(), &mut req[..n], &mut rsp)
        .unwrap();
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
        let mut smem = SensorMemory::new();
        let mut parts = EcuParts::new();
        let mut sensor =
            Sensor::new(&id, &mut smem, protocol, cse_link::demo::default_vc()).unwrap();
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
        let mut smem = SensorMemory::new();
        let (mut old_parts, mut new_parts) = (EcuParts::new(), EcuParts::new());
        let mut sensor =
            Sensor::new(&id, &mut smem, protocol, cse_link::demo::default_vc()).unwrap();
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
    let mut smem = SensorMemory::new();
    let (mut old_parts, mut new_parts) = (EcuParts::new(), EcuParts::new());
    let mut sensor =
        Sensor::new(&id, &mut smem, Protocol::Sep, cse_link::demo::default_vc()).unwrap();
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
        let mut smem = SensorMemory::new();
        let mut parts = EcuParts::new();
        let mut sensor =
            Sensor::new(&id, &mut smem, protocol, cse_link::demo::default_vc()).unwrap();
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
    let mut smem = SensorMemory::new();
    let mut parts = EcuParts::new();
    let mut sensor = Sensor::new(&id, &mut smem, protocol, cse_link::demo::default_vc()).unwrap();
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
    // A HEARTBEAT from an ECU whose clock runs behind gets no answer.
    assert!(!ecu.set_time(2500));
    assert!(ecu.holds_keys());
    let n = ecu.write_heartbeat(&mut out).unwrap();
    assert!(sensor.handle_spdm(&mut out[..n], &mut back).is_err());
    // On its own clock the ECU ends the session twice the period after its last request
    // (that HEARTBEAT) and drops its keys: the sensor's next session's frames are not its.
    assert!(!ecu.set_time(4500));
    assert!(ecu.holds_keys());
    assert!(ecu.set_time(4501));
    assert!(!ecu.holds_keys());
    assert!(!ecu.link_ready());
    assert!(!ecu.set_time(10_000));
    assert!(matches!(
        ecu.write_heartbeat(&mut out),
        Err(LinkError::NotAuthenticated)
    ));
}

#[test]
fn a_silent_ecu_drops_its_keys_when_the_sensor_ends_the_session() {
    for protocol in [Protocol::Sep, Protocol::Fsed] {
        let id = identity();
        let mut smem = SensorMemory::new();
        let mut parts = EcuParts::new();
        let mut sensor =
            Sensor::new(&id, &mut smem, protocol, cse_link::demo::default_vc()).unwrap();
        sensor.set_heartbeat_period(1);
        assert!(!sensor.tick(0));
        let mut ecu = parts.ecu(protocol);
        cse_link::handshake(&mut ecu, &mut sensor).unwrap();
        cse_link::configure(&mut ecu, &mut sensor, &encrypted(protocol)).unwrap();
        assert!(!ecu.set_time(0));
        streams(&mut sensor, &mut ecu, 1);
        // The ECU's last request was the configuration's; two periods pass in silence.
        assert!(!ecu.set_time(2000));
        assert!(!sensor.tick(2000));
        assert!(ecu.holds_keys() && sensor.holds_keys(), "{protocol:?}");
        assert!(sensor.tick(2001));
        assert!(ecu.set_time(2001), "{protocol:?}");
        // Both ends hold no key of the ended session.
        assert!(!sensor.holds_keys());
        assert!(!ecu.holds_keys(), "{protocol:?}");
        assert!(!ecu.link_ready());
    }
}

#[test]
fn only_a_mutually_authenticated_ecu_may_configure_the_sensor() {
    for protocol in [Protocol::Sep, Protocol::Fsed] {
        let id = identity();
        let mut smem = SensorMemory::new();
        let mut sensor =
            Sensor::new(&id, &mut smem, protocol, cse_link::demo::default_vc()).unwrap();
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

/// The transport address of a second ECU; the genuine one is at [`PeerId::DEFAULT`].
const OTHER: PeerId = PeerId(0x21);

/// What the sensor holds for the session that owns its keys.
#[derive(Debug, PartialEq)]
struct Held {
    owner: Option<PeerId>,
    owner_session: bool,
    keys: bool,
    cci_generation: u32,
    cci_counter: Option<u32>,
    registers: Vec<u8>,
    config: Option<FrameConfig>,
}

fn held(sensor: &Sensor<'_>) -> Held {
    Held {
        owner: sensor.key_owner(),
        owner_session: sensor.has_session(PeerId::DEFAULT),
        keys: sensor.holds_keys(),
        cci_generation: sensor.cci_generation(),
        cci_counter: sensor.cci_last_counter(),
        registers: sensor.registers().registers().to_vec(),
        config: sensor.stream_config().ok(),
    }
}

#[test]
fn a_rogue_peer_leaves_the_genuine_session_keys_and_stream_untouched() {
    for protocol in [Protocol::Sep, Protocol::Fsed] {
        let id = identity();
        let mut smem = SensorMemory::new();
        let mut sensor =
            Sensor::new(&id, &mut smem, protocol, cse_link::demo::default_vc()).unwrap();
        let mut parts = EcuParts::new();
        let mut ecu = parts.ecu(protocol);
        assert_eq!(ecu.peer(), PeerId::DEFAULT);
        cse_link::handshake(&mut ecu, &mut sensor).unwrap();
        cse_link::configure(&mut ecu, &mut sensor, &encrypted(protocol)).unwrap();
        streams(&mut sensor, &mut ecu, 1);
        let before = held(&sensor);
        assert_eq!(before.owner, Some(PeerId::DEFAULT));
        assert!(before.keys && before.owner_session && before.cci_counter.is_some());

        // A rogue at its own address: full handshake (GET_VERSION first), its own session.
        let mut rogue_parts = EcuParts::new();
        let mut rogue = rogue_parts.rogue(protocol).with_peer(OTHER);
        cse_link::handshake(&mut rogue, &mut sensor).unwrap();
        assert!(sensor.has_session(OTHER));
        assert!(!sensor.peer_authenticated(OTHER));
        assert!(sensor.peer_authenticated(PeerId::DEFAULT));
        assert_eq!(held(&sensor), before);
        // Its write (sealed under its own session's keys) does not verify under the genuine
        // session's keys: refused, registers and CCISE counters unchanged.
        let mut plain = encrypted(protocol);
        plain.image = BlockConfig::no_security();
        let write = seal(&mut rogue, &plain);
        assert!(matches!(
            write_refused(&mut sensor, &write),
            LinkError::Cci(_)
        ));
        assert_eq!(held(&sensor), before);
        // Its KEY_UPDATE moves its own session only.
        assert!(cse_link::key_update(&mut rogue, &mut sensor).unwrap() > 0);
        assert_eq!(held(&sensor), before);
        // Its END_SESSION ends its own session only.
        cse_link::end_session(&mut rogue, &mut sensor).unwrap();
        assert!(!sensor.has_session(OTHER));
        assert_eq!(held(&sensor), before);

        // The genuine ECU, not authenticated again: its session answers, its stream verifies,
        // its next write is accepted (the refused one burned no counter).
        streams(&mut sensor, &mut ecu, 2);
        cse_link::heartbeat(&mut ecu, &mut sensor).unwrap();
        streams(&mut sensor, &mut ecu, 3);
        cse_link::configure(&mut ecu, &mut sensor, &encrypted(protocol)).unwrap();
        let after = held(&sensor);
        assert!(after.cci_counter > before.cci_counter);
        assert_eq!(after.config, before.config);
        assert_eq!(after.owner, before.owner);
        streams(&mut sensor, &mut ecu, 4);

        // Keys live no longer than their session: the genuine peer's own GET_VERSION (a new
        // handshake at its address) ends its session and drops every key at once.
        let mut again_parts = EcuParts::new();
        let mut again = again_parts.ecu(protocol);
        assert!(!handshake_step(&mut again, &mut sensor));
        assert!(!sensor.holds_keys());
        assert_eq!(sensor.key_owner(), None);
        assert!(!sensor.has_session(PeerId::DEFAULT));
        assert!(matches!(
            refuses_to_protect(&mut sensor, 5),
            LinkError::NotAuthenticated
        ));
        assert!(cse_link::heartbeat(&mut ecu, &mut sensor).is_err());
    }
}

#[test]
fn an_authenticated_second_ecu_takes_over_after_the_first_keys_are_dropped() {
    for protocol in [Protocol::Sep, Protocol::Fsed] {
        let id = identity();
        let mut smem = SensorMemory::new();
        let mut sensor =
            Sensor::new(&id, &mut smem, protocol, cse_link::demo::default_vc()).unwrap();
        let mut parts = EcuParts::new();
        let mut first = parts.ecu(protocol);
        cse_link::handshake(&mut first, &mut sensor).unwrap();
        cse_link::configure(&mut first, &mut sensor, &encrypted(protocol)).unwrap();
        streams(&mut sensor, &mut first, 1);
        let before = held(&sensor);
        let first_write = seal(&mut first, &encrypted(protocol));

        // A second ECU with a valid ECU certificate at another address: until its session is
        // established nothing changes.
        let mut second_parts = EcuParts::new();
        let mut second = second_parts.ecu(protocol).with_peer(OTHER);
        let mut steps = 0;
        loop {
            steps += 1;
            assert!(steps < 64, "handshake stalled");
            let established = handshake_step(&mut second, &mut sensor);
            if established {
                break;
            }
            assert_eq!(held(&sensor), before, "step {steps}");
        }
        // Established: the first ECU's session ended and its keys and configuration went;
        // the second holds the only key set (CCISE keys now, stream keys once configured).
        assert!(sensor.peer_authenticated(OTHER));
        assert_eq!(sensor.key_owner(), Some(OTHER));
        assert!(!sensor.has_session(PeerId::DEFAULT));
        assert_eq!(sensor.cci_last_counter(), None);
        assert_eq!(sensor.cci_generation(), 0);
        assert!(matches!(
            refuses_to_protect(&mut sensor, 2),
            LinkError::NotConfigured
        ));
        // The first ECU's write and session are dead.
        assert!(matches!(
            write_refused(&mut sensor, &first_write),
            LinkError::Cci(_)
        ));
        assert!(cse_link::heartbeat(&mut first, &mut sensor).is_err());
        // The second configures and streams; the first's keys verify none of it.
        cse_link::configure(&mut second, &mut sensor, &encrypted(protocol)).unwrap();
        streams(&mut sensor, &mut second, 3);
        old_keys_verify_nothing(&mut sensor, &mut first, &mut second);
        assert_eq!(sensor.key_owner(), Some(OTHER));
    }
}
