//! Outsider round 5: FSED receivers and transmitters of different `Profile` / `Settings`
//! (CRC-32 variant, FSED data type, format version, suite ids, direction, VC, VCX header form).
//! Black-box: only the public API and `docs/wire-format.md`.
#![allow(clippy::unwrap_used, clippy::panic, missing_docs)]

use cse_core::crc::Crc32Variant;
use cse_core::csi2::{DataType, Emitter, HeaderForm, Packets, VirtualChannel};
use cse_core::keys::{Salt, SecretKey};
use cse_core::{
    BlockConfig, CipherSuite, Direction, FrameConfig, KeyId, Policy, Profile, SecurityVariant,
    TagLen, TagMode,
};
use cse_fsed::{Delivery, KeyMaterial, Receiver, Settings, Transmitter};

const LINE: [u8; 32] = [0x11; 32];

fn keys() -> KeyMaterial {
    KeyMaterial::new(SecretKey::aes256([7; 32]), None, Salt::new([9; 12]))
}

/// The mixed wire stream (split) of two frames (FS, two lines, FE) from a fresh transmitter.
fn stream(s: Settings) -> Vec<Vec<u8>> {
    let mut tx = Transmitter::new(s, 1);
    tx.install_key(KeyId::default(), keys()).unwrap();
    tx.set_config(FrameConfig::uniform(
        BlockConfig {
            sv: SecurityVariant::FullIntegrityEncrypted,
            suite: CipherSuite::Aes256Gcm,
            tag_len: TagLen::L16,
            tag_mode: TagMode::PerFrame,
        },
        KeyId::default(),
    ))
    .unwrap();
    let mut wire = Vec::new();
    for n in 0..2u16 {
        let mut buf = [0u8; 256];
        let mut em = Emitter::new(&mut buf, s.form);
        em.frame_start(s.vc, n).unwrap();
        em.long(s.vc, DataType::RAW8, &LINE).unwrap();
        em.long(s.vc, DataType::RAW8, &LINE).unwrap();
        em.frame_end(s.vc, n).unwrap();
        let w = em.written().to_vec();
        for p in Packets::new(&w, s.form) {
            let mut p = p.unwrap().raw.to_vec();
            let mut ins = [0u8; cse_fsed::tx::MAX_INSERTED_LEN];
            let r = tx.protect(&mut p, &mut ins).unwrap();
            wire.extend_from_slice(r.before(&ins));
            wire.extend_from_slice(&p);
            wire.extend_from_slice(r.after(&ins));
        }
    }
    Packets::new(&wire, s.form)
        .map(|p| p.unwrap().raw.to_vec())
        .collect()
}

fn receiver(s: Settings) -> Receiver {
    let mut rx = Receiver::new(s, Policy::PERMISSIVE, 1_000_000);
    rx.install_key(KeyId::default(), keys()).unwrap();
    rx
}

/// Results of `packets`; panics when a foreign scope verifies or a plaintext line comes out.
fn feed(rx: &mut Receiver, packets: &[Vec<u8>], now: u64, foreign: bool) -> Vec<String> {
    packets
        .iter()
        .map(|p| {
            let r = rx.receive(p, now);
            if foreign {
                match &r {
                    Ok(Delivery::ScopeVerified(proof)) => {
                        panic!("foreign scope verified: {proof:?}")
                    }
                    Ok(Delivery::Unverified(u)) => {
                        assert!(!u.unverified_packet().windows(8).any(|w| w == &LINE[..8]))
                    }
                    Ok(Delivery::Unprotected(u)) => {
                        assert!(
                            !u.unauthenticated_packet()
                                .windows(8)
                                .any(|w| w == &LINE[..8])
                        )
                    }
                    _ => {}
                }
            }
            norm(format!("{r:?}"))
        })
        .collect()
}

/// Debug text with the per-instance receiver id blanked (twins differ only there).
fn norm(text: String) -> String {
    let mut out = String::new();
    let mut rest = text.as_str();
    while let Some(at) = rest.find("ReceiverId(") {
        out.push_str(&rest[..at + 11]);
        rest = rest[at + 11..].trim_start_matches(|c: char| c.is_ascii_digit());
    }
    out.push_str(rest);
    out
}

fn drain(rx: &mut Receiver, now: u64) -> Vec<String> {
    let mut v = Vec::new();
    while let Some(e) = rx.poll_event(now) {
        v.push(norm(format!("{e:?}")));
    }
    v
}

fn variants() -> Vec<(&'static str, Settings)> {
    let base = Settings::new(VirtualChannel::new(1).unwrap());
    let mut v = Vec::new();
    for (name, crc) in [
        ("crc autosar", Crc32Variant::Autosar),
        ("crc iscsi", Crc32Variant::Iscsi),
    ] {
        let mut s = base;
        s.profile.crc32 = crc;
        v.push((name, s));
    }
    let mut s = base;
    s.profile.dt_fsed = DataType(0x3E);
    v.push(("dt_fsed 0x3e", s));
    let mut s = base;
    s.profile.format_version = 2;
    v.push(("format version 2", s));
    let mut s = base;
    s.profile.suite_ids.ids.swap(0, 1);
    s.profile.suite_ids.ids.swap(4, 5);
    v.push(("suite ids permuted", s));
    let mut s = base;
    s.direction = Direction::ControllerToSensor;
    v.push(("direction", s));
    let mut s = base;
    s.vc = VirtualChannel::new(2).unwrap();
    v.push(("vc 2", s));
    let vcx = HeaderForm::vcx_from_profile(&Profile::DRAFT_1).unwrap();
    let mut s = base;
    s.form = vcx;
    s.vc = VirtualChannel::new(5).unwrap();
    v.push(("vcx vc 5", s));
    let mut s = base;
    s.form = vcx;
    s.vc = VirtualChannel::new(13).unwrap();
    v.push(("vcx vc 13", s));
    v.push(("draft-1", base));
    v
}

/// A receiver of settings B never verifies a scope of (nor releases a plaintext line of) a
/// stream a transmitter of settings A sent, and its genuine stream afterwards goes exactly as
/// in an unattacked twin (deliveries, events, protocol stats moved by it).
#[test]
fn an_fsed_receiver_of_one_profile_verifies_nothing_of_another_and_continues_as_its_twin() {
    let all = variants();
    for (na, a) in &all {
        let foreign = stream(*a);
        for (nb, b) in &all {
            if na == nb {
                continue;
            }
            let genuine = stream(*b);
            let mut attacked = receiver(*b);
            let mut twin = receiver(*b);
            let _ = feed(&mut attacked, &foreign, 0, true);
            let _ = drain(&mut attacked, 0);
            let p0 = *attacked.protocol_stats();
            let f0 = *attacked.fusa_stats();
            let got = feed(&mut attacked, &genuine, 1, false);
            let want = feed(&mut twin, &genuine, 1, false);
            // Documented (`docs/wire-format.md`, FSED receiver, step 2): an FS is accepted
            // unauthenticated and its frame number remembered until a frame header or FE is
            // accepted, and an FS repeating a remembered number is refused. The foreign
            // stream's FS packets are plain CSI-2 packets of this VC, so the genuine FS with
            // the same number is refused; everything else, the frame included, goes as in the
            // twin.
            assert_eq!(got.len(), want.len());
            for (k, (g, w)) in got.iter().zip(&want).enumerate() {
                if g != w {
                    assert!(
                        g == "Err(UnexpectedPacket)" && w.contains("start: true"),
                        "rx {nb} after tx {na}, packet {k}: {g} vs {w}"
                    );
                }
            }
            assert_eq!(
                drain(&mut attacked, 2),
                drain(&mut twin, 2),
                "rx {nb} after tx {na}"
            );
            let p1 = *attacked.protocol_stats();
            let tp = *twin.protocol_stats();
            assert_eq!(p1.scopes_verified - p0.scopes_verified, tp.scopes_verified);
            assert_eq!(
                attacked.fusa_stats().total() - f0.total(),
                twin.fusa_stats().total(),
                "rx {nb} after tx {na}"
            );
        }
    }
}
