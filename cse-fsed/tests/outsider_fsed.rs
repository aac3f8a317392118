//! Outsider attacks on the FSED receiver, written against the public API and the docs only.
//!
//! The forger is a keyless injector: a transmitter of its own under another key, whose frame
//! headers and tag records are well formed with wrong tags, and whose SV-5 frames are exactly
//! what a genuine SV-5 frame would be. Attacks run on twin receivers (one attacked, one not).

use cse_core::csi2::{DataType, Emitter, HeaderForm, Packets, VirtualChannel};
use cse_core::keys::{Salt, SecretKey};
use cse_core::rx::Event;
use cse_core::{
    BlockConfig, CipherSuite, FrameConfig, KeyId, Policy, SecurityVariant, SvLevel, TagLen, TagMode,
};
use cse_fsed::{Delivery, FsedError, KeyMaterial, Receiver, Settings, Transmitter};

fn vc() -> VirtualChannel {
    VirtualChannel::new(2).expect("vc")
}

fn material(byte: u8) -> KeyMaterial {
    KeyMaterial::new(
        SecretKey::aes256([byte; 32]),
        None,
        Salt::new([byte ^ 0x5A; 12]),
    )
}

fn block(sv: SecurityVariant, suite: CipherSuite, tag_mode: TagMode) -> BlockConfig {
    BlockConfig {
        sv,
        suite,
        tag_len: TagLen::L16,
        tag_mode,
    }
}

fn config() -> FrameConfig {
    FrameConfig {
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
            SecurityVariant::NoSecurity,
            CipherSuite::Aes256Gmac,
            TagMode::PerFrame,
        ),
        key_id: KeyId::default(),
    }
}

const POLICY: Policy = Policy {
    min_top: SvLevel::Sv2,
    min_image: SvLevel::Sv1,
    min_bottom: SvLevel::Sv5,
};

/// FS, an embedded line, `lines` RAW12 lines (two data types when `mixed`), an embedded line,
/// FE.
fn frame(n: u16, lines: usize) -> Vec<Vec<u8>> {
    let mut buf = vec![0u8; 64 + lines * 64];
    let mut em = Emitter::new(&mut buf, HeaderForm::Dphy);
    em.frame_start(vc(), n).expect("fs");
    em.long(vc(), DataType::EMBEDDED, &[0x11 ^ n as u8; 12])
        .expect("emb");
    for l in 0..lines {
        let dt = if l % 2 == 0 {
            DataType::RAW12
        } else {
            DataType::RAW10
        };
        em.long(vc(), dt, &[l as u8 ^ n as u8; 20]).expect("line");
    }
    em.long(vc(), DataType::EMBEDDED, &[0x22 ^ n as u8; 12])
        .expect("emb");
    em.frame_end(vc(), n).expect("fe");
    let all = em.written().to_vec();
    Packets::new(&all, HeaderForm::Dphy)
        .map(|p| p.expect("packet").raw.to_vec())
        .collect()
}

/// The mixed stream (originals and inserted FSED packets), one packet per entry.
fn protect(key: u8, config: FrameConfig, first: u32, frames: &[Vec<Vec<u8>>]) -> Vec<Vec<u8>> {
    let mut tx = Transmitter::new(Settings::new(vc()), first);
    tx.install_key(config.key_id, material(key)).expect("key");
    tx.set_config(config).expect("config");
    let mut wire = Vec::new();
    let mut ins = [0u8; cse_fsed::tx::MAX_INSERTED_LEN];
    for f in frames {
        for p in f {
            let mut p = p.clone();
            let r = tx.protect(&mut p, &mut ins).expect("protect");
            for part in [r.before(&ins), &p, r.after(&ins)] {
                for s in Packets::new(part, HeaderForm::Dphy) {
                    wire.push(s.expect("packet").raw.to_vec());
                }
            }
        }
    }
    wire
}

#[derive(Debug, PartialEq, Eq)]
enum Got {
    Unverified(Vec<u8>),
    Unprotected(Vec<u8>),
    Sync(Vec<u8>),
    Header(u32),
    Scope(core::ops::Range<u32>),
    Err(String),
}

fn got(r: Result<Delivery<'_>, FsedError>) -> Got {
    match r {
        Ok(Delivery::Unverified(u)) => Got::Unverified(u.unverified_packet().to_vec()),
        Ok(Delivery::Unprotected(u)) => Got::Unprotected(u.unauthenticated_packet().to_vec()),
        Ok(Delivery::Sync(s)) => Got::Sync(s.packet().to_vec()),
        Ok(Delivery::FrameHeader { frame_counter }) => Got::Header(frame_counter),
        Ok(Delivery::ScopeVerified(p)) => Got::Scope(p.indices()),
        Ok(_) => Got::Err("unknown delivery".into()),
        Err(e) => Got::Err(format!("{e:?}")),
    }
}

fn drain(rx: &mut Receiver, now: u64) -> Vec<Event> {
    core::iter::from_fn(|| rx.poll_event(now)).collect()
}

/// Everything observable apart from the rejection counters.
fn view(rx: &Receiver) -> String {
    let mut fusa = *rx.fusa_stats();
    fusa.crc16_errors = 0;
    fusa.crc32_errors = 0;
    let sec = rx.security_stats().needs_rekey;
    let p = rx.protocol_stats();
    let dbg = format!("{rx:?}");
    let dbg = dbg
        .split("id: ReceiverId")
        .next()
        .unwrap_or_default()
        .to_owned();
    format!(
        "{fusa:?} {sec} {} {} {dbg}",
        p.scopes_verified, p.unverified
    )
}

fn new_rx(policy: Policy) -> Receiver {
    let mut rx = Receiver::new(Settings::new(vc()), policy, 1_000_000);
    rx.install_key(KeyId::default(), material(7)).expect("key");
    rx
}

/// Before every position of a three-frame stream: the forger's packets of this and the next
/// positions (those that differ from the genuine ones), every genuine packet truncated by one
/// byte and extended by one, an empty packet, and replays of the earlier genuine packets that
/// carry a tag (frame headers and tag records). Each must be rejected and move nothing, and
/// the rest of the stream must give what it gives the twin.
#[test]
fn forged_truncated_and_replayed_packets_before_every_position_move_nothing() {
    let frames: Vec<_> = (1..=3).map(|n| frame(n, 4)).collect();
    let genuine = protect(7, config(), 20, &frames);
    let forged: Vec<Vec<u8>> = protect(8, config(), 20, &frames)
        .into_iter()
        .filter(|p| !genuine.contains(p))
        .collect();
    // The genuine packets that are FSED packets (frame headers, tag records).
    let mut probe = new_rx(POLICY);
    let fsed: Vec<bool> = genuine
        .iter()
        .map(|p| matches!(got(probe.receive(p, 0)), Got::Header(_) | Got::Scope(_)))
        .collect();
    let mut tried = 0;
    for i in 0..genuine.len() {
        let g = &genuine[i];
        let mut attack: Vec<Vec<u8>> = forged
            .iter()
            .skip(i.saturating_sub(2))
            .take(4)
            .cloned()
            .collect();
        attack.push(g[..g.len() - 1].to_vec());
        attack.push([g.as_slice(), &[0]].concat());
        attack.push(Vec::new());
        attack.extend(
            genuine[..i]
                .iter()
                .zip(&fsed)
                .filter(|(_, f)| **f)
                .map(|(p, _)| p.clone()),
        );
        for a in attack {
            let (mut x, mut y) = (new_rx(POLICY), new_rx(POLICY));
            let (mut ex, mut ey) = (Vec::new(), Vec::new());
            for (t, p) in genuine[..i].iter().enumerate() {
                assert_eq!(got(x.receive(p, t as u64)), got(y.receive(p, t as u64)));
            }
            ex.extend(drain(&mut x, 0));
            ey.extend(drain(&mut y, 0));
            let before = view(&x);
            let r = got(x.receive(&a, i as u64));
            if !matches!(r, Got::Err(_)) {
                // Only what carries no tag of its own may get in (an original packet, which
                // then fails its scope): never a header or a record.
                assert!(
                    matches!(r, Got::Unverified(_) | Got::Unprotected(_) | Got::Sync(_)),
                    "position {i}: {r:?}"
                );
                continue;
            }
            tried += 1;
            assert_eq!(drain(&mut x, i as u64), [], "position {i}");
            assert_eq!(view(&x), before, "position {i}");
            for (t, p) in genuine.iter().enumerate().skip(i) {
                let rx_ = got(x.receive(p, t as u64));
                let ry = got(y.receive(p, t as u64));
                assert_eq!(rx_, ry, "position {i}: genuine packet {t}");
                assert!(
                    !matches!(rx_, Got::Err(_)),
                    "position {i}: genuine packet {t}"
                );
            }
            ex.extend(drain(&mut x, 99));
            ey.extend(drain(&mut y, 99));
            assert_eq!(ex, ey, "position {i}: events");
            assert_eq!(view(&x), view(&y), "position {i}");
        }
    }
    assert!(tried > 3 * genuine.len(), "{tried}");
}

/// `decrypt` with a proof of one scope and the ticket of a packet of another: refused, and
/// the buffer is left exactly as given (no keystream applied).
#[test]
fn decrypt_with_the_proof_of_another_scope_leaves_the_buffer_as_given() {
    let mut rx = new_rx(POLICY);
    let (held, image) = held_and_proofs(&mut rx);
    assert!(held.len() >= 4, "{}", held.len());
    // The image block has two data-type scopes (RAW12, RAW10).
    assert_eq!(image.len(), 2);
    let mut mismatches = 0;
    for (bytes, ticket, _) in &held {
        for proof in image.iter() {
            let mut buf = bytes.clone();
            let covers = proof.scope() == ticket_scope(proof, ticket, &rx, bytes);
            let r = rx.decrypt(proof, ticket, &mut buf);
            if !covers {
                assert_eq!(r, Err(FsedError::ProofMismatch));
                assert_eq!(&buf, bytes, "the buffer is as given");
                mismatches += 1;
            }
        }
    }
    assert!(mismatches >= held.len(), "{mismatches}");
}

/// The frame's SV-1 packets released as unverified (bytes, ticket, data type) and the proofs
/// of its image scopes.
type Held = Vec<(Vec<u8>, cse_fsed::DecryptTicket, DataType)>;

fn held_and_proofs(rx: &mut Receiver) -> (Held, Vec<cse_fsed::ScopeProof>) {
    let genuine = protect(7, config(), 20, &[frame(1, 6)]);
    let mut held = Vec::new();
    let mut proofs = Vec::new();
    for p in &genuine {
        match rx.receive(p, 0).expect("genuine") {
            Delivery::Unverified(u) if u.is_encrypted() => held.push((
                u.unverified_packet().to_vec(),
                u.decrypt_ticket(),
                u.info().data_type,
            )),
            Delivery::ScopeVerified(proof) if proof.scope().block == cse_core::Block::Image => {
                proofs.push(proof)
            }
            _ => {}
        }
    }
    (held, proofs)
}

/// The ticket and proof of one packet with the bytes of another intact packet of the same data
/// type and length: `decrypt` documents an error when "packet is not the packet the ticket
/// describes" and promises the buffer back as given. The CRC-16 it checks is the given
/// packet's own footer, so an intact other packet passes: `decrypt` returns `Ok` and the
/// buffer holds the other ciphertext under the wrong keystream, with a fresh CRC-16 that
/// makes it look like a good packet.
#[test]
fn decrypt_with_the_bytes_of_another_packet_is_refused() {
    let mut rx = new_rx(POLICY);
    let (held, proofs) = held_and_proofs(&mut rx);
    let mut checked = 0;
    for (k, (bytes, ticket, dt)) in held.iter().enumerate() {
        let Some((other, _, _)) = held
            .iter()
            .skip(k + 1)
            .find(|(b, _, d)| d == dt && b.len() == bytes.len() && b != bytes)
        else {
            continue;
        };
        let proof = proofs
            .iter()
            .find(|p| rx.decrypt(p, ticket, &mut bytes.clone()).is_ok())
            .expect("the ticket's own proof");
        let mut buf = other.clone();
        let r = rx.decrypt(proof, ticket, &mut buf);
        assert!(r.is_err(), "packet {k}: {r:?}, buffer now {buf:02x?}");
        assert_eq!(&buf, other, "packet {k}: the buffer is as given");
        checked += 1;
    }
    assert!(checked >= 2, "{checked}");
}

/// Whether `proof` is the proof of the ticket's scope: decrypting a copy tells.
fn ticket_scope(
    proof: &cse_fsed::ScopeProof,
    ticket: &cse_fsed::DecryptTicket,
    rx: &Receiver,
    bytes: &[u8],
) -> cse_core::rx::ScopeId {
    let mut copy = bytes.to_vec();
    match rx.decrypt(proof, ticket, &mut copy) {
        Ok(()) => proof.scope(),
        Err(_) => cse_core::rx::ScopeId {
            frame_counter: u32::MAX,
            ..proof.scope()
        },
    }
}

/// Under a policy that allows SV-5 everywhere, a forged all-SV-5 frame between genuine frames
/// is accepted (nothing tells it from a genuine one). The genuine frames after it must be
/// judged as in the twin: no continuity finding blamed on them.
#[test]
fn a_forged_all_sv5_frame_leaves_the_later_genuine_frames_alone() {
    let frames: Vec<_> = (1..=3).map(|n| frame(n, 2)).collect();
    let genuine = protect(7, config(), 20, &frames);
    let at = protect(7, config(), 20, &frames[..1]).len();
    let sv5 = FrameConfig::uniform(
        block(
            SecurityVariant::NoSecurity,
            CipherSuite::Aes256Gmac,
            TagMode::PerFrame,
        ),
        KeyId::default(),
    );
    let mut judged = Vec::new();
    for fc in [19, 21, 22, 1000] {
        let forged = protect(8, sv5, fc, &[frame(9, 2)]);
        let run = |inject: &[Vec<u8>]| {
            let mut rx = new_rx(Policy::PERMISSIVE);
            let mut events = Vec::new();
            let mut results = Vec::new();
            for (t, p) in genuine.iter().enumerate() {
                if t == at {
                    for f in inject {
                        let _ = rx.receive(f, t as u64);
                    }
                    let _ = drain(&mut rx, t as u64);
                }
                results.push(got(rx.receive(p, t as u64)));
                let e = drain(&mut rx, t as u64);
                if t >= at {
                    events.extend(e);
                }
            }
            (results, events)
        };
        let (ra, mut ea) = run(&forged);
        let (rb, eb) = run(&[]);
        assert_eq!(ra, rb, "fc {fc}");
        ea.retain(|e| *e != Event::FrameAbandoned { frame_counter: fc });
        if ea != eb {
            let extra: Vec<_> = ea.iter().filter(|e| !eb.contains(e)).collect();
            judged.push(format!("fc {fc}: extra {extra:?}"));
        }
    }
    assert!(judged.is_empty(), "{}", judged.join("\n"));
}

/// `decrypt` keeps working for the finished frame "until the next frame ends". A keyless
/// injector sends a frame start, a frame header of its own (wrong key) and a frame end right
/// after the genuine frame: nothing authenticated, so the genuine frame's proof must still
/// decrypt its packets. Observed: the FS and header alone change nothing, but the forged FE
/// ends the unauthenticated frame and it replaces the finished genuine frame: none of the
/// genuine frame's verified SV-1 packets decrypts any more.
#[test]
fn an_injected_unauthenticated_frame_does_not_end_decryption_of_the_finished_frame() {
    let mut rx = new_rx(POLICY);
    let (held, proofs) = held_and_proofs(&mut rx);
    // The forger's FS, frame header and FE for the next counter.
    let forged = protect(8, config(), 21, &[frame(2, 2)]);
    let fs_header: Vec<&Vec<u8>> = forged.iter().take(2).collect();
    let fe = forged.last().expect("fe");
    let mut accepted = Vec::new();
    for p in fs_header.into_iter().chain([fe]) {
        accepted.push(got(rx.receive(p, 1)));
    }
    let mut decrypted = 0;
    for (bytes, ticket, _) in &held {
        let proof = proofs.iter().find(|p| {
            let mut b = bytes.clone();
            rx.decrypt(p, ticket, &mut b).is_ok()
        });
        assert!(
            proof.is_some(),
            "after {accepted:?}: a packet of the finished frame no longer decrypts"
        );
        decrypted += 1;
    }
    assert_eq!(decrypted, held.len());
}

/// Around a key rollover: the receiver holds key 0 (active) and key 1 (idle). Forged frame
/// headers naming key 1 (under the forger's key) and key 0, each with its FS and a forged tag
/// record, come before the genuine frame under key 1: none of them may activate a key or
/// start a frame, and the genuine frames before and after verify with exactly one rollover.
#[test]
fn forged_frame_headers_around_a_rollover_activate_nothing() {
    let k1 = KeyId::new(1).expect("id");
    let mut next = config();
    next.key_id = k1;
    // The genuine sender: frame 30 under key 0, frame 31 under key 1.
    let mut tx = Transmitter::new(Settings::new(vc()), 30);
    tx.install_key(KeyId::default(), material(7))
        .expect("key 0");
    tx.set_config(config()).expect("config");
    let mut ins = [0u8; cse_fsed::tx::MAX_INSERTED_LEN];
    let mut wire = |tx: &mut Transmitter, f: Vec<Vec<u8>>| {
        let mut v = Vec::new();
        for mut p in f {
            let r = tx.protect(&mut p, &mut ins).expect("protect");
            for part in [r.before(&ins), &p, r.after(&ins)] {
                for s in Packets::new(part, HeaderForm::Dphy) {
                    v.push(s.expect("packet").raw.to_vec());
                }
            }
        }
        v
    };
    let f30 = wire(&mut tx, frame(1, 4));
    tx.install_key(k1, material(17)).expect("key 1");
    tx.set_config(next).expect("next");
    let f31 = wire(&mut tx, frame(2, 4));
    let forged_k1 = protect(8, next, 31, &[frame(2, 4)]);
    let forged_k0 = protect(8, config(), 31, &[frame(2, 4)]);

    let mut rx = new_rx(POLICY);
    rx.install_key(k1, material(17)).expect("idle key 1");
    let mut events = Vec::new();
    for p in &f30 {
        assert!(!matches!(got(rx.receive(p, 0)), Got::Err(_)));
        events.extend(drain(&mut rx, 0));
    }
    // The forgeries: FS, header and the first tag record of each forged frame.
    for forged in [&forged_k1, &forged_k0] {
        let record = forged
            .iter()
            .skip(2)
            .find(|p| !f31.contains(p) && p.len() > 40)
            .expect("a forged record");
        for p in [&forged[0], &forged[1], record] {
            let _ = rx.receive(p, 1);
        }
        let e = drain(&mut rx, 1);
        assert!(
            !e.iter()
                .any(|e| matches!(e, Event::KeyRollover { .. } | Event::FrameStart { .. })),
            "{e:?}"
        );
    }
    for p in &f31 {
        let r = got(rx.receive(p, 2));
        assert!(!matches!(r, Got::Err(_)), "{r:?}");
        events.extend(drain(&mut rx, 2));
    }
    let rollovers: Vec<_> = events
        .iter()
        .filter(|e| matches!(e, Event::KeyRollover { .. }))
        .collect();
    assert_eq!(
        rollovers,
        [&Event::KeyRollover {
            from: KeyId::default(),
            to: k1
        }]
    );
    let complete: Vec<_> = events
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
    assert_eq!(complete, [(30, true), (31, true)]);
}

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

/// Mutated copies of the genuine FSED packets (frame headers and tag records: the packets
/// that carry tags), fed before each genuine packet: never a panic, never accepted, nothing
/// moves, and the stream ends exactly as a twin's that saw no mutation.
#[test]
fn mutated_frame_headers_and_records_never_get_in() {
    let frames: Vec<_> = (1..=3).map(|n| frame(n, 4)).collect();
    let genuine = protect(7, config(), 20, &frames);
    let mut probe = new_rx(POLICY);
    let tagged: Vec<bool> = genuine
        .iter()
        .map(|p| matches!(got(probe.receive(p, 0)), Got::Header(_) | Got::Scope(_)))
        .collect();
    let mut g = Lcg(99);
    let (mut a, mut b) = (new_rx(POLICY), new_rx(POLICY));
    let fsed: Vec<&Vec<u8>> = genuine
        .iter()
        .zip(&tagged)
        .filter(|(_, t)| **t)
        .map(|(p, _)| p)
        .collect();
    for (t, p) in genuine.iter().enumerate() {
        let before = view(&a);
        for _ in 0..60 {
            let src = fsed[g.below(fsed.len())];
            let mut m = src.clone();
            match g.below(4) {
                0 => {
                    let i = 4 + g.below(m.len() - 4);
                    m[i] ^= 1 << g.below(8);
                }
                1 => m.truncate(g.below(m.len())),
                2 => m.insert(g.below(m.len() + 1), g.next() as u8),
                _ => {
                    for _ in 0..3 {
                        let i = 4 + g.below(m.len() - 4);
                        m[i] = g.next() as u8;
                    }
                }
            }
            if genuine.contains(&m) {
                continue;
            }
            let r = got(a.receive(&m, t as u64));
            assert!(
                matches!(r, Got::Err(_)),
                "packet {t}: a mutation got in: {r:?}"
            );
        }
        assert_eq!(view(&a), before, "packet {t}");
        assert_eq!(
            got(a.receive(p, t as u64)),
            got(b.receive(p, t as u64)),
            "packet {t}"
        );
        assert_eq!(
            drain(&mut a, t as u64),
            drain(&mut b, t as u64),
            "packet {t}"
        );
    }
    assert_eq!(view(&a), view(&b));
}
