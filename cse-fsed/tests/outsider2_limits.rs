//! Outsider round 2: the MAC-input row of an 8-byte-tag key at its exact boundary for an FSED
//! per-frame scope (docs/security.md, "MAC input length"): the context block (32), the frame
//! header packet (prefix 4, payload 40), per covered packet its message index (4), covered
//! prefix (4) and payload, then the tag record (prefix 4, 32 bytes before the tag). Without a
//! declared size the row is the one of `Profile::max_message_len`: 2^17 bytes.

use cse_core::csi2::{DataType, Emitter, HeaderForm, Packets, VirtualChannel};
use cse_core::keys::{Salt, SecretKey};
use cse_core::rx::Event;
use cse_core::{
    BlockConfig, CipherSuite, FrameConfig, KeyId, Policy, SecurityError, SecurityVariant, SvLevel,
    TagLen, TagMode,
};
use cse_fsed::{Delivery, FsedError, KeyMaterial, Receiver, Settings, Transmitter};

const ROW: u64 = 1 << 17;

fn vc() -> VirtualChannel {
    VirtualChannel::new(0).expect("vc")
}

fn material(declared: Option<u64>) -> KeyMaterial {
    let m = KeyMaterial::new(SecretKey::aes256([3; 32]), None, Salt::new([4; 12]))
        .with_min_tag_len(TagLen::L8);
    match declared {
        Some(d) => m.with_max_mac_input(d),
        None => m,
    }
}

fn config() -> FrameConfig {
    let sv5 = BlockConfig {
        sv: SecurityVariant::NoSecurity,
        suite: CipherSuite::Aes256Gmac,
        tag_len: TagLen::L16,
        tag_mode: TagMode::PerFrame,
    };
    FrameConfig {
        top: sv5,
        image: BlockConfig {
            sv: SecurityVariant::FullIntegrity,
            suite: CipherSuite::Aes256Gmac,
            tag_len: TagLen::L8,
            tag_mode: TagMode::PerFrame,
        },
        bottom: sv5,
        key_id: KeyId::default(),
    }
}

const POLICY: Policy = Policy {
    min_top: SvLevel::Sv5,
    min_image: SvLevel::Sv2,
    min_bottom: SvLevel::Sv5,
};

fn frame(lines: &[usize]) -> Vec<Vec<u8>> {
    let mut buf = vec![0u8; 256 + lines.iter().map(|l| l + 16).sum::<usize>()];
    let mut em = Emitter::new(&mut buf, HeaderForm::Dphy);
    em.frame_start(vc(), 1).expect("fs");
    em.long(vc(), DataType::EMBEDDED, &[0x11; 12]).expect("emb");
    for (i, &l) in lines.iter().enumerate() {
        em.long(vc(), DataType::RAW8, &vec![i as u8; l])
            .expect("line");
    }
    em.long(vc(), DataType::EMBEDDED, &[0x22; 12]).expect("emb");
    em.frame_end(vc(), 1).expect("fe");
    let all = em.written().to_vec();
    Packets::new(&all, HeaderForm::Dphy)
        .map(|p| p.expect("packet").raw.to_vec())
        .collect()
}

/// Image lines whose scope covers exactly `ROW + extra` bytes.
fn lines(extra: usize) -> Vec<usize> {
    let mut v = vec![8000; 16];
    let fixed = 32 + 44 + 16 * 8008 + 8 + 36;
    v.push(ROW as usize - fixed + extra);
    v
}

fn protect_all(declared: Option<u64>, f: &[Vec<u8>]) -> (Vec<Vec<u8>>, Vec<(usize, FsedError)>) {
    let mut tx = Transmitter::new(Settings::new(vc()), 1);
    tx.install_key(KeyId::default(), material(declared))
        .expect("key");
    tx.set_config(config()).expect("config");
    let mut wire = Vec::new();
    let mut refused = Vec::new();
    let mut ins = [0u8; cse_fsed::tx::MAX_INSERTED_LEN];
    for (i, p) in f.iter().enumerate() {
        let mut p = p.clone();
        let before = p.clone();
        match tx.protect(&mut p, &mut ins) {
            Ok(r) => {
                for part in [r.before(&ins), &p, r.after(&ins)] {
                    for s in Packets::new(part, HeaderForm::Dphy) {
                        wire.push(s.expect("packet").raw.to_vec());
                    }
                }
            }
            Err(e) => {
                assert_eq!(p, before, "refused packet {i} changed");
                refused.push((i, e));
            }
        }
    }
    (wire, refused)
}

fn receive_all(declared: Option<u64>, wire: &[Vec<u8>]) -> (usize, Vec<String>, Vec<Event>) {
    let mut rx = Receiver::new(Settings::new(vc()), POLICY, 1_000_000);
    rx.install_key(KeyId::default(), material(declared))
        .expect("key");
    let mut scopes = 0;
    let mut errors = Vec::new();
    let mut events = Vec::new();
    for (t, p) in wire.iter().enumerate() {
        match rx.receive(p, t as u64) {
            Ok(Delivery::ScopeVerified(_)) => scopes += 1,
            Ok(_) => {}
            Err(e) => errors.push(format!("{t}: {e:?}")),
        }
        events.extend(core::iter::from_fn(|| rx.poll_event(t as u64)));
    }
    (scopes, errors, events)
}

fn completes(events: &[Event]) -> Vec<(u32, bool)> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::FrameComplete {
                frame_counter,
                clean,
                ..
            } => Some((*frame_counter, *clean)),
            _ => None,
        })
        .collect()
}

#[test]
fn an_fsed_scope_of_exactly_the_row_is_protected_and_verifies() {
    let (wire, refused) = protect_all(None, &frame(&lines(0)));
    assert!(refused.is_empty(), "{refused:?}");
    let (scopes, errors, events) = receive_all(None, &wire);
    assert!(errors.is_empty(), "{errors:?}");
    // The image scope and the (untagged) SV-5 frame scope of the top and bottom blocks.
    assert_eq!(scopes, 2);
    assert_eq!(completes(&events), [(1, true)]);
}

#[test]
fn one_byte_past_the_row_is_refused_and_the_rest_of_the_stream_is_the_twins() {
    let over = frame(&lines(1));
    let (wire, refused) = protect_all(None, &over);
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert_eq!(refused[0].0, 2 + 16);
    assert!(
        matches!(
            refused[0].1,
            FsedError::Security(SecurityError::LimitExceeded { len, max })
                if len == ROW + 1 && max == ROW
        ),
        "{:?}",
        refused[0].1
    );
    let mut without = over.clone();
    without.remove(2 + 16);
    let (twin, _) = protect_all(None, &without);
    assert_eq!(wire, twin);
}

#[test]
fn a_scope_past_the_receivers_row_never_verifies() {
    let (wire, refused) = protect_all(Some(ROW * 2), &frame(&lines(1)));
    assert!(refused.is_empty(), "{refused:?}");
    let (scopes, errors, events) = receive_all(None, &wire);
    // The line that takes the scope past the row is refused (and, being refused, takes no
    // index), so the image record fails; so does the SV-5 bottom record after it, whose
    // indices count the refused line (observed; see the round-2 report).
    assert_eq!(scopes, 0, "{errors:?}");
    assert_eq!(errors.len(), 3, "{errors:?}");
    assert!(errors[0].contains("LimitExceeded { len: 131073, max: 131072 }"));
    assert!(errors[1].contains("block: Image"), "{errors:?}");
    assert_eq!(completes(&events), [(1, false)], "{events:?}");
    // At exactly the row the same two ends agree.
    let (wire, _) = protect_all(Some(ROW * 2), &frame(&lines(0)));
    let (scopes, errors, events) = receive_all(None, &wire);
    assert_eq!(scopes, 2, "{errors:?}");
    assert_eq!(completes(&events), [(1, true)]);
}
