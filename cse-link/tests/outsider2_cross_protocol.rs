//! Outsider round 2: packets of the other protocol (SEP into an FSED receiver, FSED into an SEP
//! receiver) on the same virtual channel under the same key bytes, before every position of a
//! genuine stream. Written against the public API and the docs only.
//!
//! A refused packet must leave the receiver exactly as it was apart from the rejection
//! counters (docs/security.md); one that gets in may only be an unauthenticated delivery
//! (`Unprotected`/`Unverified`), and nothing it is followed by may verify differently from a
//! twin receiver that never saw it.

use cse_core::csi2::{DataType, Emitter, HeaderForm, Packets, VirtualChannel};
use cse_core::keys::{Salt, SecretKey};
use cse_core::rx::Event;
use cse_core::{
    BlockConfig, CipherSuite, FrameConfig, KeyId, Policy, SecurityVariant, SvLevel, TagLen, TagMode,
};

const OUT: usize = 4096;

fn vc() -> VirtualChannel {
    VirtualChannel::new(1).expect("vc")
}

fn key() -> (SecretKey, Salt) {
    (SecretKey::aes256([7; 32]), Salt::new([0x5D; 12]))
}

fn config() -> FrameConfig {
    let b = |sv, suite, tag_mode| BlockConfig {
        sv,
        suite,
        tag_len: TagLen::L16,
        tag_mode,
    };
    FrameConfig {
        top: b(
            SecurityVariant::FullIntegrity,
            CipherSuite::Aes256Gmac,
            TagMode::PerFrame,
        ),
        image: b(
            SecurityVariant::FullIntegrityEncrypted,
            CipherSuite::Aes256Gcm,
            TagMode::PerDataType,
        ),
        bottom: b(
            SecurityVariant::FullIntegrity,
            CipherSuite::Aes256Gmac,
            TagMode::PerFrame,
        ),
        key_id: KeyId::default(),
    }
}

const POLICY: Policy = Policy {
    min_top: SvLevel::Sv2,
    min_image: SvLevel::Sv1,
    min_bottom: SvLevel::Sv2,
};

fn frame(n: u16) -> Vec<Vec<u8>> {
    let mut buf = vec![0u8; 512];
    let mut em = Emitter::new(&mut buf, HeaderForm::Dphy);
    em.frame_start(vc(), n).expect("fs");
    em.long(vc(), DataType::EMBEDDED, &[0x11 ^ n as u8; 12])
        .expect("emb");
    for l in 0..3u8 {
        em.long(vc(), DataType::RAW12, &[l ^ n as u8; 24])
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

fn frames() -> Vec<Vec<Vec<u8>>> {
    (1..=2).map(frame).collect()
}

fn split(bytes: &[u8]) -> Vec<Vec<u8>> {
    Packets::new(bytes, HeaderForm::Dphy)
        .map(|p| p.expect("packet").raw.to_vec())
        .collect()
}

fn sep_stream() -> Vec<Vec<u8>> {
    let (k, s) = key();
    let mut tx = cse_sep::Transmitter::new(cse_sep::Settings::new(vc()), 10);
    tx.install_key(KeyId::default(), cse_sep::KeyMaterial::new(k, None, s))
        .expect("key");
    tx.set_config(config()).expect("config");
    let mut wire = Vec::new();
    let mut out = vec![0u8; OUT];
    for p in frames().iter().flatten() {
        let done = tx.protect(p, &mut out).expect("protect");
        wire.extend(split(&out[..done.len]));
    }
    wire
}

fn fsed_stream() -> Vec<Vec<u8>> {
    let (k, s) = key();
    let mut tx = cse_fsed::Transmitter::new(cse_fsed::Settings::new(vc()), 10);
    tx.install_key(KeyId::default(), cse_fsed::KeyMaterial::new(k, None, s))
        .expect("key");
    tx.set_config(config()).expect("config");
    let mut wire = Vec::new();
    let mut ins = [0u8; cse_fsed::tx::MAX_INSERTED_LEN];
    for p in frames().iter().flatten() {
        let mut p = p.clone();
        let r = tx.protect(&mut p, &mut ins).expect("protect");
        for part in [r.before(&ins), &p, r.after(&ins)] {
            wire.extend(split(part));
        }
    }
    wire
}

/// A receiver of either protocol, seen through what the tests compare.
trait Rx {
    fn new_rx() -> Self;
    /// `Ok(true)`: an authenticated delivery; `Ok(false)`: an unauthenticated one.
    fn recv(&mut self, p: &[u8], now: u64) -> Result<(bool, Vec<u8>), String>;
    fn events(&mut self, now: u64) -> Vec<Event>;
    fn view(&self) -> String;
}

struct Sep(cse_sep::Receiver);
struct Fsed(cse_fsed::Receiver);

fn strip_id(dbg: String) -> String {
    dbg.split("id: ReceiverId")
        .next()
        .unwrap_or_default()
        .to_owned()
}

impl Rx for Sep {
    fn new_rx() -> Self {
        let (k, s) = key();
        let mut rx = cse_sep::Receiver::new(cse_sep::Settings::new(vc()), POLICY, 1000);
        rx.install_key(KeyId::default(), cse_sep::KeyMaterial::new(k, None, s))
            .expect("key");
        Sep(rx)
    }
    fn recv(&mut self, p: &[u8], now: u64) -> Result<(bool, Vec<u8>), String> {
        let mut out = vec![0xEE; OUT];
        let r = match self.0.receive(p, now, &mut out) {
            Ok(cse_sep::Delivery::Verified(v)) => Ok((true, v.packet().to_vec())),
            Ok(cse_sep::Delivery::ScopeVerified(s)) => {
                Ok((true, format!("{:?}", s.indices()).into_bytes()))
            }
            Ok(cse_sep::Delivery::Unverified(u)) => Ok((false, u.unverified_packet().to_vec())),
            Ok(cse_sep::Delivery::Unprotected(u)) => {
                Ok((false, u.unauthenticated_packet().to_vec()))
            }
            Ok(_) => Err("unknown delivery".into()),
            Err(e) => Err(format!("{e:?}")),
        };
        if let Err(e) = &r {
            let n = p.len().min(OUT);
            assert!(out[..n].iter().all(|&b| b == 0), "{e}: output not wiped");
            assert!(out[n..].iter().all(|&b| b == 0xEE), "{e}: written past");
        }
        r
    }
    fn events(&mut self, now: u64) -> Vec<Event> {
        core::iter::from_fn(|| self.0.poll_event(now)).collect()
    }
    fn view(&self) -> String {
        let rx = &self.0;
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
        strip_id(format!("{fusa:?} {sec:?} {proto:?} {rx:?}"))
    }
}

impl Rx for Fsed {
    fn new_rx() -> Self {
        let (k, s) = key();
        let mut rx = cse_fsed::Receiver::new(cse_fsed::Settings::new(vc()), POLICY, 1000);
        rx.install_key(KeyId::default(), cse_fsed::KeyMaterial::new(k, None, s))
            .expect("key");
        Fsed(rx)
    }
    fn recv(&mut self, p: &[u8], now: u64) -> Result<(bool, Vec<u8>), String> {
        match self.0.receive(p, now) {
            Ok(cse_fsed::Delivery::Sync(s)) => Ok((false, s.packet().to_vec())),
            Ok(cse_fsed::Delivery::FrameHeader { frame_counter }) => {
                Ok((true, frame_counter.to_le_bytes().to_vec()))
            }
            Ok(cse_fsed::Delivery::ScopeVerified(s)) => {
                Ok((true, format!("{:?}", s.indices()).into_bytes()))
            }
            Ok(cse_fsed::Delivery::Unverified(u)) => Ok((false, u.unverified_packet().to_vec())),
            Ok(cse_fsed::Delivery::Unprotected(u)) => {
                Ok((false, u.unauthenticated_packet().to_vec()))
            }
            Ok(_) => Err("unknown delivery".into()),
            Err(e) => Err(format!("{e:?}")),
        }
    }
    fn events(&mut self, now: u64) -> Vec<Event> {
        core::iter::from_fn(|| self.0.poll_event(now)).collect()
    }
    fn view(&self) -> String {
        let rx = &self.0;
        let mut fusa = *rx.fusa_stats();
        fusa.crc16_errors = 0;
        fusa.crc32_errors = 0;
        let p = rx.protocol_stats();
        strip_id(format!(
            "{fusa:?} {} {} {} {rx:?}",
            rx.security_stats().needs_rekey,
            p.scopes_verified,
            p.unverified
        ))
    }
}

/// Before every position of `genuine`, each packet of `foreign` on its own.
fn run<R: Rx>(genuine: &[Vec<u8>], foreign: &[Vec<u8>]) -> (usize, usize) {
    let mut reference = R::new_rx();
    for (t, p) in genuine.iter().enumerate() {
        assert!(reference.recv(p, t as u64).is_ok(), "genuine packet {t}");
    }
    let (mut refused, mut accepted) = (0, 0);
    for i in 0..=genuine.len() {
        for (j, f) in foreign.iter().enumerate() {
            if genuine.contains(f) {
                continue; // a plain original packet is the same in both streams
            }
            let (mut a, mut b) = (R::new_rx(), R::new_rx());
            let (mut ea, mut eb) = (Vec::new(), Vec::new());
            for (t, p) in genuine[..i].iter().enumerate() {
                assert_eq!(a.recv(p, t as u64), b.recv(p, t as u64));
                ea.extend(a.events(t as u64));
                eb.extend(b.events(t as u64));
            }
            let before = a.view();
            let now = i as u64;
            match a.recv(f, now) {
                Err(_) => {
                    refused += 1;
                    assert_eq!(a.events(now), [], "position {i}, foreign {j}");
                    assert_eq!(a.view(), before, "position {i}, foreign {j}");
                    for (t, p) in genuine.iter().enumerate().skip(i) {
                        let ra = a.recv(p, t as u64);
                        assert_eq!(ra, b.recv(p, t as u64), "position {i}, foreign {j}: {t}");
                        assert!(ra.is_ok(), "position {i}, foreign {j}: {t} {ra:?}");
                        ea.extend(a.events(t as u64));
                        eb.extend(b.events(t as u64));
                    }
                    assert_eq!(ea, eb, "position {i}, foreign {j}: events");
                    assert_eq!(a.view(), b.view(), "position {i}, foreign {j}");
                }
                Ok((authenticated, bytes)) => {
                    accepted += 1;
                    assert!(
                        !authenticated,
                        "position {i}, foreign {j}: authenticated {bytes:02x?}"
                    );
                    // Between frames (before the first, or right after a plain FE), an
                    // unauthenticated packet belongs to no frame: the frames that follow
                    // must be judged exactly as the twin's.
                    let between = i == 0 || genuine[i - 1][0] & 0x3F == 0x01;
                    let injected = a.events(now);
                    let (mut fa, mut fb) = (Vec::new(), Vec::new());
                    for (t, p) in genuine.iter().enumerate().skip(i) {
                        let ra = a.recv(p, t as u64);
                        let rb = b.recv(p, t as u64);
                        if between {
                            assert_eq!(ra, rb, "between frames {i}, foreign {j}: {t}");
                        } else if matches!(ra, Ok((true, _))) {
                            assert_eq!(ra, rb, "position {i}, foreign {j}: {t}");
                        }
                        fa.extend(a.events(t as u64));
                        fb.extend(b.events(t as u64));
                    }
                    if between {
                        assert_eq!(
                            fa, fb,
                            "between frames {i}, foreign {j} ({injected:?}): events"
                        );
                    }
                }
            }
        }
    }
    (refused, accepted)
}

#[test]
fn fsed_packets_fed_to_an_sep_receiver_move_nothing() {
    let (refused, accepted) = run::<Sep>(&sep_stream(), &fsed_stream());
    assert!(refused > 0);
    eprintln!("refused {refused}, accepted {accepted}");
}

#[test]
fn sep_packets_fed_to_an_fsed_receiver_move_nothing() {
    let (refused, accepted) = run::<Fsed>(&fsed_stream(), &sep_stream());
    assert!(refused > 0);
    eprintln!("refused {refused}, accepted {accepted}");
}
