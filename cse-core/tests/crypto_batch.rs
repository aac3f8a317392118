//! Differential tests of the batched MAC paths against the one-message-at-a-time engines
//! (CMAC: the streaming `CmacState`, one chain on the `aes` crate, while the batch runs on the
//! multi-lane chains where the CPU has them).
// AES-128 and AES-256 vectors and keys, through the constructors that take every key size.
#![cfg(feature = "aes256")]

mod common;
use common::{any_key, any_tag_len, key, split};

use cse_core::crypto::{CMAC_BATCH_LANES, CmacKey, GMAC_BATCH_LANES, GcmKey, SuiteKey};
use cse_core::keys::SecretKey;
use cse_core::nonce::Iv;
use cse_core::{CipherSuite, TagLen};
use proptest::prelude::*;

/// Lengths that hit every CMAC case: empty, partial, exactly one block, block multiples, and
/// block multiples plus one.
fn any_len() -> impl Strategy<Value = usize> {
    prop_oneof![
        0usize..70,
        Just(16),
        Just(32),
        Just(48),
        Just(49),
        100usize..400,
    ]
}

/// Runs `mac_batch` and returns the tags in index order, checking each index is reported once.
fn batch(c: &CmacKey, messages: &[&[&[u8]]], tag_len: TagLen) -> Vec<Vec<u8>> {
    let mut out: Vec<Option<Vec<u8>>> = vec![None; messages.len()];
    c.mac_batch(messages, tag_len, |i, t| {
        assert!(out[i].is_none(), "tag {i} reported twice");
        assert_eq!(t.len(), tag_len);
        out[i] = Some(t.as_bytes().to_vec());
    });
    out.into_iter()
        .enumerate()
        .map(|(i, t)| {
            assert!(t.is_some(), "no tag for message {i}");
            t.unwrap_or_default()
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn cmac_batch_equals_serial_cmac(
        k in any_key(),
        // Up to a little over two full sets of lanes, so lanes are refilled.
        msgs in proptest::collection::vec(
            (any_len(), any::<u8>(), proptest::collection::vec(any::<usize>(), 0..4)),
            0..(2 * CMAC_BATCH_LANES + 3),
        ),
        tag_len in any_tag_len(),
    ) {
        let c = CmacKey::new(&key(&k));
        let data: Vec<Vec<u8>> = msgs
            .iter()
            .map(|(len, seed, _)| (0..*len).map(|i| (i as u8).wrapping_mul(31) ^ seed).collect())
            .collect();
        let pieces: Vec<Vec<&[u8]>> = data
            .iter()
            .zip(&msgs)
            .map(|(d, (_, _, cuts))| split(d, cuts))
            .collect();
        let messages: Vec<&[&[u8]]> = pieces.iter().map(|p| &p[..]).collect();
        let got = batch(&c, &messages, tag_len);
        for (i, m) in messages.iter().enumerate() {
            // The streaming path runs one chain on the `aes` crate, independent of the lanes.
            let mut s = c.start();
            for p in m.iter() {
                s.update(&c, p);
            }
            let want = s.finalize(&c, tag_len);
            prop_assert_eq!(&got[i][..], want.as_bytes(), "message {}", i);
            let one_shot = c.mac(m, tag_len);
            prop_assert_eq!(one_shot.as_bytes(), want.as_bytes(), "one-shot {}", i);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(100))]

    #[test]
    fn gmac_batch_equals_streaming_gmac(
        k in any_key(),
        msgs in proptest::collection::vec(
            (any::<[u8; 12]>(), any_len(), proptest::collection::vec(any::<usize>(), 0..4)),
            0..(2 * GMAC_BATCH_LANES + 3),
        ),
        tag_len in any_tag_len(),
    ) {
        let g = GcmKey::new(&key(&k));
        let data: Vec<Vec<u8>> = msgs
            .iter()
            .map(|(iv, len, _)| (0..*len).map(|i| (i as u8) ^ iv[0]).collect())
            .collect();
        let pieces: Vec<Vec<&[u8]>> = data
            .iter()
            .zip(&msgs)
            .map(|(d, (_, _, cuts))| split(d, cuts))
            .collect();
        let messages: Vec<(Iv, &[&[u8]])> = msgs
            .iter()
            .zip(&pieces)
            .map(|((iv, _, _), p)| (Iv(*iv), &p[..]))
            .collect();
        let mut got = Vec::new();
        g.gmac_batch(&messages, tag_len, |i, t| got.push((i, t.as_bytes().to_vec())));
        prop_assert_eq!(got.len(), messages.len());
        for (n, (i, tag)) in got.iter().enumerate() {
            prop_assert_eq!(*i, n, "tags come in index order");
            let (iv, m) = &messages[n];
            let mut s = g.gmac(iv);
            for p in m.iter() {
                s.update(&g, p);
            }
            let want = s.finalize(&g, tag_len);
            prop_assert_eq!(&tag[..], want.as_bytes(), "message {}", n);
        }
    }
}

#[test]
fn gmac_batch_matches_gcm_test_case_1() {
    // "The Galois/Counter Mode of Operation (GCM)", McGrew and Viega, Appendix B, Test Case 1:
    // K = 0^128, IV = 0^96, empty P and A: T = 58e2fccefa7e3061367f1d57a4e7455a. With an empty
    // message GMAC is exactly this GCM tag.
    let g = GcmKey::new(&key(&[0; 16]));
    let empty: &[&[u8]] = &[];
    let mut tags = Vec::new();
    g.gmac_batch(
        &[(Iv([0; 12]), empty), (Iv([0; 12]), &[&[]])],
        TagLen::L16,
        |_, t| tags.push(t.as_bytes().to_vec()),
    );
    let want = hex_literal::hex!("58e2fccefa7e3061367f1d57a4e7455a");
    assert_eq!(tags, vec![want.to_vec(), want.to_vec()]);
}

#[test]
fn cmac_batch_of_no_messages_reports_nothing() {
    let c = CmacKey::new(&key(&[1; 16]));
    let mut reported = 0;
    c.mac_batch(&[], TagLen::L16, |_, _| reported += 1);
    assert_eq!(reported, 0);
}

#[test]
fn cmac_batch_handles_empty_messages_and_empty_pieces() {
    let c = CmacKey::new(&key(&[2; 32]));
    let empty: &[&[u8]] = &[];
    let empties: &[&[u8]] = &[&[], &[], &[]];
    let one: &[&[u8]] = &[&[], b"abc", &[], b"defghijklmnopqr", &[]];
    let got = batch(&c, &[empty, empties, one], TagLen::L16);
    assert_eq!(got[0], c.mac(&[], TagLen::L16).as_bytes());
    assert_eq!(got[1], c.mac(&[], TagLen::L16).as_bytes());
    assert_eq!(
        got[2],
        c.mac(&[b"abcdefghijklmnopqr"], TagLen::L16).as_bytes()
    );
}

#[test]
fn cmac_batch_distinguishes_messages_that_differ_in_one_lane() {
    let c = CmacKey::new(&key(&[3; 16]));
    let a = vec![0u8; 5760];
    let mut b = a.clone();
    b[5000] ^= 1;
    let (pa, pb): (&[&[u8]], &[&[u8]]) = (&[&a], &[&b]);
    let got = batch(&c, &[pa, pb, pa], TagLen::L16);
    assert_eq!(got[0], got[2]);
    assert_ne!(got[0], got[1]);
}

/// A fixed key of `suite` (and a MAC key where the suite takes one); `None` for a suite this
/// build leaves out.
fn suite_key(suite: CipherSuite) -> Option<SuiteKey> {
    let size = suite.key_size().len();
    let k = SecretKey::from_slice(suite.key_size(), &vec![0x5a; size]).expect("key size");
    let mk = SecretKey::from_slice(suite.key_size(), &vec![0xa5; size]).expect("key size");
    SuiteKey::new(suite, &k, suite.needs_mac_key().then_some(&mk)).ok()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(40))]

    /// `SuiteKey::mac_batch` and `SuiteKey::mac_pieces` equal the suite's streaming MAC for
    /// every suite of this build, across more messages than one set of lanes (the CMAC path
    /// works in chunks of lanes).
    #[test]
    fn suite_mac_batch_equals_streaming_mac(
        msgs in proptest::collection::vec(
            (any::<[u8; 12]>(), any_len(), proptest::collection::vec(any::<usize>(), 0..3)),
            0..(2 * CMAC_BATCH_LANES + 3),
        ),
        tag_len in any_tag_len(),
    ) {
        let data: Vec<Vec<u8>> = msgs
            .iter()
            .map(|(iv, len, _)| (0..*len).map(|i| (i as u8).wrapping_mul(7) ^ iv[1]).collect())
            .collect();
        let pieces: Vec<Vec<&[u8]>> = data
            .iter()
            .zip(&msgs)
            .map(|(d, (_, _, cuts))| split(d, cuts))
            .collect();
        let messages: Vec<(Iv, &[&[u8]])> = msgs
            .iter()
            .zip(&pieces)
            .map(|((iv, _, _), p)| (Iv(*iv), &p[..]))
            .collect();
        for suite in CipherSuite::ALL {
            let Some(sk) = suite_key(suite) else { continue };
            let mut got: Vec<Option<Vec<u8>>> = vec![None; messages.len()];
            sk.mac_batch(&messages, tag_len, |i, t| {
                assert!(got[i].is_none(), "{suite:?}: tag {i} twice");
                got[i] = Some(t.as_bytes().to_vec());
            });
            for (i, (iv, m)) in messages.iter().enumerate() {
                let mut s = sk.mac(iv);
                for p in m.iter() {
                    s.update(&sk, p);
                }
                let want = s.finalize(&sk, tag_len);
                prop_assert_eq!(got[i].as_deref(), Some(want.as_bytes()), "{:?} message {}", suite, i);
                // One message in one call, the same pieces.
                let one = sk.mac_pieces(iv, m, tag_len);
                prop_assert_eq!(one.as_bytes(), want.as_bytes(), "{:?} mac_pieces {}", suite, i);
            }
        }
    }
}

/// `SuiteKey::mac_pieces` over the shapes a SEP message has (context, header, prefix, then a
/// line) and over runs of short pieces longer than the engines gather at once: the tag of the
/// concatenation, for every suite (each path hashes short pieces together differently).
#[test]
fn mac_pieces_of_many_shapes_equal_the_mac_of_the_concatenation() {
    let data: Vec<u8> = (0..7000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let shapes: [&[usize]; 9] = [
        &[32, 12, 4, 5760],
        &[32, 16, 4, 5761],
        &[32, 12, 4, 0],
        &[7; 40],
        &[100, 27, 1, 200],
        &[128, 16, 3],
        &[127, 1, 64, 15, 1],
        &[0, 0, 130, 0, 17, 0],
        &[16, 16, 16, 16, 16, 16, 16, 16, 16, 300, 5, 2000],
    ];
    let iv = Iv([0x3c; 12]);
    for suite in CipherSuite::ALL {
        let Some(sk) = suite_key(suite) else { continue };
        for shape in shapes {
            let mut at = 0;
            let pieces: Vec<&[u8]> = shape
                .iter()
                .map(|&n| {
                    let p = &data[at..at + n];
                    at += n;
                    p
                })
                .collect();
            let whole = sk.mac_pieces(&iv, &[&data[..at]], TagLen::L16);
            let mut s = sk.mac(&iv);
            s.update(&sk, &data[..at]);
            let want = s.finalize(&sk, TagLen::L16);
            assert_eq!(
                whole.as_bytes(),
                want.as_bytes(),
                "{suite:?} whole {shape:?}"
            );
            let got = sk.mac_pieces(&iv, &pieces, TagLen::L16);
            assert_eq!(
                got.as_bytes(),
                want.as_bytes(),
                "{suite:?} pieces {shape:?}"
            );
        }
    }
}
