//! Outsider round 5: one FSED transmitter never reuses an SV-1 keystream across frames restarted
//! without FE, `clear_keys` mid-frame, reinstalls of the same key bytes, rollover and retire,
//! per-frame and per-data-type scopes. Black-box: the public API and `docs/wire-format.md`.
#![allow(clippy::unwrap_used, clippy::panic, missing_docs)]

use cse_core::csi2::{DataType, Emitter, Packets, VirtualChannel};
use cse_core::keys::{Salt, SecretKey};
use cse_core::{BlockConfig, CipherSuite, FrameConfig, KeyId, SecurityVariant, TagLen, TagMode};
use cse_fsed::{KeyMaterial, Settings, Transmitter};

const LINE: usize = 48;

fn keys() -> KeyMaterial {
    KeyMaterial::new(SecretKey::aes128([3; 16]), None, Salt::new([4; 12]))
}

fn config(key: u8, mode: TagMode) -> FrameConfig {
    FrameConfig::uniform(
        BlockConfig {
            sv: SecurityVariant::FullIntegrityEncrypted,
            suite: CipherSuite::Aes128Gcm,
            tag_len: TagLen::L16,
            tag_mode: mode,
        },
        KeyId::new(key).unwrap(),
    )
}

/// FS, a zero RAW8 line, FE as separate packets.
fn frame(s: &Settings) -> [Vec<u8>; 3] {
    let mut buf = [0u8; 256];
    let mut em = Emitter::new(&mut buf, s.form);
    em.frame_start(s.vc, 7).unwrap();
    em.long(s.vc, DataType::RAW8, &[0u8; LINE]).unwrap();
    em.frame_end(s.vc, 7).unwrap();
    let w = em.written().to_vec();
    let v: Vec<Vec<u8>> = Packets::new(&w, s.form)
        .map(|p| p.unwrap().raw.to_vec())
        .collect();
    [v[0].clone(), v[1].clone(), v[2].clone()]
}

#[test]
fn one_fsed_transmitter_never_repeats_a_keystream_over_its_life() {
    let s = Settings::new(VirtualChannel::new(2).unwrap());
    let mut tx = Transmitter::new(s, 10);
    tx.install_key(KeyId::default(), keys()).unwrap();
    tx.set_config(config(0, TagMode::PerFrame)).unwrap();
    let [fs, line, fe] = frame(&s);
    let mut streams: Vec<Vec<u8>> = Vec::new();
    let mut send = |tx: &mut Transmitter, p: &[u8]| {
        let mut p = p.to_vec();
        let mut ins = [0u8; cse_fsed::tx::MAX_INSERTED_LEN];
        if tx.protect(&mut p, &mut ins).is_ok() && p.len() == 4 + LINE + 2 {
            // Zero plaintext encrypted in place: the payload is the keystream.
            streams.push(p[4..4 + LINE].to_vec());
        }
    };
    let whole = |tx: &mut Transmitter, send: &mut dyn FnMut(&mut Transmitter, &[u8])| {
        for p in [&fs, &line, &fe] {
            send(tx, p);
        }
    };
    whole(&mut tx, &mut send);
    // FS, line, FS again (no FE), line, FE.
    send(&mut tx, &fs);
    send(&mut tx, &line);
    send(&mut tx, &fs);
    send(&mut tx, &line);
    send(&mut tx, &fe);
    // clear_keys mid-frame, the same key bytes reinstalled under the same id.
    send(&mut tx, &fs);
    send(&mut tx, &line);
    tx.clear_keys();
    tx.install_key(KeyId::default(), keys()).unwrap();
    tx.set_config(config(0, TagMode::PerFrame)).unwrap();
    whole(&mut tx, &mut send);
    // Rollover to id 1 with the same key bytes, retire, reinstall id 0, roll back.
    tx.install_key(KeyId::new(1).unwrap(), keys()).unwrap();
    tx.set_config(config(1, TagMode::PerDataType)).unwrap();
    whole(&mut tx, &mut send);
    assert_eq!(tx.retire_key(), Some(KeyId::default()));
    tx.install_key(KeyId::default(), keys()).unwrap();
    tx.set_config(config(0, TagMode::PerFrame)).unwrap();
    whole(&mut tx, &mut send);
    whole(&mut tx, &mut send);
    assert!(streams.len() >= 8, "{}", streams.len());
    for i in 0..streams.len() {
        for j in i + 1..streams.len() {
            assert_ne!(
                streams[i], streams[j],
                "keystream of line {i} reused by line {j}"
            );
        }
    }
}
