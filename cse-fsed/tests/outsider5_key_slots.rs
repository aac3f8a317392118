//! Outsider round 5: FSED receiver key slots while a frame header is accepted but not yet
//! authenticated (its key id not yet active): `retire_key` / `install_key` / `clear_keys` at
//! that moment. Black-box: public API and `docs/wire-format.md` (FSED receiver).
#![allow(clippy::unwrap_used, clippy::panic, missing_docs)]

use cse_core::csi2::{DataType, Emitter, Packets, VirtualChannel};
use cse_core::keys::{Salt, SecretKey};
use cse_core::{
    BlockConfig, CipherSuite, FrameConfig, KeyId, Policy, SecurityVariant, TagLen, TagMode,
};
use cse_fsed::{Delivery, KeyMaterial, Receiver, Settings, Transmitter};

fn keys(b: u8) -> KeyMaterial {
    KeyMaterial::new(SecretKey::aes128([b; 16]), None, Salt::new([b; 12]))
}

fn config(key: u8) -> FrameConfig {
    FrameConfig::uniform(
        BlockConfig {
            sv: SecurityVariant::FullIntegrityEncrypted,
            suite: CipherSuite::Aes128Gcm,
            tag_len: TagLen::L16,
            tag_mode: TagMode::PerFrame,
        },
        KeyId::new(key).unwrap(),
    )
}

fn frame(tx: &mut Transmitter, s: &Settings, n: u16) -> Vec<Vec<u8>> {
    let mut buf = [0u8; 256];
    let mut em = Emitter::new(&mut buf, s.form);
    em.frame_start(s.vc, n).unwrap();
    em.long(s.vc, DataType::RAW8, &[0x33; 40]).unwrap();
    em.frame_end(s.vc, n).unwrap();
    let w = em.written().to_vec();
    let mut wire = Vec::new();
    for p in Packets::new(&w, s.form) {
        let mut p = p.unwrap().raw.to_vec();
        let mut ins = [0u8; cse_fsed::tx::MAX_INSERTED_LEN];
        let r = tx.protect(&mut p, &mut ins).unwrap();
        wire.extend_from_slice(r.before(&ins));
        wire.extend_from_slice(&p);
        wire.extend_from_slice(r.after(&ins));
    }
    Packets::new(&wire, s.form)
        .map(|p| p.unwrap().raw.to_vec())
        .collect()
}

fn feed(rx: &mut Receiver, packets: &[Vec<u8>]) -> (usize, Vec<String>) {
    let mut proofs = 0;
    let out = packets
        .iter()
        .map(|p| {
            let r = rx.receive(p, 0);
            if let Ok(Delivery::ScopeVerified(_)) = &r {
                proofs += 1;
            }
            let mut text = format!("{r:?}");
            if let Some(at) = text.find("ReceiverId(") {
                let end = text[at..].find(')').unwrap() + at;
                text.replace_range(at..end, "ReceiverId(");
            }
            text
        })
        .collect();
    (proofs, out)
}

/// The next generation's key (id 1) is dropped with `clear_keys` after its frame header was
/// accepted but before any record verified: the frame's records no longer verify (nothing
/// verifies until a key is installed), nothing panics, and once both ends continue with
/// reinstalled keys the receiver verifies the next frame.
#[test]
fn dropping_the_key_of_an_unauthenticated_frame_header_verifies_nothing_of_that_frame() {
    let s = Settings::new(VirtualChannel::new(0).unwrap());
    let mut tx = Transmitter::new(s, 1);
    tx.install_key(KeyId::default(), keys(1)).unwrap();
    tx.set_config(config(0)).unwrap();
    let a = frame(&mut tx, &s, 1);
    tx.install_key(KeyId::new(1).unwrap(), keys(2)).unwrap();
    tx.set_config(config(1)).unwrap();
    let b = frame(&mut tx, &s, 2);
    let c = frame(&mut tx, &s, 3);

    let mut rx = Receiver::new(s, Policy::PERMISSIVE, 1_000_000);
    rx.install_key(KeyId::default(), keys(1)).unwrap();
    rx.install_key(KeyId::new(1).unwrap(), keys(2)).unwrap();
    let (n, _) = feed(&mut rx, &a);
    assert_eq!(n, 1);
    // B's FS and frame header (unauthenticated), its line.
    let (n, _) = feed(&mut rx, &b[..3]);
    assert_eq!(n, 0);
    // Key id 1 is not active yet: `retire_key` drops the idle slot, which holds it.
    let retired = rx.retire_key();
    let (n, rest) = feed(&mut rx, &b[3..]);
    if retired == Some(KeyId::new(1).unwrap()) {
        assert_eq!(n, 0, "a record verified under a retired key: {rest:?}");
    }
    rx.clear_keys();
    let (n, rest) = feed(&mut rx, &c);
    assert_eq!(n, 0, "verified with every key cleared: {rest:?}");
    while rx.poll_event(1).is_some() {}
}

/// The same with `retire_key` only (no clear): after the retire the next frame under key id 1
/// does not verify until id 1 is installed again, and then it verifies.
#[test]
fn retiring_the_idle_slot_during_an_unauthenticated_frame_then_reinstalling_works() {
    let s = Settings::new(VirtualChannel::new(0).unwrap());
    let mut tx = Transmitter::new(s, 1);
    tx.install_key(KeyId::default(), keys(1)).unwrap();
    tx.set_config(config(0)).unwrap();
    let a = frame(&mut tx, &s, 1);
    tx.install_key(KeyId::new(1).unwrap(), keys(2)).unwrap();
    tx.set_config(config(1)).unwrap();
    let b = frame(&mut tx, &s, 2);
    let c = frame(&mut tx, &s, 3);
    let d = frame(&mut tx, &s, 4);

    let mut rx = Receiver::new(s, Policy::PERMISSIVE, 1_000_000);
    rx.install_key(KeyId::default(), keys(1)).unwrap();
    rx.install_key(KeyId::new(1).unwrap(), keys(2)).unwrap();
    assert_eq!(feed(&mut rx, &a).0, 1);
    let _ = feed(&mut rx, &b[..3]);
    assert_eq!(rx.retire_key(), Some(KeyId::new(1).unwrap()));
    let (n, rest) = feed(&mut rx, &b[3..]);
    assert_eq!(n, 0, "{rest:?}");
    let (n, rest) = feed(&mut rx, &c);
    assert_eq!(n, 0, "{rest:?}");
    rx.install_key(KeyId::new(1).unwrap(), keys(2)).unwrap();
    let (n, rest) = feed(&mut rx, &d);
    assert_eq!(n, 1, "{rest:?}");
    while rx.poll_event(1).is_some() {}
}
