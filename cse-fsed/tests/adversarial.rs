//! Attacker-model tests against the public API: an attacker without keys injects, replays,
//! truncates and forges packets at every point of a frame and of a session. Each test checks
//! state invariance, not only the rejection: the attacked receiver releases and reports
//! exactly what a receiver that saw only the genuine stream does, and every rejected packet
//! queued no event.
//!
//! FSED leaves the original packets unchanged, so an original packet injected with a correct
//! CRC is taken into its scope (whose record then fails) and an injected FS + frame header can
//! replace the frame in progress (documented in the crate); those are not rejections, and the
//! tests below that use them check what must still hold: nothing forged is released, no key,
//! replay or usage state moves, and the later genuine frames verify.
#![allow(clippy::unwrap_used, clippy::panic)] // test helpers outside #[test] fns

mod common;

use common::*;
use cse_core::csi2::{self, DataType, Emitter, HeaderForm, VirtualChannel};
use cse_core::{
    CipherSuite, FusaError, KeyId, Policy, SecurityError, SecurityVariant, TagLen, TagMode,
};
use cse_fsed::{
    DecryptTicket, Delivery, Event, FsedError, Receiver, ScopeId, Settings, Transmitter, wire,
};

const TIMEOUT: u64 = 1000;

const SV3: SecurityVariant = SecurityVariant::LinePartialIntegrity {
    stride: 3,
    offset: 1,
};
const SV4: SecurityVariant = SecurityVariant::BytePartialIntegrity { start: 4, len: 9 };

fn cases() -> Vec<Case> {
    use CipherSuite::*;
    use SecurityVariant::*;
    vec![
        case(
            FullIntegrityEncrypted,
            Aes256Gcm,
            TagLen::L16,
            TagMode::PerFrame,
        ),
        case(FullIntegrity, Aes128Cmac, TagLen::L12, TagMode::PerDataType),
        case(SV3, Aes128Gmac, TagLen::L8, TagMode::PerFrame),
        case(SV4, Aes256Cmac, TagLen::L16, TagMode::PerDataType),
        case(
            FullIntegrityEncrypted,
            Aes128CtrCmac,
            TagLen::L8,
            TagMode::PerDataType,
        ),
    ]
}

fn receiver_on(c: &Case, vc: VirtualChannel) -> Receiver {
    let mut rx = Receiver::new(Settings::new(vc), Policy::PERMISSIVE, TIMEOUT);
    rx.install_key(KeyId::default(), material(c.suite, 0x42))
        .unwrap();
    rx.install_key(KeyId::new(1).unwrap(), material(c.suite, 0x77))
        .unwrap();
    rx
}

fn receiver(c: &Case) -> Receiver {
    receiver_on(c, vc())
}

/// Originals of frame `f` (CSI-2 frame number `f + 1`).
fn originals_of(f: u16) -> Vec<Vec<u8>> {
    frame(&Shape::SMALL, f + 1, f as u8 ^ 0x3C)
}

fn stream_from(c: &Case, first: u32, frames: u16) -> (Vec<Vec<Vec<u8>>>, Vec<Vec<u8>>) {
    let mut tx = Transmitter::new(Settings::new(vc()), first);
    tx.install_key(KeyId::default(), material(c.suite, 0x42))
        .unwrap();
    tx.set_config(c.cfg).unwrap();
    let mut s = Vec::new();
    let mut originals = Vec::new();
    for f in 0..frames {
        let o = originals_of(f);
        s.push(protect_all(&mut tx, &o));
        originals.extend(o);
    }
    (s, originals)
}

fn stream(c: &Case, frames: u16) -> (Vec<Vec<Vec<u8>>>, Vec<Vec<u8>>) {
    stream_from(c, 7, frames)
}

// ---- forging tools -------------------------------------------------------------------------

/// Recomputes ECC, the FSED CRC-32 and the CRC-16 (what a keyless attacker can do).
fn fix_crcs(p: &mut [u8]) {
    let mut h = [p[0], p[1], p[2], p[3]];
    HeaderForm::Dphy.fill(&mut h);
    p[..4].copy_from_slice(&h);
    if p.len() <= 4 {
        return;
    }
    let n = p.len();
    if is_fsed(p) {
        let mut f = wire::Packet::new_unchecked(&mut p[4..n - 2]);
        if f.check_len().is_ok() {
            f.fill_crc(&P);
        }
    }
    if let Ok(mut v) = csi2::Packet::new_checked(&mut *p) {
        v.fill_crc();
    }
}

fn kind(p: &[u8]) -> Option<wire::Kind> {
    if !is_fsed(p) {
        return None;
    }
    let f = wire::Packet::new_checked(&p[4..p.len() - 2]).ok()?;
    Some(f.kind())
}

fn is_header(p: &[u8]) -> bool {
    kind(p) == Some(wire::Kind::FrameHeader)
}

fn is_record(p: &[u8]) -> bool {
    kind(p) == Some(wire::Kind::TagRecord)
}

/// A frame header (or record) with its frame counter replaced, CRCs fixed.
fn with_counter(p: &[u8], fc: u32) -> Vec<u8> {
    let mut v = p.to_vec();
    v[8..12].copy_from_slice(&fc.to_le_bytes());
    fix_crcs(&mut v);
    v
}

fn with_key_id(p: &[u8], id: u8) -> Vec<u8> {
    let mut v = p.to_vec();
    v[6] = (v[6] & !0x03) | id;
    fix_crcs(&mut v);
    v
}

/// A record with one tag bit flipped, CRCs fixed.
fn flip_tag(p: &[u8]) -> Vec<u8> {
    let mut v = p.to_vec();
    let n = v.len();
    wire::Packet::new_unchecked(&mut v[4..n - 2]).tag_mut()[0] ^= 0x01;
    fix_crcs(&mut v);
    v
}

/// A copy with payload byte `at` (from the CSI-2 header on) flipped, CRCs fixed.
fn flip_at(p: &[u8], at: usize) -> Vec<u8> {
    let mut v = p.to_vec();
    v[at] ^= 0x01;
    fix_crcs(&mut v);
    v
}

fn short(dt: DataType, data: u16) -> Vec<u8> {
    let mut buf = vec![0u8; 8];
    let mut em = Emitter::new(&mut buf, HeaderForm::Dphy);
    em.short(vc(), dt, data).unwrap();
    let n = em.len();
    buf.truncate(n);
    buf
}

fn garbage(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(151).wrapping_add(seed) ^ 0x5A)
        .collect()
}

/// Packets made from genuine packet `p` that the receiver must reject whatever its state.
fn rejected_variants(p: &[u8], prev: Option<&[u8]>, seed: u8) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<(String, Vec<u8>)> = Vec::new();
    if p.len() > 6 {
        // CRC-16 broken (noise).
        let mut x = p.to_vec();
        x[5] ^= 0x40;
        v.push(("bad crc".into(), x));
        v.push(("truncated".into(), p[..p.len() - 3].to_vec()));
    }
    // Another virtual channel (ECC fixed).
    let mut x = p.to_vec();
    let mut h = csi2::Packet::new_unchecked(&mut x[..]);
    h.set_vc(VirtualChannel::new(5).unwrap());
    h.fill_ecc(HeaderForm::Dphy);
    v.push(("other vc".into(), x));
    v.push(("garbage".into(), garbage(p.len().max(8), seed)));
    if is_record(p) {
        v.push(("record with bad tag".into(), flip_tag(p)));
        // covered-packets field changed, CRCs fixed.
        v.push(("record with bad count".into(), flip_at(p, 4 + 12)));
        v.push(("record of frame 0".into(), with_counter(p, 0)));
        v.push(("record of frame max".into(), with_counter(p, u32::MAX)));
    }
    if is_header(p) {
        // A header for a frame whose FS never came.
        let mut x = p.to_vec();
        x[12] ^= 0x40;
        fix_crcs(&mut x);
        v.push(("header for another frame number".into(), x));
        v.push(("header fc max".into(), with_counter(p, u32::MAX)));
    }
    if let Some(q) = prev
        && (is_record(q) || is_header(q))
    {
        v.push(("replay of the previous FSED packet".into(), q.to_vec()));
    }
    v
}

// ---- the driver ------------------------------------------------------------------------------

struct Driver {
    rx: Receiver,
    held: Vec<Held>,
    released: Vec<(u32, u32, Vec<u8>)>,
    trace: Vec<String>,
    events: Vec<Event>,
    rejected: Vec<FsedError>,
}

impl Driver {
    fn new(rx: Receiver) -> Self {
        Driver {
            rx,
            held: Vec::new(),
            released: Vec::new(),
            trace: Vec::new(),
            events: Vec::new(),
            rejected: Vec::new(),
        }
    }

    /// Sends a packet and records what came out; returns the error, if any.
    fn send(&mut self, p: &[u8], t: u64) -> Result<(), FsedError> {
        match self.rx.receive(p, t)? {
            Delivery::Unverified(u) => {
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
            Delivery::Unprotected(u) => {
                self.trace
                    .push(format!("P {:?} {:?}", u.info(), u.unauthenticated_packet()));
                let i = u.info();
                self.released.push((
                    i.frame_counter,
                    i.message_index,
                    u.unauthenticated_packet().to_vec(),
                ));
            }
            Delivery::Sync(s) => self.trace.push(format!("Y {:?}", s.packet())),
            Delivery::FrameHeader { frame_counter } => {
                self.trace.push(format!("H {frame_counter}"));
            }
            Delivery::ScopeVerified(proof) => {
                self.trace.push(format!(
                    "S {:?} {:?} {}",
                    proof.scope(),
                    proof.indices(),
                    proof.packets()
                ));
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
            _ => panic!("unknown delivery"),
        }
        Ok(())
    }

    fn drain(&mut self, t: u64) {
        while let Some(e) = self.rx.poll_event(t) {
            if let Event::ScopeFailed(f) = e {
                self.held.retain(|h| h.3 != f.scope);
            }
            self.trace.push(format!("E {e:?}"));
            self.events.push(e);
        }
    }

    fn genuine(&mut self, p: &[u8], t: u64) {
        if let Err(e) = self.send(p, t) {
            panic!("genuine packet rejected at t={t}: {e:?}");
        }
        self.drain(t);
    }

    fn attack(&mut self, p: &[u8], t: u64, what: &str) -> FsedError {
        let e = match self.rx.receive(p, t) {
            Err(e) => e,
            Ok(d) => panic!("{what}: forged packet accepted: {d:?}"),
        };
        assert_eq!(self.rx.poll_event(t), None, "{what}: event after {e:?}");
        self.rejected.push(e);
        e
    }

    /// Original packets released usable, sorted by frame and index (FS/FE are not counted).
    fn released_sorted(&self) -> Vec<Vec<u8>> {
        let mut r = self.released.clone();
        r.sort_by_key(|(f, i, _)| (*f, *i));
        r.into_iter().map(|x| x.2).collect()
    }
}

/// The originals apart from FS and FE (which FSED delivers as sync packets).
fn data_originals(o: &[Vec<u8>]) -> Vec<Vec<u8>> {
    o.iter()
        .filter(|p| {
            let dt = DataType(p[0] & 0x3F);
            dt != DataType::FS && dt != DataType::FE
        })
        .cloned()
        .collect()
}

fn reference(c: &Case, frames: &[Vec<Vec<u8>>]) -> Driver {
    let mut d = Driver::new(receiver(c));
    let mut t = 0;
    for p in frames.iter().flatten() {
        t += 1;
        d.genuine(p, t);
    }
    d
}

fn assert_same(what: &str, got: &Driver, want: &Driver, originals: &[Vec<u8>]) {
    assert_eq!(got.trace, want.trace, "{what}: trace differs");
    let rel = got.released_sorted();
    assert!(rel == data_originals(originals), "{what}: released differ");
    assert!(got.held.is_empty(), "{what}: packets left unverified");
    let (g, w) = (got.rx.fusa_stats(), want.rx.fusa_stats());
    assert_eq!(
        (
            g.frames_lost,
            g.frames_duplicated,
            g.frames_reordered,
            g.timeouts
        ),
        (
            w.frames_lost,
            w.frames_duplicated,
            w.frames_reordered,
            w.timeouts
        ),
        "{what}"
    );
    assert_eq!(
        got.rx.security_stats().needs_rekey,
        want.rx.security_stats().needs_rekey,
        "{what}"
    );
    assert_eq!(
        got.rx.protocol_stats().scopes_verified,
        want.rx.protocol_stats().scopes_verified,
        "{what}"
    );
}

fn attacked(
    what: &str,
    c: &Case,
    frames: &[Vec<Vec<u8>>],
    originals: &[Vec<u8>],
    inject: &dyn Fn(usize, usize) -> Vec<(String, Vec<u8>)>,
) -> Driver {
    let want = reference(c, frames);
    let mut d = Driver::new(receiver(c));
    let mut t = 0;
    for (fi, f) in frames.iter().enumerate() {
        for pi in 0..=f.len() {
            for (w, junk) in inject(fi, pi) {
                d.attack(
                    &junk,
                    t,
                    &format!("{what} {c:?} frame {fi} packet {pi} {w}"),
                );
            }
            if let Some(p) = f.get(pi) {
                t += 1;
                d.genuine(p, t);
            }
        }
    }
    assert_same(&format!("{what} {c:?}"), &d, &want, originals);
    d
}

/// Index of the frame header in a frame's stream.
fn header_pos(f: &[Vec<u8>]) -> usize {
    f.iter().position(|p| is_header(p)).unwrap()
}

// ---- 1. forged frame headers ---------------------------------------------------------------------

#[test]
fn forged_frame_headers_where_no_fs_waits_are_rejected_and_change_nothing() {
    for c in cases() {
        let (frames, originals) = stream(&c, 5);
        let h0 = frames[0][header_pos(&frames[0])].clone();
        let d = attacked("forged header", &c, &frames, &originals, &|fi, pi| {
            let hp = header_pos(&frames[fi]);
            // After the genuine header (inside the frame) and after the FE.
            if pi <= hp || (pi != hp + 3 && pi != frames[fi].len()) {
                return Vec::new();
            }
            let next = 7 + fi as u32;
            let hf = &frames[fi][hp];
            let mut v: Vec<(String, Vec<u8>)> = [u32::MAX, u32::MAX - 1, next + 1, 0]
                .iter()
                .map(|fc| (format!("fc {fc:#x}"), with_counter(hf, *fc)))
                .collect();
            v.push((
                "key id 1".into(),
                with_key_id(&with_counter(&h0, next + 1), 1),
            ));
            v.push(("genuine header again".into(), hf.clone()));
            v
        });
        assert!(
            !d.events
                .iter()
                .any(|e| matches!(e, Event::KeyRollover { .. }))
        );
        let mut rx = d.rx;
        assert_eq!(rx.security_stats().needs_rekey, 0);
        assert!(
            rx.install_key(KeyId::new(1).unwrap(), material(c.suite, 0x78))
                .is_ok()
        );
        assert!(
            rx.install_key(KeyId::default(), material(c.suite, 0x42))
                .is_err()
        );
    }
}

/// Right after a genuine FS the receiver takes in a frame header naming it without any tag
/// (documented): a forged one with a plausible counter replaces the genuine header. Checked:
/// counter `0xFFFF_FFFF` (no key exhaustion) and `0` (replay) are refused there; the other
/// forgeries cost at most that one frame, activate no key, move no replay, usage or
/// continuity state, release nothing forged, and every later genuine frame verifies.
#[test]
fn forged_frame_headers_after_a_genuine_fs_cost_at_most_that_frame() {
    for c in cases() {
        for (label, forge) in [
            (
                "fc max-1",
                &(|h: &[u8], _n: u32| with_counter(h, u32::MAX - 1))
                    as &dyn Fn(&[u8], u32) -> Vec<u8>,
            ),
            ("fc next+1", &|h: &[u8], n: u32| with_counter(h, n + 1)),
            ("key id 1", &|h: &[u8], n: u32| {
                with_key_id(&with_counter(h, n), 1)
            }),
        ] {
            let (frames, originals) = stream(&c, 5);
            let mut d = Driver::new(receiver(&c));
            let mut t = 0;
            let attacked_frame = 2;
            for (fi, f) in frames.iter().enumerate() {
                let hp = header_pos(f);
                for (pi, p) in f.iter().enumerate() {
                    t += 1;
                    if fi == attacked_frame && pi == hp {
                        let next = 7 + fi as u32;
                        for fc in [u32::MAX, 0] {
                            let e = d.attack(&with_counter(p, fc), t, "after FS");
                            assert!(
                                matches!(
                                    e,
                                    FsedError::Security(
                                        SecurityError::KeyExhausted | SecurityError::Replay { .. }
                                    )
                                ),
                                "{e:?}"
                            );
                        }
                        // The forged header is taken in (documented); nothing verifies it.
                        let _ = d.send(&forge(p, next), t);
                        d.drain(t);
                    }
                    // The attacked frame's own packets may now be refused.
                    if fi == attacked_frame {
                        let _ = d.send(p, t);
                        d.drain(t);
                    } else {
                        d.genuine(p, t);
                    }
                }
            }
            let what = format!("{label} {c:?}");
            assert!(
                !d.events
                    .iter()
                    .any(|e| matches!(e, Event::KeyRollover { .. })),
                "{what}"
            );
            assert_eq!(d.rx.security_stats().needs_rekey, 0, "{what}");
            assert_eq!(d.rx.security_stats().key_exhausted, 1, "{what}");
            // Nothing forged released; every frame but the attacked one complete.
            let rel = d.released_sorted();
            let all = data_originals(&originals);
            assert!(rel.iter().all(|p| all.contains(p)), "{what}");
            for (fi, f) in frames.iter().enumerate() {
                let mine = data_originals(&originals_of(fi as u16));
                if fi != attacked_frame {
                    assert!(
                        mine.iter().all(|p| rel.contains(p)),
                        "{what}: frame {fi} lost"
                    );
                }
                let _ = f;
            }
            // Continuity saw only the genuine frames: at most the attacked one lost.
            assert!(d.rx.fusa_stats().frames_lost <= 1, "{what}");
            assert_eq!(d.rx.fusa_stats().frames_reordered, 0, "{what}");
            let mut rx = d.rx;
            assert!(
                rx.install_key(KeyId::new(1).unwrap(), material(c.suite, 0x78))
                    .is_ok(),
                "{what}: key 1 activated"
            );
        }
    }
}

/// A forged FS + frame header pair sent before the genuine FS: the genuine frame replaces it
/// and verifies completely.
#[test]
fn a_forged_fs_and_header_before_the_genuine_ones_do_not_harm_the_frame() {
    for c in cases() {
        let (frames, originals) = stream(&c, 4);
        let mut d = Driver::new(receiver(&c));
        let mut t = 0;
        for (fi, f) in frames.iter().enumerate() {
            let hp = header_pos(f);
            if fi >= 1 {
                let next = 7 + fi as u32;
                for (k, fc) in [u32::MAX - 1, next + 1, next].into_iter().enumerate() {
                    t += 1;
                    // FS with the genuine upcoming frame number, then a header naming it.
                    let _ = d.send(&f[0], t);
                    let h = if k == 2 {
                        with_key_id(&f[hp], 1)
                    } else {
                        with_counter(&f[hp], fc)
                    };
                    let _ = d.send(&h, t);
                    d.drain(t);
                }
            }
            for p in f {
                t += 1;
                d.genuine(p, t);
            }
        }
        assert_eq!(d.released_sorted(), data_originals(&originals), "{c:?}");
        assert!(
            !d.events
                .iter()
                .any(|e| matches!(e, Event::KeyRollover { .. }))
        );
        assert_eq!(d.rx.fusa_stats().frames_lost, 0, "{c:?}");
        assert_eq!(d.rx.security_stats().needs_rekey, 0);
        assert_eq!(
            d.events
                .iter()
                .filter(|e| matches!(e, Event::FrameComplete { clean: true, .. }))
                .count(),
            4,
            "{c:?}"
        );
    }
}

// ---- 3. rejected packets inside a block ---------------------------------------------------------

#[test]
fn rejected_packets_anywhere_leave_the_genuine_stream_unharmed() {
    for c in cases() {
        let (frames, originals) = stream(&c, 2);
        attacked("rejected variants", &c, &frames, &originals, &|fi, pi| {
            let f = &frames[fi];
            let Some(p) = f.get(pi) else {
                return Vec::new();
            };
            let prev = if pi > 0 {
                Some(f[pi - 1].as_slice())
            } else {
                None
            };
            let mut v = rejected_variants(p, prev, (fi * 31 + pi) as u8);
            // Inside the frame: an FE with another number, and a repeat of the FS.
            if pi > header_pos(f) {
                v.push(("FE with another number".into(), short(DataType::FE, 0x7777)));
                v.push(("repeated frame header".into(), f[header_pos(f)].clone()));
            }
            if pi == header_pos(f) {
                v.push(("repeated FS".into(), f[0].clone()));
            }
            v
        });
    }
}

#[test]
fn rejected_packets_do_not_feed_the_timeout_monitor() {
    for c in cases() {
        let (frames, _) = stream(&c, 1);
        let mut d = Driver::new(receiver(&c));
        let stop = header_pos(&frames[0]) + 4;
        for (t, p) in frames[0][..stop].iter().enumerate() {
            d.genuine(p, t as u64);
        }
        let last = stop as u64 - 1;
        let mut k = 0u8;
        for dt in [10, 500, 999] {
            for q in &frames[0][stop..] {
                for (w, junk) in rejected_variants(q, None, k) {
                    let _ = d.attack(&junk, last + dt, &format!("{c:?} {w}"));
                    k = k.wrapping_add(1);
                }
            }
        }
        assert_eq!(
            d.rx.poll_event(last + TIMEOUT),
            Some(Event::Fusa(FusaError::Timeout {
                vc: VC,
                silent_for: TIMEOUT
            })),
            "{c:?}: rejected packets fed the timeout monitor"
        );
        for (t, p) in frames[0][stop..].iter().enumerate() {
            d.genuine(p, last + TIMEOUT + t as u64);
        }
        assert!(
            d.events
                .iter()
                .any(|e| matches!(e, Event::FrameComplete { clean: true, .. })),
            "{c:?}"
        );
    }
}

// ---- 5. forged tag records ---------------------------------------------------------------------------

#[test]
fn a_forged_tag_record_before_the_genuine_one_leaves_the_scope_open() {
    for c in cases() {
        let (frames, originals) = stream(&c, 2);
        let n_rec = frames.iter().flatten().filter(|p| is_record(p)).count();
        let d = attacked(
            "forged record",
            &c,
            &frames,
            &originals,
            &|fi, pi| match frames[fi].get(pi) {
                Some(p) if is_record(p) => vec![
                    ("bad tag".into(), flip_tag(p)),
                    ("bad count".into(), flip_at(p, 4 + 12)),
                    ("bad first index".into(), flip_at(p, 4 + 20)),
                ],
                _ => Vec::new(),
            },
        );
        let failed = d
            .rejected
            .iter()
            .filter(|e| matches!(e, FsedError::ScopeFailed(_)))
            .count();
        assert_eq!(failed, 3 * n_rec, "{c:?}: {:?}", d.rejected);
        assert_eq!(
            d.events
                .iter()
                .filter(|e| matches!(e, Event::FrameComplete { clean: true, .. }))
                .count(),
            2
        );
    }
}

// ---- 6. replays ----------------------------------------------------------------------------------------

#[test]
fn replays_of_earlier_frames_and_fsed_packets_are_rejected_and_change_nothing() {
    for c in cases() {
        let (frames, originals) = stream(&c, 4);
        let d = attacked("replay", &c, &frames, &originals, &|fi, pi| {
            let mut v: Vec<(String, Vec<u8>)> = Vec::new();
            let hp = header_pos(&frames[fi]);
            // Before the genuine FS: every packet of every earlier frame except its FS (an
            // FS is an unauthenticated original packet; a new number is remembered).
            if pi == 0 {
                for (g, prev) in frames[..fi].iter().enumerate() {
                    for (k, q) in prev.iter().enumerate().filter(|(_, q)| !is_fs(q)) {
                        v.push((format!("frame {g} packet {k}"), q.clone()));
                    }
                }
            }
            // Inside the frame: every earlier FSED packet (headers, records), at every point.
            if pi > hp {
                for (g, prev) in frames[..fi].iter().enumerate() {
                    for (k, q) in prev.iter().enumerate() {
                        if is_record(q) || is_header(q) {
                            v.push((format!("frame {g} packet {k}"), q.clone()));
                        }
                    }
                }
                // This frame's own earlier records.
                for (k, q) in frames[fi][..pi].iter().enumerate() {
                    if is_record(q) || is_header(q) {
                        v.push((format!("own packet {k}"), q.clone()));
                    }
                }
            }
            if pi == hp {
                v.push(("own FS".into(), frames[fi][0].clone()));
            }
            v
        });
        assert!(d.rx.security_stats().replays >= 1, "{c:?}");
    }
}

// ---- 7. soft limits --------------------------------------------------------------------------------------

#[test]
fn needs_restart_is_reported_once_and_never_for_forged_packets() {
    let soft = P.frame_counter_soft_limit;
    for c in cases() {
        let (frames, originals) = stream_from(&c, soft - 1, 4);
        let d = attacked("soft limit", &c, &frames, &originals, &|fi, pi| {
            let hp = header_pos(&frames[fi]);
            if fi == 0 && (pi == hp + 2 || pi == frames[0].len()) {
                [soft, soft + 1, u32::MAX - 1]
                    .iter()
                    .map(|fc| (format!("fc {fc:#x}"), with_counter(&frames[0][hp], *fc)))
                    .collect()
            } else {
                Vec::new()
            }
        });
        let restarts: Vec<_> = d
            .events
            .iter()
            .filter(|e| matches!(e, Event::NeedsRestart { .. }))
            .collect();
        assert_eq!(
            restarts,
            vec![&Event::NeedsRestart {
                key_id: KeyId::default(),
                frame_counter: soft
            }],
            "{c:?}"
        );
        assert_eq!(d.rx.security_stats().needs_rekey, 1, "{c:?}");
    }
}

// ---- 8. proofs and tickets are bound to their receiver ---------------------------------------------------

type HeldU = (Vec<u8>, DecryptTicket, ScopeId, u32);

fn held_and_proofs(rx: &mut Receiver, s: &[Vec<u8>]) -> (Vec<HeldU>, Vec<cse_fsed::ScopeProof>) {
    let mut held = Vec::new();
    let mut proofs = Vec::new();
    for (t, p) in s.iter().enumerate() {
        match rx.receive(p, t as u64).unwrap() {
            Delivery::Unverified(u) => held.push((
                u.unverified_packet().to_vec(),
                u.decrypt_ticket(),
                u.scope(),
                u.info().message_index,
            )),
            Delivery::ScopeVerified(pr) => proofs.push(pr),
            _ => {}
        }
    }
    (held, proofs)
}

#[test]
fn proofs_and_tickets_of_another_receiver_are_refused() {
    let c = case(
        SecurityVariant::FullIntegrityEncrypted,
        CipherSuite::Aes256Gcm,
        TagLen::L16,
        TagMode::PerDataType,
    );
    let (frames, originals) = stream(&c, 1);
    let mut a = receiver(&c);
    let mut b = receiver(&c);
    let (held_a, proofs_a) = held_and_proofs(&mut a, &frames[0]);
    let (held_b, proofs_b) = held_and_proofs(&mut b, &frames[0]);
    let vc2 = VirtualChannel::new(2).unwrap();
    let mut tx2 = Transmitter::new(Settings::new(vc2), 7);
    tx2.install_key(KeyId::default(), material(c.suite, 0x42))
        .unwrap();
    tx2.set_config(c.cfg).unwrap();
    let o2: Vec<Vec<u8>> = originals_of(0)
        .into_iter()
        .map(|mut q| {
            let mut v = csi2::Packet::new_unchecked(&mut q[..]);
            v.set_vc(vc2);
            v.fill_ecc(HeaderForm::Dphy);
            q
        })
        .collect();
    let s2 = protect_all(&mut tx2, &o2);
    let mut other = receiver_on(&c, vc2);
    let (held_o, proofs_o) = held_and_proofs(&mut other, &s2);
    assert!(held_a.len() >= 5 && !proofs_a.is_empty());
    // `covers` tells the receivers apart too: a third receiver's packets are covered by its
    // own proofs only.
    {
        let mut r = receiver(&c);
        let mut us = Vec::new();
        let mut own = Vec::new();
        for (t, p) in frames[0].iter().enumerate() {
            match r.receive(p, t as u64).unwrap() {
                Delivery::Unverified(u) => us.push(u),
                Delivery::ScopeVerified(pr) => own.push(pr),
                _ => {}
            }
        }
        assert!(!us.is_empty());
        for u in &us {
            let mine = own.iter().find(|x| x.scope() == u.scope()).unwrap();
            assert!(mine.covers(u));
            let pa = proofs_a.iter().find(|x| x.scope() == u.scope()).unwrap();
            assert!(!pa.covers(u), "A's proof covers another receiver's packet");
        }
    }
    for (i, (bytes, ta, scope, _)) in held_a.iter().enumerate() {
        let pa = proofs_a.iter().find(|p| p.scope() == *scope).unwrap();
        let pb = proofs_b.iter().find(|p| p.scope() == *scope).unwrap();
        let tb = &held_b[i].1;
        for (who, rx, proof, ticket) in [
            ("A's proof and ticket at B", &b, pa, ta),
            ("A's proof, B's ticket at B", &b, pa, tb),
            ("B's proof, A's ticket at B", &b, pb, ta),
            ("B's proof and ticket at A", &a, pb, tb),
            ("A's proof and ticket at VC 2", &other, pa, ta),
        ] {
            let mut x = bytes.clone();
            assert_eq!(
                rx.decrypt(proof, ticket, &mut x),
                Err(FsedError::ProofMismatch),
                "{who}"
            );
            assert_eq!(&x, bytes, "{who}");
        }
        if let Some((_, to, so, _)) = held_o.get(i) {
            let po = proofs_o.iter().find(|p| p.scope() == *so).unwrap();
            let mut x = bytes.clone();
            assert_eq!(a.decrypt(po, to, &mut x), Err(FsedError::ProofMismatch));
        }
        let mut x = bytes.clone();
        a.decrypt(pa, ta, &mut x).unwrap();
        let mut y = held_b[i].0.clone();
        b.decrypt(pb, tb, &mut y).unwrap();
        assert_eq!(x, y);
        assert!(originals.contains(&x));
    }
}

// ---- 9. one key, one MAC algorithm -------------------------------------------------------------------------

#[test]
fn a_cmac_frame_under_a_key_pinned_to_gmac_is_refused() {
    for (gmac, cmac) in [
        (CipherSuite::Aes128Gmac, CipherSuite::Aes128Cmac),
        (CipherSuite::Aes256Gcm, CipherSuite::Aes256CtrCmac),
    ] {
        let sv = if gmac.encrypts() {
            SecurityVariant::FullIntegrityEncrypted
        } else {
            SecurityVariant::FullIntegrity
        };
        let g = case(sv, gmac, TagLen::L16, TagMode::PerFrame);
        // Receiver and both transmitters hold the same material (CMAC material: the GMAC
        // suites ignore its MAC key).
        let gc = Case {
            cfg: g.cfg,
            suite: cmac,
        };
        let (frames, originals) = stream(&gc, 3);
        let cm = case(sv, cmac, TagLen::L16, TagMode::PerFrame);
        let mut tx_c = Transmitter::new(Settings::new(vc()), 8);
        tx_c.install_key(KeyId::default(), material(cmac, 0x42))
            .unwrap();
        tx_c.set_config(cm.cfg).unwrap();
        let cmac_frame = protect_all(&mut tx_c, &originals_of(1));
        // A fresh receiver takes the CMAC frame: the refusal below is the pin.
        let mut fresh = Driver::new(receiver(&gc));
        for (t, p) in cmac_frame.iter().enumerate() {
            fresh.genuine(p, t as u64);
        }
        let mut d = Driver::new(receiver(&gc));
        let mut t = 0;
        for (fi, f) in frames.iter().enumerate() {
            for (pi, p) in f.iter().enumerate() {
                t += 1;
                d.genuine(p, t);
                if fi == 1 && pi == 0 {
                    // After the genuine FS: the CMAC frame (its FS left out: byte-identical to
                    // the genuine one). Its header is refused by the pin, everything after it
                    // has no frame.
                    let mut errs = Vec::new();
                    for q in cmac_frame.iter().filter(|q| !is_fs(q)) {
                        if let Err(e) = d.rx.receive(q, t) {
                            errs.push(e);
                        }
                        assert_eq!(d.rx.poll_event(t), None);
                    }
                    assert_eq!(errs[0], FsedError::MixedKeyFamilies, "{errs:?}");
                    assert_eq!(errs.len(), cmac_frame.len() - 1, "{errs:?}");
                }
            }
        }
        // The genuine GMAC frames (frame 8 after the refused CMAC frame 8) all verified.
        assert_eq!(d.released_sorted(), data_originals(&originals));
        assert_eq!(d.trace, reference(&gc, &frames).trace);
    }
}

// ---- 10. a rejected forgery at every position ------------------------------------------------------------------

#[test]
fn a_forged_record_at_every_position_of_a_three_frame_stream() {
    for c in cases() {
        let (frames, originals) = stream(&c, 3);
        let flat: Vec<(usize, usize)> = frames
            .iter()
            .enumerate()
            .flat_map(|(fi, f)| (0..=f.len()).map(move |pi| (fi, pi)))
            .collect();
        for &(at_f, at_p) in &flat {
            attacked("one forgery", &c, &frames, &originals, &|fi, pi| {
                if (fi, pi) != (at_f, at_p) {
                    return Vec::new();
                }
                // A forgery of the next record of the stream (or the frame's last one).
                let f = &frames[fi];
                let rec = f[pi.min(f.len() - 1)..]
                    .iter()
                    .find(|p| is_record(p))
                    .or_else(|| f.iter().rev().find(|p| is_record(p)))
                    .unwrap();
                vec![("forged record".into(), flip_tag(rec))]
            });
        }
    }
}
