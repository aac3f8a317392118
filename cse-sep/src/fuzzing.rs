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

// ---- interleave oracle ---------------------------------------------------------------------

/// One configuration of the interleave oracle.
struct Setup {
    config: FrameConfig,
    suite: CipherSuite,
    policy: Policy,
    per_message: bool,
    frames: u16,
}

/// Byte 0 of the interleave input: variant (SV-1 GCM, SV-1 CTR+CMAC, SV-2 GMAC, SV-2 CMAC,
/// SV-3 image, SV-4 image, SV-5 top over SV-1), tag mode, frame count, tag length.
fn interleave_setup(sel: u8) -> Setup {
    let variant = sel % 7;
    let mode =
        [TagMode::PerMessage, TagMode::PerDataType, TagMode::PerFrame][usize::from((sel / 7) % 3)];
    let frames = 3 + u16::from((sel / 21) % 2);
    let tag_len = if (sel / 42).is_multiple_of(2) {
        TagLen::L8
    } else {
        TagLen::L16
    };
    let (suite, top, image, bottom) = match variant {
        0 => (
            CipherSuite::Aes128Gcm,
            SecurityVariant::FullIntegrityEncrypted,
            None,
            None,
        ),
        1 => (
            CipherSuite::Aes256CtrCmac,
            SecurityVariant::FullIntegrityEncrypted,
            None,
            None,
        ),
        2 => (
            CipherSuite::Aes256Gmac,
            SecurityVariant::FullIntegrity,
            None,
            None,
        ),
        3 => (
            CipherSuite::Aes128Cmac,
            SecurityVariant::FullIntegrity,
            None,
            None,
        ),
        4 => (
            CipherSuite::Aes128Gmac,
            SecurityVariant::FullIntegrity,
            Some(SecurityVariant::LinePartialIntegrity {
                stride: 2,
                offset: 1,
            }),
            None,
        ),
        5 => (
            CipherSuite::Aes256Cmac,
            SecurityVariant::FullIntegrity,
            Some(SecurityVariant::BytePartialIntegrity { start: 2, len: 4 }),
            None,
        ),
        _ => (
            CipherSuite::Aes128CtrCmac,
            SecurityVariant::NoSecurity,
            Some(SecurityVariant::FullIntegrityEncrypted),
            Some(SecurityVariant::FullIntegrityEncrypted),
        ),
    };
    let block = |sv| BlockConfig {
        sv,
        suite,
        tag_len,
        tag_mode: mode,
    };
    let config = FrameConfig {
        top: block(top),
        image: block(image.unwrap_or(top)),
        bottom: block(bottom.unwrap_or(top)),
        key_id: KeyId::default(),
    };
    // SV-5 only where the configuration has it (the top block of variant 6); SV-3/SV-4 allowed
    // so the partial variants pass.
    let policy = Policy {
        min_top: if variant == 6 {
            SvLevel::Sv5
        } else {
            SvLevel::Sv4
        },
        min_image: SvLevel::Sv4,
        min_bottom: SvLevel::Sv4,
    };
    Setup {
        config,
        suite,
        policy,
        per_message: mode == TagMode::PerMessage,
        frames,
    }
}

/// What the genuine original at one (frame counter, message index) is, and which of its
/// payload bytes the tag covers (SV-3/SV-4 leave the others open by design).
struct Expected {
    original: Vec<u8>,
    covered: core::ops::Range<usize>,
    frame: usize,
}

impl Expected {
    /// Whether `got` equals the original on every authenticated byte: headers, length, the
    /// covered payload bytes (every byte under SV-1/SV-2).
    fn matches(&self, got: &[u8]) -> bool {
        let o = &self.original;
        if self.covered.start == 0 && self.covered.end + 6 == o.len() {
            return got == o.as_slice();
        }
        let r = 4 + self.covered.start..4 + self.covered.end;
        got.len() == o.len() && got.get(..4) == o.get(..4) && got.get(r.clone()) == o.get(r)
    }
}

/// The genuine stream of the interleave oracle.
struct GenuineStream {
    /// SEP packets in order.
    seps: Vec<Vec<u8>>,
    /// The frame (0-based) each SEP packet belongs to.
    frame_of: Vec<usize>,
    /// The original packet an SEP packet carries (close records carry none).
    original_of: Vec<Option<Vec<u8>>>,
    /// Frame counter of each frame.
    fcs: Vec<u32>,
}

fn interleave_genuine(setup: &Setup) -> GenuineStream {
    let vc = VirtualChannel::new(VC).unwrap();
    let mut tx = interleave_transmitter(setup);
    let mut g = GenuineStream {
        seps: Vec::new(),
        frame_of: Vec::new(),
        original_of: Vec::new(),
        fcs: Vec::new(),
    };
    for f in 0..setup.frames {
        g.fcs.push(tx.next_frame_counter());
        let x = f as u8;
        let mut buf = vec![0u8; 512];
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
            let mut out = vec![0u8; 512];
            let r = tx.protect(&p, &mut out).unwrap();
            let seps: Vec<Vec<u8>> = Packets::new(&out[..r.len], HeaderForm::Dphy)
                .map(|s| s.unwrap().raw.to_vec())
                .collect();
            let last = seps.len() - 1;
            for (i, s) in seps.into_iter().enumerate() {
                g.seps.push(s);
                g.frame_of.push(usize::from(f));
                g.original_of.push((i == last).then(|| p.clone()));
            }
        }
    }
    g
}

/// An SV-1 packet of an open scope, kept until a proof covers it.
struct Held {
    bytes: Vec<u8>,
    ticket: crate::DecryptTicket,
    scope: crate::ScopeId,
    index: u32,
    encrypted: bool,
    /// The genuine stream position it came from (None: an inserted packet).
    origin: Option<usize>,
}

/// What the oracle tracks over one run.
struct Run<'a> {
    setup: &'a Setup,
    g: &'a GenuineStream,
    expected: &'a std::collections::HashMap<(u32, u32), Expected>,
    /// Where the reference run released each genuine position's original.
    position: &'a [Option<(u32, u32)>],
    rx: Receiver,
    held: Vec<Held>,
    verified: Vec<bool>,
}

impl Run<'_> {
    fn expect(&self, fc: u32, index: u32, got: &[u8], what: &str) -> &Expected {
        let e = self
            .expected
            .get(&(fc, index))
            .unwrap_or_else(|| panic!("{what}: no genuine packet at frame {fc} index {index}"));
        assert!(
            e.matches(got),
            "{what}: released bytes differ from the genuine original"
        );
        e
    }

    /// Checks one delivery (safety) and records which genuine packet it released (liveness).
    /// Returns the genuine frame the delivery names, if any.
    fn deliver(&mut self, d: Delivery<'_>, origin: Option<usize>) -> Option<usize> {
        let mine = |run: &Self, fc: u32, index: u32| {
            origin.filter(|&j| run.position[j] == Some((fc, index)))
        };
        match d {
            Delivery::Verified(v) => {
                let i = v.info();
                let frame = self
                    .expect(i.frame_counter, i.message_index, v.packet(), "verified")
                    .frame;
                if let Some(j) = mine(self, i.frame_counter, i.message_index) {
                    self.verified[j] = true;
                }
                Some(frame)
            }
            Delivery::Unprotected(u) => {
                let i = u.info();
                assert!(
                    self.setup.config.block(i.block).sv == SecurityVariant::NoSecurity
                        && i.sv == SecurityVariant::NoSecurity,
                    "unprotected delivery outside an SV-5 block"
                );
                if let Some(j) = mine(self, i.frame_counter, i.message_index)
                    && self.g.original_of[j].as_deref() == Some(u.unauthenticated_packet())
                {
                    self.verified[j] = true;
                }
                self.g.fcs.iter().position(|&f| f == i.frame_counter)
            }
            Delivery::Unverified(u) => {
                self.held.push(Held {
                    bytes: u.unverified_packet().to_vec(),
                    ticket: u.decrypt_ticket(),
                    scope: u.scope(),
                    index: u.info().message_index,
                    encrypted: u.is_encrypted(),
                    origin,
                });
                self.g.fcs.iter().position(|&f| f == u.info().frame_counter)
            }
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
                    self.expect(fc, h.index, &b, "scope-verified");
                    if let Some(j) = h
                        .origin
                        .filter(|&j| self.position[j] == Some((fc, h.index)))
                    {
                        self.verified[j] = true;
                    }
                }
                self.g.fcs.iter().position(|&f| f == fc)
            }
        }
    }

    fn events(&mut self, now: u64) {
        while let Some(e) = self.rx.poll_event(now) {
            if let crate::Event::ScopeFailed(f) = e {
                self.held.retain(|h| h.scope != f.scope);
            }
        }
    }
}

fn new_receiver(setup: &Setup) -> Receiver {
    let vc = VirtualChannel::new(VC).unwrap();
    let mut rx = Receiver::new(Settings::new(vc), setup.policy, 1 << 20);
    rx.install_key(KeyId::default(), material(setup.suite))
        .unwrap();
    rx
}

/// Recomputes what an attacker can: the header ECC, the SEP CRC-32 and the CSI-2 CRC-16.
fn refresh(p: &mut [u8], flags: u8) {
    let n = p.len();
    if flags & 1 != 0
        && let Some(h) = p.first_chunk_mut::<4>()
    {
        HeaderForm::Dphy.fill(h);
    }
    if n >= 4 + 4 + 2 {
        if flags & 2 != 0 {
            let crc = crate::wire::crc32(&Profile::DRAFT_1, &p[4..n - 6]);
            p[n - 6..n - 2].copy_from_slice(&crc.to_le_bytes());
        }
        if flags & 4 != 0 {
            let c16 = cse_core::csi2::payload_crc(&p[4..n - 2]);
            p[n - 2..].copy_from_slice(&c16.to_le_bytes());
        }
    }
}

/// The packet as the receiver reads it: a single-bit header error corrected, the outer virtual
/// channel ignored.
fn canonical(p: &[u8]) -> Vec<u8> {
    let mut p = p.to_vec();
    if let Some(h) = p.first_chunk_mut::<4>() {
        let _ = HeaderForm::Dphy.correct(h);
        // The outer virtual channel (VC bits and the VCX bits beside the ECC) is neither
        // authenticated nor checked: a packet that differs only there is the genuine one.
        h[0] &= 0x3F;
        h[3] = 0;
    }
    p
}

/// Parses the insertions: `(position, kind, ...)` records. Returns, per position of the
/// genuine stream (and one past its end), the packets to send before the genuine one.
fn interleave_insertions(mut ops: &[u8], g: &GenuineStream) -> Vec<Vec<Vec<u8>>> {
    let n = g.seps.len();
    let mut at: Vec<Vec<Vec<u8>>> = vec![Vec::new(); n + 1];
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
                let mut p = g.seps[usize::from(a[0]) % n].clone();
                let i = usize::from(u16::from_le_bytes([a[1], a[2]])) % p.len();
                p[i] ^= a[3].max(1);
                refresh(&mut p, !(h[1] >> 3) & 7);
                p
            }
            // The FS of a genuine frame with another frame counter.
            1 => {
                let Some(a) = take(5) else { break };
                let f = usize::from(a[0]) % g.fcs.len();
                let j = g.frame_of.iter().position(|&x| x == f).unwrap();
                let mut p = g.seps[j].clone();
                let fc = g.fcs[f];
                let forged = match h[1] >> 3 & 3 {
                    0 => u32::MAX,
                    1 => fc.wrapping_add(1),
                    2 => fc.wrapping_sub(1),
                    _ => u32::from_le_bytes([a[1], a[2], a[3], a[4]]),
                };
                // Packet offset 4 (CSI-2 header) + 12 (SEP header): the frame counter.
                p[16..20].copy_from_slice(&forged.to_le_bytes());
                refresh(&mut p, 7);
                p
            }
            // A truncated genuine packet.
            2 => {
                let Some(a) = take(2) else { break };
                let p = &g.seps[usize::from(a[0]) % n];
                p[..usize::from(a[1]) % p.len()].to_vec()
            }
            // A genuine packet as it is (a replay when it was sent already).
            3 => {
                let Some(a) = take(1) else { break };
                g.seps[usize::from(a[0]) % n].clone()
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
        if g.seps[pos..].iter().any(|q| canonical(q) == same) {
            continue;
        }
        at[pos].push(pkt);
    }
    at
}

/// Interleave oracle. Byte 0 picks the configuration (`interleave_setup`); the genuine
/// stream is 3-4 small frames from the transmitter. The rest of the input is a list of forged
/// packets to insert, each before a position of the genuine stream: a genuine packet with one
/// byte XORed (ECC, CRC-32 and CRC-16 refreshed as an attacker would), a genuine FS with
/// another frame counter (0xFFFF_FFFF, next, previous or arbitrary), a truncated genuine
/// packet, a genuine packet as it is, or raw bytes. A copy of a genuine packet not sent yet is skipped (reordering is not
/// this oracle's attack); replays of packets already sent stay.
///
/// Safety: no panic; every packet released Verified, or covered by a ScopeVerified proof (SV-1:
/// decrypted with [`Receiver::decrypt`]), equals the genuine original at its frame counter and
/// message index on every authenticated byte; nothing comes out Unprotected outside the SV-5
/// block.
///
/// Liveness: a frame is affected when an inserted packet was accepted (`Ok`) while it was in
/// progress or when the accepted packet names it. Under per-message tags nothing inserted may
/// be accepted (except an SV-5 packet, or one whose released bytes equal the genuine original
/// on every authenticated byte, which then affects its frame). Every genuine packet of every
/// unaffected frame must be released verified.
///
/// Batches: the attacked stream is then fed again, to a receiver packet by packet and to
/// another through [`Receiver::receive_batch`], and the genuine originals to two transmitters
/// (`protect` against [`Transmitter::protect_batch`]), with batch sizes taken from the input:
/// results, output bytes, events and statistics must be identical
/// ([`receiver_batch_matches_single`], [`transmitter_batch_matches_single`]).
pub fn sep_interleave(data: &[u8]) {
    let Some((&sel, ops)) = data.split_first() else {
        return;
    };
    let setup = interleave_setup(sel);
    let g = interleave_genuine(&setup);
    let n = g.seps.len();

    // Reference run: the genuine stream alone verifies completely; it fixes where each
    // original is released (frame counter, message index) and what it covers.
    let mut expected = std::collections::HashMap::new();
    let mut position = vec![None; n];
    {
        let mut rx = new_receiver(&setup);
        let mut trackers = cse_core::agent::BlockTracker::new();
        for (j, p) in g.seps.iter().enumerate() {
            let mut out = vec![0u8; p.len() + 8];
            let d = rx
                .receive(p, j as u64, &mut out)
                .expect("genuine packet rejected");
            let info = match &d {
                Delivery::Verified(v) => Some(*v.info()),
                Delivery::Unverified(u) => Some(*u.info()),
                Delivery::Unprotected(u) => Some(*u.info()),
                _ => None,
            };
            assert_eq!(info.is_some(), g.original_of[j].is_some());
            if let (Some(i), Some(o)) = (info, &g.original_of[j]) {
                if i.data_type == DataType::FS {
                    trackers = cse_core::agent::BlockTracker::new();
                }
                let covered = if i.data_type.is_long() {
                    let b = trackers.classify(i.data_type).unwrap();
                    let line = trackers.advance(b, true);
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
                    frame: g.frame_of[j],
                };
                assert!(expected.insert(key, e).is_none());
            }
        }
    }
    let mut run = Run {
        setup: &setup,
        g: &g,
        expected: &expected,
        position: &position,
        rx: new_receiver(&setup),
        held: Vec::new(),
        verified: vec![false; n],
    };
    // The reference run itself must release everything verified.
    for (j, p) in g.seps.iter().enumerate() {
        let mut out = vec![0u8; p.len() + 8];
        let d = run.rx.receive(p, j as u64, &mut out).unwrap();
        run.deliver(d, Some(j));
        run.events(j as u64);
    }
    for (j, pos) in position.iter().enumerate() {
        assert_eq!(run.verified[j], pos.is_some(), "reference run at {j}");
    }

    let inserted = interleave_insertions(ops, &g);
    run.rx = new_receiver(&setup);
    run.held.clear();
    run.verified = vec![false; n];
    let mut affected = vec![false; setup.frames.into()];
    let mut now = 0u64;
    for (pos, forged) in inserted.iter().enumerate() {
        for p in forged {
            now += 1;
            let mut out = vec![0u8; p.len() + 8];
            let r = run.rx.receive(p, now, &mut out);
            let Ok(d) = r else {
                drop(r);
                assert!(
                    out[..p.len()].iter().all(|&b| b == 0),
                    "out not wiped on error"
                );
                run.events(now);
                continue;
            };
            {
                let kind = match &d {
                    Delivery::Verified(_) => 0,
                    Delivery::Unprotected(_) => 1,
                    _ => 2,
                };
                let named = run.deliver(d, None);
                // Under per-message tags only SV-5 packets and forgeries of unauthenticated
                // bytes (released equal to the original on every authenticated byte) pass.
                assert!(
                    !setup.per_message || kind != 2,
                    "inserted packet accepted under per-message tags"
                );
                // An SV-5 packet cannot disturb the authenticated packets of a per-message
                // stream: there the frame stays held to full liveness.
                if !(setup.per_message && kind == 1) {
                    affected[g.frame_of[pos.saturating_sub(1).min(n - 1)]] = true;
                    if let Some(f) = named {
                        affected[f] = true;
                    }
                }
            }
            run.events(now);
        }
        if let Some(p) = g.seps.get(pos) {
            now += 1;
            let mut out = vec![0u8; p.len() + 8];
            if let Ok(d) = run.rx.receive(p, now, &mut out) {
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

    // The batch paths against the single ones: the attacked stream through the receiver, the
    // originals through the transmitter, in batches whose sizes come from the input.
    let stream: Vec<Vec<u8>> = inserted
        .iter()
        .enumerate()
        .flat_map(|(pos, forged)| forged.iter().chain(g.seps.get(pos)).cloned())
        .collect();
    receiver_batch_matches_single(new_receiver(&setup), new_receiver(&setup), &stream, ops);
    let originals: Vec<Vec<u8>> = g.original_of.iter().flatten().cloned().collect();
    transmitter_batch_matches_single(
        interleave_transmitter(&setup),
        interleave_transmitter(&setup),
        &originals,
        ops,
    );
}

fn interleave_transmitter(setup: &Setup) -> Transmitter {
    let vc = VirtualChannel::new(VC).unwrap();
    let mut tx = Transmitter::new(Settings::new(vc), 5);
    tx.install_key(KeyId::default(), material(setup.suite))
        .unwrap();
    tx.set_config(setup.config).unwrap();
    tx
}

// ---- batch differential oracle -------------------------------------------------------------

/// Batch sizes from `sizes` (each 1..=`BATCH_LINES` + 3, so chunks are split too), cycled.
fn batches(n: usize, sizes: &[u8]) -> Vec<core::ops::Range<usize>> {
    let mut v = Vec::new();
    let mut at = 0;
    let mut k = 0;
    while at < n {
        let len = sizes
            .get(k % sizes.len().max(1))
            .map_or(5, |&b| 1 + usize::from(b) % (crate::BATCH_LINES + 3));
        let end = (at + len).min(n);
        v.push(at..end);
        at = end;
        k += 1;
    }
    v
}

/// One receive result, without the receiver identity (which differs between receivers).
fn summary(r: &Result<Delivery<'_>, crate::SepError>) -> std::string::String {
    use std::format;
    match r {
        Ok(Delivery::Verified(v)) => format!("V {:?} {:?}", v.info(), v.packet()),
        Ok(Delivery::Unverified(u)) => format!(
            "U {:?} {:?} {:?} {}",
            u.info(),
            u.unverified_packet(),
            u.scope(),
            u.is_encrypted()
        ),
        Ok(Delivery::Unprotected(u)) => {
            format!("P {:?} {:?}", u.info(), u.unauthenticated_packet())
        }
        Ok(Delivery::ScopeVerified(p)) => {
            format!("S {:?} {:?} {}", p.scope(), p.indices(), p.packets())
        }
        Err(e) => format!("E {e:?}"),
    }
}

/// Batch differential oracle of the receiver: `stream` fed to one receiver packet by packet
/// and to another through [`Receiver::receive_batch`] in batches of `sizes` (same `now` per
/// batch) must give the same result and output bytes per packet, and the same events and
/// statistics after every batch.
pub fn receiver_batch_matches_single(
    mut single: Receiver,
    mut batch: Receiver,
    stream: &[Vec<u8>],
    sizes: &[u8],
) {
    for (now, range) in batches(stream.len(), sizes).into_iter().enumerate() {
        let now = now as u64;
        let pkts = &stream[range];
        let mut want = Vec::new();
        for p in pkts {
            let mut out = vec![0xAAu8; p.len() + 8];
            let r = single.receive(p, now, &mut out);
            let line = summary(&r);
            drop(r);
            want.push((line, out));
        }
        let mut bufs: Vec<Vec<u8>> = pkts.iter().map(|p| vec![0xAAu8; p.len() + 8]).collect();
        let mut got = vec![std::string::String::new(); pkts.len()];
        let mut order = Vec::new();
        {
            let mut outs: Vec<&mut [u8]> = bufs.iter_mut().map(Vec::as_mut_slice).collect();
            let refs: Vec<&[u8]> = pkts.iter().map(Vec::as_slice).collect();
            batch
                .receive_batch(&refs, now, &mut outs, |i, r| {
                    order.push(i);
                    got[i] = summary(&r);
                })
                .unwrap();
        }
        assert_eq!(
            order,
            (0..pkts.len()).collect::<Vec<_>>(),
            "results in order"
        );
        for (i, ((line, out), (g, b))) in want.iter().zip(got.iter().zip(&bufs)).enumerate() {
            assert_eq!(line, g, "result of packet {i} at batch {now}");
            assert_eq!(out, b, "output of packet {i} at batch {now}");
        }
        assert_eq!(single.security_stats(), batch.security_stats());
        assert_eq!(single.fusa_stats(), batch.fusa_stats());
        assert_eq!(single.protocol_stats(), batch.protocol_stats());
        loop {
            let (a, b) = (single.poll_event(now), batch.poll_event(now));
            assert_eq!(a, b, "events at batch {now}");
            if a.is_none() {
                break;
            }
        }
    }
}

/// Batch differential oracle of the transmitter: `originals` protected one by one and through
/// [`Transmitter::protect_batch`] in batches of `sizes` give the same results and bytes.
pub fn transmitter_batch_matches_single(
    mut single: Transmitter,
    mut batch: Transmitter,
    originals: &[Vec<u8>],
    sizes: &[u8],
) {
    for range in batches(originals.len(), sizes) {
        let pkts = &originals[range];
        let want: Vec<_> = pkts
            .iter()
            .map(|p| {
                let mut out = vec![0x55u8; p.len() + 300];
                let r = single.protect(p, &mut out);
                (r, out)
            })
            .collect();
        let mut bufs: Vec<Vec<u8>> = pkts.iter().map(|p| vec![0x55u8; p.len() + 300]).collect();
        let mut got = vec![None; pkts.len()];
        {
            let mut outs: Vec<&mut [u8]> = bufs.iter_mut().map(Vec::as_mut_slice).collect();
            let refs: Vec<&[u8]> = pkts.iter().map(Vec::as_slice).collect();
            batch
                .protect_batch(&refs, &mut outs, |i, r| {
                    assert!(got[i].is_none());
                    got[i] = Some(r);
                })
                .unwrap();
        }
        for (i, ((r, out), (g, b))) in want.iter().zip(got.iter().zip(&bufs)).enumerate() {
            assert_eq!(Some(*r), *g, "result of packet {i}");
            assert_eq!(out, b, "output of packet {i}");
        }
        assert_eq!(single.next_frame_counter(), batch.next_frame_counter());
        assert_eq!(single.in_frame(), batch.in_frame());
    }
}

#[cfg(test)]
mod tests {
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
    /// target `sep_interleave` runs the same function on nightly).
    /// The committed seeds of the `sep_interleave` fuzz target.
    #[test]
    fn interleave_oracle_on_fuzz_seeds() {
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/sep_interleave");
        let mut seen = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            sep_interleave(&std::fs::read(entry.unwrap().path()).unwrap());
            seen += 1;
        }
        assert!(seen > 0);
    }

    #[test]
    fn interleave_oracle_on_random_inputs() {
        for seed in 0..168u64 {
            let mut input = bytes(seed, 1 + (seed as usize * 7) % 160);
            input[0] = seed as u8 % 84;
            sep_interleave(&input);
        }
    }

    /// Targeted insertions: forged FS counters (0xFFFF_FFFF, next, previous) before every
    /// position, a byte flip of every genuine packet, past replays.
    #[test]
    fn interleave_oracle_on_forged_frame_starts_and_flips() {
        for sel in 0..84u8 {
            let mut input = vec![sel];
            for pos in 0..=60u8 {
                // kind 1 (forged FS), counter choice pos % 3, frame pos % 4.
                input.extend_from_slice(&[pos, 1 | (pos % 3) << 3, pos % 4, 1, 2, 3, 4]);
                // kind 0 (byte flip, every checksum refreshed) of the packet two back.
                input.extend_from_slice(&[pos, 0, pos.wrapping_sub(2), pos, 0, 0x10]);
                // kind 0 with an XOR in the outer header only (ECC refreshed): a replay of
                // the previous packet under another data identifier.
                input.extend_from_slice(&[pos, 0, pos.wrapping_sub(1), 2, 0, 0]);
            }
            sep_interleave(&input);
        }
    }
}
