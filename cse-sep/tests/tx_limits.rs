//! Transmitter limits: MAC-input length (NIST SP 800-38D Appendix C row of the key), message
//! index space, MAC algorithm pinned per key, soft limits (rekey vs. restart), and the output
//! bound. Every refusal is checked for what stays unchanged: nothing written, no frame state
//! moved (the next packets get the next indices and the frame still verifies at a receiver).
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use common::*;
use cse_core::csi2::{DataType, Emitter, HeaderForm, Packets};
use cse_core::keys::UsageStatus;
use cse_core::{
    BlockConfig, CipherSuite, FrameConfig, KeyId, Policy, Profile, SecurityError, SecurityVariant,
    TagLen, TagMode,
};
use cse_sep::tx::{MAX_SEP_OVERHEAD, max_protected_len};
use cse_sep::{Event, KeyMaterial, Receiver, SepError, Settings, Transmitter, wire};

const SENTINEL: u8 = 0xEE;

fn fs(n: u16) -> Vec<u8> {
    let mut b = vec![0; 4];
    Emitter::new(&mut b, HeaderForm::Dphy)
        .frame_start(vc(), n)
        .unwrap();
    b
}

fn fe(n: u16) -> Vec<u8> {
    let mut b = vec![0; 4];
    Emitter::new(&mut b, HeaderForm::Dphy)
        .frame_end(vc(), n)
        .unwrap();
    b
}

fn short(dt: DataType) -> Vec<u8> {
    let mut b = vec![0; 4];
    Emitter::new(&mut b, HeaderForm::Dphy)
        .short(vc(), dt, 0)
        .unwrap();
    b
}

fn line(dt: DataType, len: usize, seed: u8) -> Vec<u8> {
    let payload: Vec<u8> = (0..len).map(|i| (i as u8).wrapping_mul(7) ^ seed).collect();
    let mut b = vec![0; len + 6];
    Emitter::new(&mut b, HeaderForm::Dphy)
        .long(vc(), dt, &payload)
        .unwrap();
    b
}

/// The message indices of the SEP packets in `bytes`.
fn indices(bytes: &[u8]) -> Vec<u32> {
    Packets::new(bytes, HeaderForm::Dphy)
        .map(|d| {
            let raw = d.unwrap().raw;
            let p = wire::Packet::new_checked(&raw[4..raw.len() - 2], &Profile::DRAFT_1).unwrap();
            p.header().message_index
        })
        .collect()
}

/// Everything observable about a transmitter from outside.
fn snapshot(tx: &Transmitter) -> (u32, bool, String) {
    (tx.next_frame_counter(), tx.in_frame(), format!("{tx:?}"))
}

/// Protects `p` into a fresh buffer, returning the SEP packets as one byte string.
fn send(tx: &mut Transmitter, p: &[u8]) -> (Vec<u8>, UsageStatus) {
    let mut out = vec![SENTINEL; max_protected_len(p.len())];
    let r = tx.protect(p, &mut out).unwrap();
    out.truncate(r.len);
    (out, r.usage)
}

/// Protects `p` and expects `err`, with nothing written and no observable state moved.
fn refused(tx: &mut Transmitter, p: &[u8], err: SepError) {
    let before = snapshot(tx);
    let mut out = vec![SENTINEL; max_protected_len(p.len())];
    assert_eq!(tx.protect(p, &mut out), Err(err));
    assert!(out.iter().all(|b| *b == SENTINEL), "bytes written");
    assert_eq!(snapshot(tx), before);
}

fn split(bytes: &[u8]) -> Vec<Vec<u8>> {
    Packets::new(bytes, HeaderForm::Dphy)
        .map(|d| d.unwrap().raw.to_vec())
        .collect()
}

fn clean_frames(o: &Outcome) -> usize {
    o.events
        .iter()
        .filter(|e| matches!(e, Event::FrameComplete { clean: true, .. }))
        .count()
}

fn gmac8(mode: TagMode) -> FrameConfig {
    uniform(
        SecurityVariant::FullIntegrity,
        CipherSuite::Aes128Gmac,
        TagLen::L8,
        mode,
    )
}

/// Settings whose profile bounds one message by 2048 bytes, so 8-byte-tag keys get the first
/// row of SP 800-38D Table 2 (2^15 bytes) unless a longer MAC input is declared.
fn small_settings() -> Settings {
    let mut s = Settings::new(vc());
    s.profile.max_message_len = 2048;
    s
}

fn pair_with(
    settings: Settings,
    config: FrameConfig,
    key: impl Fn() -> KeyMaterial,
) -> (Transmitter, Receiver) {
    let mut tx = Transmitter::new(settings, 7);
    tx.install_key(config.key_id, key()).unwrap();
    tx.set_config(config).unwrap();
    let mut rx = Receiver::new(settings, Policy::PERMISSIVE, 1000);
    rx.install_key(config.key_id, key()).unwrap();
    (tx, rx)
}

#[test]
fn per_message_mac_input_above_the_key_row_is_refused() {
    // MAC input of a per-message packet: context block (32) + SEP header (12) + covered
    // prefix (4) + payload. The key's row admits 2^15 bytes.
    let suite = CipherSuite::Aes128Gmac;
    let (mut tx, mut rx) = pair_with(small_settings(), gmac8(TagMode::PerMessage), || {
        material(suite, 3)
    });
    let fits = (1 << 15) - 32 - 12 - 4;
    let mut wire = send(&mut tx, &fs(1)).0;
    refused(
        &mut tx,
        &line(DataType::RAW12, fits + 1, 1),
        SepError::Security(SecurityError::LimitExceeded {
            len: (1 << 15) + 1,
            max: 1 << 15,
        }),
    );
    let (out, _) = send(&mut tx, &line(DataType::RAW12, fits, 2));
    assert_eq!(indices(&out), [1], "the refused packet took no index");
    wire.extend(out);
    wire.extend(send(&mut tx, &fe(1)).0);
    let o = receive_all(&mut rx, &split(&wire));
    assert!(o.errors.is_empty(), "{:?}", o.errors);
    assert_eq!(o.accepted().len(), 3);
    assert_eq!(clean_frames(&o), 1);
}

/// Feeds lines of `len` bytes into a per-frame scope until the transmitter refuses one; returns
/// how many it took and the error.
fn fill_scope(tx: &mut Transmitter, wire: &mut Vec<u8>, len: usize) -> (usize, SepError) {
    for n in 0..64 {
        let p = line(DataType::RAW12, len, n as u8);
        let before = snapshot(tx);
        let mut out = vec![SENTINEL; max_protected_len(p.len())];
        match tx.protect(&p, &mut out) {
            Ok(r) => wire.extend_from_slice(&out[..r.len]),
            Err(e) => {
                assert!(out.iter().all(|b| *b == SENTINEL), "bytes written");
                assert_eq!(snapshot(tx), before);
                return (n, e);
            }
        }
    }
    panic!("never refused")
}

#[test]
fn whole_frame_scopes_take_their_row_from_the_declared_frame_size() {
    // Per-frame scope MAC input: context block (32), per line SEP header (12) + prefix (4) +
    // payload, and the close record (header 12 + prefix 4 + count 4), reserved from the start.
    // Undeclared, the key's row is 2^15 bytes; declared as 100 000 bytes, 2^17.
    let suite = CipherSuite::Aes128Gmac;
    let len = 8000;
    let per_line = (12 + 4 + len) as u64;
    for (declared, max) in [(None, 1u64 << 15), (Some(100_000u64), 1 << 17)] {
        let key = || match declared {
            Some(d) => material(suite, 4).with_max_mac_input(d),
            None => material(suite, 4),
        };
        let (mut tx, mut rx) = pair_with(small_settings(), gmac8(TagMode::PerFrame), key);
        let mut wire = send(&mut tx, &fs(1)).0;
        // RAW12 lines: all in the image block's per-frame scope (the top block has none).
        let (taken, err) = fill_scope(&mut tx, &mut wire, len);
        let expected = (max - 32 - 20) / per_line;
        assert_eq!(taken as u64, expected, "declared {declared:?}");
        assert_eq!(
            err,
            SepError::Security(SecurityError::LimitExceeded {
                len: 32 + (expected + 1) * per_line + 20,
                max,
            })
        );
        // The refusal left the scope intact: FE closes it over the lines it took, and the
        // receiver verifies them all.
        let (out, _) = send(&mut tx, &fe(1));
        assert_eq!(
            indices(&out),
            [1 + taken as u32, 2 + taken as u32],
            "close record, then FE"
        );
        wire.extend(out);
        let o = receive_all(&mut rx, &split(&wire));
        assert!(o.errors.is_empty(), "{:?}", o.errors);
        assert!(o.pending.is_empty());
        assert_eq!(o.accepted().len(), taken + 2);
        assert_eq!(clean_frames(&o), 1);
    }
}

#[test]
fn keys_for_16_byte_tags_only_are_bounded_by_gcm_alone() {
    let suite = CipherSuite::Aes128Gmac;
    let cfg = uniform(
        SecurityVariant::FullIntegrity,
        suite,
        TagLen::L16,
        TagMode::PerFrame,
    );
    let key = || material(suite, 5).with_min_tag_len(TagLen::L16);
    let (mut tx, _) = pair_with(small_settings(), cfg, key);
    let _ = send(&mut tx, &fs(1));
    for n in 0..10 {
        let _ = send(&mut tx, &line(DataType::RAW12, 8000, n));
    }
    let _ = send(&mut tx, &fe(1));
}

/// Runs one frame whose message index is moved to `start` after the first line; returns the
/// indices of everything written after that and the number of lines accepted.
fn run_to_index_limit(mode: TagMode, start: u32) -> (Vec<u32>, usize) {
    let suite = CipherSuite::Aes128Gmac;
    let cfg = uniform(SecurityVariant::FullIntegrity, suite, TagLen::L16, mode);
    let (mut tx, _) = pair_with(Settings::new(vc()), cfg, || material(suite, 6));
    let _ = send(&mut tx, &fs(1));
    let _ = send(&mut tx, &line(DataType::RAW12, 16, 0));
    tx.set_next_message_index(start).unwrap();
    // The hook never moves the index back.
    assert_eq!(
        tx.set_next_message_index(start - 1),
        Err(SepError::UnexpectedPacket)
    );
    let mut idx = Vec::new();
    let mut lines = 0;
    loop {
        let p = line(DataType::RAW12, 16, 1);
        let before = snapshot(&tx);
        let mut out = vec![SENTINEL; max_protected_len(p.len())];
        match tx.protect(&p, &mut out) {
            Ok(r) => {
                idx.extend(indices(&out[..r.len]));
                lines += 1;
            }
            Err(e) => {
                assert_eq!(e, SepError::MessageIndexExhausted);
                assert!(out.iter().all(|b| *b == SENTINEL), "bytes written");
                assert_eq!(snapshot(&tx), before);
                // Refused again: nothing moved.
                refused(&mut tx, &p, SepError::MessageIndexExhausted);
                break;
            }
        }
        assert!(lines < 8, "never refused");
    }
    // FE always fits: the transmitter kept the indices to close the scopes and end the frame.
    let (out, _) = send(&mut tx, &fe(1));
    idx.extend(indices(&out));
    assert!(!tx.in_frame());
    // The next frame starts again at index 0, with the next frame counter.
    assert_eq!(tx.next_frame_counter(), 8);
    let (out, _) = send(&mut tx, &fs(2));
    assert_eq!(indices(&out), [0]);
    (idx, lines)
}

#[test]
fn per_message_frames_end_at_index_u32_max_and_never_wrap() {
    let (idx, lines) = run_to_index_limit(TagMode::PerMessage, u32::MAX - 3);
    // Lines at MAX-3, MAX-2, MAX-1; the next line is refused; FE takes MAX.
    assert_eq!(lines, 3);
    assert_eq!(idx, [u32::MAX - 3, u32::MAX - 2, u32::MAX - 1, u32::MAX]);
}

#[test]
fn scoped_frames_keep_room_for_the_close_record_and_fe() {
    let (idx, lines) = run_to_index_limit(TagMode::PerFrame, u32::MAX - 4);
    // Lines at MAX-4..=MAX-2 (each leaves one close record and FE to come); the line that
    // would take MAX-1 is refused; FE writes the close record at MAX-1 and itself at MAX.
    assert_eq!(lines, 3);
    assert_eq!(
        idx,
        [
            u32::MAX - 4,
            u32::MAX - 3,
            u32::MAX - 2,
            u32::MAX - 1,
            u32::MAX
        ]
    );
}

fn mac_config(suite: CipherSuite) -> FrameConfig {
    uniform(
        SecurityVariant::FullIntegrity,
        suite,
        TagLen::L16,
        TagMode::PerMessage,
    )
}

#[test]
fn a_key_is_pinned_to_the_mac_algorithm_of_its_first_frame() {
    // One material with a key and a MAC key can serve both families; the key id may not.
    let key = || material(CipherSuite::Aes128Cmac, 9);
    let gmac = mac_config(CipherSuite::Aes128Gmac);
    let cmac = mac_config(CipherSuite::Aes128Cmac);
    let mut tx = Transmitter::new(Settings::new(vc()), 1);
    tx.install_key(KeyId::default(), key()).unwrap();
    // Before its first use the key is not pinned: the configuration may change family.
    tx.set_config(cmac).unwrap();
    tx.set_config(gmac).unwrap();
    // SV-5 frames use no MAC and pin nothing.
    let none = uniform(
        SecurityVariant::NoSecurity,
        CipherSuite::Aes128Cmac,
        TagLen::L16,
        TagMode::PerMessage,
    );
    tx.set_config(none).unwrap();
    let _ = send(&mut tx, &fs(1));
    let _ = send(&mut tx, &fe(1));
    tx.set_config(gmac).unwrap();
    let _ = send(&mut tx, &fs(2));
    // Pinned to GMAC at that FS: CMAC is refused, inside the frame and after it.
    assert_eq!(tx.set_config(cmac), Err(SepError::MixedKeyFamilies));
    let _ = send(&mut tx, &fe(2));
    assert_eq!(tx.set_config(cmac), Err(SepError::MixedKeyFamilies));
    // The configuration in effect is still GMAC: the next frame verifies at a GMAC receiver.
    let mut rx = Receiver::new(Settings::new(vc()), Policy::PERMISSIVE, 1000);
    rx.install_key(KeyId::default(), key()).unwrap();
    let mut wire = send(&mut tx, &fs(3)).0;
    wire.extend(send(&mut tx, &line(DataType::RAW12, 32, 3)).0);
    wire.extend(send(&mut tx, &fe(3)).0);
    let o = receive_all(&mut rx, &split(&wire));
    assert!(o.errors.is_empty(), "{:?}", o.errors);
    match o.events.first() {
        Some(Event::FrameStart { config, .. }) => {
            assert_eq!(config.image.suite, CipherSuite::Aes128Gmac)
        }
        other => panic!("{other:?}"),
    }
    // A new key id (a new key) starts unpinned.
    tx.install_key(KeyId::new(1).unwrap(), key()).unwrap();
    tx.set_config(FrameConfig {
        key_id: KeyId::new(1).unwrap(),
        ..cmac
    })
    .unwrap();
}

#[test]
fn frame_counter_soft_limit_asks_for_a_restart_and_the_hard_limit_refuses() {
    let suite = CipherSuite::Aes128Gmac;
    let cfg = mac_config(suite);
    let at = |fc: u32| {
        let mut tx = Transmitter::new(Settings::new(vc()), fc);
        tx.install_key(KeyId::default(), material(suite, 2))
            .unwrap();
        tx.set_config(cfg).unwrap();
        tx
    };
    let mut tx = at(0xC000_0000 - 1);
    let (_, s) = send(&mut tx, &fs(1));
    assert_eq!(s, UsageStatus::Ok);
    let (_, s) = send(&mut tx, &line(DataType::RAW12, 8, 0));
    assert_eq!(s, UsageStatus::Ok);
    let _ = send(&mut tx, &fe(1));
    // From the soft limit on, every call reports it (a restart, not a rekey).
    let (_, s) = send(&mut tx, &fs(2));
    assert_eq!(s, UsageStatus::NeedsRestart);
    let (_, s) = send(&mut tx, &line(DataType::RAW12, 8, 0));
    assert_eq!(s, UsageStatus::NeedsRestart);
    // Frame counter u32::MAX - 1 is the last one; u32::MAX is refused, and stays refused.
    let mut tx = at(u32::MAX - 1);
    let _ = send(&mut tx, &fs(1));
    let _ = send(&mut tx, &fe(1));
    assert_eq!(tx.next_frame_counter(), u32::MAX);
    for _ in 0..2 {
        refused(
            &mut tx,
            &fs(2),
            SepError::Security(SecurityError::KeyExhausted),
        );
    }
}

#[test]
fn invocation_soft_limit_asks_for_a_rekey() {
    let suite = CipherSuite::Aes128Gmac;
    let mut settings = Settings::new(vc());
    settings.profile.soft_limit_percent = 0;
    let mut tx = Transmitter::new(settings, 1);
    tx.install_key(KeyId::default(), material(suite, 2))
        .unwrap();
    tx.set_config(mac_config(suite)).unwrap();
    let mut out = vec![0; 128];
    let r = tx.protect(&fs(1), &mut out).unwrap();
    assert!(r.needs_rekey() && !r.needs_restart());
}

#[test]
fn max_protected_len_is_the_exact_worst_case() {
    // Four per-data-type scopes open in the image block (RAW12, LS, LE, RAW10), 16-byte tags:
    // FE writes four close records and itself.
    let suite = CipherSuite::Aes256Gmac;
    let pdt = BlockConfig {
        sv: SecurityVariant::FullIntegrity,
        suite,
        tag_len: TagLen::L16,
        tag_mode: TagMode::PerDataType,
    };
    let cfg = FrameConfig {
        top: pdt,
        image: pdt,
        bottom: pdt,
        key_id: KeyId::default(),
    };
    let (mut tx, mut rx) = pair_with(Settings::new(vc()), cfg, || material(suite, 8));
    let frame = [
        fs(1),
        line(DataType::RAW12, 100, 1),
        short(DataType::LS),
        short(DataType::LE),
        line(DataType::RAW10, 100, 2),
        fe(1),
    ];
    let mut wire = Vec::new();
    let mut last = 0;
    for p in &frame {
        let (out, _) = send(&mut tx, p);
        assert!(out.len() <= max_protected_len(p.len()));
        last = out.len();
        wire.extend(out);
    }
    assert_eq!(last, max_protected_len(4));
    assert_eq!(MAX_SEP_OVERHEAD, 202);
    let o = receive_all(&mut rx, &split(&wire));
    assert!(o.errors.is_empty(), "{:?}", o.errors);
    assert_eq!(clean_frames(&o), 1);
    // One byte less is refused with nothing written and no state moved.
    let mut tx = pair_with(Settings::new(vc()), cfg, || material(suite, 8)).0;
    for p in &frame[..5] {
        let _ = send(&mut tx, p);
    }
    let before = snapshot(&tx);
    let mut out = vec![SENTINEL; max_protected_len(4) - 1];
    assert!(matches!(
        tx.protect(&fe(1), &mut out),
        Err(SepError::Config(
            cse_core::ConfigError::BufferTooSmall { .. }
        ))
    ));
    assert!(out.iter().all(|b| *b == SENTINEL));
    assert_eq!(snapshot(&tx), before);
    let (out, _) = send(&mut tx, &fe(1));
    assert_eq!(out.len(), max_protected_len(4));
}

/// An original packet of SEP's own data type would come out of a receiver looking like an SEP
/// packet: the transmitter refuses it (as the FSED transmitter refuses FSED's), whatever data
/// type the profile gives SEP, and the frame goes on as if it had never been offered.
#[test]
fn an_original_of_the_sep_data_type_is_refused() {
    let suite = CipherSuite::Aes256Gmac;
    let cfg = mac_config(suite);
    for dt_sep in [Profile::DRAFT_1.dt_sep, DataType(0x31)] {
        let mut settings = Settings::new(vc());
        settings.profile.dt_sep = dt_sep;
        let (mut tx, mut rx) = pair_with(settings, cfg, || material(suite, 9));
        let mut wire = Vec::new();
        for p in [fs(1), line(DataType::RAW12, 64, 1)] {
            wire.extend(send(&mut tx, &p).0);
        }
        refused(&mut tx, &line(dt_sep, 64, 2), SepError::UnexpectedPacket);
        let before = snapshot(&tx);
        let payload = [0x5A; 64];
        let repr = cse_core::csi2::Repr::long(vc(), dt_sep, 64);
        let mut out = vec![SENTINEL; max_protected_len(70)];
        assert_eq!(
            tx.protect_repr(&repr, &payload, &mut out),
            Err(SepError::UnexpectedPacket)
        );
        assert!(out.iter().all(|b| *b == SENTINEL));
        assert_eq!(snapshot(&tx), before);
        for p in [line(DataType::RAW12, 64, 3), fe(1)] {
            wire.extend(send(&mut tx, &p).0);
        }
        let o = receive_all(&mut rx, &split(&wire));
        assert!(o.errors.is_empty(), "{:?}", o.errors);
        assert_eq!(clean_frames(&o), 1);
    }
}
