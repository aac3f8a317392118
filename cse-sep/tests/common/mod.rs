//! Shared test helpers: frame builders, a TX -> RX driver, key material.
#![allow(dead_code, clippy::unwrap_used, unreachable_pub)]

use cse_core::csi2::{DataType, Emitter, HeaderForm, Packets, VirtualChannel};
use cse_core::keys::{Salt, SecretKey};
use cse_core::{
    BlockConfig, CipherSuite, FrameConfig, KeyId, KeySize, Policy, SecurityVariant, TagLen, TagMode,
};
use cse_sep::{
    Delivery, Event, KeyMaterial, Receiver, ScopeProof, SepError, Settings, Transmitter,
};

pub const VC: u8 = 1;

/// The shape of a frame.
#[derive(Clone, Debug)]
pub struct Shape {
    pub top_lines: usize,
    pub pixel_lines: usize,
    pub bottom_lines: usize,
    pub line_len: usize,
    pub embedded_len: usize,
    pub ls_le: bool,
}

impl Shape {
    pub const SMALL: Shape = Shape {
        top_lines: 2,
        pixel_lines: 5,
        bottom_lines: 1,
        line_len: 48,
        embedded_len: 20,
        ls_le: true,
    };
}

pub fn vc() -> VirtualChannel {
    VirtualChannel::new(VC).unwrap()
}

/// The original packets of frame `frame_number` (each packet's bytes).
pub fn frame(shape: &Shape, frame_number: u16, seed: u8) -> Vec<Vec<u8>> {
    let mut pkts = Vec::new();
    let mut push = |f: &dyn Fn(&mut Emitter<'_>)| {
        let mut buf = vec![0u8; 70_000];
        let mut em = Emitter::new(&mut buf, HeaderForm::Dphy);
        f(&mut em);
        let n = em.len();
        buf.truncate(n);
        pkts.push(buf);
    };
    let pat = |len: usize, k: usize| -> Vec<u8> {
        (0..len)
            .map(|i| (i as u8).wrapping_mul(31) ^ (k as u8).wrapping_mul(7) ^ seed)
            .collect()
    };
    push(&|em| {
        em.frame_start(vc(), frame_number).unwrap();
    });
    for k in 0..shape.top_lines {
        let p = pat(shape.embedded_len, k);
        push(&|em| {
            em.long(vc(), DataType::EMBEDDED, &p).unwrap();
        });
    }
    for k in 0..shape.pixel_lines {
        if shape.ls_le {
            push(&|em| {
                em.line_start(vc(), k as u16 + 1).unwrap();
            });
        }
        let p = pat(shape.line_len, k + 100);
        push(&|em| {
            em.long(vc(), DataType::RAW12, &p).unwrap();
        });
        if shape.ls_le {
            push(&|em| {
                em.line_end(vc(), k as u16 + 1).unwrap();
            });
        }
    }
    for k in 0..shape.bottom_lines {
        let p = pat(shape.embedded_len, k + 200);
        push(&|em| {
            em.long(vc(), DataType::EMBEDDED, &p).unwrap();
        });
    }
    push(&|em| {
        em.frame_end(vc(), frame_number).unwrap();
    });
    pkts
}

pub fn material(suite: CipherSuite, seed: u8) -> KeyMaterial {
    let key = match suite.key_size() {
        KeySize::Aes128 => SecretKey::aes128([seed; 16]),
        KeySize::Aes256 => SecretKey::aes256([seed; 32]),
    };
    let mac_key = (suite.mac() == cse_core::MacAlgorithm::Cmac).then(|| match suite.key_size() {
        KeySize::Aes128 => SecretKey::aes128([seed ^ 0xFF; 16]),
        KeySize::Aes256 => SecretKey::aes256([seed ^ 0xFF; 32]),
    });
    KeyMaterial::new(key, mac_key, Salt::new([seed.wrapping_add(1); 12]))
        .with_min_tag_len(TagLen::L8)
}

/// The block configuration for `sv` with the matching suite of the family of `suite`.
pub fn block(
    sv: SecurityVariant,
    suite: CipherSuite,
    tag_len: TagLen,
    mode: TagMode,
) -> BlockConfig {
    let suite = if sv.encrypts() {
        encrypting(suite)
    } else {
        integrity(suite)
    };
    BlockConfig {
        sv,
        suite,
        tag_len,
        tag_mode: mode,
    }
}

/// The encrypting suite of the key family of `s`.
pub fn encrypting(s: CipherSuite) -> CipherSuite {
    use CipherSuite::*;
    match s {
        Aes128Gmac | Aes128Gcm => Aes128Gcm,
        Aes256Gmac | Aes256Gcm => Aes256Gcm,
        Aes128Cmac | Aes128CtrCmac => Aes128CtrCmac,
        Aes256Cmac | Aes256CtrCmac => Aes256CtrCmac,
    }
}

/// The integrity-only suite of the key family of `s`.
pub fn integrity(s: CipherSuite) -> CipherSuite {
    use CipherSuite::*;
    match s {
        Aes128Gmac | Aes128Gcm => Aes128Gmac,
        Aes256Gmac | Aes256Gcm => Aes256Gmac,
        Aes128Cmac | Aes128CtrCmac => Aes128Cmac,
        Aes256Cmac | Aes256CtrCmac => Aes256Cmac,
    }
}

/// SV for the top/bottom blocks when the image uses `sv` (SV-4 is image only).
pub fn embedded_sv(sv: SecurityVariant) -> SecurityVariant {
    match sv {
        SecurityVariant::BytePartialIntegrity { .. } => SecurityVariant::FullIntegrity,
        other => other,
    }
}

pub fn uniform(
    sv: SecurityVariant,
    suite: CipherSuite,
    tag_len: TagLen,
    mode: TagMode,
) -> FrameConfig {
    FrameConfig {
        top: block(embedded_sv(sv), suite, tag_len, mode),
        image: block(sv, suite, tag_len, mode),
        bottom: block(embedded_sv(sv), suite, tag_len, mode),
        key_id: KeyId::default(),
    }
}

pub fn pair(config: FrameConfig, suite: CipherSuite) -> (Transmitter, Receiver) {
    let settings = Settings::new(vc());
    let mut tx = Transmitter::new(settings, 7);
    tx.install_key(config.key_id, material(suite, 0x42))
        .unwrap();
    tx.set_config(config).unwrap();
    let mut rx = Receiver::new(settings, Policy::PERMISSIVE, 1000);
    rx.install_key(config.key_id, material(suite, 0x42))
        .unwrap();
    (tx, rx)
}

/// Protects `originals`, returning the SEP packets one by one.
pub fn protect_all(tx: &mut Transmitter, originals: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for p in originals {
        let mut buf = vec![0u8; p.len() + 400];
        let r = tx.protect(p, &mut buf).unwrap();
        let written = &buf[..r.len];
        let mut n = 0;
        for d in Packets::new(written, HeaderForm::Dphy) {
            out.push(d.unwrap().raw.to_vec());
            n += 1;
        }
        assert_eq!(n, r.packets);
    }
    out
}

/// What a receiver made of a stream.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Original packets released as verified (or decrypted after scope verification) and
    /// SV-5 packets, with their message index, in release order.
    pub verified: Vec<(u32, Vec<u8>)>,
    /// Original packets of SV-5 blocks.
    pub unprotected: Vec<Vec<u8>>,
    /// Packets still unverified at the end (their scope never verified).
    pub pending: Vec<Vec<u8>>,
    pub errors: Vec<SepError>,
    pub events: Vec<Event>,
}

impl Outcome {
    /// Every packet that came out usable (verified or unprotected), in message order.
    pub fn accepted(&self) -> Vec<Vec<u8>> {
        let mut v = self.verified.clone();
        v.sort_by_key(|(i, _)| *i);
        v.into_iter().map(|(_, p)| p).collect()
    }
}

/// Feeds `seps` to `rx`; follows the unverified-pending rule: an unverified packet becomes
/// verified only when a scope proof covers it (and SV-1 ones are decrypted then).
pub fn receive_all(rx: &mut Receiver, seps: &[Vec<u8>]) -> Outcome {
    let mut o = Outcome::default();
    // (bytes, ticket/scope, index)
    let mut pending: Vec<(Vec<u8>, cse_sep::DecryptTicket, bool, cse_sep::ScopeId, u32)> =
        Vec::new();
    for (t, s) in seps.iter().enumerate() {
        let mut out = vec![0u8; s.len() + 16];
        match rx.receive(s, t as u64, &mut out) {
            Ok(Delivery::Verified(v)) => o
                .verified
                .push((v.info().message_index, v.packet().to_vec())),
            Ok(Delivery::Unprotected(u)) => {
                let p = u.unauthenticated_packet().to_vec();
                o.unprotected.push(p.clone());
                o.verified.push((u.info().message_index, p));
            }
            Ok(Delivery::Unverified(u)) => pending.push((
                u.unverified_packet().to_vec(),
                u.decrypt_ticket(),
                u.is_encrypted(),
                u.scope(),
                u.info().message_index,
            )),
            Ok(Delivery::ScopeVerified(proof)) => release(rx, &proof, &mut pending, &mut o),
            Ok(_) => unreachable!(),
            Err(e) => o.errors.push(e),
        }
        while let Some(e) = rx.poll_event(t as u64) {
            if let Event::ScopeFailed(f) = e {
                pending.retain(|p| p.3 != f.scope);
            }
            o.events.push(e);
        }
    }
    o.pending = pending.into_iter().map(|p| p.0).collect();
    o
}

fn release(
    rx: &Receiver,
    proof: &ScopeProof,
    pending: &mut Vec<(Vec<u8>, cse_sep::DecryptTicket, bool, cse_sep::ScopeId, u32)>,
    o: &mut Outcome,
) {
    let mut keep = Vec::new();
    for (mut bytes, ticket, enc, scope, idx) in pending.drain(..) {
        if scope == proof.scope() && proof.indices().contains(&idx) {
            if enc {
                rx.decrypt(proof, &ticket, &mut bytes).unwrap();
            }
            o.verified.push((idx, bytes));
        } else {
            keep.push((bytes, ticket, enc, scope, idx));
        }
    }
    *pending = keep;
}

/// Originals in the order the receiver releases them (scope packets at scope close, which keeps
/// their relative order inside the frame): since scopes close before the next block, the
/// release order equals the input order for a clean stream.
pub fn all_svs() -> Vec<SecurityVariant> {
    vec![
        SecurityVariant::FullIntegrityEncrypted,
        SecurityVariant::FullIntegrity,
        SecurityVariant::LinePartialIntegrity {
            stride: 3,
            offset: 1,
        },
        SecurityVariant::BytePartialIntegrity { start: 4, len: 9 },
        SecurityVariant::NoSecurity,
    ]
}

pub const MODES: [TagMode; 3] = [TagMode::PerMessage, TagMode::PerDataType, TagMode::PerFrame];
pub const TAGS: [TagLen; 3] = [TagLen::L16, TagLen::L12, TagLen::L8];
