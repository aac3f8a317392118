//! Shared test helpers: frame builders, a TX -> RX driver that follows the release rule, key
//! material. (The frame builder and key/config helpers mirror cse-sep's `tests/common` and
//! could move to a shared dev crate later.)
#![allow(dead_code, clippy::unwrap_used, unreachable_pub)]

use cse_core::csi2::{DataType, Emitter, HeaderForm, VirtualChannel};
use cse_core::keys::{Salt, SecretKey};
use cse_core::{
    BlockConfig, CipherSuite, FrameConfig, KeyId, KeySize, Policy, SecurityVariant, TagLen, TagMode,
};
use cse_fsed::{
    DecryptTicket, Delivery, Event, FsedError, KeyMaterial, Receiver, ScopeId, ScopeProof,
    Settings, Transmitter,
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
    pair_with_policy(config, suite, Policy::PERMISSIVE)
}

pub fn pair_with_policy(
    config: FrameConfig,
    suite: CipherSuite,
    policy: Policy,
) -> (Transmitter, Receiver) {
    let settings = Settings::new(vc());
    let mut tx = Transmitter::new(settings, 7);
    tx.install_key(config.key_id, material(suite, 0x42))
        .unwrap();
    tx.set_config(config).unwrap();
    let mut rx = Receiver::new(settings, policy, 1000);
    rx.install_key(config.key_id, material(suite, 0x42))
        .unwrap();
    (tx, rx)
}

/// Protects `originals`, returning the transmitted stream packet by packet (original packets,
/// protected in place, with the FSED packets inserted).
pub fn protect_all(tx: &mut Transmitter, originals: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let mut stream = Vec::new();
    for p in originals {
        let mut pkt = p.clone();
        let mut buf = vec![0u8; cse_fsed::tx::MAX_INSERTED_LEN];
        let ins = tx.protect(&mut pkt, &mut buf).unwrap();
        split_into(ins.before(&buf), &mut stream);
        stream.push(pkt);
        split_into(ins.after(&buf), &mut stream);
    }
    stream
}

/// Splits back-to-back CSI-2 packets.
pub fn split_into(bytes: &[u8], out: &mut Vec<Vec<u8>>) {
    for d in cse_core::csi2::Packets::new(bytes, HeaderForm::Dphy) {
        out.push(d.unwrap().raw.to_vec());
    }
}

/// Whether a packet of the stream is an FSED packet.
pub fn is_fsed(p: &[u8]) -> bool {
    p.first().map(|b| b & 0x3F) == Some(0x3A)
}

/// What a receiver made of a stream.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Original packets that came out usable (verified after their scope verified and
    /// decrypted under SV-1, SV-5 packets, FS/FE), with their message index.
    pub accepted: Vec<(u32, Vec<u8>)>,
    /// Original packets of SV-5 blocks.
    pub unprotected: Vec<Vec<u8>>,
    /// Packets still unverified at the end (their scope never verified).
    pub pending: Vec<Vec<u8>>,
    pub proofs: usize,
    pub errors: Vec<FsedError>,
    pub events: Vec<Event>,
}

impl Outcome {
    /// Every usable packet in message order.
    pub fn accepted(&self) -> Vec<Vec<u8>> {
        let mut v = self.accepted.clone();
        v.sort_by_key(|(i, _)| *i);
        v.into_iter().map(|(_, p)| p).collect()
    }

    pub fn clean_frames(&self) -> usize {
        self.events
            .iter()
            .filter(|e| matches!(e, Event::FrameComplete { clean: true, .. }))
            .count()
    }

    pub fn scope_failures(&self) -> usize {
        self.errors
            .iter()
            .filter(|e| matches!(e, FsedError::ScopeFailed(_)))
            .count()
            + self
                .events
                .iter()
                .filter(|e| matches!(e, Event::ScopeFailed(_)))
                .count()
    }
}

type Pending = (Vec<u8>, DecryptTicket, bool, ScopeId, u32);

/// Feeds `stream` to `rx`, following the release rule: an unverified packet becomes usable only
/// when a scope proof covers it (and SV-1 ones are decrypted then). FS/FE are kept with index
/// 0 / u32::MAX of their frame (frame-local order is enough for the tests).
pub fn receive_all(rx: &mut Receiver, stream: &[Vec<u8>]) -> Outcome {
    let mut o = Outcome::default();
    let mut pending: Vec<Pending> = Vec::new();
    let mut frame_base: u32 = 0;
    // FS is usable once its frame header is authenticated (Event::FrameStart); FE when its
    // frame's header was.
    let mut fs_hold: Option<(u32, Vec<u8>)> = None;
    let mut started = false;
    for (t, s) in stream.iter().enumerate() {
        match rx.receive(s, t as u64) {
            Ok(Delivery::Unprotected(u)) => {
                let p = u.unauthenticated_packet().to_vec();
                o.unprotected.push(p.clone());
                o.accepted.push((frame_base + u.info().message_index, p));
            }
            Ok(Delivery::Unverified(u)) => pending.push((
                u.unverified_packet().to_vec(),
                u.decrypt_ticket(),
                u.is_encrypted(),
                u.scope(),
                frame_base + u.info().message_index,
            )),
            Ok(Delivery::Sync(sp)) => {
                if sp.is_frame_start() {
                    frame_base = frame_base.wrapping_add(1 << 20);
                    fs_hold = Some((frame_base, sp.packet().to_vec()));
                    started = false;
                } else if started {
                    o.accepted
                        .push((frame_base + (1 << 20) - 1, sp.packet().to_vec()));
                }
            }
            Ok(Delivery::FrameHeader { .. }) => {}
            Ok(Delivery::ScopeVerified(proof)) => {
                o.proofs += 1;
                release(rx, &proof, frame_base, &mut pending, &mut o)
            }
            Ok(_) => unreachable!(),
            Err(e) => o.errors.push(e),
        }
        while let Some(e) = rx.poll_event(t as u64) {
            if let Event::ScopeFailed(f) = e {
                pending.retain(|p| p.3 != f.scope);
            }
            if let Event::FrameStart { .. } = e {
                started = true;
                if let Some(fs) = fs_hold.take() {
                    o.accepted.push(fs);
                }
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
    base: u32,
    pending: &mut Vec<Pending>,
    o: &mut Outcome,
) {
    let mut keep = Vec::new();
    for (mut bytes, ticket, enc, scope, idx) in pending.drain(..) {
        if scope == proof.scope() && proof.indices().contains(&(idx.wrapping_sub(base))) {
            if enc {
                rx.decrypt(proof, &ticket, &mut bytes).unwrap();
            }
            o.accepted.push((idx, bytes));
        } else {
            keep.push((bytes, ticket, enc, scope, idx));
        }
    }
    *pending = keep;
}

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

pub const MODES: [TagMode; 2] = [TagMode::PerDataType, TagMode::PerFrame];
pub const TAGS: [TagLen; 3] = [TagLen::L16, TagLen::L12, TagLen::L8];
