//! Third outsider round: what the ECU releases of FSED's FS and FE packets.
//!
//! FSED's FS and FE carry no tag: their only content, the frame number, is bound by the frame
//! header, so they are authentic once the frame's first record verified
//! (`docs/wire-format.md`, FSED receiver rules; the workspace README's `Ecu::receive_frame`:
//! "the original packets released as authentic"). A keyless injector can send FS and FE at
//! will; the ECU must not hand them to the application as authentic unless the frame they
//! belong to authenticated. The genuine frame after the injection is still clean and complete,
//! FS and FE included.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use cse_core::csi2::{DataType, HeaderForm, Repr, VirtualChannel};
use cse_core::{BlockConfig, CipherSuite, FrameConfig, KeyId, Policy, SecurityVariant, TagMode};
use cse_link::scene::Scene;
use cse_link::{Ecu, EcuIdentity, Protocol, Sensor, SensorIdentity, SensorMemory};
use spdm_lite::crypto::AlgorithmSet;
use spdm_lite::x509::X509Verifier;

const ROOT: &[u8] = include_bytes!("../pki/p256/root.cert.der");
const CHAIN: &[u8] = include_bytes!("../pki/p256/chain.der");
const LEAF_KEY: &[u8] = include_bytes!("../pki/p256/leaf.key.der");
const ECU_CHAIN: &[u8] = include_bytes!("../pki/p256/req_chain.der");
const ECU_KEY: &[u8] = include_bytes!("../pki/p256/req_leaf.key.der");
const ALGS: [AlgorithmSet; 1] = [AlgorithmSet::SET_A];

fn config(mode: TagMode) -> FrameConfig {
    let mut block = BlockConfig::full_integrity(CipherSuite::Aes128Gmac);
    block.tag_mode = mode;
    FrameConfig::uniform(block, KeyId::default())
}

fn strict() -> Policy {
    Policy {
        min_top: SecurityVariant::FullIntegrity.level(),
        min_image: SecurityVariant::FullIntegrity.level(),
        min_bottom: SecurityVariant::FullIntegrity.level(),
    }
}

fn short(dt: DataType, n: u16) -> Vec<u8> {
    Repr {
        vc: VirtualChannel::default(),
        data_type: dt,
        word_count: n,
    }
    .header_bytes(HeaderForm::Dphy)
    .unwrap()
    .to_vec()
}

/// Runs `f` on a configured FSED link that streamed one clean frame.
fn with_link(mode: TagMode, f: impl FnOnce(&mut Sensor<'_>, &mut Ecu<'_>)) {
    let id = SensorIdentity::from_der(AlgorithmSet::SET_A, CHAIN, ROOT, LEAF_KEY)
        .unwrap()
        .trusting_ecu_root(ROOT);
    let eid = EcuIdentity::from_der(AlgorithmSet::SET_A, ECU_CHAIN, ROOT, ECU_KEY).unwrap();
    let mut smem = SensorMemory::new();
    let mut sensor =
        Sensor::new(&id, &mut smem, Protocol::Fsed, VirtualChannel::default()).unwrap();
    let mut rng = cse_link::OsRandom;
    let verifier = X509Verifier::new(spdm_lite::crypto::RustCrypto, ROOT);
    let mut chain_buf = vec![0u8; 8192];
    let mut ecu = Ecu::new(
        &mut rng,
        &verifier,
        &mut chain_buf,
        &ALGS,
        Protocol::Fsed,
        VirtualChannel::default(),
        strict(),
        Some(&eid),
    )
    .unwrap();
    cse_link::handshake(&mut ecu, &mut sensor).unwrap();
    cse_link::configure(&mut ecu, &mut sensor, &config(mode)).unwrap();
    let (r, _) = genuine(&mut sensor, &mut ecu, 0);
    assert!(r.clean, "{r:?}");
    f(&mut sensor, &mut ecu);
}

fn scene() -> Scene {
    Scene::new(32, 4, VirtualChannel::default())
}

/// A genuine frame, through the ECU; checks it is released whole (FS to FE).
fn genuine(sensor: &mut Sensor<'_>, ecu: &mut Ecu<'_>, n: u16) -> (cse_link::FrameReport, Vec<u8>) {
    let originals = scene().frame(n).unwrap();
    let mut wire = Vec::new();
    sensor.transmit_frame(&originals, &mut wire).unwrap();
    let mut out = Vec::new();
    let r = ecu.receive_frame(&wire, 0, &mut out);
    if r.clean {
        assert_eq!(
            out, originals,
            "a clean frame is released bit-exact, FS to FE"
        );
    }
    (r, out)
}

#[test]
fn injected_fs_and_fe_alone_are_not_released() {
    for mode in [TagMode::PerFrame, TagMode::PerDataType] {
        with_link(mode, |sensor, ecu| {
            for wire in [
                short(DataType::FS, 0x1234),
                short(DataType::FE, 0x1234),
                [short(DataType::FS, 0x4321), short(DataType::FE, 0x4321)].concat(),
            ] {
                let mut out = vec![0xEE; 8];
                let r = ecu.receive_frame(&wire, 0, &mut out);
                assert_eq!(r.released, 0, "{mode:?}: {r:?}");
                assert!(out.is_empty(), "{mode:?}: released {out:02x?}");
                assert!(!r.clean);
            }
            let (r, _) = genuine(sensor, ecu, 1);
            assert!(r.clean, "{mode:?}: {r:?}");
        });
    }
}

#[test]
fn fs_and_fe_of_a_frame_that_never_authenticates_are_not_released() {
    for mode in [TagMode::PerFrame, TagMode::PerDataType] {
        with_link(mode, |sensor, ecu| {
            // A genuine frame whose tag records are withheld: FS, frame header, originals and
            // FE arrive, nothing authenticates the header.
            let mut wire = Vec::new();
            sensor
                .transmit_frame(&scene().frame(1).unwrap(), &mut wire)
                .unwrap();
            let mut fsed = 0;
            let mut mangled = Vec::new();
            for p in cse_core::csi2::Packets::new(&wire, HeaderForm::Dphy) {
                let p = p.unwrap();
                if p.repr.data_type == cse_core::Profile::DRAFT_1.dt_fsed {
                    fsed += 1;
                    if fsed > 1 {
                        continue;
                    }
                }
                mangled.extend_from_slice(p.raw);
            }
            assert!(fsed > 1);
            let mut out = Vec::new();
            let r = ecu.receive_frame(&mangled, 0, &mut out);
            assert!(!r.clean, "{mode:?}: {r:?}");
            assert_eq!(r.frame_counter, None, "{mode:?}: never authenticated");
            assert_eq!(r.released, 0, "{mode:?}: {r:?}");
            assert!(out.is_empty());
            // The next genuine frame is released whole; continuity reports the frame whose
            // records were withheld as lost (functional safety), nothing else.
            let (r, out) = genuine(sensor, ecu, 2);
            assert_eq!(r.findings, [cse_link::Finding::Loss], "{mode:?}: {r:?}");
            assert_eq!(out, scene().frame(2).unwrap(), "{mode:?}");
        });
    }
}

#[test]
fn an_injected_fs_next_to_the_genuine_frame_is_not_released_with_it() {
    // Before the genuine FS, right after it, and right after the frame header.
    for position in 0..3 {
        with_link(TagMode::PerFrame, |sensor, ecu| {
            let originals = scene().frame(1).unwrap();
            let mut wire = Vec::new();
            sensor.transmit_frame(&originals, &mut wire).unwrap();
            let fs = short(DataType::FS, 0x0BAD);
            let mut injected = Vec::new();
            if position == 0 {
                injected.extend_from_slice(&fs);
            }
            let mut fsed = 0;
            for p in cse_core::csi2::Packets::new(&wire, HeaderForm::Dphy) {
                let p = p.unwrap();
                injected.extend_from_slice(p.raw);
                if p.repr.data_type == cse_core::Profile::DRAFT_1.dt_fsed {
                    fsed += 1;
                }
                if (position == 1 && p.repr.data_type == DataType::FS)
                    || (position == 2
                        && fsed == 1
                        && p.repr.data_type != DataType::FS
                        && p.repr.data_type == cse_core::Profile::DRAFT_1.dt_fsed)
                {
                    injected.extend_from_slice(&fs);
                }
            }
            assert_eq!(injected.len(), wire.len() + 4);
            let mut out = Vec::new();
            let r = ecu.receive_frame(&injected, 0, &mut out);
            assert!(r.frame_counter.is_some(), "{position}: {r:?}");
            assert_eq!(
                out, originals,
                "{position}: only the genuine frame's packets: {r:?}"
            );
        });
    }
}

/// The raw packets of `wire`.
fn packets(wire: &[u8]) -> Vec<Vec<u8>> {
    cse_core::csi2::Packets::new(wire, HeaderForm::Dphy)
        .map(|p| p.unwrap().raw.to_vec())
        .collect()
}

/// `header` (a genuine FSED frame header packet, no tag of its own) with its frame number
/// changed to `number`: what a keyless injector can make of a header it saw.
fn forged_header(header: &[u8], number: u16) -> Vec<u8> {
    let profile = cse_core::Profile::DRAFT_1;
    let p = cse_fsed::wire::Packet::new_checked(&header[4..header.len() - 2]).unwrap();
    let mut repr = cse_fsed::wire::Repr::parse(&p, &profile).unwrap();
    let cse_fsed::wire::Repr::FrameHeader(h) = &mut repr else {
        panic!("not a frame header")
    };
    h.frame_number = number;
    let mut payload = vec![0u8; repr.buffer_len()];
    repr.emit(&mut payload, &profile).unwrap();
    let mut buf = vec![0u8; payload.len() + 6];
    cse_core::csi2::Emitter::new(&mut buf, HeaderForm::Dphy)
        .long(VirtualChannel::default(), profile.dt_fsed, &payload)
        .unwrap();
    buf
}

/// The injector copies the frame header it will see next (same frame counter), names its own
/// frame number in it, and sends FS, that header and FE of that number ahead of the genuine
/// frame. The receiver takes the forged header (it has no tag) until the genuine one replaces
/// it; only the header whose frame authenticates binds, so the ECU releases the genuine frame
/// alone, FS to FE, and reports it clean.
#[test]
fn a_forged_header_ahead_of_the_genuine_frame_binds_nothing() {
    for mode in [TagMode::PerFrame, TagMode::PerDataType] {
        with_link(mode, |sensor, ecu| {
            let originals = scene().frame(1).unwrap();
            let mut wire = Vec::new();
            sensor.transmit_frame(&originals, &mut wire).unwrap();
            let dt_fsed = cse_core::Profile::DRAFT_1.dt_fsed.0;
            let ps = packets(&wire);
            let header = ps.iter().find(|p| p[0] & 0x3F == dt_fsed).unwrap();
            let mut attacked = short(DataType::FS, 0x0BAD);
            attacked.extend(forged_header(header, 0x0BAD));
            attacked.extend(short(DataType::FE, 0x0BAD));
            attacked.extend_from_slice(&wire);
            let mut out = Vec::new();
            let r = ecu.receive_frame(&attacked, 0, &mut out);
            assert!(r.clean, "{mode:?}: {r:?}");
            assert_eq!(out, originals, "{mode:?}: the injected FS and FE released");
            // The next genuine frame as in a twin.
            let (r, _) = genuine(sensor, ecu, 2);
            assert!(r.clean, "{mode:?}: {r:?}");
        });
    }
}

/// A frame whose FE is left for the next call (the caller cut the stream there), then a frame
/// with the same CSI-2 frame number: the left-over FE belongs to no frame of the second call
/// and is not released with the second frame, which comes out exactly once, FS to FE.
#[test]
fn an_fe_left_over_from_the_previous_call_is_not_released_with_the_next_frame() {
    with_link(TagMode::PerFrame, |sensor, ecu| {
        let first = scene().frame(1).unwrap();
        let mut w1 = Vec::new();
        sensor.transmit_frame(&first, &mut w1).unwrap();
        let ps = packets(&w1);
        let fe = ps.last().unwrap().clone();
        let mut out = Vec::new();
        let _ = ecu.receive_frame(&ps[..ps.len() - 1].concat(), 0, &mut out);
        let second = scene().frame(1).unwrap();
        let mut w2 = Vec::new();
        sensor.transmit_frame(&second, &mut w2).unwrap();
        let mut wire = fe;
        wire.extend_from_slice(&w2);
        let r = ecu.receive_frame(&wire, 0, &mut out);
        assert!(r.frame_counter.is_some(), "{r:?}");
        assert_eq!(out, second, "{r:?}");
    });
}

/// A copy of the genuine FS sent just ahead of it: the same bytes, but one frame start; the
/// ECU releases one FS with the frame.
#[test]
fn a_replayed_copy_of_the_genuine_fs_is_not_released_twice() {
    with_link(TagMode::PerFrame, |sensor, ecu| {
        let originals = scene().frame(1).unwrap();
        let mut wire = Vec::new();
        sensor.transmit_frame(&originals, &mut wire).unwrap();
        let mut attacked = packets(&wire)[0].clone();
        attacked.extend_from_slice(&wire);
        let mut out = Vec::new();
        let r = ecu.receive_frame(&attacked, 0, &mut out);
        assert!(r.frame_counter.is_some(), "{r:?}");
        assert_eq!(out, originals, "{r:?}");
    });
}
