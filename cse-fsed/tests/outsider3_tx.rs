//! Outsider round 3: FSED transmitter misuse. `protect` encrypts SV-1 payloads in place, so
//! every refused call must leave the caller's packet exactly as given (a retry must not
//! encrypt ciphertext again, which would put plaintext on the wire) and write nothing; the
//! genuine continuation must come out byte for byte as from an unattacked twin (no state
//! moved, so no keystream or record IV used twice). Across rollovers, `clear_keys` with the
//! same material reinstalled and the end of the frame-counter space, no (key, IV) input
//! repeats: read back from the frame headers, tag records and SV-1 originals on the wire.
#![allow(clippy::unwrap_used, clippy::panic)]

mod o3;

use std::collections::HashMap;

use cse_core::csi2::{HeaderForm, Packets};
use cse_core::{CipherSuite, FrameConfig, KeyId, SecurityVariant, TagMode};
use cse_fsed::{FsedError, Transmitter};
use o3::*;

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
    let mut mixed = uniform(
        SecurityVariant::FullIntegrityEncrypted,
        CipherSuite::Aes128Gcm,
        TagMode::PerDataType,
    );
    mixed.top.sv = SecurityVariant::NoSecurity;
    mixed.bottom.tag_mode = TagMode::PerFrame;
    v.push((mixed, CipherSuite::Aes128Gcm));
    v
}

/// One protect call; on an error the packet and the output buffer must be unchanged.
fn try_protect(tx: &mut Transmitter, packet: &[u8], out_len: usize) -> Result<Vec<u8>, FsedError> {
    let mut p = packet.to_vec();
    let mut out = vec![0xA5u8; out_len];
    match tx.protect(&mut p, &mut out) {
        Ok(r) => {
            let mut wire = r.before(&out).to_vec();
            wire.extend_from_slice(&p);
            wire.extend_from_slice(r.after(&out));
            Ok(wire)
        }
        Err(e) => {
            assert_eq!(p, packet, "{e:?}: the packet changed on an error");
            assert!(
                out.iter().all(|&b| b == 0xA5),
                "{e:?}: bytes written on an error"
            );
            Err(e)
        }
    }
}

/// A long packet with a wrong CRC-16 footer (a short packet has none: a flipped header bit
/// there is corrected by the ECC, so short packets are left as they are).
fn bad_crc(o: &[u8]) -> Vec<u8> {
    let mut b = o.to_vec();
    let n = b.len();
    if n > 4 {
        b[n - 2] ^= 0x10;
    }
    b
}

fn bad_payload(o: &[u8]) -> Vec<u8> {
    let mut b = o.to_vec();
    if b.len() > 6 {
        b[4] ^= 1;
    }
    b
}

fn other_vc(o: &[u8]) -> Vec<u8> {
    let mut b = o.to_vec();
    b[0] = (b[0] & 0x3F) | (((VC + 1) & 3) << 6);
    HeaderForm::Dphy.fill((&mut b[..4]).try_into().unwrap());
    b
}

#[test]
fn refused_calls_leave_the_packet_and_the_transmitter_as_they_were() {
    let full = cse_fsed::tx::MAX_INSERTED_LEN;
    for (config, suite) in configs() {
        let mut twin = tx_with(config, suite, 7);
        let mut tx = tx_with(config, suite, 7);
        for f in 0..3u16 {
            let orig = frame(f, f as u8);
            // Outside a frame: everything but FS refused.
            for o in &orig[1..] {
                assert!(try_protect(&mut tx, o, full).is_err() || o == orig.last().unwrap());
            }
            for (i, o) in orig.iter().enumerate() {
                let expect = try_protect(&mut twin, o, full).unwrap();
                // Every way to get refused, before the genuine call.
                for (what, p, len) in [
                    ("bad CRC-16", bad_crc(o), full),
                    ("payload changed", bad_payload(o), full),
                    ("other VC", other_vc(o), full),
                    ("no room", o.clone(), 0),
                    ("too little room", o.clone(), 20),
                    ("truncated", o[..o.len() - 1].to_vec(), full),
                ] {
                    if p == *o && len >= expect.len() - o.len()
                        || o.len() == 4 && what != "truncated" && what != "other VC" && len == full
                    {
                        continue;
                    }
                    let r = try_protect(&mut tx, &p, len);
                    assert!(
                        r.is_err(),
                        "{config:?} frame {f} packet {i}: {what} accepted"
                    );
                }
                if i > 0 {
                    assert!(
                        try_protect(&mut tx, &orig[0], full).is_err(),
                        "FS inside a frame"
                    );
                }
                let got = try_protect(&mut tx, o, full).unwrap();
                assert_eq!(got, expect, "{config:?} frame {f} packet {i}");
            }
        }
    }
}

/// IV inputs on an FSED wire (docs/wire-format.md sections 3 and 5): per SV-1 long original
/// its message IV (frame counter, message index by position); per tag record its scope IV
/// (scope, block, data type, frame counter). With the key generation they must never repeat.
#[derive(Default)]
struct Recorder {
    generation: [u32; 4],
    key: usize,
    fc: u32,
    index: u32,
    encrypted: bool,
    seen: HashMap<(u32, u8, u8, u8, u64), usize>,
    n: usize,
}

impl Recorder {
    fn take(&mut self, wire: &[u8], config: &FrameConfig) {
        for p in Packets::new(wire, HeaderForm::Dphy) {
            let p = p.unwrap();
            self.n += 1;
            let raw = p.raw;
            let dt = raw[0] & 0x3F;
            let input = if dt == 0x3A {
                let w = cse_fsed::wire::Packet::new_checked(&raw[4..raw.len() - 2]).unwrap();
                match w.kind() {
                    cse_fsed::wire::Kind::FrameHeader => {
                        self.fc = w.frame_counter();
                        self.key = usize::from(w.key_id_byte() & 3);
                        None
                    }
                    cse_fsed::wire::Kind::TagRecord => Some((
                        w.scope_code(),
                        w.block_code(),
                        w.data_type(),
                        u64::from(self.fc) << 32,
                    )),
                }
            } else if dt == 0x00 {
                self.index = 0;
                None
            } else if dt == 0x01 {
                None
            } else {
                self.index += 1;
                // The original's block is not on the wire; SV-1 in every block here but
                // the top of `mixed`, whose only long packet is the first.
                let sv1_top = config.top.sv == SecurityVariant::FullIntegrityEncrypted;
                let enc = dt >= 0x10 && (self.index > 1 || sv1_top);
                self.encrypted |= enc;
                enc.then_some((0, 9, 0, u64::from(self.fc) << 32 | u64::from(self.index)))
            };
            if let Some((a, b, c, pn)) = input {
                // Every key id and generation gets the same bytes here: the IV input alone
                // must never repeat (stricter than per key).
                let _ = self.generation[self.key];
                let k = (0, a, b, c, pn);
                if let Some(first) = self.seen.insert(k, self.n) {
                    panic!("(key, IV) {k:x?} twice: packets {first} and {}", self.n);
                }
            }
        }
    }
}

#[test]
fn no_key_and_iv_pair_repeats_across_rollovers_restarts_and_errors() {
    let full = cse_fsed::tx::MAX_INSERTED_LEN;
    for (config, suite) in configs() {
        let mut rec = Recorder::default();
        let mut tx = tx_with(config, suite, u32::MAX - 20);
        let mut installed = [true, false];
        let mut fnum = 0u16;
        for round in 0..4u32 {
            for f in 0..6u8 {
                let key = ((round as u8) + f) % 2;
                let mut c = config;
                c.key_id = KeyId::new(key).unwrap();
                if !installed[usize::from(key)] {
                    rec.generation[usize::from(key)] += 1;
                    tx.install_key(c.key_id, material(suite, 7)).unwrap();
                    installed[usize::from(key)] = true;
                }
                tx.set_config(c).unwrap();
                let orig = frame(fnum, f);
                fnum = fnum.wrapping_add(1);
                for (i, o) in orig.iter().enumerate() {
                    if o.len() > 4 {
                        assert!(try_protect(&mut tx, &bad_crc(o), full).is_err());
                    }
                    let _ = try_protect(&mut tx, o, 4);
                    match try_protect(&mut tx, o, full) {
                        Ok(w) => rec.take(&w, &c),
                        Err(e) => {
                            // Only the frame-counter hard limit may refuse a genuine packet:
                            // its FS, and then everything of that frame.
                            assert!(
                                i > 0
                                    || e == FsedError::Security(
                                        cse_core::SecurityError::KeyExhausted
                                    ),
                                "{e:?}"
                            );
                        }
                    }
                }
            }
            // Restart in the middle of a frame with the same material.
            let orig = frame(fnum, 0xEE);
            if let Ok(w) = try_protect(&mut tx, &orig[0], full) {
                rec.take(&w, &config);
            }
            tx.clear_keys();
            assert!(try_protect(&mut tx, &orig[1], full).is_err());
            tx.install_key(KeyId::new(0).unwrap(), material(suite, 7))
                .unwrap();
            tx.set_config(config).unwrap();
            rec.generation = [0; 4];
            installed = [true, false];
        }
        assert!(
            rec.encrypted && rec.seen.len() > 60,
            "{config:?}: {}",
            rec.seen.len()
        );
        assert_eq!(
            tx.next_frame_counter(),
            u32::MAX,
            "the counter stops at its hard limit"
        );
    }
}
