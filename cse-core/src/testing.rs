//! Test helpers shared by the integration tests of the protocol crates: a frame builder, key
//! material and frame configurations. Behind the `testing` feature, for dev-dependencies only;
//! not part of the supported API. Panics on misuse (it is test code).
#![allow(clippy::unwrap_used, missing_docs)]

extern crate std;

use std::vec;
use std::vec::Vec;

use crate::csi2::{DataType, Emitter, HeaderForm, VirtualChannel};
use crate::keys::{Salt, SecretKey};
use crate::{
    BlockConfig, CipherSuite, FrameConfig, KeyId, KeySize, SecurityVariant, TagLen, TagMode,
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

pub fn material(suite: CipherSuite, seed: u8) -> crate::agent::KeyMaterial {
    let key = match suite.key_size() {
        KeySize::Aes128 => SecretKey::aes128([seed; 16]),
        KeySize::Aes256 => SecretKey::aes256([seed; 32]),
    };
    let mac_key = (suite.mac() == crate::MacAlgorithm::Cmac).then(|| match suite.key_size() {
        KeySize::Aes128 => SecretKey::aes128([seed ^ 0xFF; 16]),
        KeySize::Aes256 => SecretKey::aes256([seed ^ 0xFF; 32]),
    });
    crate::agent::KeyMaterial::new(key, mac_key, Salt::new([seed.wrapping_add(1); 12]))
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
