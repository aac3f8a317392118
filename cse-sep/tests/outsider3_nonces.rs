//! Outsider round 3: the transmitter never uses a (key, IV) twice, whatever the call order.
//!
//! Every IV is `salt XOR (stream id ‖ packet number)` (docs/wire-format.md sections 3 and 4,
//! "IVs"), and every context block carries the same scope, block, data type and packet number.
//! The tests read back, from the SEP packets the transmitter writes, the IV input of every
//! tag and keystream (scope kind, block, data type, frame counter, message index) and the key
//! material it was made under, across a scenario that mixes single and batch calls, errors of
//! every kind (buffers too small, packets of another VC, bad CRC-16, FS inside a frame,
//! packets outside a frame), key rollovers, `clear_keys` and reinstalling the same material,
//! configuration changes between frames, and frame counters near the end of their space. No
//! pair may repeat.
#![allow(clippy::unwrap_used, clippy::panic)]

mod o3;

use std::collections::HashMap;

use cse_core::csi2::HeaderForm;
use cse_core::keys::UsageStatus;
use cse_core::{CipherSuite, FrameConfig, KeyId, SecurityVariant, TagMode};
use cse_sep::{Protected, SepError, Transmitter};
use o3::*;

/// The IV (or, for CMAC scopes, context number) input of one emitted SEP packet, with the
/// key material generation it was made under: (generation, scope code, block, data type,
/// packet number).
type IvInput = (u32, u8, u8, u8, u64);

struct Recorder {
    /// Key generation per key id, as installed on the transmitter (a label of the test).
    generation: [u32; 4],
    fc: Option<u32>,
    seen: HashMap<IvInput, usize>,
    packets: usize,
}

impl Recorder {
    fn new() -> Self {
        Recorder {
            generation: [0; 4],
            fc: None,
            seen: HashMap::new(),
            packets: 0,
        }
    }

    fn take(&mut self, out: &[u8], done: &Protected) {
        let seps = split(&out[..done.len]);
        assert_eq!(seps.len(), done.packets);
        for s in seps {
            self.one(&s);
        }
    }

    fn one(&mut self, s: &[u8]) {
        self.packets += 1;
        let flags = s[5];
        let (e, t, x) = (flags & 0x80 != 0, flags & 0x40 != 0, flags & 0x20 != 0);
        let key = usize::from(flags & 3);
        let block = (s[6] >> 3) & 3;
        let mode = (s[6] >> 5) & 3;
        if x {
            self.fc = Some(u32::from_le_bytes(s[16..20].try_into().unwrap()));
        }
        let fc = u64::from(self.fc.expect("a packet before any FS"));
        let idx = u64::from(message_index(s));
        let input = if phase(s) == 2 {
            let dt = if mode == 1 { orig_dt(s) } else { 0 };
            Some((mode, block, dt, fc << 32))
        } else if t || e {
            Some((0, if x { 0 } else { block }, 0, fc << 32 | idx))
        } else {
            None
        };
        if let Some((scope, block, dt, pn)) = input {
            // Every key id and generation gets the same bytes in these tests, so the IV input
            // alone must never repeat (stricter than per key).
            let _ = self.generation[key];
            let k = (0, scope, block, dt, pn);
            if let Some(first) = self.seen.insert(k, self.packets) {
                panic!(
                    "(key, IV) {k:x?} used twice: packets {first} and {}",
                    self.packets
                );
            }
        }
    }
}

fn frame_bytes(fnum: u16, seed: u8) -> Vec<Vec<u8>> {
    originals(fnum, &typical(seed))
}

fn protect(tx: &mut Transmitter, rec: &mut Recorder, o: &[u8]) -> Result<Protected, SepError> {
    let mut out = vec![0u8; cse_sep::tx::max_protected_len(o.len())];
    let r = tx.protect(o, &mut out);
    match &r {
        Ok(done) => rec.take(&out, done),
        Err(_) => assert!(out.iter().all(|&b| b == 0), "an error wrote bytes"),
    }
    r
}

fn protect_batch(tx: &mut Transmitter, rec: &mut Recorder, os: &[Vec<u8>]) -> Vec<bool> {
    let refs: Vec<&[u8]> = os.iter().map(Vec::as_slice).collect();
    let mut bufs: Vec<Vec<u8>> = os
        .iter()
        .map(|o| vec![0u8; cse_sep::tx::max_protected_len(o.len())])
        .collect();
    let mut outs: Vec<&mut [u8]> = bufs.iter_mut().map(Vec::as_mut_slice).collect();
    let mut results = Vec::new();
    tx.protect_batch(&refs, &mut outs, |i, r| results.push((i, r)))
        .unwrap();
    results
        .into_iter()
        .map(|(i, r)| match r {
            Ok(done) => {
                rec.take(&bufs[i], &done);
                true
            }
            Err(_) => {
                assert!(
                    bufs[i].iter().all(|&b| b == 0),
                    "a refused batch packet wrote bytes"
                );
                false
            }
        })
        .collect()
}

fn bad_crc(o: &[u8]) -> Vec<u8> {
    let mut b = o.to_vec();
    let n = b.len();
    b[n - 1] ^= 1;
    b
}

fn other_vc(o: &[u8]) -> Vec<u8> {
    let mut b = o.to_vec();
    b[0] = (b[0] & 0x3F) | (((VC + 1) & 3) << 6);
    HeaderForm::Dphy.fill((&mut b[..4]).try_into().unwrap());
    b
}

/// One frame, alternating single and batch calls and injecting every caller mistake the API
/// allows between genuine packets.
fn messy_frame(tx: &mut Transmitter, rec: &mut Recorder, fnum: u16, seed: u8) {
    let f = frame_bytes(fnum, seed);
    // Outside a frame, anything but FS is refused.
    assert!(protect(tx, rec, &f[1]).is_err());
    assert!(protect(tx, rec, &f[f.len() - 1]).is_err());
    // FS with a buffer too small, then the genuine FS.
    let mut tiny = [0u8; 8];
    assert!(tx.protect(&f[0], &mut tiny).is_err());
    assert!(tiny.iter().all(|&b| b == 0));
    let _ = protect(tx, rec, &f[0]).unwrap();
    // FS inside the frame.
    assert!(protect(tx, rec, &f[0]).is_err());
    for (i, o) in f[1..f.len() - 1].iter().enumerate() {
        assert!(protect(tx, rec, &bad_crc(o)).is_err() || o.len() == 4);
        assert!(protect(tx, rec, &other_vc(o)).is_err());
        let mut small = vec![0u8; o.len()];
        assert!(tx.protect(o, &mut small).is_err());
        assert!(
            small.iter().all(|&b| b == 0),
            "a too small buffer got bytes"
        );
        if i % 3 == 2 {
            // A batch of the genuine packet between refused ones.
            let oks = protect_batch(tx, rec, &[bad_crc(o), o.clone(), other_vc(o), o.clone()]);
            // The genuine packet is taken (twice: the transmitter cannot know the second
            // is a copy; it becomes one more line of the frame).
            assert_eq!(oks, vec![o.len() == 4, true, false, true]);
        } else {
            let _ = protect(tx, rec, o).unwrap();
        }
    }
    let fe = f.last().unwrap();
    let mut small = vec![0u8; 20];
    assert!(tx.protect(fe, &mut small).is_err());
    let _ = protect(tx, rec, fe).unwrap();
}

fn configs(suite: CipherSuite, sv1: bool) -> Vec<FrameConfig> {
    let sv = if sv1 {
        SecurityVariant::FullIntegrityEncrypted
    } else {
        SecurityVariant::FullIntegrity
    };
    let mut v: Vec<FrameConfig> = [TagMode::PerMessage, TagMode::PerDataType, TagMode::PerFrame]
        .into_iter()
        .map(|m| uniform(sv, suite, m))
        .collect();
    // Top SV-5, image per data type, bottom per frame.
    let mut mixed = uniform(sv, suite, TagMode::PerDataType);
    mixed.top.sv = SecurityVariant::NoSecurity;
    mixed.bottom.tag_mode = TagMode::PerFrame;
    v.push(mixed);
    v
}

fn with_key(mut c: FrameConfig, k: u8) -> FrameConfig {
    c.key_id = KeyId::new(k).unwrap();
    c
}

#[test]
fn no_key_and_iv_pair_repeats_across_errors_batches_rollovers_and_restarts() {
    for (suite, sv1) in [
        (CipherSuite::Aes256Gcm, true),
        (CipherSuite::Aes128CtrCmac, true),
        (CipherSuite::Aes128Gmac, false),
        (CipherSuite::Aes256Cmac, false),
    ] {
        let mut rec = Recorder::new();
        let mut tx = Transmitter::new(settings(), 1);
        let cs = configs(suite, sv1);
        tx.install_key(KeyId::new(0).unwrap(), material(suite, 7))
            .unwrap();
        tx.set_config(cs[0]).unwrap();
        let mut fnum = 0u16;
        let mut installed = [true, false];
        for round in 0..3u8 {
            for (i, c) in cs.iter().enumerate() {
                // The configuration for this frame (set before the FS) ...
                let key = (round + i as u8) % 2;
                let c = with_key(*c, key);
                if !installed[usize::from(key)] {
                    // The other key id is not installed yet: a new generation (the same
                    // bytes on purpose: only the packet numbers keep the IVs apart).
                    rec.generation[usize::from(key)] += 1;
                    tx.install_key(c.key_id, material(suite, 7)).unwrap();
                    installed[usize::from(key)] = true;
                }
                tx.set_config(c).unwrap();
                messy_frame(&mut tx, &mut rec, fnum, round * 16 + i as u8);
                fnum = fnum.wrapping_add(1);
                // ... and a configuration change in the middle of the next frame.
                if i == 1 {
                    let f = frame_bytes(fnum, 0x77);
                    let _ = protect(&mut tx, &mut rec, &f[0]).unwrap();
                    let _ = protect(&mut tx, &mut rec, &f[1]).unwrap();
                    tx.set_config(with_key(cs[(i + 1) % cs.len()], key))
                        .unwrap();
                    for o in &f[2..] {
                        let _ = protect(&mut tx, &mut rec, o).unwrap();
                    }
                    fnum = fnum.wrapping_add(1);
                }
            }
            // Restart: the session ends mid-frame, the same material comes back (a caller
            // mistake the transmitter must survive: its frame counter keeps counting).
            let f = frame_bytes(fnum, 0x99);
            let _ = protect(&mut tx, &mut rec, &f[0]).unwrap();
            let _ = protect(&mut tx, &mut rec, &f[1]).unwrap();
            tx.clear_keys();
            assert!(protect(&mut tx, &mut rec, &f[2]).is_err());
            assert!(
                protect(&mut tx, &mut rec, &f[0]).is_err(),
                "FS without key or config"
            );
            tx.install_key(KeyId::new(0).unwrap(), material(suite, 7))
                .unwrap();
            assert!(
                protect(&mut tx, &mut rec, &f[0]).is_err(),
                "FS without config"
            );
            tx.set_config(with_key(cs[0], 0)).unwrap();
            // The same key id and material as generation 0: label it generation 0 again.
            rec.generation = [0; 4];
            installed = [true, false];
            fnum = fnum.wrapping_add(1);
        }
        assert!(rec.packets > 200, "{suite:?}: {}", rec.packets);
    }
}

#[test]
fn no_key_and_iv_pair_repeats_at_the_end_of_the_frame_counter_space() {
    let suite = CipherSuite::Aes128Gcm;
    let mut rec = Recorder::new();
    let cs = configs(suite, true);
    let mut tx = Transmitter::new(settings(), u32::MAX - 3);
    tx.install_key(KeyId::new(0).unwrap(), material(suite, 7))
        .unwrap();
    let mut statuses = Vec::new();
    for (i, c) in cs.iter().enumerate() {
        tx.set_config(*c).unwrap();
        let f = frame_bytes(i as u16, i as u8);
        match protect(&mut tx, &mut rec, &f[0]) {
            Ok(done) => {
                statuses.push(done.usage);
                for o in &f[1..] {
                    let _ = protect(&mut tx, &mut rec, o).unwrap();
                }
            }
            Err(e) => {
                // Frame counter u32::MAX is the hard limit: refused, nothing written, and
                // every later FS too (the counter does not wrap to a used value).
                assert_eq!(e, SepError::Security(cse_core::SecurityError::KeyExhausted));
                assert_eq!(tx.next_frame_counter(), u32::MAX);
                assert!(!tx.in_frame());
                for o in &f[1..] {
                    assert!(protect(&mut tx, &mut rec, o).is_err());
                }
            }
        }
    }
    assert_eq!(statuses, vec![UsageStatus::NeedsRestart; 3]);
    // Clearing and reinstalling keys does not reset the counter either.
    tx.clear_keys();
    tx.install_key(KeyId::new(0).unwrap(), material(suite, 7))
        .unwrap();
    tx.set_config(cs[0]).unwrap();
    let f = frame_bytes(9, 9);
    assert!(protect(&mut tx, &mut rec, &f[0]).is_err());
}
