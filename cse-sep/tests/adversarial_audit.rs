//! Independent adversarial audit of the public receiver API (written from the rustdoc,
//! `README.md` and `docs/security.md` only). It goes after what `adversarial.rs` and
//! `tamper.rs` leave out: every single byte of every packet flipped with and without the CRCs
//! recomputed, outer headers with absurd word counts (ECC recomputed), every truncation,
//! `out` buffers that are empty or one byte short, packets spliced from another virtual
//! channel or the other direction under the same key, header downgrades (shorter tag, tag
//! mode, phase, encryption flag), batches that mix all of it, `Debug` output of every type that
//! holds a key, and `Clone`.
//!
//! Every attack runs on a receiver that sits next to a reference receiver fed only the genuine
//! stream: afterwards both must have released and reported the same things, keep the same
//! non-rejection statistics and answer the same probes.
#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use common::*;
use cse_core::csi2::{DataType, HeaderForm, Packet, payload_crc};
use cse_core::keys::{Salt, SecretKey};
use cse_core::{CipherSuite, Direction, KeyId, Policy, SecurityVariant, SvLevel, TagLen, TagMode};
use cse_sep::wire::{self, Phase};
use cse_sep::{
    DecryptTicket, Delivery, KeyMaterial, Receiver, ScopeId, SepError, Settings, Transmitter,
};

const TIMEOUT: u64 = 1_000_000;

/// Original packets of one `TINY` frame (FS, 1 top, 3 pixel lines with LS/LE, 1 bottom, FE).
fn tiny_originals() -> usize {
    frame(&TINY, 0, 0).len()
}

/// Per-message configurations in which every byte of every packet is covered.
fn full_cover_cases() -> Vec<Case> {
    use CipherSuite::*;
    use SecurityVariant::*;
    vec![
        case(
            FullIntegrityEncrypted,
            Aes256Gcm,
            TagLen::L16,
            TagMode::PerMessage,
        ),
        case(FullIntegrity, Aes128Cmac, TagLen::L8, TagMode::PerMessage),
        case(
            FullIntegrityEncrypted,
            Aes128CtrCmac,
            TagLen::L12,
            TagMode::PerMessage,
        ),
        case(FullIntegrity, Aes256Gmac, TagLen::L12, TagMode::PerMessage),
    ]
}

fn scope_cases() -> Vec<Case> {
    use CipherSuite::*;
    use SecurityVariant::*;
    vec![
        case(
            FullIntegrityEncrypted,
            Aes128Gcm,
            TagLen::L16,
            TagMode::PerFrame,
        ),
        case(FullIntegrity, Aes256Cmac, TagLen::L8, TagMode::PerDataType),
        case(
            FullIntegrityEncrypted,
            Aes256CtrCmac,
            TagLen::L16,
            TagMode::PerDataType,
        ),
    ]
}

fn receiver(c: &Case) -> Receiver {
    let mut rx = Receiver::new(settings(), Policy::PERMISSIVE, TIMEOUT);
    rx.install_key(KeyId::default(), material(c.suite, 0x42))
        .unwrap();
    rx
}

fn transmitter(c: &Case, s: Settings, first: u32) -> Transmitter {
    let mut tx = Transmitter::new(s, first);
    tx.install_key(KeyId::default(), material(c.suite, 0x42))
        .unwrap();
    tx.set_config(c.cfg).unwrap();
    tx
}

/// `frames` genuine frames from `s`, as SEP packets per frame, and the originals.
fn stream_with(c: &Case, s: Settings, frames: u16) -> (Vec<Vec<Vec<u8>>>, Vec<Vec<u8>>) {
    let mut tx = transmitter(c, s, 7);
    let mut seps = Vec::new();
    let mut originals = Vec::new();
    for f in 0..frames {
        let mut o = frame(&TINY, f, f as u8 ^ 0x3C);
        if s.vc != vc() {
            // The same frame on another virtual channel.
            o = o.iter().map(|p| revc(p, s.vc.get())).collect();
        }
        seps.push(protect_all(&mut tx, &o));
        originals.extend(o);
    }
    (seps, originals)
}

fn stream(c: &Case, frames: u16) -> (Vec<Vec<Vec<u8>>>, Vec<Vec<u8>>) {
    stream_with(c, settings(), frames)
}

// ---- what a keyless attacker computes ---------------------------------------------------------

/// A copy of an original CSI-2 packet moved to virtual channel `v` (ECC recomputed).
fn revc(p: &[u8], v: u8) -> Vec<u8> {
    let mut q = p.to_vec();
    let mut pk = Packet::new_unchecked(&mut q[..]);
    pk.set_vc(cse_core::csi2::VirtualChannel::new(v).unwrap());
    pk.fill_ecc(HeaderForm::Dphy);
    q
}

/// Recomputes the SEP CRC-32 and the outer CRC-16.
fn fix_crcs(sep: &mut [u8]) {
    let n = sep.len();
    let m = n - 6;
    let crc = wire::crc32(&P, &sep[4..4 + m - 4]);
    sep[4 + m - 4..4 + m].copy_from_slice(&crc.to_le_bytes());
    fix_crc16(sep);
}

fn fix_crc16(sep: &mut [u8]) {
    let n = sep.len();
    let c16 = payload_crc(&sep[4..n - 2]);
    sep[n - 2..].copy_from_slice(&c16.to_le_bytes());
}

fn parse(sep: &[u8]) -> (wire::Header, Option<wire::FrameExt>, Vec<u8>, Vec<u8>) {
    let p = wire::Packet::new_checked(&sep[4..sep.len() - 2], &P).unwrap();
    let r = wire::Repr::parse(&p, &P).unwrap();
    (r.header, r.ext, p.body().to_vec(), p.tag().to_vec())
}

// ---- two receivers side by side -----------------------------------------------------------------

/// A receiver and a receiver-independent record of everything it released and reported.
struct Side {
    rx: Receiver,
    held: Vec<Held>,
    trace: Vec<String>,
    /// Released originals with (frame counter, message index).
    released: Vec<(u32, u32, Vec<u8>)>,
}

impl Side {
    fn new(rx: Receiver) -> Self {
        Side {
            rx,
            held: Vec::new(),
            trace: Vec::new(),
            released: Vec::new(),
        }
    }

    /// Records the outcome of one packet (genuine or probe).
    fn record(&mut self, r: Result<Delivery<'_>, SepError>) {
        match r {
            Ok(Delivery::Verified(v)) => {
                self.trace
                    .push(format!("V {:?} {:?}", v.info(), v.packet()));
                let i = v.info();
                self.released
                    .push((i.frame_counter, i.message_index, v.packet().to_vec()));
            }
            Ok(Delivery::Unprotected(u)) => {
                self.trace
                    .push(format!("P {:?} {:?}", u.info(), u.unauthenticated_packet()));
                let i = u.info();
                self.released.push((
                    i.frame_counter,
                    i.message_index,
                    u.unauthenticated_packet().to_vec(),
                ));
            }
            Ok(Delivery::Unverified(u)) => {
                self.trace.push(format!(
                    "U {:?} {:?} {:?}",
                    u.info(),
                    u.scope(),
                    u.unverified_packet()
                ));
                self.held.push((
                    u.unverified_packet().to_vec(),
                    u.decrypt_ticket(),
                    u.is_encrypted(),
                    u.scope(),
                    u.info().frame_counter,
                    u.info().message_index,
                ));
            }
            Ok(Delivery::ScopeVerified(proof)) => {
                self.trace
                    .push(format!("S {:?} {:?}", proof.scope(), proof.indices()));
                let mut keep = Vec::new();
                for (mut b, ticket, enc, scope, fc, idx) in self.held.drain(..) {
                    if scope == proof.scope() && proof.indices().contains(&idx) {
                        if enc {
                            self.rx.decrypt(&proof, &ticket, &mut b).unwrap();
                        }
                        self.released.push((fc, idx, b));
                    } else {
                        keep.push((b, ticket, enc, scope, fc, idx));
                    }
                }
                self.held = keep;
            }
            Ok(other) => panic!("unknown delivery {other:?}"),
            Err(e) => self.trace.push(format!("E {e:?}")),
        }
    }

    fn genuine(&mut self, p: &[u8], t: u64) {
        let mut out = vec![0u8; p.len() + 16];
        let r = self.rx.receive(p, t, &mut out);
        if let Err(e) = &r {
            panic!("genuine packet rejected at t={t}: {e:?}");
        }
        self.record(r);
        self.drain(t);
    }

    fn drain(&mut self, t: u64) {
        while let Some(e) = self.rx.poll_event(t) {
            if let cse_sep::Event::ScopeFailed(f) = e {
                self.held.retain(|h| h.3 != f.scope);
            }
            self.trace.push(format!("event {e:?}"));
        }
    }

    /// A forged packet: must be rejected, leave `out[..len]` zeroed and queue no event.
    fn attack(&mut self, p: &[u8], t: u64, what: &str) -> SepError {
        let mut out = vec![0xA5u8; p.len() + 64];
        let e = match self.rx.receive(p, t, &mut out) {
            Err(e) => e,
            Ok(d) => panic!("{what}: forged packet accepted: {d:?}"),
        };
        assert!(
            out[..p.len()].iter().all(|b| *b == 0),
            "{what}: out not wiped after {e:?}"
        );
        assert_eq!(self.rx.poll_event(t), None, "{what}: event after {e:?}");
        e
    }
}

/// The reference receiver fed `frames` only.
fn reference(c: &Case, frames: &[Vec<Vec<u8>>]) -> Side {
    let mut s = Side::new(receiver(c));
    let mut t = 0;
    for p in frames.iter().flatten() {
        t += 1;
        s.genuine(p, t);
    }
    s
}

/// The attacked receiver must equal the reference in everything observable: trace, released
/// bytes, non-rejection statistics, and the answers to the same probes afterwards (a replay of
/// every packet of the last frame, then a fresh genuine frame, then key-slot probes).
fn assert_twins(what: &str, c: &Case, got: &mut Side, want: &mut Side, originals: &[Vec<u8>]) {
    assert_eq!(got.trace, want.trace, "{what}: trace differs");
    let mut rel = got.released.clone();
    rel.sort_by_key(|(f, i, _)| (*f, *i));
    let rel: Vec<Vec<u8>> = rel.into_iter().map(|r| r.2).collect();
    assert!(rel == originals, "{what}: released packets differ");
    assert!(got.held.is_empty(), "{what}: packets left unverified");
    let (g, w) = (*got.rx.fusa_stats(), *want.rx.fusa_stats());
    assert_eq!(
        (
            g.frames_lost,
            g.frames_duplicated,
            g.frames_reordered,
            g.messages_lost,
            g.messages_out_of_order,
            g.timeouts
        ),
        (
            w.frames_lost,
            w.frames_duplicated,
            w.frames_reordered,
            w.messages_lost,
            w.messages_out_of_order,
            w.timeouts
        ),
        "{what}: FuSa findings moved"
    );
    assert_eq!(
        got.rx.security_stats().needs_rekey,
        want.rx.security_stats().needs_rekey,
        "{what}"
    );
    let (gp, wp) = (got.rx.protocol_stats(), want.rx.protocol_stats());
    assert_eq!(
        (gp.verified, gp.unverified, gp.scopes_verified),
        (wp.verified, wp.unverified, wp.scopes_verified),
        "{what}: protocol counters moved"
    );
    // Probes: the same continuation must give the same answers on both.
    let (more, _) = stream_from_after(c, originals);
    for side in [&mut *got, &mut *want] {
        side.trace.clear();
        side.released.clear();
        let mut t = 10_000;
        for p in more.iter().flatten() {
            t += 1;
            let mut out = vec![0u8; p.len() + 16];
            let r = side.rx.receive(p, t, &mut out);
            side.record(r);
            side.drain(t);
        }
        for id in 0..4 {
            let r = side
                .rx
                .install_key(KeyId::new(id).unwrap(), material(c.suite, 0x99));
            side.trace.push(format!("install {id}: {r:?}"));
        }
    }
    assert_eq!(got.trace, want.trace, "{what}: probes answer differently");
    // The probes are not vacuous: the two fresh frames verified on both.
    assert!(
        want.released.len() >= 2 * tiny_originals(),
        "{what}: fresh frames did not verify"
    );
}

/// A replay of the last two genuine frames followed by two fresh frames (counter after them).
fn stream_from_after(c: &Case, originals: &[Vec<u8>]) -> (Vec<Vec<Vec<u8>>>, Vec<Vec<u8>>) {
    let frames_sent = originals
        .iter()
        .filter(|p| DataType(p[0] & 0x3F) == DataType::FS)
        .count() as u32;
    let mut tx = transmitter(c, settings(), 7);
    let mut seps = Vec::new();
    let mut orig = Vec::new();
    for f in 0..frames_sent + 2 {
        let o = frame(&TINY, f as u16, f as u8 ^ 0x3C);
        let s = protect_all(&mut tx, &o);
        if f + 2 >= frames_sent {
            seps.push(s);
            orig.extend(o);
        }
    }
    (seps, orig)
}

/// Runs the genuine stream on an attacked receiver with `inject(frame, packet)` packets sent
/// before genuine packet `packet` of `frame` (each must be rejected), then checks it against
/// the reference.
fn attacked(
    what: &str,
    c: &Case,
    frames: &[Vec<Vec<u8>>],
    originals: &[Vec<u8>],
    inject: &dyn Fn(usize, usize) -> Vec<(String, Vec<u8>)>,
) -> usize {
    let mut want = reference(c, frames);
    let mut got = Side::new(receiver(c));
    let mut t = 0;
    let mut n = 0;
    for (fi, f) in frames.iter().enumerate() {
        for pi in 0..=f.len() {
            for (w, junk) in inject(fi, pi) {
                got.attack(
                    &junk,
                    t,
                    &format!("{what} {c:?} frame {fi} packet {pi}: {w}"),
                );
                n += 1;
            }
            if let Some(p) = f.get(pi) {
                t += 1;
                got.genuine(p, t);
            }
        }
    }
    assert_twins(&format!("{what} {c:?}"), c, &mut got, &mut want, originals);
    n
}

// ---- 1. every byte of every packet ----------------------------------------------------------------

/// Every byte of the SEP payload of every packet flipped, (a) as is (the CRC-16 catches it),
/// (b) with the CRC-32 and CRC-16 recomputed (the tag or a header rule catches it); a byte of
/// the CRC-32 field itself is flipped with the CRC-16 recomputed. Under per-message SV-1/SV-2
/// every byte is covered, so every one of them must be rejected and change nothing.
#[test]
fn every_byte_of_every_packet_flipped_is_rejected_and_changes_nothing() {
    for c in full_cover_cases() {
        let (frames, originals) = stream(&c, 2);
        let n = attacked("byte flip", &c, &frames, &originals, &|fi, pi| {
            let Some(p) = frames[fi].get(pi) else {
                return Vec::new();
            };
            let n = p.len();
            let mut v = Vec::new();
            for at in 4..n - 2 {
                for mask in [0x01u8, 0x80, 0xFF] {
                    let mut raw = p.clone();
                    raw[at] ^= mask;
                    v.push((format!("byte {at} ^ {mask:#x}, CRCs as sent"), raw.clone()));
                    if at < n - 6 {
                        fix_crcs(&mut raw);
                    } else {
                        fix_crc16(&mut raw);
                    }
                    v.push((format!("byte {at} ^ {mask:#x}, CRCs fixed"), raw));
                }
            }
            v
        });
        assert!(n > 1000, "{c:?}: only {n} attacks");
    }
}

/// The outer CSI-2 header rewritten by an attacker who recomputes the ECC: word counts 0, one
/// short, one long, 0xFFFF; the data type changed to a short packet, to RAW12 and to a reserved
/// code; and every truncation of every packet.
#[test]
fn absurd_word_counts_data_types_and_every_truncation_are_rejected() {
    for c in full_cover_cases().into_iter().chain(scope_cases()) {
        let (frames, originals) = stream(&c, 2);
        attacked("outer header", &c, &frames, &originals, &|fi, pi| {
            let Some(p) = frames[fi].get(pi) else {
                return Vec::new();
            };
            let wc = u16::from_le_bytes([p[1], p[2]]);
            let mut v = Vec::new();
            for w in [0u16, 1, wc - 1, wc + 1, wc.wrapping_add(2), 0xFFFF] {
                let mut q = p.clone();
                let mut pk = Packet::new_unchecked(&mut q[..]);
                pk.set_word_count(w);
                pk.fill_ecc(HeaderForm::Dphy);
                v.push((format!("wc {w}"), q));
            }
            for dt in [
                DataType::FS,
                DataType::LE,
                DataType::RAW12,
                DataType::EMBEDDED,
                DataType(0x3F),
            ] {
                let mut q = p.clone();
                let mut pk = Packet::new_unchecked(&mut q[..]);
                pk.set_data_type(dt);
                pk.fill_ecc(HeaderForm::Dphy);
                v.push((format!("dt {dt:?}"), q));
            }
            for len in 0..p.len() {
                v.push((format!("first {len} bytes"), p[..len].to_vec()));
            }
            // Truncated SEP payloads re-wrapped with correct outer framing.
            for cut in [1usize, 2, 4, 6, 12, 16] {
                let payload = &p[4..p.len() - 2];
                if cut < payload.len() {
                    v.push((
                        format!("payload minus {cut}, outer CRC fixed"),
                        wrap(&payload[..payload.len() - cut]),
                    ));
                }
            }
            // An empty SEP long packet and one of a single byte.
            v.push(("empty SEP".into(), wrap(&[])));
            v.push(("one-byte SEP".into(), wrap(&[1])));
            v
        });
    }
}

// ---- 2. out buffers -------------------------------------------------------------------------------

/// Every genuine packet first arrives with an empty `out` and with an `out` one byte shorter
/// than the original packet it carries: refused, `out` all zero, and the receiver as if it had
/// not arrived (the same packet then verifies with a proper buffer).
#[test]
fn short_out_buffers_refuse_wipe_and_leave_the_packet_receivable() {
    for c in full_cover_cases().into_iter().chain(scope_cases()) {
        let (frames, originals) = stream(&c, 2);
        let mut want = reference(&c, &frames);
        let mut got = Side::new(receiver(&c));
        let mut t = 0;
        // The original packet each SEP packet carries, in order (close records carry none).
        let mut orig = originals.iter();
        for p in frames.iter().flatten() {
            t += 1;
            let (h, _, _, _) = parse(p);
            if h.phase != Phase::Close {
                let o = orig.next().unwrap();
                for len in [0usize, o.len() - 1] {
                    let mut out = vec![0xC7u8; len];
                    let r = got.rx.receive(p, t, &mut out);
                    assert!(
                        r.is_err(),
                        "{c:?}: a {}-byte original accepted into {len} bytes: {r:?}",
                        o.len()
                    );
                    assert!(out.iter().all(|b| *b == 0), "{c:?}: short out not wiped");
                    assert_eq!(got.rx.poll_event(t), None);
                }
            }
            got.genuine(p, t);
        }
        assert_twins(
            &format!("short out {c:?}"),
            &c,
            &mut got,
            &mut want,
            &originals,
        );
    }
}

// ---- 3. splicing from another stream under the same key ----------------------------------------------

/// The same key material serving another virtual channel (as a careless integrator might do) or
/// the other direction: none of those packets is accepted by this stream's receiver, at the
/// position of its twin or anywhere else.
#[test]
fn packets_of_another_vc_or_direction_under_the_same_key_are_rejected() {
    for c in full_cover_cases().into_iter().chain(scope_cases()) {
        let (frames, originals) = stream(&c, 2);
        let mut other_vc = settings();
        other_vc.vc = cse_core::csi2::VirtualChannel::new(2).unwrap();
        other_vc.outer_vc = vc();
        let (vc_frames, _) = stream_with(&c, other_vc, 2);
        let mut reverse = settings();
        reverse.direction = Direction::ControllerToSensor;
        let (rev_frames, _) = stream_with(&c, reverse, 2);
        attacked("splice", &c, &frames, &originals, &|fi, pi| {
            let mut v = Vec::new();
            if let Some(q) = vc_frames[fi].get(pi) {
                v.push(("same position, VC 2".to_string(), q.clone()));
            }
            // The other direction's packets carry the same header; only the tag tells them
            // apart, so only tagged ones can be refused on arrival (a member is caught at its
            // close record, see `adversarial.rs`).
            if let Some(q) = rev_frames[fi].get(pi)
                && !parse(q).3.is_empty()
            {
                v.push(("same position, other direction".to_string(), q.clone()));
            }
            if pi == 0 {
                for (k, q) in vc_frames[fi].iter().enumerate() {
                    v.push((format!("VC 2 packet {k}"), q.clone()));
                }
            }
            v
        });
    }
}

// ---- 4. header downgrades -------------------------------------------------------------------------

/// What an attacker can make of a tagged packet's header: a shorter tag (the genuine tag cut
/// to fit), a longer one, the tag mode of another scope, a per-message packet turned into an
/// untagged scope member (tag dropped), the encryption flag cleared, an SV downgrade to SV-5
/// (tag and encryption dropped), another block, another original VC.
fn downgrades(p: &[u8]) -> Vec<(String, Vec<u8>)> {
    let (h, ext, body, tag) = parse(p);
    let mut v = Vec::new();
    if tag.is_empty() {
        return v;
    }
    for (len, name) in [(TagLen::L8, "8"), (TagLen::L12, "12"), (TagLen::L16, "16")] {
        let n = usize::from(len.as_u8());
        if h.tag_len == Some(len) {
            continue;
        }
        let mut h2 = h;
        h2.tag_len = Some(len);
        let mut t2 = tag.clone();
        t2.resize(n, 0);
        v.push((format!("tag length {name}"), emit(h2, ext, &body, &t2)));
    }
    for mode in [TagMode::PerMessage, TagMode::PerDataType, TagMode::PerFrame] {
        if mode != h.tag_mode {
            let mut h2 = h;
            h2.tag_mode = mode;
            v.push((format!("tag mode {mode:?}"), emit(h2, ext, &body, &tag)));
        }
    }
    if h.phase == Phase::Single && ext.is_none() {
        let mut h2 = h;
        h2.phase = Phase::Member;
        h2.tag_len = None;
        h2.tag_mode = TagMode::PerFrame;
        v.push(("untagged member".into(), emit(h2, ext, &body, &[])));
    }
    if h.encrypted {
        let mut h2 = h;
        h2.encrypted = false;
        h2.sv = SvLevel::Sv2;
        v.push(("SV-1 to SV-2".into(), emit(h2, ext, &body, &tag)));
    }
    let mut h2 = h;
    h2.sv = SvLevel::Sv5;
    h2.tag_len = None;
    h2.encrypted = false;
    if h.phase != Phase::Close {
        v.push(("SV-5, tag dropped".into(), emit(h2, ext, &body, &[])));
    }
    let mut h2 = h;
    h2.orig_vc ^= 0x02;
    v.push(("original VC".into(), emit(h2, ext, &body, &tag)));
    if let Some(e) = ext {
        // The FS's frame configuration downgraded, the genuine tag kept.
        let mut weaker = e.config;
        weaker.image.sv = SecurityVariant::NoSecurity;
        v.push((
            "FS image block SV-5".into(),
            emit(
                h,
                Some(wire::FrameExt {
                    frame_counter: e.frame_counter,
                    config: weaker,
                }),
                &body,
                &tag,
            ),
        ));
        let mut shorter = e.config;
        let to = if shorter.image.tag_len == TagLen::L8 {
            TagLen::L12
        } else {
            TagLen::L8
        };
        shorter.image.tag_len = to;
        shorter.bottom.tag_len = to;
        v.push((
            "FS image and bottom tag length changed".into(),
            emit(
                h,
                Some(wire::FrameExt {
                    frame_counter: e.frame_counter,
                    config: shorter,
                }),
                &body,
                &tag,
            ),
        ));
        let mut mode = e.config;
        mode.image.tag_mode = if mode.image.tag_mode == TagMode::PerFrame {
            TagMode::PerMessage
        } else {
            TagMode::PerFrame
        };
        v.push((
            "FS image tag mode".into(),
            emit(
                h,
                Some(wire::FrameExt {
                    frame_counter: e.frame_counter,
                    config: mode,
                }),
                &body,
                &tag,
            ),
        ));
    }
    v
}

#[test]
fn header_downgrades_of_tagged_packets_are_rejected_and_change_nothing() {
    for c in full_cover_cases().into_iter().chain(scope_cases()) {
        let (frames, originals) = stream(&c, 2);
        attacked("downgrade", &c, &frames, &originals, &|fi, pi| {
            frames[fi]
                .get(pi)
                .map(|p| downgrades(p))
                .unwrap_or_default()
        });
    }
}

/// Under a policy that requires SV-1 in the image block, the SV-1 stream verifies, and every
/// downgraded copy (also those whose tag would not matter) is refused and changes nothing.
#[test]
fn downgrades_under_a_strict_policy_are_refused() {
    let c = full_cover_cases()[0];
    let (frames, originals) = stream(&c, 2);
    let policy = Policy {
        min_top: SvLevel::Sv1,
        min_image: SvLevel::Sv1,
        min_bottom: SvLevel::Sv1,
    };
    let strict = || {
        let mut rx = Receiver::new(settings(), policy, TIMEOUT);
        rx.install_key(KeyId::default(), material(c.suite, 0x42))
            .unwrap();
        rx
    };
    let mut want = Side::new(strict());
    let mut got = Side::new(strict());
    let mut t = 0;
    for p in frames.iter().flatten() {
        for (w, q) in downgrades(p) {
            got.attack(&q, t, &w);
        }
        t += 1;
        got.genuine(p, t);
        want.genuine(p, t);
    }
    assert_eq!(got.trace, want.trace);
    let rel: Vec<Vec<u8>> = got.released.iter().map(|r| r.2.clone()).collect();
    assert!(rel == originals);
}

// ---- 5. batches ---------------------------------------------------------------------------------------

/// A batch mixing genuine packets, their byte-flipped copies, the same genuine packet twice, and
/// too-short output buffers gives exactly the results, outputs and state of `receive` called
/// packet by packet.
#[test]
fn batches_with_forgeries_duplicates_and_short_outputs_match_single_receive() {
    use CipherSuite::*;
    use SecurityVariant::*;
    let sv3 = LinePartialIntegrity {
        stride: 2,
        offset: 0,
    };
    for c in [
        case(FullIntegrity, Aes128Cmac, TagLen::L16, TagMode::PerMessage),
        case(FullIntegrity, Aes256Gmac, TagLen::L8, TagMode::PerMessage),
        case(sv3, Aes256Cmac, TagLen::L12, TagMode::PerMessage),
        case(
            FullIntegrityEncrypted,
            Aes128Gcm,
            TagLen::L16,
            TagMode::PerMessage,
        ),
    ] {
        let (frames, _) = stream(&c, 3);
        let mut inputs: Vec<(Vec<u8>, usize)> = Vec::new();
        for (k, p) in frames.iter().flatten().enumerate() {
            let big = p.len() + 8;
            let mut flipped = p.clone();
            let at = 4 + (k * 7) % (p.len() - 10);
            flipped[at] ^= 0x10;
            fix_crcs(&mut flipped);
            match k % 4 {
                0 => inputs.push((flipped, big)),
                1 => inputs.push((p.clone(), 0)),
                2 => inputs.push((p.clone(), p.len() / 2)),
                _ => {}
            }
            inputs.push((p.clone(), big));
            if k % 3 == 0 {
                inputs.push((p.clone(), big));
            }
        }
        let mut single = receiver(&c);
        let mut batch = receiver(&c);
        let mut want = Vec::new();
        for (s, n) in &inputs {
            let mut out = vec![0x3Cu8; *n];
            let r = format!("{:?}", single.receive(s, 5, &mut out));
            want.push((r, out));
        }
        let seps: Vec<&[u8]> = inputs.iter().map(|(s, _)| s.as_slice()).collect();
        let mut bufs: Vec<Vec<u8>> = inputs.iter().map(|(_, n)| vec![0x3Cu8; *n]).collect();
        let mut outs: Vec<&mut [u8]> = bufs.iter_mut().map(Vec::as_mut_slice).collect();
        let mut results = Vec::new();
        batch
            .receive_batch(&seps, 5, &mut outs, |i, r| {
                results.push((i, format!("{r:?}")));
            })
            .unwrap();
        assert_eq!(results.len(), inputs.len());
        for (i, (r, out)) in want.iter().enumerate() {
            assert_eq!(results[i], (i, r.clone()), "{c:?} packet {i}");
            assert!(bufs[i] == *out, "{c:?} packet {i}: output differs");
        }
        assert_eq!(single.protocol_stats(), batch.protocol_stats(), "{c:?}");
        assert_eq!(single.security_stats(), batch.security_stats(), "{c:?}");
        assert_eq!(single.fusa_stats(), batch.fusa_stats(), "{c:?}");
        let (mut e1, mut e2) = (Vec::new(), Vec::new());
        while let Some(e) = single.poll_event(5) {
            e1.push(e);
        }
        while let Some(e) = batch.poll_event(5) {
            e2.push(e);
        }
        assert_eq!(e1, e2, "{c:?}");
    }
}

/// Mismatched slice lengths are refused before anything is processed.
#[test]
fn a_batch_with_fewer_outputs_than_packets_processes_nothing() {
    let c = full_cover_cases()[1];
    let (frames, originals) = stream(&c, 1);
    let mut got = Side::new(receiver(&c));
    let seps: Vec<&[u8]> = frames[0].iter().map(Vec::as_slice).collect();
    let mut bufs = vec![vec![0u8; 200]; seps.len() - 1];
    let mut outs: Vec<&mut [u8]> = bufs.iter_mut().map(Vec::as_mut_slice).collect();
    let mut called = 0;
    assert!(
        got.rx
            .receive_batch(&seps, 0, &mut outs, |_, _| called += 1)
            .is_err()
    );
    assert_eq!(called, 0);
    let empty: [&[u8]; 0] = [];
    got.rx
        .receive_batch(&empty, 0, &mut [], |_, _| called += 1)
        .unwrap();
    assert_eq!(called, 0);
    for (t, p) in frames[0].iter().enumerate() {
        got.genuine(p, t as u64 + 1);
    }
    let mut want = reference(&c, &frames);
    assert_twins("short batch", &c, &mut got, &mut want, &originals);
}

// ---- 6. after clear_keys nothing verifies ---------------------------------------------------------------

#[test]
fn after_clear_keys_nothing_verifies_and_nothing_is_released() {
    for c in full_cover_cases().into_iter().chain(scope_cases()) {
        let (frames, _) = stream(&c, 2);
        let mut s = Side::new(receiver(&c));
        let half = frames[0].len() / 2;
        for (t, p) in frames[0][..half].iter().enumerate() {
            s.genuine(p, t as u64);
        }
        let verified = s.rx.protocol_stats().verified;
        s.rx.clear_keys();
        while s.rx.poll_event(0).is_some() {}
        for p in frames[0][half..].iter().chain(&frames[1]) {
            let (h, _, _, _) = parse(p);
            if h.sv == SvLevel::Sv5 {
                continue;
            }
            s.attack(p, 1, &format!("{c:?} after clear_keys"));
        }
        assert_eq!(s.rx.protocol_stats().verified, verified, "{c:?}");
    }
}

// ---- 7. keys never printed, never cloned ------------------------------------------------------------------

/// Distinct, recognizable key, MAC-key and salt bytes.
fn key_bytes(seed: u8, n: usize) -> Vec<u8> {
    (0..n)
        .map(|i| seed.wrapping_add((i as u8).wrapping_mul(29)) | 0x81)
        .collect()
}

fn secret_material(suite: CipherSuite) -> KeyMaterial {
    let k = key_bytes(0x11, 32);
    let m = key_bytes(0x57, 32);
    let s = key_bytes(0x9D, 12);
    let (key, mac) = match suite.key_size() {
        cse_core::KeySize::Aes128 => (
            SecretKey::aes128(k[..16].try_into().unwrap()),
            SecretKey::aes128(m[..16].try_into().unwrap()),
        ),
        cse_core::KeySize::Aes256 => (
            SecretKey::aes256(k[..].try_into().unwrap()),
            SecretKey::aes256(m[..].try_into().unwrap()),
        ),
    };
    let mac = (suite.mac() == cse_core::MacAlgorithm::Cmac).then_some(mac);
    KeyMaterial::new(key, mac, Salt::new(s[..].try_into().unwrap())).with_min_tag_len(TagLen::L8)
}

#[test]
fn no_debug_output_shows_key_mac_key_or_salt_bytes() {
    let secrets = [
        key_bytes(0x11, 32),
        key_bytes(0x57, 32),
        key_bytes(0x9D, 12),
    ];
    // The detector itself finds both usual array renderings.
    assert!(leaks(&format!("{:?}", secrets[0]), &secrets[0]).is_some());
    assert!(leaks(&format!("{:x?}", secrets[2]), &secrets[2]).is_some());
    for c in full_cover_cases().into_iter().chain(scope_cases()) {
        let mut dbg = Vec::new();
        let m = secret_material(c.suite);
        dbg.push(format!("{m:?} {m:#?}"));
        let mut tx = Transmitter::new(settings(), 7);
        tx.install_key(KeyId::default(), secret_material(c.suite))
            .unwrap();
        tx.set_config(c.cfg).unwrap();
        let mut rx = Receiver::new(settings(), Policy::PERMISSIVE, TIMEOUT);
        rx.install_key(KeyId::default(), secret_material(c.suite))
            .unwrap();
        rx.install_key(KeyId::new(1).unwrap(), secret_material(c.suite))
            .unwrap();
        let o = frame(&TINY, 0, 1);
        let mut held = Vec::new();
        for (t, p) in o.iter().enumerate() {
            let mut sep = vec![0u8; p.len() + 400];
            let r = tx.protect(p, &mut sep).unwrap();
            dbg.push(format!("{r:?} {tx:?} {tx:#?}"));
            for q in cse_core::csi2::Packets::new(&sep[..r.len], HeaderForm::Dphy) {
                let q = q.unwrap().raw;
                let mut out = vec![0u8; q.len()];
                let d = rx.receive(q, t as u64, &mut out);
                dbg.push(format!("{d:?} {rx:?} {rx:#?}"));
                if let Ok(Delivery::Unverified(u)) = &d {
                    held.push(u.decrypt_ticket());
                }
                let mut bad = q.to_vec();
                let n = bad.len();
                bad[n - 8] ^= 1;
                fix_crcs(&mut bad);
                let mut out = vec![0u8; q.len()];
                let e = rx.receive(&bad, t as u64, &mut out);
                dbg.push(format!("{e:?}"));
                while let Some(ev) = rx.poll_event(t as u64) {
                    dbg.push(format!("{ev:?}"));
                }
            }
        }
        dbg.push(format!("{held:?} {:?}", rx.security_stats()));
        for d in &dbg {
            for s in &secrets {
                assert_eq!(leaks(d, s), None, "{c:?}: secret bytes printed in {d}");
            }
        }
    }
}

#[test]
fn nothing_that_holds_a_key_is_clone() {
    let probes = [
        ("String (control)", CloneProbe::<String>::IS_CLONE, true),
        ("KeyMaterial", CloneProbe::<KeyMaterial>::IS_CLONE, false),
        ("Receiver", CloneProbe::<Receiver>::IS_CLONE, false),
        ("Transmitter", CloneProbe::<Transmitter>::IS_CLONE, false),
        ("SecretKey", CloneProbe::<SecretKey>::IS_CLONE, false),
        ("Salt", CloneProbe::<Salt>::IS_CLONE, false),
        // A proof of verification is not duplicable either.
        (
            "ScopeProof",
            CloneProbe::<cse_sep::ScopeProof>::IS_CLONE,
            false,
        ),
    ];
    for (name, is_clone, want) in probes {
        assert_eq!(is_clone, want, "{name}");
    }
}

// ---- 8. late decryption survives rejected frame starts --------------------------------------------------

/// Scope-mode SV-1: frame 0's packets are decrypted late, after its FE (documented to work
/// until the next FS). Forged FS packets in between (every byte of the next genuine FS
/// changed, CRCs fixed) are rejected and must not take frame 0's keys away.
#[test]
fn rejected_frame_starts_do_not_end_late_decryption_of_the_previous_frame() {
    for c in scope_cases()
        .into_iter()
        .filter(|c| c.cfg.image.sv.encrypts())
    {
        let (frames, originals) = stream(&c, 2);
        let mut rx = receiver(&c);
        let mut held: Vec<(Vec<u8>, DecryptTicket, u32, ScopeId)> = Vec::new();
        let mut proofs = Vec::new();
        for (t, p) in frames[0].iter().enumerate() {
            let mut out = vec![0u8; p.len()];
            match rx.receive(p, t as u64, &mut out).unwrap() {
                Delivery::Unverified(u) => held.push((
                    u.unverified_packet().to_vec(),
                    u.decrypt_ticket(),
                    u.info().message_index,
                    u.scope(),
                )),
                Delivery::ScopeVerified(proof) => proofs.push(proof),
                _ => {}
            }
            while rx.poll_event(t as u64).is_some() {}
        }
        let fs = &frames[1][0];
        let n = fs.len();
        let mut forged = 0;
        for at in 4..n - 6 {
            for mask in [0x01u8, 0x80] {
                let mut f = fs.clone();
                f[at] ^= mask;
                fix_crcs(&mut f);
                let mut out = vec![0u8; n];
                assert!(rx.receive(&f, 100, &mut out).is_err(), "byte {at}");
                forged += 1;
            }
        }
        assert!(forged > 50);
        held.sort_by_key(|h| h.2);
        let mut got = Vec::new();
        for (mut b, ticket, idx, scope) in held {
            if let Some(proof) = proofs
                .iter()
                .find(|p| p.scope() == scope && p.indices().contains(&idx))
            {
                rx.decrypt(proof, &ticket, &mut b)
                    .unwrap_or_else(|e| panic!("{c:?}: late decrypt of {idx}: {e:?}"));
            }
            got.push((idx, b));
        }
        // Every original of frame 0 that was held is back in the clear.
        let frame0 = &originals[..tiny_originals()];
        assert!(got.len() >= 5, "{c:?}: only {} packets held", got.len());
        for (idx, b) in got {
            assert!(frame0.contains(&b), "{c:?}: packet {idx} not the plaintext");
        }
    }
}

// ---- 9. a key id reinstalled with new material ----------------------------------------------------------

/// After `clear_keys` (the session ended) and key id 0 installed with the next session's
/// material, frames made with the old material (same id and configuration, later frame
/// counters: what the holder of the old session's keys can make) never verify, and frames of
/// the new material do.
#[test]
fn a_key_id_reinstalled_with_new_material_never_verifies_old_material() {
    for c in full_cover_cases().into_iter().chain(scope_cases()) {
        let (old, _) = stream(&c, 4);
        let mut s = Side::new(receiver(&c));
        for (t, p) in old[..2].iter().flatten().enumerate() {
            s.genuine(p, t as u64);
        }
        s.rx.clear_keys();
        s.rx.install_key(KeyId::default(), material(c.suite, 0x43))
            .unwrap();
        let mark = s.trace.len();
        for p in old[2..].iter().flatten() {
            let mut out = vec![0u8; p.len()];
            let r = s.rx.receive(p, 100, &mut out);
            s.record(r);
            s.drain(100);
        }
        let released = s.released.len();
        assert!(
            s.trace[mark..].iter().all(|t| t.starts_with("E ")),
            "{c:?}: old material accepted after reinstall: {:?}",
            &s.trace[mark..]
        );
        // The next session's transmitter continues after the old counters.
        let mut tx = Transmitter::new(settings(), 100);
        tx.install_key(KeyId::default(), material(c.suite, 0x43))
            .unwrap();
        tx.set_config(c.cfg).unwrap();
        s.held.clear();
        for f in 0..2u16 {
            for p in protect_all(&mut tx, &frame(&TINY, f, 9)) {
                s.genuine(&p, 200);
            }
        }
        assert_eq!(s.released.len(), released + 2 * tiny_originals(), "{c:?}");
    }
}
