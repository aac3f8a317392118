//! Entry points for the fuzz targets in `fuzz/` (not a stable API). Each function is an
//! oracle: it takes arbitrary bytes, runs the crate on them and `assert!`s invariants that
//! must hold for every input.
#![allow(clippy::panic, clippy::unwrap_used, missing_docs)]

use std::vec::Vec;

use cse_core::csi2::{DataType, Emitter, HeaderForm, Packets, VirtualChannel};
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
            let _ = e.long(vc, DataType::EMBEDDED, &[f as u8; 7]);
        });
        for l in 0..3u8 {
            emit(&|e| {
                let _ = e.line_start(vc, u16::from(l));
            });
            emit(&|e| {
                let _ = e.long(vc, DataType::RAW12, &[l ^ 0x5A; 12]);
            });
        }
        emit(&|e| {
            let _ = e.long(vc, DataType::EMBEDDED, &[9; 5]);
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

// ---- interleave oracle ---------------------------------------------------------------------

/// One configuration of the interleave oracle.
struct Setup {
    config: FrameConfig,
    suite: CipherSuite,
    policy: Policy,
    frames: u16,
}

/// Byte 0 of the interleave input: variant (SV-1 GCM, SV-1 CTR+CMAC, SV-2 GMAC, SV-2 CMAC,
/// SV-3 image, SV-4 image), tag mode (per data type, per frame), frame count, tag length.
fn interleave_setup(sel: u8) -> Setup {
    use SecurityVariant as Sv;
    let mode = [TagMode::PerDataType, TagMode::PerFrame][usize::from((sel / 6) % 2)];
    let frames = 3 + u16::from((sel / 12) % 2);
    let tag_len = if (sel / 24).is_multiple_of(2) {
        TagLen::L8
    } else {
        TagLen::L16
    };
    let (suite, outer, image) = match sel % 6 {
        0 => (CipherSuite::Aes128Gcm, Sv::FullIntegrityEncrypted, None),
        1 => (CipherSuite::Aes256CtrCmac, Sv::FullIntegrityEncrypted, None),
        2 => (CipherSuite::Aes256Gmac, Sv::FullIntegrity, None),
        3 => (CipherSuite::Aes128Cmac, Sv::FullIntegrity, None),
        4 => (
            CipherSuite::Aes128Gmac,
            Sv::FullIntegrity,
            Some(Sv::LinePartialIntegrity {
                stride: 2,
                offset: 1,
            }),
        ),
        _ => (
            CipherSuite::Aes256Cmac,
            Sv::FullIntegrity,
            Some(Sv::BytePartialIntegrity { start: 2, len: 4 }),
        ),
    };
    let block = |sv| BlockConfig {
        sv,
        suite,
        tag_len,
        tag_mode: mode,
    };
    Setup {
        config: FrameConfig {
            top: block(outer),
            image: block(image.unwrap_or(outer)),
            bottom: block(outer),
            key_id: KeyId::default(),
        },
        suite,
        // No SV-5 anywhere; SV-3/SV-4 allowed so the partial variants pass.
        policy: Policy {
            min_top: cse_core::SvLevel::Sv4,
            min_image: cse_core::SvLevel::Sv4,
            min_bottom: cse_core::SvLevel::Sv4,
        },
        frames,
    }
}

/// The genuine original at one (frame counter, message index), and which of its payload
/// bytes the tag covers (SV-3/SV-4 leave the others open by design).
struct Expected {
    original: Vec<u8>,
    covered: core::ops::Range<usize>,
}

impl Expected {
    /// Whether `got` equals the original on every authenticated byte: header, length, the
    /// covered payload bytes (every byte under SV-1/SV-2).
    fn matches(&self, got: &[u8]) -> bool {
        let o = &self.original;
        if o.len() == 4 || (self.covered.start == 0 && self.covered.end + 6 == o.len()) {
            return got == o.as_slice();
        }
        let r = 4 + self.covered.start..4 + self.covered.end;
        got.len() == o.len() && got.get(..4) == o.get(..4) && got.get(r.clone()) == o.get(r)
    }
}

/// The genuine stream of the interleave oracle.
struct GenuineStream {
    /// Packets in order: originals (SV-1: encrypted) and FSED packets.
    stream: Vec<Vec<u8>>,
    /// The frame (0-based) of each packet.
    frame_of: Vec<usize>,
    /// The plaintext original of each original packet (None for FSED packets).
    original_of: Vec<Option<Vec<u8>>>,
    /// Frame counter of each frame.
    fcs: Vec<u32>,
    /// Position of each frame's FSED frame header.
    headers: Vec<usize>,
}

fn interleave_genuine(setup: &Setup) -> GenuineStream {
    let vc = VirtualChannel::new(0).unwrap();
    let mut tx = Transmitter::new(Settings::new(vc), 5);
    tx.install_key(KeyId::default(), material(setup.suite))
        .unwrap();
    tx.set_config(setup.config).unwrap();
    let mut g = GenuineStream {
        stream: Vec::new(),
        frame_of: Vec::new(),
        original_of: Vec::new(),
        fcs: Vec::new(),
        headers: Vec::new(),
    };
    for f in 0..setup.frames {
        g.fcs.push(tx.next_frame_counter());
        let x = f as u8;
        let mut buf = std::vec![0u8; 512];
        let mut em = Emitter::new(&mut buf, HeaderForm::Dphy);
        em.frame_start(vc, f + 1).unwrap();
        em.long(vc, DataType::EMBEDDED, &[0xE0 ^ x; 5]).unwrap();
        for l in 0..3u16 {
            em.line_start(vc, l + 1).unwrap();
            let line: Vec<u8> = (0..12u8).map(|i| i ^ (l as u8) << 4 ^ x).collect();
            em.long(vc, DataType::RAW12, &line).unwrap();
            em.line_end(vc, l + 1).unwrap();
        }
        em.long(vc, DataType::EMBEDDED, &[0xB0 ^ x; 4]).unwrap();
        em.frame_end(vc, f + 1).unwrap();
        let written = em.written().to_vec();
        for d in Packets::new(&written, HeaderForm::Dphy) {
            let p = d.unwrap().raw.to_vec();
            let mut q = p.clone();
            let mut ins = [0u8; MAX_INSERTED_LEN];
            let r = tx.protect(&mut q, &mut ins).unwrap();
            let mut push = |bytes: Vec<u8>, original: Option<Vec<u8>>| {
                g.stream.push(bytes);
                g.frame_of.push(usize::from(f));
                g.original_of.push(original);
            };
            for d in Packets::new(r.before(&ins), HeaderForm::Dphy) {
                push(d.unwrap().raw.to_vec(), None);
            }
            push(q, Some(p));
            for d in Packets::new(r.after(&ins), HeaderForm::Dphy) {
                push(d.unwrap().raw.to_vec(), None);
            }
            if r.after > 0 {
                // The frame header right after FS.
                g.headers.push(g.stream.len() - 1);
            }
        }
    }
    assert_eq!(g.headers.len(), g.fcs.len());
    g
}

/// A packet of an open scope, kept until a proof covers it.
struct Held {
    bytes: Vec<u8>,
    ticket: crate::DecryptTicket,
    scope: crate::ScopeId,
    index: u32,
    encrypted: bool,
    /// The genuine stream position it came from (None: an inserted packet).
    origin: Option<usize>,
}

struct Run<'a> {
    g: &'a GenuineStream,
    expected: &'a std::collections::HashMap<(u32, u32), Expected>,
    /// Where the reference run released each genuine original (frame counter, index).
    position: &'a [Option<(u32, u32)>],
    rx: Receiver,
    held: Vec<Held>,
    verified: Vec<bool>,
}

impl Run<'_> {
    /// Checks one delivery (safety), records which genuine packet a proof released
    /// (liveness). Returns the genuine frame the delivery names, if any.
    fn deliver(&mut self, d: Delivery<'_>, origin: Option<usize>) -> Option<usize> {
        let frame = |fc: u32| self.g.fcs.iter().position(|&f| f == fc);
        match d {
            Delivery::Unprotected(_) => panic!("unprotected delivery: no SV-5 block configured"),
            Delivery::Unverified(u) => {
                let named = frame(u.info().frame_counter);
                self.held.push(Held {
                    bytes: u.unverified_packet().to_vec(),
                    ticket: u.decrypt_ticket(),
                    scope: u.scope(),
                    index: u.info().message_index,
                    encrypted: u.is_encrypted(),
                    origin,
                });
                named
            }
            Delivery::FrameHeader { frame_counter } => frame(frame_counter),
            Delivery::ScopeVerified(proof) => {
                let fc = proof.scope().frame_counter;
                let held = core::mem::take(&mut self.held);
                for h in held {
                    if !(h.scope == proof.scope() && proof.indices().contains(&h.index)) {
                        self.held.push(h);
                        continue;
                    }
                    let mut b = h.bytes;
                    if h.encrypted {
                        self.rx
                            .decrypt(&proof, &h.ticket, &mut b)
                            .expect("a packet of a verified scope decrypts");
                    }
                    let e = self.expected.get(&(fc, h.index)).unwrap_or_else(|| {
                        panic!(
                            "scope-verified: no genuine packet at frame {fc} index {}",
                            h.index
                        )
                    });
                    assert!(
                        e.matches(&b),
                        "scope-verified packet differs from the original"
                    );
                    if let Some(j) = h
                        .origin
                        .filter(|&j| self.position[j] == Some((fc, h.index)))
                    {
                        self.verified[j] = true;
                    }
                }
                frame(fc)
            }
            _ => None,
        }
    }

    fn events(&mut self, now: u64) {
        while let Some(e) = self.rx.poll_event(now) {
            if let Event::ScopeFailed(f) = e {
                self.held.retain(|h| h.scope != f.scope);
            }
        }
    }
}

fn new_receiver(setup: &Setup) -> Receiver {
    let settings = Settings::new(VirtualChannel::new(0).unwrap());
    let mut rx = Receiver::new(settings, setup.policy, 1 << 20);
    rx.install_key(setup.config.key_id, material(setup.suite))
        .unwrap();
    rx
}

/// Recomputes what an attacker can: the header ECC, the FSED CRC-32 (FSED packets only) and
/// the CSI-2 CRC-16.
fn refresh(p: &mut [u8], flags: u8) {
    let n = p.len();
    if flags & 1 != 0
        && let Some(h) = p.first_chunk_mut::<4>()
    {
        HeaderForm::Dphy.fill(h);
    }
    if n >= 4 + 4 + 2 {
        if flags & 2 != 0 && p[0] & 0x3F == Profile::DRAFT_1.dt_fsed.0 {
            let crc = crate::wire::crc32(&Profile::DRAFT_1, &p[4..n - 6]);
            p[n - 6..n - 2].copy_from_slice(&crc.to_le_bytes());
        }
        if flags & 4 != 0 {
            let c16 = cse_core::csi2::payload_crc(&p[4..n - 2]);
            p[n - 2..].copy_from_slice(&c16.to_le_bytes());
        }
    }
}

/// The packet as the receiver reads it: a single-bit header error corrected.
fn canonical(p: &[u8]) -> Vec<u8> {
    let mut p = p.to_vec();
    if let Some(h) = p.first_chunk_mut::<4>() {
        let _ = HeaderForm::Dphy.correct(h);
    }
    p
}

/// Parses the insertions: `(position, kind, ...)` records. Returns, per position of the
/// genuine stream (and one past its end), the packets to send before the genuine one.
fn interleave_insertions(mut ops: &[u8], g: &GenuineStream) -> Vec<Vec<Vec<u8>>> {
    let n = g.stream.len();
    let vc = VirtualChannel::new(0).unwrap();
    let mut at: Vec<Vec<Vec<u8>>> = std::vec![Vec::new(); n + 1];
    let mut take = |k: usize| -> Option<Vec<u8>> {
        let (a, rest) = ops.split_at_checked(k)?;
        ops = rest;
        Some(a.to_vec())
    };
    while let Some(h) = take(2) {
        let pos = usize::from(h[0]) % (n + 1);
        let pkt = match h[1] & 7 {
            // A genuine packet with one byte XORed, checksums refreshed per the flag bits.
            0 => {
                let Some(a) = take(4) else { break };
                let mut p = g.stream[usize::from(a[0]) % n].clone();
                let i = usize::from(u16::from_le_bytes([a[1], a[2]])) % p.len();
                p[i] ^= a[3].max(1);
                refresh(&mut p, !(h[1] >> 3) & 7);
                p
            }
            // A frame header of a genuine frame with another frame counter, or FS / FE.
            1 => {
                let Some(a) = take(5) else { break };
                let f = usize::from(a[0]) % g.fcs.len();
                let fc = g.fcs[f];
                let number = match a[1] % 4 {
                    0 => f as u16 + 1,
                    1 => f as u16 + 2,
                    2 => u16::MAX,
                    _ => u16::from_le_bytes([a[3], a[4]]),
                };
                match h[1] >> 3 & 3 {
                    0 | 1 => {
                        let mut p = g.stream[g.headers[f]].clone();
                        let forged = match a[2] % 4 {
                            0 => u32::MAX,
                            1 => fc.wrapping_add(1),
                            2 => fc.wrapping_sub(1),
                            _ => u32::from_le_bytes([a[1], a[2], a[3], a[4]]),
                        };
                        // Packet offset 4 (CSI-2 header) + 4: the frame counter.
                        p[8..12].copy_from_slice(&forged.to_le_bytes());
                        if h[1] >> 3 & 3 == 1 {
                            // Also name another FS.
                            p[12..14].copy_from_slice(&number.to_le_bytes());
                        }
                        refresh(&mut p, 7);
                        p
                    }
                    k => {
                        let mut b = [0u8; 4];
                        let mut e = Emitter::new(&mut b, HeaderForm::Dphy);
                        if k == 2 {
                            e.frame_start(vc, number).unwrap();
                        } else {
                            e.frame_end(vc, number).unwrap();
                        }
                        b.to_vec()
                    }
                }
            }
            // A truncated genuine packet.
            2 => {
                let Some(a) = take(2) else { break };
                let p = &g.stream[usize::from(a[0]) % n];
                p[..usize::from(a[1]) % p.len()].to_vec()
            }
            // A genuine packet as it is (a replay when it was sent already).
            3 => {
                let Some(a) = take(1) else { break };
                g.stream[usize::from(a[0]) % n].clone()
            }
            // Raw bytes.
            _ => {
                let Some(a) = take(1) else { break };
                let mut raw = Vec::new();
                for _ in 0..usize::from(a[0]) % 80 {
                    let Some(b) = take(1) else { break };
                    raw.push(b[0]);
                }
                raw
            }
        };
        // A copy of a genuine packet not sent yet would be a reordering, not a forgery: also
        // when only a header bit the ECC corrects differs.
        let same = canonical(&pkt);
        if g.stream[pos..].iter().any(|q| canonical(q) == same) {
            continue;
        }
        at[pos].push(pkt);
    }
    at
}

/// Interleave oracle. Byte 0 picks the configuration (`interleave_setup`); the genuine
/// stream is 3-4 small frames from the transmitter. The rest of the input is a list of forged
/// packets to insert, each before a position of the genuine stream: a genuine packet with one
/// byte XORed (ECC, CRC-32 and CRC-16 refreshed as an attacker would), a genuine frame header
/// with another frame counter (0xFFFF_FFFF, next, previous, arbitrary; optionally naming
/// another FS), an FS or FE with a chosen frame number, a truncated genuine packet, a
/// genuine packet as it is, or raw bytes. A copy of a genuine packet not sent yet is skipped (reordering is not this oracle's
/// attack); replays of packets already sent stay.
///
/// Safety: no panic; every packet covered by a ScopeVerified proof (SV-1: decrypted with
/// [`Receiver::decrypt`]) equals the genuine original at its frame counter and message index
/// on every authenticated byte; nothing comes out Unprotected (no SV-5 block).
///
/// Liveness: a frame is affected when an inserted packet was accepted (`Ok`) while it was in
/// progress, or when the accepted packet names it (an injected FS, frame header or FE can end
/// the frame in progress: documented). Every genuine original of every unaffected frame must
/// be covered by a proof.
pub fn fsed_interleave(data: &[u8]) {
    let Some((&sel, ops)) = data.split_first() else {
        return;
    };
    let setup = interleave_setup(sel);
    let g = interleave_genuine(&setup);
    let n = g.stream.len();

    // Reference run on the genuine stream alone: where each original is released (frame
    // counter, message index) and which bytes its tag covers.
    let mut expected = std::collections::HashMap::new();
    let mut position = std::vec![None; n];
    {
        let mut rx = new_receiver(&setup);
        let mut tracker = cse_core::agent::BlockTracker::new();
        for (j, p) in g.stream.iter().enumerate() {
            let d = rx.receive(p, j as u64).expect("genuine packet rejected");
            match (&d, &g.original_of[j]) {
                (Delivery::Unverified(u), Some(o)) => {
                    let i = u.info();
                    let covered = if i.data_type.is_long() {
                        let b = tracker.classify(i.data_type).unwrap();
                        let line = tracker.advance(b, true);
                        assert_eq!(b, i.block);
                        setup
                            .config
                            .block(b)
                            .sv
                            .covered_payload(line, usize::from(i.word_count))
                    } else {
                        0..0
                    };
                    let key = (i.frame_counter, i.message_index);
                    position[j] = Some(key);
                    let e = Expected {
                        original: o.clone(),
                        covered,
                    };
                    assert!(expected.insert(key, e).is_none());
                }
                (Delivery::Sync(s), Some(_)) => {
                    if s.is_frame_start() {
                        tracker = cse_core::agent::BlockTracker::new();
                    }
                }
                (Delivery::FrameHeader { .. } | Delivery::ScopeVerified(_), None) => {}
                (d, _) => panic!("reference run: unexpected {d:?} at {j}"),
            }
        }
    }
    let mut run = Run {
        g: &g,
        expected: &expected,
        position: &position,
        rx: new_receiver(&setup),
        held: Vec::new(),
        verified: std::vec![false; n],
    };
    // The genuine stream alone verifies completely.
    for (j, p) in g.stream.iter().enumerate() {
        let d = run.rx.receive(p, j as u64).unwrap();
        run.deliver(d, Some(j));
        run.events(j as u64);
    }
    for (j, pos) in position.iter().enumerate() {
        assert_eq!(run.verified[j], pos.is_some(), "reference run at {j}");
    }

    let inserted = interleave_insertions(ops, &g);
    run.rx = new_receiver(&setup);
    run.held.clear();
    run.verified = std::vec![false; n];
    let mut affected = std::vec![false; setup.frames.into()];
    let mut now = 0u64;
    for (pos, forged) in inserted.iter().enumerate() {
        for p in forged {
            now += 1;
            if let Ok(d) = run.rx.receive(p, now) {
                let named = run.deliver(d, None);
                affected[g.frame_of[pos.saturating_sub(1).min(n - 1)]] = true;
                if let Some(f) = named {
                    affected[f] = true;
                }
            }
            run.events(now);
        }
        if let Some(p) = g.stream.get(pos) {
            now += 1;
            if let Ok(d) = run.rx.receive(p, now) {
                run.deliver(d, Some(pos));
            }
            run.events(now);
        }
    }
    for (j, pos) in position.iter().enumerate() {
        let frame = g.frame_of[j];
        if pos.is_some() && !affected[frame] {
            assert!(
                run.verified[j],
                "genuine packet {j} (frame {frame}) not released verified"
            );
        }
    }
}

#[cfg(test)]
mod interleave_tests {
    use super::*;

    /// xorshift64*: deterministic inputs without a dependency.
    fn bytes(seed: u64, len: usize) -> Vec<u8> {
        let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        (0..len)
            .map(|_| {
                x ^= x >> 12;
                x ^= x << 25;
                x ^= x >> 27;
                (x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 56) as u8
            })
            .collect()
    }

    /// The interleave oracle over random insertions, every configuration selector (the fuzz
    /// target `fsed_interleave` runs the same function on nightly).
    /// The committed seeds of the `fsed_interleave` fuzz target.
    #[test]
    fn interleave_oracle_on_fuzz_seeds() {
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/fsed_interleave");
        let mut seen = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            fsed_interleave(&std::fs::read(entry.unwrap().path()).unwrap());
            seen += 1;
        }
        assert!(seen > 0);
    }

    #[test]
    fn interleave_oracle_on_random_inputs() {
        for seed in 0..144u64 {
            let mut input = bytes(seed, 1 + (seed as usize * 7) % 160);
            input[0] = seed as u8 % 48;
            fsed_interleave(&input);
        }
    }

    /// Targeted insertions: forged frame headers (0xFFFF_FFFF, next, previous counter), FS and
    /// FE with genuine and other numbers, byte flips of every genuine packet, past replays.
    #[test]
    fn interleave_oracle_on_forged_headers_and_flips() {
        for sel in 0..48u8 {
            let mut input = std::vec![sel];
            for pos in 0..=70u8 {
                // kind 1: header with another counter / FS / FE (sub-kind pos % 4).
                input.extend_from_slice(&[
                    pos,
                    1 | (pos % 4) << 3,
                    pos % 4,
                    pos % 3,
                    pos % 3,
                    0,
                    0,
                ]);
                // kind 0: byte flip of the packet two back, every checksum refreshed.
                input.extend_from_slice(&[pos, 0, pos.wrapping_sub(2), pos, 0, 0x10]);
            }
            fsed_interleave(&input);
        }
    }

    /// Re-header attack inside frame 1 (stream: 0 FS, 1 header, 2 embedded line, 3 top-block
    /// record): before the record, a replayed FS and frame header restart the frame, then a
    /// forged copy of the embedded line takes index 1. The record's counts then match the
    /// restarted scope; only its tag tells the forged line from the genuine one.
    #[test]
    fn interleave_oracle_on_reheader_then_forged_line() {
        for sel in 0..48u8 {
            let input = [
                sel, //
                3,
                1 | 2 << 3,
                0,
                0,
                0,
                0,
                0, // FS with frame number 1 (replay)
                3,
                3,
                1, // the frame header at position 1 (replay)
                3,
                0,
                2,
                5,
                0,
                0x40, // the embedded line, payload byte 1 flipped
            ];
            fsed_interleave(&input);
        }
    }
}
