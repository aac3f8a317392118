//! Third outsider round against cse-link: the life of keys across sessions, read from the
//! public API and `docs/key-hierarchy.md` only.
//!
//! - A fresh session's receivers have no replay history yet, so only the keys stand between
//!   them and what an earlier session protected: the previous session's frames and CCISE
//!   writes, delivered before the first genuine one, must be refused and move nothing (the
//!   first genuine frame and write of the new session still go through, counter 1 included).
//!   Checked after END_SESSION, after a heartbeat timeout and after a reset by GET_VERSION.
//! - The sensor never repeats a frame counter across a rekey or a new session (its packet
//!   numbers belong to the stream, docs/security.md "Key and stream limits").
//! - A forged MEASUREMENTS at a run-time re-attestation closes the ECU's link as documented
//!   (`Ecu::handle_measurement_response`): every ECU key is dropped and nothing verifies any
//!   more, while the sensor's session is untouched.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use cse_core::csi2::VirtualChannel;
use cse_core::{BlockConfig, CipherSuite, FrameConfig, KeyId, Policy, TagMode};
use cse_link::attest::MeasuredFirmware;
use cse_link::scene::Scene;
use cse_link::{Ecu, EcuIdentity, LinkError, Protocol, Sensor, SensorIdentity, SensorMemory};
use spdm_lite::crypto::{AlgorithmSet, RandomSource};
use spdm_lite::x509::X509Verifier;

const ROOT: &[u8] = include_bytes!("../pki/p256/root.cert.der");
const CHAIN: &[u8] = include_bytes!("../pki/p256/chain.der");
const LEAF_KEY: &[u8] = include_bytes!("../pki/p256/leaf.key.der");
const ECU_CHAIN: &[u8] = include_bytes!("../pki/p256/req_chain.der");
const ECU_KEY: &[u8] = include_bytes!("../pki/p256/req_leaf.key.der");
const ALGS: [AlgorithmSet; 1] = [AlgorithmSet::SET_A];

fn sensor_identity() -> SensorIdentity {
    SensorIdentity::from_der(AlgorithmSet::SET_A, CHAIN, ROOT, LEAF_KEY)
        .unwrap()
        .trusting_ecu_root(ROOT)
}

fn ecu_identity() -> EcuIdentity {
    EcuIdentity::from_der(AlgorithmSet::SET_A, ECU_CHAIN, ROOT, ECU_KEY).unwrap()
}

/// SV-2 under GMAC: per message for SEP, per frame for FSED (which has no per-message tags).
fn config(protocol: Protocol) -> FrameConfig {
    let mut block = BlockConfig::full_integrity(CipherSuite::Aes128Gmac);
    if protocol == Protocol::Fsed {
        block.tag_mode = TagMode::PerFrame;
    }
    FrameConfig::uniform(block, KeyId::default())
}

fn scene() -> Scene {
    Scene::new(32, 4, VirtualChannel::default())
}

/// Everything an ECU borrows.
struct EcuParts {
    rng: Box<dyn RandomSource>,
    verifier: X509Verifier<'static, spdm_lite::crypto::RustCrypto>,
    chain_buf: Vec<u8>,
}

impl EcuParts {
    fn new() -> Self {
        EcuParts {
            rng: Box::new(cse_link::OsRandom),
            verifier: X509Verifier::new(spdm_lite::crypto::RustCrypto, ROOT),
            chain_buf: vec![0u8; 8192],
        }
    }

    fn ecu<'a>(&'a mut self, protocol: Protocol, id: &'a EcuIdentity) -> Ecu<'a> {
        Ecu::new(
            &mut *self.rng,
            &self.verifier,
            &mut self.chain_buf,
            &ALGS,
            protocol,
            VirtualChannel::default(),
            Policy::PERMISSIVE,
            Some(id),
        )
        .unwrap()
    }
}

/// One frame from the sensor: its wire bytes.
fn frame(sensor: &mut Sensor<'_>, n: u16) -> Vec<u8> {
    let mut wire = Vec::new();
    sensor
        .transmit_frame(&scene().frame(n).unwrap(), &mut wire)
        .unwrap();
    wire
}

fn receive(ecu: &mut Ecu<'_>, wire: &[u8]) -> (cse_link::FrameReport, Vec<u8>) {
    let mut out = Vec::new();
    let r = ecu.receive_frame(wire, 0, &mut out);
    (r, out)
}

/// How the first session ends.
#[derive(Clone, Copy, Debug)]
enum Ending {
    EndSession,
    HeartbeatTimeout,
    GetVersion,
}

fn old_session_traffic_is_refused_by_the_next_session(protocol: Protocol, ending: Ending) {
    let id = sensor_identity();
    let eid = ecu_identity();
    let mut smem = SensorMemory::new();
    let mut sensor = Sensor::new(&id, &mut smem, protocol, VirtualChannel::default()).unwrap();
    sensor.set_heartbeat_period(1);
    sensor.tick(0);

    // Session 1: configure, stream, and keep what an eavesdropper would keep. The ECU seals
    // writes it never delivers: an attacker who withheld them replays them later.
    let mut p1 = EcuParts::new();
    let mut ecu1 = p1.ecu(protocol, &eid);
    ecu1.set_time(0);
    cse_link::handshake(&mut ecu1, &mut sensor).unwrap();
    cse_link::configure(&mut ecu1, &mut sensor, &config(protocol)).unwrap();
    let mut old_frames = Vec::new();
    for n in 0..3 {
        let w = frame(&mut sensor, n);
        let (r, _) = receive(&mut ecu1, &w);
        assert!(r.clean, "{protocol:?}: session 1 frame {n}: {r:?}");
        old_frames.push(w);
    }
    let mut old_writes = Vec::new();
    for _ in 0..3 {
        let mut f = [0u8; ccise::wire::MAX_FRAME_LEN];
        let n = ecu1.seal_stream_config(&config(protocol), &mut f).unwrap();
        old_writes.push(f[..n].to_vec());
    }
    let last_counter = sensor.cci_last_counter();

    match ending {
        Ending::EndSession => cse_link::end_session(&mut ecu1, &mut sensor).unwrap(),
        Ending::HeartbeatTimeout => assert!(sensor.tick(2 * 1000 + 1)),
        Ending::GetVersion => {
            let mut m = vec![0x05, 0x10, 0x84, 0, 0];
            let mut out = vec![0u8; 256];
            let _ = sensor
                .handle_spdm_from(ecu1.peer(), &mut m, &mut out)
                .unwrap();
        }
    }
    assert!(!sensor.holds_keys(), "{ending:?}");
    assert_eq!(sensor.key_owner(), None);
    // Nothing is protected, nothing written, and the old writes configure nothing.
    let mut wire = Vec::new();
    assert!(
        sensor
            .transmit_frame(&scene().frame(9).unwrap(), &mut wire)
            .is_err()
    );
    assert!(wire.is_empty());
    for w in &old_writes {
        assert!(matches!(
            sensor.handle_cci_write(w),
            Err(LinkError::NotAuthenticated)
        ));
    }
    let _ = last_counter;

    // Session 2, a new ECU. Before its first genuine write and frame: the old ones.
    let mut p2 = EcuParts::new();
    let mut ecu2 = p2.ecu(protocol, &eid);
    sensor.tick(3000);
    ecu2.set_time(3000);
    cse_link::handshake(&mut ecu2, &mut sensor).unwrap();
    assert!(sensor.holds_keys());
    assert_eq!(sensor.cci_last_counter(), None, "fresh CCISE counters");
    let regs = sensor.registers().clone();
    for w in &old_writes {
        assert!(
            matches!(sensor.handle_cci_write(w), Err(LinkError::Cci(_))),
            "{protocol:?} {ending:?}: an old write under the new keys"
        );
        assert_eq!(sensor.cci_last_counter(), None);
        assert_eq!(sensor.registers(), &regs);
    }
    // The new ECU's first write carries counter 1, as the old first write did, and applies.
    cse_link::configure(&mut ecu2, &mut sensor, &config(protocol)).unwrap();
    assert_eq!(sensor.cci_last_counter(), Some(1));

    // The old frames, before the new ECU's first frame: nothing released, nothing moved.
    for (i, w) in old_frames.iter().enumerate() {
        let (r, out) = receive(&mut ecu2, w);
        assert_eq!(
            r.released, 0,
            "{protocol:?} {ending:?}: old frame {i}: {r:?}"
        );
        assert!(out.is_empty());
        assert!(!r.clean);
    }
    let w = frame(&mut sensor, 10);
    let (r, out) = receive(&mut ecu2, &w);
    assert!(r.clean, "{protocol:?} {ending:?}: first new frame: {r:?}");
    assert!(r.released > 0 && !out.is_empty());
    // And the old ECU, where it still holds keys (no END_SESSION_ACK), verifies nothing new.
    if !matches!(ending, Ending::EndSession) {
        assert!(ecu1.holds_keys());
        let w = frame(&mut sensor, 11);
        let (r, out) = receive(&mut ecu1, &w);
        assert_eq!(r.released, 0, "{protocol:?} {ending:?}: {r:?}");
        assert!(out.is_empty());
        let (r, _) = receive(&mut ecu2, &w);
        assert!(r.clean);
    }
}

#[test]
fn old_session_frames_and_writes_are_refused_after_end_session() {
    for protocol in [Protocol::Sep, Protocol::Fsed] {
        old_session_traffic_is_refused_by_the_next_session(protocol, Ending::EndSession);
    }
}

#[test]
fn old_session_frames_and_writes_are_refused_after_a_heartbeat_timeout() {
    for protocol in [Protocol::Sep, Protocol::Fsed] {
        old_session_traffic_is_refused_by_the_next_session(protocol, Ending::HeartbeatTimeout);
    }
}

#[test]
fn old_session_frames_and_writes_are_refused_after_get_version() {
    for protocol in [Protocol::Sep, Protocol::Fsed] {
        old_session_traffic_is_refused_by_the_next_session(protocol, Ending::GetVersion);
    }
}

#[test]
fn frame_counters_never_repeat_across_rekeys_and_sessions() {
    for protocol in [Protocol::Sep, Protocol::Fsed] {
        let id = sensor_identity();
        let eid = ecu_identity();
        let mut smem = SensorMemory::new();
        let mut sensor = Sensor::new(&id, &mut smem, protocol, VirtualChannel::default()).unwrap();
        let mut seen = Vec::new();
        for session in 0..3 {
            let mut parts = EcuParts::new();
            let mut ecu = parts.ecu(protocol, &eid);
            cse_link::handshake(&mut ecu, &mut sensor).unwrap();
            cse_link::configure(&mut ecu, &mut sensor, &config(protocol)).unwrap();
            for round in 0..3 {
                for n in 0..2 {
                    let w = frame(&mut sensor, n);
                    let (r, _) = receive(&mut ecu, &w);
                    assert!(r.clean, "{protocol:?} s{session} r{round}: {r:?}");
                    seen.push(r.frame_counter.unwrap());
                }
                cse_link::key_update(&mut ecu, &mut sensor).unwrap();
            }
            cse_link::end_session(&mut ecu, &mut sensor).unwrap();
        }
        assert!(
            seen.windows(2).all(|w| w[0] < w[1]),
            "{protocol:?}: frame counters {seen:?}"
        );
    }
}

#[test]
fn a_forged_measurements_record_at_re_attestation_closes_the_ecu_link_and_leaves_the_sensor() {
    let id = sensor_identity();
    let eid = ecu_identity();
    let fw = cse_link::demo::sensor_firmware("1.4.2");
    let measured = MeasuredFirmware::new(id.algorithms(), &fw);
    let mut smem = SensorMemory::new();
    let mut sensor = Sensor::new(&id, &mut smem, Protocol::Sep, VirtualChannel::default()).unwrap();
    sensor.set_firmware(&measured);
    let mut parts = EcuParts::new();
    let mut ecu = parts.ecu(Protocol::Sep, &eid);
    ecu.set_measurement_policy(cse_link::demo::sensor_policy())
        .unwrap();
    cse_link::authenticate(&mut ecu, &mut sensor).unwrap();
    cse_link::configure(&mut ecu, &mut sensor, &config(Protocol::Sep)).unwrap();
    let w = frame(&mut sensor, 0);
    assert!(receive(&mut ecu, &w).0.clean);
    assert!(ecu.link_ready() && ecu.is_attested());

    // Re-attestation; the attacker flips one tag bit of the MEASUREMENTS record.
    let mut req = vec![0u8; 4096];
    let mut rsp = vec![0u8; 4096];
    let n = ecu.write_measurement_request(&mut req).unwrap();
    let m = sensor
        .handle_spdm_from(ecu.peer(), &mut req[..n], &mut rsp)
        .unwrap();
    rsp[m - 1] ^= 1;
    assert!(matches!(
        ecu.handle_measurement_response(&mut rsp[..m]),
        Err(LinkError::Spdm(_))
    ));
    // Documented: the ECU refuses the sensor, drops every key and the link stays closed.
    assert!(!ecu.holds_keys());
    assert!(!ecu.link_ready());
    let mut f = [0u8; ccise::wire::MAX_FRAME_LEN];
    assert!(
        ecu.seal_stream_config(&config(Protocol::Sep), &mut f)
            .is_err()
    );
    let w = frame(&mut sensor, 1);
    let (r, out) = receive(&mut ecu, &w);
    assert_eq!(r.released, 0, "{r:?}");
    assert!(out.is_empty());
    // The sensor's session, keys and configuration are untouched by the forgery.
    assert!(sensor.holds_keys());
    assert_eq!(sensor.key_owner(), Some(ecu.peer()));
}
