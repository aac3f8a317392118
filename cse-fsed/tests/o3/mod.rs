//! Shared black-box helpers of the `outsider3_*` tests of `cse-fsed`.
#![allow(dead_code)]

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
