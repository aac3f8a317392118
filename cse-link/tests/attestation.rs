//! Firmware attestation and several responders per link: the ECU opens the link only when the
//! sensor's signed measurements match the handshake's summary hash and the reference values
//! (firmware digest, minimum SVN) and every other responder (the serializer bridge) passes too;
//! a run-time re-measurement that fails closes the link (every key dropped).
#![allow(clippy::unwrap_used, clippy::panic)]

use cse_core::{
    BlockConfig, CipherSuite, FrameConfig, KeyId, Policy, SecurityVariant, TagLen, TagMode,
};
use cse_link::attest::{AttestError, MeasuredFirmware, index};
use cse_link::demo::{bridge_firmware, bridge_policy, sensor_firmware, sensor_policy};
use cse_link::scene::Scene;
use cse_link::{
    Bridge, Ecu, EcuIdentity, LinkError, OsRandom, Protocol, Sensor, SensorIdentity, SensorMemory,
};
use spdm_lite::crypto::{AlgorithmSet, RustCrypto};
use spdm_lite::x509::X509Verifier;

const ROOT: &[u8] = include_bytes!("../pki/p256/root.cert.der");
const CHAIN: &[u8] = include_bytes!("../pki/p256/chain.der");
const LEAF_KEY: &[u8] = include_bytes!("../pki/p256/leaf.key.der");
const BRIDGE_CHAIN: &[u8] = include_bytes!("../pki/p256/bridge_chain.der");
const BRIDGE_KEY: &[u8] = include_bytes!("../pki/p256/bridge_leaf.key.der");
const OTHER_ROOT: &[u8] = include_bytes!("../pki/p256/other_root.cert.der");
const OTHER_CHAIN: &[u8] = include_bytes!("../pki/p256/other_chain.der");
const OTHER_KEY: &[u8] = include_bytes!("../pki/p256/other_leaf.key.der");
const ECU_CHAIN: &[u8] = include_bytes!("../pki/p256/req_chain.der");
const ECU_KEY: &[u8] = include_bytes!("../pki/p256/req_leaf.key.der");
const ALGS: [AlgorithmSet; 1] = [AlgorithmSet::SET_A];
const SET: AlgorithmSet = AlgorithmSet::SET_A;

fn config() -> FrameConfig {
    FrameConfig::uniform(
        BlockConfig {
            sv: SecurityVariant::FullIntegrityEncrypted,
            suite: CipherSuite::Aes256Gcm,
            tag_len: TagLen::L16,
            tag_mode: TagMode::PerMessage,
        },
        KeyId::default(),
    )
}

struct Parts {
    rng: OsRandom,
    rng2: OsRandom,
    chain_buf: Vec<u8>,
    bridge_buf: Vec<u8>,
    verifier: X509Verifier<'static, RustCrypto>,
    /// The ECU's identity for the sensor's mutual authentication.
    eid: EcuIdentity,
}

impl Parts {
    fn new() -> Self {
        Parts {
            rng: OsRandom,
            rng2: OsRandom,
            chain_buf: vec![0u8; 8192],
            bridge_buf: vec![0u8; 8192],
            verifier: X509Verifier::new(RustCrypto, ROOT),
            eid: EcuIdentity::from_der(SET, ECU_CHAIN, ROOT, ECU_KEY).unwrap(),
        }
    }

    /// An ECU with the sensor policy and the serializer as a second responder (id 0).
    fn ecu(&mut self) -> Ecu<'_> {
        let mut e = Ecu::new(
            &mut self.rng,
            &self.verifier,
            &mut self.chain_buf,
            &ALGS,
            Protocol::Sep,
            cse_link::demo::default_vc(),
            Policy::PERMISSIVE,
            Some(&self.eid),
        )
        .unwrap();
        e.set_measurement_policy(sensor_policy()).unwrap();
        let id = e
            .add_responder(
                "serializer",
                &mut self.rng2,
                &self.verifier,
                &mut self.bridge_buf,
                &ALGS,
                Some(bridge_policy()),
            )
            .unwrap();
        assert_eq!(id, 0);
        e
    }
}

fn sensor_id() -> SensorIdentity {
    SensorIdentity::from_der(SET, CHAIN, ROOT, LEAF_KEY)
        .unwrap()
        .trusting_ecu_root(ROOT)
}

fn bridge_id(counterfeit: bool) -> SensorIdentity {
    if counterfeit {
        SensorIdentity::from_der(SET, OTHER_CHAIN, OTHER_ROOT, OTHER_KEY).unwrap()
    } else {
        SensorIdentity::from_der(SET, BRIDGE_CHAIN, ROOT, BRIDGE_KEY).unwrap()
    }
}

/// Streams one frame and says whether it arrived clean and bit-exact.
fn frame_ok(sensor: &mut Sensor<'_>, ecu: &mut Ecu<'_>, n: u16) -> bool {
    let scene = Scene::new(64, 8, cse_link::demo::default_vc());
    let originals = scene.frame(n).unwrap();
    let mut wire = Vec::new();
    if sensor.transmit_frame(&originals, &mut wire).is_err() {
        return false;
    }
    let mut back = Vec::new();
    let rep = ecu.receive_frame(&wire, u64::from(n), &mut back);
    rep.clean && back == originals
}

#[test]
fn genuine_sensor_and_bridge_open_the_link_and_a_run_time_remeasurement_passes() {
    let id = sensor_id();
    let bid = bridge_id(false);
    let fw = MeasuredFirmware::new(SET, &sensor_firmware("1.4.2"));
    let bfw = MeasuredFirmware::new(SET, &bridge_firmware());
    let (mut smem, mut r2) = (SensorMemory::new(), OsRandom);
    let mut sensor =
        Sensor::new(&id, &mut smem, Protocol::Sep, cse_link::demo::default_vc()).unwrap();
    sensor.set_firmware(&fw);
    let mut bridge = Bridge::new(&bid, &mut r2, Some(&bfw)).unwrap();
    let mut p = Parts::new();
    let mut ecu = p.ecu();
    cse_link::handshake(&mut ecu, &mut sensor).unwrap();
    // Authenticated but not yet attested: no keys, the link stays closed.
    assert!(!ecu.holds_keys() && !ecu.link_ready());
    assert!(matches!(
        cse_link::configure(&mut ecu, &mut sensor, &config()),
        Err(LinkError::LinkNotReady)
    ));
    cse_link::attest(&mut ecu, &mut sensor).unwrap();
    assert!(ecu.is_attested());
    // The bridge is still missing.
    assert!(!ecu.link_ready());
    cse_link::authenticate_responder(&mut ecu, 0, &mut bridge, true).unwrap();
    assert!(ecu.link_ready() && bridge.has_session());
    cse_link::configure(&mut ecu, &mut sensor, &config()).unwrap();
    assert!(frame_ok(&mut sensor, &mut ecu, 1));
    // Run-time re-measurement of both, inside their sessions.
    cse_link::attest(&mut ecu, &mut sensor).unwrap();
    cse_link::attest_responder(&mut ecu, 0, &mut bridge).unwrap();
    assert!(frame_ok(&mut sensor, &mut ecu, 2));
}

/// Authenticates the sensor (with `fw`) against an ECU with the standard policy.
fn sensor_attempt(fw: &MeasuredFirmware) -> (Result<usize, LinkError>, bool, bool) {
    let id = sensor_id();
    let mut smem = SensorMemory::new();
    let mut sensor =
        Sensor::new(&id, &mut smem, Protocol::Sep, cse_link::demo::default_vc()).unwrap();
    sensor.set_firmware(fw);
    let mut p = Parts::new();
    let mut ecu = p.ecu();
    let r = cse_link::authenticate(&mut ecu, &mut sensor);
    let closed = !ecu.holds_keys() && !ecu.link_ready() && !ecu.is_attested();
    let configure_refused = cse_link::configure(&mut ecu, &mut sensor, &config()).is_err()
        && sensor.stream_config().is_err();
    (r, closed, configure_refused)
}

#[test]
fn tampered_firmware_is_refused_by_measurement_mismatch() {
    let mut tampered = sensor_firmware("1.4.2");
    tampered.image[7] ^= 0x80;
    let (r, closed, refused) = sensor_attempt(&MeasuredFirmware::new(SET, &tampered));
    assert!(
        matches!(
            r,
            Err(LinkError::Attestation(AttestError::Mismatch {
                index: index::FIRMWARE
            }))
        ),
        "{r:?}"
    );
    assert!(closed && refused);
}

#[test]
fn rolled_back_firmware_is_refused_by_its_svn() {
    let (r, closed, refused) =
        sensor_attempt(&MeasuredFirmware::new(SET, &sensor_firmware("1.3.0")));
    assert!(
        matches!(
            r,
            Err(LinkError::Attestation(AttestError::SvnRollback {
                svn: 2,
                min: 3
            }))
        ),
        "{r:?}"
    );
    assert!(closed && refused);
    // The same build passes an ECU whose minimum SVN is 2 (the digest is a known one).
    let mut policy = sensor_policy();
    policy.min_svn = 2;
    let fw = MeasuredFirmware::new(SET, &sensor_firmware("1.3.0"));
    let id = sensor_id();
    let mut smem = SensorMemory::new();
    let mut sensor =
        Sensor::new(&id, &mut smem, Protocol::Sep, cse_link::demo::default_vc()).unwrap();
    sensor.set_firmware(&fw);
    let mut p = Parts::new();
    let mut ecu = Ecu::new(
        &mut p.rng,
        &p.verifier,
        &mut p.chain_buf,
        &ALGS,
        Protocol::Sep,
        cse_link::demo::default_vc(),
        Policy::PERMISSIVE,
        Some(&p.eid),
    )
    .unwrap();
    ecu.set_measurement_policy(policy).unwrap();
    cse_link::authenticate(&mut ecu, &mut sensor).unwrap();
    assert!(ecu.link_ready());
}

#[test]
fn firmware_swapped_at_run_time_is_caught_by_the_remeasurement_and_closes_the_link() {
    let id = sensor_id();
    let fw = MeasuredFirmware::new(SET, &sensor_firmware("1.4.2"));
    let mut smem = SensorMemory::new();
    let mut sensor =
        Sensor::new(&id, &mut smem, Protocol::Sep, cse_link::demo::default_vc()).unwrap();
    sensor.set_firmware(&fw);
    let mut p = Parts::new();
    let mut ecu = Ecu::new(
        &mut p.rng,
        &p.verifier,
        &mut p.chain_buf,
        &ALGS,
        Protocol::Sep,
        cse_link::demo::default_vc(),
        Policy::PERMISSIVE,
        Some(&p.eid),
    )
    .unwrap();
    ecu.set_measurement_policy(sensor_policy()).unwrap();
    cse_link::authenticate(&mut ecu, &mut sensor).unwrap();
    cse_link::configure(&mut ecu, &mut sensor, &config()).unwrap();
    assert!(frame_ok(&mut sensor, &mut ecu, 1));
    let mut evil = sensor_firmware("1.4.2");
    evil.image[0] ^= 1;
    fw.reflash(&evil);
    assert!(matches!(
        cse_link::attest(&mut ecu, &mut sensor),
        Err(LinkError::Attestation(AttestError::Mismatch { .. }))
    ));
    // Every ECU key is gone: the stream no longer verifies, nothing can be configured.
    assert!(!ecu.holds_keys() && !ecu.link_ready());
    assert!(!frame_ok(&mut sensor, &mut ecu, 2));
    assert!(cse_link::configure(&mut ecu, &mut sensor, &config()).is_err());
}

/// The sensor passes; the bridge is `counterfeit` or runs tampered firmware.
fn with_bad_bridge(counterfeit: bool) {
    let id = sensor_id();
    let bid = bridge_id(counterfeit);
    let fw = MeasuredFirmware::new(SET, &sensor_firmware("1.4.2"));
    let mut bad = bridge_firmware();
    if !counterfeit {
        bad.image[3] ^= 4;
    }
    let bfw = MeasuredFirmware::new(SET, &bad);
    let (mut smem, mut r2) = (SensorMemory::new(), OsRandom);
    let mut sensor =
        Sensor::new(&id, &mut smem, Protocol::Sep, cse_link::demo::default_vc()).unwrap();
    sensor.set_firmware(&fw);
    let mut bridge = Bridge::new(&bid, &mut r2, Some(&bfw)).unwrap();
    let mut p = Parts::new();
    let mut ecu = p.ecu();
    cse_link::authenticate(&mut ecu, &mut sensor).unwrap();
    assert!(ecu.holds_keys());
    let r = cse_link::authenticate_responder(&mut ecu, 0, &mut bridge, true);
    if counterfeit {
        assert!(
            matches!(r, Err(LinkError::Spdm(spdm_lite::Error::Certificate(_)))),
            "{r:?}"
        );
    } else {
        assert!(
            matches!(
                r,
                Err(LinkError::Attestation(AttestError::Mismatch {
                    index: index::FIRMWARE
                }))
            ),
            "{r:?}"
        );
    }
    // The whole link is refused: the sensor's keys are dropped too, no configuration goes out.
    assert!(!ecu.link_ready() && !ecu.holds_keys());
    assert!(matches!(
        cse_link::configure(&mut ecu, &mut sensor, &config()),
        Err(LinkError::LinkNotReady)
    ));
    assert!(sensor.stream_config().is_err());
}

#[test]
fn link_is_refused_when_the_bridge_runs_tampered_firmware() {
    with_bad_bridge(false);
}

#[test]
fn link_is_refused_when_the_bridge_is_counterfeit() {
    with_bad_bridge(true);
}
