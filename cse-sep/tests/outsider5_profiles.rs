//! Outsider round 5: non-default `Profile` / `Settings` on SEP streams, and nonce use of one
//! transmitter across frame restarts, key rollover, reinstalls and `clear_keys`.
//!
//! Black-box: only the public API and `docs/wire-format.md`.
#![allow(clippy::unwrap_used, clippy::panic, missing_docs)]

use cse_core::crc::Crc32Variant;
use cse_core::csi2::{DataType, Emitter, HeaderForm, Packets, VirtualChannel};
use cse_core::keys::{Salt, SecretKey};
use cse_core::{
    BlockConfig, CipherSuite, Direction, FrameConfig, KeyId, Policy, Profile, SecurityVariant,
    SvLevel, TagLen, TagMode,
};
use cse_sep::{KeyMaterial, Receiver, Settings, Transmitter};

const LINE: usize = 64;

fn keys() -> KeyMaterial {
    KeyMaterial::new(SecretKey::aes256([7; 32]), None, Salt::new([9; 12]))
}

fn config(key: u8, mode: TagMode) -> FrameConfig {
    FrameConfig::uniform(
        BlockConfig {
            sv: SecurityVariant::FullIntegrityEncrypted,
            suite: CipherSuite::Aes256Gcm,
            tag_len: TagLen::L16,
            tag_mode: mode,
        },
        KeyId::new(key).unwrap(),
    )
}

/// One original frame (FS, two zero RAW8 lines, FE) as separate packets.
fn frame(s: &Settings, n: u16) -> Vec<Vec<u8>> {
    let mut buf = [0u8; 512];
    let mut em = Emitter::new(&mut buf, s.form);
    em.frame_start(s.vc, n).unwrap();
    em.long(s.vc, DataType::RAW8, &[0u8; LINE]).unwrap();
    em.long(s.vc, DataType::RAW8, &[0u8; LINE]).unwrap();
    em.frame_end(s.vc, n).unwrap();
    let w = em.written().to_vec();
    Packets::new(&w, s.form)
        .map(|p| p.unwrap().raw.to_vec())
        .collect()
}

/// The SEP packets (split) of `frames` frames through a fresh transmitter of `s`.
fn stream(s: Settings, mode: TagMode, frames: u16) -> Vec<Vec<u8>> {
    let mut tx = Transmitter::new(s, 1);
    tx.install_key(KeyId::default(), keys()).unwrap();
    tx.set_config(config(0, mode)).unwrap();
    let mut out = Vec::new();
    for n in 0..frames {
        for p in frame(&s, n) {
            let mut sep = [0u8; 512];
            let done = tx.protect(&p, &mut sep).unwrap();
            for q in Packets::new(&sep[..done.len], s.form) {
                out.push(q.unwrap().raw.to_vec());
            }
        }
    }
    out
}

fn receiver(s: Settings) -> Receiver {
    let policy = Policy {
        min_top: SvLevel::Sv1,
        min_image: SvLevel::Sv1,
        min_bottom: SvLevel::Sv1,
    };
    let mut rx = Receiver::new(s, policy, 1_000_000);
    rx.install_key(KeyId::default(), keys()).unwrap();
    rx
}

/// Results (Debug text, bytes included) of `packets` at time `now`.
fn feed(rx: &mut Receiver, packets: &[Vec<u8>], now: u64) -> Vec<String> {
    packets
        .iter()
        .map(|p| {
            let mut back = [0u8; 512];
            let r = rx.receive(p, now, &mut back);
            norm(format!("{r:?}"))
        })
        .collect()
}

/// Debug text with the per-instance receiver id blanked (twins differ only there).
fn norm(text: String) -> String {
    let mut out = String::new();
    let mut rest = text.as_str();
    while let Some(at) = rest.find("ReceiverId(") {
        out.push_str(&rest[..at + 11]);
        rest = rest[at + 11..].trim_start_matches(|c: char| c.is_ascii_digit());
    }
    out.push_str(rest);
    out
}

fn drain(rx: &mut Receiver, now: u64) -> Vec<String> {
    let mut v = Vec::new();
    while let Some(e) = rx.poll_event(now) {
        v.push(norm(format!("{e:?}")));
    }
    v
}

fn variants() -> Vec<(&'static str, Settings)> {
    let base = Settings::new(VirtualChannel::new(1).unwrap());
    let mut v = Vec::new();
    for (name, crc) in [
        ("crc autosar", Crc32Variant::Autosar),
        ("crc iscsi", Crc32Variant::Iscsi),
    ] {
        let mut s = base;
        s.profile.crc32 = crc;
        v.push((name, s));
    }
    let mut s = base;
    s.profile.dt_sep = DataType(0x3A);
    v.push(("dt_sep 0x3a", s));
    let mut s = base;
    s.profile.format_version = 2;
    v.push(("format version 2", s));
    let mut s = base;
    s.profile.suite_ids.ids.swap(0, 1);
    s.profile.suite_ids.ids.swap(4, 5);
    v.push(("suite ids permuted", s));
    let mut s = base;
    s.direction = Direction::ControllerToSensor;
    v.push(("direction", s));
    let mut s = base;
    s.vc = VirtualChannel::new(2).unwrap();
    s.outer_vc = s.vc;
    v.push(("vc 2", s));
    let vcx = HeaderForm::vcx_from_profile(&Profile::DRAFT_1).unwrap();
    let mut s = base;
    s.form = vcx;
    s.vc = VirtualChannel::new(5).unwrap();
    s.outer_vc = s.vc;
    v.push(("vcx vc 5", s));
    let mut s = base;
    s.form = vcx;
    s.vc = VirtualChannel::new(13).unwrap();
    s.outer_vc = s.vc;
    v.push(("vcx vc 13", s));
    let mut s = base;
    s.form = HeaderForm::dphy_vcx([0x3E, 0x3D]).unwrap();
    s.vc = VirtualChannel::new(5).unwrap();
    s.outer_vc = s.vc;
    v.push(("vcx other columns vc 5", s));
    v.push(("draft-1", base));
    v
}

/// A receiver of profile/settings B never accepts (nor releases any byte of) a stream a
/// transmitter of A sent, whatever the difference, and its genuine B stream afterwards goes
/// exactly as in an unattacked twin (outputs, events, stats moved by the genuine stream).
#[test]
fn a_receiver_of_one_profile_accepts_nothing_of_another_and_its_twin_continuation_is_identical() {
    let all = variants();
    for mode in [TagMode::PerMessage, TagMode::PerFrame] {
        for (na, a) in &all {
            let foreign = stream(*a, mode, 2);
            for (nb, b) in &all {
                if na == nb {
                    continue;
                }
                let genuine = stream(*b, mode, 2);
                let mut attacked = receiver(*b);
                let mut twin = receiver(*b);
                let rejected = feed(&mut attacked, &foreign, 0);
                for (i, r) in rejected.iter().enumerate() {
                    assert!(
                        r.starts_with("Err("),
                        "{mode:?}: rx {nb} took packet {i} of tx {na}: {r}"
                    );
                }
                let _ = drain(&mut attacked, 0);
                let _ = drain(&mut twin, 0);
                let (f0, s0) = (*attacked.fusa_stats(), *attacked.security_stats());
                let p0 = *attacked.protocol_stats();
                let got = feed(&mut attacked, &genuine, 1);
                let want = feed(&mut twin, &genuine, 1);
                assert_eq!(got, want, "{mode:?}: rx {nb} after tx {na}");
                assert_eq!(
                    drain(&mut attacked, 2),
                    drain(&mut twin, 2),
                    "{nb} after {na}"
                );
                let (f1, s1) = (*attacked.fusa_stats(), *attacked.security_stats());
                let (tf, ts) = (*twin.fusa_stats(), *twin.security_stats());
                assert_eq!(f1.crc32_errors - f0.crc32_errors, tf.crc32_errors);
                assert_eq!(f1.messages_lost - f0.messages_lost, tf.messages_lost);
                assert_eq!(f1.frames_lost - f0.frames_lost, tf.frames_lost);
                assert_eq!(f1.total() - f0.total(), tf.total(), "{nb} after {na}");
                assert_eq!(s1.auth_failures - s0.auth_failures, ts.auth_failures);
                assert_eq!(s1.replays - s0.replays, ts.replays, "{nb} after {na}");
                let (p1, tp) = (*attacked.protocol_stats(), *twin.protocol_stats());
                assert_eq!(p1.verified - p0.verified, tp.verified, "{nb} after {na}");
                assert_eq!(p1.unverified - p0.unverified, tp.unverified);
                assert_eq!(p1.scopes_verified - p0.scopes_verified, tp.scopes_verified);
                assert_eq!(p1.malformed - p0.malformed, tp.malformed, "{nb} after {na}");
            }
        }
    }
}

/// SEP packet of a 64-byte line: outer header 4, SEP header 12, body 64, tag 16 (none for a
/// scope member), CRC-32 4, CRC-16 2 (`docs/wire-format.md` section 4). The body is the
/// keystream (zero plaintext).
fn body(sep: &[u8]) -> Option<[u8; LINE]> {
    [4 + 12 + LINE + 16 + 4 + 2, 4 + 12 + LINE + 4 + 2]
        .contains(&sep.len())
        .then(|| sep[16..16 + LINE].try_into().unwrap())
}

/// Every SV-1 body one transmitter writes over zero plaintext is a distinct keystream, across
/// a frame restarted without FE, `clear_keys` mid-frame and a reinstall of the same key bytes
/// under the same and under another key id, rollover with retire, and refused calls: the
/// transmitter never reuses a (key, IV) pair while it lives.
#[test]
fn one_transmitter_never_repeats_a_keystream_across_restarts_rollovers_and_reinstalls() {
    let s = Settings::new(VirtualChannel::new(1).unwrap());
    let mut tx = Transmitter::new(s, 1);
    tx.install_key(KeyId::default(), keys()).unwrap();
    tx.set_config(config(0, TagMode::PerMessage)).unwrap();
    let mut bodies: Vec<[u8; LINE]> = Vec::new();
    let mut send = |tx: &mut Transmitter, p: &[u8]| {
        let mut sep = [0u8; 512];
        if let Ok(done) = tx.protect(p, &mut sep) {
            for q in Packets::new(&sep[..done.len], s.form) {
                if let Some(b) = body(q.unwrap().raw) {
                    bodies.push(b);
                }
            }
        }
    };
    let f = frame(&s, 0);
    let (fs, line, fe) = (&f[0], &f[1], &f[3]);
    // A whole frame.
    for p in &f {
        send(&mut tx, p);
    }
    // FS, line, then FS again without FE, line, FE.
    send(&mut tx, fs);
    send(&mut tx, line);
    send(&mut tx, fs);
    send(&mut tx, line);
    send(&mut tx, fe);
    // A line refused for a short buffer, then sent.
    send(&mut tx, fs);
    let mut small = [0u8; 40];
    assert!(tx.protect(line, &mut small).is_err());
    send(&mut tx, line);
    send(&mut tx, fe);
    // clear_keys mid-frame, the same key bytes reinstalled under the same id.
    send(&mut tx, fs);
    send(&mut tx, line);
    tx.clear_keys();
    tx.install_key(KeyId::default(), keys()).unwrap();
    tx.set_config(config(0, TagMode::PerMessage)).unwrap();
    for p in &f {
        send(&mut tx, p);
    }
    // Rollover to id 1 holding the same key bytes, retire, reinstall under id 0, roll back.
    tx.install_key(KeyId::new(1).unwrap(), keys()).unwrap();
    tx.set_config(config(1, TagMode::PerMessage)).unwrap();
    for p in &f {
        send(&mut tx, p);
    }
    assert_eq!(tx.retire_key(), Some(KeyId::default()));
    tx.install_key(KeyId::default(), keys()).unwrap();
    send(&mut tx, fs);
    send(&mut tx, line);
    tx.set_config(config(0, TagMode::PerMessage)).unwrap();
    send(&mut tx, line);
    send(&mut tx, fe);
    for p in &f {
        send(&mut tx, p);
    }
    // Per-frame and per-data-type scopes under the same key.
    for mode in [TagMode::PerFrame, TagMode::PerDataType] {
        tx.set_config(config(0, mode)).unwrap();
        for p in &f {
            send(&mut tx, p);
        }
    }
    assert!(bodies.len() >= 18, "{}", bodies.len());
    for i in 0..bodies.len() {
        for j in i + 1..bodies.len() {
            assert_ne!(
                bodies[i], bodies[j],
                "keystream of body {i} reused by body {j}"
            );
        }
    }
}

/// The last frame counter a key may use is `u32::MAX - 1`; the next FS is refused and the
/// counter does not wrap (`UsageLimits`, `docs/security.md`).
#[test]
fn a_transmitter_at_the_frame_counter_limit_refuses_and_never_wraps() {
    let s = Settings::new(VirtualChannel::new(1).unwrap());
    let mut tx = Transmitter::new(s, u32::MAX - 1);
    tx.install_key(KeyId::default(), keys()).unwrap();
    tx.set_config(config(0, TagMode::PerMessage)).unwrap();
    let f = frame(&s, 0);
    let mut sep = [0u8; 512];
    for p in &f {
        let _ = tx.protect(p, &mut sep).unwrap();
    }
    for _ in 0..3 {
        let before = tx.next_frame_counter();
        assert!(tx.protect(&f[0], &mut sep).is_err());
        assert_eq!(tx.next_frame_counter(), before);
        assert!(!tx.in_frame());
        // Rollover to a new key id does not help: packet numbers belong to the stream.
        let _ = tx.install_key(KeyId::new(1).unwrap(), keys());
        let _ = tx.set_config(config(1, TagMode::PerMessage));
    }
}

fn blk(sv: SecurityVariant) -> BlockConfig {
    let suite = match sv {
        SecurityVariant::FullIntegrityEncrypted => CipherSuite::Aes256Gcm,
        _ => CipherSuite::Aes256Gmac,
    };
    BlockConfig {
        sv,
        suite,
        tag_len: TagLen::L16,
        tag_mode: TagMode::PerMessage,
    }
}

/// A frame below the receiver's policy in any one block (SV-5 admission, SV-3/SV-4 below a
/// stricter minimum, SV-2 where SV-1 is required), sent by a holder of the key: refused from its
/// FS on, no byte released, and a genuine stream afterwards goes exactly as in the twin.
#[test]
fn frames_below_the_policy_in_any_block_release_nothing_and_leave_the_receiver_as_its_twin() {
    use SecurityVariant as Sv;
    let s = Settings::new(VirtualChannel::new(1).unwrap());
    let sv1 = Sv::FullIntegrityEncrypted;
    let cases = [
        (
            (sv1, Sv::NoSecurity, sv1),
            (SvLevel::Sv1, SvLevel::Sv4, SvLevel::Sv1),
        ),
        (
            (Sv::NoSecurity, Sv::NoSecurity, Sv::NoSecurity),
            (SvLevel::Sv4, SvLevel::Sv4, SvLevel::Sv4),
        ),
        (
            (Sv::NoSecurity, sv1, sv1),
            (SvLevel::Sv4, SvLevel::Sv1, SvLevel::Sv1),
        ),
        (
            (sv1, sv1, Sv::NoSecurity),
            (SvLevel::Sv1, SvLevel::Sv1, SvLevel::Sv4),
        ),
        (
            (
                Sv::LinePartialIntegrity {
                    stride: 2,
                    offset: 0,
                },
                sv1,
                sv1,
            ),
            (SvLevel::Sv2, SvLevel::Sv1, SvLevel::Sv1),
        ),
        (
            (sv1, Sv::BytePartialIntegrity { start: 0, len: 8 }, sv1),
            (SvLevel::Sv1, SvLevel::Sv3, SvLevel::Sv1),
        ),
        (
            (sv1, sv1, Sv::FullIntegrity),
            (SvLevel::Sv1, SvLevel::Sv1, SvLevel::Sv1),
        ),
    ];
    let genuine = stream(s, TagMode::PerMessage, 2);
    for ((t, i, b), (mt, mi, mb)) in cases {
        let low = FrameConfig {
            top: blk(t),
            image: blk(i),
            bottom: blk(b),
            key_id: KeyId::default(),
        };
        let mut tx = Transmitter::new(s, 1);
        tx.install_key(KeyId::default(), keys()).unwrap();
        tx.set_config(low).unwrap();
        let mut foreign = Vec::new();
        for p in frame(&s, 0) {
            let mut sep = [0u8; 512];
            let done = tx.protect(&p, &mut sep).unwrap();
            for q in Packets::new(&sep[..done.len], s.form) {
                foreign.push(q.unwrap().raw.to_vec());
            }
        }
        let policy = Policy {
            min_top: mt,
            min_image: mi,
            min_bottom: mb,
        };
        let mk = || {
            let mut rx = Receiver::new(s, policy, 1_000_000);
            rx.install_key(KeyId::default(), keys()).unwrap();
            rx
        };
        let (mut attacked, mut twin) = (mk(), mk());
        for (k, r) in feed(&mut attacked, &foreign, 0).iter().enumerate() {
            assert!(
                r.starts_with("Err("),
                "{low:?} under {policy:?}: packet {k}: {r}"
            );
        }
        assert!(attacked.security_stats().downgrades >= 1);
        let _ = drain(&mut attacked, 0);
        let s0 = *attacked.security_stats();
        let f0 = *attacked.fusa_stats();
        assert_eq!(
            feed(&mut attacked, &genuine, 1),
            feed(&mut twin, &genuine, 1),
            "{low:?}"
        );
        assert_eq!(drain(&mut attacked, 2), drain(&mut twin, 2), "{low:?}");
        assert_eq!(
            attacked.fusa_stats().total() - f0.total(),
            twin.fusa_stats().total()
        );
        assert_eq!(
            attacked.security_stats().auth_failures - s0.auth_failures,
            twin.security_stats().auth_failures
        );
    }
}

fn keys_b(b: u8) -> KeyMaterial {
    KeyMaterial::new(SecretKey::aes256([b; 32]), None, Salt::new([b ^ 0xFF; 12]))
}

/// Key id 0 rolled over to 1, retired and reinstalled with new bytes on both ends: the old
/// generation's frames replayed before the reinstall (slot empty), after it (same id, other key)
/// and after the next frame are refused, release nothing, and the genuine frames after them go
/// exactly as in the twin.
#[test]
fn frames_of_a_retired_generation_replayed_around_a_reinstall_of_its_key_id_are_refused() {
    let s = Settings::new(VirtualChannel::new(1).unwrap());
    let mut tx = Transmitter::new(s, 1);
    tx.install_key(KeyId::default(), keys_b(1)).unwrap();
    tx.set_config(config(0, TagMode::PerMessage)).unwrap();
    let protect = |tx: &mut Transmitter| {
        let mut out = Vec::new();
        for p in frame(&s, 0) {
            let mut sep = [0u8; 512];
            let done = tx.protect(&p, &mut sep).unwrap();
            for q in Packets::new(&sep[..done.len], s.form) {
                out.push(q.unwrap().raw.to_vec());
            }
        }
        out
    };
    let a = protect(&mut tx);
    tx.install_key(KeyId::new(1).unwrap(), keys_b(2)).unwrap();
    tx.set_config(config(1, TagMode::PerMessage)).unwrap();
    let b = protect(&mut tx);
    assert_eq!(tx.retire_key(), Some(KeyId::default()));
    tx.install_key(KeyId::default(), keys_b(3)).unwrap();
    tx.set_config(config(0, TagMode::PerMessage)).unwrap();
    let c = protect(&mut tx);
    let d = protect(&mut tx);

    let policy = Policy {
        min_top: SvLevel::Sv1,
        min_image: SvLevel::Sv1,
        min_bottom: SvLevel::Sv1,
    };
    let mk = || {
        let mut rx = Receiver::new(s, policy, 1_000_000);
        rx.install_key(KeyId::default(), keys_b(1)).unwrap();
        rx.install_key(KeyId::new(1).unwrap(), keys_b(2)).unwrap();
        rx
    };
    let (mut attacked, mut twin) = (mk(), mk());
    for (frames, t) in [(&a, 1), (&b, 2)] {
        assert_eq!(feed(&mut attacked, frames, t), feed(&mut twin, frames, t));
    }
    let refused = |rx: &mut Receiver| {
        for r in feed(rx, &a, 3) {
            assert!(r.starts_with("Err("), "{r}");
        }
        let _ = drain(rx, 3);
    };
    // Slot 0 empty after retire.
    assert_eq!(attacked.retire_key(), Some(KeyId::default()));
    assert_eq!(twin.retire_key(), Some(KeyId::default()));
    refused(&mut attacked);
    attacked.install_key(KeyId::default(), keys_b(3)).unwrap();
    twin.install_key(KeyId::default(), keys_b(3)).unwrap();
    // Same id, the next generation's key installed.
    refused(&mut attacked);
    let _ = drain(&mut twin, 3);
    let got_c = feed(&mut attacked, &c, 4);
    assert_eq!(got_c, feed(&mut twin, &c, 4));
    assert!(
        got_c.iter().all(|r| r.starts_with("Ok(Verified")),
        "{got_c:?}"
    );
    refused(&mut attacked);
    let _ = drain(&mut twin, 3);
    assert_eq!(feed(&mut attacked, &d, 5), feed(&mut twin, &d, 5));
    assert_eq!(drain(&mut attacked, 6), drain(&mut twin, 6));
    assert_eq!(
        attacked.protocol_stats().verified,
        twin.protocol_stats().verified
    );
    assert_eq!(
        attacked.fusa_stats().frames_lost,
        twin.fusa_stats().frames_lost
    );
    assert_eq!(
        attacked.fusa_stats().messages_lost,
        twin.fusa_stats().messages_lost
    );
}

/// A transmitter whose profile allows hazmat 4-byte tags (and a MAC-input bound a Table 1 row
/// admits) sends 4-byte-tag frames: a `draft-1` receiver (4-byte tags not allowed from the
/// wire), and a receiver of the same profile whose key demands longer tags, release nothing and
/// continue as their twins; the matching receiver accepts them (sanity).
#[test]
fn hazmat_four_byte_tags_are_accepted_only_where_profile_and_key_allow_them() {
    let mut p4 = Profile::DRAFT_1;
    p4.allow_hazmat_tag4 = true;
    p4.max_message_len = 2048;
    let mut s4 = Settings::new(VirtualChannel::new(1).unwrap());
    s4.profile = p4;
    let s = Settings::new(VirtualChannel::new(1).unwrap());
    let tag4 = TagLen::hazmat_short_4();
    let cfg = FrameConfig::uniform(
        BlockConfig {
            sv: SecurityVariant::FullIntegrity,
            suite: CipherSuite::Aes256Gmac,
            tag_len: tag4,
            tag_mode: TagMode::PerMessage,
        },
        KeyId::default(),
    );
    let mut tx = Transmitter::new(s4, 1);
    tx.install_key(KeyId::default(), keys().with_min_tag_len(tag4))
        .unwrap();
    tx.set_config(cfg).unwrap();
    let mut foreign = Vec::new();
    for p in frame(&s4, 0) {
        let mut sep = [0u8; 512];
        let done = tx.protect(&p, &mut sep).unwrap();
        for q in Packets::new(&sep[..done.len], s4.form) {
            foreign.push(q.unwrap().raw.to_vec());
        }
    }
    // The matching receiver takes the frame (else the attack below proves nothing).
    let mut ok = Receiver::new(s4, Policy::PERMISSIVE, 1_000_000);
    ok.install_key(KeyId::default(), keys().with_min_tag_len(tag4))
        .unwrap();
    assert!(
        feed(&mut ok, &foreign, 0)
            .iter()
            .all(|r| r.starts_with("Ok(Verified"))
    );
    let genuine = stream(s, TagMode::PerMessage, 1);
    let genuine4 = stream(s4, TagMode::PerMessage, 1);
    for (name, settings, min, cont) in [
        ("draft-1, key min 16", s, TagLen::L16, &genuine),
        ("draft-1, key min 8", s, TagLen::L8, &genuine),
        ("hazmat profile, key min 16", s4, TagLen::L16, &genuine4),
        ("hazmat profile, key min 8", s4, TagLen::L8, &genuine4),
    ] {
        let mk = || {
            let mut rx = Receiver::new(settings, Policy::PERMISSIVE, 1_000_000);
            rx.install_key(KeyId::default(), keys().with_min_tag_len(min))
                .unwrap();
            rx
        };
        let (mut attacked, mut twin) = (mk(), mk());
        for r in feed(&mut attacked, &foreign, 0) {
            assert!(r.starts_with("Err("), "{name}: {r}");
        }
        let _ = drain(&mut attacked, 0);
        assert_eq!(
            feed(&mut attacked, cont, 1),
            feed(&mut twin, cont, 1),
            "{name}"
        );
        assert_eq!(drain(&mut attacked, 2), drain(&mut twin, 2), "{name}");
    }
}

/// Extreme profile limits (soft-limit percentage above 100, frame-counter soft limit 0, MAC-input
/// bound 0 or `u32::MAX`): no panic; a key install either succeeds or is refused as a
/// configuration error; when it succeeds the frame goes through with the soft limit reported
/// (`NeedsRestart` from frame counter 0 on) and the receiver of the same profile verifies it.
#[test]
fn extreme_profile_limits_never_panic_and_report_the_soft_limits() {
    for percent in [0u8, 100, 101, 255] {
        for max_len in [0u32, 1, 65_600, u32::MAX] {
            for tag in [TagLen::L16, TagLen::L8] {
                let mut s = Settings::new(VirtualChannel::new(1).unwrap());
                s.profile.soft_limit_percent = percent;
                s.profile.frame_counter_soft_limit = 0;
                s.profile.max_message_len = max_len;
                let mut tx = Transmitter::new(s, 0);
                if tx
                    .install_key(KeyId::default(), keys().with_min_tag_len(tag))
                    .is_err()
                {
                    assert_eq!(tag, TagLen::L8, "{percent} {max_len}");
                    continue;
                }
                tx.set_config(config(0, TagMode::PerMessage)).unwrap();
                let mut rx = Receiver::new(s, Policy::PERMISSIVE, 1_000_000);
                rx.install_key(KeyId::default(), keys().with_min_tag_len(tag))
                    .unwrap();
                for p in frame(&s, 0) {
                    let mut sep = [0u8; 512];
                    let done = tx.protect(&p, &mut sep).unwrap();
                    assert!(
                        done.needs_restart(),
                        "{percent} {max_len}: {:?}",
                        done.usage
                    );
                    let mut back = [0u8; 512];
                    let r = rx.receive(&sep[..done.len], 0, &mut back);
                    assert!(
                        format!("{r:?}").starts_with("Ok(Verified"),
                        "{percent} {max_len}: {r:?}"
                    );
                }
                while rx.poll_event(1).is_some() {}
            }
        }
    }
}
