//! Shared test helpers: frame builders, a TX -> RX driver, key material.
#![allow(dead_code, clippy::unwrap_used, unreachable_pub)]

use cse_core::Profile;
use cse_core::csi2::Emitter;
use cse_core::csi2::{HeaderForm, Packets};
use cse_core::{CipherSuite, FrameConfig, Policy, SecurityVariant, TagLen, TagMode};
use cse_sep::{
    DecryptTicket, Delivery, Event, Receiver, ScopeId, ScopeProof, SepError, Settings, Transmitter,
    wire,
};

pub use cse_core::testing::*;

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

/// One small frame: FS, 1 top, 3 pixel lines with LS/LE, 1 bottom, FE.
pub const TINY: Shape = Shape {
    top_lines: 1,
    pixel_lines: 3,
    bottom_lines: 1,
    line_len: 16,
    embedded_len: 6,
    ls_le: true,
};

/// A uniform configuration of every block.
pub fn case(sv: SecurityVariant, suite: CipherSuite, tag: TagLen, mode: TagMode) -> Case {
    Case {
        cfg: uniform(sv, suite, tag, mode),
        suite,
    }
}

/// Emits an SEP packet from its parts (the attacker's own packet: correct CRCs, any tag).
pub fn emit(h: wire::Header, ext: Option<wire::FrameExt>, body: &[u8], tag: &[u8]) -> Vec<u8> {
    let repr = wire::Repr { header: h, ext };
    let mut payload = vec![0u8; repr.buffer_len()];
    repr.emit(&mut payload, body, tag, &P).unwrap();
    wrap(&payload)
}

/// Receiver and transmitter settings on the test VC.
pub fn settings() -> Settings {
    Settings::new(vc())
}

/// Wraps an SEP payload in an outer CSI-2 long packet (ECC and CRC-16 correct).
pub fn wrap(payload: &[u8]) -> Vec<u8> {
    let mut buf = vec![0u8; payload.len() + 8];
    let mut em = Emitter::new(&mut buf, HeaderForm::Dphy);
    em.long(vc(), P.dt_sep, payload).unwrap();
    let n = em.len();
    buf.truncate(n);
    buf
}
