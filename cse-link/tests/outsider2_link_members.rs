//! Outsider round 2, whole link: a keyless forger puts well-formed open-scope members (its own
//! transmitter, another key) into an SEP per-data-type frame on the wire. Whatever the receiver
//! does with them, the ECU must release only the sensor's packets, bit-exact (docs: "Unverified
//! packets whose scope fails are never written"), never a forged byte, and the next genuine
//! frame must be released whole and clean.

use cse_core::csi2::{HeaderForm, Packets};
use cse_core::keys::{Salt, SecretKey};
use cse_core::{BlockConfig, CipherSuite, FrameConfig, KeyId, Policy};
use cse_core::{SecurityVariant, TagLen, TagMode};
use cse_link::{Ecu, EcuIdentity, OsRandom, Protocol, Sensor, SensorIdentity, SensorMemory};
use spdm_lite::crypto::AlgorithmSet;
use spdm_lite::x509::X509Verifier;

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
            suite: CipherSuite::Aes256Gmac,
            tag_len: TagLen::L16,
            tag_mode: TagMode::PerDataType,
        },
        KeyId::default(),
    )
}

fn split(wire: &[u8]) -> Vec<Vec<u8>> {
    Packets::new(wire, HeaderForm::Dphy)
        .map(|p| p.expect("packet").raw.to_vec())
        .collect()
}

/// The forger's SEP packets for the originals of `frame` (its own key, same configuration).
fn forged(frame: &[u8]) -> Vec<Vec<u8>> {
    let mut tx = cse_sep::Transmitter::new(cse_sep::Settings::new(cse_link::demo::default_vc()), 1);
    tx.install_key(
        KeyId::default(),
        cse_sep::KeyMaterial::new(SecretKey::aes256([0x66; 32]), None, Salt::new([1; 12])),
    )
    .expect("key");
    tx.set_config(config()).expect("config");
    let mut wire = Vec::new();
    let mut out = vec![0u8; 8192];
    for p in split(frame) {
        let done = tx.protect(&p, &mut out).expect("protect");
        wire.extend(split(&out[..done.len]));
    }
    wire
}

#[test]
fn forged_members_on_the_wire_never_reach_the_ecus_output() {
    let sensor_id = SensorIdentity::from_der(AlgorithmSet::SET_A, CHAIN, ROOT, LEAF_KEY)
        .expect("sensor")
        .trusting_ecu_root(ROOT);
    let ecu_id =
        EcuIdentity::from_der(AlgorithmSet::SET_A, ECU_CHAIN, ROOT, ECU_KEY).expect("ecu id");
    let verifier = X509Verifier::new(spdm_lite::crypto::RustCrypto, ROOT);
    let scene = cse_link::scene::Scene::new(32, 6, cse_link::demo::default_vc());
    // The forger's packets come from a frame like the sensor's (same indices) or from a much
    // taller one (its late members carry message indices far ahead of the sensor's).
    let tall = cse_link::scene::Scene::new(32, 200, cse_link::demo::default_vc());
    for jump in [false, true] {
        for at in 1..8usize {
            let mut mem = SensorMemory::new();
            let mut sensor = Sensor::new(
                &sensor_id,
                &mut mem,
                Protocol::Sep,
                cse_link::demo::default_vc(),
            )
            .expect("sensor");
            let (mut rng, mut chain_buf) = (OsRandom, vec![0u8; 8192]);
            let mut ecu = Ecu::new(
                &mut rng,
                &verifier,
                &mut chain_buf,
                &ALGS,
                Protocol::Sep,
                cse_link::demo::default_vc(),
                Policy::PERMISSIVE,
                Some(&ecu_id),
            )
            .expect("ecu");
            cse_link::handshake(&mut ecu, &mut sensor).expect("handshake");
            cse_link::configure(&mut ecu, &mut sensor, &config()).expect("configure");
            let originals = scene.frame(1).expect("scene");
            let mut wire = Vec::new();
            sensor.transmit_frame(&originals, &mut wire).expect("tx");
            let genuine = split(&wire);
            let fake = if jump {
                forged(&tall.frame(1).expect("scene"))
            } else {
                forged(&originals)
            };
            // Insert forged image members (non-genuine packets) right before genuine packet
            // `at`.
            let mut attacked = genuine.clone();
            let picked = if jump {
                &fake[fake.len() - 12..fake.len() - 9]
            } else {
                &fake[2..5]
            };
            let injected: Vec<Vec<u8>> = picked
                .iter()
                .filter(|p| !genuine.contains(p))
                .cloned()
                .collect();
            assert!(!injected.is_empty());
            for (k, p) in injected.iter().enumerate() {
                attacked.insert(at + k, p.clone());
            }
            let mut out = Vec::new();
            let report = ecu.receive_frame(&attacked.concat(), 1, &mut out);
            // Only the sensor's packets, in order, each whole.
            let released = split(&out);
            let original_packets = split(&originals);
            let mut it = original_packets.iter();
            for r in &released {
                assert!(
                    it.any(|o| o == r),
                    "jump {jump:?} at {at}: released a packet that is not the sensor's ({report:?})"
                );
            }
            // The next frame is released whole and clean.
            let originals2 = scene.frame(2).expect("scene");
            let mut wire2 = Vec::new();
            sensor.transmit_frame(&originals2, &mut wire2).expect("tx");
            let r2 = ecu.receive_frame(&wire2, 2, &mut out);
            assert!(r2.clean, "jump {jump:?} at {at}: {r2:?}");
            assert_eq!(out, originals2, "jump {jump:?} at {at}");
        }
    }
}

/// FSED: a keyless copy of one of the sensor's own lines (originals travel in clear) inserted
/// into the frame on the wire. The ECU releases only the sensor's packets, never the copy
/// twice, and the next frame is released whole and clean.
#[test]
fn an_injected_original_line_under_fsed_never_reaches_the_ecus_output_twice() {
    let sensor_id = SensorIdentity::from_der(AlgorithmSet::SET_A, CHAIN, ROOT, LEAF_KEY)
        .expect("sensor")
        .trusting_ecu_root(ROOT);
    let ecu_id =
        EcuIdentity::from_der(AlgorithmSet::SET_A, ECU_CHAIN, ROOT, ECU_KEY).expect("ecu id");
    let verifier = X509Verifier::new(spdm_lite::crypto::RustCrypto, ROOT);
    let scene = cse_link::scene::Scene::new(32, 6, cse_link::demo::default_vc());
    let mut mem = SensorMemory::new();
    let mut sensor = Sensor::new(
        &sensor_id,
        &mut mem,
        Protocol::Fsed,
        cse_link::demo::default_vc(),
    )
    .expect("sensor");
    let (mut rng, mut chain_buf) = (OsRandom, vec![0u8; 8192]);
    let mut ecu = Ecu::new(
        &mut rng,
        &verifier,
        &mut chain_buf,
        &ALGS,
        Protocol::Fsed,
        cse_link::demo::default_vc(),
        Policy::PERMISSIVE,
        Some(&ecu_id),
    )
    .expect("ecu");
    cse_link::handshake(&mut ecu, &mut sensor).expect("handshake");
    cse_link::configure(&mut ecu, &mut sensor, &config()).expect("configure");
    for n in 1..=8u16 {
        let originals = scene.frame(2 * n - 1).expect("scene");
        let mut wire = Vec::new();
        sensor.transmit_frame(&originals, &mut wire).expect("tx");
        let genuine = split(&wire);
        let original_packets = split(&originals);
        // A clear original line of this frame (not FS/FE), copied in after itself.
        let lines: Vec<usize> = (0..genuine.len())
            .filter(|&i| genuine[i].len() > 4 && original_packets.contains(&genuine[i]))
            .collect();
        let at = lines[(n as usize) % lines.len()];
        let mut attacked = genuine.clone();
        attacked.insert(at + 1, genuine[at].clone());
        let mut out = Vec::new();
        let report = ecu.receive_frame(&attacked.concat(), u64::from(2 * n), &mut out);
        let released = split(&out);
        let mut it = original_packets.iter();
        for r in &released {
            assert!(
                it.any(|o| o == r),
                "frame {n}: released out of order or twice ({report:?})"
            );
        }
        let originals2 = scene.frame(2 * n).expect("scene");
        let mut wire2 = Vec::new();
        sensor.transmit_frame(&originals2, &mut wire2).expect("tx");
        let r2 = ecu.receive_frame(&wire2, u64::from(2 * n + 1), &mut out);
        assert!(r2.clean, "frame {n}: {r2:?}");
        assert_eq!(out, originals2, "frame {n}");
    }
}
