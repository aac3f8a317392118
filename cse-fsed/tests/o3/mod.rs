//! Shared black-box helpers of the `outsider3_*` tests of `cse-fsed`.
#![allow(dead_code, clippy::unwrap_used, clippy::panic)]

use cse_core::csi2::{DataType, Emitter, HeaderForm, Packets, VirtualChannel};
use cse_core::keys::{Salt, SecretKey};
use cse_core::{
    BlockConfig, CipherSuite, FrameConfig, KeyId, Policy, SecurityVariant, TagLen, TagMode,
};
use cse_fsed::{KeyMaterial, Receiver, Settings, Transmitter};

pub(crate) const VC: u8 = 1;

pub(crate) fn vc(n: u8) -> VirtualChannel {
    VirtualChannel::new(n).unwrap()
}

pub(crate) fn settings() -> Settings {
    Settings::new(vc(VC))
}

pub(crate) fn uniform(sv: SecurityVariant, suite: CipherSuite, mode: TagMode) -> FrameConfig {
    FrameConfig::uniform(
        BlockConfig {
            sv,
            suite,
            tag_len: TagLen::L16,
            tag_mode: mode,
        },
        KeyId::default(),
    )
}

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

/// Original packets of a frame: FS, top embedded, LS, two RAW12 lines, LE, a RAW10 line,
/// bottom embedded, FE.
pub(crate) fn frame(fnum: u16, seed: u8) -> Vec<Vec<u8>> {
    let v = vc(VC);
    let mut buf = vec![0u8; 512];
    let mut em = Emitter::new(&mut buf, HeaderForm::Dphy);
    let l = |k: u8, n: usize| -> Vec<u8> {
        (0..n)
            .map(|i| seed.wrapping_mul(13).wrapping_add(k * 40 + i as u8))
            .collect()
    };
    em.frame_start(v, fnum).unwrap();
    em.long(v, DataType::EMBEDDED, &l(0, 6)).unwrap();
    em.line_start(v, 1).unwrap();
    em.long(v, DataType::RAW12, &l(1, 12)).unwrap();
    em.long(v, DataType::RAW12, &l(2, 12)).unwrap();
    em.line_end(v, 1).unwrap();
    em.long(v, DataType::RAW10, &l(3, 10)).unwrap();
    em.long(v, DataType::EMBEDDED, &l(4, 6)).unwrap();
    em.frame_end(v, fnum).unwrap();
    let all = em.written().to_vec();
    Packets::new(&all, HeaderForm::Dphy)
        .map(|p| p.unwrap().raw.to_vec())
        .collect()
}

/// Protects the packets; the stream as sent (inserted FSED packets and originals), one
/// packet per entry.
pub(crate) fn protect_all(tx: &mut Transmitter, originals: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let mut wire = Vec::new();
    let mut ins = [0u8; cse_fsed::tx::MAX_INSERTED_LEN];
    for o in originals {
        let mut p = o.clone();
        let r = tx.protect(&mut p, &mut ins).unwrap();
        wire.extend_from_slice(r.before(&ins));
        wire.extend_from_slice(&p);
        wire.extend_from_slice(r.after(&ins));
    }
    Packets::new(&wire, HeaderForm::Dphy)
        .map(|p| p.unwrap().raw.to_vec())
        .collect()
}

pub(crate) fn tx_with(config: FrameConfig, suite: CipherSuite, fc: u32) -> Transmitter {
    let mut tx = Transmitter::new(settings(), fc);
    tx.install_key(config.key_id, material(suite, 7)).unwrap();
    tx.set_config(config).unwrap();
    tx
}

pub(crate) fn rx_with(config: FrameConfig, suite: CipherSuite) -> Receiver {
    let mut rx = Receiver::new(settings(), Policy::PERMISSIVE, 1_000);
    rx.install_key(config.key_id, material(suite, 7)).unwrap();
    rx
}

/// An owned form of an FSED delivery, comparable across receivers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Got {
    Unverified(Vec<u8>, cse_fsed::PacketInfo, cse_core::rx::ScopeId),
    Unprotected(Vec<u8>, cse_fsed::PacketInfo),
    Sync(Vec<u8>, bool, u16),
    Header(u32),
    Scope(cse_core::rx::ScopeId, core::ops::Range<u32>, u32),
    Err(cse_fsed::FsedError),
}

pub(crate) fn recv(rx: &mut Receiver, p: &[u8], now: u64) -> Got {
    use cse_fsed::Delivery;
    match rx.receive(p, now) {
        Ok(Delivery::Unverified(u)) => {
            Got::Unverified(u.unverified_packet().to_vec(), *u.info(), u.scope())
        }
        Ok(Delivery::Unprotected(u)) => {
            Got::Unprotected(u.unauthenticated_packet().to_vec(), *u.info())
        }
        Ok(Delivery::Sync(s)) => {
            Got::Sync(s.packet().to_vec(), s.is_frame_start(), s.frame_number())
        }
        Ok(Delivery::FrameHeader { frame_counter }) => Got::Header(frame_counter),
        Ok(Delivery::ScopeVerified(p)) => Got::Scope(p.scope(), p.indices(), p.packets()),
        Ok(_) => panic!("unknown delivery"),
        Err(e) => Got::Err(e),
    }
}

#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Observed {
    pub(crate) events: Vec<cse_fsed::Event>,
    pub(crate) fusa: cse_core::fusa::FusaStats,
    pub(crate) security: cse_core::fusa::SecurityStats,
    pub(crate) protocol: cse_fsed::ProtocolStats,
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

pub(crate) fn is_fsed(p: &[u8]) -> bool {
    p[0] & 0x3F == 0x3A
}

/// Whether an FSED packet is a tag record (kind byte 2; docs/wire-format.md section 5).
pub(crate) fn is_record(p: &[u8]) -> bool {
    is_fsed(p)
        && cse_fsed::wire::Packet::new_checked(&p[4..p.len() - 2])
            .map(|w| w.kind() == cse_fsed::wire::Kind::TagRecord)
            .unwrap_or(false)
}

/// Rewrites the CSI-2 VC of a packet (ECC recomputed).
pub(crate) fn set_vc(p: &mut [u8], v: u8) {
    p[0] = (p[0] & 0x3F) | ((v & 3) << 6);
    cse_core::csi2::HeaderForm::Dphy.fill((&mut p[..4]).try_into().unwrap());
}
