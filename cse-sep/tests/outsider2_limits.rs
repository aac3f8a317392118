//! Outsider round 2: the MAC-input limit of short-tag keys at its exact boundary
//! (docs/security.md, "MAC input length"), written against the public API and the docs only.
//!
//! An SEP per-frame scope covers the context block (32 bytes), then per covered packet its SEP
//! header (12) and covered prefix (4) and payload, then the close record (header 12, prefix 4,
//! count 4). With 8-byte tags and no declared size, a key gets the Appendix C row of
//! `Profile::max_message_len` (65 600 bytes): 2^17 bytes.

use cse_core::csi2::{DataType, Emitter, HeaderForm, Packets, VirtualChannel};
use cse_core::keys::{Salt, SecretKey};
use cse_core::rx::Event;
use cse_core::{
    BlockConfig, CipherSuite, FrameConfig, KeyId, Policy, SecurityError, SecurityVariant, SvLevel,
    TagLen, TagMode,
};
use cse_sep::{Delivery, KeyMaterial, Receiver, SepError, Settings, Transmitter};

const OUT: usize = 70_000;
const ROW: u64 = 1 << 17;
const SENTINEL: u8 = 0xEE;

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
        tag_mode: TagMode::PerMessage,
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

/// FS, a top embedded line, RAW8 lines of the given lengths, a bottom embedded line, FE.
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

/// Image lines whose per-frame scope covers exactly `ROW + extra` bytes.
fn lines(extra: usize) -> Vec<usize> {
    // 32 + 16 x (16 + 8000) + (16 + last) + 20 = ROW + extra.
    let mut v = vec![8000; 16];
    let fixed = 32 + 16 * 8016 + 16 + 20;
    v.push(ROW as usize - fixed + extra);
    v
}

fn tx(declared: Option<u64>) -> Transmitter {
    let mut tx = Transmitter::new(Settings::new(vc()), 1);
    tx.install_key(KeyId::default(), material(declared))
        .expect("key");
    tx.set_config(config()).expect("config");
    tx
}

/// Protects every packet; returns the SEP packets and the error of each refused original.
fn protect_all(tx: &mut Transmitter, f: &[Vec<u8>]) -> (Vec<Vec<u8>>, Vec<(usize, SepError)>) {
    let mut wire = Vec::new();
    let mut refused = Vec::new();
    for (i, p) in f.iter().enumerate() {
        let mut out = vec![SENTINEL; OUT];
        match tx.protect(p, &mut out) {
            Ok(done) => {
                for s in Packets::new(&out[..done.len], HeaderForm::Dphy) {
                    wire.push(s.expect("sep").raw.to_vec());
                }
            }
            Err(e) => {
                assert!(
                    out.iter().all(|&b| b == SENTINEL),
                    "refused packet {i}: bytes written"
                );
                refused.push((i, e));
            }
        }
    }
    (wire, refused)
}

#[derive(Debug, PartialEq, Eq)]
enum Got {
    Verified(usize),
    Unverified(usize),
    Unprotected(usize),
    Scope(core::ops::Range<u32>),
    Err(String),
}

fn receive_all(rx: &mut Receiver, wire: &[Vec<u8>]) -> (Vec<Got>, Vec<Event>) {
    let mut got = Vec::new();
    let mut events = Vec::new();
    for (t, p) in wire.iter().enumerate() {
        let mut out = vec![SENTINEL; OUT];
        let g = match rx.receive(p, t as u64, &mut out) {
            Ok(Delivery::Verified(v)) => Got::Verified(v.packet().len()),
            Ok(Delivery::Unverified(u)) => Got::Unverified(u.unverified_packet().len()),
            Ok(Delivery::Unprotected(u)) => Got::Unprotected(u.unauthenticated_packet().len()),
            Ok(Delivery::ScopeVerified(s)) => Got::Scope(s.indices()),
            Ok(_) => Got::Err("unknown delivery".into()),
            Err(e) => {
                let n = p.len().min(OUT);
                assert!(out[..n].iter().all(|&b| b == 0), "{e:?}: output not wiped");
                Got::Err(format!("{e:?}"))
            }
        };
        got.push(g);
        events.extend(core::iter::from_fn(|| rx.poll_event(t as u64)));
    }
    (got, events)
}

fn rx(declared: Option<u64>) -> Receiver {
    let mut rx = Receiver::new(Settings::new(vc()), POLICY, 1_000_000);
    rx.install_key(KeyId::default(), material(declared))
        .expect("key");
    rx
}

fn frame_complete(events: &[Event]) -> Vec<(u32, bool)> {
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
fn a_per_frame_scope_of_exactly_the_row_is_protected_and_verifies() {
    let f = frame(&lines(0));
    let (wire, refused) = protect_all(&mut tx(None), &f);
    assert!(refused.is_empty(), "{refused:?}");
    let (got, events) = receive_all(&mut rx(None), &wire);
    assert!(!got.iter().any(|g| matches!(g, Got::Err(_))), "{got:?}");
    assert_eq!(
        got.iter().filter(|g| matches!(g, Got::Scope(_))).count(),
        1,
        "{got:?}"
    );
    assert_eq!(frame_complete(&events), [(1, true)]);
}

#[test]
fn one_byte_past_the_row_is_refused_by_the_transmitter_and_moves_nothing() {
    let over = frame(&lines(1));
    let mut a = tx(None);
    let (wire_a, refused) = protect_all(&mut a, &over);
    // The last image line (index 2 + 16) is the one that takes the scope past the row.
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert_eq!(refused[0].0, 2 + 16);
    assert!(
        matches!(
            refused[0].1,
            SepError::Security(SecurityError::LimitExceeded { len, max })
                if len == ROW + 1 && max == ROW
        ),
        "{:?}",
        refused[0].1
    );
    // A twin that never saw the refused line writes the same bytes.
    let mut without = over.clone();
    without.remove(2 + 16);
    let (wire_b, refused_b) = protect_all(&mut tx(None), &without);
    assert!(refused_b.is_empty());
    assert_eq!(wire_a, wire_b);
    // And the scope it closed verifies.
    let (got, events) = receive_all(&mut rx(None), &wire_a);
    assert!(!got.iter().any(|g| matches!(g, Got::Err(_))), "{got:?}");
    assert_eq!(frame_complete(&events), [(1, true)]);
}

#[test]
fn a_scope_one_byte_past_the_receivers_row_never_verifies() {
    // The sender declared a larger size than the receiver's key allows.
    let f = frame(&lines(1));
    let (wire, refused) = protect_all(&mut tx(Some(ROW * 2)), &f);
    assert!(refused.is_empty(), "{refused:?}");
    let (got, events) = receive_all(&mut rx(None), &wire);
    assert!(!got.iter().any(|g| matches!(g, Got::Scope(_))), "{got:?}");
    assert_eq!(
        got[got.len() - 3],
        Got::Err(format!(
            "{:?}",
            SepError::Security(SecurityError::LimitExceeded {
                len: ROW + 1,
                max: ROW
            })
        ))
    );
    assert!(
        events.iter().any(|e| matches!(e, Event::ScopeFailed(_))),
        "{events:?}"
    );
    assert_eq!(frame_complete(&events), [(1, false)], "{events:?}");
    // At exactly the row, the same two ends agree.
    let f = frame(&lines(0));
    let (wire, _) = protect_all(&mut tx(Some(ROW * 2)), &f);
    let (got, events) = receive_all(&mut rx(None), &wire);
    assert!(got.iter().any(|g| matches!(g, Got::Scope(_))), "{got:?}");
    assert_eq!(frame_complete(&events), [(1, true)]);
}
