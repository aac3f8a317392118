//! Outsider round 2: declared key limits at their exact edges (`KeyMaterial::with_max_mac_input`,
//! `with_min_tag_len`; docs/security.md "MAC input length"): the largest row of SP 800-38D
//! Appendix C Table 2 for 8-byte tags is 2^25 bytes, GCM's own bound for 16-byte tags
//! 2^36 - 32 bytes; a key that was not declared for short tags is never used with them.

use cse_core::csi2::{DataType, Emitter, HeaderForm, Packets, VirtualChannel};
use cse_core::keys::{Salt, SecretKey};
use cse_core::{
    BlockConfig, CipherSuite, ConfigError, FrameConfig, KeyId, Policy, SecurityVariant, SvLevel,
    TagLen, TagMode,
};
use cse_sep::{KeyMaterial, Receiver, SepError, Settings, Transmitter};

fn vc() -> VirtualChannel {
    VirtualChannel::new(0).expect("vc")
}

fn material(min: TagLen, declared: u64) -> KeyMaterial {
    KeyMaterial::new(SecretKey::aes256([1; 32]), None, Salt::new([2; 12]))
        .with_min_tag_len(min)
        .with_max_mac_input(declared)
}

fn config(tag_len: TagLen) -> FrameConfig {
    FrameConfig::uniform(
        BlockConfig {
            sv: SecurityVariant::FullIntegrity,
            suite: CipherSuite::Aes256Gmac,
            tag_len,
            tag_mode: TagMode::PerMessage,
        },
        KeyId::default(),
    )
}

fn frame() -> Vec<Vec<u8>> {
    let mut buf = vec![0u8; 256];
    let mut em = Emitter::new(&mut buf, HeaderForm::Dphy);
    em.frame_start(vc(), 1).expect("fs");
    em.long(vc(), DataType::RAW8, &[9; 16]).expect("line");
    em.frame_end(vc(), 1).expect("fe");
    let all = em.written().to_vec();
    Packets::new(&all, HeaderForm::Dphy)
        .map(|p| p.expect("packet").raw.to_vec())
        .collect()
}

/// Everything observable apart from the rejection counters.
fn view(rx: &Receiver) -> String {
    let mut fusa = *rx.fusa_stats();
    fusa.crc16_errors = 0;
    fusa.crc32_errors = 0;
    let mut sec = *rx.security_stats();
    sec.auth_failures = 0;
    sec.replays = 0;
    sec.downgrades = 0;
    sec.unknown_key_ids = 0;
    sec.key_exhausted = 0;
    sec.limit_exceeded = 0;
    let mut proto = *rx.protocol_stats();
    proto.malformed = 0;
    proto.unexpected = 0;
    format!("{fusa:?} {sec:?} {proto:?} {rx:?}")
        .split("id: ReceiverId")
        .next()
        .unwrap_or_default()
        .to_owned()
}

#[test]
fn the_largest_rows_are_accepted_and_one_byte_more_is_refused_at_install() {
    for (min, edge) in [(TagLen::L8, 1u64 << 25), (TagLen::L16, (1u64 << 36) - 32)] {
        let mut tx = Transmitter::new(Settings::new(vc()), 1);
        tx.install_key(KeyId::default(), material(min, edge))
            .expect("the edge itself");
        let mut tx = Transmitter::new(Settings::new(vc()), 1);
        let e = tx
            .install_key(KeyId::default(), material(min, edge + 1))
            .expect_err("one byte past the last row");
        assert_eq!(
            e,
            SepError::Config(ConfigError::TagLen(min.as_u8())),
            "{min:?}"
        );
        assert!(!tx.has_keys(), "{min:?}: a refused key is not installed");
        let mut rx = Receiver::new(Settings::new(vc()), Policy::PERMISSIVE, 10);
        assert!(
            rx.install_key(KeyId::default(), material(min, edge + 1))
                .is_err()
        );
        rx.install_key(KeyId::default(), material(min, edge))
            .expect("receiver: the edge itself");
    }
}

/// The sender's key allows 8-byte tags, the receiver's only 16: the receiver refuses the
/// frame start and moves nothing; the rest of the frame is refused too (no frame open).
#[test]
fn a_receiver_key_without_short_tags_refuses_a_short_tag_frame() {
    let mut tx = Transmitter::new(Settings::new(vc()), 1);
    tx.install_key(KeyId::default(), material(TagLen::L8, 0))
        .expect("key");
    tx.set_config(config(TagLen::L8)).expect("config");
    let mut wire = Vec::new();
    let mut out = vec![0u8; 256];
    for p in frame() {
        let done = tx.protect(&p, &mut out).expect("protect");
        wire.push(out[..done.len].to_vec());
    }
    let policy = Policy {
        min_top: SvLevel::Sv2,
        min_image: SvLevel::Sv2,
        min_bottom: SvLevel::Sv2,
    };
    let mut rx = Receiver::new(Settings::new(vc()), policy, 10);
    rx.install_key(KeyId::default(), material(TagLen::L16, 0))
        .expect("key");
    let before = view(&rx);
    for (t, p) in wire.iter().enumerate() {
        let mut buf = vec![0xEEu8; 256];
        let r = rx.receive(p, t as u64, &mut buf);
        assert!(r.is_err(), "packet {t}: {r:?}");
        assert!(
            buf[..p.len()].iter().all(|&b| b == 0),
            "packet {t}: not wiped"
        );
        assert_eq!(rx.poll_event(t as u64), None, "packet {t}");
    }
    assert_eq!(view(&rx), before, "receiver state moved");
    assert_eq!(rx.protocol_stats().verified, 0);
    // And the sender's transmitter with a 16-byte-only key refuses the short-tag config.
    let mut tx = Transmitter::new(Settings::new(vc()), 1);
    tx.install_key(KeyId::default(), material(TagLen::L16, 0))
        .expect("key");
    let r = tx.set_config(config(TagLen::L8));
    let mut out = vec![0xEEu8; 256];
    let fs = tx.protect(&frame()[0], &mut out);
    assert!(
        r.is_err() || fs.is_err(),
        "a 16-byte-only key made an 8-byte tag: {r:?} {fs:?}"
    );
    if fs.is_err() {
        assert!(out.iter().all(|&b| b == 0xEE), "bytes written");
    }
}
