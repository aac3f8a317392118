//! Entry points for the fuzz targets in `fuzz/` (not a stable API). Each function is an
//! oracle: it takes arbitrary bytes, runs the crate on them and `assert!`s invariants that
//! must hold for every input.
#![allow(clippy::panic, clippy::unwrap_used, missing_docs)]

use std::vec::Vec;

use cse_core::csi2::{Emitter, HeaderForm, Packets, VirtualChannel};
use cse_core::keys::{Salt, SecretKey};
use cse_core::{
    BlockConfig, CipherSuite, FrameConfig, KeyId, Policy, Profile, SecurityVariant, TagLen, TagMode,
};

use crate::rx::{Delivery, Event, Receiver};
use crate::tx::{MAX_INSERTED_LEN, Transmitter};
use crate::wire::{Packet, Repr};
use crate::{KeyMaterial, Settings};

/// FSED payload codec: parse, emit, same bytes; no accessor panics after `new_checked`.
pub fn packet(data: &[u8]) {
    let p = Profile::DRAFT_1;
    let Ok(view) = Packet::new_checked(data) else {
        return;
    };
    let _ = (
        view.frame_counter(),
        view.tag(),
        view.crc(),
        view.authenticated_fields(),
    );
    let Ok(repr) = Repr::parse(&view, &p) else {
        return;
    };
    let mut out = [0u8; 64];
    let n = repr.emit(&mut out, &p).unwrap();
    assert_eq!(n, repr.buffer_len());
    assert_eq!(n, data.len());
    if view.verify_crc(&p).is_ok() {
        assert_eq!(&out[..n], data, "parse/emit changed the bytes");
    } else {
        assert_eq!(&out[..n - 4], &data[..n - 4]);
    }
}

fn config(sel: u8) -> (FrameConfig, CipherSuite) {
    let suite = match sel & 3 {
        0 => CipherSuite::Aes128Gmac,
        1 => CipherSuite::Aes256Cmac,
        2 => CipherSuite::Aes128Gcm,
        _ => CipherSuite::Aes256CtrCmac,
    };
    let mode = if sel & 4 == 0 {
        TagMode::PerFrame
    } else {
        TagMode::PerDataType
    };
    let sv = match (sel >> 3) % 4 {
        0 if suite.encrypts() => SecurityVariant::FullIntegrityEncrypted,
        1 => SecurityVariant::LinePartialIntegrity {
            stride: 2,
            offset: 0,
        },
        _ => SecurityVariant::FullIntegrity,
    };
    let suite = if sv.encrypts() {
        suite
    } else {
        match suite {
            CipherSuite::Aes128Gcm => CipherSuite::Aes128Gmac,
            CipherSuite::Aes256CtrCmac => CipherSuite::Aes256Cmac,
            s => s,
        }
    };
    let b = BlockConfig {
        sv,
        suite,
        tag_len: TagLen::L8,
        tag_mode: mode,
    };
    let emb = BlockConfig {
        sv: if sv.encrypts() {
            sv
        } else {
            SecurityVariant::FullIntegrity
        },
        ..b
    };
    (
        FrameConfig {
            top: emb,
            image: b,
            bottom: emb,
            key_id: KeyId::default(),
        },
        suite,
    )
}

fn material(suite: CipherSuite) -> KeyMaterial {
    let (k, m) = match suite.key_size() {
        cse_core::KeySize::Aes128 => (SecretKey::aes128([3; 16]), SecretKey::aes128([4; 16])),
        cse_core::KeySize::Aes256 => (SecretKey::aes256([3; 32]), SecretKey::aes256([4; 32])),
    };
    KeyMaterial::new(k, suite.needs_mac_key().then_some(m), Salt::new([5; 12]))
        .with_min_tag_len(TagLen::L8)
}

/// A genuine two-frame stream for configuration selector `sel`, and its original packets.
fn genuine(sel: u8) -> (Vec<Vec<u8>>, Vec<Vec<u8>>, FrameConfig, CipherSuite) {
    let (cfg, suite) = config(sel);
    let vc = VirtualChannel::new(0).unwrap();
    let mut tx = Transmitter::new(Settings::new(vc), 1);
    tx.install_key(KeyId::default(), material(suite)).unwrap();
    tx.set_config(cfg).unwrap();
    let mut originals = Vec::new();
    let mut stream = Vec::new();
    for f in 1..=2u16 {
        let mut pk: Vec<Vec<u8>> = Vec::new();
        let mut emit = |g: &dyn Fn(&mut Emitter<'_>)| {
            let mut b = [0u8; 64];
            let mut e = Emitter::new(&mut b, HeaderForm::Dphy);
            g(&mut e);
            let n = e.len();
            pk.push(b[..n].to_vec());
        };
        emit(&|e| {
            let _ = e.frame_start(vc, f);
        });
        emit(&|e| {
            let _ = e.long(vc, cse_core::csi2::DataType::EMBEDDED, &[f as u8; 7]);
        });
        for l in 0..3u8 {
            emit(&|e| {
                let _ = e.line_start(vc, u16::from(l));
            });
            emit(&|e| {
                let _ = e.long(vc, cse_core::csi2::DataType::RAW12, &[l ^ 0x5A; 12]);
            });
        }
        emit(&|e| {
            let _ = e.long(vc, cse_core::csi2::DataType::EMBEDDED, &[9; 5]);
        });
        emit(&|e| {
            let _ = e.frame_end(vc, f);
        });
        for p in pk {
            let mut q = p.clone();
            let mut ins = [0u8; MAX_INSERTED_LEN];
            let r = tx.protect(&mut q, &mut ins).unwrap();
            for d in Packets::new(r.before(&ins), HeaderForm::Dphy) {
                stream.push(d.unwrap().raw.to_vec());
            }
            stream.push(q);
            for d in Packets::new(r.after(&ins), HeaderForm::Dphy) {
                stream.push(d.unwrap().raw.to_vec());
            }
            originals.push(p);
        }
    }
    (originals, stream, cfg, suite)
}

/// Receiver oracle. Byte 0 picks the configuration; the rest is a list of edit operations on
/// a genuine two-frame stream (drop, duplicate, swap, flip a byte, insert arbitrary bytes as a
/// packet). The receiver must never panic, and every packet it lets the caller use (released
/// by a scope proof, decrypted under SV-1, or SV-5) must be one of the original packets.
pub fn receiver(data: &[u8]) {
    let Some((&sel, mut ops)) = data.split_first() else {
        return;
    };
    let (originals, mut stream, cfg, suite) = genuine(sel);
    while let [op, a, b, rest @ ..] = ops {
        let n = stream.len().max(1);
        let i = usize::from(*a) % n;
        match op % 5 {
            0 if !stream.is_empty() => {
                stream.remove(i);
            }
            1 if !stream.is_empty() => {
                let p = stream[i].clone();
                stream.insert(i, p);
            }
            2 if stream.len() > 1 => {
                let j = (i + 1) % stream.len();
                stream.swap(i, j);
            }
            3 if !stream.is_empty() && !stream[i].is_empty() => {
                let p = &mut stream[i];
                let at = usize::from(*b) % p.len();
                p[at] ^= rest.first().copied().unwrap_or(1) | 1;
                // Keep the CRC-16 valid so the cryptographic checks are exercised.
                if let Ok(mut v) = cse_core::csi2::Packet::new_checked(&mut p[..])
                    && !v.is_short()
                    && v.total_len() == v.as_ref().len()
                {
                    v.fill_crc();
                }
            }
            _ => {
                let len = usize::from(*b).min(rest.len());
                stream.insert(i, rest[..len].to_vec());
            }
        }
        ops = rest;
    }
    let settings = Settings::new(VirtualChannel::new(0).unwrap());
    let mut rx = Receiver::new(settings, Policy::PERMISSIVE, 10);
    rx.install_key(cfg.key_id, material(suite)).unwrap();
    let mut pending: Vec<(Vec<u8>, crate::DecryptTicket, crate::ScopeId, u32, bool)> = Vec::new();
    for (t, p) in stream.iter().enumerate() {
        match rx.receive(p, t as u64) {
            Ok(Delivery::Unverified(u)) => pending.push((
                u.unverified_packet().to_vec(),
                u.decrypt_ticket(),
                u.scope(),
                u.info().message_index,
                u.is_encrypted(),
            )),
            Ok(Delivery::Unprotected(u)) => {
                assert!(originals.iter().any(|o| o == u.unauthenticated_packet()));
            }
            Ok(Delivery::ScopeVerified(proof)) => {
                for (bytes, ticket, scope, idx, enc) in pending.iter_mut() {
                    if *scope == proof.scope() && proof.indices().contains(idx) {
                        if *enc {
                            rx.decrypt(&proof, ticket, bytes).unwrap();
                        }
                        // The packet is released as received: a single-bit header error
                        // that ECC corrected may remain in its bytes.
                        let mut b = bytes.clone();
                        let _ = cse_core::csi2::Packet::new_unchecked(&mut b[..])
                            .correct_ecc(HeaderForm::Dphy);
                        // SV-3 leaves off-stride payloads unauthenticated (documented): there
                        // only the header and length must match an original.
                        let partial = cfg.image.sv.level() == cse_core::SvLevel::Sv3;
                        assert!(
                            originals
                                .iter()
                                .any(|o| *o == b
                                    || (partial && o.len() == b.len() && o[..4] == b[..4])),
                            "forged packet accepted"
                        );
                    }
                }
                pending.retain(|(_, _, s, i, _)| {
                    !(*s == proof.scope() && proof.indices().contains(i))
                });
            }
            _ => {}
        }
        while let Some(e) = rx.poll_event(t as u64) {
            if let Event::ScopeFailed(f) = e {
                pending.retain(|(_, _, s, _, _)| *s != f.scope);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn oracles_accept_simple_inputs() {
        for sel in 0..32u8 {
            super::receiver(&[sel]);
            super::receiver(&[sel, 3, 4, 9, 0, 2, 0, 4, 1, 5, 0xAA]);
            super::receiver(&[sel, 0x9e, 0x9e, 0x9e, 0x9e, 0x3d, 0]);
            super::receiver(&[sel, 0x9e, 0xa8, 0xbe, 0, 0x9e, 0x9e]);
        }
        super::packet(&[1, 2, 0, 0, 0, 0, 0, 0]);
    }
}
