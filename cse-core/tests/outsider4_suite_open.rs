//! Outsider round 4 (black box): `SuiteKey` seal/open of every suite, tag length and engine
//! this CPU has, fed wrong tag lengths (a prefix of the right tag, the right tag with a byte
//! more), flipped tags, ciphertext and AAD, empty messages and short or long destinations.
//! A failed open releases nothing: the in-place buffer and `dst[..src.len()]` are all zero,
//! bytes of `dst` past `src.len()` are left alone, and the source is untouched; a good open
//! gives the plaintext back. A `seal_to` whose `dst` is too short changes nothing.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use cse_core::crypto::{Engine, SuiteKey, force_engine};
use cse_core::keys::{Salt, SecretKey};
use cse_core::nonce::{Iv, PacketNumber, StreamId};
use cse_core::{
    Block, CipherSuite, ConfigError, Direction, KeySize, Protocol, ScopeKind, SecurityError, TagLen,
};

fn key(suite: CipherSuite) -> SuiteKey {
    let k = |b: u8| match suite.key_size() {
        KeySize::Aes128 => SecretKey::aes128([b; 16]),
        KeySize::Aes256 => SecretKey::aes256([b; 32]),
    };
    let mac = suite.needs_mac_key().then(|| k(0x33));
    SuiteKey::new(suite, &k(0x11), mac.as_ref()).unwrap()
}

fn iv() -> Iv {
    let stream = StreamId::new(
        Direction::SensorToController,
        Protocol::Sep,
        ScopeKind::Message,
        Block::Image,
        0,
    )
    .unwrap();
    Iv::new(&Salt::new([5; 12]), stream, PacketNumber::new(3, 9))
}

const AAD: &[u8] = b"context block and prefix";

fn each(mut f: impl FnMut(CipherSuite, TagLen)) {
    for suite in CipherSuite::ALL {
        for tag_len in [TagLen::L16, TagLen::L12, TagLen::L8] {
            f(suite, tag_len);
        }
    }
}

/// Runs `f` on every engine this CPU has (keys are built inside `f`, so they take the engine).
fn engines(mut f: impl FnMut()) {
    for e in Engine::ALL {
        if e.available() {
            assert!(force_engine(Some(e)));
            f();
        }
    }
    force_engine(None);
}

/// Opens `ct` with `tag` both in place and to a buffer (with 7 guard bytes after it) and
/// checks that the failure released nothing.
fn assert_refused(k: &SuiteKey, aad: &[u8], ct: &[u8], tag: &[u8], tag_len: TagLen, what: &str) {
    let iv = iv();
    let mut buf = ct.to_vec();
    assert_eq!(
        k.open_in_place(&iv, &[aad], &mut buf, tag, tag_len),
        Err(SecurityError::AuthFailed),
        "{what}: in place"
    );
    assert!(buf.iter().all(|&b| b == 0), "{what}: in place, bytes left");
    let mut dst = vec![0xA5u8; ct.len() + 7];
    let src = ct.to_vec();
    assert_eq!(
        k.open_to(&iv, &[aad], &src, &mut dst, tag, tag_len),
        Err(SecurityError::AuthFailed),
        "{what}: to buffer"
    );
    assert_eq!(src, ct, "{what}: source changed");
    assert!(
        dst[..ct.len()].iter().all(|&b| b == 0),
        "{what}: dst left bytes"
    );
    assert!(
        dst[ct.len()..].iter().all(|&b| b == 0xA5),
        "{what}: guard bytes touched"
    );
}

#[test]
fn failed_open_releases_nothing_for_every_suite_tag_length_and_engine() {
    engines(|| {
        each(|suite, tag_len| {
            let k = key(suite);
            for len in [0usize, 1, 15, 16, 17, 64, 255] {
                let what = format!("{suite:?} {tag_len:?} len {len}");
                let pt: Vec<u8> = (0..len).map(|i| i as u8 ^ 0x5A).collect();
                let mut ct = pt.clone();
                let tag = k.seal_in_place(&iv(), &[AAD], &mut ct, tag_len);
                let t = tag.as_bytes().to_vec();
                assert_eq!(t.len(), tag_len.get(), "{what}");
                // seal_to gives the same bytes and tag.
                let mut dst = vec![0xEEu8; len + 3];
                let tag2 = k.seal_to(&iv(), &[AAD], &pt, &mut dst, tag_len).unwrap();
                assert_eq!(tag2.as_bytes(), &t[..], "{what}");
                assert_eq!(&dst[..len], &ct[..], "{what}");
                assert!(
                    dst[len..].iter().all(|&b| b == 0xEE),
                    "{what}: seal_to guard"
                );
                // A seal_to whose dst is one byte short refuses and writes nothing.
                if len > 0 {
                    let mut short = vec![0xEEu8; len - 1];
                    assert!(
                        matches!(
                            k.seal_to(&iv(), &[AAD], &pt, &mut short, tag_len),
                            Err(ConfigError::BufferTooSmall { .. })
                        ),
                        "{what}: short seal_to"
                    );
                    assert!(
                        short.iter().all(|&b| b == 0xEE),
                        "{what}: short seal_to wrote"
                    );
                }
                // The genuine tag opens (both ways).
                let mut back = ct.clone();
                k.open_in_place(&iv(), &[AAD], &mut back, &t, tag_len)
                    .unwrap();
                assert_eq!(back, pt, "{what}");
                let mut back = vec![0u8; len];
                k.open_to(&iv(), &[AAD], &ct, &mut back, &t, tag_len)
                    .unwrap();
                assert_eq!(back, pt, "{what}");
                // Wrong tag lengths: a prefix of the tag, the tag plus a byte, no tag.
                assert_refused(
                    &k,
                    AAD,
                    &ct,
                    &t[..t.len() - 1],
                    tag_len,
                    &format!("{what} prefix"),
                );
                let mut longer = t.clone();
                longer.push(0);
                assert_refused(
                    &k,
                    AAD,
                    &ct,
                    &longer,
                    tag_len,
                    &format!("{what} longer tag"),
                );
                assert_refused(&k, AAD, &ct, &[], tag_len, &format!("{what} empty tag"));
                // The whole tag checked at another length (the received length must be
                // exactly `tag_len`). A prefix of a longer tag checked at the shorter length
                // is that shorter tag (truncated tags are prefixes, SP 800-38D / 800-38B);
                // the context block carries the tag length so such a downgrade is bound.
                let other = if tag_len == TagLen::L16 {
                    TagLen::L8
                } else {
                    TagLen::L16
                };
                assert_refused(&k, AAD, &ct, &t, other, &format!("{what} other tag_len"));
                // Each tag byte, a ciphertext byte, an AAD byte flipped.
                for i in 0..t.len() {
                    let mut bad = t.clone();
                    bad[i] ^= 0x80;
                    assert_refused(&k, AAD, &ct, &bad, tag_len, &format!("{what} tag[{i}]"));
                }
                if len > 0 {
                    let mut bad = ct.clone();
                    bad[len / 2] ^= 1;
                    assert_refused(&k, AAD, &bad, &t, tag_len, &format!("{what} ct"));
                }
                let mut aad = AAD.to_vec();
                aad[0] ^= 1;
                assert_refused(&k, &aad, &ct, &t, tag_len, &format!("{what} aad"));
                // A destination shorter than the source: refused, zeroized.
                if len > 0 {
                    let mut short = vec![0xA5u8; len - 1];
                    assert_eq!(
                        k.open_to(&iv(), &[AAD], &ct, &mut short, &t, tag_len),
                        Err(SecurityError::AuthFailed),
                        "{what}: short dst"
                    );
                    assert!(short.iter().all(|&b| b == 0), "{what}: short dst bytes");
                }
            }
        });
    });
}
