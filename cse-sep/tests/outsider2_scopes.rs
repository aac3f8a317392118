//! Outsider round 2: forged members of per-data-type scopes of data types the genuine frame
//! does not use. Members carry no tag of their own, so one that gets in may make its own scope
//! fail (docs/security.md, "Known limits of FSED": the same holds in SEP for members of
//! per-data-type scopes); it must not stop the genuine scopes of other data types from opening
//! and verifying, and the events of the frame must not be lost.
//!
//! Note: docs/wire-format.md ("Receiver", SEP, step 4 and the commit rule) says a member moves
//! the frame's last accepted number, and every later packet of the frame must be above it; an
//! SV-5 packet moves neither. The ignored tests show what that rule lets a keyless injector do
//! to the authenticated packets that follow (docs/security.md's invariant: a keyless
//! injection moves nothing later authenticated traffic depends on).

use cse_core::csi2::{DataType, Emitter, HeaderForm, Packets, VirtualChannel};
use cse_core::keys::{Salt, SecretKey};
use cse_core::rx::Event;
use cse_core::{
    BlockConfig, CipherSuite, FrameConfig, KeyId, Policy, SecurityVariant, SvLevel, TagLen, TagMode,
};
use cse_sep::{Delivery, KeyMaterial, Receiver, Settings, Transmitter};

const OUT: usize = 4096;

fn vc() -> VirtualChannel {
    VirtualChannel::new(1).expect("vc")
}

fn material(byte: u8) -> KeyMaterial {
    KeyMaterial::new(SecretKey::aes256([byte; 32]), None, Salt::new([9; 12]))
}

fn config() -> FrameConfig {
    let b = |sv, tag_mode| BlockConfig {
        sv,
        suite: CipherSuite::Aes256Gmac,
        tag_len: TagLen::L16,
        tag_mode,
    };
    FrameConfig {
        top: b(SecurityVariant::FullIntegrity, TagMode::PerMessage),
        image: b(SecurityVariant::FullIntegrity, TagMode::PerDataType),
        bottom: b(SecurityVariant::FullIntegrity, TagMode::PerMessage),
        key_id: KeyId::default(),
    }
}

const POLICY: Policy = Policy {
    min_top: SvLevel::Sv2,
    min_image: SvLevel::Sv2,
    min_bottom: SvLevel::Sv2,
};

/// FS, a top embedded line, image lines of the given data types, a bottom embedded line, FE.
fn frame(n: u16, dts: &[DataType]) -> Vec<Vec<u8>> {
    let mut buf = vec![0u8; 128 + dts.len() * 64];
    let mut em = Emitter::new(&mut buf, HeaderForm::Dphy);
    em.frame_start(vc(), n).expect("fs");
    em.long(vc(), DataType::EMBEDDED, &[0x11; 12]).expect("emb");
    for (l, dt) in dts.iter().enumerate() {
        em.long(vc(), *dt, &[l as u8; 24]).expect("line");
    }
    em.long(vc(), DataType::EMBEDDED, &[0x22; 12]).expect("emb");
    em.frame_end(vc(), n).expect("fe");
    let all = em.written().to_vec();
    Packets::new(&all, HeaderForm::Dphy)
        .map(|p| p.expect("packet").raw.to_vec())
        .collect()
}

fn protect(key: u8, first: u32, frames: &[Vec<Vec<u8>>]) -> Vec<Vec<u8>> {
    let mut tx = Transmitter::new(Settings::new(vc()), first);
    tx.install_key(KeyId::default(), material(key))
        .expect("key");
    tx.set_config(config()).expect("config");
    let mut wire = Vec::new();
    let mut out = vec![0u8; OUT];
    for p in frames.iter().flatten() {
        let done = tx.protect(p, &mut out).expect("protect");
        for s in Packets::new(&out[..done.len], HeaderForm::Dphy) {
            wire.push(s.expect("sep").raw.to_vec());
        }
    }
    wire
}

fn rx() -> Receiver {
    let mut rx = Receiver::new(Settings::new(vc()), POLICY, 1_000_000);
    rx.install_key(KeyId::default(), material(7)).expect("key");
    rx
}

#[derive(Debug, PartialEq, Eq, Clone)]
enum Got {
    Verified(Vec<u8>),
    Unverified(Vec<u8>),
    Unprotected(Vec<u8>),
    Scope(core::ops::Range<u32>),
    Err(String),
}

fn recv(rx: &mut Receiver, p: &[u8], now: u64) -> Got {
    let mut out = vec![0u8; OUT];
    match rx.receive(p, now, &mut out) {
        Ok(Delivery::Verified(v)) => Got::Verified(v.packet().to_vec()),
        Ok(Delivery::Unverified(u)) => Got::Unverified(u.unverified_packet().to_vec()),
        Ok(Delivery::Unprotected(u)) => Got::Unprotected(u.unauthenticated_packet().to_vec()),
        Ok(Delivery::ScopeVerified(s)) => Got::Scope(s.indices()),
        Ok(_) => Got::Err("unknown".into()),
        Err(e) => Got::Err(format!("{e:?}")),
    }
}

const GENUINE: [DataType; 4] = [
    DataType::RAW12,
    DataType::RAW10,
    DataType::RAW12,
    DataType::RAW10,
];
const OTHER: [DataType; 4] = [
    DataType::RAW8,
    DataType::RAW14,
    DataType::RAW16,
    DataType::RAW6,
];

/// The forger's frames use other data types at the same positions: each of its image packets
/// is a well-formed member, of a scope the genuine frame never opens, with the index the
/// genuine packet at that position has.
#[test]
#[ignore = "FINDING (known limitation, documented in docs/security.md): forged members of \
            data types the frame does not use open scopes up to the four a frame can hold, \
            and the genuine members of the block are then refused; nothing forged is released"]
fn forged_members_of_other_data_types_do_not_block_the_genuine_scopes() {
    let frames = [frame(1, &GENUINE), frame(2, &GENUINE)];
    let genuine = protect(7, 10, &frames);
    let forged_frames = [frame(1, &OTHER), frame(2, &OTHER)];
    let forged = protect(8, 10, &forged_frames);
    let mut reference = rx();
    let mut ref_events = Vec::new();
    let want: Vec<Got> = genuine
        .iter()
        .enumerate()
        .map(|(t, p)| {
            let g = recv(&mut reference, p, t as u64);
            ref_events.extend(core::iter::from_fn(|| reference.poll_event(t as u64)));
            g
        })
        .collect();
    // Inject the forger's image members (positions 3..=6 in frame 1: FS, top, then lines)
    // all at once right after the top embedded line, draining events after every packet.
    let members: Vec<usize> = (0..genuine.len())
        .filter(|&i| genuine[i] != forged[i] && matches!(want[i], Got::Unverified(_)))
        .take(4)
        .collect();
    assert_eq!(members.len(), 4, "{want:?}");
    let mut a = rx();
    let mut events = Vec::new();
    let mut results = Vec::new();
    for (t, p) in genuine.iter().enumerate() {
        if t == members[0] {
            for &m in &members {
                let g = recv(&mut a, &forged[m], t as u64);
                events.extend(core::iter::from_fn(|| a.poll_event(t as u64)));
                assert!(matches!(g, Got::Unverified(_) | Got::Err(_)), "{g:?}");
            }
        }
        results.push(recv(&mut a, p, t as u64));
        events.extend(core::iter::from_fn(|| a.poll_event(t as u64)));
    }
    // Frame 2 follows an attacked frame: it must be exactly the reference's.
    let fs2 = genuine.len() / 2;
    assert_eq!(results[fs2..], want[fs2..], "frame 2");
    // In frame 1, every genuine scope verifies as in the reference.
    for (t, w) in want.iter().enumerate() {
        if matches!(w, Got::Scope(_) | Got::Verified(_)) {
            assert_eq!(&results[t], w, "packet {t}: {events:?}");
        }
    }
    assert!(!events.contains(&Event::Overflow), "{events:?}");
    let complete: Vec<_> = events
        .iter()
        .filter(|e| matches!(e, Event::FrameComplete { .. }))
        .collect();
    assert_eq!(complete.len(), 2, "{events:?}");
}

/// The forger's frame start, top line, then one image member of `dt` with message index
/// `index` (its own key: the member is well formed, its scope can never verify).
fn forged_member(
    dt: DataType,
    index: u32,
    image: SecurityVariant,
    top: SecurityVariant,
) -> Vec<u8> {
    let mut tx = Transmitter::new(Settings::new(vc()), 10);
    tx.install_key(KeyId::default(), material(8)).expect("key");
    let mut c = config();
    c.image.sv = image;
    c.top.sv = top;
    tx.set_config(c).expect("config");
    let f = frame(1, &[dt]);
    let mut out = vec![0u8; OUT];
    let mut last = Vec::new();
    for (i, p) in f.iter().enumerate().take(3) {
        if i == 2 {
            tx.set_next_message_index(index).expect("index");
        }
        let done = tx.protect(p, &mut out).expect("protect");
        last = out[..done.len].to_vec();
    }
    if top == SecurityVariant::NoSecurity {
        // The top line itself is the SV-5 packet of interest.
        let mut tx2 = Transmitter::new(Settings::new(vc()), 10);
        tx2.install_key(KeyId::default(), material(8)).expect("key");
        tx2.set_config(c).expect("config");
        let _ = tx2.protect(&f[0], &mut out).expect("fs");
        tx2.set_next_message_index(index).expect("index");
        let done = tx2.protect(&f[1], &mut out).expect("top");
        last = out[..done.len].to_vec();
    }
    last
}

/// Runs `genuine` with `inject` before packet `at`; returns results and events of the
/// attacked receiver and of the reference.
fn twin(
    genuine: &[Vec<u8>],
    at: usize,
    inject: &[u8],
    policy: Policy,
) -> [(Vec<Got>, Vec<Event>); 2] {
    let run = |attack: bool| {
        let mut r = Receiver::new(Settings::new(vc()), policy, 1_000_000);
        r.install_key(KeyId::default(), material(7)).expect("key");
        let mut got = Vec::new();
        let mut events = Vec::new();
        for (t, p) in genuine.iter().enumerate() {
            if attack && t == at {
                let g = recv(&mut r, inject, t as u64);
                assert!(
                    matches!(g, Got::Unverified(_) | Got::Unprotected(_)),
                    "{g:?}"
                );
                events.extend(core::iter::from_fn(|| r.poll_event(t as u64)));
            }
            got.push(recv(&mut r, p, t as u64));
            events.extend(core::iter::from_fn(|| r.poll_event(t as u64)));
        }
        (got, events)
    };
    [run(true), run(false)]
}

/// One forged member of a data type the frame never uses, with a message index far ahead:
/// its own scope fails (documented), but the authenticated per-message packets of the frame
/// (the bottom embedded line, FE) and the genuine scopes must verify as in the twin.
#[test]
fn one_forged_member_with_a_high_index_leaves_the_authenticated_packets_alone() {
    let genuine = protect(7, 10, &[frame(1, &GENUINE), frame(2, &GENUINE)]);
    let inject = forged_member(
        DataType::RAW8,
        1000,
        SecurityVariant::FullIntegrity,
        SecurityVariant::FullIntegrity,
    );
    let [(got, events), (want, want_events)] = twin(&genuine, 2, &inject, POLICY);
    for (t, w) in want.iter().enumerate() {
        if matches!(w, Got::Scope(_) | Got::Verified(_)) {
            assert_eq!(&got[t], w, "genuine packet {t}");
        }
    }
    let complete = |e: &[Event]| {
        e.iter()
            .filter(|e| matches!(e, Event::FrameComplete { .. }))
            .count()
    };
    assert_eq!(complete(&events), complete(&want_events), "{events:?}");
}

/// The same with an SV-5 top line (policy allows SV-5 at the top): a keyless packet with a
/// high message index must not make the authenticated packets after it replays.
#[test]
fn a_forged_sv5_line_with_a_high_index_leaves_the_authenticated_packets_alone() {
    let mut c = config();
    c.top.sv = SecurityVariant::NoSecurity;
    let policy = Policy {
        min_top: SvLevel::Sv5,
        ..POLICY
    };
    let mut tx = Transmitter::new(Settings::new(vc()), 10);
    tx.install_key(KeyId::default(), material(7)).expect("key");
    tx.set_config(c).expect("config");
    let mut genuine = Vec::new();
    let mut out = vec![0u8; OUT];
    for p in [frame(1, &GENUINE), frame(2, &GENUINE)].iter().flatten() {
        let done = tx.protect(p, &mut out).expect("protect");
        for s in Packets::new(&out[..done.len], HeaderForm::Dphy) {
            genuine.push(s.expect("sep").raw.to_vec());
        }
    }
    let inject = forged_member(
        DataType::EMBEDDED,
        1000,
        SecurityVariant::FullIntegrity,
        SecurityVariant::NoSecurity,
    );
    let [(got, events), (want, want_events)] = twin(&genuine, 1, &inject, policy);
    for (t, w) in want.iter().enumerate() {
        if matches!(w, Got::Scope(_) | Got::Verified(_)) {
            assert_eq!(&got[t], w, "genuine packet {t}: {events:?}");
        }
    }
    let complete = |e: &[Event]| {
        e.iter()
            .filter(|e| matches!(e, Event::FrameComplete { .. }))
            .count()
    };
    assert_eq!(complete(&events), complete(&want_events), "{events:?}");
}
