//! Outsider round 2: CCISE writes around a KEY_UPDATE in flight (docs/profile.md, "CCISE rekey
//! point"): the ECU seals nothing between the key change and the VerifyNewKey answer; a write
//! sealed before the key change and delivered late still applies until VerifyNewKey, never
//! after it; the next frames verify under the new stream key.

use cse_core::{BlockConfig, CipherSuite, FrameConfig, KeyId, Policy};
use cse_core::{SecurityVariant, TagLen, TagMode};
use cse_link::{
    Ecu, EcuIdentity, LinkError, OsRandom, Protocol, Sensor, SensorIdentity, SensorMemory,
};
use spdm_lite::crypto::AlgorithmSet;
use spdm_lite::msgs::key_update::KeyUpdateOp;
use spdm_lite::x509::X509Verifier;

const ROOT: &[u8] = include_bytes!("../pki/p256/root.cert.der");
const CHAIN: &[u8] = include_bytes!("../pki/p256/chain.der");
const LEAF_KEY: &[u8] = include_bytes!("../pki/p256/leaf.key.der");
const ECU_CHAIN: &[u8] = include_bytes!("../pki/p256/req_chain.der");
const ECU_KEY: &[u8] = include_bytes!("../pki/p256/req_leaf.key.der");
const ALGS: [AlgorithmSet; 1] = [AlgorithmSet::SET_A];

fn config(protocol: Protocol) -> FrameConfig {
    FrameConfig::uniform(
        BlockConfig {
            sv: SecurityVariant::FullIntegrity,
            suite: CipherSuite::Aes256Gmac,
            tag_len: TagLen::L16,
            tag_mode: match protocol {
                Protocol::Sep => TagMode::PerMessage,
                _ => TagMode::PerFrame,
            },
        },
        KeyId::default(),
    )
}

fn exchange(ecu: &mut Ecu<'_>, sensor: &mut Sensor<'_>, op: KeyUpdateOp) {
    let (mut req, mut rsp) = (vec![0u8; 4096], vec![0u8; 4096]);
    let n = ecu.write_key_update(op, &mut req).expect("key update");
    let m = sensor
        .handle_spdm_from(ecu.peer(), &mut req[..n], &mut rsp)
        .expect("answer");
    let _ = ecu.handle_session_response(&mut rsp[..m]).expect("ack");
}

fn streams(sensor: &mut Sensor<'_>, ecu: &mut Ecu<'_>, n: u16) {
    let scene = cse_link::scene::Scene::new(32, 4, cse_link::demo::default_vc());
    let originals = scene.frame(n).expect("scene");
    let (mut wire, mut back) = (Vec::new(), Vec::new());
    sensor.transmit_frame(&originals, &mut wire).expect("tx");
    let rep = ecu.receive_frame(&wire, u64::from(n), &mut back);
    assert!(rep.clean, "frame {n}: {:?}", rep.findings);
    assert_eq!(back, originals, "frame {n}");
}

#[test]
fn a_write_sealed_before_a_key_update_applies_only_until_verify_new_key() {
    for protocol in [Protocol::Sep, Protocol::Fsed] {
        let sensor_id = SensorIdentity::from_der(AlgorithmSet::SET_A, CHAIN, ROOT, LEAF_KEY)
            .expect("sensor")
            .trusting_ecu_root(ROOT);
        let ecu_id =
            EcuIdentity::from_der(AlgorithmSet::SET_A, ECU_CHAIN, ROOT, ECU_KEY).expect("ecu");
        let verifier = X509Verifier::new(spdm_lite::crypto::RustCrypto, ROOT);
        let mut mem = SensorMemory::new();
        let mut sensor = Sensor::new(&sensor_id, &mut mem, protocol, cse_link::demo::default_vc())
            .expect("sensor");
        let (mut rng, mut chain_buf) = (OsRandom, vec![0u8; 8192]);
        let mut ecu = Ecu::new(
            &mut rng,
            &verifier,
            &mut chain_buf,
            &ALGS,
            protocol,
            cse_link::demo::default_vc(),
            Policy::PERMISSIVE,
            Some(&ecu_id),
        )
        .expect("ecu");
        cse_link::handshake(&mut ecu, &mut sensor).expect("handshake");
        cse_link::configure(&mut ecu, &mut sensor, &config(protocol)).expect("configure");
        streams(&mut sensor, &mut ecu, 1);
        let g0 = sensor.cci_generation();
        let mut frame = [0u8; ccise::wire::MAX_FRAME_LEN];
        let n = ecu
            .seal_stream_config(&config(protocol), &mut frame)
            .expect("seal");
        let late = frame[..n].to_vec();

        exchange(&mut ecu, &mut sensor, KeyUpdateOp::UPDATE_ALL_KEYS);
        // Between the key change and VerifyNewKey the ECU seals nothing.
        let mut buf = [0xEEu8; ccise::wire::MAX_FRAME_LEN];
        let e = ecu.seal_stream_config(&config(protocol), &mut buf);
        assert!(
            matches!(e, Err(LinkError::KeyUpdateInProgress)),
            "{protocol:?}: {e:?}"
        );
        assert!(
            buf.iter().all(|&b| b == 0xEE),
            "{protocol:?}: bytes written"
        );
        assert_eq!(
            sensor.cci_generation(),
            g0,
            "{protocol:?}: CCISE not yet replaced"
        );
        // The late genuine write of the old generation still applies: it is next in order.
        let before = sensor.cci_last_counter();
        sensor
            .handle_cci_write(&late)
            .expect("the late write applies before VerifyNewKey");
        assert!(sensor.cci_last_counter() > before);

        exchange(&mut ecu, &mut sensor, KeyUpdateOp::VERIFY_NEW_KEY);
        let g1 = sensor.cci_generation();
        assert_eq!(g1, ecu.cci_generation(), "{protocol:?}");
        assert!(g1 > g0);
        assert_eq!(sensor.cci_last_counter(), None);
        // The same write again (a replay across the rekey) is refused and moves nothing.
        let regs = sensor.registers().registers().to_vec();
        assert!(sensor.handle_cci_write(&late).is_err(), "{protocol:?}");
        assert_eq!(sensor.cci_last_counter(), None);
        assert_eq!(sensor.registers().registers().to_vec(), regs);
        // New writes start at counter 1; frames verify under the new stream key.
        cse_link::configure(&mut ecu, &mut sensor, &config(protocol)).expect("new write");
        assert_eq!(sensor.cci_last_counter(), Some(1));
        streams(&mut sensor, &mut ecu, 2);
        streams(&mut sensor, &mut ecu, 3);
    }
}
