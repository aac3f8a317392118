//! Outsider round 2: the invocation limits of an 8-byte-tag key at the Appendix C row its
//! declared MAC-input size selects (docs/security.md, "Key invocations" and "MAC input
//! length"): a key declared for 2^25-byte inputs gets 2^17 invocations; the transmitter reports
//! `NeedsRekey` past `soft_limit_percent` (75 in `draft-1`) of them, the receiver queues
//! `Event::NeedsRekey` once at the same packet, and no tag is ever made past the hard limit.

use cse_core::csi2::{DataType, Emitter, HeaderForm, Packets, VirtualChannel};
use cse_core::keys::{Salt, SecretKey, UsageStatus};
use cse_core::rx::Event;
use cse_core::{
    BlockConfig, CipherSuite, FrameConfig, KeyId, Policy, SecurityError, SecurityVariant, SvLevel,
    TagLen, TagMode,
};
use cse_sep::{Delivery, KeyMaterial, Receiver, SepError, Settings, Transmitter};

const HARD: usize = 1 << 17;
const SOFT: usize = HARD / 100 * 75 + (HARD % 100) * 75 / 100;

fn vc() -> VirtualChannel {
    VirtualChannel::new(0).expect("vc")
}

fn material() -> KeyMaterial {
    KeyMaterial::new(SecretKey::aes128([5; 16]), None, Salt::new([6; 12]))
        .with_min_tag_len(TagLen::L8)
        .with_max_mac_input(1 << 25)
}

fn config() -> FrameConfig {
    FrameConfig::uniform(
        BlockConfig {
            sv: SecurityVariant::FullIntegrity,
            suite: CipherSuite::Aes128Gmac,
            tag_len: TagLen::L8,
            tag_mode: TagMode::PerMessage,
        },
        KeyId::default(),
    )
}

/// FS, 4000 four-byte RAW8 lines, FE.
fn frame(n: u16) -> Vec<Vec<u8>> {
    let mut buf = vec![0u8; 4000 * 12 + 64];
    let mut em = Emitter::new(&mut buf, HeaderForm::Dphy);
    em.frame_start(vc(), n).expect("fs");
    for l in 0..4000u32 {
        em.long(vc(), DataType::RAW8, &l.to_le_bytes())
            .expect("line");
    }
    em.frame_end(vc(), n).expect("fe");
    let all = em.written().to_vec();
    Packets::new(&all, HeaderForm::Dphy)
        .map(|p| p.expect("packet").raw.to_vec())
        .collect()
}

#[test]
fn a_key_declared_for_2_25_bytes_gets_2_17_invocations_and_asks_for_a_rekey_at_75_percent() {
    let mut tx = Transmitter::new(Settings::new(vc()), 1);
    tx.install_key(KeyId::default(), material()).expect("key");
    tx.set_config(config()).expect("config");
    let mut wire = Vec::new();
    let mut first_rekey = None;
    let mut out = vec![0u8; 256];
    let mut refused = None;
    'frames: for n in 1..=40u16 {
        for p in frame(n) {
            match tx.protect(&p, &mut out) {
                Ok(done) => {
                    assert_eq!(done.packets, 1);
                    wire.push(out[..done.len].to_vec());
                    if done.usage == UsageStatus::NeedsRekey {
                        first_rekey.get_or_insert(wire.len());
                    } else {
                        assert!(
                            first_rekey.is_none(),
                            "NeedsRekey not reported on every call"
                        );
                    }
                }
                Err(e) => {
                    refused = Some(e);
                    break 'frames;
                }
            }
        }
    }
    // Every SEP packet carries one tag: the count of packets is the count of invocations.
    assert_eq!(
        refused,
        Some(SepError::Security(SecurityError::KeyExhausted)),
        "after {} tags",
        wire.len()
    );
    assert_eq!(wire.len(), HARD, "tags made under the key");
    let first_rekey = first_rekey.expect("NeedsRekey reported");
    // Reported with the tag that reaches the soft limit (the safe side of "past").
    assert_eq!(first_rekey, SOFT, "first packet reporting NeedsRekey");

    let policy = Policy {
        min_top: SvLevel::Sv2,
        min_image: SvLevel::Sv2,
        min_bottom: SvLevel::Sv2,
    };
    let mut rx = Receiver::new(Settings::new(vc()), policy, 1_000_000);
    rx.install_key(KeyId::default(), material()).expect("key");
    let mut out = vec![0u8; 256];
    let mut rekey_events = Vec::new();
    for (t, p) in wire.iter().enumerate() {
        let r = rx.receive(p, t as u64, &mut out);
        assert!(matches!(r, Ok(Delivery::Verified(_))), "packet {t}: {r:?}");
        while let Some(e) = rx.poll_event(t as u64) {
            if matches!(e, Event::NeedsRekey { .. }) {
                rekey_events.push(t + 1);
            }
        }
    }
    assert_eq!(rekey_events, [first_rekey], "receiver NeedsRekey");
}

/// Protects frame 1 (FS, 4000 lines, FE) under `key` bytes; returns the SEP packets.
fn protect_frame(key: u8) -> Vec<Vec<u8>> {
    let mut tx = Transmitter::new(Settings::new(vc()), 1);
    let m = KeyMaterial::new(SecretKey::aes128([key; 16]), None, Salt::new([6; 12]))
        .with_min_tag_len(TagLen::L8)
        .with_max_mac_input(1 << 25);
    tx.install_key(KeyId::default(), m).expect("key");
    tx.set_config(config()).expect("config");
    let mut out = vec![0u8; 256];
    frame(1)
        .iter()
        .map(|p| {
            let done = tx.protect(p, &mut out).expect("protect");
            out[..done.len].to_vec()
        })
        .collect()
}

/// Forgery attempts spend the key's budget (SP 800-38D Appendix C counts failed decryptions;
/// `cse_core::keys::KeyUsage`). Whatever spends it, the receiver must report `NeedsRekey`
/// before the hard limit refuses genuine traffic (`Event::NeedsRekey`: "reported once per key,
/// before any hard limit").
#[test]
fn forgery_attempts_that_exhaust_the_key_are_reported_before_genuine_traffic_is_refused() {
    let genuine = protect_frame(5);
    let forged = protect_frame(0x77);
    let policy = Policy {
        min_top: SvLevel::Sv2,
        min_image: SvLevel::Sv2,
        min_bottom: SvLevel::Sv2,
    };
    let mut rx = Receiver::new(Settings::new(vc()), policy, 1_000_000);
    rx.install_key(KeyId::default(), material()).expect("key");
    let mut out = vec![0u8; 256];
    let mut rekey = 0;
    let mut drain = |rx: &mut Receiver| {
        while let Some(e) = rx.poll_event(0) {
            if matches!(e, Event::NeedsRekey { .. }) {
                rekey += 1;
            }
        }
    };
    for p in &genuine[..2] {
        assert!(matches!(
            rx.receive(p, 0, &mut out),
            Ok(Delivery::Verified(_))
        ));
        drain(&mut rx);
    }
    // The forger's line 2 (index 2, a wrong tag), sent until the key gives out.
    let mut attempts = 0;
    while attempts < HARD + 10 {
        let r = rx.receive(&forged[2], 0, &mut out);
        drain(&mut rx);
        attempts += 1;
        if matches!(r, Err(SepError::Security(SecurityError::KeyExhausted))) {
            break;
        }
        assert!(
            matches!(r, Err(SepError::Security(SecurityError::AuthFailed))),
            "{r:?}"
        );
    }
    let r = rx.receive(&genuine[2], 0, &mut out);
    let refused = matches!(r, Err(SepError::Security(SecurityError::KeyExhausted)));
    drain(&mut rx);
    assert!(
        !refused || rekey == 1,
        "genuine packet refused KeyExhausted after {attempts} forgeries, NeedsRekey queued {rekey} times"
    );
}

/// Forgeries that pass only the soft limit: the forgery whose failed tag takes the key to its
/// soft limit queues `NeedsRekey` (forgery attempts spend the key's budget, and the limit must
/// be reported before it bites), every other rejected packet queues nothing, and the next
/// genuine packet verifies without reporting it again.
#[test]
fn forgery_attempts_past_the_soft_limit_are_reported_with_the_next_genuine_packet() {
    let genuine = protect_frame(5);
    let forged = protect_frame(0x77);
    let policy = Policy {
        min_top: SvLevel::Sv2,
        min_image: SvLevel::Sv2,
        min_bottom: SvLevel::Sv2,
    };
    let mut rx = Receiver::new(Settings::new(vc()), policy, 1_000_000);
    rx.install_key(KeyId::default(), material()).expect("key");
    let mut out = vec![0u8; 256];
    for p in &genuine[..2] {
        assert!(matches!(
            rx.receive(p, 0, &mut out),
            Ok(Delivery::Verified(_))
        ));
    }
    while rx.poll_event(0).is_some() {}
    let mut reported_at = Vec::new();
    for i in 0..SOFT {
        let r = rx.receive(&forged[2], 0, &mut out);
        assert!(
            matches!(r, Err(SepError::Security(SecurityError::AuthFailed))),
            "{r:?}"
        );
        while let Some(e) = rx.poll_event(0) {
            assert_eq!(
                e,
                Event::NeedsRekey {
                    key_id: KeyId::default()
                },
                "attempt {i}"
            );
            reported_at.push(i);
        }
    }
    // Two genuine tags and SOFT - 2 failures reach the soft limit.
    assert_eq!(
        reported_at,
        [SOFT - 3],
        "NeedsRekey queued once, at the soft limit"
    );
    let r = rx.receive(&genuine[2], 0, &mut out);
    assert!(matches!(r, Ok(Delivery::Verified(_))), "{r:?}");
    let events: Vec<Event> = core::iter::from_fn(|| rx.poll_event(0)).collect();
    assert!(
        !events.iter().any(|e| matches!(e, Event::NeedsRekey { .. })),
        "reported once per key: {events:?}"
    );
}
