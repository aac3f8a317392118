//! The `bytes` feature: `Transmitter::protect_buf` appends the same SEP packets as
//! `Transmitter::protect` to any `BufMut`, and refuses a full buffer before protecting.
#![allow(clippy::unwrap_used)]

mod common;

use bytes::BytesMut;
use common::*;
use cse_core::{CipherSuite, SecurityVariant, TagLen, TagMode};

#[test]
fn protect_buf_appends_what_protect_writes() {
    for (sv, suite, mode) in [
        (
            SecurityVariant::FullIntegrityEncrypted,
            CipherSuite::Aes256Gcm,
            TagMode::PerMessage,
        ),
        (
            SecurityVariant::FullIntegrity,
            CipherSuite::Aes128Cmac,
            TagMode::PerFrame,
        ),
    ] {
        let config = uniform(sv, suite, TagLen::L16, mode);
        let (mut a, _) = pair(config, suite);
        let (mut b, _) = pair(config, suite);
        let originals: Vec<Vec<u8>> =
            [frame(&Shape::SMALL, 1, 2), frame(&Shape::SMALL, 2, 3)].concat();
        let want: Vec<u8> = protect_all(&mut a, &originals).concat();
        let mut out = BytesMut::from(&b"prefix"[..]);
        for p in &originals {
            let before = out.len();
            let r = b.protect_buf(p, &mut out).unwrap();
            assert_eq!(out.len(), before + r.len);
        }
        assert_eq!(&out[..6], b"prefix", "appended, not overwritten");
        assert_eq!(&out[6..], &want[..], "{sv:?} {mode:?}");
    }
}

#[test]
fn protect_buf_refuses_a_full_buffer_before_protecting() {
    let config = uniform(
        SecurityVariant::FullIntegrity,
        CipherSuite::Aes256Gmac,
        TagLen::L16,
        TagMode::PerMessage,
    );
    let (mut tx, _) = pair(config, CipherSuite::Aes256Gmac);
    let (mut twin, _) = pair(config, CipherSuite::Aes256Gmac);
    let originals = frame(&Shape::SMALL, 1, 1);
    let mut small = [0u8; 16];
    let mut out = &mut small[..];
    assert!(tx.protect_buf(&originals[0], &mut out).is_err());
    assert_eq!(small, [0u8; 16], "nothing written");
    assert!(!tx.in_frame(), "nothing protected");
    // The transmitter goes on exactly as its twin that never saw the refusal.
    let mut v = Vec::new();
    for p in &originals {
        let _ = tx.protect_buf(p, &mut v).unwrap();
    }
    assert_eq!(v, protect_all(&mut twin, &originals).concat());
}
