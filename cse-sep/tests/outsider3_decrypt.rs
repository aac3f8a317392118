//! Outsider round 3: the decrypt-ticket API of SV-1 scopes, misused in every order.
//!
//! `Receiver::decrypt(&proof, &ticket, buf)` must decrypt exactly the packet the ticket was
//! issued for, with the proof of its scope, on the receiver that issued both, while the frame
//! is still known (until the FS after its end). Every misuse must fail and leave the buffer
//! exactly as given (no keystream applied, so no plaintext of anything comes out), and never
//! disturb the receiver (the genuine stream goes on as its twin's).
#![allow(clippy::unwrap_used, clippy::panic)]

mod o3;

use cse_core::{CipherSuite, FrameConfig, KeyId, SecurityVariant, TagMode};
use cse_sep::{DecryptTicket, Delivery, Receiver, ScopeProof, SepError, Transmitter};
use o3::*;

struct Member {
    ticket: DecryptTicket,
    scope: cse_core::rx::ScopeId,
    bytes: Vec<u8>,
    index: u32,
}

/// Receives `seps`, keeping the members (ticket and released bytes) and the proofs.
fn run(rx: &mut Receiver, seps: &[Vec<u8>]) -> (Vec<Member>, Vec<ScopeProof>) {
    let (mut members, mut proofs) = (Vec::new(), Vec::new());
    for (i, s) in seps.iter().enumerate() {
        let mut out = vec![0u8; s.len()];
        match rx.receive(s, i as u64, &mut out) {
            Ok(Delivery::Unverified(u)) => members.push(Member {
                ticket: u.decrypt_ticket(),
                scope: u.scope(),
                bytes: u.unverified_packet().to_vec(),
                index: u.info().message_index,
            }),
            Ok(Delivery::ScopeVerified(p)) => proofs.push(p),
            Ok(_) => {}
            Err(e) => panic!("packet {i}: {e:?}"),
        }
    }
    (members, proofs)
}

fn proof_of<'a>(proofs: &'a [ScopeProof], m: &Member) -> &'a ScopeProof {
    proofs
        .iter()
        .find(|p| p.indices().contains(&m.index) && p.scope() == m.scope)
        .unwrap()
}

fn configs() -> Vec<(FrameConfig, CipherSuite)> {
    let mut v = Vec::new();
    for suite in [CipherSuite::Aes128Gcm, CipherSuite::Aes256CtrCmac] {
        for mode in [TagMode::PerDataType, TagMode::PerFrame] {
            v.push((
                uniform(SecurityVariant::FullIntegrityEncrypted, suite, mode),
                suite,
            ));
        }
    }
    v
}

/// A misuse: `decrypt` must fail and leave `buf` exactly as it was.
fn refused(rx: &Receiver, proof: &ScopeProof, ticket: &DecryptTicket, buf: &[u8], what: &str) {
    let mut b = buf.to_vec();
    let r = rx.decrypt(proof, ticket, &mut b);
    assert!(
        r.is_err(),
        "{what}: decrypted {} bytes: {buf:02x?} -> {b:02x?}",
        buf.len()
    );
    assert_eq!(b, buf, "{what}: buffer changed on {r:?}");
}

#[test]
fn decrypt_in_any_order_once_per_packet_and_only_with_its_own_proof() {
    for (config, suite) in configs() {
        let mut tx = tx_with(config, suite, 3);
        let orig = originals(0, &typical(1));
        let seps = protect_all(&mut tx, &orig);
        let mut rx = rx_with(config, suite, policy_sv5());
        let (members, proofs) = run(&mut rx, &seps);
        assert!(members.len() >= 5 && !proofs.is_empty());
        // Originals of the members (FS and FE are not members), in order.
        let plain: Vec<&Vec<u8>> = orig[1..orig.len() - 1].iter().collect();
        assert_eq!(plain.len(), members.len());
        // Backwards (out of order), each once.
        for (m, p) in members.iter().zip(&plain).rev() {
            let proof = proof_of(&proofs, m);
            // Every other proof first: refused, buffer untouched.
            for other in proofs.iter().filter(|o| o.scope() != proof.scope()) {
                refused(&rx, other, &m.ticket, &m.bytes, "another scope's proof");
            }
            // The bytes of every other member: refused, untouched.
            for o in members.iter().filter(|o| o.index != m.index) {
                refused(&rx, proof, &m.ticket, &o.bytes, "another member's bytes");
            }
            // Truncated, extended, one bit flipped in the ciphertext or the footer.
            let mut longer = m.bytes.clone();
            longer.push(0);
            refused(&rx, proof, &m.ticket, &longer, "extended");
            if m.bytes.len() > 4 {
                refused(
                    &rx,
                    proof,
                    &m.ticket,
                    &m.bytes[..m.bytes.len() - 1],
                    "truncated",
                );
                for at in [4, m.bytes.len() - 3, m.bytes.len() - 1] {
                    let mut b = m.bytes.clone();
                    b[at] ^= 0x20;
                    refused(&rx, proof, &m.ticket, &b, "bit flipped");
                }
            }
            let mut b = m.bytes.clone();
            rx.decrypt(proof, &m.ticket, &mut b).unwrap();
            assert_eq!(&b, *p, "{config:?}: plaintext");
            // Twice: the plaintext is not the released packet any more (a short member has
            // no payload: decrypting it is the identity, whatever the count).
            if b.len() > 4 {
                refused(&rx, proof, &m.ticket, &b, "decrypted twice");
            }
        }
    }
}

#[test]
fn decrypt_after_rekey_keeps_working_until_the_next_fs_and_never_after() {
    for (config, suite) in configs() {
        let mut tx = tx_with(config, suite, 3);
        let f0 = originals(0, &typical(1));
        let s0 = protect_all(&mut tx, &f0);
        // The sender rolls over to key 1 for the next frame.
        tx.install_key(KeyId::new(1).unwrap(), material(suite, 9))
            .unwrap();
        let mut c1 = config;
        c1.key_id = KeyId::new(1).unwrap();
        tx.set_config(c1).unwrap();
        let s1 = protect_all(&mut tx, &originals(1, &typical(2)));
        let mut rx = rx_with(config, suite, policy_sv5());
        let (members, proofs) = run(&mut rx, &s0);
        // A rekey between the frames (the next key installed, nothing retired yet): decrypt
        // still works after the FE.
        rx.install_key(KeyId::new(1).unwrap(), material(suite, 9))
            .unwrap();
        let m = &members[1];
        let mut b = m.bytes.clone();
        rx.decrypt(proof_of(&proofs, m), &m.ticket, &mut b).unwrap();
        assert_eq!(b, f0[2]);
        // After the next frame's FS the frame is gone: refused, buffer untouched, for every
        // member; and for the whole next frame and after it.
        let (_m1, p1) = run(&mut rx, &s1[..1]);
        assert!(p1.is_empty());
        for m in &members {
            refused(
                &rx,
                proof_of(&proofs, m),
                &m.ticket,
                &m.bytes,
                "after the next FS",
            );
        }
        let (m1, p1) = run(&mut rx, &s1[1..]);
        for m in &members {
            refused(
                &rx,
                proof_of(&proofs, m),
                &m.ticket,
                &m.bytes,
                "next frame done",
            );
            // The next frame's proofs do not open the old frame's members either.
            for p in &p1 {
                refused(&rx, p, &m.ticket, &m.bytes, "proof of the next frame");
            }
        }
        // And old proofs do not open the new members.
        for m in &m1 {
            for p in &proofs {
                refused(&rx, p, &m.ticket, &m.bytes, "old proof, new member");
            }
        }
        // clear_keys: nothing decrypts any more.
        let _ = rx.retire_key();
        rx.clear_keys();
        for m in &m1 {
            refused(
                &rx,
                proof_of(&p1, m),
                &m.ticket,
                &m.bytes,
                "after clear_keys",
            );
        }
    }
}

#[test]
fn tickets_and_proofs_of_a_twin_receiver_are_refused() {
    for (config, suite) in configs() {
        let mut tx = tx_with(config, suite, 3);
        let seps = protect_all(&mut tx, &originals(0, &typical(1)));
        let mut a = rx_with(config, suite, policy_sv5());
        let mut b = rx_with(config, suite, policy_sv5());
        let (ma, pa) = run(&mut a, &seps);
        let (mb, pb) = run(&mut b, &seps);
        for (x, y) in ma.iter().zip(&mb) {
            assert_eq!(x.bytes, y.bytes);
            refused(
                &a,
                proof_of(&pb, y),
                &x.ticket,
                &x.bytes,
                "proof of the twin",
            );
            refused(
                &a,
                proof_of(&pa, x),
                &y.ticket,
                &x.bytes,
                "ticket of the twin",
            );
            refused(
                &b,
                proof_of(&pa, x),
                &x.ticket,
                &x.bytes,
                "both of the twin",
            );
        }
    }
}

#[test]
fn a_forged_member_gets_a_ticket_that_no_proof_opens() {
    // A keyless forgery of a member (a genuine member with one ciphertext bit flipped, CRCs
    // fixed) is released as unverified: its scope fails, and no proof opens its ticket.
    for (config, suite) in configs() {
        let mut tx = tx_with(config, suite, 3);
        let orig = originals(0, &typical(1));
        let seps = protect_all(&mut tx, &orig);
        for k in (1..seps.len()).filter(|&k| {
            phase(&seps[k]) == 1 && word_count(&seps[k]) > 0 && orig_dt(&seps[k]) >= 0x10
        }) {
            let mut forged = seps.clone();
            forged[k][body_at(0)] ^= 1;
            fix_crcs(&mut forged[k]);
            let mut rx = Receiver::new(settings(), policy_sv5(), 1_000);
            rx.install_key(config.key_id, material(suite, 7)).unwrap();
            let mut members = Vec::new();
            let mut proofs = Vec::new();
            for (i, s) in forged.iter().enumerate() {
                let mut out = vec![0u8; s.len()];
                match rx.receive(s, i as u64, &mut out) {
                    Ok(Delivery::Unverified(u)) => members.push(Member {
                        ticket: u.decrypt_ticket(),
                        scope: u.scope(),
                        bytes: u.unverified_packet().to_vec(),
                        index: u.info().message_index,
                    }),
                    Ok(Delivery::ScopeVerified(p)) => proofs.push(p),
                    Ok(_) => {}
                    Err(e) => {
                        assert!(matches!(e, SepError::ScopeFailed(_)), "{e:?}");
                        assert!(out.iter().all(|&b| b == 0));
                    }
                }
            }
            let idx = message_index(&seps[k]);
            let m = members.iter().find(|m| m.index == idx).unwrap();
            assert!(
                !proofs.iter().any(|p| p.indices().contains(&idx)
                    && p.scope() == m_scope_forged(&seps[k], &config))
            );
            for p in &proofs {
                refused(&rx, p, &m.ticket, &m.bytes, "forged member");
            }
        }
    }
}

fn m_scope_forged(sep: &[u8], config: &FrameConfig) -> cse_core::rx::ScopeId {
    let block = match (sep[6] >> 3) & 3 {
        0 => cse_core::Block::Top,
        1 => cse_core::Block::Image,
        _ => cse_core::Block::Bottom,
    };
    cse_core::rx::ScopeId {
        frame_counter: 3,
        block,
        kind: match config.image.tag_mode {
            TagMode::PerDataType => cse_core::ScopeKind::DataType(orig_dt(sep)),
            _ => cse_core::ScopeKind::Frame,
        },
    }
}

/// FINDING (round 3): `decrypt` kept working for the previous frame after the next FS (its
/// rustdoc says it works until then), and it took the salt from the key slot *now* holding
/// the frame's key id. After a rollover the old key id can be retired and installed again
/// with new material (the next generation), and the old frame's members then "decrypted" to
/// bytes that are not their plaintext (keystream of the old key under the new salt), with a
/// fresh CRC-16 and `Ok`: unauthenticated bytes released as a verified packet.
#[test]
fn decrypt_of_an_old_frame_after_its_key_id_was_reinstalled_is_refused() {
    for (config, suite) in configs() {
        for abandon in [false, true] {
            let mut tx = tx_with(config, suite, 3);
            let f0 = originals(0, &typical(1));
            let mut s0 = protect_all(&mut tx, &f0);
            if abandon {
                // The FE (and the close records just before it) lost: frame 0 is abandoned
                // by the next FS. The scopes closed earlier (top block) did verify.
                while phase(&s0[s0.len() - 2]) == 2 {
                    s0.remove(s0.len() - 2);
                }
                s0.pop();
            }
            tx.install_key(KeyId::new(1).unwrap(), material(suite, 9))
                .unwrap();
            let mut c1 = config;
            c1.key_id = KeyId::new(1).unwrap();
            tx.set_config(c1).unwrap();
            let s1 = protect_all(&mut tx, &originals(1, &typical(2)));
            let mut rx = rx_with(config, suite, policy_sv5());
            rx.install_key(KeyId::new(1).unwrap(), material(suite, 9))
                .unwrap();
            let (members, proofs) = run(&mut rx, &s0);
            let (_, _) = run(&mut rx, &s1[..1]);
            // The next generation goes into key id 0 (the retired one).
            assert_eq!(rx.retire_key(), Some(KeyId::new(0).unwrap()));
            rx.install_key(KeyId::new(0).unwrap(), material(suite, 0x42))
                .unwrap();
            let mut opened = 0;
            for (m, plain) in members.iter().zip(&f0[1..]) {
                let Some(proof) = proofs
                    .iter()
                    .find(|p| p.indices().contains(&m.index) && p.scope() == m.scope)
                else {
                    continue;
                };
                opened += 1;
                let mut b = m.bytes.clone();
                match rx.decrypt(proof, &m.ticket, &mut b) {
                    Ok(()) => assert_eq!(
                        &b, plain,
                        "{config:?} abandon {abandon}: wrong plaintext released"
                    ),
                    Err(_) => assert_eq!(b, m.bytes, "buffer changed"),
                }
                refused(&rx, proof, &m.ticket, &m.bytes, "after the next FS");
            }
            assert!(opened > 0);
        }
    }
}

#[test]
fn a_keyless_all_sv5_fs_ends_decryption_of_the_last_frame_under_a_permissive_policy() {
    // Documented (`Receiver::decrypt`): any accepted FS ends the previous frame's decryption.
    // With a policy that admits all-SV-5 frames, anybody can start one (its FS has no tag):
    // availability only; the proofs are refused, buffers untouched.
    for (config, suite) in configs() {
        let mut tx = tx_with(config, suite, 3);
        let s0 = protect_all(&mut tx, &originals(0, &typical(1)));
        let sv5 = uniform(
            SecurityVariant::NoSecurity,
            CipherSuite::Aes128Cmac,
            TagMode::PerMessage,
        );
        let mut forger = Transmitter::new(settings(), 50);
        forger
            .install_key(KeyId::default(), material(CipherSuite::Aes128Cmac, 0x66))
            .unwrap();
        forger.set_config(sv5).unwrap();
        let g = protect_all(&mut forger, &originals(9, &typical(9)));
        let mut rx = rx_with(config, suite, policy_sv5());
        let (members, proofs) = run(&mut rx, &s0);
        let (got, _) = recv(&mut rx, &g[0], 100);
        assert!(matches!(got, Got::Unprotected(..)), "{got:?}");
        for m in &members {
            refused(
                &rx,
                proof_of(&proofs, m),
                &m.ticket,
                &m.bytes,
                "after an all-SV-5 FS",
            );
        }
    }
}
