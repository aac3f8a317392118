//! Shared test helpers: frame builders, a TX -> RX driver that follows the release rule, key
//! material. The frame builder and key/config helpers are shared with cse-sep through
//! `cse_core::testing`.
#![allow(dead_code, clippy::unwrap_used, unreachable_pub)]

use cse_core::Profile;
use cse_core::csi2::{DataType, HeaderForm};
use cse_core::{CipherSuite, FrameConfig, Policy, SecurityVariant, TagLen, TagMode};
use cse_fsed::{
    DecryptTicket, Delivery, Event, FsedError, Receiver, ScopeId, ScopeProof, Settings, Transmitter,
};

pub use cse_core::testing::*;

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

// ---- shared by the adversarial test files ----------------------------------------------

/// A configuration under test and its suite.
#[derive(Clone, Copy, Debug)]
pub struct Case {
    pub cfg: FrameConfig,
    pub suite: CipherSuite,
}

/// A packet released unverified, kept for its scope: bytes, decrypt ticket, encrypted, scope,
/// frame counter, message index.
pub type Held = (Vec<u8>, DecryptTicket, bool, ScopeId, u32, u32);

/// The Profile of the tests.
pub const P: Profile = Profile::DRAFT_1;

/// A uniform configuration of every block.
pub fn case(sv: SecurityVariant, suite: CipherSuite, tag: TagLen, mode: TagMode) -> Case {
    Case {
        cfg: uniform(sv, suite, tag, mode),
        suite,
    }
}

/// Whether a packet is an FS short packet.
pub fn is_fs(p: &[u8]) -> bool {
    p[0] & 0x3F == DataType::FS.0
}
