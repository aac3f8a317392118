//! Shared black-box helpers of the `outsider3_*` tests: frames built with the public CSI-2
//! emitter, protected with the public transmitter, received into owned outcomes so that an
//! attacked run can be compared with an unattacked twin.
#![allow(dead_code, clippy::unwrap_used, clippy::panic)]

use cse_core::csi2::{DataType, Emitter, HeaderForm, Packets, VirtualChannel};
use cse_core::fusa::{FusaStats, SecurityStats};
use cse_core::keys::{Salt, SecretKey};
use cse_core::{
    BlockConfig, CipherSuite, FrameConfig, KeyId, Policy, SecurityVariant, SvLevel, TagLen, TagMode,
};
use cse_sep::{
    Delivery, Event, KeyMaterial, PacketInfo, ProtocolStats, Receiver, ScopeId, ScopeProof,
    SepError, Settings, Transmitter,
};

pub(crate) const VC: u8 = 1;

pub(crate) fn vc(n: u8) -> VirtualChannel {
    VirtualChannel::new(n).unwrap()
}

pub(crate) fn settings() -> Settings {
    Settings::new(vc(VC))
}

pub(crate) fn blk(sv: SecurityVariant, suite: CipherSuite, mode: TagMode) -> BlockConfig {
    BlockConfig {
        sv,
        suite,
        tag_len: TagLen::L16,
        tag_mode: mode,
    }
}

pub(crate) fn uniform(sv: SecurityVariant, suite: CipherSuite, mode: TagMode) -> FrameConfig {
    FrameConfig::uniform(blk(sv, suite, mode), KeyId::default())
}

/// Key material for `suite` (the MAC key of CTR+CMAC suites included), from one seed byte.
pub(crate) fn material(suite: CipherSuite, seed: u8) -> KeyMaterial {
    let big = matches!(
        suite,
        CipherSuite::Aes256Gmac
            | CipherSuite::Aes256Cmac
            | CipherSuite::Aes256Gcm
            | CipherSuite::Aes256CtrCmac
    );
    let key = |s: u8| {
        if big {
            SecretKey::aes256([s; 32])
        } else {
            SecretKey::aes128([s; 16])
        }
    };
    let mac = matches!(
        suite,
        CipherSuite::Aes128CtrCmac | CipherSuite::Aes256CtrCmac
    )
    .then(|| key(seed ^ 0x55));
    KeyMaterial::new(key(seed), mac, Salt::new([seed.wrapping_add(1); 12]))
}

pub(crate) fn policy_sv5() -> Policy {
    Policy {
        min_top: SvLevel::Sv5,
        min_image: SvLevel::Sv5,
        min_bottom: SvLevel::Sv5,
    }
}

/// One original packet of a frame.
#[derive(Clone, Debug)]
pub(crate) enum Pkt {
    Long(DataType, Vec<u8>),
    Short(DataType, u16),
}

pub(crate) fn line(dt: DataType, seed: u8, len: usize) -> Pkt {
    Pkt::Long(
        dt,
        (0..len)
            .map(|i| seed.wrapping_mul(31).wrapping_add(i as u8))
            .collect(),
    )
}

/// The original packets (bytes) of a frame: FS, `body`, FE, on VC `v`.
pub(crate) fn originals_on(v: u8, frame_number: u16, body: &[Pkt]) -> Vec<Vec<u8>> {
    let mut buf = vec![
        0u8;
        64 + body
            .iter()
            .map(|p| match p {
                Pkt::Long(_, b) => b.len() + 6,
                Pkt::Short(..) => 4,
            })
            .sum::<usize>()
    ];
    let mut em = Emitter::new(&mut buf, HeaderForm::Dphy);
    em.frame_start(vc(v), frame_number).unwrap();
    for p in body {
        match p {
            Pkt::Long(dt, b) => em.long(vc(v), *dt, b).map(|_| ()).unwrap(),
            Pkt::Short(dt, d) => em.short(vc(v), *dt, *d).map(|_| ()).unwrap(),
        }
    }
    em.frame_end(vc(v), frame_number).unwrap();
    let all = em.written().to_vec();
    Packets::new(&all, HeaderForm::Dphy)
        .map(|p| p.unwrap().raw.to_vec())
        .collect()
}

pub(crate) fn originals(frame_number: u16, body: &[Pkt]) -> Vec<Vec<u8>> {
    originals_on(VC, frame_number, body)
}

/// A typical frame: top embedded, LS, two RAW12 lines, LE, a RAW10 line, bottom embedded.
pub(crate) fn typical(seed: u8) -> Vec<Pkt> {
    vec![
        line(DataType::EMBEDDED, seed, 6),
        Pkt::Short(DataType::LS, 1),
        line(DataType::RAW12, seed.wrapping_add(1), 12),
        line(DataType::RAW12, seed.wrapping_add(2), 12),
        Pkt::Short(DataType::LE, 1),
        line(DataType::RAW10, seed.wrapping_add(3), 10),
        line(DataType::EMBEDDED, seed.wrapping_add(4), 6),
    ]
}

/// Splits a protect output into its SEP packets.
pub(crate) fn split(out: &[u8]) -> Vec<Vec<u8>> {
    Packets::new(out, HeaderForm::Dphy)
        .map(|p| p.unwrap().raw.to_vec())
        .collect()
}

/// Protects every original packet; the SEP packets in order.
pub(crate) fn protect_all(tx: &mut Transmitter, originals: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let mut seps = Vec::new();
    for o in originals {
        let mut out = vec![0u8; cse_sep::tx::max_protected_len(o.len())];
        let done = tx.protect(o, &mut out).unwrap();
        let got = split(&out[..done.len]);
        assert_eq!(got.len(), done.packets);
        seps.extend(got);
    }
    seps
}

pub(crate) fn tx_with(config: FrameConfig, suite: CipherSuite, first_fc: u32) -> Transmitter {
    let mut tx = Transmitter::new(settings(), first_fc);
    tx.install_key(config.key_id, material(suite, 7)).unwrap();
    tx.set_config(config).unwrap();
    tx
}

pub(crate) fn rx_with(config: FrameConfig, suite: CipherSuite, policy: Policy) -> Receiver {
    let mut rx = Receiver::new(settings(), policy, 1_000);
    rx.install_key(config.key_id, material(suite, 7)).unwrap();
    rx
}

/// An owned form of a delivery (a proof keeps its scope, indices and packet count).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Got {
    Verified(Vec<u8>, PacketInfo),
    Unverified(Vec<u8>, PacketInfo, ScopeId),
    Unprotected(Vec<u8>, PacketInfo),
    Scope(ScopeId, core::ops::Range<u32>, u32),
    Err(SepError),
}

pub(crate) fn own(r: &Result<Delivery<'_>, SepError>) -> Got {
    match r {
        Ok(Delivery::Verified(v)) => Got::Verified(v.packet().to_vec(), *v.info()),
        Ok(Delivery::Unverified(u)) => {
            Got::Unverified(u.unverified_packet().to_vec(), *u.info(), u.scope())
        }
        Ok(Delivery::Unprotected(u)) => {
            Got::Unprotected(u.unauthenticated_packet().to_vec(), *u.info())
        }
        Ok(Delivery::ScopeVerified(p)) => Got::Scope(p.scope(), p.indices(), p.packets()),
        Ok(_) => panic!("unknown delivery"),
        Err(e) => Got::Err(*e),
    }
}

/// Receives one packet; the owned result, and the output buffer afterwards.
pub(crate) fn recv(rx: &mut Receiver, sep: &[u8], now: u64) -> (Got, Vec<u8>) {
    let mut out = vec![0xEEu8; sep.len() + 16];
    let r = rx.receive(sep, now, &mut out);
    let g = own(&r);
    drop(r);
    (g, out)
}

/// Receives one packet, keeping the proof of a verified scope.
pub(crate) fn recv_proof(rx: &mut Receiver, sep: &[u8], now: u64) -> (Got, Option<ScopeProof>) {
    let mut out = vec![0u8; sep.len() + 16];
    match rx.receive(sep, now, &mut out) {
        Ok(Delivery::ScopeVerified(p)) => {
            (Got::Scope(p.scope(), p.indices(), p.packets()), Some(p))
        }
        r => {
            let g = own(&r);
            (g, None)
        }
    }
}

/// Everything observable of a receiver, drained at `now`.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Observed {
    pub events: Vec<Event>,
    pub fusa: FusaStats,
    pub security: SecurityStats,
    pub protocol: ProtocolStats,
}

pub(crate) fn observe(rx: &mut Receiver, now: u64) -> Observed {
    let mut events = Vec::new();
    while let Some(e) = rx.poll_event(now) {
        events.push(e);
    }
    Observed {
        events,
        fusa: *rx.fusa_stats(),
        security: *rx.security_stats(),
        protocol: *rx.protocol_stats(),
    }
}

/// Feeds `seps` one by one at increasing times from `t0`; the owned results.
pub(crate) fn feed(rx: &mut Receiver, seps: &[Vec<u8>], t0: u64) -> Vec<Got> {
    seps.iter()
        .enumerate()
        .map(|(i, s)| recv(rx, s, t0 + i as u64).0)
        .collect()
}

/// Rewrites the outer CSI-2 CRC-16 and the SEP CRC-32 of `sep` after its payload was changed
/// (what a keyless attacker can always do).
pub(crate) fn fix_crcs(sep: &mut [u8]) {
    let n = sep.len();
    let payload_end = n - 2;
    let crc_at = payload_end - 4;
    let c = cse_sep::wire::crc32(&cse_core::Profile::DRAFT_1, &sep[4..crc_at]);
    sep[crc_at..payload_end].copy_from_slice(&c.to_le_bytes());
    let c16 = cse_core::csi2::payload_crc(&sep[4..payload_end]);
    sep[payload_end..].copy_from_slice(&c16.to_le_bytes());
}

/// The SEP header fields of a packet (byte offsets of docs/wire-format.md section 4).
pub(crate) fn sep_header(sep: &[u8]) -> &[u8] {
    &sep[4..16]
}

pub(crate) fn message_index(sep: &[u8]) -> u32 {
    u32::from_le_bytes(sep[12..16].try_into().unwrap())
}

pub(crate) fn orig_dt(sep: &[u8]) -> u8 {
    sep[8]
}

/// Asserts that two receivers' observations are equal apart from the rejection counters.
pub(crate) fn assert_same_but_rejections(attacked: &Observed, twin: &Observed, what: &str) {
    assert_eq!(attacked.events, twin.events, "{what}: events");
    assert_eq!(attacked.fusa, twin.fusa, "{what}: FuSa stats");
    assert_eq!(
        attacked.protocol.verified, twin.protocol.verified,
        "{what}: verified"
    );
    assert_eq!(
        attacked.protocol.unverified, twin.protocol.unverified,
        "{what}: unverified"
    );
    assert_eq!(
        attacked.protocol.scopes_verified, twin.protocol.scopes_verified,
        "{what}: scopes verified"
    );
    assert_eq!(
        attacked.security.needs_rekey, twin.security.needs_rekey,
        "{what}: rekey"
    );
}

/// Index of a SEP packet's payload byte `i` of the original body (after outer header and SEP
/// header; not for the FS, which carries the extension).
pub(crate) fn body_at(i: usize) -> usize {
    4 + cse_sep::wire::HEADER_LEN + i
}

/// Whether the SEP packet's header says it is a member (phase 1) / close record (phase 2).
pub(crate) fn phase(sep: &[u8]) -> u8 {
    (sep[5] >> 2) & 3
}

pub(crate) fn word_count(sep: &[u8]) -> u16 {
    u16::from_le_bytes([sep[10], sep[11]])
}
