//! Outsider round 3: `Receiver::decrypt` of FSED across key rollovers.
//!
//! FSED keeps the last authenticated finished frame for `decrypt` while the next frame runs
//! (its rustdoc: "until the next authenticated frame ends"). During that frame the sender may
//! have rolled over to the other key id, so the receiver may retire the old key and install
//! the next generation under the old id. Then the finished frame's members must not
//! "decrypt" with the new material: either the true plaintext or a refusal, buffer untouched.
#![allow(clippy::unwrap_used, clippy::panic)]

mod o3;

use cse_core::{CipherSuite, KeyId, SecurityVariant, TagMode};
use cse_fsed::{DecryptTicket, Delivery, Receiver, ScopeProof};
use o3::*;

struct Member {
    ticket: DecryptTicket,
    bytes: Vec<u8>,
    index: u32,
    scope: cse_core::rx::ScopeId,
}

fn run(rx: &mut Receiver, seps: &[Vec<u8>]) -> (Vec<Member>, Vec<ScopeProof>) {
    let (mut members, mut proofs) = (Vec::new(), Vec::new());
    for (i, s) in seps.iter().enumerate() {
        match rx.receive(s, i as u64) {
            Ok(Delivery::Unverified(u)) => members.push(Member {
                ticket: u.decrypt_ticket(),
                bytes: u.unverified_packet().to_vec(),
                index: u.info().message_index,
                scope: u.scope(),
            }),
            Ok(Delivery::ScopeVerified(p)) => proofs.push(p),
            Ok(_) => {}
            Err(e) => panic!("packet {i}: {e:?}"),
        }
    }
    (members, proofs)
}

/// FINDING (round 3): the finished frame's members were decrypted with the salt of whatever
/// material its key id held at decrypt time; after retire + install of the old id the result
/// was not the plaintext, returned with `Ok` and a fresh CRC-16.
#[test]
fn decrypt_of_the_finished_frame_after_its_key_id_was_reinstalled_never_gives_wrong_bytes() {
    for suite in [CipherSuite::Aes128Gcm, CipherSuite::Aes256CtrCmac] {
        for mode in [TagMode::PerDataType, TagMode::PerFrame] {
            let config = uniform(SecurityVariant::FullIntegrityEncrypted, suite, mode);
            let mut tx = tx_with(config, suite, 3);
            let f0 = frame(0, 1);
            let s0 = protect_all(&mut tx, &f0);
            tx.install_key(KeyId::new(1).unwrap(), material(suite, 9))
                .unwrap();
            let mut c1 = config;
            c1.key_id = KeyId::new(1).unwrap();
            tx.set_config(c1).unwrap();
            let s1 = protect_all(&mut tx, &frame(1, 2));
            let mut rx = rx_with(config, suite);
            rx.install_key(KeyId::new(1).unwrap(), material(suite, 9))
                .unwrap();
            let (members, proofs) = run(&mut rx, &s0);
            // Frame 1 up to its first verified record: key 1 is active now, frame 0 finished.
            let first = s1.len() - 1; // everything but the FE
            let _ = run(&mut rx, &s1[..first]);
            assert_eq!(rx.retire_key(), Some(KeyId::new(0).unwrap()));
            rx.install_key(KeyId::new(0).unwrap(), material(suite, 0x42))
                .unwrap();
            let mut tried = 0;
            for m in &members {
                let plain = &f0;
                let Some(proof) = proofs
                    .iter()
                    .find(|p| p.scope() == m.scope && p.indices().contains(&m.index))
                else {
                    continue;
                };
                if m.bytes.len() <= 4 {
                    continue;
                }
                tried += 1;
                let mut b = m.bytes.clone();
                match rx.decrypt(proof, &m.ticket, &mut b) {
                    Ok(()) => assert!(
                        plain.contains(&b),
                        "{suite:?} {mode:?}: wrong plaintext released: {b:02x?}"
                    ),
                    Err(_) => assert_eq!(b, m.bytes, "buffer changed"),
                }
            }
            assert!(tried > 0);
        }
    }
}

/// The key id of a frame in progress installed again (other material) before the frame
/// authenticated: the frame's members must not decrypt with a mix of the two generations.
#[test]
fn a_key_id_reinstalled_during_its_first_frame_never_gives_wrong_bytes() {
    for suite in [CipherSuite::Aes128Gcm, CipherSuite::Aes256CtrCmac] {
        for mode in [TagMode::PerDataType, TagMode::PerFrame] {
            let config = uniform(SecurityVariant::FullIntegrityEncrypted, suite, mode);
            let mut tx = tx_with(config, suite, 3);
            let s0 = protect_all(&mut tx, &frame(0, 1));
            tx.install_key(KeyId::new(1).unwrap(), material(suite, 9))
                .unwrap();
            let mut c1 = config;
            c1.key_id = KeyId::new(1).unwrap();
            tx.set_config(c1).unwrap();
            let f1 = frame(1, 2);
            let s1 = protect_all(&mut tx, &f1);
            let mut rx = rx_with(config, suite);
            rx.install_key(KeyId::new(1).unwrap(), material(suite, 9))
                .unwrap();
            let _ = run(&mut rx, &s0);
            // FS and frame header of frame 1, then key 1 installed again (other bytes).
            let mut members = Vec::new();
            let mut proofs = Vec::new();
            for (i, s) in s1.iter().enumerate() {
                if i == 2 {
                    rx.install_key(KeyId::new(1).unwrap(), material(suite, 0x42))
                        .unwrap();
                }
                match rx.receive(s, 100 + i as u64) {
                    Ok(Delivery::Unverified(u)) => members.push(Member {
                        ticket: u.decrypt_ticket(),
                        bytes: u.unverified_packet().to_vec(),
                        index: u.info().message_index,
                        scope: u.scope(),
                    }),
                    Ok(Delivery::ScopeVerified(p)) => proofs.push(p),
                    _ => {}
                }
            }
            for m in &members {
                let plain = &f1;
                let Some(proof) = proofs
                    .iter()
                    .find(|p| p.scope() == m.scope && p.indices().contains(&m.index))
                else {
                    continue;
                };
                let mut b = m.bytes.clone();
                match rx.decrypt(proof, &m.ticket, &mut b) {
                    Ok(()) => assert!(
                        plain.contains(&b),
                        "{suite:?} {mode:?}: wrong plaintext released: {b:02x?}"
                    ),
                    Err(_) => assert_eq!(b, m.bytes, "buffer changed"),
                }
            }
        }
    }
}

/// Two keyless FS + frame header pairs (no tag: a header is authenticated only by its
/// frame's first record) naming the next key id, injected after a finished frame: the
/// finished frame's members must still decrypt to their plaintext or be refused, never
/// come out under the keys the forged headers made the receiver expand.
#[test]
fn forged_frame_headers_do_not_change_the_keys_of_the_finished_frame() {
    for suite in [CipherSuite::Aes128Gcm, CipherSuite::Aes256CtrCmac] {
        for mode in [TagMode::PerDataType, TagMode::PerFrame] {
            let config = uniform(SecurityVariant::FullIntegrityEncrypted, suite, mode);
            let mut tx = tx_with(config, suite, 3);
            let f0 = frame(0, 1);
            let s0 = protect_all(&mut tx, &f0);
            let mut rx = rx_with(config, suite);
            // The next generation is installed ahead of the rollover, as usual.
            rx.install_key(KeyId::new(1).unwrap(), material(suite, 9))
                .unwrap();
            let (members, proofs) = run(&mut rx, &s0);
            // The attacker's headers: made with a key it does not know the bytes of (the
            // header carries none of it).
            let mut c1 = config;
            c1.key_id = KeyId::new(1).unwrap();
            let mut forger = cse_fsed::Transmitter::new(settings(), 4);
            forger
                .install_key(c1.key_id, material(suite, 0x66))
                .unwrap();
            forger.set_config(c1).unwrap();
            let g1 = protect_all(&mut forger, &frame(1, 5));
            let g2 = protect_all(&mut forger, &frame(2, 6));
            for s in g1[..2].iter().chain(&g2[..2]) {
                let _ = rx.receive(s, 50);
            }
            let mut tried = 0;
            for m in members.iter().filter(|m| m.bytes.len() > 4) {
                let plain = &f0;
                let Some(proof) = proofs
                    .iter()
                    .find(|p| p.scope() == m.scope && p.indices().contains(&m.index))
                else {
                    continue;
                };
                tried += 1;
                let mut b = m.bytes.clone();
                match rx.decrypt(proof, &m.ticket, &mut b) {
                    Ok(()) => assert!(
                        plain.contains(&b),
                        "{suite:?} {mode:?}: wrong plaintext released: {b:02x?}"
                    ),
                    Err(_) => assert_eq!(b, m.bytes, "buffer changed"),
                }
            }
            assert!(tried > 0);
        }
    }
}

fn refused(rx: &Receiver, proof: &ScopeProof, ticket: &DecryptTicket, buf: &[u8], what: &str) {
    let mut b = buf.to_vec();
    let r = rx.decrypt(proof, ticket, &mut b);
    assert!(r.is_err(), "{what}: decrypted");
    assert_eq!(b, buf, "{what}: buffer changed on {r:?}");
}

#[test]
fn decrypt_backwards_once_each_and_only_with_its_own_proof_and_bytes() {
    for suite in [CipherSuite::Aes128Gcm, CipherSuite::Aes256CtrCmac] {
        for mode in [TagMode::PerDataType, TagMode::PerFrame] {
            let config = uniform(SecurityVariant::FullIntegrityEncrypted, suite, mode);
            let mut tx = tx_with(config, suite, 3);
            let f0 = frame(0, 1);
            let s0 = protect_all(&mut tx, &f0);
            let mut rx = rx_with(config, suite);
            let (members, proofs) = run(&mut rx, &s0);
            let mut twin = rx_with(config, suite);
            let (tm, tp) = run(&mut twin, &s0);
            for m in members.iter().rev().filter(|m| m.bytes.len() > 4) {
                let proof = proofs
                    .iter()
                    .find(|p| p.scope() == m.scope && p.indices().contains(&m.index))
                    .unwrap();
                for other in proofs.iter().filter(|p| p.scope() != m.scope) {
                    refused(&rx, other, &m.ticket, &m.bytes, "another scope's proof");
                }
                for o in members.iter().filter(|o| o.index != m.index) {
                    refused(&rx, proof, &m.ticket, &o.bytes, "another member's bytes");
                }
                for at in [0, 4, m.bytes.len() - 3, m.bytes.len() - 1] {
                    let mut b = m.bytes.clone();
                    b[at] ^= 0x08;
                    if at == 0 {
                        // A single header bit is corrected by the ECC: that is the packet.
                        continue;
                    }
                    refused(&rx, proof, &m.ticket, &b, "bit flipped");
                }
                let mut longer = m.bytes.clone();
                longer.push(0);
                refused(&rx, proof, &m.ticket, &longer, "extended");
                refused(
                    &rx,
                    proof,
                    &m.ticket,
                    &m.bytes[..m.bytes.len() - 1],
                    "truncated",
                );
                // The twin receiver's proof and ticket.
                let t = tm.iter().find(|t| t.index == m.index).unwrap();
                let tproof = tp
                    .iter()
                    .find(|p| p.scope() == t.scope && p.indices().contains(&t.index))
                    .unwrap();
                refused(&rx, tproof, &m.ticket, &m.bytes, "the twin's proof");
                refused(&rx, proof, &t.ticket, &m.bytes, "the twin's ticket");
                let mut b = m.bytes.clone();
                rx.decrypt(proof, &m.ticket, &mut b).unwrap();
                assert!(f0.contains(&b), "{suite:?} {mode:?}: wrong plaintext");
                refused(&rx, proof, &m.ticket, &b, "decrypted twice");
            }
        }
    }
}
