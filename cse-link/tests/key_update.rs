//! An SPDM KEY_UPDATE moves the CCISE channel to the next key generation on both ends: writes
//! sealed under the new generation are applied, writes sealed under the old one (delivered
//! late or replayed) are refused, and no write is sealed while the update is in progress.
#![allow(clippy::unwrap_used, clippy::panic)]

use cse_core::{
    BlockConfig, CipherSuite, FrameConfig, KeyId, Policy, SecurityError, SecurityVariant, TagLen,
    TagMode,
};
use cse_link::scene::Scene;
use cse_link::{
    Ecu, EcuIdentity, LinkError, OsRandom, Protocol, Sensor, SensorIdentity, SensorMemory,
};
use spdm_lite::crypto::AlgorithmSet;
use spdm_lite::msgs::key_update::KeyUpdateOp;
use spdm_lite::requester::SessionEvent;
use spdm_lite::x509::X509Verifier;

const ROOT: &[u8] = include_bytes!("../pki/p256/root.cert.der");
const CHAIN: &[u8] = include_bytes!("../pki/p256/chain.der");
const LEAF_KEY: &[u8] = include_bytes!("../pki/p256/leaf.key.der");
const ECU_CHAIN: &[u8] = include_bytes!("../pki/p256/req_chain.der");
const ECU_KEY: &[u8] = include_bytes!("../pki/p256/req_leaf.key.der");
const ALGS: [AlgorithmSet; 1] = [AlgorithmSet::SET_A];

fn config(sv: SecurityVariant, suite: CipherSuite) -> FrameConfig {
    FrameConfig::uniform(
        BlockConfig {
            sv,
            suite,
            tag_len: TagLen::L16,
            tag_mode: TagMode::PerMessage,
        },
        KeyId::default(),
    )
}

/// Authenticated and configured (SV-2, AES-256-GMAC) link; runs `f` on it.
fn with_link(f: impl FnOnce(&mut Ecu<'_>, &mut Sensor<'_>)) {
    let id = SensorIdentity::from_der(AlgorithmSet::SET_A, CHAIN, ROOT, LEAF_KEY)
        .unwrap()
        .trusting_ecu_root(ROOT);
    let eid = EcuIdentity::from_der(AlgorithmSet::SET_A, ECU_CHAIN, ROOT, ECU_KEY).unwrap();
    let verifier = X509Verifier::new(spdm_lite::crypto::RustCrypto, ROOT);
    let (mut smem, mut erng) = (SensorMemory::new(), OsRandom);
    let mut chain_buf = vec![0u8; 8192];
    let vc = cse_link::demo::default_vc();
    let mut sensor = Sensor::new(&id, &mut smem, Protocol::Sep, vc).unwrap();
    let mut ecu = Ecu::new(
        &mut erng,
        &verifier,
        &mut chain_buf,
        &ALGS,
        Protocol::Sep,
        vc,
        Policy::PERMISSIVE,
        Some(&eid),
    )
    .unwrap();
    cse_link::handshake(&mut ecu, &mut sensor).unwrap();
    let c = config(SecurityVariant::FullIntegrity, CipherSuite::Aes256Gmac);
    cse_link::configure(&mut ecu, &mut sensor, &c).unwrap();
    assert_eq!((ecu.cci_generation(), sensor.cci_generation()), (0, 0));
    f(&mut ecu, &mut sensor);
}

fn seal(ecu: &mut Ecu<'_>, c: &FrameConfig) -> Result<Vec<u8>, LinkError> {
    let mut frame = [0u8; ccise::wire::MAX_FRAME_LEN];
    let n = ecu.seal_stream_config(c, &mut frame)?;
    Ok(frame[..n].to_vec())
}

fn assert_refused(sensor: &mut Sensor<'_>, frame: &[u8], what: &str) {
    let before = sensor.registers().registers().to_vec();
    match sensor.handle_cci_write(frame) {
        Err(LinkError::Cci(ccise::Error::Security(SecurityError::AuthFailed))) => {}
        other => panic!("{what}: {other:?}"),
    }
    assert_eq!(
        sensor.registers().registers()[..],
        before[..],
        "{what}: registers changed"
    );
}

fn exchange(ecu: &mut Ecu<'_>, sensor: &mut Sensor<'_>, op: KeyUpdateOp) -> SessionEvent {
    let (mut req, mut rsp) = (vec![0u8; 4096], vec![0u8; 4096]);
    let n = ecu.write_key_update(op, &mut req).unwrap();
    let m = sensor.handle_spdm(&mut req[..n], &mut rsp).unwrap();
    ecu.handle_session_response(&mut rsp[..m]).unwrap()
}

#[test]
fn after_key_update_new_generation_writes_apply_and_old_ones_are_refused() {
    with_link(|ecu, sensor| {
        let sv1 = config(
            SecurityVariant::FullIntegrityEncrypted,
            CipherSuite::Aes256Gcm,
        );
        let sv2 = config(SecurityVariant::FullIntegrity, CipherSuite::Aes256Gmac);
        // A genuine generation-0 write that is held back (counter 2, never delivered), and the
        // configuration write already applied (counter 1).
        let late = seal(ecu, &sv1).unwrap();
        let sv2_write = seal(ecu, &sv2).unwrap();
        sensor.handle_cci_write(&sv2_write).unwrap();

        let generation = cse_link::key_update(ecu, sensor).unwrap();
        assert_ne!(generation, 0);
        assert_eq!(ecu.cci_generation(), generation);
        assert_eq!(sensor.cci_generation(), generation);

        // The old generation: a late write whose counter is above anything the new session
        // saw, and a replay, are both refused on the tag (the keys changed), not on counters.
        assert_refused(sensor, &late, "late generation-0 write");
        assert_refused(sensor, &sv2_write, "replayed generation-0 write");

        // The new generation: counters restart, and the write applies.
        let fresh = seal(ecu, &sv1).unwrap();
        assert_eq!(
            fresh.len(),
            late.len(),
            "same write, same length, other keys"
        );
        assert_ne!(fresh, late);
        sensor.handle_cci_write(&fresh).unwrap();
        assert_eq!(sensor.stream_config().unwrap().image.sv, sv1.image.sv);
        // ... once.
        assert!(sensor.handle_cci_write(&fresh).is_err());

        // A second update: generation-1 writes are now refused in turn.
        let before = seal(ecu, &sv2).unwrap();
        let next = cse_link::key_update(ecu, sensor).unwrap();
        assert!(next > generation);
        assert_eq!(
            (ecu.cci_generation(), sensor.cci_generation()),
            (next, next)
        );
        assert_refused(sensor, &before, "write of the previous generation");
        sensor.handle_cci_write(&seal(ecu, &sv2).unwrap()).unwrap();
        assert_eq!(sensor.stream_config().unwrap().image.sv, sv2.image.sv);
    });
}

#[test]
fn no_cci_write_between_the_key_change_and_verify_new_key() {
    with_link(|ecu, sensor| {
        let c = config(SecurityVariant::FullIntegrity, CipherSuite::Aes256Gmac);
        assert_eq!(
            exchange(ecu, sensor, KeyUpdateOp::UPDATE_ALL_KEYS),
            SessionEvent::KeyUpdated(KeyUpdateOp::UPDATE_ALL_KEYS)
        );
        // Both SPDM ends are at the new generation; CCISE waits for the confirmation.
        assert_ne!(ecu.key_generation(), 0);
        assert_eq!((ecu.cci_generation(), sensor.cci_generation()), (0, 0));
        assert!(matches!(seal(ecu, &c), Err(LinkError::KeyUpdateInProgress)));
        exchange(ecu, sensor, KeyUpdateOp::VERIFY_NEW_KEY);
        let g = ecu.key_generation();
        assert_eq!((ecu.cci_generation(), sensor.cci_generation()), (g, g));
        sensor.handle_cci_write(&seal(ecu, &c).unwrap()).unwrap();
    });
}

#[test]
fn a_forged_spdm_record_does_not_move_the_sensor_to_the_new_generation() {
    with_link(|ecu, sensor| {
        exchange(ecu, sensor, KeyUpdateOp::UPDATE_ALL_KEYS);
        // A VerifyNewKey record with one bit flipped: refused, and the sensor stays on the
        // old CCISE generation.
        let (mut req, mut rsp) = (vec![0u8; 4096], vec![0u8; 4096]);
        let n = ecu
            .write_key_update(KeyUpdateOp::VERIFY_NEW_KEY, &mut req)
            .unwrap();
        let mut forged = req[..n].to_vec();
        let last = forged.len() - 1;
        forged[last] ^= 1;
        assert!(sensor.handle_spdm(&mut forged, &mut rsp).is_err());
        assert_eq!(sensor.cci_generation(), 0);
        // A plain (unsecured) SPDM message does not move it either.
        let mut plain = [0x05, 0x12, 0xE8, 0, 0]; // HEARTBEAT outside the session
        let _ = sensor.handle_spdm(&mut plain, &mut rsp);
        assert_eq!(sensor.cci_generation(), 0);
        // The genuine record does.
        let m = sensor.handle_spdm(&mut req[..n], &mut rsp).unwrap();
        ecu.handle_session_response(&mut rsp[..m]).unwrap();
        let g = ecu.key_generation();
        assert_eq!((ecu.cci_generation(), sensor.cci_generation()), (g, g));
    });
}

#[test]
fn the_stream_still_rolls_over_and_streams_after_a_key_update() {
    with_link(|ecu, sensor| {
        let scene = Scene::new(32, 4, cse_link::demo::default_vc());
        let (mut wire, mut back) = (Vec::new(), Vec::new());
        for n in 1..=4u16 {
            if n == 3 {
                cse_link::key_update(ecu, sensor).unwrap();
            }
            wire.clear();
            let originals = scene.frame(n).unwrap();
            sensor.transmit_frame(&originals, &mut wire).unwrap();
            let rep = ecu.receive_frame(&wire, u64::from(n), &mut back);
            assert!(rep.clean, "frame {n}: {:?}", rep.findings);
            assert_eq!(rep.key_rollover, n == 3, "frame {n}");
            assert_eq!(back, originals);
        }
    });
}
