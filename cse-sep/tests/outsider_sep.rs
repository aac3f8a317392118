//! Outsider attacks on the SEP receiver, written against the public API and the docs only.
//!
//! The forger is a keyless injector: a transmitter of its own under another key (so every
//! packet it makes is well formed, with correct ECC and CRCs, and a wrong tag; its SV-5
//! packets are exactly what a genuine SV-5 packet would be). Each attack runs on twin
//! receivers: one sees the attack and the genuine stream, the other the genuine stream only;
//! every observable (results and outputs of the genuine packets, events, statistics apart
//! from the rejection counters, `Debug`) must be equal afterwards.

use cse_core::csi2::{DataType, Emitter, HeaderForm, Packets, VirtualChannel};
use cse_core::keys::{Salt, SecretKey};
use cse_core::rx::Event;
use cse_core::{
    BlockConfig, CipherSuite, FrameConfig, KeyId, Policy, SecurityVariant, SvLevel, TagLen, TagMode,
};
use cse_sep::{Delivery, KeyMaterial, Receiver, SepError, Settings, Transmitter};

const OUT: usize = 4096;
const SENTINEL: u8 = 0xEE;

fn vc() -> VirtualChannel {
    VirtualChannel::new(1).expect("vc")
}

fn material(byte: u8, suite: CipherSuite) -> KeyMaterial {
    let key = match suite {
        CipherSuite::Aes128Cmac | CipherSuite::Aes128Gmac | CipherSuite::Aes128Gcm => {
            SecretKey::aes128([byte; 16])
        }
        _ => SecretKey::aes256([byte; 32]),
    };
    KeyMaterial::new(key, None, Salt::new([byte ^ 0x5A; 12]))
}

fn block(sv: SecurityVariant, suite: CipherSuite, tag_mode: TagMode) -> BlockConfig {
    BlockConfig {
        sv,
        suite,
        tag_len: TagLen::L16,
        tag_mode,
    }
}

/// FS, an embedded line, `lines` RAW12 lines, an embedded line, FE.
fn frame(n: u16, lines: usize) -> Vec<Vec<u8>> {
    let mut buf = vec![0u8; 64 + lines * 64];
    let mut em = Emitter::new(&mut buf, HeaderForm::Dphy);
    em.frame_start(vc(), n).expect("fs");
    em.long(vc(), DataType::EMBEDDED, &[0x11 ^ n as u8; 12])
        .expect("emb");
    for l in 0..lines {
        em.long(vc(), DataType::RAW12, &[l as u8 ^ n as u8; 24])
            .expect("line");
    }
    em.long(vc(), DataType::EMBEDDED, &[0x22 ^ n as u8; 12])
        .expect("emb");
    em.frame_end(vc(), n).expect("fe");
    let all = em.written().to_vec();
    Packets::new(&all, HeaderForm::Dphy)
        .map(|p| p.expect("packet").raw.to_vec())
        .collect()
}

/// Protects `frames` (frame counters from `first`) and splits the output into SEP packets.
fn protect(key: u8, config: FrameConfig, first: u32, frames: &[Vec<Vec<u8>>]) -> Vec<Vec<u8>> {
    let mut tx = Transmitter::new(Settings::new(vc()), first);
    tx.install_key(config.key_id, material(key, config.image.suite))
        .expect("key");
    tx.set_config(config).expect("config");
    let mut wire = Vec::new();
    let mut out = vec![0u8; OUT];
    for f in frames {
        for p in f {
            let done = tx.protect(p, &mut out).expect("protect");
            for s in Packets::new(&out[..done.len], HeaderForm::Dphy) {
                wire.push(s.expect("sep").raw.to_vec());
            }
        }
    }
    wire
}

/// What a receive returned, with the bytes it released.
#[derive(Debug, PartialEq, Eq)]
enum Got {
    Verified(Vec<u8>),
    Unverified(Vec<u8>, bool),
    Unprotected(Vec<u8>),
    Scope(core::ops::Range<u32>),
    Err(String),
}

fn got(r: Result<Delivery<'_>, SepError>) -> Got {
    match r {
        Ok(Delivery::Verified(v)) => Got::Verified(v.packet().to_vec()),
        Ok(Delivery::Unverified(u)) => {
            Got::Unverified(u.unverified_packet().to_vec(), u.is_encrypted())
        }
        Ok(Delivery::Unprotected(u)) => Got::Unprotected(u.unauthenticated_packet().to_vec()),
        Ok(Delivery::ScopeVerified(p)) => Got::Scope(p.indices()),
        Ok(_) => Got::Err("unknown delivery".into()),
        Err(e) => Got::Err(format!("{e:?}")),
    }
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
        + &format!("{:?}", rx.protocol_stats().verified)
}

fn drain(rx: &mut Receiver, now: u64) -> Vec<Event> {
    core::iter::from_fn(|| rx.poll_event(now)).collect()
}

/// Receives `p`, checking that an error leaves no byte of the packet in a sentinel-filled
/// output buffer of `out_len` bytes.
fn receive_checked(rx: &mut Receiver, p: &[u8], now: u64, out_len: usize) -> Got {
    let mut out = vec![SENTINEL; out_len];
    let r = got(rx.receive(p, now, &mut out));
    if let Got::Err(e) = &r {
        let n = p.len().min(out_len);
        assert!(out[..n].iter().all(|&b| b == 0), "{e}: output not wiped");
        assert!(
            out[n..].iter().all(|&b| b == SENTINEL),
            "{e}: written past the packet"
        );
    }
    r
}

struct Attack {
    name: &'static str,
    /// The packets injected, each with its output buffer length.
    packets: Vec<(Vec<u8>, usize)>,
}

fn config_sv5_top() -> (FrameConfig, Policy) {
    let config = FrameConfig {
        top: block(
            SecurityVariant::NoSecurity,
            CipherSuite::Aes256Gmac,
            TagMode::PerMessage,
        ),
        image: block(
            SecurityVariant::FullIntegrityEncrypted,
            CipherSuite::Aes256Gcm,
            TagMode::PerDataType,
        ),
        bottom: block(
            SecurityVariant::FullIntegrity,
            CipherSuite::Aes256Gmac,
            TagMode::PerFrame,
        ),
        key_id: KeyId::default(),
    };
    let policy = Policy {
        min_top: SvLevel::Sv5,
        min_image: SvLevel::Sv1,
        min_bottom: SvLevel::Sv2,
    };
    (config, policy)
}

fn config_cmac_partial() -> (FrameConfig, Policy) {
    let config = FrameConfig {
        top: block(
            SecurityVariant::FullIntegrity,
            CipherSuite::Aes128Cmac,
            TagMode::PerMessage,
        ),
        image: block(
            SecurityVariant::LinePartialIntegrity {
                stride: 2,
                offset: 1,
            },
            CipherSuite::Aes128Cmac,
            TagMode::PerMessage,
        ),
        bottom: block(
            SecurityVariant::NoSecurity,
            CipherSuite::Aes128Cmac,
            TagMode::PerMessage,
        ),
        key_id: KeyId::default(),
    };
    let policy = Policy {
        min_top: SvLevel::Sv2,
        min_image: SvLevel::Sv3,
        min_bottom: SvLevel::Sv5,
    };
    (config, policy)
}

/// The attacks tried before genuine packet `i`.
fn attacks(
    i: usize,
    genuine: &[Vec<u8>],
    needed: &[usize],
    forged: &[Vec<u8>],
    sv5: &[Vec<u8>],
) -> Vec<Attack> {
    let g = &genuine[i];
    // A forged packet equal to a genuine one (SV-5 packets carry nothing keyed) is no attack.
    let forged: Vec<&Vec<u8>> = forged.iter().filter(|p| !genuine.contains(p)).collect();
    let mut v = vec![
        Attack {
            name: "a forged all-SV-5 frame start and line",
            packets: vec![(sv5[0].clone(), OUT), (sv5[2].clone(), OUT)],
        },
        Attack {
            name: "the genuine packet into every too-short output buffer",
            packets: (0..needed[i]).map(|n| (g.clone(), n)).collect(),
        },
        Attack {
            name: "the genuine packet truncated and extended",
            packets: vec![
                (g[..g.len() - 1].to_vec(), OUT),
                ([g.as_slice(), &[0]].concat(), OUT),
                (Vec::new(), OUT),
            ],
        },
        Attack {
            name: "forged packets of this and the next positions",
            packets: forged
                .iter()
                .skip(i)
                .take(6)
                .map(|p| ((*p).clone(), OUT))
                .collect(),
        },
    ];
    if i > 0 {
        v.push(Attack {
            name: "replays of every earlier genuine packet",
            packets: genuine[..i]
                .iter()
                .rev()
                .take(8)
                .map(|p| (p.clone(), OUT))
                .collect(),
        });
    }
    v
}

fn run_twins(config: FrameConfig, policy: Policy) {
    let frames: Vec<_> = (1..=3).map(|n| frame(n, 3)).collect();
    let genuine = protect(7, config, 10, &frames);
    let forged = protect(8, config, 10, &frames);
    let sv5_config = FrameConfig::uniform(
        block(
            SecurityVariant::NoSecurity,
            config.image.suite,
            TagMode::PerMessage,
        ),
        config.key_id,
    );
    let sv5 = protect(8, sv5_config, 50, &frames[..1]);

    let new_rx = || {
        let mut rx = Receiver::new(Settings::new(vc()), policy, 1_000_000);
        rx.install_key(config.key_id, material(7, config.image.suite))
            .expect("key");
        rx
    };
    // The output length each genuine packet needs (0: a close record releases no bytes).
    let mut reference = new_rx();
    let needed: Vec<usize> = genuine
        .iter()
        .enumerate()
        .map(
            |(t, p)| match receive_checked(&mut reference, p, t as u64, OUT) {
                Got::Verified(b) | Got::Unverified(b, _) | Got::Unprotected(b) => b.len(),
                other => {
                    assert!(
                        matches!(other, Got::Scope(_)),
                        "genuine packet {t}: {other:?}"
                    );
                    0
                }
            },
        )
        .collect();
    for i in 0..genuine.len() {
        for attack in attacks(i, &genuine, &needed, &forged, &sv5) {
            let (mut a, mut b) = (new_rx(), new_rx());
            let mut ea = Vec::new();
            let mut eb = Vec::new();
            for (t, p) in genuine[..i].iter().enumerate() {
                let ra = receive_checked(&mut a, p, t as u64, OUT);
                let rb = receive_checked(&mut b, p, t as u64, OUT);
                assert_eq!(ra, rb);
                ea.extend(drain(&mut a, t as u64));
                eb.extend(drain(&mut b, t as u64));
            }
            let before = view(&a);
            let mut accepted = None;
            for (p, out_len) in &attack.packets {
                let r = receive_checked(&mut a, p, i as u64, *out_len);
                if !matches!(r, Got::Err(_)) {
                    // Only packets without a tag of their own may get in: SV-5 packets and
                    // members of an open scope (docs/security.md, "Known limits").
                    assert!(
                        matches!(r, Got::Unprotected(_) | Got::Unverified(..)),
                        "position {i}, {}: accepted {r:?}",
                        attack.name
                    );
                    accepted = Some(r);
                    break;
                }
                assert_eq!(drain(&mut a, i as u64), [], "position {i}, {}", attack.name);
                assert_eq!(view(&a), before, "position {i}, {}", attack.name);
            }
            if let Some(r) = accepted {
                // The injection got in: what follows may be refused or fail its scope, but
                // nothing may verify that the twin does not verify identically.
                for (t, p) in genuine.iter().enumerate().skip(i) {
                    let ra = receive_checked(&mut a, p, t as u64, OUT);
                    let rb = receive_checked(&mut b, p, t as u64, OUT);
                    if matches!(ra, Got::Verified(_) | Got::Scope(_)) {
                        assert_eq!(ra, rb, "position {i}, {} ({r:?}): packet {t}", attack.name);
                    }
                }
                continue;
            }
            for (t, p) in genuine.iter().enumerate().skip(i) {
                let ra = receive_checked(&mut a, p, t as u64, OUT);
                let rb = receive_checked(&mut b, p, t as u64, OUT);
                assert_eq!(ra, rb, "position {i}, {}: genuine packet {t}", attack.name);
                assert!(!matches!(ra, Got::Err(_)), "genuine packet {t}: {ra:?}");
                ea.extend(drain(&mut a, t as u64));
                eb.extend(drain(&mut b, t as u64));
            }
            assert_eq!(ea, eb, "position {i}, {}: events", attack.name);
            assert_eq!(view(&a), view(&b), "position {i}, {}", attack.name);
        }
    }
}

#[test]
fn twins_sv5_top_sv1_per_data_type_sv2_per_frame() {
    let (config, policy) = config_sv5_top();
    run_twins(config, policy);
}

#[test]
fn twins_cmac_sv2_top_sv3_image_sv5_bottom() {
    let (config, policy) = config_cmac_partial();
    run_twins(config, policy);
}

/// A forged SV-5 top-block packet of the current frame whose message index (or frame counter)
/// the forger chose.
fn forged_sv5_member(config: FrameConfig, fc: u32, index: u32) -> Vec<u8> {
    let mut tx = Transmitter::new(Settings::new(vc()), fc);
    tx.install_key(config.key_id, material(8, config.image.suite))
        .expect("key");
    tx.set_config(config).expect("config");
    let f = frame(1, 1);
    let mut out = vec![0u8; OUT];
    let _ = tx.protect(&f[0], &mut out).expect("fs");
    tx.set_next_message_index(index).expect("index");
    let done = tx.protect(&f[1], &mut out).expect("embedded line");
    out[..done.len].to_vec()
}

/// Feeds `stream` to a fresh receiver, injecting `inject` before genuine packet `at`; returns
/// the results of the genuine packets and the events queued from packet `at` on (those the
/// injected packets queued themselves are returned apart).
fn run_with(
    config: FrameConfig,
    policy: Policy,
    stream: &[Vec<u8>],
    at: usize,
    inject: &[Vec<u8>],
) -> (Vec<Got>, Vec<Event>, Vec<Event>, Receiver) {
    let mut rx = Receiver::new(Settings::new(vc()), policy, 1_000_000);
    rx.install_key(config.key_id, material(7, config.image.suite))
        .expect("key");
    let (mut results, mut events, mut injected) = (Vec::new(), Vec::new(), Vec::new());
    for (t, p) in stream.iter().enumerate() {
        if t == at {
            for f in inject {
                let _ = receive_checked(&mut rx, f, t as u64, OUT);
                injected.extend(drain(&mut rx, t as u64));
            }
        }
        results.push(receive_checked(&mut rx, p, t as u64, OUT));
        let e = drain(&mut rx, t as u64);
        if t >= at {
            events.extend(e);
        }
    }
    (results, events, injected, rx)
}

/// A keyless injector puts one SV-5 packet into the SV-5 top block, with a message index of
/// its choice. SV-5 carries anything, so the packet may be accepted; but the authenticated
/// (SV-1) image lines that follow must be judged as in the twin: the injected index must not
/// make every genuine line a FuSa finding.
#[test]
fn a_forged_sv5_packet_does_not_change_how_authenticated_packets_are_judged() {
    let (config, policy) = config_sv5_top();
    let frames: Vec<_> = (1..=2).map(|n| frame(n, 3)).collect();
    let genuine = protect(7, config, 10, &frames);
    for index in [1000, u32::MAX - 1] {
        let forged = forged_sv5_member(config, 10, index);
        let (ra, ea, _, a) = run_with(config, policy, &genuine, 1, &[forged]);
        let (rb, eb, _, b) = run_with(config, policy, &genuine, 1, &[]);
        assert_eq!(
            ra, rb,
            "index {index}: the genuine packets are delivered alike"
        );
        assert_eq!(ea, eb, "index {index}: the genuine packets' events");
        assert_eq!(
            a.fusa_stats().messages_lost,
            b.fusa_stats().messages_lost,
            "index {index}"
        );
    }
}

/// Under a policy that allows SV-5 everywhere, a forged all-SV-5 frame between two genuine
/// frames is accepted (it cannot be told from a genuine one). It must move no replay state
/// and activate no key, and the next genuine frame must verify and be judged as in the twin.
#[test]
fn a_forged_all_sv5_frame_between_genuine_frames_leaves_the_next_frame_alone() {
    let (config, _) = config_sv5_top();
    let frames: Vec<_> = (1..=3).map(|n| frame(n, 2)).collect();
    let genuine = protect(7, config, 10, &frames);
    // The genuine frame 2 starts where the packets of frame 1 end.
    let at = protect(7, config, 10, &frames[..1]).len();
    let sv5_config = FrameConfig::uniform(
        block(
            SecurityVariant::NoSecurity,
            CipherSuite::Aes256Gmac,
            TagMode::PerMessage,
        ),
        KeyId::default(),
    );
    let mut judged = Vec::new();
    for fc in [9, 10, 11, 12, 13, 1000, u32::MAX - 1] {
        let forged = protect(8, sv5_config, fc, &[frame(7, 2)]);
        let (ra, mut ea, injected, a) = run_with(config, Policy::PERMISSIVE, &genuine, at, &forged);
        // The forged frame's own end (its FE or the genuine FS after it) is its business.
        ea.retain(|e| *e != Event::FrameAbandoned { frame_counter: fc });
        let (rb, eb, _, b) = run_with(config, Policy::PERMISSIVE, &genuine, at, &[]);
        assert_eq!(ra, rb, "fc {fc}: the genuine packets");
        if ea != eb {
            let extra: Vec<_> = ea.iter().filter(|e| !eb.contains(e)).collect();
            let missing: Vec<_> = eb.iter().filter(|e| !ea.contains(e)).collect();
            judged.push(format!("fc {fc}: extra {extra:?}, missing {missing:?}"));
        }
        assert!(
            !injected
                .iter()
                .any(|e| matches!(e, Event::KeyRollover { .. })),
            "fc {fc}: {injected:?}"
        );
        // What the forged frame itself is reported for (loss, reorder) is its own; the
        // genuine frames' verdicts are compared above.
        assert_eq!(
            a.protocol_stats().verified,
            b.protocol_stats().verified,
            "fc {fc}"
        );
        assert_eq!(
            a.security_stats().needs_rekey,
            b.security_stats().needs_rekey,
            "fc {fc}"
        );
    }
    assert!(
        judged.is_empty(),
        "the genuine frames were judged differently:\n{}",
        judged.join("\n")
    );
}

/// One list of genuine packets with attacks mixed in (forged packets, replays, truncations,
/// empty packets, too-short output buffers, a forged frame start naming the idle key id), run
/// through `receive` one by one and through `receive_batch` in one call: results, outputs,
/// events and statistics must be the same.
#[test]
fn batch_and_single_receive_agree_on_a_mixed_attack_sequence() {
    let (config, policy) = config_cmac_partial();
    let frames: Vec<_> = (1..=3).map(|n| frame(n, 20)).collect();
    let genuine = protect(7, config, 10, &frames);
    let forged = protect(8, config, 10, &frames);
    let mut idle = config;
    idle.key_id = KeyId::new(1).expect("key id");
    let forged_idle = protect(8, idle, 11, &frames[..1]);
    // SV-5 packets carry no tag and can be replayed by design: replay the others only.
    let unprotected: Vec<bool> = {
        let mut probe = Receiver::new(Settings::new(vc()), policy, 1_000_000);
        probe
            .install_key(config.key_id, material(7, config.image.suite))
            .expect("key");
        genuine
            .iter()
            .map(|p| matches!(receive_checked(&mut probe, p, 5, OUT), Got::Unprotected(_)))
            .collect()
    };
    let mut list: Vec<(Vec<u8>, usize)> = Vec::new();
    for (i, g) in genuine.iter().enumerate() {
        match i % 7 {
            0 if !unprotected[i] => list.push((forged[i].clone(), OUT)),
            1 => list.push((g.clone(), 3)),
            2 if i > 2 && !unprotected[i - 2] => list.push((genuine[i - 2].clone(), OUT)),
            3 => list.push((g[..g.len() - 3].to_vec(), OUT)),
            4 => list.push((Vec::new(), OUT)),
            5 => list.push((forged_idle[0].clone(), OUT)),
            _ => {}
        }
        list.push((g.clone(), OUT));
    }
    let new_rx = || {
        let mut rx = Receiver::new(Settings::new(vc()), policy, 1_000_000);
        rx.install_key(config.key_id, material(7, config.image.suite))
            .expect("key");
        rx.install_key(idle.key_id, material(9, config.image.suite))
            .expect("idle key");
        rx
    };
    let mut single = new_rx();
    let mut single_out = Vec::new();
    let mut single_events = Vec::new();
    for (p, n) in &list {
        let mut out = vec![SENTINEL; *n];
        let r = got(single.receive(p, 5, &mut out));
        single_out.push((r, out));
        single_events.extend(drain(&mut single, 5));
    }
    let mut batch = new_rx();
    let seps: Vec<&[u8]> = list.iter().map(|(p, _)| p.as_slice()).collect();
    let mut bufs: Vec<Vec<u8>> = list.iter().map(|(_, n)| vec![SENTINEL; *n]).collect();
    let mut outs: Vec<&mut [u8]> = bufs.iter_mut().map(|b| b.as_mut_slice()).collect();
    let mut results = Vec::new();
    batch
        .receive_batch(&seps, 5, &mut outs, |i, r| results.push((i, got(r))))
        .expect("batch");
    let batch_events = drain(&mut batch, 5);
    assert_eq!(results.len(), list.len());
    for (k, ((i, r), ((sr, sout), bout))) in results
        .into_iter()
        .zip(single_out.iter().zip(&bufs))
        .enumerate()
    {
        assert_eq!(i, k);
        assert_eq!(&r, sr, "packet {k}");
        assert_eq!(bout, sout, "packet {k}: output buffer");
    }
    assert_eq!(batch_events, single_events);
    assert_eq!(
        format!("{:?}", batch.fusa_stats()),
        format!("{:?}", single.fusa_stats())
    );
    assert_eq!(batch.security_stats(), single.security_stats());
    assert_eq!(batch.protocol_stats(), single.protocol_stats());
    // Every genuine packet got through (the attacks cost nothing): the same deliveries as a
    // receiver that saw the genuine packets only.
    let mut reference = new_rx();
    for p in &genuine {
        assert!(!matches!(
            receive_checked(&mut reference, p, 5, OUT),
            Got::Err(_)
        ));
    }
    let (r, s) = (reference.protocol_stats(), single.protocol_stats());
    assert_eq!(
        (r.verified, r.unverified, r.scopes_verified),
        (s.verified, s.unverified, s.scopes_verified)
    );
    let reference_events = drain(&mut reference, 5);
    let extra: Vec<_> = single_events
        .iter()
        .filter(|e| !reference_events.contains(e))
        .collect();
    let missing: Vec<_> = reference_events
        .iter()
        .filter(|e| !single_events.contains(e))
        .collect();
    assert_eq!((extra, missing), (vec![], vec![]));
    assert!(
        !single_events
            .iter()
            .any(|e| matches!(e, Event::KeyRollover { .. })),
        "a forged frame start activated the idle key: {single_events:?}"
    );
}

/// Key operations between the packets of a frame, with forged frame starts around a rollover:
/// installing the next key mid-frame, a forged FS naming that (idle) key id, refusing to
/// replace the active key mid-frame, retiring the old key mid-frame after the rollover.
#[test]
fn key_install_and_retire_mid_frame_with_forged_frame_starts_around_a_rollover() {
    let (config, policy) = config_cmac_partial();
    let suite = config.image.suite;
    let k1 = KeyId::new(1).expect("key id");
    let mut next = config;
    next.key_id = k1;
    let f1 = frame(1, 4);
    let f2 = frame(2, 4);
    // The genuine sender: frame 10 under key 0, frame 11 under key 1 (same stream).
    let mut tx = Transmitter::new(Settings::new(vc()), 10);
    tx.install_key(config.key_id, material(7, suite))
        .expect("key 0");
    tx.set_config(config).expect("config");
    let mut out = vec![0u8; OUT];
    let mut wire = |tx: &mut Transmitter, f: &[Vec<u8>]| -> Vec<Vec<u8>> {
        let mut v = Vec::new();
        for p in f {
            let done = tx.protect(p, &mut out).expect("protect");
            for s in Packets::new(&out[..done.len], HeaderForm::Dphy) {
                v.push(s.expect("sep").raw.to_vec());
            }
        }
        v
    };
    let frame1 = wire(&mut tx, &f1);
    tx.install_key(k1, material(17, suite)).expect("key 1");
    tx.set_config(next).expect("next config");
    let frame2 = wire(&mut tx, &f2);
    // The forger's frame starts for counter 11: under key id 1 (the idle id) and key id 0.
    let forged_idle = protect(8, next, 11, std::slice::from_ref(&f2));
    let forged_active = protect(8, config, 11, std::slice::from_ref(&f2));

    let mut rx = Receiver::new(Settings::new(vc()), policy, 1_000_000);
    rx.install_key(config.key_id, material(7, suite))
        .expect("key 0");
    let mut events = Vec::new();
    for (i, p) in frame1.iter().enumerate() {
        if i == 2 {
            rx.install_key(k1, material(17, suite))
                .expect("install the next key mid-frame");
            assert!(
                rx.install_key(config.key_id, material(99, suite)).is_err(),
                "the active key cannot be replaced"
            );
        }
        assert!(
            !matches!(receive_checked(&mut rx, p, 1, OUT), Got::Err(_)),
            "frame 1 packet {i}"
        );
        events.extend(drain(&mut rx, 1));
    }
    let stats = *rx.protocol_stats();
    for p in [&forged_idle[0], &forged_active[0]] {
        assert!(matches!(receive_checked(&mut rx, p, 2, OUT), Got::Err(_)));
        assert_eq!(drain(&mut rx, 2), []);
    }
    assert_eq!(rx.protocol_stats().verified, stats.verified);
    assert!(
        format!("{rx:?}").contains("active_key: Some(KeyId(0))"),
        "{rx:?}"
    );
    for (i, p) in frame2.iter().enumerate() {
        if i == 2 {
            assert_eq!(
                rx.retire_key(),
                Some(config.key_id),
                "the old key goes mid-frame"
            );
            // The forger's frame start again, now that key 0 is gone.
            assert!(matches!(
                receive_checked(&mut rx, &forged_active[0], 3, OUT),
                Got::Err(_)
            ));
            assert!(matches!(
                receive_checked(&mut rx, &forged_idle[0], 3, OUT),
                Got::Err(_)
            ));
        }
        let r = receive_checked(&mut rx, p, 3, OUT);
        assert!(!matches!(r, Got::Err(_)), "frame 2 packet {i}: {r:?}");
        events.extend(drain(&mut rx, 3));
    }
    let rollovers: Vec<_> = events
        .iter()
        .filter(|e| matches!(e, Event::KeyRollover { .. }))
        .collect();
    assert_eq!(
        rollovers,
        [&Event::KeyRollover {
            from: config.key_id,
            to: k1
        }]
    );
    let completes: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            Event::FrameComplete {
                frame_counter,
                clean,
                ..
            } => Some((*frame_counter, *clean)),
            _ => None,
        })
        .collect();
    assert_eq!(completes, [(10, true), (11, true)]);
}

/// SEP's `decrypt` with the right proof and ticket but the bytes of another intact line of the
/// same data type and length (released unverified in the same scope): documented to fail
/// when "packet is not the packet the ticket describes". The CRC-16 it checks is the given
/// packet's own footer, so it passes, and the buffer gets that ciphertext under the ticket's
/// keystream with a fresh CRC-16.
#[test]
fn decrypt_with_the_bytes_of_another_line_is_refused() {
    let (config, policy) = config_sv5_top();
    let genuine = protect(7, config, 10, &[frame(1, 4)]);
    let mut rx = Receiver::new(Settings::new(vc()), policy, 1_000_000);
    rx.install_key(config.key_id, material(7, config.image.suite))
        .expect("key");
    let mut held = Vec::new();
    let mut proof = None;
    for p in &genuine {
        let mut out = vec![0u8; OUT];
        match rx.receive(p, 0, &mut out).expect("genuine") {
            Delivery::Unverified(u) if u.is_encrypted() => {
                held.push((u.unverified_packet().to_vec(), u.decrypt_ticket()));
            }
            Delivery::ScopeVerified(s) if s.scope().block == cse_core::Block::Image => {
                proof = Some(s);
            }
            _ => {}
        }
    }
    let proof = proof.expect("the image scope verified");
    assert_eq!(held.len(), 4);
    let (line0, ticket0) = &held[0];
    let mut own = line0.clone();
    rx.decrypt(&proof, ticket0, &mut own)
        .expect("its own bytes decrypt");
    let (line1, _) = &held[1];
    assert_eq!(line0.len(), line1.len());
    let mut buf = line1.clone();
    let r = rx.decrypt(&proof, ticket0, &mut buf);
    assert!(r.is_err(), "{r:?}: buffer now {buf:02x?}");
    assert_eq!(&buf, line1, "the buffer is as given");
}

/// A frame of edge-case packets: short packets (LS/LE, a generic short packet) between lines,
/// long packets with zero, one and three payload bytes, an empty embedded line, lines shorter
/// than the SV-4 window's start. For every configuration the receiver gives back every
/// original bit-exact (decrypting under SV-1 only with its scope's proof), and each packet with
/// one payload or header bit flipped (CRCs broken: no bytes of it released) changes nothing.
#[test]
fn zero_length_and_short_packets_round_trip_under_every_variant() {
    let mut buf = vec![0u8; 512];
    let mut em = Emitter::new(&mut buf, HeaderForm::Dphy);
    em.frame_start(vc(), 5).expect("fs");
    em.long(vc(), DataType::EMBEDDED, &[])
        .expect("empty embedded");
    em.short(vc(), DataType::LS, 1).expect("ls");
    em.long(vc(), DataType::RAW12, &[]).expect("empty line");
    em.short(vc(), DataType::LE, 1).expect("le");
    em.long(vc(), DataType::RAW12, &[0xA1]).expect("1 byte");
    em.short(vc(), DataType::GENERIC_SHORT_1, 0xBEEF)
        .expect("generic short");
    em.long(vc(), DataType::RAW12, &[0xA2, 0xA3, 0xA4])
        .expect("3 bytes");
    em.long(vc(), DataType::RAW10, &[0x5A; 40])
        .expect("40 bytes");
    em.long(vc(), DataType::EMBEDDED, &[0x77])
        .expect("embedded");
    em.frame_end(vc(), 5).expect("fe");
    let all = em.written().to_vec();
    let originals: Vec<Vec<u8>> = Packets::new(&all, HeaderForm::Dphy)
        .map(|p| p.expect("packet").raw.to_vec())
        .collect();
    let cmac_material = || {
        KeyMaterial::new(
            SecretKey::aes128([3; 16]),
            Some(SecretKey::aes128([4; 16])),
            Salt::new([5; 12]),
        )
    };
    let b = |sv, suite, mode| block(sv, suite, mode);
    let configs = [
        FrameConfig::uniform(
            b(
                SecurityVariant::FullIntegrityEncrypted,
                CipherSuite::Aes256Gcm,
                TagMode::PerMessage,
            ),
            KeyId::default(),
        ),
        FrameConfig {
            top: b(
                SecurityVariant::FullIntegrity,
                CipherSuite::Aes128Cmac,
                TagMode::PerFrame,
            ),
            image: b(
                SecurityVariant::FullIntegrityEncrypted,
                CipherSuite::Aes128CtrCmac,
                TagMode::PerDataType,
            ),
            bottom: b(
                SecurityVariant::NoSecurity,
                CipherSuite::Aes128Cmac,
                TagMode::PerMessage,
            ),
            key_id: KeyId::default(),
        },
        FrameConfig {
            top: b(
                SecurityVariant::FullIntegrity,
                CipherSuite::Aes128Cmac,
                TagMode::PerMessage,
            ),
            image: b(
                SecurityVariant::BytePartialIntegrity { start: 2, len: 100 },
                CipherSuite::Aes128Cmac,
                TagMode::PerMessage,
            ),
            bottom: b(
                SecurityVariant::FullIntegrity,
                CipherSuite::Aes128Cmac,
                TagMode::PerDataType,
            ),
            key_id: KeyId::default(),
        },
        FrameConfig::uniform(
            b(
                SecurityVariant::LinePartialIntegrity {
                    stride: 1,
                    offset: 0,
                },
                CipherSuite::Aes256Gmac,
                TagMode::PerFrame,
            ),
            KeyId::default(),
        ),
    ];
    for (c, config) in configs.iter().enumerate() {
        let cmac = matches!(
            config.image.suite,
            CipherSuite::Aes128CtrCmac | CipherSuite::Aes128Cmac
        );
        let key = || {
            if cmac {
                cmac_material()
            } else {
                material(7, config.image.suite)
            }
        };
        let mut tx = Transmitter::new(Settings::new(vc()), 3);
        tx.install_key(KeyId::default(), key()).expect("key");
        tx.set_config(*config).expect("config");
        let mut wire = Vec::new();
        let mut out = vec![0u8; OUT];
        for p in &originals {
            let done = tx.protect(p, &mut out).unwrap_or_else(|e| {
                unreachable!("config {c}: protect refused {:02x?}: {e:?}", &p[..4])
            });
            for s in Packets::new(&out[..done.len], HeaderForm::Dphy) {
                wire.push(s.expect("sep").raw.to_vec());
            }
        }
        let mut rx = Receiver::new(Settings::new(vc()), Policy::PERMISSIVE, 1_000_000);
        rx.install_key(KeyId::default(), key()).expect("key");
        let mut released: Vec<Vec<u8>> = Vec::new();
        let mut held: Vec<(Vec<u8>, cse_sep::DecryptTicket, cse_core::rx::ScopeId)> = Vec::new();
        for (i, p) in wire.iter().enumerate() {
            // The packet with one bit flipped (its CRCs broken) first: refused, wiped.
            let mut bad = p.clone();
            let at = bad.len() / 2;
            bad[at] ^= 0x10;
            assert!(
                matches!(receive_checked(&mut rx, &bad, 0, OUT), Got::Err(_)),
                "config {c}: flipped packet {i}"
            );
            let mut o = vec![SENTINEL; OUT];
            match rx.receive(p, 0, &mut o) {
                Ok(Delivery::Verified(v)) => released.push(v.packet().to_vec()),
                Ok(Delivery::Unprotected(u)) => released.push(u.unauthenticated_packet().to_vec()),
                Ok(Delivery::Unverified(u)) => {
                    held.push((
                        u.unverified_packet().to_vec(),
                        u.decrypt_ticket(),
                        u.scope(),
                    ));
                }
                Ok(Delivery::ScopeVerified(proof)) => {
                    let (mine, rest) = core::mem::take(&mut held)
                        .into_iter()
                        .partition(|(_, _, s)| *s == proof.scope());
                    held = rest;
                    for (mut bytes, ticket, _) in mine {
                        // Only SV-1 packets need decrypting; the others are released as they are.
                        let _ = rx.decrypt(&proof, &ticket, &mut bytes);
                        released.push(bytes);
                    }
                }
                Ok(_) => {}
                Err(e) => unreachable!("config {c}: genuine packet {i}: {e:?}"),
            }
        }
        assert!(held.is_empty(), "config {c}: packets never verified");
        released.sort();
        let mut expected = originals.clone();
        expected.sort();
        assert_eq!(released, expected, "config {c}");
        let events = drain(&mut rx, 0);
        assert!(
            events.iter().any(|e| matches!(
                e,
                Event::FrameComplete {
                    frame_counter: 3,
                    clean: true,
                    ..
                }
            )),
            "config {c}: {events:?}"
        );
    }
}

/// Protects `p` and receives what comes out; records the message indices of the data packets
/// delivered. `false` when the transmitter ran out of message indices (nothing written).
fn feed(
    tx: &mut Transmitter,
    rx: &mut Receiver,
    p: &[u8],
    out: &mut [u8],
    indices: &mut Vec<u32>,
) -> bool {
    out.fill(SENTINEL);
    match tx.protect(p, out) {
        Ok(done) => {
            for s in Packets::new(&out[..done.len], HeaderForm::Dphy) {
                let mut o = vec![0u8; OUT];
                match rx.receive(s.expect("sep").raw, 0, &mut o) {
                    Ok(Delivery::Verified(v)) => indices.push(v.info().message_index),
                    Ok(Delivery::Unverified(u)) => indices.push(u.info().message_index),
                    Ok(Delivery::ScopeVerified(_)) => {}
                    Ok(other) => unreachable!("{other:?}"),
                    Err(e) => unreachable!("a genuine packet refused: {e:?}"),
                }
            }
            true
        }
        Err(SepError::MessageIndexExhausted) => {
            assert!(out.iter().all(|&b| b == SENTINEL), "nothing written");
            false
        }
        Err(e) => unreachable!("{e:?}"),
    }
}

/// The end of the message-index space with four open scopes: the transmitter refuses the
/// packet that would take an index it needs for the close records and FE (writing nothing),
/// the frame still ends, every packet the receiver accepted verifies with strictly increasing
/// indices (no packet number twice), and the next frame starts again at 0 and verifies.
#[test]
fn the_last_message_indices_close_every_scope_and_never_repeat() {
    let config = FrameConfig {
        top: block(
            SecurityVariant::FullIntegrity,
            CipherSuite::Aes256Gmac,
            TagMode::PerFrame,
        ),
        image: block(
            SecurityVariant::FullIntegrityEncrypted,
            CipherSuite::Aes256Gcm,
            TagMode::PerDataType,
        ),
        bottom: block(
            SecurityVariant::FullIntegrity,
            CipherSuite::Aes256Gmac,
            TagMode::PerMessage,
        ),
        key_id: KeyId::default(),
    };
    let mut tx = Transmitter::new(Settings::new(vc()), 40);
    tx.install_key(KeyId::default(), material(7, config.image.suite))
        .expect("key");
    tx.set_config(config).expect("config");
    let mut rx = Receiver::new(Settings::new(vc()), Policy::PERMISSIVE, 1_000_000);
    rx.install_key(KeyId::default(), material(7, config.image.suite))
        .expect("key");
    let f = frame(1, 8);
    let mut out = vec![0u8; OUT];
    let mut indices = Vec::new();
    let mut refused = 0;
    assert!(feed(&mut tx, &mut rx, &f[0], &mut out, &mut indices), "FS");
    assert!(
        feed(&mut tx, &mut rx, &f[1], &mut out, &mut indices),
        "the top embedded line"
    );
    tx.set_next_message_index(u32::MAX - 6)
        .expect("jump to the end");
    for p in &f[2..f.len() - 1] {
        if !feed(&mut tx, &mut rx, p, &mut out, &mut indices) {
            refused += 1;
        }
    }
    assert!(refused > 0, "the index space ran out");
    assert!(
        feed(&mut tx, &mut rx, &f[f.len() - 1], &mut out, &mut indices),
        "FE is always accepted"
    );
    let events = drain(&mut rx, 0);
    assert!(
        !events.iter().any(|e| matches!(e, Event::ScopeFailed(_))),
        "{events:?}"
    );
    assert!(
        events.iter().any(|e| matches!(
            e,
            Event::FrameComplete {
                frame_counter: 40,
                ..
            }
        )),
        "{events:?}"
    );
    // Every delivered packet's index is above the one before: no packet number twice.
    assert!(indices.windows(2).all(|w| w[0] < w[1]), "{indices:?}");
    assert!(
        indices.last().is_some_and(|&i| i > u32::MAX - 8),
        "{indices:?}"
    );
    // The next frame starts again at 0 and verifies.
    indices.clear();
    for p in &frame(2, 2) {
        assert!(feed(&mut tx, &mut rx, p, &mut out, &mut indices));
    }
    assert_eq!(indices.first(), Some(&0));
    assert!(drain(&mut rx, 0).iter().any(|e| matches!(
        e,
        Event::FrameComplete {
            frame_counter: 41,
            clean: true,
            ..
        }
    )));
}

/// Keystream reuse: identical SV-1 lines in many frames, across a key rollover to a key id
/// that carries the same key material (an integrator's mistake a rekey must survive: packet
/// numbers belong to the stream, so they never restart). No two ciphertexts may be equal, and
/// the receiver decrypts every line back.
#[test]
fn identical_lines_never_share_a_keystream_across_frames_and_a_rollover() {
    let config = FrameConfig::uniform(
        block(
            SecurityVariant::FullIntegrityEncrypted,
            CipherSuite::Aes256Gcm,
            TagMode::PerMessage,
        ),
        KeyId::default(),
    );
    let same_frame = |n: u16| {
        let mut buf = vec![0u8; 1024];
        let mut em = Emitter::new(&mut buf, HeaderForm::Dphy);
        em.frame_start(vc(), n).expect("fs");
        for _ in 0..6 {
            em.long(vc(), DataType::RAW12, &[0x3C; 48]).expect("line");
        }
        em.frame_end(vc(), n).expect("fe");
        let all = em.written().to_vec();
        Packets::new(&all, HeaderForm::Dphy)
            .map(|p| p.expect("packet").raw.to_vec())
            .collect::<Vec<_>>()
    };
    let mut tx = Transmitter::new(Settings::new(vc()), 1);
    tx.install_key(KeyId::default(), material(7, config.image.suite))
        .expect("key");
    tx.set_config(config).expect("config");
    let mut rx = Receiver::new(Settings::new(vc()), Policy::PERMISSIVE, 1_000_000);
    rx.install_key(KeyId::default(), material(7, config.image.suite))
        .expect("key");
    let k1 = KeyId::new(1).expect("id");
    let mut bodies = std::collections::HashSet::new();
    let mut lines = 0;
    let mut out = vec![0u8; OUT];
    for n in 1..=8u16 {
        if n == 5 {
            tx.install_key(k1, material(7, config.image.suite))
                .expect("same bytes, new id");
            rx.install_key(k1, material(7, config.image.suite))
                .expect("same bytes, new id");
            let mut next = config;
            next.key_id = k1;
            tx.set_config(next).expect("rollover");
        }
        for p in same_frame(n) {
            let done = tx.protect(&p, &mut out).expect("protect");
            let sep = out[..done.len].to_vec();
            if p.len() > 8 {
                // The ciphertext sits inside the SEP packet: compare the whole packet body.
                assert!(
                    bodies.insert(sep[4..sep.len() - 2].to_vec()),
                    "frame {n}: a repeat"
                );
                lines += 1;
            }
            let mut o = vec![0u8; OUT];
            match rx.receive(&sep, 0, &mut o) {
                Ok(Delivery::Verified(v)) => assert_eq!(v.packet(), p.as_slice()),
                other => unreachable!("frame {n}: {other:?}"),
            }
        }
    }
    assert_eq!(lines, 48);
    // And no 16-byte block of keystream repeats: XOR of any two bodies' payloads is not all
    // zero in any aligned block (equal plaintext, so equal blocks mean equal keystream).
    let bodies: Vec<Vec<u8>> = bodies.into_iter().collect();
    for (i, a) in bodies.iter().enumerate() {
        for b in &bodies[i + 1..] {
            for (x, y) in a.chunks(16).zip(b.chunks(16)) {
                assert_ne!(x, y, "a repeated ciphertext block");
            }
        }
    }
}

/// A small deterministic generator for mutations.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Mutates a genuine packet: bit flips, truncation, insertion, a length field rewritten,
/// random bytes. Bit flips and byte changes stay out of the 4-byte CSI-2 header, whose ECC
/// corrects a single-bit error (the corrected packet is the genuine one).
fn mutate(g: &mut Lcg, p: &[u8]) -> Vec<u8> {
    let mut v = p.to_vec();
    match g.below(6) {
        0 => {
            let i = 4 + g.below(v.len() - 4);
            v[i] ^= 1 << g.below(8);
        }
        1 => v.truncate(g.below(v.len())),
        2 => {
            let i = g.below(v.len() + 1);
            v.insert(i, g.next() as u8);
        }
        3 if v.len() > 3 => {
            // The CSI-2 word count.
            v[1] = g.next() as u8;
            v[2] = g.next() as u8;
        }
        4 => v = (0..g.below(200)).map(|_| g.next() as u8).collect(),
        _ => {
            for _ in 0..4 {
                let i = 4 + g.below(v.len() - 4);
                v[i] = g.next() as u8;
            }
        }
    }
    v
}

/// Thousands of mutated packets between the genuine ones, through `receive` with output
/// buffers of random sizes and through `receive_batch`: no panic, every error leaves the
/// output wiped, and the genuine packets keep verifying (mutations that happen to get in are
/// only possible where a packet carries no tag of its own, so SV-2 per-message is used).
#[test]
fn mutated_packets_never_panic_and_never_leave_bytes_behind() {
    let (config, policy) = config_cmac_partial();
    let mut config = config;
    config.bottom = config.top;
    let policy = Policy {
        min_bottom: SvLevel::Sv2,
        ..policy
    };
    let frames: Vec<_> = (1..=4).map(|n| frame(n, 6)).collect();
    let genuine = protect(7, config, 10, &frames);
    let mut g = Lcg(42);
    let mut rx = Receiver::new(Settings::new(vc()), policy, 1_000_000);
    rx.install_key(config.key_id, material(7, config.image.suite))
        .expect("key");
    let mut batch = Receiver::new(Settings::new(vc()), policy, 1_000_000);
    batch
        .install_key(config.key_id, material(7, config.image.suite))
        .expect("key");
    let mut list: Vec<(Vec<u8>, usize)> = Vec::new();
    for p in &genuine {
        for _ in 0..150 {
            let m = mutate(&mut g, p);
            if genuine.contains(&m) {
                continue;
            }
            let n = g.below(2 * p.len());
            list.push((m, n));
        }
        list.push((p.clone(), OUT));
    }
    let mut single = Vec::new();
    for (p, n) in &list {
        let r = receive_checked(&mut rx, p, 0, *n);
        if genuine.contains(p) {
            assert!(
                !matches!(r, Got::Err(_)),
                "a genuine packet after the mutations: {r:?}"
            );
        } else {
            assert!(matches!(r, Got::Err(_)), "a mutated packet got in: {r:?}");
        }
        single.push(r);
    }
    let seps: Vec<&[u8]> = list.iter().map(|(p, _)| p.as_slice()).collect();
    let mut bufs: Vec<Vec<u8>> = list.iter().map(|(_, n)| vec![SENTINEL; *n]).collect();
    let mut outs: Vec<&mut [u8]> = bufs.iter_mut().map(|b| b.as_mut_slice()).collect();
    let mut results = Vec::new();
    batch
        .receive_batch(&seps, 0, &mut outs, |_, r| results.push(got(r)))
        .expect("batch");
    assert_eq!(results, single);
    assert_eq!(drain(&mut batch, 0), drain(&mut rx, 0));
}

/// Two streams (VC 1 and VC 3) keyed with the same material, as an integrator might: every
/// packet of one stream offered to the other stream's receiver is refused and moves nothing,
/// and the two streams' ciphertexts of the same line differ (the VC is in every IV).
#[test]
fn packets_of_another_virtual_channel_under_the_same_key_are_refused() {
    let config = FrameConfig::uniform(
        block(
            SecurityVariant::FullIntegrityEncrypted,
            CipherSuite::Aes256Gcm,
            TagMode::PerMessage,
        ),
        KeyId::default(),
    );
    let vc3 = VirtualChannel::new(3).expect("vc");
    let stream = |vc: VirtualChannel| {
        let mut buf = vec![0u8; 512];
        let mut em = Emitter::new(&mut buf, HeaderForm::Dphy);
        em.frame_start(vc, 1).expect("fs");
        em.long(vc, DataType::RAW12, &[0x42; 24]).expect("line");
        em.frame_end(vc, 1).expect("fe");
        let all = em.written().to_vec();
        let mut tx = Transmitter::new(Settings::new(vc), 9);
        tx.install_key(KeyId::default(), material(7, config.image.suite))
            .expect("key");
        tx.set_config(config).expect("config");
        let mut out = vec![0u8; OUT];
        Packets::new(&all, HeaderForm::Dphy)
            .map(|p| {
                let done = tx
                    .protect(p.expect("packet").raw, &mut out)
                    .expect("protect");
                out[..done.len].to_vec()
            })
            .collect::<Vec<_>>()
    };
    let (s1, s3) = (stream(vc()), stream(vc3));
    assert_ne!(s1[1][4..s1[1].len() - 2], s3[1][4..s3[1].len() - 2]);
    let mut rx3 = Receiver::new(Settings::new(vc3), Policy::PERMISSIVE, 1_000_000);
    rx3.install_key(KeyId::default(), material(7, config.image.suite))
        .expect("key");
    for (i, p) in s3.iter().enumerate() {
        let before = view(&rx3);
        for q in &s1 {
            assert!(
                matches!(receive_checked(&mut rx3, q, 0, OUT), Got::Err(_)),
                "VC 1 packet"
            );
            assert_eq!(view(&rx3), before);
            assert_eq!(drain(&mut rx3, 0), []);
        }
        let r = receive_checked(&mut rx3, p, 0, OUT);
        assert!(matches!(r, Got::Verified(_)), "VC 3 packet {i}: {r:?}");
        let _ = drain(&mut rx3, 0);
    }
}

/// The transmitter's configuration and keys changed in the middle of a frame: a new
/// configuration (with a key rollover) applies from the next FS only, and the frame in
/// progress ends under the old one; the receiver sees one clean frame under each key.
#[test]
fn a_configuration_set_mid_frame_applies_from_the_next_frame() {
    let (config, policy) = config_sv5_top();
    let k1 = KeyId::new(1).expect("id");
    let mut next = config;
    next.key_id = k1;
    next.image.tag_mode = TagMode::PerMessage;
    let mut tx = Transmitter::new(Settings::new(vc()), 5);
    tx.install_key(config.key_id, material(7, config.image.suite))
        .expect("key");
    tx.set_config(config).expect("config");
    let mut rx = Receiver::new(Settings::new(vc()), policy, 1_000_000);
    rx.install_key(config.key_id, material(7, config.image.suite))
        .expect("key");
    rx.install_key(k1, material(17, config.image.suite))
        .expect("key 1");
    let mut out = vec![0u8; OUT];
    let mut events = Vec::new();
    for n in 1..=2u16 {
        for (i, p) in frame(n, 4).iter().enumerate() {
            if n == 1 && i == 3 {
                tx.install_key(k1, material(17, config.image.suite))
                    .expect("install mid-frame");
                tx.set_config(next).expect("set mid-frame");
            }
            let done = tx.protect(p, &mut out).expect("protect");
            for s in Packets::new(&out[..done.len], HeaderForm::Dphy) {
                let r = receive_checked(&mut rx, s.expect("sep").raw, 0, OUT);
                assert!(!matches!(r, Got::Err(_)), "frame {n} packet {i}: {r:?}");
            }
            events.extend(drain(&mut rx, 0));
        }
    }
    let starts: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            Event::FrameStart {
                frame_counter,
                config,
            } => Some((*frame_counter, config.key_id)),
            _ => None,
        })
        .collect();
    assert_eq!(starts, [(5, config.key_id), (6, k1)]);
    assert!(
        events.contains(&Event::FrameComplete {
            frame_counter: 5,
            messages: 10,
            clean: true
        }) || events.iter().any(|e| matches!(
            e,
            Event::FrameComplete {
                frame_counter: 5,
                clean: true,
                ..
            }
        ))
    );
    assert!(events.iter().any(|e| matches!(
        e,
        Event::FrameComplete {
            frame_counter: 6,
            clean: true,
            ..
        }
    )));
}

/// The frame counter's limits: no restart request below the soft limit, from it on every
/// `protect` says `NeedsRestart` and the receiver reports `NeedsRestart` once, forged frame
/// starts past it report nothing, and the frame `u32::MAX` is refused by the transmitter
/// (nothing written).
#[test]
fn the_frame_counter_limits_are_reported_before_they_bite() {
    let config = FrameConfig::uniform(
        block(
            SecurityVariant::FullIntegrity,
            CipherSuite::Aes256Gmac,
            TagMode::PerMessage,
        ),
        KeyId::default(),
    );
    let soft = cse_core::Profile::DRAFT_1.frame_counter_soft_limit;
    let needs_restart = |events: &[Event]| {
        events
            .iter()
            .filter(|e| matches!(e, Event::NeedsRestart { .. }))
            .count()
    };
    // Below and across the soft limit.
    let mut tx = Transmitter::new(Settings::new(vc()), soft - 2);
    tx.install_key(KeyId::default(), material(7, config.image.suite))
        .expect("key");
    tx.set_config(config).expect("config");
    let mut rx = Receiver::new(Settings::new(vc()), Policy::PERMISSIVE, 1_000_000);
    rx.install_key(KeyId::default(), material(7, config.image.suite))
        .expect("key");
    let forged_past = protect(8, config, soft + 10, &[frame(9, 1)]);
    let mut out = vec![0u8; OUT];
    let mut reported = Vec::new();
    for (k, n) in (1..=4u16).enumerate() {
        let fc = soft - 2 + k as u32;
        for p in frame(n, 2) {
            let done = tx.protect(&p, &mut out).expect("protect");
            assert_eq!(done.needs_restart(), fc >= soft, "frame {fc:#x}");
            let r = receive_checked(&mut rx, &out[..done.len], 0, OUT);
            assert!(matches!(r, Got::Verified(_)), "{r:?}");
        }
        // The forger's frame start past the soft limit: refused, reports nothing.
        assert!(matches!(
            receive_checked(&mut rx, &forged_past[0], 0, OUT),
            Got::Err(_)
        ));
        let e = drain(&mut rx, 0);
        reported.push(needs_restart(&e));
    }
    assert_eq!(
        reported,
        [0, 0, 1, 0],
        "once, at the first frame past the soft limit"
    );

    // The last frames of the stream.
    let mut tx = Transmitter::new(Settings::new(vc()), u32::MAX - 1);
    tx.install_key(KeyId::default(), material(7, config.image.suite))
        .expect("key");
    tx.set_config(config).expect("config");
    let mut rx = Receiver::new(Settings::new(vc()), Policy::PERMISSIVE, 1_000_000);
    rx.install_key(KeyId::default(), material(7, config.image.suite))
        .expect("key");
    for p in frame(1, 1) {
        let done = tx.protect(&p, &mut out).expect("the last frame");
        assert!(done.needs_restart());
        assert!(matches!(
            receive_checked(&mut rx, &out[..done.len], 0, OUT),
            Got::Verified(_)
        ));
    }
    let f = frame(2, 1);
    out.fill(SENTINEL);
    let e = tx.protect(&f[0], &mut out).expect_err("frame u32::MAX");
    assert_eq!(format!("{e:?}"), "Security(KeyExhausted)");
    assert!(out.iter().all(|&b| b == SENTINEL), "nothing written");
    // The forger's frame start for the last valid counter (u32::MAX itself cannot be made by
    // a transmitter; the existing adversarial tests forge it by hand).
    let forged_max = protect(8, config, u32::MAX - 1, &[frame(2, 1)]);
    let before = view(&rx);
    let _ = drain(&mut rx, 0);
    assert!(matches!(
        receive_checked(&mut rx, &forged_max[0], 0, OUT),
        Got::Err(_)
    ));
    assert_eq!(view(&rx), before);
    assert_eq!(drain(&mut rx, 0), []);
}

/// A genuine line lost on the link (not injected: simply missing) is a `MessageLoss` at the
/// next authenticated packet, and the frame that lost it does not complete clean; an SV-5
/// packet lost in the top block is reported at the next authenticated packet too. The frames
/// around it stay clean.
#[test]
fn a_lost_message_is_reported_once_and_makes_its_frame_unclean() {
    let config = FrameConfig::uniform(
        block(
            SecurityVariant::FullIntegrity,
            CipherSuite::Aes256Gmac,
            TagMode::PerMessage,
        ),
        KeyId::default(),
    );
    let (sv5_top, policy) = config_sv5_top();
    let frames: Vec<_> = (1..=3).map(|n| frame(n, 3)).collect();
    for (config, policy) in [(config, Policy::PERMISSIVE), (sv5_top, policy)] {
        let genuine = protect(7, config, 10, &frames);
        let per_frame = genuine.len() / 3;
        // Frame 11's second packet (the top embedded line, SV-5 in the second configuration).
        let dropped = per_frame + 1;
        let stream: Vec<_> = genuine
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != dropped)
            .map(|(_, p)| p.clone())
            .collect();
        let (_, events, _, rx) = run_with(config, policy, &stream, 0, &[]);
        let losses: Vec<_> = events
            .iter()
            .filter(|e| matches!(e, Event::Fusa(_)))
            .collect();
        // Reported at the next authenticated packet: the second line in the first
        // configuration, the close record of the image scope (index 5) in the second, whose
        // SV-5 and open-scope packets in between account for all but the lost one.
        let got = if config.top.sv == SecurityVariant::NoSecurity {
            5
        } else {
            2
        };
        assert_eq!(
            losses,
            [&Event::Fusa(cse_core::FusaError::MessageLoss {
                expected: 1,
                got,
                lost: 1
            })],
            "{config:?}"
        );
        assert_eq!(rx.fusa_stats().messages_lost, 1);
        let complete: Vec<_> = events
            .iter()
            .filter_map(|e| match e {
                Event::FrameComplete {
                    frame_counter,
                    messages,
                    clean,
                } => Some((*frame_counter, *messages, *clean)),
                _ => None,
            })
            .collect();
        let n = u32::try_from(per_frame).expect("small");
        assert_eq!(
            complete,
            [(10, n, true), (11, n - 1, false), (12, n, true)],
            "{config:?}"
        );
    }
}
