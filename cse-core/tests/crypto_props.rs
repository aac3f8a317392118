//! Property and differential tests of the AES engines.
//!
//! They exercise every suite, so they need the default features `gcm` and `ctr-cmac`.
#![cfg(all(feature = "gcm", feature = "ctr-cmac"))]

mod common;
use common::{any_key, any_tag_len, key, split};

use aes_gcm::aead::{AeadInOut, KeyInit};
use aes_gcm::{Aes128Gcm, Aes256Gcm};
use cse_core::crypto::{CmacKey, GcmKey, SuiteKey};
use cse_core::keys::SecretKey;
use cse_core::model::KeySize;
use cse_core::nonce::Iv;
use cse_core::{CipherSuite, ConfigError, SecurityError, TagLen};
use proptest::prelude::*;

/// RustCrypto `aes-gcm` (the reference), detached tag.
fn reference_seal(k: &[u8], iv: &[u8; 12], aad: &[u8], buf: &mut [u8]) -> [u8; 16] {
    let nonce = (*iv).into();
    let tag = if k.len() == 16 {
        Aes128Gcm::new_from_slice(k)
            .expect("key")
            .encrypt_inout_detached(&nonce, aad, buf.into())
    } else {
        Aes256Gcm::new_from_slice(k)
            .expect("key")
            .encrypt_inout_detached(&nonce, aad, buf.into())
    };
    tag.expect("seal").into()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn gcm_equals_the_aes_gcm_crate(
        k in any_key(),
        iv in any::<[u8; 12]>(),
        aad in proptest::collection::vec(any::<u8>(), 0..100),
        msg in proptest::collection::vec(any::<u8>(), 0..3000),
        cut in any::<usize>(),
    ) {
        let ours = GcmKey::new(&key(&k));
        let mut a = msg.clone();
        let aad_pieces = split(&aad, &[cut]);
        let tag = ours.seal_in_place(&Iv(iv), &aad_pieces, &mut a, TagLen::L16);
        let mut b = msg.clone();
        let want = reference_seal(&k, &iv, &aad, &mut b);
        prop_assert_eq!(&a, &b);
        prop_assert_eq!(tag.as_bytes(), &want[..]);
        prop_assert!(ours.open_in_place(&Iv(iv), &[&aad], &mut a, &want, TagLen::L16).is_ok());
        prop_assert_eq!(a, msg);
    }

    #[test]
    fn ctr_equals_the_ctr_part_of_gcm(
        k in any_key(),
        iv in any::<[u8; 12]>(),
        msg in proptest::collection::vec(any::<u8>(), 0..5000),
    ) {
        let ours = GcmKey::new(&key(&k));
        let mut a = msg.clone();
        ours.apply_ctr(&Iv(iv), &mut a);
        let mut b = msg.clone();
        reference_seal(&k, &iv, &[], &mut b);
        prop_assert_eq!(&a, &b);
        // And it is an involution.
        ours.aes().apply_ctr(&Iv(iv), &mut a);
        prop_assert_eq!(a, msg);
    }

    #[test]
    fn streaming_gmac_over_any_split_equals_one_shot(
        k in any_key(),
        iv in any::<[u8; 12]>(),
        msg in proptest::collection::vec(any::<u8>(), 0..600),
        cuts in proptest::collection::vec(any::<usize>(), 0..8),
        tag_len in any_tag_len(),
    ) {
        let g = GcmKey::new(&key(&k));
        let mut s = g.gmac(&Iv(iv));
        for p in split(&msg, &cuts) {
            s.update(&g, p);
        }
        let streamed = s.finalize(&g, tag_len);
        let mut empty = [0u8; 0];
        let one_shot = g.seal_in_place(&Iv(iv), &[&msg], &mut empty, tag_len);
        prop_assert_eq!(streamed.as_bytes(), one_shot.as_bytes());
        // Reference: aes-gcm with empty plaintext, message as AAD.
        let want = reference_seal(&k, &iv, &msg, &mut []);
        prop_assert_eq!(streamed.as_bytes(), &want[..tag_len.get()]);
    }

    #[test]
    fn streaming_cmac_over_any_split_equals_one_shot(
        k in any_key(),
        msg in proptest::collection::vec(any::<u8>(), 0..600),
        cuts in proptest::collection::vec(any::<usize>(), 0..8),
        tag_len in any_tag_len(),
    ) {
        let c = CmacKey::new(&key(&k));
        let pieces = split(&msg, &cuts);
        let mut s = c.start();
        for p in &pieces {
            s.update(&c, p);
        }
        let streamed = s.finalize(&c, tag_len);
        let whole = c.mac(&[&msg], tag_len);
        let pieced = c.mac(&pieces, tag_len);
        prop_assert_eq!(streamed.as_bytes(), whole.as_bytes());
        prop_assert_eq!(streamed.as_bytes(), pieced.as_bytes());
    }

    #[test]
    fn gcm_open_rejects_every_flipped_bit_and_wipes(
        k in any_key(),
        iv in any::<[u8; 12]>(),
        aad in proptest::collection::vec(any::<u8>(), 1..40),
        msg in proptest::collection::vec(any::<u8>(), 1..200),
        tag_len in any_tag_len(),
        which in 0usize..4,
        pos in any::<usize>(),
        bit in 0u8..8,
    ) {
        let g = GcmKey::new(&key(&k));
        let mut ct = msg.clone();
        let tag = g.seal_in_place(&Iv(iv), &[&aad], &mut ct, tag_len);
        let (mut iv2, mut aad2, mut ct2, mut tag2) = (iv, aad.clone(), ct.clone(), tag.as_bytes().to_vec());
        let flip = |v: &mut [u8]| { let n = v.len(); v[pos % n] ^= 1 << bit; };
        match which {
            0 => flip(&mut iv2),
            1 => flip(&mut aad2),
            2 => flip(&mut ct2),
            _ => flip(&mut tag2),
        }
        let r = g.open_in_place(&Iv(iv2), &[&aad2], &mut ct2, &tag2, tag_len);
        prop_assert_eq!(r, Err(SecurityError::AuthFailed));
        prop_assert!(ct2.iter().all(|&b| b == 0));
    }

    #[test]
    fn suite_open_rejects_every_flipped_bit_and_wipes(
        suite_idx in 0usize..8,
        iv in any::<[u8; 12]>(),
        aad in proptest::collection::vec(any::<u8>(), 1..40),
        msg in proptest::collection::vec(any::<u8>(), 1..200),
        which in 0usize..4,
        pos in any::<usize>(),
        bit in 0u8..8,
    ) {
        let suite = CipherSuite::ALL[suite_idx];
        let sk = suite_key(suite);
        let mut ct = msg.clone();
        let tag = sk.seal_in_place(&Iv(iv), &[&aad], &mut ct, TagLen::L16);
        if suite.encrypts() {
            // A short keystream can leave the message unchanged by chance (2^-8 per byte);
            // from 8 bytes on that is a 2^-64 event.
            if msg.len() >= 8 {
                prop_assert_ne!(&ct, &msg);
            }
        } else {
            prop_assert_eq!(&ct, &msg);
        }
        let (mut iv2, mut aad2, mut ct2, mut tag2) = (iv, aad.clone(), ct.clone(), tag.as_bytes().to_vec());
        let flip = |v: &mut [u8]| { let n = v.len(); v[pos % n] ^= 1 << bit; };
        // CMAC does not take the IV: for CMAC and CTR+CMAC suites the IV is bound only through
        // the packet number in the context block (part of the AAD), so flip the AAD instead.
        let iv_is_bound = suite.mac() == cse_core::MacAlgorithm::Gmac;
        match which {
            0 if iv_is_bound => flip(&mut iv2),
            0 | 1 => flip(&mut aad2),
            2 => flip(&mut ct2),
            _ => flip(&mut tag2),
        }
        let r = sk.open_in_place(&Iv(iv2), &[&aad2], &mut ct2, &tag2, TagLen::L16);
        prop_assert_eq!(r, Err(SecurityError::AuthFailed));
        prop_assert!(ct2.iter().all(|&b| b == 0));
        // The unmodified message opens.
        prop_assert!(sk.open_in_place(&Iv(iv), &[&aad], &mut ct, tag.as_bytes(), TagLen::L16).is_ok());
        prop_assert_eq!(ct, msg);
    }

    #[test]
    fn truncated_tags_compare_the_leftmost_bytes_only(
        k in any_key(),
        iv in any::<[u8; 12]>(),
        msg in proptest::collection::vec(any::<u8>(), 0..100),
        tag_len in any_tag_len(),
        junk in any::<[u8; 16]>(),
    ) {
        let g = GcmKey::new(&key(&k));
        let mut ct = msg.clone();
        let full = g.seal_in_place(&Iv(iv), &[], &mut ct, TagLen::L16);
        // The full tag with junk after the first tag_len bytes: only the prefix is sent.
        let mut sent = full.as_bytes().to_vec();
        sent[tag_len.get()..].copy_from_slice(&junk[tag_len.get()..]);
        let mut buf = ct.clone();
        prop_assert!(g.open_in_place(&Iv(iv), &[], &mut buf, &sent[..tag_len.get()], tag_len).is_ok());
        prop_assert_eq!(&buf, &msg);
        // Sending more or fewer bytes than configured fails.
        let mut buf = ct.clone();
        if tag_len.get() < 16 {
            prop_assert!(g.open_in_place(&Iv(iv), &[], &mut buf, full.as_bytes(), tag_len).is_err());
        }
        let mut buf = ct.clone();
        prop_assert!(g.open_in_place(&Iv(iv), &[], &mut buf, &sent[..tag_len.get() - 1], tag_len).is_err());
        // Same for CMAC.
        let c = CmacKey::new(&key(&k));
        let t16 = c.mac(&[&msg], TagLen::L16);
        let mut s = c.start();
        s.update(&c, &msg);
        prop_assert!(s.verify(&c, &t16.as_bytes()[..tag_len.get()], tag_len).is_ok());
    }
}

fn suite_key(suite: CipherSuite) -> SuiteKey {
    let k = match suite.key_size() {
        KeySize::Aes128 => SecretKey::aes128([0x42; 16]),
        KeySize::Aes256 => SecretKey::aes256([0x42; 32]),
    };
    let mk = match suite.key_size() {
        KeySize::Aes128 => SecretKey::aes128([0x24; 16]),
        KeySize::Aes256 => SecretKey::aes256([0x24; 32]),
    };
    SuiteKey::new(suite, &k, suite.needs_mac_key().then_some(&mk)).expect("suite key")
}

#[test]
fn suite_key_checks_key_sizes_and_mac_key_presence() {
    let k128 = SecretKey::aes128([1; 16]);
    let k256 = SecretKey::aes256([1; 32]);
    assert_eq!(
        SuiteKey::new(CipherSuite::Aes256Gcm, &k128, None).err(),
        Some(ConfigError::KeyLength {
            got: 16,
            expected: 32
        })
    );
    assert_eq!(
        SuiteKey::new(CipherSuite::Aes128Gmac, &k128, Some(&k128)).err(),
        Some(ConfigError::MacKey)
    );
    assert_eq!(
        SuiteKey::new(CipherSuite::Aes128CtrCmac, &k128, None).err(),
        Some(ConfigError::MacKey)
    );
    assert_eq!(
        SuiteKey::new(CipherSuite::Aes128CtrCmac, &k128, Some(&k256)).err(),
        Some(ConfigError::KeyLength {
            got: 32,
            expected: 16
        })
    );
    for suite in CipherSuite::ALL {
        assert_eq!(suite_key(suite).suite(), suite);
    }
}

#[test]
fn integrity_only_suites_refuse_the_keystream() {
    for suite in CipherSuite::ALL {
        let r = suite_key(suite).apply_keystream(&Iv([3; 12]), &mut [0u8; 20]);
        if suite.encrypts() {
            assert!(r.is_ok(), "{suite}");
        } else {
            assert_eq!(r, Err(ConfigError::SuiteDoesNotEncrypt(suite)));
        }
    }
}

#[test]
fn suite_mac_is_gmac_or_cmac_as_the_suite_says() {
    let iv = Iv([9; 12]);
    let msg = b"context block || header || payload";
    for suite in CipherSuite::ALL {
        let sk = suite_key(suite);
        let mut m = sk.mac(&iv);
        m.update(&sk, &msg[..7]);
        m.update(&sk, &msg[7..]);
        let tag = m.finalize(&sk, TagLen::L16);
        let mac_key_bytes: &[u8] = if suite.needs_mac_key() {
            &[0x24; 32]
        } else {
            &[0x42; 32]
        };
        let mk = key(&mac_key_bytes[..suite.key_size().len()]);
        let want = match suite.mac() {
            cse_core::MacAlgorithm::Gmac => {
                let g = GcmKey::new(&mk);
                let mut s = g.gmac(&iv);
                s.update(&g, msg);
                s.finalize(&g, TagLen::L16)
            }
            cse_core::MacAlgorithm::Cmac => CmacKey::new(&mk).mac(&[msg], TagLen::L16),
        };
        assert_eq!(tag.as_bytes(), want.as_bytes(), "{suite}");
    }
}

#[test]
fn ctr_cmac_is_encrypt_then_mac_over_aad_and_ciphertext() {
    for suite in [CipherSuite::Aes128CtrCmac, CipherSuite::Aes256CtrCmac] {
        let sk = suite_key(suite);
        let n = suite.key_size().len();
        let enc = GcmKey::new(&key(&[0x42; 32][..n]));
        let mac = CmacKey::new(&key(&[0x24; 32][..n]));
        let iv = Iv([5; 12]);
        let (ctx, hdr) = ([0xc0u8; 32], [0x12u8, 0x2c, 0x40, 0x00]);
        let pt: Vec<u8> = (0..777u32).map(|i| i as u8).collect();
        let mut buf = pt.clone();
        let tag = sk.seal_in_place(&iv, &[&ctx, &hdr], &mut buf, TagLen::L12);
        let mut want = pt.clone();
        enc.apply_ctr(&iv, &mut want);
        assert_eq!(buf, want);
        let want_tag = mac.mac(&[&ctx, &hdr, &want], TagLen::L12);
        assert_eq!(tag.as_bytes(), want_tag.as_bytes());
    }
}

#[test]
fn debug_output_never_shows_key_material() {
    let sk = suite_key(CipherSuite::Aes128Gcm);
    let g = GcmKey::new(&SecretKey::aes128([0x42; 16]));
    let c = CmacKey::new(&SecretKey::aes128([0x42; 16]));
    let s = format!(
        "{sk:?} {g:?} {c:?} {:?} {:?} {:?}",
        g.gmac(&Iv([0; 12])),
        c.start(),
        sk.mac(&Iv([0; 12]))
    );
    assert!(!s.contains("42"), "{s}");
    assert!(s.contains("SuiteKey { suite: Aes128Gcm, .. }"), "{s}");
}
