//! Entry points for the fuzz targets in `fuzz/` (not a stable API; needs the `std` feature).
//!
//! Each function is an oracle: it takes arbitrary bytes, runs the library and `assert!`s
//! invariants that must hold for every input.
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::vec;
use std::vec::Vec;

use cse_core::csi2::{DataType, Emitter, HeaderForm, Packets, VirtualChannel};
use cse_core::keys::{Salt, SecretKey};
use cse_core::{
    BlockConfig, CipherSuite, FrameConfig, KeyId, Policy, Profile, SecurityVariant, SvLevel,
    TagLen, TagMode,
};

use crate::wire::{Packet, Repr};
use crate::{Delivery, KeyMaterial, Receiver, Settings, Transmitter};

/// SEP payload oracle: a payload that parses re-emits to the same bytes (CRC included when it
/// verified; everything before the CRC otherwise), and no accessor panics.
pub fn sep_packet(data: &[u8]) {
    let profile = Profile::DRAFT_1;
    let Ok(p) = Packet::new_checked(data, &profile) else {
        return;
    };
    let _ = (p.header_bytes(), p.ext_bytes(), p.body(), p.tag(), p.crc());
    let crc_ok = p.verify_crc(&profile).is_ok();
    let Ok(repr) = Repr::parse(&p, &profile) else {
        return;
    };
    assert_eq!(repr.buffer_len(), data.len());
    let mut out = vec![0u8; data.len()];
    let n = repr.emit(&mut out, p.body(), p.tag(), &profile).unwrap();
    assert_eq!(n, data.len());
    let crc_at = p.layout().crc.start;
    assert_eq!(out[..crc_at], data[..crc_at]);
    if crc_ok {
        assert_eq!(out, data);
    }
    // Too small a buffer is an error, never a panic.
    assert!(
        repr.emit(&mut out[..n - 1], p.body(), p.tag(), &profile)
            .is_err()
    );
}

const VC: u8 = 1;

fn material(suite: CipherSuite) -> KeyMaterial {
    let key = SecretKey::from_slice(suite.key_size(), &[0x42; 32][..suite.key_size().len()])
        .expect("key length");
    let mac = SecretKey::from_slice(suite.key_size(), &[0x24; 32][..suite.key_size().len()])
        .expect("key length");
    KeyMaterial::new(
        key,
        suite.needs_mac_key().then_some(mac),
        Salt::new([7; 12]),
    )
    .with_min_tag_len(TagLen::L8)
}

/// The configurations of the receiver oracle: full-integrity variants only, so that every
/// verified packet must equal an original (SV-3/SV-4 deliberately leave bytes open).
fn config(selector: u8) -> (FrameConfig, CipherSuite) {
    let suite = CipherSuite::ALL[usize::from(selector & 7)];
    let sv = if suite.encrypts() {
        SecurityVariant::FullIntegrityEncrypted
    } else {
        SecurityVariant::FullIntegrity
    };
    let mode = [TagMode::PerMessage, TagMode::PerDataType, TagMode::PerFrame]
        [usize::from((selector >> 3) % 3)];
    let tag_len = [TagLen::L16, TagLen::L12, TagLen::L8][usize::from((selector >> 5) % 3)];
    let b = BlockConfig {
        sv,
        suite,
        tag_len,
        tag_mode: mode,
    };
    (FrameConfig::uniform(b, KeyId::default()), suite)
}

/// Two small frames: originals and their SEP packets.
fn legit(config: FrameConfig, suite: CipherSuite) -> (Vec<Vec<u8>>, Vec<Vec<u8>>) {
    let vc = VirtualChannel::new(VC).unwrap();
    let mut tx = Transmitter::new(Settings::new(vc), 3);
    tx.install_key(KeyId::default(), material(suite)).unwrap();
    tx.set_config(config).unwrap();
    let mut originals = Vec::new();
    let mut seps = Vec::new();
    for f in 0..2u16 {
        let mut buf = vec![0u8; 512];
        let mut em = Emitter::new(&mut buf, HeaderForm::Dphy);
        em.frame_start(vc, f).unwrap();
        em.long(vc, DataType::EMBEDDED, &[f as u8; 5]).unwrap();
        em.line_start(vc, 1).unwrap();
        em.long(vc, DataType::RAW12, &[0x11 ^ f as u8; 12]).unwrap();
        em.line_end(vc, 1).unwrap();
        em.long(vc, DataType::RAW12, &[0x22; 9]).unwrap();
        em.long(vc, DataType::EMBEDDED, &[0x33; 4]).unwrap();
        em.frame_end(vc, f).unwrap();
        let written = em.written().to_vec();
        for d in Packets::new(&written, HeaderForm::Dphy) {
            let p = d.unwrap().raw.to_vec();
            let mut out = vec![0u8; 512];
            let r = tx.protect(&p, &mut out).unwrap();
            for s in Packets::new(&out[..r.len], HeaderForm::Dphy) {
                seps.push(s.unwrap().raw.to_vec());
            }
            originals.push(p);
        }
    }
    (originals, seps)
}

/// Receiver oracle. Byte 0 picks the configuration; then a sequence of operations on the
/// legitimate SEP stream of two frames: `0 k` send packet `k`; `1 k pos val` send packet `k`
/// with byte `pos` XOR `val` (CRCs recomputed when `val` is odd, like an attacker would);
/// `2 len bytes..` send raw bytes. Invariants: never panics; every packet released as
/// verified (or decrypted after its scope verified) is byte-identical to an original packet;
/// nothing comes out unprotected (the policy forbids SV-5).
pub fn sep_receiver(data: &[u8]) {
    let Some((&sel, mut ops)) = data.split_first() else {
        return;
    };
    let (config, suite) = config(sel);
    let (originals, seps) = legit(config, suite);
    let vc = VirtualChannel::new(VC).unwrap();
    // The policy demands SV-2 or better everywhere: with a permissive policy an attacker could
    // legitimately turn a frame into SV-5 (unauthenticated by definition).
    let policy = Policy {
        min_top: SvLevel::Sv2,
        min_image: SvLevel::Sv2,
        min_bottom: SvLevel::Sv2,
    };
    let mut rx = Receiver::new(Settings::new(vc), policy, 50);
    rx.install_key(KeyId::default(), material(suite)).unwrap();
    let mut held: Vec<(Vec<u8>, crate::DecryptTicket, crate::ScopeId, u32, bool)> = Vec::new();
    let mut now = 0u64;
    while let Some((&op, rest)) = ops.split_first() {
        ops = rest;
        let pkt: Vec<u8> = match op % 3 {
            0 => {
                let Some((&k, rest)) = ops.split_first() else {
                    break;
                };
                ops = rest;
                seps[usize::from(k) % seps.len()].clone()
            }
            1 => {
                let Some((&[k, pos, val], rest)) = ops.split_first_chunk::<3>() else {
                    break;
                };
                ops = rest;
                let mut p = seps[usize::from(k) % seps.len()].clone();
                let at = usize::from(pos) % p.len();
                p[at] ^= val;
                if val & 1 == 1 && p.len() > 10 {
                    let n = p.len();
                    let crc = crate::wire::crc32(&Profile::DRAFT_1, &p[4..n - 6]);
                    p[n - 6..n - 2].copy_from_slice(&crc.to_le_bytes());
                    let c16 = cse_core::csi2::payload_crc(&p[4..n - 2]);
                    p[n - 2..].copy_from_slice(&c16.to_le_bytes());
                }
                p
            }
            _ => {
                let Some((&len, rest)) = ops.split_first() else {
                    break;
                };
                let len = usize::from(len).min(rest.len());
                let (raw, rest) = rest.split_at(len);
                ops = rest;
                raw.to_vec()
            }
        };
        now += 1;
        let mut out = vec![0u8; pkt.len() + 8];
        match rx.receive(&pkt, now, &mut out) {
            Ok(Delivery::Verified(v)) => {
                assert!(
                    originals.iter().any(|o| o == v.packet()),
                    "forged packet verified"
                );
            }
            Ok(Delivery::Unprotected(_)) => panic!("no SV-5 block configured"),
            Ok(Delivery::Unverified(u)) => held.push((
                u.unverified_packet().to_vec(),
                u.decrypt_ticket(),
                u.scope(),
                u.info().message_index,
                u.is_encrypted(),
            )),
            Ok(Delivery::ScopeVerified(proof)) => {
                for (bytes, ticket, scope, idx, enc) in &held {
                    if *scope == proof.scope() && proof.indices().contains(idx) {
                        let mut b = bytes.clone();
                        if *enc && rx.decrypt(&proof, ticket, &mut b).is_err() {
                            continue;
                        }
                        assert!(originals.contains(&b), "forged packet in a verified scope");
                    }
                }
                held.retain(|h| !(h.2 == proof.scope() && proof.indices().contains(&h.3)));
            }
            Err(_) => {}
        }
        while rx.poll_event(now).is_some() {}
    }
}
