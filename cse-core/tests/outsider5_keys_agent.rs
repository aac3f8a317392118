//! Outsider round 5: key slots and key material life, `MessageCounter`, `Policy`,
//! `BlockTracker`, and the CSI-2 `Emitter` at its limits. Black-box: public API and docs only.
#![allow(clippy::unwrap_used, clippy::panic, missing_docs)]

use cse_core::agent::{BlockTracker, KeyEntry, KeyMaterial};
use cse_core::csi2::{DataType, Emitter, HeaderForm, Packet, Packets, Repr, VirtualChannel};
use cse_core::fusa::MessageCounter;
use cse_core::keys::KeySlots;
use cse_core::keys::{Salt, SecretKey};
use cse_core::{
    Block, BlockConfig, CipherSuite, FrameConfig, FusaError, KeyId, Policy, Profile,
    SecurityVariant, SvLevel, TagLen, TagMode,
};

#[derive(Clone, Copy, Debug)]
enum Op {
    Install(u8),
    Activate(u8),
    Retire,
    Clear,
}

fn ops() -> Vec<Op> {
    let mut v = Vec::new();
    for id in 0..4 {
        v.push(Op::Install(id));
        v.push(Op::Activate(id));
    }
    v.push(Op::Retire);
    v.push(Op::Clear);
    v
}

fn ids(s: &KeySlots<u32>) -> Vec<(u8, u32)> {
    (0..4)
        .filter_map(|i| {
            let id = KeyId::new(i).unwrap();
            s.get(id).ok().map(|k| (i, *k))
        })
        .collect()
}

/// Every sequence of up to five slot operations keeps the documented rules: at most two keys,
/// an install never touches the active key (and is refused, changing nothing, for the active
/// id), a refused activation changes nothing, `retire` never drops the active key, and
/// `next_id` is never the active id.
#[test]
fn key_slot_operation_sequences_keep_the_active_key_and_refusals_change_nothing() {
    let all = ops();
    let n = all.len();
    let mut serial = 1u32;
    for len in 1..=5u32 {
        for code in 0..n.pow(len) {
            let mut s: KeySlots<u32> = KeySlots::new();
            let mut c = code;
            for _ in 0..len {
                let op = all[c % n];
                c /= n;
                let before = format!("{s:?}");
                let active = s.active().map(|(i, k)| (i, *k));
                match op {
                    Op::Install(id) => {
                        let id = KeyId::new(id).unwrap();
                        serial += 1;
                        let r = s.install(id, serial);
                        if active.map(|a| a.0) == Some(id) {
                            assert!(r.is_err());
                            assert_eq!(format!("{s:?}"), before);
                        } else {
                            r.unwrap();
                            assert_eq!(s.get(id).copied(), Ok(serial));
                            assert_eq!(s.active().map(|(i, k)| (i, *k)), active);
                        }
                    }
                    Op::Activate(id) => {
                        let id = KeyId::new(id).unwrap();
                        let had = s.get(id).copied();
                        match s.activate(id) {
                            Ok(()) => {
                                assert_eq!(
                                    s.active().map(|(i, k)| (i, *k)),
                                    Some((id, had.unwrap()))
                                )
                            }
                            Err(_) => {
                                assert!(had.is_err());
                                assert_eq!(format!("{s:?}"), before);
                            }
                        }
                    }
                    Op::Retire => {
                        let gone = s.retire();
                        assert_eq!(s.active().map(|(i, k)| (i, *k)), active);
                        if let Some(g) = gone {
                            assert_ne!(Some(g), active.map(|a| a.0));
                            assert!(s.get(g).is_err());
                        }
                    }
                    Op::Clear => {
                        s.clear();
                        assert!(s.is_empty() && s.active().is_none());
                    }
                }
                let present = ids(&s);
                assert!(present.len() <= 2, "{op:?}: {present:?}");
                assert_eq!(s.is_empty(), present.is_empty());
                if let Some((a, _)) = s.active() {
                    assert_ne!(s.next_id(), a);
                }
            }
        }
    }
}

const K: u8 = 0xC3;
const M: u8 = 0x5C;

fn secret_free(text: &str) {
    for needle in ["195", "c3", "C3", "92,", "5c", "5C", "0xc3", "0x5c"] {
        assert!(!text.contains(needle), "{needle} in {text}");
    }
}

/// No Debug text of key material, its entries or slots shows key bytes, with or without a
/// MAC key, whatever `with_max_mac_input` / `with_min_tag_len` say.
#[test]
fn key_material_debug_never_shows_key_bytes() {
    for mac in [false, true] {
        for max in [0, 1, 65_600, 1 << 40, u64::MAX] {
            let m = KeyMaterial::new(
                SecretKey::aes128([K; 16]),
                mac.then(|| SecretKey::aes128([M; 16])),
                Salt::new([1; 12]),
            )
            .with_max_mac_input(max);
            secret_free(&format!("{m:?}"));
            secret_free(&format!("{:?}", SecretKey::aes256([K; 32])));
            for s in CipherSuite::ALL {
                if let Ok(k) = m.suite_key(s) {
                    secret_free(&format!("{k:?}"));
                }
            }
            if let Ok(e) = KeyEntry::new(m, &Profile::DRAFT_1) {
                secret_free(&format!("{e:?}"));
                let mut slots = KeySlots::new();
                slots.install(KeyId::default(), e).unwrap();
                secret_free(&format!("{slots:?}"));
            }
        }
    }
}

/// `KeyMaterial` with and without a MAC key, for every suite and key size, with extreme
/// MAC-input bounds and every tag length: never a panic; CTR+CMAC without a MAC key and a key of
/// the wrong size are refused; 8-byte tags with a MAC input no SP 800-38D row admits are
/// refused at `KeyEntry::new`.
#[test]
fn key_material_variants_are_refused_or_accepted_as_documented() {
    for size in [16usize, 32] {
        for mac in [None, Some(16usize), Some(32)] {
            let key = |n: usize, b: u8| {
                if n == 16 {
                    SecretKey::aes128([b; 16])
                } else {
                    SecretKey::aes256([b; 32])
                }
            };
            let m = KeyMaterial::new(key(size, K), mac.map(|n| key(n, M)), Salt::new([1; 12]));
            for s in CipherSuite::ALL {
                let r = m.suite_key(s);
                if s.needs_mac_key() && mac.is_none() {
                    assert!(r.is_err(), "{s:?} without MAC key");
                }
                if matches!(s.mac(), cse_core::MacAlgorithm::Gmac) && s.key_size().len() != size {
                    assert!(r.is_err(), "{s:?} with a {size}-byte key");
                }
            }
            for tag in [TagLen::L16, TagLen::L12, TagLen::L8] {
                for max in [0, 1 << 17, 1 << 25, (1 << 25) + 1, 1 << 36, u64::MAX] {
                    let m =
                        KeyMaterial::new(key(size, K), mac.map(|n| key(n, M)), Salt::new([1; 12]))
                            .with_min_tag_len(tag)
                            .with_max_mac_input(max);
                    let r = KeyEntry::new(m, &Profile::DRAFT_1);
                    if tag == TagLen::L8 && max > 1 << 25 {
                        assert!(r.is_err(), "8-byte tags with {max}-byte MAC input");
                    }
                    if tag != TagLen::L8 && max <= 1 << 25 {
                        assert!(r.is_ok(), "{tag:?} {max}");
                    }
                }
            }
        }
    }
}

fn block(sv: SecurityVariant) -> BlockConfig {
    let suite = if sv.level() == SvLevel::Sv1 {
        CipherSuite::Aes128Gcm
    } else {
        CipherSuite::Aes128Gmac
    };
    BlockConfig {
        sv,
        suite,
        tag_len: TagLen::L16,
        tag_mode: TagMode::PerMessage,
    }
}

/// `Policy::check` refuses exactly the frames with a block below its minimum, naming the first
/// such block (top, image, bottom order), for every level in every block.
#[test]
fn policy_refuses_exactly_the_blocks_below_their_minimum() {
    let svs = [
        SecurityVariant::FullIntegrityEncrypted,
        SecurityVariant::FullIntegrity,
        SecurityVariant::LinePartialIntegrity {
            stride: 2,
            offset: 1,
        },
        SecurityVariant::BytePartialIntegrity { start: 0, len: 4 },
        SecurityVariant::NoSecurity,
    ];
    let levels = [
        SvLevel::Sv1,
        SvLevel::Sv2,
        SvLevel::Sv3,
        SvLevel::Sv4,
        SvLevel::Sv5,
    ];
    for &t in &svs {
        for &i in &svs {
            for &b in &svs {
                let frame = FrameConfig {
                    top: block(t),
                    image: block(i),
                    bottom: block(b),
                    key_id: KeyId::default(),
                };
                for &mt in &levels {
                    for &mi in &levels {
                        for &mb in &levels {
                            let p = Policy {
                                min_top: mt,
                                min_image: mi,
                                min_bottom: mb,
                            };
                            let below = [
                                (Block::Top, t, mt),
                                (Block::Image, i, mi),
                                (Block::Bottom, b, mb),
                            ]
                            .into_iter()
                            .find(|(_, sv, min)| sv.level().number() > min.number());
                            match (p.check(&frame), below) {
                                (Ok(()), None) => {}
                                (Err(d), Some((blk, sv, min))) => {
                                    assert_eq!((d.block, d.got, d.min), (blk, sv.level(), min));
                                }
                                (r, w) => panic!("{p:?} {frame:?}: {r:?}, expected {w:?}"),
                            }
                        }
                    }
                }
                assert!(Policy::PERMISSIVE.check(&frame).is_ok());
            }
        }
    }
}

/// `BlockTracker` over every data-type byte and long runs: never a panic; FS/FE refused; the
/// documented top, image, bottom progression; a refused classification moves nothing.
#[test]
fn block_tracker_follows_the_documented_progression_for_every_data_type() {
    for raw in 0..=255u8 {
        let dt = DataType(raw);
        for start in [Block::Top, Block::Image, Block::Bottom] {
            let mut t = BlockTracker::new();
            let _ = t.advance(start, false);
            let before = t;
            match t.classify(dt) {
                Err(_) => {
                    assert!(
                        dt.is_frame_sync()
                            || (start == Block::Bottom
                                && !dt.is_short()
                                && dt != DataType::EMBEDDED),
                        "{raw:#x} in {start:?}"
                    );
                }
                Ok(b) => {
                    assert!(!dt.is_frame_sync());
                    let want = if dt.is_short() {
                        start
                    } else if dt == DataType::EMBEDDED {
                        if start == Block::Top {
                            Block::Top
                        } else {
                            Block::Bottom
                        }
                    } else {
                        Block::Image
                    };
                    assert_eq!(b, want, "{raw:#x} in {start:?}");
                }
            }
            assert_eq!(t, before);
        }
    }
    let mut t = BlockTracker::new();
    for n in 0..1000u32 {
        assert_eq!(t.advance(Block::Image, true), n);
    }
    assert_eq!(t.advance(Block::Image, false), 1000);
    assert_eq!(t.advance(Block::Bottom, true), 0);
    assert_eq!(t.advance(Block::Top, true), 0);
}

/// Injected unauthenticated indices at or beyond the next authenticated one change no finding
/// of the authenticated traffic but the one the type docs name (a gap they show impossible is
/// not reported lost), including at `u32::MAX`.
#[test]
fn message_counter_injections_shown_impossible_change_no_finding() {
    let genuine: [&[u32]; 4] = [
        &[0, 1, 2, 3],
        &[0, 2, 3, 7],
        &[1, 1, 0, 5],
        &[0, u32::MAX - 1, u32::MAX],
    ];
    for seq in genuine {
        let mut twin = MessageCounter::new();
        let want: Vec<_> = seq.iter().map(|&i| twin.observe(i)).collect();
        for (pos, &next) in seq.iter().enumerate() {
            for inj in [next, next.saturating_add(1), u32::MAX] {
                let mut c = MessageCounter::new();
                let mut got = Vec::new();
                for (k, &i) in seq.iter().enumerate() {
                    if k == pos && pos > 0 {
                        let _ = c.observe_unauthenticated(inj);
                    }
                    got.push(c.observe(i));
                }
                if pos > 0 {
                    // Documented: a remembered index at or beyond the authenticated one voids
                    // the finding of that gap (a loss the injection hides); every other result
                    // is the twin's.
                    // A remembered index may also stand for a lost message at a later
                    // authenticated index (it could be genuine): the finding is then a smaller
                    // loss, never a new or a different one.
                    for (k, (g, w)) in got.iter().zip(&want).enumerate() {
                        let weaker = match (g, w) {
                            (Ok(()), Err(FusaError::MessageLoss { .. })) => true,
                            (
                                Err(FusaError::MessageLoss {
                                    got: a, lost: x, ..
                                }),
                                Err(FusaError::MessageLoss {
                                    got: b, lost: y, ..
                                }),
                            ) => a == b && x < y,
                            _ => false,
                        };
                        assert!(
                            g == w || weaker,
                            "{seq:?}: {inj}@{pos}, result {k}: {g:?} vs {w:?}"
                        );
                    }
                    if got == want {
                        assert_eq!((c.lost(), c.received()), (twin.lost(), twin.received()));
                    }
                    assert!(c.lost() <= twin.lost());
                }
            }
        }
    }
}

/// The emitter at its limits: the largest word count, VC 31 under VCX, VC 4 under plain D-PHY,
/// a buffer one byte short: refused or written, never a panic, and what is written parses back.
#[test]
fn emitter_at_the_limits_writes_what_parses_back_or_refuses_cleanly() {
    let vcx = HeaderForm::vcx_from_profile(&Profile::DRAFT_1).unwrap();
    let payload = vec![0x5Au8; 65_535];
    for form in [HeaderForm::Dphy, vcx] {
        for vc in [0u8, 3, 4, 15, 16, 31, 32] {
            let Ok(v) = VirtualChannel::new(vc) else {
                assert!(vc > 31);
                continue;
            };
            for len in [0usize, 1, 65_535] {
                let need = 4 + len + 2;
                for cap in [need - 1, need] {
                    let mut buf = vec![0u8; cap];
                    let mut em = Emitter::new(&mut buf, form);
                    let r = em.long(v, DataType::RAW8, &payload[..len]);
                    let fits = cap >= need && vc <= form.max_vc();
                    assert_eq!(
                        r.is_ok(),
                        fits,
                        "{form:?} vc {vc} len {len} cap {cap}: {r:?}"
                    );
                    if fits {
                        assert_eq!(em.len(), need);
                        let w = em.written().to_vec();
                        let p: Vec<_> = Packets::new(&w, form).collect();
                        assert_eq!(p.len(), 1);
                        assert_eq!(p[0].as_ref().unwrap().raw, &w[..]);
                    } else {
                        assert_eq!(em.len(), 0);
                    }
                }
            }
        }
    }
}

/// `Repr` and `Emitter::packet` over every data-type byte, every VC of both header forms, short
/// and long, matching and mismatching payloads: a refusal writes nothing; what is written
/// parses back to the same `Repr` and payload.
#[test]
fn repr_and_emitter_packet_round_trip_or_refuse_for_every_data_type_and_vc() {
    let vcx = HeaderForm::vcx_from_profile(&Profile::DRAFT_1).unwrap();
    let payload = [0xA7u8; 9];
    for form in [HeaderForm::Dphy, vcx] {
        for vc in 0..=31u8 {
            let v = VirtualChannel::new(vc).unwrap();
            for raw in 0..=255u8 {
                let dt = DataType(raw);
                for (repr, body) in [
                    (Repr::short(v, dt, 0xBEEF), &payload[..0]),
                    (Repr::short(v, dt, 1), &payload[..1]),
                    (Repr::long(v, dt, 9), &payload[..]),
                    (Repr::long(v, dt, 9), &payload[..8]),
                    (Repr::long(v, dt, 0), &payload[..0]),
                ] {
                    let mut buf = [0u8; 32];
                    let mut em = Emitter::new(&mut buf, form);
                    let r = em.packet(&repr, body);
                    let ok_header = vc <= form.max_vc() && raw <= 0x3F;
                    let ok_body = if repr.is_short() {
                        body.is_empty()
                    } else {
                        body.len() == usize::from(repr.word_count)
                    };
                    assert_eq!(
                        r.is_ok(),
                        ok_header && ok_body,
                        "{form:?} vc {vc} dt {raw:#x} {repr:?} body {}: {r:?}",
                        body.len()
                    );
                    assert_eq!(repr.header_bytes(form).is_ok(), ok_header);
                    if r.is_err() {
                        assert_eq!(em.len(), 0);
                        continue;
                    }
                    let w = em.written().to_vec();
                    assert_eq!(w.len(), repr.buffer_len());
                    let (back, _) =
                        Repr::parse(&Packet::new_checked(&w[..]).unwrap(), form).unwrap();
                    assert_eq!(back, repr, "{form:?} vc {vc} dt {raw:#x}");
                    if !repr.is_short() {
                        assert_eq!(&w[4..4 + body.len()], body);
                    }
                }
            }
        }
    }
}
